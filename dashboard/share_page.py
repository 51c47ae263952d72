"""The patient's upload page (issue 22): ``GET /share/{token}`` shows a small form, ``POST`` takes
the files. Plain server-made HTML beside Streamlit (``dashboard.server`` adds ``ROUTES`` to its
``st.App``): no login, no JavaScript, no Streamlit session, so the link reaches nothing else.

It says which clinic the files go to and nothing about the patient (no name, no figure). Every
text is HTML-escaped (a file's name above all); an uploaded file is never shown. An unknown,
expired, revoked or used-up link gets the same page, status and work (one look-up by the token's
hash). A request body is read up to ``ShareLimits.body_bytes`` and no further. The headers forbid
scripts, frames, other origins and caching (docs/security.md, "Share links").
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from dashboard.config import SHARE_LIMITS, clinic_name
from dashboard.db.audit_key import AuditKeyError
from dashboard.usecases import NotAllowed, inbox, run
from dashboard.usecases.share_links import SHARE_PATH
from dashboard.usecases.share_upload import GONE, Upload, UploadAnswer, clean_name, link_works, receive_upload

log = logging.getLogger("dashboard.share_page")
FIELD = "files"
STYLE = (
    "body{font:17px/1.45 system-ui,sans-serif;margin:0;padding:16px;color:#1a1a1a;background:#fff;"
    "overflow-wrap:anywhere}main{max-width:34rem;margin:0 auto}h1{font-size:1.35rem;margin:.2rem 0 1rem}"
    "p,li{margin:.5rem 0}input[type=file]{display:block;width:100%;max-width:100%;box-sizing:border-box;"
    "padding:12px 0;font-size:1rem}button{width:100%;padding:14px;font-size:1.05rem;border:0;border-radius:8px;"
    "background:#0b5cad;color:#fff;margin-top:12px}ul{padding-left:1.2rem}.no{color:#9b1c1c}.ok{color:#1e5e2e}"
    "small{color:#555}a{color:#0b5cad}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
HEADERS = {
    "Content-Security-Policy": f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}
GONE_STATUS = 404


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    text = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<meta name=\"referrer\" content=\"no-referrer\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><main>{body}</main></body></html>")
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def _clinic() -> str:
    return html.escape(clinic_name())


def _form(token: str, note: str = "") -> str:
    limits = SHARE_LIMITS
    return (f"<h1>Send your diary to {_clinic()}</h1>{note}"
            f"<p>The files you choose go to {_clinic()} only. Each is checked before it is added to your "
            "record, and the clinic's team sees every file you send.</p>"
            f"<form method=\"post\" action=\"{SHARE_PATH}{html.escape(token)}\" enctype=\"multipart/form-data\">"
            f"<label for=\"f\">Diary files</label><input id=\"f\" type=\"file\" name=\"{FIELD}\" multiple required>"
            "<button type=\"submit\">Send files</button></form>"
            f"<p><small>A diary CSV, a FHIR file, a Bearable or a Privacy Friendly Pain Diary export. At most "
            f"{limits.files_per_submission} files at once, {limits.file_bytes // (1024 * 1024)} MB each.</small></p>")


async def _auto_import(record_ids: list[int]) -> None:
    """The clinic's automatic import (``inbox_auto_import``, off unless a lead turns it on). The files
    are kept and committed already: a failure here leaves them waiting in the inbox, and the patient
    is still told they were received."""
    try:
        await run_in_threadpool(inbox.auto_import_received, None, record_ids)
    except Exception:  # noqa: BLE001 - the upload stands; the inbox shows the files as waiting
        log.exception("the automatic import of received files failed; they wait in the inbox")


def gone() -> HTMLResponse:
    return _page("Link no longer works", f"<h1>{html.escape(GONE)}</h1>", GONE_STATUS)


def _unavailable() -> HTMLResponse:
    return _page("Not available", "<h1>The clinic's system is not available right now. Please try again later."
                                  "</h1>", 503)


def _answer(token: str, answer: UploadAnswer) -> HTMLResponse:
    lines = "".join(f"<li class=\"{'ok' if f.received else 'no'}\">{html.escape(f.message)}</li>"
                    for f in answer.files)
    received = any(f.received for f in answer.files)
    head = (f"<h1>Thank you: {_clinic()} has your files</h1>" if received else
            f"<h1>{html.escape(answer.busy)}</h1>" if answer.busy else "<h1>No file was sent</h1>")
    body = head + (f"<ul>{lines}</ul>" if lines else "")
    if received:
        body += "<p>Each is checked before it is added to your record; the clinic's team sees every file.</p>"
    if not received and not answer.busy:
        body += "<p>Export the file again and send it here.</p>"
    body += f"<p><a href=\"{SHARE_PATH}{html.escape(token)}\">Send more files</a></p>"
    return _page("Files sent" if received else "Not sent", body, 429 if answer.busy else 200)


async def _body(request: Request, cap: int) -> bytes | None:
    """The request's body, or None as soon as it is larger than ``cap`` (announced or sent)."""
    announced = request.headers.get("content-length", "")
    if announced and (not announced.isdigit() or int(announced) > cap):
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _uploads(request: Request, body: bytes) -> list[Upload]:
    """The form's files, parsed by Starlette (python-multipart) from the body already read."""
    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=100, max_fields=10)
    try:
        files = [item for item in form.getlist(FIELD) if isinstance(item, UploadFile)]
        return [Upload(clean_name(item.filename), await item.read()) for item in files
                if item.filename or item.size]
    finally:
        await form.close()


async def share(request: Request) -> HTMLResponse:
    token = request.path_params["token"]
    try:
        if request.method in ("GET", "HEAD"):
            if not await run_in_threadpool(run, link_works, token):
                return gone()
            return _page(f"Send your diary to {clinic_name()}", _form(token))
        body = await _body(request, SHARE_LIMITS.body_bytes)
        if body is None:
            size = SHARE_LIMITS.body_bytes // (1024 * 1024)
            return _page("Too large", f"<h1>The files are too large to send at once (at most {size} MB in all). "
                                      "Send fewer at a time.</h1>", 413)
        try:
            uploads = await _uploads(request, body)
        except (HTTPException, ValueError, KeyError, AssertionError):
            return _page("Not sent", "<h1>The form could not be read. Please choose the files again.</h1>", 400)
        if not uploads:
            if not await run_in_threadpool(run, link_works, token):
                return gone()
            return _page("Choose a file", _form(token, "<p class=\"no\">Choose a file first.</p>"), 400)
        try:
            answer = await run_in_threadpool(run, receive_upload, token, uploads)
        except NotAllowed:
            return gone()
        if answer.record_ids:  # committed: the clinic's setting may import them at once
            await _auto_import(answer.record_ids)
        return _answer(token, answer)
    except (SQLAlchemyError, AuditKeyError):
        log.exception("the share page failed")
        return _unavailable()
    except Exception:  # noqa: BLE001 - a parser's surprise on a hostile file: a page with our headers, not a trace
        log.exception("the share page failed on an unexpected error")
        return _page("Not sent", "<h1>Something went wrong. Please try again later.</h1>", 500)


ROUTES = [Route(SHARE_PATH + "{token}", share, methods=["GET", "POST"])]

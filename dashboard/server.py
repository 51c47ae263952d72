"""The server: Streamlit's own (``st.App``, its documented ASGI entry) serving ``app.py``, plus one
route of ours that sets and drops the login cookie.

Streamlit keeps its identity-provider login in an HTTP-only cookie set by an HTTP route of its
own (``/auth/callback``); a script run cannot set a cookie (``st.context.cookies`` only reads
the websocket's request cookies). So a local login is kept the same way: the page posts its
one-minute hand-over code (``dashboard.auth.login_sessions``) to ``POST /api/session``, which
answers with the cookie, HTTP-only, SameSite=Strict, Secure when the browser came over HTTPS;
``DELETE /api/session`` (after a logout) ends the login the cookie names and drops it. Started by
``python -m dashboard run`` as ``streamlit run dashboard/server.py``. The patient's upload page of a
share link (``/share/{token}``, issue 22) is ``dashboard.share_page``, served beside it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.auth.login_sessions import COOKIE
from dashboard.db.audit_key import AuditKeyError
from dashboard.share_page import ROUTES as SHARE_ROUTES
from dashboard.usecases import accounts, run

log = logging.getLogger("dashboard.server")
ROUTE = "/api/session"
HANDOFF_MAX = 100  # the code is 43 characters


def _same_origin(request: Request) -> bool:
    """Only the dashboard's own pages may call the route (a cross-site form or fetch is refused)."""
    if request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        return False
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


async def session_cookie(request: Request) -> Response:
    if not _same_origin(request):
        return Response(status_code=403)
    try:
        if request.method == "POST":
            handoff = (await request.body())[:HANDOFF_MAX].decode("ascii", "replace")
            kept = await run_in_threadpool(run, accounts.redeem_handoff, handoff)
            if kept is None:
                return Response(status_code=403)
            value, seconds = kept
            response = Response(status_code=204, headers={"Cache-Control": "no-store"})
            response.set_cookie(COOKIE, value, max_age=seconds, path="/", httponly=True, samesite="strict",
                                secure=_secure(request))
            return response
        cookie = request.cookies.get(COOKIE)
        if cookie:
            await run_in_threadpool(run, accounts.forget_cookie, cookie)
    except (SQLAlchemyError, AuditKeyError):
        log.exception("the session cookie route failed")
        return Response(status_code=503)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return response


app = st.App(Path(__file__).with_name("app.py"), routes=[Route(ROUTE, session_cookie, methods=["POST", "DELETE"]),
                                                                     *SHARE_ROUTES])

"""The review page's "Patient upload link" panel (issue 22): make a link (its address and QR code
shown once, until hidden), list the patient's links, revoke one. Offered only to those who may
(``usecases.share_links.may_share_link``); the use cases ask again and audit."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import segno
import streamlit as st

from dashboard.usecases import NotAllowed, run, share_links

NEW = "_share_link_new"  # (patient id, address, relative): the address is kept until hidden, never stored


def qr_png(address: str) -> bytes:
    """The address as a QR code (PNG) to print or show on the patient's phone."""
    out = io.BytesIO()
    segno.make(address, error="m").save(out, kind="png", scale=6, border=2)
    return out.getvalue()


def _absolute(address: str, relative: bool) -> tuple[str, bool]:
    """Without DASHBOARD_PUBLIC_URL, the address this page was opened at gives the link its start."""
    if not relative:
        return address, False
    page = urlsplit(st.context.url or "")
    return (f"{page.scheme}://{page.netloc}{address}", True) if page.scheme and page.netloc else (address, True)


def show(user, patient) -> None:
    if not run(share_links.may_share_link, user, patient.id):
        return
    kept = st.session_state.get(NEW)
    with st.expander("Patient upload link", expanded=bool(kept and kept[0] == patient.id)):
        st.caption("A link the patient opens on their phone or computer to send their diary files to the clinic, "
                   "without an account. The files wait in the clinic's inbox until someone imports them (or, with the "
                   "clinic's automatic import on, until they pass every check); the link shows nothing of the record.")
        if kept and kept[0] == patient.id:
            _new_address(kept[1], kept[2])
        with st.form(f"share_link_form_{patient.id}", border=False):
            left, right = st.columns(2)
            days = left.number_input("Works for (days)", min_value=1, max_value=90, value=14, step=1)
            uses = right.number_input("Submissions allowed (0: no limit)", min_value=0, max_value=1000, value=0, step=1)
            if st.form_submit_button("Create link"):
                _create(user, patient, int(days), int(uses) or None)
        _listing(user, patient)


def _create(user, patient, days: int, uses: int | None) -> None:
    try:
        link = run(share_links.create_share_link, user, patient.ref, days=days, uses=uses)
    except (NotAllowed, share_links.LinkRefused) as exc:
        st.error(str(exc))
        return
    address, guessed = _absolute(link.address, link.relative)
    st.session_state[NEW] = (patient.id, address, guessed)
    st.rerun()


def _new_address(address: str, guessed: bool) -> None:
    st.success("Give this address to the patient only: it is shown until you hide it, and never again.")
    st.code(address, language=None, wrap_lines=True)
    st.image(qr_png(address), caption="Print it, or let the patient scan it from the screen", width=220)
    if guessed:
        st.caption("Made from the address you are using: set DASHBOARD_PUBLIC_URL if patients reach the dashboard "
                   "at another address.")
    if st.button("Hide the address", key="share_link_hide"):
        st.session_state.pop(NEW, None)
        st.rerun()


def _listing(user, patient) -> None:
    lines = run(share_links.list_share_links, user, patient.ref)
    if not lines:
        st.caption("No upload links yet.")
        return
    for line in lines:
        uses = f"{line.uses} of {line.max_uses}" if line.max_uses is not None else f"{line.uses}"
        text, action = st.columns([5, 1])
        text.markdown(f"Link {line.id} · **{line.state}** · made {line.created_at:%Y-%m-%d %H:%M} by "
                      f"{_plain(line.created_by)} · until {line.expires_at:%Y-%m-%d %H:%M} UTC · uses {uses}")
        if line.state == "live" and action.button("Revoke", key=f"share_link_revoke_{line.id}"):
            try:
                run(share_links.revoke_share_link, user, line.id)
            except NotAllowed as exc:
                st.error(str(exc))
                return
            st.rerun()


def _plain(text: str) -> str:
    """An account name as text in markdown (no markup taken from it)."""
    return "".join(f"\\{ch}" if ch in "\\`*_{}[]()#+-.!<>|~" else ch for ch in text)

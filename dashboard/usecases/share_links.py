"""A patient's upload links (issue 22): make one, list them, revoke one.

A link lets whoever holds it send diary files for one patient into the clinic's inbox until it
expires, is used up or is revoked; it reads nothing. Who may: ``access.may_share_link`` (those who
import for the patient). The token is returned once, by ``create_share_link``, and never stored
or audited: the store keeps its SHA-256 (``db.share_links``). What the patient's page does with
a link is ``usecases.share_upload``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from dashboard import access
from dashboard.actors import Actor, as_user, audit_name
from dashboard.audit_actions import AuditAction
from dashboard.config import SHARE_LIMITS, public_url
from dashboard.db import queries, share_links as store
from dashboard.usecases.guard import guarded

SHARE_PATH = "/share/"  # the patient's page: SHARE_PATH + token (dashboard.share_page)


class LinkRefused(ValueError):
    """The link's terms are outside what is allowed (days, uses): a message for the person."""


@dataclass(frozen=True)
class NewLink:
    """A link just made: its address holds the token, shown this once."""

    id: int
    address: str
    relative: bool  # no DASHBOARD_PUBLIC_URL: ``address`` is a path after the dashboard's address
    expires_at: datetime
    max_uses: int | None


@dataclass(frozen=True)
class LinkLine:
    """A link as listed: when, by whom, until when, uses and its state; never its token."""

    id: int
    created_at: datetime
    created_by: str
    expires_at: datetime
    uses: int
    max_uses: int | None
    state: str
    revoked_by: str | None

    def json(self) -> dict:
        return {"id": self.id, "created_at": self.created_at.isoformat(timespec="seconds"),
                "created_by": self.created_by, "expires_at": self.expires_at.isoformat(timespec="seconds"),
                "uses": self.uses, "max_uses": self.max_uses, "state": self.state, "revoked_by": self.revoked_by}


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def address(token: str) -> tuple[str, bool]:
    """The link's address: ``DASHBOARD_PUBLIC_URL`` + path, or the path alone (True) when unset."""
    base = public_url()
    return (f"{base}{SHARE_PATH}{token}", False) if base else (f"{SHARE_PATH}{token}", True)


def _terms(days: int, uses: int | None) -> None:
    if not isinstance(days, int) or not 1 <= days <= SHARE_LIMITS.max_days:
        raise LinkRefused(f"a link lasts 1 to {SHARE_LIMITS.max_days} days, not {days!r}")
    if uses is not None and (not isinstance(uses, int) or not 1 <= uses <= 1000):
        raise LinkRefused(f"a link's uses are 1 to 1000 (or no limit), not {uses!r}")


def _patient_id(session: Session, ref: str) -> int | None:
    patient = queries.patient_by_ref(session, ref)
    return None if patient is None else patient.id


def may_share_link(session: Session, actor: Actor, patient_id: int) -> bool:
    """Whether the review page offers the panel (``access.may_share_link``); asks, shows nothing."""
    return access.may_share_link(session, as_user(actor), patient_id)


def create_share_link(session: Session, actor: Actor, patient_ref: str, *, days: int = SHARE_LIMITS.default_days,
                      uses: int | None = None, now: datetime | None = None) -> NewLink:
    """A new upload link for the patient; ``LinkRefused`` for days outside 1-90 or uses below 1
    (nothing written), ``NotAllowed`` (audited) for a patient the actor may not share."""
    _terms(days, uses)
    now = now or now_utc()
    pid = _patient_id(session, patient_ref)
    allowed = pid is not None and access.may_share_link(session, as_user(actor), pid)
    with guarded(session, actor, AuditAction.SHARE_LINK_CREATE, allowed, detail={"patient": patient_ref},
                 denied_patient_id=None) as done:
        link, token = store.create(session, pid, created_by=audit_name(actor), now=now,
                                   expires_at=now + timedelta(days=days), max_uses=uses)
        done.patient_id = pid
        done.detail = {"link": link.id, "expires_at": link.expires_at.isoformat(timespec="seconds"), "uses": uses}
    where, relative = address(token)
    return NewLink(link.id, where, relative, link.expires_at, uses)


def list_share_links(session: Session, actor: Actor, patient_ref: str, *,
                     now: datetime | None = None) -> list[LinkLine]:
    """The patient's links, newest first. Listing shows no patient data (dates, counts, who made
    them), so only a refusal is audited; the page lists them on every rerun."""
    now = now or now_utc()
    pid = _patient_id(session, patient_ref)
    allowed = pid is not None and access.may_share_link(session, as_user(actor), pid)
    with guarded(session, actor, AuditAction.SHARE_LINK_LIST, allowed, detail={"patient": patient_ref},
                 audit_success=False):
        return [LinkLine(link.id, link.created_at, link.created_by, link.expires_at, link.uses, link.max_uses,
                         store.state(link, now), link.revoked_by) for link in store.for_patient(session, pid)]


def revoke_share_link(session: Session, actor: Actor, link_id: int, *, now: datetime | None = None) -> bool:
    """Revoke the link at once (True; False when it was already revoked). ``NotAllowed`` (audited)
    for a link that does not exist or whose patient the actor may not share: one answer for both."""
    link = store.by_id(session, link_id)
    allowed = link is not None and access.may_share_link(session, as_user(actor), link.patient_id)
    with guarded(session, actor, AuditAction.SHARE_LINK_REVOKE, allowed, detail={"link": link_id},
                 message="No such link is available to you.") as done:
        done.patient_id = link.patient_id
        first = link.revoked_at is None
        store.revoke(session, link, by=audit_name(actor), now=now or now_utc())
        done.detail = {"link": link_id, "already_revoked": not first}
    return first

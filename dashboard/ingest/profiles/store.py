"""Profiles saved by name in ``mapping_profile``: the next file from the same app is read the same way."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.audit_actions import AuditAction
from dashboard.db import audit
from dashboard.db.models import MappingProfile
from dashboard.ingest.profiles.spec import ProfileExists
from dashboard.ingest.profiles.validate import check_name, same_profile, validate_profile
from dashboard.ingest.writer import utcnow


def save_profile(session: Session, name: str, mapping: dict, *, created_by: str, replace: bool = False) -> None:
    """Store a checked profile. Another profile under the same name is kept unless ``replace``:
    files already imported with it were read by that mapping."""
    name = check_name(name)
    checked = validate_profile({k: v for k, v in mapping.items() if k != "name"})
    stored = session.scalar(select(MappingProfile).where(MappingProfile.name == name))
    if stored is not None and same_profile(stored.mapping, checked):
        return  # the same mapping, a version-1 profile saved again included
    if stored is not None and not replace:
        raise ProfileExists(f"name: a different profile called {name!r} exists; choose another name or replace it")
    if stored is None:
        session.add(MappingProfile(name=name, mapping=checked, created_by=created_by, created_at=utcnow()))
    else:
        stored.mapping, stored.created_by, stored.created_at = checked, created_by, utcnow()
    session.flush()
    audit.record(session, actor=created_by, action=AuditAction.SAVE_MAPPING_PROFILE,
                 detail={"profile": name, "replaced": stored is not None})


def load_profile(session: Session, name: str) -> dict:
    stored = session.scalar(select(MappingProfile).where(MappingProfile.name == name.strip()))
    if stored is None:
        names = list_profiles(session)
        saved = ", ".join(names) if names else "none yet"
        raise LookupError(f"no mapping profile called {name!r} (saved profiles: {saved})")
    return {**stored.mapping, "name": stored.name}


def list_profiles(session: Session) -> list[str]:
    return list(session.scalars(select(MappingProfile.name).order_by(MappingProfile.name)))

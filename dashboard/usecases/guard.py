"""The one guard every use case passes through: ask ``dashboard.access``, write the audit row.

A refusal writes one "denied" row, commits it (so it stays in the trail although the caller's
unit of work rolls back on the exception) and raises ``NotAllowed``; an allowed action writes its
"ok" row when the work inside ``guarded`` is done, in the same transaction as the work. So the
check and its audit row cannot be forgotten or separated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NoReturn

from sqlalchemy.orm import Session

from dashboard.actors import Actor, audit_name
from dashboard.db import audit

# The one wording of a refusal to open a patient, wherever it is asked.
NOT_AVAILABLE = "This patient is not available to you."


class NotAllowed(PermissionError):
    """The actor may not do this; the refusal is already in the audit trail.

    ``str()`` is the message for the person (``NOT_AVAILABLE`` unless the use case says more);
    ``action`` is the audited action that was refused."""

    def __init__(self, message: str = NOT_AVAILABLE, action: str | None = None):
        super().__init__(message)
        self.action = action


def _name(actor: Actor | str) -> str:
    return actor if isinstance(actor, str) else audit_name(actor)


def refuse(session: Session, actor: Actor | str, action: str, *, detail: dict | None = None,
           patient_id: int | None = None, message: str = NOT_AVAILABLE) -> NoReturn:
    """Write the "denied" row, commit it, raise ``NotAllowed``."""
    audit.record(session, actor=_name(actor), action=action, outcome="denied", patient_id=patient_id,
                 detail="" if detail is None else detail)
    session.commit()
    raise NotAllowed(message, action)


@dataclass
class Audited:
    """The success row of a guarded action: the use case may fill in what it learns while working
    (the patient, counts); ``skip()`` when the action turned out to show nothing worth a row."""

    detail: dict | None = None
    patient_id: int | None = None
    write: bool = field(default=True)

    def skip(self) -> None:
        self.write = False


@contextmanager
def guarded(session: Session, actor: Actor | str, action: str, allowed: bool, *, detail: dict | None = None,
            patient_id: int | None = None, denied_detail: dict | None = None,
            denied_patient_id: int | None = None, message: str = NOT_AVAILABLE,
            audit_success: bool = True) -> Iterator[Audited]:
    """``allowed`` (the answer of ``dashboard.access``) or ``NotAllowed`` after the "denied" row
    (with ``denied_detail``, else ``detail``); then the body, then its "ok" row unless
    ``audit_success`` is False or the body called ``skip()``."""
    if not allowed:
        refuse(session, actor, action, detail=detail if denied_detail is None else denied_detail,
               patient_id=denied_patient_id, message=message)
    done = Audited(detail=detail, patient_id=patient_id, write=audit_success)
    yield done
    if done.write:
        audit.record(session, actor=_name(actor), action=action, patient_id=done.patient_id,
                     detail="" if done.detail is None else done.detail)

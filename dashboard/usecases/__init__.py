"""What a person does with the dashboard, one function each: the pages, the command line and
the page cache (``dashboard.loaders``) call only these.

Every use case takes ``(session, actor, ...)``: the caller's unit of work and who acts (a
``dashboard.actors.User``, or the ``Operator`` of a command without ``--as``). It asks
``dashboard.access`` and writes its audit row through ``usecases.guard``; a refusal is
``NotAllowed`` (a ``PermissionError``), already audited. ``run`` opens the unit of work for a
caller that holds none (a page, a test).

Modules by area: ``patients`` (open, review inputs, worklist, cohort), ``records`` (steps,
visits, flags, proposed steps), ``imports`` (files, dry runs, history, kept files, mapping
profiles), ``exports`` (diary CSV, FHIR, pre-visit report, note and summary), ``settings``,
``accounts`` (log in, accounts and shares), ``audit_trail`` (view, export, verify),
``ehr_launch`` (a patient opened from the EHR: SMART on FHIR, docs/smart-launch.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from dashboard.db.session import session_scope
from dashboard.usecases.guard import NOT_AVAILABLE, NotAllowed

T = TypeVar("T")

__all__ = ["NOT_AVAILABLE", "NotAllowed", "run"]


def run(use_case: Callable[..., T], actor, *args, url: str | None = None, **kwargs) -> T:
    """``use_case(session, actor, ...)`` in a unit of work of its own (committed when it returns)."""
    with session_scope(url) as session:
        return use_case(session, actor, *args, **kwargs)

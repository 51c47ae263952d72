"""Audit actions are one enumeration; rows stored under an older spelling are still found."""

from __future__ import annotations

import pytest

from dashboard.audit_actions import LEGACY, AuditAction, spellings
from dashboard.db import audit
from dashboard.db.audit_trail import TrailFilter, action_choices, count_events
from dashboard.db.session import session_scope


def test_stored_values_are_plain_snake_case_strings():
    for action in AuditAction:
        assert isinstance(action, str) and str(action) == action.value
        assert action.value == action.value.lower() and " " not in action.value and "-" not in action.value


@pytest.mark.parametrize(("old", "new"), sorted(LEGACY.items()))
def test_a_filter_on_an_action_finds_its_legacy_rows(sqlite_url, old, new):
    with session_scope(sqlite_url) as session:
        audit.record(session, actor="before", action=old)  # as written before the enumeration
        audit.record(session, actor="after", action=new)
        assert count_events(session, TrailFilter(actions=(str(new),))) == 2
        assert count_events(session, TrailFilter(actions=(old,))) == 2
        offered = action_choices(session)
    assert str(new) in offered and old not in offered
    assert set(spellings([new])) == {old, str(new)}

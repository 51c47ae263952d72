"""Thresholds: defaults, the clinic's changes stored as strings, validation before anything is written."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import pytest
from sqlalchemy import select

from dashboard.access import may_change_setting
from dashboard.config import CLINIC_LEAD
from dashboard.auth.accounts import ROLES, User
from dashboard.config import THRESHOLDS, Thresholds
from dashboard.db.models import Setting
from dashboard.db.session import session_scope
from dashboard.db.settings_store import RANGES, load_thresholds, save_thresholds


def _rows(url: str) -> dict[str, tuple[str, str | None]]:
    with session_scope(url) as session:
        return {s.key: (s.value, s.updated_by) for s in session.scalars(select(Setting))}


def test_an_empty_store_gives_the_defaults(db_url):
    with session_scope(db_url) as session:
        assert load_thresholds(session) == Thresholds()


@pytest.mark.parametrize(
    ("changes", "expected_changed", "expected_rows", "expected_values"),
    [
        ({"bp_systolic_high": 150}, ["bp_systolic_high"], {"bp_systolic_high": "150.0"}, {"bp_systolic_high": 150.0}),
        ({"onset_days": "21"}, ["onset_days"], {"onset_days": "21"}, {"onset_days": 21}),
        ({"onset_days": 21.0, "worse_pct": "20.5"}, ["onset_days", "worse_pct"],
         {"onset_days": "21", "worse_pct": "20.5"}, {"onset_days": 21, "worse_pct": 20.5}),
        ({"effective_category": "substantial"}, ["effective_category"], {"effective_category": "substantial"},
         {"effective_category": "substantial"}),
        # A value equal to the default changes nothing and stores nothing.
        ({"onset_days": 14, "bp_systolic_high": 160.0}, [], {}, {}),
    ],
)
def test_save_then_load(db_url, changes, expected_changed, expected_rows, expected_values):
    with session_scope(db_url) as session:
        assert save_thresholds(session, changes, updated_by="dr.a") == expected_changed
    assert {k: v for k, (v, _) in _rows(db_url).items()} == expected_rows
    with session_scope(db_url) as session:
        loaded = load_thresholds(session)
    assert loaded == Thresholds().replace(**expected_values)
    assert all(type(getattr(loaded, k)) is type(getattr(Thresholds(), k)) for k in asdict(loaded))


def test_saving_the_default_again_deletes_the_row_and_a_new_value_updates_it(db_url):
    with session_scope(db_url) as session:
        save_thresholds(session, {"diary_gap_days": 10, "low_mood_days": 4}, updated_by="dr.a")
    with session_scope(db_url) as session:
        assert save_thresholds(session, {"diary_gap_days": 7, "low_mood_days": 5}, updated_by="dr.b") == [
            "diary_gap_days", "low_mood_days"]
    assert _rows(db_url) == {"low_mood_days": ("5", "dr.b")}
    with session_scope(db_url) as session:
        assert save_thresholds(session, {"low_mood_days": 5}, updated_by="dr.c") == []
    assert _rows(db_url) == {"low_mood_days": ("5", "dr.b")}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bp_systolic_high": 300}, "'bp_systolic_high': 300 is outside 60-260"),
        ({"bp_systolic_high": "high"}, "'bp_systolic_high': 'high' is not a number"),
        ({"onset_days": 14.5}, "'onset_days': 14.5 is not a whole number"),
        ({"onset_days": True}, "'onset_days': True is not a whole number"),
        ({"onset_days": -1}, "'onset_days': -1 is outside 0-90"),
        ({"worse_pct": float("nan")}, "'worse_pct': nan is outside"),
        ({"effective_category": "great"}, "'effective_category': 'great' is not one of minimal, moderate, substantial"),
        ({"no_such_threshold": 1}, "unknown setting 'no_such_threshold'"),
        ({"responder_moderate_pct": 60}, "responder cut-offs must rise"),
        ({"bp_diastolic_high": 150, "bp_systolic_high": 140},
         "the diastolic blood pressure threshold must be below the systolic one"),
    ],
)
def test_invalid_changes_are_refused_and_nothing_is_written(db_url, changes, message):
    with session_scope(db_url) as session, pytest.raises(ValueError, match=message.replace("(", r"\(")):
        save_thresholds(session, {"diary_gap_days": 10, **changes}, updated_by="dr.a")
    assert _rows(db_url) == {}


def test_a_corrupt_stored_value_is_named(db_url):
    with session_scope(db_url) as session:
        session.add(Setting(key="onset_days", value="two weeks", updated_at=datetime(2026, 1, 1)))
        session.add(Setting(key="clinic_name", value="North", updated_at=datetime(2026, 1, 1)))  # not a threshold
    refused = pytest.raises(ValueError, match="'onset_days': 'two weeks' is not a whole number")
    with session_scope(db_url) as session, refused:
        load_thresholds(session)


def test_every_numeric_threshold_has_a_range_and_a_source():
    numeric = {k for k, v in asdict(Thresholds()).items() if not isinstance(v, str)}
    assert numeric == set(RANGES)
    assert list(asdict(Thresholds())) == [t.key for t in THRESHOLDS]
    assert all(t.source and t.label and t.unit and t.changed_by for t in THRESHOLDS)
    assert all(low <= getattr(Thresholds(), k) <= high for k, (low, high) in RANGES.items())
    assert all(t.default in t.choices for t in THRESHOLDS if t.choices)


@pytest.mark.parametrize("threshold", THRESHOLDS, ids=lambda t: t.key)
def test_who_may_change_a_threshold_is_what_its_record_says(threshold):
    allowed = [role for role in ROLES if may_change_setting(User(1, "u", "U", role), threshold.key)]
    assert allowed == [role for role in ROLES if role in threshold.changed_by] == ["admin"]
    # The clinic's lead clinician: only a clinician's mark counts (a staff account marked so is not one).
    leads = [role for role in ROLES if may_change_setting(User(1, "u", "U", role, clinic_lead=True), threshold.key)]
    assert leads == (["clinician", "admin"] if CLINIC_LEAD in threshold.changed_by else ["admin"])
    assert may_change_setting(None, threshold.key)  # the server's operator
    assert not may_change_setting(User(1, "u", "U", "admin"), "no_such_setting")

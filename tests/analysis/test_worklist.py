"""The worklist: its figures are the review's (summary --json) for every demo patient at several
as-of dates on both backends; the order puts attention first; the filters keep what they say.

The diary figures come from grouped SQL, the review's from pandas over the whole diary: the
comparison is the test that the two definitions agree.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from dashboard.analysis.daily import daily_values
from dashboard.analysis.recent import recent_activity
from dashboard.analysis.visit_dates import Visit
from dashboard.analysis.worklist import RuleFigures, WorklistRow, attention_order
from dashboard.stored.worklist import stored_review, worklist
from dashboard.db.models import ReviewSnapshot
from dashboard.analysis.worklist_table import filtered, table
from dashboard.db.models import Patient
from dashboard.db.session import session_scope
from dashboard.db.settings_store import load_thresholds
from tests.analysis import diary

TODAY = date.today()
# Today (visits booked today, the overdue one), a few days back, before the last visits, and long ago.
AS_OF_DAYS_BACK = (0, 5, 40)


def _close(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)


def test_every_figure_is_the_reviews_for_every_demo_patient(demo_db):
    for days_back in AS_OF_DAYS_BACK:  # one demo build per backend, three as-of dates
        _compare(demo_db, TODAY - timedelta(days=days_back))


def test_the_demo_tells_the_days_story(demo_db):
    """Who to see today, whose safety flag is new, whose diary went quiet and whose visit is overdue."""
    with session_scope(demo_db) as session:
        limits = load_thresholds(session)
        ids = list(session.scalars(select(Patient.id)))
        rows = worklist(session, patient_ids=ids, as_of=TODAY, start=TODAY, end=TODAY + timedelta(days=7),
                        everyone=False)
    by_ref = {r.ref: r for r in rows}
    today = {r.ref for r in rows if r.next_visit and r.next_visit.date == pd.Timestamp(TODAY)}
    assert today == {"DEMO-001", "DEMO-004", "DEMO-009"}
    assert "bp_high" in by_ref["DEMO-001"].new_safety_flags
    quiet = by_ref["DEMO-005"]
    assert quiet.diary_overdue and quiet.days_since_last_entry >= limits.diary_gap_days
    assert quiet.overdue_visit is not None and quiet.overdue_visit.date < pd.Timestamp(TODAY)
    assert "DEMO-003" not in by_ref  # booked in two weeks: outside today and the next 7 days
    # The two new safety flags: DEMO-001's high BP and DEMO-005's liver tests (v3); DEMO-009's oxycodone,
    # taken since long before the last visit, is no longer new (v3: a co-sedative is new when the drug is).
    assert "liver_tests_high" in by_ref["DEMO-005"].new_safety_flags
    assert not by_ref["DEMO-009"].new_safety_flags
    assert [r.ref for r in rows[:2]] == ["DEMO-005", "DEMO-001"]  # a new safety flag and a quiet diary first
    assert "None" not in table(rows, TODAY).to_string()


def _compare(demo_db, as_of: date) -> None:
    """Three ways to the rule figures: the reviews handed in, snapshots computed on the way
    (none stored yet), and the stored snapshots read back on the next run."""
    with session_scope(demo_db) as session:
        limits = load_thresholds(session)
        ids = list(session.scalars(select(Patient.id)))
        reviews = {pid: stored_review(session, pid, as_of, limits) for pid in ids}
        direct = worklist(session, patient_ids=ids, as_of=as_of, start=as_of, end=as_of + timedelta(days=7),
                          everyone=True, figures_of=lambda listed: {pid: RuleFigures.of(reviews[pid]) for pid in listed})
        assert session.query(ReviewSnapshot).filter_by(as_of=as_of).count() == 0
    for _run in ("computed", "stored"):
        with session_scope(demo_db) as session:
            rows = worklist(session, patient_ids=ids, as_of=as_of, start=as_of, end=as_of + timedelta(days=7),
                            everyone=True)
        assert [r.json() for r in rows] == [r.json() for r in direct]
        _compare_rows(rows, reviews, ids)
    with session_scope(demo_db) as session:
        assert session.query(ReviewSnapshot).filter_by(as_of=as_of).count() == len(ids)


def _compare_rows(rows, reviews, ids) -> None:
    assert sorted(r.patient_id for r in rows) == sorted(ids)
    for row in rows:
        review = reviews[row.patient_id]
        summary = review.to_dict()  # what summary --json prints
        assert summary["patient"]["ref"] == row.ref
        assert row.json()["next_visit"] == summary["next_visit"], row.ref
        assert row.json()["overdue_visit"] == summary["overdue_visit"], row.ref
        step = summary["current_step"]
        assert (row.daily_dose_mg, row.days_on_step) == ((step["daily_dose_mg"], step["days_on_step"]) if step
                                                         else (None, None)), row.ref
        recent = review.recent
        assert _close(row.mean_pain_14d, recent.mean_pain_14d), (row.ref, row.mean_pain_14d, recent.mean_pain_14d)
        assert _close(row.mean_pain_prev_14d, recent.mean_pain_prev_14d), row.ref
        assert row.pain_direction == recent.direction == summary["recent"]["direction"]
        assert row.days_since_last_entry == recent.days_since_last_entry == summary["recent"]["days_since_last_entry"]
        assert row.days_since_last_bp == recent.days_since_last_bp == summary["recent"]["days_since_last_bp"]
        done = summary["completeness_last_30_days"]
        assert (row.diary_days_30d, 30) == (done["diary_days"], done["days"]), row.ref
        assert row.json()["completeness_30d"] == round(done["completeness"], 2)
        assert row.responder == summary["responder_since_last_visit"]
        counts = summary["flag_counts"]
        assert row.open_flags == {c["rule"]: c["open"] for c in counts if c["open"]}
        assert row.new_safety_flags == {c["rule"]: c["new"] for c in counts if c["safety"] and c["new"]}


def test_recent_activity_from_a_small_diary():
    """Daily pain is the mean of the day's entries; each window is the mean of its days."""
    entries = diary(
        {"date": "2026-03-20", "at": "2026-03-20T08:00", "pain": 6},  # one day, mean 5: the 14 days before
        {"date": "2026-03-20", "at": "2026-03-20T20:00", "pain": 4},
        {"date": "2026-03-24", "pain": 5},
        {"date": "2026-04-01", "pain": 2, "bp_systolic": 130, "bp_diastolic": 80},  # the last 14 days
        {"date": "2026-04-03", "pain": 4},
        {"date": "2026-04-05", "mood": 5},  # an entry without pain: the last entry, no pain
    )
    recent = recent_activity(daily_values(entries, date(2026, 4, 7)), date(2026, 4, 7))
    assert (recent.mean_pain_14d, recent.mean_pain_prev_14d, recent.direction) == (3.0, 5.0, "lower")
    assert (recent.days_since_last_entry, recent.days_since_last_bp) == (2, 6)


def _row(ref: str, *, new: dict | None = None, since: int | None = 1, visit: int | None = 3,
         overdue: int | None = None, condition: str = "Fibromyalgia", clinicians=("Dr. A",),
         open_flags: dict | None = None) -> WorklistRow:
    at = (lambda days: None if days is None else Visit(pd.Timestamp(TODAY) + pd.Timedelta(days=days), "in person"))
    return WorklistRow(
        patient_id=hash(ref) % 1000, ref=ref, name=None, condition=condition, clinicians=tuple(clinicians),
        next_visit=at(visit), overdue_visit=at(overdue), daily_dose_mg=50.0, step_words="50 mg/day, troche",
        days_on_step=10, mean_pain_14d=None, mean_pain_prev_14d=None, responder=None,
        new_safety_flags=new or {}, open_flags={**(open_flags or {}), **(new or {})}, diary_days_30d=20,
        completeness_30d=20 / 30, last_entry=None, days_since_last_entry=since, days_since_last_bp=None,
        diary_overdue=since is None or since >= 7)


@pytest.mark.parametrize(("rows", "expected"), [
    ([_row("A", visit=0), _row("B", new={"bp_high": 1}, visit=6)], ["B", "A"]),  # a new safety flag first
    ([_row("A", new={"bladder": 1}), _row("B", new={"bp_high": 1, "bladder": 1})], ["B", "A"]),  # more first
    ([_row("A", visit=0), _row("B", since=9, visit=6)], ["B", "A"]),  # then a quiet diary
    ([_row("A", visit=0), _row("B", since=None, visit=6)], ["B", "A"]),  # no entry at all is quiet too
    ([_row("A", visit=2), _row("B", visit=0)], ["B", "A"]),  # then by visit date
    ([_row("A", visit=0), _row("B", visit=None, overdue=-3)], ["B", "A"]),  # an overdue visit before today's
    ([_row("A", visit=None), _row("B", visit=5)], ["B", "A"]),  # not booked last
    ([_row("B", visit=1), _row("A", visit=1)], ["A", "B"]),  # then the reference
])
def test_attention_order(rows, expected):
    assert [r.ref for r in attention_order(rows)] == expected


ROWS = [_row("A", condition="Fibromyalgia", clinicians=("Dr. Ana Rivera",), open_flags={"pain_spike": 2}),
        _row("B", condition="Chronic migraine", clinicians=("Dr. Wei Chen",), new={"bp_high": 1}),
        _row("C", condition="Fibromyalgia", clinicians=("Dr. Ana Rivera", "Dr. Wei Chen"))]


@pytest.mark.parametrize(("choice", "expected"), [
    ({}, ["A", "B", "C"]),
    ({"conditions": ["Fibromyalgia"]}, ["A", "C"]),
    ({"flags": ["High blood pressure"]}, ["B"]),
    ({"flags": ["High blood pressure", "Pain spike"]}, ["A", "B"]),
    ({"clinicians": ["Dr. Wei Chen"]}, ["B", "C"]),
    ({"conditions": ["Fibromyalgia"], "clinicians": ["Dr. Wei Chen"]}, ["C"]),
    ({"conditions": ["Fibromyalgia"], "flags": ["High blood pressure"]}, []),
])
def test_filters(choice, expected):
    assert [r.ref for r in filtered(ROWS, **choice)] == expected


AS_OF = "2026-03-10"


@pytest.mark.parametrize(("rows", "nxt", "overdue", "last"), [
    ([("2026-03-01", "in person"), ("2026-03-12", "telehealth")], ("2026-03-12", "telehealth"), None, "2026-03-01"),
    ([("2026-03-10", "in person", "booked")], ("2026-03-10", "in person"), None, None),  # booked today: to come
    ([("2026-03-10", "in person")], None, None, "2026-03-10"),  # held today: the last visit
    # booked and passed without a record: overdue, never the start of "since the last visit"
    ([("2026-03-01", "in person"), ("2026-03-06", "telehealth", "booked")], None, ("2026-03-06", "telehealth"),
     "2026-03-01"),
    ([("2026-03-14", "infusion", "booked"), ("2026-03-14", "in person", "booked")],
     ("2026-03-14", "in person, infusion"), None, None),  # two visits on a day are one, with both kinds
])
def test_next_overdue_and_last_visit(rows, nxt, overdue, last):
    from dashboard.analysis.visit_dates import last_visit, next_visit, overdue_visit
    from tests.analysis import visits

    frame = visits(*rows)
    as_visit = (lambda v: None if v is None else (v.date.date().isoformat(), v.kind))
    assert as_visit(next_visit(frame, date.fromisoformat(AS_OF))) == nxt
    assert as_visit(overdue_visit(frame, date.fromisoformat(AS_OF))) == overdue
    held = last_visit(frame, date.fromisoformat(AS_OF))
    assert (None if held is None else held.date.date().isoformat()) == last


def test_the_grouped_data_versions_are_each_patients_own(demo_db):
    """``queries.data_versions`` (one query for the whole list) gives every demo patient the tuple
    ``data_version`` gives alone, and so the same snapshot version; a change to one patient moves
    that patient's alone."""
    from dashboard.db import queries, snapshots

    with session_scope(demo_db) as session:
        limits = load_thresholds(session)
        ids = list(session.scalars(select(Patient.id)))
        many = queries.data_versions(session, ids)
        versions = snapshots.versions(session, ids, limits)
        for pid in ids:
            one = queries.data_version(session, pid)
            assert many[pid] == one and versions[pid] == snapshots.version(one, limits), pid
    from dashboard.db import revisions

    with session_scope(demo_db) as session:
        revisions.bump(session, [ids[3]])
    with session_scope(demo_db) as session:
        now = queries.data_versions(session, ids)
    assert [pid for pid in ids if now[pid] != many[pid]] == [ids[3]]

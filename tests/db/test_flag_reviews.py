"""Acknowledged flags (review-metrics.md, "Flags"): one row and one audit row each, a flag is
acknowledged once, a later run is a new flag, and a refusal of access stays in the trail."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pandas as pd
import pytest
from alembic import command
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from dashboard.analysis.flag_rules import RULES
from dashboard.auth.accounts import add_user, as_user, share
from dashboard.db import audit, flag_reviews
from dashboard.db.flag_reviews import acknowledgements_frame
from dashboard.usecases.records import AcknowledgementError
from dashboard.db.models import AuditEvent, FlagAcknowledgement, Patient
from dashboard.db.session import alembic_config, get_engine, migrate, session_scope
from dashboard.usecases import records

START, END = date(2026, 3, 2), date(2026, 3, 4)


@pytest.fixture
def clinic(db_url):
    """Two patients; ada and cy see P1, bob sees only P2."""
    with session_scope(db_url) as session:
        for ref in ("P1", "P2"):
            session.add(Patient(ref=ref, created_at=datetime(2026, 1, 1)))
        users = {name: as_user(add_user(session, username=name, display_name=display, role="clinician", password=None))
                 for name, display in (("ada", "Dr Ada Byron"), ("bob", "Dr Bob Lee"), ("cy", ""))}
        for name, ref in (("ada", "P1"), ("cy", "P1"), ("bob", "P2")):
            share(session, username=name, patient_ref=ref)
        patient_id = session.scalar(select(Patient.id).where(Patient.ref == "P1"))
    return db_url, users, patient_id


def _acknowledge(url, user, patient_id, rule="bp_high", start=START, end=END, note="Rechecked in clinic: 138/86."):
    with session_scope(url) as session:
        return records.acknowledge_flag(session, actor=user, patient_id=patient_id, rule=rule, flag_start=start,
                                flag_end=end, note=note)


def _events(url) -> list[tuple[str, str, int | None, dict]]:
    with session_scope(url) as session:
        rows = session.execute(select(AuditEvent.actor, AuditEvent.outcome, AuditEvent.patient_id, AuditEvent.detail)
                               .where(AuditEvent.action == "acknowledge_flag").order_by(AuditEvent.id)).all()
    return [(actor, outcome, patient_id, json.loads(detail)) for actor, outcome, patient_id, detail in rows]


def _count(url) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count(FlagAcknowledgement.id)))


def _frame(url, patient_id) -> pd.DataFrame:
    with session_scope(url) as session:
        return acknowledgements_frame(session, patient_id)


def test_acknowledging_writes_the_row_and_one_audit_row(clinic):
    url, users, patient_id = clinic
    row = _acknowledge(url, users["ada"], patient_id, note="  Rechecked in clinic: 138/86.\n")
    assert (row.rule, row.flag_start, row.flag_end, row.note, row.acknowledged_by) == (
        "bp_high", START, END, "Rechecked in clinic: 138/86.", "ada")
    assert _count(url) == 1
    detail = {"rule": "bp_high", "flag_start": "2026-03-02", "flag_end": "2026-03-04",
              "note": "Rechecked in clinic: 138/86."}
    assert _events(url) == [("ada", "ok", patient_id, detail)]


def test_the_frame_reads_acknowledgements_back_by_start_with_display_names(clinic):
    url, users, patient_id = clinic
    _acknowledge(url, users["cy"], patient_id, rule="low_mood", start=date(2026, 3, 5), end=date(2026, 3, 7),
                 note="Called")
    # A flags table's midnight timestamps are accepted as the days they are.
    _acknowledge(url, users["ada"], patient_id, start=pd.Timestamp(START), end=pd.Timestamp(END))
    with session_scope(url) as session:  # an account since removed: its username is all there is
        session.add(FlagAcknowledgement(patient_id=patient_id, rule="diary_gap", flag_start=date(2026, 2, 1),
                                        flag_end=date(2026, 2, 9), note="Holiday", acknowledged_by="retired",
                                        acknowledged_at=datetime(2026, 2, 10, 9, 30)))
    frame = _frame(url, patient_id)
    expected = pd.DataFrame({
        "rule": ["diary_gap", "bp_high", "low_mood"],
        "flag_start": pd.to_datetime(["2026-02-01", "2026-03-02", "2026-03-05"]).astype("datetime64[ns]"),
        "flag_end": pd.to_datetime(["2026-02-09", "2026-03-04", "2026-03-07"]).astype("datetime64[ns]"),
        "note": ["Holiday", "Rechecked in clinic: 138/86.", "Called"],
        "acknowledged_by": ["retired", "Dr Ada Byron", "cy"],  # cy has no display name
    })
    pd.testing.assert_frame_equal(frame.drop(columns="acknowledged_at"), expected)
    assert frame["acknowledged_at"].dtype == "datetime64[ns]"
    assert frame["acknowledged_at"].iloc[0] == pd.Timestamp("2026-02-10 09:30")
    assert frame["acknowledged_at"].iloc[1] >= frame["acknowledged_at"].iloc[2]  # acknowledged after low_mood


def test_a_patient_without_acknowledgements_has_an_empty_typed_frame(clinic):
    url, _users, patient_id = clinic
    frame = _frame(url, patient_id)
    assert frame.empty and list(frame.columns) == flag_reviews.ACKNOWLEDGEMENT_COLUMNS
    assert frame.dtypes.to_dict() == {
        "rule": "object", "flag_start": "datetime64[ns]", "flag_end": "datetime64[ns]", "note": "object",
        "acknowledged_by": "object", "acknowledged_at": "datetime64[ns]"}


def test_a_flag_is_acknowledged_once_and_the_refusal_names_who_and_when(clinic):
    url, users, patient_id = clinic
    first = _acknowledge(url, users["ada"], patient_id)
    when = f"{first.acknowledged_at:%d %b %Y at %H:%M} UTC"
    # The run grew since: the same rule and true start is still the same flag.
    refusal = f"The High blood pressure flag from 02 Mar 2026 was already acknowledged by Dr Ada Byron on {when}."
    with pytest.raises(AcknowledgementError, match=re.escape(refusal)):
        _acknowledge(url, users["cy"], patient_id, end=date(2026, 3, 9), note="Seen too")
    assert _count(url) == 1
    assert [outcome for _actor, outcome, _pid, _detail in _events(url)] == ["ok"]
    assert _frame(url, patient_id)["note"].tolist() == ["Rechecked in clinic: 138/86."]


def test_an_acknowledgement_made_meanwhile_in_another_transaction_is_refused_clearly(clinic, monkeypatch):
    url, users, patient_id = clinic
    _acknowledge(url, users["ada"], patient_id)
    # As if cy's check ran before ada's row was committed: the unique constraint decides.
    monkeypatch.setattr(flag_reviews, "acknowledgement", lambda *args: None)
    with pytest.raises(AcknowledgementError, match="acknowledged by someone else a moment ago") as caught:
        _acknowledge(url, users["cy"], patient_id, note="Seen too")
    assert isinstance(caught.value.__cause__, IntegrityError)
    assert _count(url) == 1 and len(_events(url)) == 1


@pytest.mark.parametrize(
    ("rule", "start", "end"),
    [("bp_high", date(2026, 3, 10), date(2026, 3, 10)), ("bladder", START, END)],
    ids=["a later run of the same rule", "another rule from the same day"],
)
def test_another_flag_is_acknowledged_on_its_own(clinic, rule, start, end):
    url, users, patient_id = clinic
    _acknowledge(url, users["ada"], patient_id)
    _acknowledge(url, users["cy"], patient_id, rule=rule, start=start, end=end, note="Also seen")
    assert _count(url) == 2
    assert [(actor, outcome) for actor, outcome, _pid, _detail in _events(url)] == [("ada", "ok"), ("cy", "ok")]


def test_every_rule_of_the_review_can_be_acknowledged(clinic):
    url, users, patient_id = clinic
    for rule in RULES:
        _acknowledge(url, users["ada"], patient_id, rule=rule)
    assert _frame(url, patient_id)["rule"].tolist() == sorted(RULES)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"note": ""}, "Write a note"),
        ({"note": " \n\t "}, "Write a note"),
        ({"note": None}, "Write a note"),
        ({"note": "x" * 2001}, "2001 characters; keep it to 2000"),
        ({"rule": "bp_low"}, "'bp_low' is not a flag rule"),
        ({"rule": "BP_HIGH"}, "not a flag rule"),
        ({"start": date(2026, 3, 5)}, r"start \(05 Mar 2026\) is after its end \(04 Mar 2026\)"),
        ({"start": "2026-03-02"}, "start must be a calendar day"),
        ({"end": datetime(2026, 3, 4, 8, 0)}, "end must be a calendar day"),
        ({"end": pd.NaT}, "end must be a calendar day"),
    ],
    ids=["empty note", "blank note", "no note", "note too long", "unknown rule", "rule in capitals",
         "start after end", "start as text", "end with a time", "end missing"],
)
def test_an_invalid_acknowledgement_is_refused_and_writes_nothing(clinic, changes, message):
    url, users, patient_id = clinic
    with pytest.raises(AcknowledgementError, match=message):
        _acknowledge(url, users["ada"], patient_id, **changes)
    assert _count(url) == 0 and _events(url) == []


def test_a_note_of_exactly_2000_characters_is_kept(clinic):
    url, users, patient_id = clinic
    row = _acknowledge(url, users["ada"], patient_id, note="  " + "x" * 2000 + "\n")
    assert row.note == "x" * 2000


def test_the_database_itself_refuses_an_empty_note_or_dates_out_of_order(clinic):
    url, _users, patient_id = clinic
    for note, end in (("", END), ("ok", date(2026, 3, 1))):
        with pytest.raises(IntegrityError), session_scope(url) as session:
            session.add(FlagAcknowledgement(patient_id=patient_id, rule="bp_high", flag_start=START, flag_end=end,
                                            note=note, acknowledged_by="ada", acknowledged_at=datetime(2026, 3, 5)))
    assert _count(url) == 0


def test_someone_without_the_patient_is_refused_and_the_denial_stays_in_the_trail(clinic):
    url, users, patient_id = clinic
    with pytest.raises(PermissionError, match="not shared with you"):
        _acknowledge(url, users["bob"], patient_id)
    assert _count(url) == 0
    assert _events(url) == [("bob", "denied", patient_id, {"rule": "bp_high", "flag_start": "2026-03-02"})]


def test_the_audit_chain_verifies_after_acknowledgements_and_refusals(clinic):
    url, users, patient_id = clinic
    _acknowledge(url, users["ada"], patient_id)
    for user, error in ((users["bob"], PermissionError), (users["cy"], AcknowledgementError)):
        with pytest.raises(error):
            _acknowledge(url, user, patient_id)
    _acknowledge(url, users["cy"], patient_id, rule="pain_spike", note="Flare after gardening")
    with session_scope(url) as session:
        result = audit.verify(session)
    assert result.ok and result.rows == 3  # two acknowledgements and the denial


def test_downgrading_to_0002_drops_the_table_and_upgrading_restores_it(db_url):
    command.downgrade(alembic_config(db_url), "0002")
    assert "flag_acknowledgement" not in inspect(get_engine(db_url)).get_table_names()
    migrate(db_url)
    assert "flag_acknowledgement" in inspect(get_engine(db_url)).get_table_names()

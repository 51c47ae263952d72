"""Exporting a patient's diary as the native CSV, and reading it back unchanged."""

from datetime import date, datetime

import pytest

from dashboard.db.models import DiaryEntry, Patient, SideEffect
from dashboard.db.session import get_engine, migrate, session_scope
from dashboard.ingest.diary_csv import parse_diary_csv
from dashboard.ingest.export import UnknownPatient, export_patient_csv, format_number, format_timestamp
from dashboard.ingest.writer import write_import

HEADER = (
    "patient_id,date,pain,pain_worst,sleep,mood,function,enjoyment_interference,activity_interference,peg,peg_pain,dose_mg,"
    "dizziness,nausea,brain_fog,dissociation,drowsiness,bladder,bp_systolic,bp_diastolic,other_medication,notes\r\n"
)
# (recorded_at, utc offset, has_time, values, side effects)
ENTRIES = [
    (datetime(2026, 2, 1), None, False, {"pain": 7.0, "sleep": 4.0}, {}),
    (datetime(2026, 2, 1, 21, 30), 60, True,
     {"pain": 6.5, "dose_mg": 25.0, "bp_systolic": 128.0, "bp_diastolic": 84.0, "notes": "dizzy, then fine\nslept"},
     {"dizziness": 2, "nausea": 0}),
    (datetime(2026, 2, 2, 8, 5, 30, 250000), -330, True, {"pain": 0.059874385741699676, "peg": 4.333333333333333}, {}),
    (datetime(2026, 2, 3, 0, 0), 0, True,
     {"mood": 3.0, "other_medication": "=oxycodone 10 mg", "notes": "-worse today"}, {"bladder": 3}),
    (datetime(2026, 2, 4, 12, 0), None, True, {"function": 10.0, "notes": "'@quoted already"}, {"brain_fog": 1}),
]
EXPECTED_ROWS = [
    "P1,2026-02-01,7,,4,,,,,,,,,,,,,,,,,\r\n",
    'P1,2026-02-01T21:30:00+01:00,6.5,,,,,,,,,25,2,0,,,,,128,84,,"dizzy, then fine\nslept"\r\n',
    "P1,2026-02-02T08:05:30.250000-05:30,0.059874385741699676,,,,,,,4.333333333333333,,,,,,,,,,,,\r\n",
    "P1,2026-02-03T00:00:00+00:00,,,,3,,,,,,,,,,,,3,,,'=oxycodone 10 mg,'-worse today\r\n",
    "P1,2026-02-04T12:00:00,,,,,10,,,,,,,,1,,,,,,,''@quoted already\r\n",
]


def add_patient(session, ref: str, entries=ENTRIES) -> None:
    patient = Patient(ref=ref, created_at=datetime(2026, 1, 1))
    session.add(patient)
    session.flush()
    for recorded_at, offset, has_time, values, effects in entries:
        entry = DiaryEntry(
            patient_id=patient.id, recorded_at=recorded_at, utc_offset_minutes=offset, has_time=has_time,
            diary_date=recorded_at.date(), source="test", **values,
        )
        session.add(entry)
        session.flush()
        session.add_all(SideEffect(entry_id=entry.id, effect=name, severity=grade) for name, grade in effects.items())


def test_export_writes_the_native_csv(db_url):
    with session_scope(db_url) as session:
        add_patient(session, "P1")
        add_patient(session, "P2", ENTRIES[:1])
    with session_scope(db_url) as session:
        text = export_patient_csv(session, "P1")
    assert text == HEADER + "".join(EXPECTED_ROWS)


def test_a_patient_without_entries_exports_the_header_alone(db_url):
    with session_scope(db_url) as session:
        add_patient(session, "P3", [])
        assert export_patient_csv(session, "P3") == HEADER


def test_an_unknown_patient_is_a_clear_error(db_url):
    with session_scope(db_url) as session:
        with pytest.raises(UnknownPatient, match="no patient with the reference 'P404'"):
            export_patient_csv(session, "P404")


@pytest.fixture
def second_db(tmp_path):
    """Another fresh database (``db_url`` and ``sqlite_url`` share the test's folder)."""
    url = f"sqlite:///{tmp_path / 'second.sqlite'}"
    migrate(url)
    yield url
    get_engine(url).dispose()


def test_export_import_export_gives_the_identical_file(db_url, second_db):
    with session_scope(db_url) as session:
        add_patient(session, "P1")
    with session_scope(db_url) as session:
        first = export_patient_csv(session, "P1")
    parsed = parse_diary_csv(first.encode("utf-8"), "export.csv", today=date(2026, 3, 1))
    assert parsed.refused == [] and len(parsed.diary) == len(ENTRIES)
    with session_scope(second_db) as session:
        report = write_import(session, parsed, raw=first.encode("utf-8"))
        assert (report.status, report.entries_added, report.patients_created) == ("imported", len(ENTRIES), ["P1"])
    with session_scope(second_db) as session:
        assert export_patient_csv(session, "P1") == first
    # Back into the database it came from: every entry is already there, unchanged.
    with session_scope(db_url) as session:
        report = write_import(session, parsed, raw=first.encode("utf-8"))
        assert (report.status, report.entries_unchanged, report.conflicts) == ("already-imported", len(ENTRIES), [])


@pytest.mark.parametrize(
    ("value", "text"),
    [(7.0, "7"), (0.0, "0"), (-0.0, "0"), (6.5, "6.5"), (0.059874385741699676, "0.059874385741699676"),
     (1e-05, "0.00001"), (1000.0, "1000"), (0.1 + 0.2, "0.30000000000000004")],
)
def test_numbers_keep_every_digit_and_nothing_more(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize(
    ("recorded_at", "offset", "has_time", "text"),
    [(datetime(2026, 2, 1), None, False, "2026-02-01"), (datetime(2026, 2, 1), None, True, "2026-02-01T00:00:00"),
     (datetime(2026, 2, 1, 9, 5), 0, True, "2026-02-01T09:05:00+00:00"),
     (datetime(2026, 2, 1, 9, 5), 345, True, "2026-02-01T09:05:00+05:45"),
     (datetime(2026, 2, 1, 9, 5), -600, True, "2026-02-01T09:05:00-10:00")],
)
def test_timestamps_are_iso_with_the_offset_written(recorded_at, offset, has_time, text):
    assert format_timestamp(recorded_at, offset, has_time) == text


@pytest.mark.parametrize("note", ["\uff1d1+1", "\uff0bHYPERLINK(\"http://evil.example\")", "\uff0d2+3", "\uff20SUM(A1)"],
                         ids=["full-width =", "full-width +", "full-width -", "full-width @"])
def test_full_width_formula_characters_are_neutralised_and_come_back(db_url, second_db, note):
    """Issue 24 item 9: the export quotes a note starting with a formula look-alike; the import undoes it."""
    entry = (datetime(2026, 2, 5, 9, 0), None, True, {"pain": 3.0, "notes": note}, {})
    with session_scope(db_url) as session:
        add_patient(session, "P1", [entry])
    with session_scope(db_url) as session:
        text = export_patient_csv(session, "P1")
    assert text.endswith(f",'{note}\r\n") or text.endswith(f",\"'{note.replace(chr(34), chr(34) * 2)}\"\r\n")
    parsed = parse_diary_csv(text.encode("utf-8"), "export.csv", today=date(2026, 3, 1))
    assert parsed.refused == [] and [d.measures["notes"] for d in parsed.diary] == [note]

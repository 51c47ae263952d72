"""The import page, driven with AppTest: what a file would change is shown before anything is
written, for every format; refusals name row, column and value; large files show their progress."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import streamlit as st
from sqlalchemy import func, select

from dashboard.auth.accounts import add_user
from dashboard.db.models import CoMedication, DiaryEntry, ImportRecord, TitrationStep, Visit
from dashboard.db.session import session_scope
from dashboard.ingest.service import import_file, parse
from tests.app.conftest import account, app, audit_rows, last_audit_id

TODAY = date.today()
FHIR_SMALL = "data/real/ahrq_pain_mgmt_r4/brenda_jackson.json"
FHIR_LARGE = "data/real/synthea_r4/Bradly_Douglas_18468941-bdaf-42a0-8648-cba7cafc27ce.json"  # 1.3 MB


def _iso(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


DIARY = (f"patient_id,date,pain,nausea,notes\n"
         f"IMP-1,{_iso(3)}T20:00,6,mild,tired\nIMP-1,{_iso(2)}T20:00,5,,\nIMP-1,{_iso(1)}T08:30,4,none,\n").encode()
TITRATION = f"patient_id,start_date,dose_mg,frequency,route,note\nIMP-1,{_iso(20)},25,daily,troche,\n".encode()
VISITS = f"patient_id,date,kind,note\nIMP-1,{_iso(20)},in person,\nIMP-1,{_iso(5)},telehealth,\n".encode()
FHIR = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
    {"resource": {"resourceType": "Patient", "id": "IMP-1"}},
    {"resource": {"resourceType": "Observation", "id": "o1", "status": "final",
                  "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
                  "subject": {"reference": "Patient/IMP-1"}, "effectiveDateTime": f"{_iso(2)}T09:00:00+00:00",
                  "valueQuantity": {"value": 5.5}}},
    {"resource": {"resourceType": "Encounter", "id": "e1", "status": "finished"}},
]}).encode()


def _bearable() -> bytes:
    """A Bearable export (every field quoted, dates written '23rd Nov 2026'): mood, a side effect, a gratitude."""
    d = TODAY - timedelta(days=2)
    suffix = "th" if 11 <= d.day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d.day % 10, "th")
    written = [f"{d.day}{suffix} {d:%b %Y}", d.isoformat(), d.strftime("%A"), "pm"]
    rows = [written + ["Mood", "7", "", ""], written + ["Symptom", "1", "Nausea (Mild)", ""],
            written + ["Gratitudes", "", "sunshine", ""]]
    header = "date,date formatted,weekday,time of day,category,rating/amount,detail,notes\n"
    return (header + "".join(",".join(f'"{c}"' for c in row) + "\n" for row in rows)).encode()


BEARABLE = _bearable()


def _pain_diary_app() -> bytes:
    """A Privacy Friendly Pain Diary export (opencsv: every cell quoted), its date as a US phone writes it."""
    d = TODAY - timedelta(days=2)
    intakes = "[[drug:[name:Ketamine troche,dose25mg],quantityMorning:1,quantityNoon:0,quantityEvening:1,quantityNight:0],]"
    rows = [["Date", "Conditions", "Pain Level (0-10)", "Body Regions", "Pain nature", "Times of pain", "Drug Intakes",
             "Comment"], [f"{d.month}/{d.day}/{d:%y}", "GOOD", "4", "[HEAD]", "[dull]", "[]", intakes, ""]]
    return "".join(",".join(f'"{c}"' for c in row) + "\n" for row in rows).encode()


PAIN_DIARY_APP = _pain_diary_app()
# Row 3 has a date that is not ISO 8601: refused, never guessed.
BROKEN = f"patient_id,date,pain\nIMP-1,{_iso(2)},6\nIMP-1,03/01/2026,5\n".encode()


@pytest.fixture
def import_clinic(sqlite_url, monkeypatch) -> str:
    """An empty clinic with one member of staff, and the app pointed at it."""
    with session_scope(sqlite_url) as session:
        add_user(session, username="sam", display_name="Sam", role="staff", password=None)
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DASHBOARD_DEMO", raising=False)
    st.cache_data.clear()
    yield sqlite_url
    st.cache_data.clear()


def upload(url: str, name: str, raw: bytes, patient: str | None = None):
    at = app("import", user=account(url, "sam")).run()
    if patient:  # for a file that names no patient
        at.text_input(key="patient_ref").input(patient).run()
    at.file_uploader(key="upload").upload(name, raw, "application/octet-stream").run()
    assert not at.exception, at.exception
    return at


def counts(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(at) -> list[str]:
    return [t.value for t in at.text]


def table_with(at, column: str):
    (table,) = [d.value for d in at.dataframe if column in d.value.columns]
    return table


def stored(url: str) -> dict[str, int]:
    with session_scope(url) as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (DiaryEntry, TitrationStep, Visit, CoMedication, ImportRecord)}


def import_audits(url: str, after: int = 0) -> list[tuple]:
    return [r for r in audit_rows(url, after) if r[1] == "import"]


@pytest.mark.parametrize(("name", "raw", "patient", "label", "added", "ignored", "table"), [
    ("diary.csv", DIARY, None, "Diary CSV (native)", 3, 0, "diary_entry"),
    ("steps.csv", TITRATION, None, "Titration steps CSV", 1, 0, "titration_step"),
    ("visits.csv", VISITS, None, "Visits CSV", 2, 0, "visit"),
    ("bundle.json", FHIR, None, "FHIR R4 (JSON / NDJSON)", 1, 1, "diary_entry"),
    ("bearable.csv", BEARABLE, "IMP-1", "Bearable export", 1, 1, "diary_entry"),
    ("pain_diary.csv", PAIN_DIARY_APP, "IMP-1", "Privacy Friendly Pain Diary export", 1, 0, "diary_entry"),
], ids=["diary", "titration", "visits", "fhir", "bearable", "pain-diary-app"])
def test_a_valid_file_is_shown_before_it_is_written_then_imported(import_clinic, name, raw, patient, label, added,
                                                                  ignored, table):
    before = last_audit_id(import_clinic)
    at = upload(import_clinic, name, raw, patient)
    assert counts(at) == {"Added": str(added), "Unchanged": "0", "Conflicts": "0", "Refused rows": "0",
                          "Ignored": str(ignored)}
    assert f"Format: {label}" in texts(at) and "Patients: IMP-1 (new: IMP-1)" in texts(at)
    assert set(stored(import_clinic).values()) == {0}  # the dry run wrote nothing
    assert audit_rows(import_clinic, before) == []
    at.button(key="do_import").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Imported as import #1."]
    assert stored(import_clinic)[table] == added and stored(import_clinic)["import_record"] == 1
    assert [(r[0], r[2]) for r in import_audits(import_clinic, before)] == [("sam", "imported")]


def test_the_preview_lists_the_records_the_file_brings(import_clinic):
    at = upload(import_clinic, "diary.csv", DIARY)
    preview = table_with(at, "recorded_at")
    assert list(preview["pain"]) == ["6.0", "5.0", "4.0"] and set(preview["patient"]) == {"IMP-1"}


def test_a_broken_file_lists_its_refused_rows_and_offers_no_import(import_clinic):
    before = last_audit_id(import_clinic)
    at = upload(import_clinic, "broken.csv", BROKEN)
    assert counts(at)["Refused rows"] == "1"
    refused = table_with(at, "reason")
    assert refused[["row", "column", "value"]].to_dict("records") == [{"row": "3", "column": "date",
                                                                       "value": "03/01/2026"}]
    assert [e.value for e in at.error] == [
        "This file would be refused as it is. Fix the rows listed above, decide the conflicts, or tick 'Accept "
        "valid rows'. Importing it anyway keeps the file and its errors for later review."]
    assert "do_import" not in [b.key for b in at.button]
    assert set(stored(import_clinic).values()) == {0}
    assert audit_rows(import_clinic, before) == []
    # v2: every file is kept: the refused file can be kept (its bytes and errors), writing no row of it.
    at.button(key="keep_file").click().run()
    assert stored(import_clinic) == {"diary_entry": 0, "titration_step": 0, "visit": 0, "co_medication": 0,
                                     "import_record": 1}
    assert "Refused: the file is kept as import #1." in [i.value for i in at.info]


def test_accepting_valid_rows_imports_the_rest_and_keeps_the_refusal(import_clinic):
    at = upload(import_clinic, "broken.csv", BROKEN)
    at.checkbox(key="accept_valid").check().run()
    assert counts(at)["Added"] == "1" and counts(at)["Refused rows"] == "1"
    at.button(key="do_import").click().run()
    assert not at.exception and stored(import_clinic)["diary_entry"] == 1


def test_a_file_that_is_no_known_format_is_refused_as_a_whole(import_clinic):
    at = upload(import_clinic, "notes.txt", b"just some words\nand more\n")
    assert "Format: not recognised" in texts(at)
    assert table_with(at, "reason")["reason"][0].startswith("not a format this dashboard reads")
    assert "do_import" not in [b.key for b in at.button]


@pytest.mark.parametrize(("raw", "unchanged", "message"), [
    # The very same bytes: recognised by their checksum; the entries it stored count as unchanged.
    (DIARY, "3", "Outcome: Already imported. this file was already imported (import #1); nothing changed"),
    # The same entries saved again by another program (CRLF line ends): each entry found unchanged.
    (DIARY.replace(b"\n", b"\r\n"), "3", "Outcome: Already imported. everything in this file is already stored; "
                                           "nothing changed"),
])
def test_the_same_file_again_is_already_stored(import_clinic, raw, unchanged, message):
    assert import_file(DIARY, "diary.csv", url=import_clinic, actor="test").status == "imported"
    at = upload(import_clinic, "diary-again.csv", raw)
    assert counts(at)["Added"] == "0" and counts(at)["Unchanged"] == unchanged
    assert message in texts(at)
    assert [s.value for s in at.success] == ["Everything in this file is already stored. Nothing to import."]
    assert "do_import" not in [b.key for b in at.button]


def test_a_changed_entry_is_a_conflict_never_overwritten(import_clinic):
    assert import_file(DIARY, "diary.csv", url=import_clinic, actor="test").status == "imported"
    changed = DIARY.replace(b"T20:00,6,", b"T20:00,9,")
    at = upload(import_clinic, "diary-changed.csv", changed)
    assert counts(at)["Conflicts"] == "1"
    assert "do_import" not in [b.key for b in at.button]
    with session_scope(import_clinic) as session:
        assert sorted(session.scalars(select(DiaryEntry.pain))) == [4.0, 5.0, 6.0]


def test_a_real_fhir_bundle_is_recognised_with_what_it_ignores(import_clinic, shared_dir):
    raw = (shared_dir / FHIR_SMALL).read_bytes()
    at = upload(import_clinic, "brenda_jackson.json", raw)
    expected = parse(raw, "brenda_jackson.json").ignored
    assert "Format: FHIR R4 (JSON / NDJSON)" in texts(at)
    assert counts(at)["Ignored"] == str(sum(expected.values())) and "Condition" in expected
    ignored = table_with(at, "what")
    assert dict(zip(ignored["what"], ignored["count"])) == expected
    assert "do_import" in [b.key for b in at.button]


def test_a_file_name_with_markup_is_shown_as_text(import_clinic):
    name = "**bold** <b>x</b> [link](http://x).csv"
    at = upload(import_clinic, name, DIARY)
    assert any(t.startswith(f"File: {name} (") for t in texts(at))
    rendered = [e.value for kind in ("markdown", "caption", "info", "success", "error", "header", "subheader", "title")
                for e in getattr(at, kind)]
    assert [r for r in rendered if "bold" in r or "<b>" in r or "http://x" in r] == []


def test_a_large_file_shows_the_progress_of_each_phase(import_clinic, shared_dir):
    raw = (shared_dir / FHIR_LARGE).read_bytes()
    assert len(raw) > 1_000_000
    at = upload(import_clinic, "Bradly_Douglas.json", raw)
    assert [(p.value, p.text) for p in at.get("progress")] == [(100, "Checked. Nothing has been written.")]
    at.button(key="do_import").click().run()
    assert not at.exception
    assert [(p.value, p.text) for p in at.get("progress")] == [
        (100, "Checked. Nothing has been written."), (100, "Written: imported.")]
    assert stored(import_clinic)["diary_entry"] == 40


def test_a_small_file_shows_no_progress_bar(import_clinic):
    at = upload(import_clinic, "diary.csv", DIARY)
    assert list(at.get("progress")) == []

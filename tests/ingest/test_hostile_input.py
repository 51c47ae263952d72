"""Hostile input, closed (issue 9): dates at and beyond ``dashboard.fields``' limits in every
importer, files of mixed encodings, a million unknown columns, duplicate JSON keys, over-long
user names, and the demo kept off a real clinic's database."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from dashboard import fields
from dashboard.auth import accounts
from dashboard.db.models import AuditEvent
from dashboard.db.session import session_scope
from dashboard.demo import DemoRefused, build_demo, not_the_demo
from dashboard.ingest.bearable import parse_bearable
from dashboard.ingest.clinic_records import parse_titration_csv, parse_visits_csv
from dashboard.ingest.csv_text import read_csv, report_unknown_columns
from dashboard.ingest.diary_csv import parse_diary_csv
from dashboard.ingest.fhir import parse_fhir
from dashboard.ingest.records import FileRefused, ParsedFile
from dashboard.ingest.service import detect_format
from tests.test_cli import cli

TODAY = date(2026, 3, 10)
TOMORROW, DAY_AFTER = "2026-03-11", "2026-03-12"
PLAN_LAST, PLAN_BEYOND = "2031-03-10", "2031-03-11"


def _observation(when: str) -> bytes:
    return json.dumps({"resourceType": "Observation", "id": "o1", "status": "final",
                       "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
                       "subject": {"reference": "Patient/p1"}, "effectiveDateTime": when,
                       "valueQuantity": {"value": 4}}).encode()


def _ketamine_request(start: str, end: str) -> bytes:
    return json.dumps({
        "resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "ketamine troche"},
        "dosageInstruction": [{"route": {"text": "sublingual"},
                               "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d",
                                                     "boundsPeriod": {"start": start, "end": end}}},
                               "doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg"}}]}],
    }).encode()


def _bearable(day: str) -> bytes:
    return ("date,date formatted,weekday,time of day,category,rating/amount,detail,notes\n"
            f"{day},{day},Mon,am,Mood,4,,\n").encode()


# (importer, file bytes, expected (row, column, value) of the refusal, or None when accepted)
CASES = {
    "diary tomorrow": (lambda raw: parse_diary_csv(raw, "d.csv", patient_ref="P1", today=TODAY),
                       f"date,pain\n{TOMORROW},4\n".encode(), None),
    "diary day after": (lambda raw: parse_diary_csv(raw, "d.csv", patient_ref="P1", today=TODAY),
                        f"date,pain\n{DAY_AFTER},4\n".encode(), (2, "date", DAY_AFTER)),
    "diary 1900-01-01": (lambda raw: parse_diary_csv(raw, "d.csv", patient_ref="P1", today=TODAY),
                         b"date,pain\n1900-01-01,4\n", None),
    "diary 1899-12-31": (lambda raw: parse_diary_csv(raw, "d.csv", patient_ref="P1", today=TODAY),
                         b"date,pain\n1899-12-31T23:59,4\n", (2, "date", "1899-12-31T23:59")),
    "visit five years ahead": (lambda raw: parse_visits_csv(raw, "v.csv", patient_ref="P1", today=TODAY),
                               f"date,kind\n{PLAN_LAST},telehealth\n".encode(), None),
    "visit beyond five years": (lambda raw: parse_visits_csv(raw, "v.csv", patient_ref="P1", today=TODAY),
                                f"date,kind\n{PLAN_BEYOND},telehealth\n".encode(), (2, "date", PLAN_BEYOND)),
    "visit in 1500": (lambda raw: parse_visits_csv(raw, "v.csv", patient_ref="P1", today=TODAY),
                      b"Date,Kind\n1500-01-01,infusion\n", (2, "Date", "1500-01-01")),
    "step beyond five years": (lambda raw: parse_titration_csv(raw, "t.csv", patient_ref="P1", today=TODAY),
                               f"start_date,dose_mg,frequency,route\n{PLAN_BEYOND},50,daily,troche\n".encode(),
                               (2, "start_date", PLAN_BEYOND)),
    "step ending in 9999": (lambda raw: parse_titration_csv(raw, "t.csv", patient_ref="P1", today=TODAY),
                            b"start_date,end_date,dose_mg,frequency,route\n2026-01-01,9999-12-31,50,daily,troche\n",
                            (2, "end_date", "9999-12-31")),
    "FHIR observation tomorrow": (lambda raw: parse_fhir(raw, "f.json", today=TODAY),
                                  _observation(TOMORROW + "T23:00:00+14:00"), None),
    "FHIR observation day after": (lambda raw: parse_fhir(raw, "f.json", today=TODAY),
                                   _observation(DAY_AFTER), ("Observation/o1", "effectiveDateTime", DAY_AFTER)),
    "FHIR observation in 1899": (lambda raw: parse_fhir(raw, "f.json", today=TODAY),
                                 _observation("1899-12-31T10:00:00Z"),
                                 ("Observation/o1", "effectiveDateTime", "1899-12-31T10:00:00Z")),
    "FHIR step ending beyond five years": (
        lambda raw: parse_fhir(raw, "f.json", today=TODAY), _ketamine_request("2026-03-01", PLAN_BEYOND),
        ("MedicationRequest/m1", "dosageInstruction[0].timing.repeat.boundsPeriod.end", PLAN_BEYOND)),
    "Bearable day after": (lambda raw: parse_bearable(raw, "b.csv", patient_ref="P1", today=TODAY),
                           _bearable(DAY_AFTER), (2, "date", DAY_AFTER)),
    "Bearable in 1899": (lambda raw: parse_bearable(raw, "b.csv", patient_ref="P1", today=TODAY),
                         _bearable("1899-12-31"), (2, "date", "1899-12-31")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_importer_asks_the_one_date_rule(case):
    parse, raw, expected = CASES[case]
    parsed = parse(raw)
    refusals = [(r.row, r.column, r.value) for r in parsed.refused]
    if expected is None:
        assert refusals == []
    else:
        assert refusals == [expected]
        assert "the date is" in parsed.refused[0].reason and "1900-01-01" in parsed.refused[0].reason \
            or "after" in parsed.refused[0].reason


@pytest.mark.parametrize(
    ("day", "limits", "ok"),
    [(date(1900, 1, 1), fields.DIARY, True), (date(1899, 12, 31), fields.DIARY, False),
     (date(2026, 3, 11), fields.DIARY, True), (date(2026, 3, 12), fields.DIARY, False),
     (date(2031, 3, 10), fields.PLAN, True), (date(2031, 3, 11), fields.PLAN, False),
     (date(1, 1, 1), fields.PLAN, False), (date(9999, 12, 31), fields.PLAN, False)],
)
def test_the_date_limits(day, limits, ok):
    assert limits.contains(day, TODAY) is ok
    assert (limits.problem(day, TODAY) is None) is ok


def test_five_years_from_29_february():
    assert fields.PLAN.latest(date(2028, 2, 29)) == date(2033, 2, 28)


# --- text that is not what it claims --------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("date,pain,notes\n2026-03-01,4,café\n".encode() + "2026-03-02,4,caf\xe9\n".encode("cp1252"),
         "mixes two encodings"),
        (b"\xef\xbb\xbf\xef\xbb\xbfdate,pain\n2026-03-01,4\n", "two byte order marks"),
        (b"date,pain\n2026-03-01,4\x00\n", "NUL bytes"),
        (b"date,pain\n2026-03-01,\x81\x8d\n", "neither UTF-8 nor Windows-1252"),
    ],
    ids=["mixed UTF-8 and Windows-1252", "double BOM", "NUL byte", "undecodable byte"],
)
def test_text_that_is_not_one_encoding_is_refused_with_its_reason(raw, reason):
    with pytest.raises(FileRefused, match=reason):
        read_csv(raw, "x.csv")
    with pytest.raises(FileRefused, match=reason):  # auto detection keeps the reason
        detect_format(raw.replace(b"date,pain", b"when,how") if b"\x00" not in raw else raw, "x.csv")


def test_windows_1252_alone_still_imports():
    raw = "date,pain,notes\n2026-03-01,4,caf\xe9 \u2019ok\u2019\n".encode("cp1252")
    assert read_csv(raw, "x.csv").rows[0][1][2] == "caf\xe9 \u2019ok\u2019"


@pytest.mark.parametrize(("columns", "expected"), [
    (3, {"column 'x0'": 1, "column 'x1'": 0, "column 'x2'": 0}),
    (1_000_000, {"1,000,000 unknown columns": 1}),
])
def test_many_unknown_columns_are_one_line(columns, expected):
    header = ",".join(f"x{i}" for i in range(columns))
    raw = f"date,pain,{header}\n2026-03-01,4,1\n".encode()
    parsed = ParsedFile(file_name="x.csv", format="diary-csv")
    report_unknown_columns(read_csv(raw, "x.csv"), {"date", "pain"}, parsed)
    assert parsed.ignored == expected


@pytest.mark.parametrize(
    ("text", "row", "column"),
    [
        ('{"resourceType": "Patient", "id": "a", "id": "b"}', 1, "id"),
        ('{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Observation",'
         ' "id": "o", "valueQuantity": {"value": 1, "value": 9}}}]}', 1, "entry[0].resource.valueQuantity.value"),
    ],
)
def test_duplicate_json_keys_are_refused_with_their_path(text, row, column):
    with pytest.raises(FileRefused) as refused:
        parse_fhir(text.encode(), "f.json")
    assert (refused.value.refused.row, refused.value.refused.column) == (row, column)
    assert "appears twice" in refused.value.refused.reason


def test_a_duplicate_key_on_one_ndjson_line_refuses_that_line():
    raw = b'{"resourceType": "Patient", "id": "a"}\n{"resourceType": "Patient", "id": "b", "id": "c"}\n'
    parsed = parse_fhir(raw, "f.ndjson")
    assert [(r.row, r.column) for r in parsed.refused] == [(2, "id")]
    assert [p.ref for p in parsed.patients] == ["a"]


# --- accounts -------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["x" * 101, "y" * 100_000, "dr\x00rivera", "\x00"])
def test_an_impossible_user_name_is_an_unknown_account_and_audited(db_url, username):
    with session_scope(db_url) as session:
        user, message = accounts.authenticate(session, username, "whatever-it-is-123")
        assert accounts.resolve_user(session, username) is None
    assert (user, message) == (None, accounts.LOGIN_REFUSED)
    with session_scope(db_url) as session:
        event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (event.action, event.outcome) == ("login", "failed")
        assert len(event.actor) <= 101


@pytest.mark.parametrize("as_of", ["1899-12-31", "0001-01-01", "9999-12-31", "2999-01-01"])
def test_summary_as_of_outside_the_diary_dates_is_a_usage_error(db_url, as_of):
    result = cli(db_url, "summary", "P1", "--as-of", as_of)
    assert result.returncode == 2, result.stderr
    assert "the date is" in result.stderr


def test_summary_as_an_over_long_name_is_an_unknown_account(db_url):
    result = cli(db_url, "summary", "P1", "--as", "z" * 5000)
    assert result.returncode == 1, result.stderr
    assert "not an enabled account" in result.stderr


# --- the demo stays a demo ------------------------------------------------------------------

def test_the_demo_refuses_a_database_with_any_account(db_url):
    with session_scope(db_url) as session:
        accounts.add_user(session, username="real.doctor", display_name="Real", role="clinician",
                          password="a-long-password-2026")
    with session_scope(db_url) as session:
        with pytest.raises(DemoRefused, match="1 account"):
            build_demo(session, today=TODAY)
        assert "not the demo's" in not_the_demo(session)
    result = cli(db_url, "demo")
    assert result.returncode == 1 and "account" in result.stderr


def test_run_demo_refuses_a_real_clinic_before_starting(db_url):
    with session_scope(db_url) as session:
        accounts.add_user(session, username="real.doctor", display_name="Real", role="clinician",
                          password="a-long-password-2026")
    result = cli(db_url, "run", "--demo", "--port", "1")
    assert result.returncode == 1, result.stderr
    assert "run --demo" in result.stderr and "not the demo's" in result.stderr


# --- text the store cannot hold, and look-alike references (issue 24, items 3, 7 and 10) ----------

def _patient(**fields) -> dict:
    return {"resourceType": "Patient", "id": "1", **fields}


def _obs(**fields) -> dict:
    return {"resourceType": "Observation", "id": "o1", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
            "subject": {"reference": "Patient/1"}, "effectiveDateTime": "2026-03-01",
            "valueQuantity": {"value": 4}, **fields}


# (the JSON text, with \ud800 and \u0000 escapes as a file writes them; the refusal's row, column, value, reason)
UNSTORABLE = {
    "surrogate in an identifier": (
        json.dumps(_patient(identifier=[{"value": "MRN-1\ud800"}])),
        ("Patient/1", "identifier[0].value", "MRN-1\\ud800", "text holds a lone surrogate")),
    "NUL in an identifier": (
        json.dumps(_patient(identifier=[{"value": "MRN-1\u0000"}])),
        ("Patient/1", "identifier[0].value", "MRN-1\\u0000", "text holds a NUL character")),
    "surrogate in a name": (
        json.dumps(_patient(identifier=[{"value": "MRN-1"}], name=[{"text": "\udc00Ada"}])),
        ("Patient/1", "name[0].text", "\\udc00Ada", "text holds a lone surrogate")),
    "NUL in a note": (
        json.dumps(_obs(note=[{"text": "fine\u0000"}])),
        ("Observation/o1", "note[0].text", "fine\\u0000", "text holds a NUL character")),
    "NUL in a key": (
        json.dumps(_obs(**{"extra\u0000": 1})),
        ("Observation/o1", "extra\\u0000", "extra\\u0000", "text holds a NUL character")),
    "surrogate in the id": (
        json.dumps(_obs(id="o\ud8001")),
        ("Observation (file)", "id", "o\\ud8001", "text holds a lone surrogate")),
    "NUL in a subject": (
        json.dumps(_obs(subject={"reference": "Patient/1\u0000"})),
        ("Observation/o1", "subject.reference", "Patient/1\\u0000", "text holds a NUL character")),
    "NUL in a bundle's fullUrl": (
        json.dumps({"resourceType": "Bundle", "type": "collection",
                    "entry": [{"fullUrl": "urn:uuid:\u0000", "resource": _patient()}]}),
        ("Bundle (file)", "entry[0].fullUrl", "urn:uuid:\\u0000", "text holds a NUL character")),
    "NDJSON line": (
        json.dumps(_patient(identifier=[{"value": "MRN-1"}])) + "\n" + json.dumps(_obs(note=[{"text": "\ud800"}])),
        ("Observation/o1", "note[0].text", "\\ud800", "text holds a lone surrogate")),
}


@pytest.mark.parametrize("case", UNSTORABLE)
def test_text_the_store_cannot_hold_is_refused_with_its_path_and_the_file_kept(db_url, case):
    from tests.dbdump import assert_only_the_file_kept, dump
    from dashboard.ingest.service import import_file

    text, (row, column, value, reason) = UNSTORABLE[case]
    assert "\\ud800" in text or "\\u0000" in text or "\\udc00" in text  # written as a file writes it
    raw = text.encode()
    before = dump(db_url, skip=("audit_event",))
    report = import_file(raw, "hostile.json", url=db_url)
    assert report.status == "refused", report
    refusal = next(r for r in report.refused_rows if r["column"] == column)
    assert (refusal["row"], refusal["value"]) == (row, value)
    assert refusal["reason"].startswith(reason)
    assert_only_the_file_kept(db_url, before, raw=raw, status="refused")


@pytest.mark.parametrize("ident", [" ", "  ", "\t", " o1", "o1 ", "o\u200b1", "o\u00001", "\u3164", "\u202eo1"])
@pytest.mark.parametrize("as_ndjson", [False, True])
def test_a_resource_without_a_usable_id_is_placed_by_its_position(ident, as_ndjson):
    patient = {"resourceType": "Patient", "id": "p1"}
    obs = {**json.loads(_observation("2026-03-01")), "id": ident, "valueQuantity": {"value": "four"}}
    if as_ndjson:
        raw, where = f"{json.dumps(patient)}\n{json.dumps(obs)}".encode(), "Observation (line 2)"
    else:
        bundle = {"resourceType": "Bundle", "type": "collection",
                  "entry": [{"resource": patient}, {"resource": obs}]}
        raw, where = json.dumps(bundle).encode(), "Observation (Bundle (file) entry[1])"
    parsed = parse_fhir(raw, "f.json", today=TODAY)
    assert [r.row for r in parsed.refused] == [where]


# Look-alike and invisible references in every importer's patient column or identifier: refused
# with the place, or (full-width) read as the reference they display as.
LOOK_ALIKES = {
    "full-width": ("ＤＥＭＯ-001", "DEMO-001"),
    "no-break space inside": ("DEMO\u00a0001", "DEMO 001"),
    "zero-width space": ("DEMO\u200b-001", None),
    "zero-width joiner": ("DEMO-\u200d001", None),
    "right-to-left override": ("\u202e100-OMED", None),
    "Hangul filler": ("\u3164", None),
    "line break": ("DEMO\n001", None),
    "alone zero-width space": ("\u200b", None),
}


@pytest.mark.parametrize("case", LOOK_ALIKES)
@pytest.mark.parametrize("importer", ["diary", "titration", "visits", "profile", "fhir identifier", "fhir id"])
def test_look_alike_references_are_read_as_they_display_or_refused(importer, case):
    written, ref = LOOK_ALIKES[case]
    cell = '"' + written + '"'
    if importer == "diary":
        parsed = parse_diary_csv(f"patient_id,date,pain\n{cell},2026-03-01,4\n".encode(), "d.csv", today=TODAY)
        found, place = [r.patient_ref for r in parsed.diary], (2, "patient_id")
    elif importer == "titration":
        parsed = parse_titration_csv(f"patient_id,start_date,dose_mg,frequency,route\n{cell},2026-03-01,50,daily,troche\n"
                                     .encode(), "t.csv", today=TODAY)
        found, place = [r.patient_ref for r in parsed.steps], (2, "patient_id")
    elif importer == "visits":
        parsed = parse_visits_csv(f"patient_id,date,kind\n{cell},2026-03-01,telehealth\n".encode(), "v.csv", today=TODAY)
        found, place = [r.patient_ref for r in parsed.visits], (2, "patient_id")
    elif importer == "profile":
        from dashboard.ingest.profiles import parse_with_profile

        profile = {"layout": "wide", "date_column": "Day", "date_format": "%Y-%m-%d", "patient_column": "Who",
                   "columns": {"Pain": "pain"}}
        parsed = parse_with_profile(f"Who,Day,Pain\n{cell},2026-03-01,4\n".encode(), "p.csv", profile, today=TODAY)
        found, place = [r.patient_ref for r in parsed.diary], (2, "Who")
    else:
        key = "identifier" if importer == "fhir identifier" else "id"
        body = {"resourceType": "Patient", "id": "p1", "identifier": [{"value": written}]} if key == "identifier" \
            else {"resourceType": "Patient", "id": written}
        parsed = parse_fhir(json.dumps(body).encode(), "f.json", today=TODAY)
        found = [p.ref for p in parsed.patients]
        place = ("Patient/p1", "identifier[0].value") if key == "identifier" else (None, "id")
    if ref is not None:
        assert (found, parsed.refused) == ([ref], [])
        return
    assert found == []
    [refusal] = parsed.refused
    assert refusal.column == place[1] and (place[0] is None or refusal.row == place[0])
    assert "a patient reference cannot hold" in refusal.reason


@pytest.mark.parametrize("raw", [
    b"patient_id,date,pain\nP1,2026-03-01,4\x00\n",                                      # a NUL byte: binary
    b"\xff\xfe" + "patient_id,date,pain\nP1,2026-03-01,4\x00\n".encode("utf-16-le"),      # a NUL in UTF-16 text
    b"\xff\xfe" + "patient_id,date,pain\nP\ud800,2026-03-01,4\n".encode("utf-16-le", "surrogatepass"),
    "patient_id,date,pain\nP\ud800,2026-03-01,4\n".encode("utf-8", "surrogatepass"),     # read as Windows-1252
], ids=["nul", "utf-16 nul", "utf-16 surrogate", "utf-8 encoded surrogate"])
def test_a_csv_never_brings_a_nul_or_a_lone_surrogate(raw):
    """The CSV readers need no text check of their own (dashboard/text_rules.py): decoding refuses both."""
    from dashboard.text_rules import unstorable

    try:
        parsed = parse_diary_csv(raw, "d.csv", today=TODAY)
    except FileRefused as refused:
        assert not unstorable(str(refused))
        return
    texts = [r.patient_ref for r in parsed.diary] + [v for r in parsed.refused for v in (r.value, r.reason, r.column)]
    assert not any(unstorable(t) for t in texts)

"""The suggester, version 2 (import-formats.md, "Version 3"): Unix times by magnitude, two-digit
years, header-less files, hour and minute columns, placeholder words, packed ratings and "N mg"
patterns proposed from a file's contents; a column of words never mapped to a number without
numbers; and every suggestion saves unedited, on every public CSV, with its open questions. The
save and a dry run go through the use cases, on both databases."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from dashboard.access import may_import
from dashboard.actors import Operator, User
from dashboard.db.models import AuditEvent
from dashboard.db.session import session_scope
from dashboard.ingest.profiles import parse_with_profile, suggest_mapping, validate_profile
from dashboard.ingest.records import FileRefused
from dashboard.usecases import NotAllowed, imports, run
from tests.hypothesis_profiles import examples

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 1)
OPERATOR = Operator("cli:test")


def suggested(text: str, name: str = "export.csv"):
    found = suggest_mapping(text.encode(), name)
    validate_profile(found.profile)  # always: the suggestion saves as it is
    return found


def entries(text: str, profile: dict, name: str = "export.csv"):
    parsed = parse_with_profile(text.encode(), name, profile, patient_ref="P1", today=TODAY)
    assert not parsed.refused, parsed.refused
    return parsed.diary


def asked(found) -> dict:
    return {q["column"]: q for q in found.questions}


def test_unix_milliseconds_are_found_by_their_size_and_the_zone_is_asked_for():
    text = "timestampUnixMs,systolic,diastolic,pulse\n1764579600000,130,85,70\n1764666000000,125,80,n/a\n"
    found = suggested(text)
    p = found.profile
    assert (p["date_column"], p["date_format"]) == ("timestampUnixMs", "unix_ms")
    assert p["columns"] == {"systolic": "bp_systolic", "diastolic": "bp_diastolic", "pulse": None}
    assert "give the patient's time zone" in asked(found)["timestampUnixMs"]["question"]
    assert [e.recorded_at for e in entries(text, p)] == [datetime(2025, 12, 1, 9, 0), datetime(2025, 12, 2, 9, 0)]


@pytest.mark.parametrize(("value", "layout"), [("1764579600", "unix_s"), ("1764579600000", "unix_ms")])
def test_unix_seconds_or_milliseconds_by_magnitude(value, layout):
    assert suggested(f"t,pain\n{value},5\n").profile["date_format"] == layout


def test_numbers_that_are_not_times_are_not_taken_for_unix_times():
    found = suggested("id,date,pain\n123456789,2026-03-01,5\n")
    assert (found.profile["date_column"], found.profile["date_format"]) == ("date", "%Y-%m-%d")


def test_two_digit_years_are_recognised():
    found = suggested("Date,Pain Level (0-10)\n3/14/26,5\n3/15/26,4\n")
    assert found.profile["date_format"] == "%m/%d/%y"
    assert [e.recorded_at.date() for e in entries("Date,Pain\n3/14/26,5\n", {**found.profile, "columns": {
        "Pain": "pain"}})] == [date(2026, 3, 14)]


def test_an_iso_time_ending_plus_0000_keeps_its_offset():
    found = suggested("time,pain\n2026-03-01T10:00:00+0000,5\n")
    assert found.profile["date_format"] == "%Y-%m-%dT%H:%M:%S%z"
    assert entries("time,pain\n2026-03-01T10:00:00+0000,5\n", found.profile)[0].utc_offset_minutes == 0


def test_a_header_less_daylio_export_keeps_its_first_row():
    text = ('2021-09-28,28 September,Tuesday,10:00 pm,good,"clean | music","",""\n'
            '2021-09-27,27 September,Monday,11:00 pm,rad,"stressed","","x"\n')
    found = suggested(text, "daylio.csv")
    p = found.profile
    assert (p["header"], p["date_column"], p["time_column"], p["columns"]["column 5"]) == (
        False, "column 1", "column 4", "mood")
    assert p["value_maps"] == {"mood": {"good": 7.5, "rad": 10.0}}
    assert asked(found)[None]["question"].startswith("Ignored unless you map them")
    assert "The first row holds data" in found.questions[0]["question"]
    assert [e.recorded_at for e in entries(text, p, "daylio.csv")] == [
        datetime(2021, 9, 27, 23, 0), datetime(2021, 9, 28, 22, 0)]


def test_a_file_with_a_header_is_read_with_it():
    assert suggested("date,pain\n2026-03-01,5\n").profile["header"] is True


def test_hour_and_minute_columns_are_joined_so_a_days_entries_stay_apart():
    text = "Date,Day of Week,Hour,Minute,Level\n2026-03-01,Sunday,9,5,6\n2026-03-01,Sunday,21,30,4\n"
    p = suggested(text).profile
    assert p["time_parts"] == {"hour": "Hour", "minute": "Minute"}
    assert len(entries(text, p)) == 2


def test_placeholders_in_number_columns_are_not_recorded():
    text = "date,pain,mood\n2026-03-01,?,5\n2026-03-02,4,null\n2026-03-03,missing,6\n"
    p = suggested(text).profile
    assert {"null", "?", "missing"} <= set(p["not_recorded"])
    assert p["columns"] == {"pain": "pain", "mood": "mood"}
    assert [e.measures for e in entries(text, p)] == [{"mood": 5.0}, {"pain": 4.0}, {"mood": 6.0}]


def test_a_packed_rating_is_proposed_with_its_label():
    text = ('date,pain,scales\n2026-03-01,5,"Sleep Quality: 8/10 points | Sleep Time: 8:00"\n'
            '2026-03-02,4,"Sleep Quality: 6/10 points | Sleep Time: 7:00"\n')
    found = suggested(text)
    assert found.profile["columns"]["scales"] == "sleep"
    assert "label" in found.profile["rules"]["scales"]
    assert [e.measures["sleep"] for e in entries(text, found.profile)] == [8.0, 6.0]
    assert asked(found)["scales"]["values"][0] == "Sleep Quality: 8/10 points | Sleep Time: 8:00"


def test_a_packed_rating_out_of_5_is_converted_to_0_10():
    text = 'date,pain,daily\n2026-03-01,5,"Mood: 4/5 | Weather: sunny"\n2026-03-02,5,"Mood: 2/5"\n'
    p = suggested(text).profile
    assert (p["columns"]["daily"], p["scale"]) == ("mood", {"mood": {"from": [0.0, 5.0], "to": [0.0, 10.0]}})
    assert [e.measures["mood"] for e in entries(text, p)] == [8.0, 4.0]


def test_a_packed_rating_of_an_unknown_label_is_asked_about_not_mapped():
    found = suggested('date,pain,daily\n2026-03-01,5,"Energy: 4/5"\n')
    assert found.profile["columns"]["daily"] is None
    assert "packs ratings ('Energy: N/5')" in asked(found)["daily"]["question"]


def test_ketamine_doses_in_mg_are_summed_by_a_pattern():
    text = 'date,pain,Ketamine\n2026-03-01,5,"25 mg, 25 mg"\n2026-03-02,4,[]\n'
    found = suggested(text)
    assert (found.profile["columns"]["Ketamine"], list(found.profile["rules"]["Ketamine"])) == ("dose_mg", ["pattern"])
    assert [e.measures.get("dose_mg") for e in entries(text, found.profile)] == [50.0, None]


def test_doses_in_mg_of_another_drug_are_never_taken_for_ketamine():
    found = suggested('date,pain,Medication\n2026-03-01,5,"Ibuprofen 400 mg"\n')
    assert found.profile["columns"]["Medication"] == "other_medication"
    assert "do not say ketamine" in asked(found)["Medication"]["question"]


def test_a_column_of_words_is_never_mapped_to_a_number_without_numbers():
    """Privacy Friendly Pain Diary's 'Pain nature' and 'Times of pain' are words, though named 'pain'."""
    text = ('"Date","Pain Level (0-10)","Pain nature","Times of pain"\n'
            '"3/14/26","5","stabbing, dull","morning, evening"\n"3/15/26","4","dull","evening"\n')
    found = suggested(text)
    assert found.profile["columns"] == {"Pain Level (0-10)": "pain", "Pain nature": None, "Times of pain": None}
    assert found.profile["value_maps"] == {}
    question = asked(found)["Pain nature"]
    assert question["values"] == ["stabbing, dull", "dull"]
    assert "holds words, not numbers: to read it as pain, give each word a number" in question["question"]


def test_a_file_without_a_date_still_saves_and_says_so():
    found = suggested("mood,activity\nsad,walk\n")
    assert "No column reads as a date" in asked(found)["activity"]["question"]


def _public_csvs() -> list[Path]:
    shared = REPO.parent / "shared" / "data"
    if not shared.exists():
        shared = Path("/work/shared/data")
    return sorted({*(REPO / "tests/data/real").rglob("*.csv"), *shared.rglob("*.csv")})


@pytest.mark.parametrize("path", _public_csvs(), ids=lambda p: p.name)
def test_every_public_csv_gets_a_suggestion_that_saves_unedited_and_dry_runs(path, sqlite_url):
    """The suggestion validates, is saved through the use case as it is, and a dry run of the file
    with it reports an outcome; its open questions name a column (or none) and list values."""
    raw = path.read_bytes()
    found = run(imports.suggest_mapping, OPERATOR, raw, path.name, url=sqlite_url)
    run(imports.save_mapping_profile, OPERATOR, "suggested", found.profile, replace=False, url=sqlite_url)
    report = imports.import_file(OPERATOR, raw, path.name, url=sqlite_url, dry_run=True, profile_name="suggested",
                                 patient_ref="P1")
    assert report.status in ("would-import", "refused", "nothing-to-import"), report
    for q in found.questions:
        assert set(q) == {"column", "question", "values"} and q["question"]
        assert q["column"] is None or q["column"] in found.table.header


def test_public_csvs_are_found(shared_dir):
    assert len(_public_csvs()) >= 5


def test_a_suggestion_saved_and_imported_through_the_use_cases(db_url):
    """A blood-pressure app's export with Unix-millisecond times: suggested, given the patient's zone,
    saved and imported; importing again adds nothing."""
    raw = b"timestampUnixMs,systolic,diastolic\n1764579600000,130,85\n1764666000000,125,80\n"
    found = run(imports.suggest_mapping, OPERATOR, raw, "bp.csv", url=db_url)
    run(imports.save_mapping_profile, OPERATOR, "bp app", {**found.profile, "timezone": "Europe/Berlin"},
        replace=False, url=db_url)
    preview = run(imports.preview_mapping, OPERATOR, raw, "bp.csv", {**found.profile, "timezone": "Europe/Berlin"},
                  patient_ref="BP-1", url=db_url)
    assert not preview.problems
    assert preview.rows[["file row", "date", "time", "UTC offset", "bp_systolic"]].values.tolist() == [
        [2, "2025-12-01", "10:00", "+01:00", 130.0], [3, "2025-12-02", "10:00", "+01:00", 125.0]]
    done = imports.import_file(OPERATOR, raw, "bp.csv", url=db_url, profile_name="bp app", patient_ref="BP-1")
    assert (done.status, done.entries_added) == ("imported", 2)
    again = imports.import_file(OPERATOR, raw, "bp.csv", url=db_url, profile_name="bp app", patient_ref="BP-1")
    assert (again.status, again.entries_added) == ("already-imported", 0)


@pytest.mark.parametrize("use_case", ["suggest_mapping", "preview_mapping"])
def test_mapping_a_file_is_for_those_who_import_and_a_refusal_is_audited(sqlite_url, use_case):
    auditor = User(7, "aud", "Auditor", "auditor")  # a role outside access.IMPORT_ROLES
    assert not may_import(auditor)
    extra = ({"layout": "wide", "columns": {"pain": "pain"}, "date_column": "date", "date_format": "%Y-%m-%d"},) \
        if use_case == "preview_mapping" else ()
    with pytest.raises(NotAllowed):
        run(getattr(imports, use_case), auditor, b"date,pain\n2026-03-01,5\n", "x.csv", *extra, url=sqlite_url)
    with session_scope(sqlite_url) as session:
        row = session.execute(select(AuditEvent.actor, AuditEvent.action, AuditEvent.outcome)).one()
    assert tuple(row) == ("aud", "import", "denied")


def test_in_a_list_of_drugs_only_ketamine_counts():
    text = ('date,pain,Drug Intakes\n2026-03-01,5,"[Ketamine troche 25 mg, Ibuprofen 400 mg]"\n'
            '2026-03-02,4,"[KETAMIN 12.5 MG; Ketamine 12.5mg]"\n')
    p = suggested(text).profile
    assert p["columns"]["Drug Intakes"] == "dose_mg"
    assert [e.measures["dose_mg"] for e in entries(text, p)] == [25.0, 25.0]


# Any file the suggester can read gets a suggestion that validates (found by fuzzing: a day column
# also taken as the fallback date, severity words given an empty value map, a nameless first column).
_CELLS = ["2026-03-01", "3/14/26", "14.03.2026", "1764579600000", "1764579600", "5", "4.5", "null", "-", "n/a", "sad",
          "good", "rad", "Sleep Quality: 8/10", "Mood: 3/5", "25 mg", "Ketamine 25 mg", "Ibuprofen 400 mg", "", "9",
          "30", "10:00 pm", "0930", "x", "?", "none", "mild", "P1", "99999999999999999999"]
_NAMES = ["date", "time", "pain", "mood", "patient_id", "hour", "minute", "year", "month", "day", "name", "intensity",
          "note", "scales", "Drug", "level", "nausea", "systolic", "region", "value", ""]


@st.composite
def _files(draw) -> bytes:
    width = draw(st.integers(1, 6))
    rows = []
    if draw(st.booleans()):
        rows.append(",".join(draw(st.lists(st.sampled_from(_NAMES), min_size=width, max_size=width,
                                           unique_by=lambda n: n or object()))))
    for _ in range(draw(st.integers(1, 6))):
        rows.append(",".join(draw(st.lists(st.sampled_from(_CELLS), min_size=width, max_size=width))))
    return ("\n".join(rows) + "\n").encode()


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_files())
@example(b"year,day,note,month\nn/a,1764579600,1764579600000,x\n")
@example(b"name,Drug,day,nausea\nKetamine 25 mg,sad,null,1764579600\n5,-,0930,mild\n")
@example(b",good\n,good\nIbuprofen 400 mg,25 mg\n")
@example(b"year,month,day,pain\n2026,3,99999999999999999999,5\n")
def test_any_readable_file_gets_a_suggestion_that_validates_and_reads(raw):
    try:
        found = suggest_mapping(raw, "f.csv")
    except FileRefused:
        return  # not a file the suggester can read: said so, with a row
    validate_profile(found.profile)
    try:
        parse_with_profile(raw, "f.csv", found.profile, patient_ref="P1", today=TODAY)
    except FileRefused:
        pass

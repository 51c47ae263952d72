"""Privacy Friendly Pain Diary export (import-formats.md version 3): files written here in the layout
the app's CsvHelper.java writes (opencsv: every cell quoted, ``""`` inside a cell), never copied
from the app. Through ``import_file`` on both databases, and the command line."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from dashboard.db.models import CoMedication, DiaryEntry
from dashboard.db.session import session_scope
from dashboard.ingest.pain_diary_app import (
    HEADERS,
    Bad,
    looks_like_pain_diary_app,
    parse_date,
    parse_pain_diary_app,
    read_intakes,
)
from dashboard.ingest.records import FileRefused
from dashboard.ingest.service import detect_format
from dashboard.usecases import imports
from dashboard.actors import Operator
from tests.dbdump import assert_only_the_file_kept, dump
from tests.hypothesis_profiles import examples
from tests.test_cli import cli

TODAY = date(2026, 3, 31)
US, ENGLISH, GERMAN = HEADERS
NONE = "[]"


def intake(name: str | None, dose: str, morning=0, noon=0, evening=0, night=0) -> str:
    drug = "" if name is None else f"drug:[name:{name},dose{dose}],"
    return (f"[{drug}quantityMorning:{morning},quantityNoon:{noon},quantityEvening:{evening},"
            f"quantityNight:{night}]")


def intakes(*items: str) -> str:
    """The app's list: every intake followed by a comma, the last one too."""
    return "[" + "".join(item + "," for item in items) + "]"


def export(*rows: tuple, header: tuple = US) -> bytes:
    """Rows as (date, condition, pain, regions, nature, times, intakes, comment), quoted as opencsv does."""
    lines = [header, *rows]
    return "".join(",".join('"' + c.replace('"', '""') + '"' for c in line) + "\n" for line in lines).encode()


def row(day="3/14/26", condition="OKAY", pain="5", regions=NONE, nature=NONE, times=NONE, drugs=NONE, comment=""):
    return (day, condition, pain, regions, nature, times, drugs, comment)


def parse(*rows: tuple, header: tuple = US):
    return parse_pain_diary_app(export(*rows, header=header), "pain_diary.csv", patient_ref="P1", today=TODAY)


KETAMINE = "Ketamine troche"
# (intakes cell, dose_mg or None, other medication text or None)
INTAKE_CASES = [
    pytest.param(NONE, None, None, id="none recorded"),
    pytest.param("", None, None, id="empty cell"),
    pytest.param(intakes(intake(KETAMINE, "25 mg", 1, 0, 1, 0)), 50, None, id="one drug, the issue's example"),
    pytest.param(intakes(intake(KETAMINE, "25mg", 1)), 25, None, id="morning, no space"),
    pytest.param(intakes(intake(KETAMINE, "25mg", noon=1)), 25, None, id="noon"),
    pytest.param(intakes(intake(KETAMINE, "25mg", evening=2)), 50, None, id="evening twice"),
    pytest.param(intakes(intake(KETAMINE, "25mg", night=1)), 25, None, id="night"),
    pytest.param(intakes(intake(KETAMINE, "12.5mg", 1, 1, 1, 1)), 50, None, id="every time of day"),
    pytest.param(intakes(intake(KETAMINE, "12,5 mg", 2)), 25, None, id="decimal comma"),
    pytest.param(intakes(intake(KETAMINE, "0.05g", 1)), 50, None, id="grams"),
    pytest.param(intakes(intake(KETAMINE, "25000mcg", 1)), 25, None, id="micrograms"),
    pytest.param(intakes(intake(KETAMINE, "25 MG", 1)), 25, None, id="unit in capitals"),
    pytest.param(intakes(intake(KETAMINE, "25mg")), 0, None, id="listed but none taken"),
    pytest.param(intakes(intake("ketamine", "10mg", 1)), 10, None, id="lower case, no troche"),
    pytest.param(intakes(intake("KETAMIN", "10mg", 1)), 10, None, id="German name in capitals"),
    pytest.param(intakes(intake("S-Ketamin Lutschtablette", "10mg", 1)), 10, None, id="S-ketamine lozenge"),
    pytest.param(intakes(intake(KETAMINE, "25mg", 1), intake("Ketamine", "10mg", night=1)), 35, None,
                 id="two ketamine drugs summed"),
    pytest.param(intakes(intake("Oxycodone", "5mg", 1, 0, 1)), None, "Oxycodone 5mg × 2", id="another drug"),
    pytest.param(intakes(intake("Vitamin D", "", 1)), None, "Vitamin D × 1", id="another drug without strength"),
    pytest.param(intakes(intake(KETAMINE, "25mg", 1), intake("Ibuprofen", "400mg", 1, 1, 1),
                         intake("Oxycodone", "5mg", night=1)), 25, "Ibuprofen 400mg × 3; Oxycodone 5mg × 1",
                 id="several drugs"),
    pytest.param(intakes(intake(None, "", 1)), None, None, id="an intake without a drug"),
]


@pytest.mark.parametrize(("cell", "dose", "others"), INTAKE_CASES)
def test_intakes(cell, dose, others):
    parsed = parse(row(drugs=cell))
    assert parsed.refused == []
    (entry,) = parsed.diary
    assert entry.measures.get("dose_mg") == (pytest.approx(dose) if dose is not None else None)
    assert entry.measures.get("other_medication") == others
    # Each other drug is also a co-medication of that day, its dose as the entry's text has it.
    assert [f"{m.name} {m.dose_text}" for m in parsed.comedications] == (others.split("; ") if others else [])
    assert {(m.start_date, m.source) for m in parsed.comedications} <= {(date(2026, 3, 14), "pain-diary-app")}


@pytest.mark.parametrize("cell, reason", [
    (intakes(intake(KETAMINE, "25", 1)), "the ketamine strength '25' is not one amount in mg"),
    (intakes(intake(KETAMINE, "", 1)), "the ketamine strength '' is not one amount in mg"),
    (intakes(intake(KETAMINE, "null", 1)), "the ketamine strength 'null' is not one amount in mg"),
    (intakes(intake(KETAMINE, "50mg/ml", 1)), "the ketamine strength '50mg/ml' is not one amount in mg"),
    (intakes(intake(KETAMINE, "25mg2", 1)), "the ketamine strength '25mg2' is not one amount in mg"),
    (intakes(intake(KETAMINE, "500mg", 1, 1, 1)), "the day's ketamine comes to 1500 mg, more than 1000 mg"),
    ("[[drug:[name:Ketamine,dose25mg],quantityMorning:1]]", "intake 1 cannot be read"),
    ("[[drug:[name:Ketamine,dose25mg],quantityMorning:-1,quantityNoon:0,quantityEvening:0,quantityNight:0],]",
     "intake 1 cannot be read"),
    (intakes(intake(KETAMINE, "25mg", 1)) + "x", "not a list of drug intakes"),
    ("Ketamine 25 mg", "not a list of drug intakes"),
    (intakes(intake(KETAMINE, "25mg", 1))[:-1] + "[junk]]", "intake 2 cannot be read"),
    (intakes(intake("", "25mg", 1)), "intake 1: a drug name has 1 to 300 characters"),
])
def test_a_malformed_intake_refuses_its_row_naming_row_column_and_value(cell, reason):
    parsed = parse(row(day="3/13/26", drugs=NONE), row(drugs=cell))
    assert [e.row for e in parsed.diary] == [2]
    (refused,) = parsed.refused
    assert (refused.row, refused.column, refused.value) == (3, "Drug Intakes", cell)
    assert reason in refused.reason


def test_read_intakes_never_gives_zero_for_an_empty_day():
    assert read_intakes(NONE) == (None, []) and read_intakes("") == (None, [])
    with pytest.raises(Bad) as bad:
        read_intakes(intakes(intake("ketamine", "a lot", 1)))
    assert (bad.value.role, bad.value.value) == ("drug_intakes", intakes(intake("ketamine", "a lot", 1)))


@pytest.mark.parametrize("written, day", [
    ("3/2/26", date(2026, 3, 2)),  # US: 2 March
    ("3/2/2026", date(2026, 3, 2)),
    ("12/31/25", date(2025, 12, 31)),
    ("03.02.26", date(2026, 2, 3)),  # German, the same digits: 3 February
    ("3.2.2026", date(2026, 2, 3)),
    ("31.12.2025", date(2025, 12, 31)),
    ("01.01.00", date(2000, 1, 1)),
    ("2026-03-04", date(2026, 3, 4)),
    (" 3/4/26 ", date(2026, 3, 4)),
])
def test_us_and_german_dates(written, day):
    assert parse_date(written, TODAY) == day


@pytest.mark.parametrize("written, reason", [
    ("14/3/26", "month 14 does not exist. A day-first layout (dd/MM/yy) is not read"),
    ("2/30/26", "not a date on the calendar"),
    ("30.02.2026", "not a date on the calendar"),
    ("4/2/26", "the date is after 2026-04-01"),  # two-digit years are 20yy; a future date is refused
    ("1.1.99", "the date is after 2026-04-01"),
    ("3-4-26", "not a date in the app's layouts"),
    ("Mar 4, 2026", "not a date in the app's layouts"),
    ("", "not a date in the app's layouts"),
])
def test_dates_that_are_refused(written, reason):
    parsed = parse(row(day=written))
    (refused,) = parsed.refused
    assert (refused.row, refused.column, refused.value) == (2, "Date", written)
    assert reason in refused.reason and parsed.diary == []


@pytest.mark.parametrize("header", [US, ENGLISH, GERMAN], ids=["fixed", "english", "german"])
def test_detected_from_each_header_the_app_has_written(header):
    raw = export(row(), header=header)
    assert looks_like_pain_diary_app(raw)
    assert detect_format(raw, "export.csv") == "privacy-friendly-pain-diary"
    assert parse(row(), header=header).diary[0].measures == {"mood": 5.0, "pain": 5.0}


@pytest.mark.parametrize("raw", [
    b"Date,Conditions,Pain Level (0-10),Body Regions,Pain nature,Times of pain,Drug Intakes,Comment\n",  # unquoted
    b'"date","conditions","pain level (0-10)","body regions","pain nature","times of pain","drug intakes","comment"\n',
], ids=["unquoted", "lower case"])
def test_detection_is_by_the_header_names_not_their_quoting_or_case(raw):
    assert looks_like_pain_diary_app(raw)


@pytest.mark.parametrize("raw", [
    b"Date,Conditions,Pain Level (0-10),Body Regions,Pain nature,Times of pain,Drug Intakes\n",  # a column short
    b"Date,Conditions,Pain Level (0-10),Body Regions,Pain nature,Times of pain,Drug Intakes,Comment,Extra\n",
    b"patient_id,date,pain\n",
    b"date,date formatted,weekday,time of day,category,rating/amount,detail,notes\n",
    b"",
])
def test_other_headers_are_not_this_format(raw):
    assert not looks_like_pain_diary_app(raw)


@pytest.mark.parametrize("condition, mood", [("VERY_BAD", 0.0), ("BAD", 2.5), ("OKAY", 5.0), ("GOOD", 7.5),
                                             ("VERY_GOOD", 10.0)])
def test_conditions_are_mood_on_the_apps_five_steps(condition, mood):
    assert parse(row(condition=condition, pain="")).diary[0].measures == {"mood": mood}


@pytest.mark.parametrize("column, cell, reason", [
    ("Conditions", "FINE", "not one of the app's conditions"),
    ("Pain Level (0-10)", "11", "the pain level must be between 0 and 10"),
    ("Pain Level (0-10)", "-1", "the pain level must be between 0 and 10"),
    ("Pain Level (0-10)", "high", "the pain level is not a number"),
])
def test_bad_cells_are_refused_with_row_column_and_value(column, cell, reason):
    cells = dict(zip(US, row()))
    cells[column] = cell
    parsed = parse(tuple(cells.values()))
    (refused,) = parsed.refused
    assert (refused.row, refused.column, refused.value) == (2, column, cell) and reason in refused.reason


def test_the_refusal_names_the_column_as_the_german_header_writes_it():
    (refused,) = parse(row(day="14/3/26"), header=GERMAN).refused
    assert refused.column == "Datum"


def test_text_lists_are_labelled_lines_after_the_comment():
    (entry,) = parse(row(regions="[HEAD, LOWER_LEG_LEFT_BACK]", nature="[stabbing, dull]",
                         times="[morning, at night]", comment='slept "badly",\nwoke at 3')).diary
    assert entry.measures["notes"] == ('slept "badly",\nwoke at 3\nBody regions: head, lower leg left (back)\n'
                                       "Pain nature: stabbing, dull\nTimes of pain: morning, at night")


def test_a_row_with_only_text_is_counted_not_imported():
    parsed = parse(row(condition="", pain="", comment="just a note"), row(day="3/15/26", condition="", pain=""))
    assert parsed.diary == [] and parsed.refused == []
    assert parsed.ignored == {"an entry with only text (no pain, condition or drug intake)": 1, "an empty entry": 1}


def test_the_entry_is_a_day_without_a_time_for_the_patient_named_at_import():
    (entry,) = parse(row(day="3/14/26")).diary
    assert (entry.patient_ref, entry.recorded_at, entry.has_time, entry.row) == ("P1", datetime(2026, 3, 14), False, 2)


@pytest.mark.parametrize("patient_ref", [None, "", "  "])
def test_the_patient_must_be_named(patient_ref):
    with pytest.raises(FileRefused) as refused:
        parse_pain_diary_app(export(row()), "pain_diary.csv", patient_ref=patient_ref, today=TODAY)
    assert refused.value.refused.column == "patient" and "names no patient" in refused.value.refused.reason


def test_extra_cells_are_refused():
    parsed = parse(row() + ("stray",))
    assert [(r.row, r.column, r.value) for r in parsed.refused] == [(2, "column 9", "stray")]


# Pieces the app writes, and pieces that break its layout, for cells built at random.
PIECES = st.sampled_from(["[", "]", ",", ":", "drug:", "[name:", "dose", "quantityMorning:", "quantityNoon:",
                          "quantityEvening:", "quantityNight:", "Ketamine", "ketamin", "25mg", "0.5g", "1", "-1",
                          "null", '"', "\n", "/", ".", "26", "2026", "VERY_GOOD", "\u00e9", " "])
CELL = st.lists(PIECES, max_size=12).map("".join) | st.text(max_size=30)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(*[CELL] * 8), max_size=4))
def test_any_cells_give_records_or_refusals_naming_row_and_column_never_another_error(rows):
    try:
        parsed = parse(*rows)
    except FileRefused as refused:  # a control character: not a text file at all
        assert refused.refused.reason.startswith("this is not a text CSV file")
        return
    for refused in parsed.refused:
        assert isinstance(refused.row, int) and refused.row >= 2 and refused.column and refused.reason
    for entry in parsed.diary:
        assert entry.measures.get("dose_mg") is None or 0 <= entry.measures["dose_mg"] <= 1000


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([KETAMINE, "ketamine", "Oxycodone", "Vitamin D"]),
                          st.sampled_from(["25mg", "12.5 mg", "0.01g", "5mg"]),
                          *[st.integers(0, 3)] * 4), max_size=4))
def test_an_intake_list_the_app_writes_always_reads_back_to_its_sum(drugs):
    cell = intakes(*(intake(name, dose, *quantities) for name, dose, *quantities in drugs))
    dose, others = read_intakes(cell)
    mg = {"25mg": 25, "12.5 mg": 12.5, "0.01g": 10, "5mg": 5}
    ketamine = [mg[d] * sum(q) for name, d, *q in drugs if "etamin" in name]
    assert dose == (pytest.approx(sum(ketamine)) if ketamine else None)
    assert [(o.name, o.quantity) for o in others] == [(n, sum(q)) for n, _, *q in drugs if "etamin" not in n]


# ---------------------------------------------------------------- whole files, stored

def _us_export() -> bytes:
    return export(
        row("3/10/26", "BAD", "7", "[HEAD]", "[throbbing]", "[morning]",
            intakes(intake(KETAMINE, "25mg", 1, 0, 1, 0), intake("Oxycodone", "5mg", 1)), "bad night"),
        row("3/11/26", "OKAY", "5", drugs=intakes(intake(KETAMINE, "25mg", 1, 1, 1, 0))),
        row("3/12/26", "GOOD", "4", drugs=NONE, comment='felt "ok", walked'),
    )


def _german_export() -> bytes:
    return export(
        row("10.03.26", "BAD", "6", drugs=intakes(intake("Ketamin", "0.025g", 2))),
        row("11.03.2026", "VERY_GOOD", "2", drugs=intakes(intake("Ibuprofen", "400mg", 0, 1), intake("Ketamin", "12,5mg", 1))),
        header=GERMAN)


def stored(url: str) -> tuple[list, list]:
    with session_scope(url) as session:
        entries = [(e.recorded_at.date(), e.pain, e.mood, e.dose_mg, e.other_medication, e.notes)
                   for e in session.scalars(select(DiaryEntry).order_by(DiaryEntry.recorded_at))]
        comedications = [(m.name, m.start_date, m.dose_text, m.drug_class, m.source)
                         for m in session.scalars(select(CoMedication))]
    return entries, comedications


def test_a_us_export_imports_through_the_use_case_and_re_import_changes_nothing(db_url):
    raw = _us_export()
    report = imports.import_file(Operator("test"), raw, "pain_diary.csv", url=db_url, patient_ref="PFPD-1", today=TODAY)
    assert (report.status, report.format, report.refused_rows, report.entries_added) == (
        "imported", "privacy-friendly-pain-diary", [], 3)
    entries, comedications = stored(db_url)
    assert entries == [
        (date(2026, 3, 10), 7, 2.5, 50, "Oxycodone 5mg × 1", "bad night\nBody regions: head\n"
                                                             "Pain nature: throbbing\nTimes of pain: morning"),
        (date(2026, 3, 11), 5, 5, 75, None, None),
        (date(2026, 3, 12), 4, 7.5, None, None, 'felt "ok", walked'),
    ]
    assert comedications == [("Oxycodone", date(2026, 3, 10), "5mg × 1", "opioid", "pain-diary-app")]
    before = dump(db_url, skip=("audit_event",))
    again = imports.import_file(Operator("test"), raw, "pain_diary.csv", url=db_url, patient_ref="PFPD-1", today=TODAY)
    assert (again.status, again.entries_added, again.conflicts) == ("already-imported", 0, [])
    assert_only_the_file_kept(db_url, before, raw=raw, status="already-imported")


def test_a_german_export_imports_and_a_changed_day_is_a_conflict_not_an_overwrite(db_url):
    raw = _german_export()
    report = imports.import_file(Operator("test"), raw, "schmerztagebuch.csv", url=db_url, patient_ref="PFPD-2",
                                 today=TODAY)
    assert (report.status, report.entries_added) == ("imported", 2)
    entries, _ = stored(db_url)
    assert [(e[0], e[3], e[4]) for e in entries] == [(date(2026, 3, 10), 50, None),
                                                      (date(2026, 3, 11), 12.5, "Ibuprofen 400mg × 1")]
    changed = raw.replace(b'"6"', b'"8"')
    conflict = imports.import_file(Operator("test"), changed, "schmerztagebuch.csv", url=db_url, patient_ref="PFPD-2",
                                   today=TODAY)
    assert conflict.status == "refused" and len(conflict.conflicts) == 1
    assert stored(db_url)[0] == entries


def test_a_bad_row_refuses_the_file_as_one_transaction(db_url):
    raw = export(row("3/10/26"), row("3/11/26", drugs=intakes(intake(KETAMINE, "25", 1))))
    before = dump(db_url, skip=("audit_event",))
    report = imports.import_file(Operator("test"), raw, "pain_diary.csv", url=db_url, patient_ref="PFPD-3", today=TODAY)
    assert report.status == "refused"
    assert [(r["row"], r["column"], r["value"]) for r in report.refused_rows] == [
        (3, "Drug Intakes", intakes(intake(KETAMINE, "25", 1)))]
    assert_only_the_file_kept(db_url, before, raw=raw, status="refused")


def test_the_command_line_imports_an_export_then_re_import_changes_nothing(db_url, tmp_path):
    path = tmp_path / "pain_diary.csv"
    raw = export(row("3/10/26", drugs=intakes(intake(KETAMINE, "25mg", 1, 0, 1))), row("11.03.26", pain="3"))
    path.write_bytes(raw)
    first = cli(db_url, "import", str(path), "--patient", "PFPD-4", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["status"], report["format"], report["patients"], report["entries_added"]) == (
        "imported", "privacy-friendly-pain-diary", ["PFPD-4"], 2)
    again = json.loads(cli(db_url, "import", str(path), "--patient", "PFPD-4", "--json").stdout)
    assert (again["status"], again["entries_added"]) == ("already-imported", 0)
    assert [(e[0], e[3]) for e in stored(db_url)[0]] == [(date(2026, 3, 10), 50), (date(2026, 3, 11), None)]
    unnamed = cli(db_url, "import", str(path), "--json")
    assert unnamed.returncode == 1 and "names no patient" in unnamed.stdout

"""The native diary CSV, rule by rule (import-formats.md section 1)."""

from datetime import date, datetime

import pytest

from dashboard.ingest.diary_csv import parse_diary_csv
from dashboard.ingest.records import FileRefused

TODAY = date(2026, 3, 10)


def diary(header: str, *rows: str, patient_ref: str | None = "P1", encoding: str = "utf-8", newline: str = "\n"):
    raw = newline.join([header, *rows, ""]).encode(encoding)
    return parse_diary_csv(raw, "diary.csv", patient_ref=patient_ref, today=TODAY)


def only_entry(parsed):
    assert parsed.refused == []
    assert len(parsed.diary) == 1
    return parsed.diary[0]


def refusals(parsed):
    return [(r.row, r.column, r.value) for r in parsed.refused]


@pytest.mark.parametrize(
    ("text", "recorded_at", "offset", "has_time"),
    [
        ("2026-03-01", datetime(2026, 3, 1), None, False),
        ("2026-03-01T21:30", datetime(2026, 3, 1, 21, 30), None, True),
        ("2026-03-01 21:30", datetime(2026, 3, 1, 21, 30), None, True),
        ("2026-03-01 21:30:15", datetime(2026, 3, 1, 21, 30, 15), None, True),
        ("2026-03-01T21:30:00+01:00", datetime(2026, 3, 1, 21, 30), 60, True),
        ("2026-03-01T21:30-05:30", datetime(2026, 3, 1, 21, 30), -330, True),
        ("2026-03-01T21:30:00Z", datetime(2026, 3, 1, 21, 30), 0, True),
        ("2026-03-01T23:30:00.250+14:00", datetime(2026, 3, 1, 23, 30, 0, 250000), 840, True),
        (" 2026-03-10T23:59 ", datetime(2026, 3, 10, 23, 59), None, True),  # today is not the future
    ],
)
def test_iso_8601_times_keep_the_patients_wall_clock_and_offset(text, recorded_at, offset, has_time):
    entry = only_entry(diary("date,pain", f"{text},5"))
    assert (entry.recorded_at, entry.utc_offset_minutes, entry.has_time) == (recorded_at, offset, has_time)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("03/01/2026", "not an ISO 8601"),
        ("1.3.2026", "not an ISO 8601"),
        ("2026-3-1", "not an ISO 8601"),
        ("2026/03/01", "not an ISO 8601"),
        ("20260301", "not an ISO 8601"),
        ("March 1 2026", "not an ISO 8601"),
        ("2026-03-01T21", "not an ISO 8601"),
        ("2026-03-01T9:30", "not an ISO 8601"),
        ("2026-03-01 09:30 PM", "not an ISO 8601"),
        ("2026-03-01T21:30+0100", "not an ISO 8601"),
        ("2026-02-30", "not a date and time on the calendar"),
        ("2026-03-01T24:00", "not a date and time on the calendar"),
        ("2026-03-01T21:30+15:00", "not a UTC offset"),
        ("2026-03-01T21:30+01:60", "not a UTC offset"),
        # Tomorrow is still a diary day where the patient lives; the day after is not (dashboard.fields).
        ("2026-03-12", "the date is after 2026-03-11"),
        ("2026-03-12T00:00+14:00", "the date is after 2026-03-11"),
        ("1899-12-31", "the date is before 1900-01-01"),
        ("0001-01-01", "the date is before 1900-01-01"),
        ("9999-12-31T23:59:59.999999", "the date is after 2026-03-11"),
        ("", "the date is empty"),
    ],
)
def test_anything_but_iso_8601_or_a_future_date_is_refused_never_guessed(text, reason):
    parsed = diary("date,pain", f"{text},5")
    assert parsed.diary == []
    assert refusals(parsed) == [(2, "date", text)]
    assert reason in parsed.refused[0].reason


def test_timestamp_column_is_the_same_as_date():
    assert only_entry(diary("Timestamp,Pain", "2026-03-01T08:00,5")).recorded_at == datetime(2026, 3, 1, 8)


SCALES = ["pain", "pain_worst", "sleep", "mood", "function", "enjoyment_interference", "activity_interference", "peg"]


@pytest.mark.parametrize(
    ("column", "text", "value"),
    [*((c, "0", 0.0) for c in SCALES), *((c, "10", 10.0) for c in SCALES), *((c, "6.5", 6.5) for c in SCALES),
     ("pain", "0.059874385741699676", 0.059874385741699676),
     ("dose_mg", "0", 0.0), ("dose_mg", "1000", 1000.0), ("dose_mg", "37.5", 37.5)],
)
def test_measures_accept_their_whole_range(column, text, value):
    assert only_entry(diary(f"date,{column}", f"2026-03-01,{text}")).measures == {column: value}


@pytest.mark.parametrize(
    ("column", "text"),
    [*((c, "-0.1") for c in SCALES), *((c, "10.1") for c in SCALES), ("pain", "11"), ("pain", "seven"),
     ("pain", "5/10"), ("pain", "nan"), ("dose_mg", "-1"), ("dose_mg", "1000.5"), ("dose_mg", "25mg")],
)
def test_measures_outside_their_range_are_refused(column, text):
    parsed = diary(f"date,{column}", f"2026-03-01,{text}")
    assert refusals(parsed) == [(2, column, text)]
    assert parsed.refused[0].reason.startswith(f"{column} must be a number from 0 to")


@pytest.mark.parametrize(
    ("text", "grade"),
    [("0", 0), ("1", 1), ("2", 2), ("3", 3), ("2.0", 2), ("none", 0), ("Mild", 1), ("MODERATE", 2), (" severe ", 3)],
)
@pytest.mark.parametrize("effect", ["dizziness", "nausea", "brain_fog", "dissociation", "drowsiness", "bladder"])
def test_side_effects_are_graded_0_to_3_as_numbers_or_words(effect, text, grade):
    entry = only_entry(diary(f"date,{effect}", f"2026-03-01,{text}"))
    assert entry.side_effects == {effect: grade}
    assert entry.measures == {}


@pytest.mark.parametrize("text", ["4", "-1", "1.5", "very bad", "extremely severe", "yes"])
def test_side_effect_grades_outside_0_to_3_are_refused(text):
    parsed = diary("date,nausea", f"2026-03-01,{text}")
    assert refusals(parsed) == [(2, "nausea", text)]
    assert "0 (none), 1 (mild), 2 (moderate) or 3 (severe)" in parsed.refused[0].reason


@pytest.mark.parametrize(
    ("systolic", "diastolic"), [("60", "30"), ("260", "160"), ("120", "80"), ("161", "160"), ("120.5", "79.5")],
)
def test_blood_pressure_edges_accepted(systolic, diastolic):
    entry = only_entry(diary("date,bp_systolic,bp_diastolic", f"2026-03-01,{systolic},{diastolic}"))
    assert entry.measures == {"bp_systolic": float(systolic), "bp_diastolic": float(diastolic)}


@pytest.mark.parametrize(
    ("systolic", "diastolic", "expected", "reason"),
    [
        ("59", "40", [(2, "bp_systolic", "59")], "60 to 260 mmHg"),
        ("261", "80", [(2, "bp_systolic", "261")], "60 to 260 mmHg"),
        ("120", "29", [(2, "bp_diastolic", "29")], "30 to 160 mmHg"),
        ("200", "161", [(2, "bp_diastolic", "161")], "30 to 160 mmHg"),
        ("120", "", [(2, "bp_diastolic", "")], "both systolic and diastolic"),
        ("", "80", [(2, "bp_systolic", "")], "both systolic and diastolic"),
        ("120", "120", [(2, "bp_diastolic", "120")], "below systolic"),
        ("80", "120", [(2, "bp_diastolic", "120")], "below systolic"),
    ],
)
def test_blood_pressure_both_or_neither_and_diastolic_below_systolic(systolic, diastolic, expected, reason):
    parsed = diary("date,pain,bp_systolic,bp_diastolic", f"2026-03-01,5,{systolic},{diastolic}")
    assert refusals(parsed) == expected
    assert reason in parsed.refused[0].reason
    assert parsed.diary == []


def test_an_empty_cell_means_not_recorded_never_zero():
    entry = only_entry(diary(
        "date,pain,sleep,mood,nausea,bp_systolic,bp_diastolic,other_medication,notes",
        "2026-03-01,5,,  ,,,,,",
    ))
    assert entry.measures == {"pain": 5.0}
    assert entry.side_effects == {}


@pytest.mark.parametrize(
    ("header", "row"),
    [("date,pain,sleep", "2026-03-01,,"), ("date,pain,notes", "2026-03-01,,only a note"),
     ("date,other_medication", "2026-03-01,oxycodone 10 mg"), ("date,pain", "2026-03-01")],
)
def test_a_row_with_a_date_and_no_measure_is_refused(header, row):
    parsed = diary(header, row)
    assert parsed.diary == []
    assert len(parsed.refused) == 1
    assert parsed.refused[0].row == 2
    assert "no measure recorded" in parsed.refused[0].reason


def test_texts_are_kept_as_written():
    row = '2026-03-01,5,oxycodone 10 mg," slept badly, again\n"'
    entry = only_entry(diary("date,pain,other_medication,notes", row))
    assert entry.measures == {"pain": 5.0, "other_medication": "oxycodone 10 mg", "notes": " slept badly, again\n"}


@pytest.mark.parametrize(("length", "accepted"), [(5000, True), (5001, False)])
def test_notes_have_at_most_5000_characters(length, accepted):
    parsed = diary("date,pain,notes", f"2026-03-01,5,{'x' * length}")
    assert len(parsed.diary) == (1 if accepted else 0)
    if not accepted:
        assert [(r.row, r.column) for r in parsed.refused] == [(2, "notes")]
        assert "at most 5,000 characters" in parsed.refused[0].reason


@pytest.mark.parametrize(
    ("cell", "stored"),
    [("'=HYPERLINK(\"x\")", '=HYPERLINK("x")'), ("'+33 6 12", "+33 6 12"), ("'-2 mg", "-2 mg"), ("'@me", "@me"),
     ("'hello", "'hello"), ("''=x", "'=x"), ("=1+1", "=1+1")],
)
def test_the_leading_quote_that_neutralised_a_formula_is_removed(cell, stored):
    quoted = '"' + cell.replace('"', '""') + '"'
    entry = only_entry(diary("date,pain,other_medication,notes", f"2026-03-01,5,{quoted},{quoted}"))
    assert entry.measures["notes"] == entry.measures["other_medication"] == stored


@pytest.mark.parametrize(
    ("header", "values", "recorded"),
    [("Date, PAIN ", "2026-03-01,2", {"pain": 2.0}),
     ("date,Pain-Worst", "2026-03-01,2", {"pain_worst": 2.0}),
     ("date,Brain fog", "2026-03-01,2", {"brain_fog": 2}),
     (" DATE ,BP Systolic,bp-diastolic", "2026-03-01,120,80", {"bp_systolic": 120.0, "bp_diastolic": 80.0}),
     ("date,Enjoyment Interference", "2026-03-01,2", {"enjoyment_interference": 2.0}),
     ("Patient ID,date,PEG", "P1,2026-03-01,2", {"peg": 2.0})],
)
def test_headers_match_ignoring_case_spaces_and_hyphens(header, values, recorded):
    entry = only_entry(diary(header, values))
    assert {**entry.measures, **entry.side_effects} == recorded


@pytest.mark.parametrize(
    ("header", "rows", "delimiter_name"),
    [
        ("date;pain;sleep", ["2026-03-01;6,5;7,25"], "semicolon"),
        ("date\tpain\tsleep", ["2026-03-01\t6,5\t7,25"], "tab"),
        ("date,pain,sleep", ['2026-03-01,6.5,7.25'], "comma"),
        ("date;pain;sleep", ["2026-03-01;6.5;7.25"], "semicolon with points"),
    ],
)
def test_delimiters_and_decimal_comma(header, rows, delimiter_name):
    assert only_entry(diary(header, *rows)).measures == {"pain": 6.5, "sleep": 7.25}, delimiter_name


def test_a_decimal_comma_in_a_comma_separated_file_is_refused_with_the_reason():
    parsed = diary("date,pain", '2026-03-01,"6,5"')
    assert refusals(parsed) == [(2, "pain", "6,5")]


@pytest.mark.parametrize(
    ("raw", "notes"),
    [
        ("date,pain,notes\r\n2026-03-01,5,café\r\n".encode("cp1252"), "café"),
        ("date,pain,notes\n2026-03-01,5,café\n".encode("utf-8"), "café"),
        ("\ufeffDate,pain,notes\n2026-03-01,5,café\n".encode("utf-8"), "café"),
        ("date;pain;notes\r\n2026-03-01;5;Schmerz \u20ac \u201egut\u201c\r\n".encode("cp1252"), "Schmerz € „gut“"),
    ],
)
def test_encodings_utf8_bom_and_windows_1252(raw, notes):
    parsed = parse_diary_csv(raw, "diary.csv", patient_ref="P1", today=TODAY)
    assert only_entry(parsed).measures["notes"] == notes


def test_unknown_columns_are_ignored_with_the_rows_that_had_a_value():
    parsed = diary("date,pain,Weather,mood score,", "2026-03-01,5,rain,7,", "2026-03-02,4,,6,", "2026-03-03,3,sun,,")
    assert len(parsed.diary) == 3
    assert parsed.refused == []
    assert parsed.ignored == {"column 'Weather'": 2, "column 'mood score'": 2}


def test_cells_beyond_the_header_refuse_the_row():
    parsed = diary("date,pain,notes", "2026-03-01,5,tired, very tired", "2026-03-02,4,ok,,", "2026-03-03,3,a,,b")
    assert refusals(parsed) == [(2, "column 4", " very tired"), (4, "column 5", "b")]
    assert "double quotes" in parsed.refused[0].reason
    assert [e.row for e in parsed.diary] == [3]


@pytest.mark.parametrize(
    ("header", "row", "patient_ref", "expected_ref", "refused_value"),
    [
        ("date,pain", "2026-03-01,5", "P1", "P1", None),  # no column: the patient named at import
        ("patient_id,date,pain", "P7,2026-03-01,5", None, "P7", None),  # the column
        ("patient_id,date,pain", " P7 ,2026-03-01,5", "P7", "P7", None),  # both, agreeing
        ("patient_id,date,pain", ",2026-03-01,5", "P7", "P7", None),  # empty cell: the named patient
        ("patient_id,date,pain", "P8,2026-03-01,5", "P7", None, "P8"),  # both, disagreeing: refused
        ("patient_id,date,pain", ",2026-03-01,5", None, None, ""),  # nobody at all
        ("patient_id,date,pain", f"{'x' * 101},2026-03-01,5", None, None, "x" * 101),
    ],
)
def test_the_patient_column_and_the_patient_named_at_import(header, row, patient_ref, expected_ref, refused_value):
    parsed = diary(header, row, patient_ref=patient_ref)
    if expected_ref is None:
        assert refusals(parsed) == [(2, "patient_id", refused_value)]
        assert parsed.diary == []
    else:
        assert only_entry(parsed).patient_ref == expected_ref


def test_a_file_may_hold_several_patients_when_it_has_the_column():
    parsed = diary("patient_id,date,pain", "P1,2026-03-01,5", "P2,2026-03-01,6", patient_ref=None)
    assert parsed.patient_refs() == ["P1", "P2"]


@pytest.mark.parametrize(
    ("header", "patient_ref", "column", "reason"),
    [
        ("date,pain", None, "patient_id", "no 'patient_id' column"),
        ("pain,sleep", "P1", "date", "'date' (or 'timestamp') is missing"),
        ("date,timestamp,pain", "P1", "timestamp", "both a 'date' and a 'timestamp'"),
    ],
)
def test_what_refuses_the_whole_file(header, patient_ref, column, reason):
    with pytest.raises(FileRefused) as refused:
        diary(header, "2026-03-01,5", patient_ref=patient_ref)
    assert (refused.value.refused.row, refused.value.refused.column) == (1, column)
    assert reason in refused.value.refused.reason
    assert str(refused.value).startswith("diary.csv: row 1")


def test_every_refused_row_is_reported_with_one_refusal_per_bad_cell():
    parsed = diary(
        "date,pain,sleep,nausea",
        "2026-03-01,5,7,mild",
        "03/01/2026,11,7,4",
        "2026-03-02,4,,",
        "2026-03-04,,,",
        "2026-03-05,3,-1,",
    )
    assert refusals(parsed) == [
        (3, "date", "03/01/2026"), (3, "pain", "11"), (3, "nausea", "4"),
        (5, "pain", ""),
        (6, "sleep", "-1"),
    ]
    assert [e.row for e in parsed.diary] == [2, 4]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_row_numbers_count_the_header_as_row_1_and_a_multiline_cell_as_one_row(newline):
    parsed = diary(
        "date,pain,notes",
        '2026-03-01,5,"a note' + newline + 'over' + newline + 'three lines"',
        "",
        "2026-03-02,12,",
        "2026-03-03,4,",
        newline=newline,
    )
    assert refusals(parsed) == [(4, "pain", "12")]
    assert [e.row for e in parsed.diary] == [2, 5]


def test_refusals_name_the_column_as_the_file_writes_it():
    parsed = diary("Date;Brain Fog", "2026-03-01;awful")
    assert refusals(parsed) == [(2, "Brain Fog", "awful")]


def test_default_today_is_the_real_today():
    parsed = parse_diary_csv(b"date,pain\n2999-01-01,5\n2000-01-01,5\n", "d.csv", patient_ref="P1")
    assert refusals(parsed) == [(2, "date", "2999-01-01")]


def test_a_100k_row_file_parses_completely():
    """Correctness at size; its speed is measured by bench/benchmark.py, not asserted here."""
    rows = "".join(
        f"P{i % 5},2020-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d},"
        f'{i % 11},{i % 10}.5,mild,120,80,"n, {i}"\n'
        for i in range(100_000)
    )
    raw = ("patient_id,date,pain,sleep,nausea,bp_systolic,bp_diastolic,notes\n" + rows).encode()
    parsed = parse_diary_csv(raw, "big.csv", today=TODAY)
    assert len(parsed.diary) == 100_000 and parsed.refused == []
    assert parsed.diary[-1].row == 100_001 and parsed.diary[-1].measures["notes"] == "n, 99999"

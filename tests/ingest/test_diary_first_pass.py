"""The diary CSV's column-by-column first pass (``diary_csv._clean_rows``) is speed only: with it
or without it (every row read cell by cell), a file gives the same records, in the same order,
with the same values and types, and the same refusals."""

import csv
import io
from datetime import date
from unittest import mock

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dashboard.ingest import diary_csv
from dashboard.ingest.diary_csv import parse_diary_csv
from dashboard.ingest.records import FileRefused
from tests.hypothesis_profiles import examples

TODAY = date(2026, 3, 10)
NUMBERS = ["", "5", "5.5", "10", "10.0", "10.5", "0", "007", ".5", "5.", "-1", "+5", " 5", "5 ", " ", "1e1", "nan",
           "inf", "5,5", "abc", "'5", "\u0663", "\uff11", "1_0"]
PRESSURES = ["", "120", "80", "80.5", "300", "59", "120,5", " 90", "x"]
DATES = ["2026-03-01", "2026-03-01T21:30", "2026-03-01 21:30", "2026-03-01T21:30:15", "2026-03-01T21:30:15.5",
         "2026-02-30", "2026-03-01T21:30+01:00", "2026-03-01T21:30Z", "2026-03-11", "2026-03-12", "1899-12-31",
         "1900-01-01T00:00", "", " 2026-03-01", "2026-03-01T25:00", "03/01/2026", "2026-3-1"]
PATIENTS = ["P1", "P2", "", " P1 ", "'=P1", "'P1", "x" * 101, "\u00a0P1", "=P1"]
GRADES = ["", "0", "3", "4", "mild", "Mild", "MILD", "mIld", "none", "severe", "1.0", " 2", "2,0", "x"]
TEXTS = ["", "a note", " ", "  padded  ", "'=cmd", "'a", "=1+1", "a, b\nc", "x" * 5001, "\u00a0"]
COLUMNS = {"patient_id": PATIENTS, "date": DATES, "pain": NUMBERS, "sleep": NUMBERS, "dose_mg": NUMBERS,
           "nausea": GRADES, "dissociation": GRADES, "bp_systolic": PRESSURES, "bp_diastolic": PRESSURES,
           "other_medication": TEXTS, "notes": TEXTS}


@st.composite
def diary_files(draw):
    names = draw(st.lists(st.sampled_from(sorted(COLUMNS)), unique=True, min_size=1))
    names = ["date", *[n for n in names if n != "date"]]
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(names)
    for _ in range(draw(st.integers(1, 12))):
        row = [draw(st.sampled_from(COLUMNS[n])) for n in names]
        if draw(st.integers(0, 9)) == 0:  # a short row or a row with extra cells
            row = row[:-1] if draw(st.booleans()) else [*row, draw(st.sampled_from(["", "x"]))]
        writer.writerow(row)
    return out.getvalue().encode(), draw(st.sampled_from([None, "P1"]))


def read(raw: bytes, patient_ref, *, first_pass: bool):
    try:
        if first_pass:
            return repr(parse_diary_csv(raw, "f.csv", patient_ref=patient_ref, today=TODAY))
        with mock.patch.object(diary_csv, "_clean_rows", lambda table, *a: [None] * len(table.rows)):
            return repr(parse_diary_csv(raw, "f.csv", patient_ref=patient_ref, today=TODAY))
    except FileRefused as exc:
        return f"refused: {exc}"


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=diary_files())
@example(case=(b"date,pain\n2026-03-01\n", "P1"))  # every row shorter than the header
@example(case=(b"date,pain,nausea\n2026-03-01,5\n2026-03-02,6,mild,x\n", "P1"))
def test_the_first_pass_reads_as_the_row_by_row_reader(case):
    raw, patient_ref = case
    # repr shows the records' order, every value's type (5 and 5.0 differ) and every refusal
    assert read(raw, patient_ref, first_pass=True) == read(raw, patient_ref, first_pass=False)


def test_the_first_pass_takes_plain_rows():
    """The benchmark's kind of row is taken by the first pass, not left to the row-by-row reader."""
    raw = b"patient_id,date,pain,nausea,bp_systolic,bp_diastolic,notes\nP1,2026-03-01T08:00,5.5,mild,120,80,\"a, b\"\n"
    table = diary_csv.read_csv(raw, "f.csv")
    rows = diary_csv._clean_rows(table, None, "date", TODAY)
    assert rows[0] is not None
    assert (rows[0].diary.measures, rows[0].diary.side_effects) == (
        {"pain": 5.5, "bp_systolic": 120.0, "bp_diastolic": 80.0, "notes": "a, b"}, {"nausea": 1})

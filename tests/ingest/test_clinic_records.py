"""Titration steps and visits as CSV (import-formats.md section 5)."""

from datetime import date

import pytest

from dashboard.ingest.clinic_records import parse_titration_csv, parse_visits_csv
from dashboard.ingest.records import FileRefused

STEP_HEADER = "patient_id,start_date,dose_mg,frequency,route,note"


def steps(header: str, *rows: str, patient_ref: str | None = None, encoding: str = "utf-8"):
    return parse_titration_csv("\n".join([header, *rows, ""]).encode(encoding), "steps.csv", patient_ref=patient_ref)


def visits(header: str, *rows: str, patient_ref: str | None = None):
    return parse_visits_csv("\n".join([header, *rows, ""]).encode(), "visits.csv", patient_ref=patient_ref)


def refusals(parsed):
    return [(r.row, r.column, r.value) for r in parsed.refused]


def test_a_titration_step_is_read_with_every_field():
    parsed = steps(
        "patient_id,start_date,end_date,dose_mg,frequency,max_per_day,route,note",
        "P1,2026-01-05,2026-01-18,25,daily,,troche,start low",
    )
    assert parsed.refused == [] and parsed.format == "titration"
    step = parsed.steps[0]
    assert (step.patient_ref, step.start_date, step.end_date, step.dose_mg, step.frequency, step.route, step.note,
            step.max_per_day, step.row, step.status) == (
        "P1", date(2026, 1, 5), date(2026, 1, 18), 25.0, "daily", "troche", "start low", None, 2, "active")


@pytest.mark.parametrize(
    ("written", "frequency", "max_per_day"),
    [
        ("daily", "daily", None), ("Daily", "daily", None), ("once daily", "daily", None),
        ("once a day", "daily", None), ("twice daily", "twice daily", None), ("Twice-Daily", "twice daily", None),
        ("twice a day", "twice daily", None), ("BID", "twice daily", None),
        ("every other day", "every other day", None), ("every-other-day", "every other day", None),
        ("1 per week", "1 per week", None),
        ("3 per week", "3 per week", None), ("3 times per week", "3 per week", None),
        ("3x/week", "3 per week", None), ("14 per week", "14 per week", None),
        ("as needed max 2 per day", "as needed", 2.0), ("As needed, max 3 per day", "as needed", 3.0),
        ("PRN max 2/day", "as needed", 2.0), ("as needed (max 4 a day)", "as needed", 4.0),
        ("as needed maximum 1 per day", "as needed", 1.0),
    ],
)
def test_frequencies_are_normalised(written, frequency, max_per_day):
    parsed = steps(STEP_HEADER, f'P1,2026-01-05,25,"{written}",troche,')
    assert parsed.refused == []
    assert (parsed.steps[0].frequency, parsed.steps[0].max_per_day) == (frequency, max_per_day)


@pytest.mark.parametrize(
    ("written", "reason"),
    [("0 per week", "1 to 14 per week"), ("15 per week", "1 to 14 per week"), ("hourly", "not a frequency"),
     ("as needed", "needs a maximum per day"), ("prn", "needs a maximum per day"), ("", "not a frequency"),
     ("as needed max 0 per day", "maximum per day"), ("as needed max 30 per day", "maximum per day"),
     ("three times a week", "not a frequency")],
)
def test_frequencies_that_cannot_be_read_are_refused(written, reason):
    parsed = steps(STEP_HEADER, f'P1,2026-01-05,25,"{written}",troche,')
    assert refusals(parsed) == [(2, "frequency", written)]
    assert reason in parsed.refused[0].reason


@pytest.mark.parametrize(
    ("frequency", "max_cell", "refused", "max_per_day"),
    [
        ("as needed", "2", [], 2.0),
        ("as needed", "1,5", [], 1.5),  # semicolon file: decimal comma
        ("daily", "1", [], 1.0),  # given explicitly, so stored
        ("daily", "", [], None),  # not given: analysis reads "daily" itself
        ("as needed max 2 per day", "2", [], 2.0),
        ("as needed max 2 per day", "3", [(2, "max_per_day", "3")], None),
        ("as needed", "0", [(2, "max_per_day", "0")], None),
        ("as needed", "", [(2, "frequency", "as needed")], None),
    ],
)
def test_the_maximum_per_day_comes_from_its_column_or_the_frequency(frequency, max_cell, refused, max_per_day):
    header = "patient_id;start_date;dose_mg;frequency;max_per_day;route"
    parsed = steps(header, f"P1;2026-01-05;25;{frequency};{max_cell};troche")
    assert refusals(parsed) == refused
    if not refused:
        assert parsed.steps[0].max_per_day == max_per_day


@pytest.mark.parametrize(
    ("written", "route"),
    [("troche", "troche"), ("Troche", "troche"), ("buccal", "troche"), ("Sublingual", "troche"),
     ("sublingual troche", "troche"), ("IV", "IV"), ("iv", "IV"), ("intravenous", "IV"), ("IM", "IM"),
     ("intramuscular", "IM"), ("intranasal", "intranasal"), ("Nasal", "intranasal")],
)
def test_routes_are_normalised(written, route):
    parsed = steps(STEP_HEADER, f"P1,2026-01-05,25,daily,{written},")
    assert parsed.steps[0].route == route


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("P1,2026-01-05,25,daily,oral,", [(2, "route", "oral")]),
        ("P1,05/01/2026,25,daily,troche,", [(2, "start_date", "05/01/2026")]),
        ("P1,2026-01-05,0,daily,troche,", [(2, "dose_mg", "0")]),
        ("P1,2026-01-05,1001,daily,troche,", [(2, "dose_mg", "1001")]),
        ("P1,2026-01-05,25 mg,daily,troche,", [(2, "dose_mg", "25 mg")]),
        ("P1,,,,,", [(2, "dose_mg", ""), (2, "frequency", ""), (2, "route", ""), (2, "start_date", "")]),
        ("P1,1.3.2026,-5,daily,oral,", [(2, "dose_mg", "-5"), (2, "route", "oral"), (2, "start_date", "1.3.2026")]),
    ],
)
def test_bad_titration_cells_are_refused_each_with_its_column(row, expected):
    parsed = steps(STEP_HEADER, row)
    assert sorted(refusals(parsed), key=lambda r: r[1]) == sorted(expected, key=lambda r: r[1])
    assert parsed.steps == []


@pytest.mark.parametrize(
    ("start", "end", "refused"),
    [("2026-01-05", "2026-01-05", []), ("2026-01-05", "2026-02-01", []), ("2026-01-05", "", []),
     ("2026-01-05", "2026-01-04", [(2, "end_date", "2026-01-04")]),
     ("2026-01-05", "4.1.2026", [(2, "end_date", "4.1.2026")])],
)
def test_the_end_date_is_on_or_after_the_start(start, end, refused):
    parsed = steps("patient_id,start_date,end_date,dose_mg,frequency,route", f"P1,{start},{end},25,daily,troche")
    assert refusals(parsed) == refused


def test_titration_patient_named_at_import_and_unknown_columns():
    parsed = steps("Start Date;Dose mg;Frequency;Route;Prescriber", "2026-01-05;37,5;Twice daily;Buccal;Dr Who",
                   patient_ref="P9")
    step = parsed.steps[0]
    assert (step.patient_ref, step.dose_mg, step.frequency, step.route) == ("P9", 37.5, "twice daily", "troche")
    assert parsed.ignored == {"column 'Prescriber'": 1}


def test_titration_patient_column_disagreeing_with_the_import_is_refused():
    parsed = steps(STEP_HEADER, "P2,2026-01-05,25,daily,troche,", patient_ref="P1")
    assert refusals(parsed) == [(2, "patient_id", "P2")]


@pytest.mark.parametrize(
    ("header", "patient_ref", "column"),
    [("patient_id,start_date,dose_mg,frequency", None, "route"),
     ("start_date,dose_mg,frequency,route", None, "patient_id"),
     ("patient_id,dose_mg,frequency,route", "P1", "start_date")],
)
def test_titration_files_missing_a_required_column_are_refused(header, patient_ref, column):
    with pytest.raises(FileRefused) as refused:
        steps(header, "x", patient_ref=patient_ref)
    assert (refused.value.refused.row, refused.value.refused.column) == (1, column)


def test_titration_note_keeps_its_text_and_drops_the_formula_guard():
    parsed = steps(STEP_HEADER, "P1,2026-01-05,25,daily,troche,'=reduce if dizzy", "P1,2026-02-05,50,daily,troche,")
    assert [s.note for s in parsed.steps] == ["=reduce if dizzy", None]


@pytest.mark.parametrize(
    ("written", "kind"),
    [("in person", "in person"), ("In-Person", "in person"), ("in_person", "in person"), ("office", "in person"),
     ("telehealth", "telehealth"), ("Telemedicine", "telehealth"), ("video", "telehealth"), ("phone", "telehealth"),
     ("infusion", "infusion"), ("INFUSION", "infusion")],
)
def test_visit_kinds_are_normalised(written, kind):
    parsed = visits("patient_id,date,kind,note", f"P1,2026-02-01,{written},review")
    assert parsed.refused == [] and parsed.format == "visits"
    visit = parsed.visits[0]
    assert (visit.patient_ref, visit.date, visit.kind, visit.note, visit.row) == (
        "P1", date(2026, 2, 1), kind, "review", 2)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("P1,2026-02-01,home,", [(2, "kind", "home")]),
        ("P1,01/02/2026,infusion,", [(2, "date", "01/02/2026")]),
        ("P1,2026-02-01T10:00,infusion,", [(2, "date", "2026-02-01T10:00")]),
        ("P1,,,", [(2, "date", ""), (2, "kind", "")]),
        ("P2,2026-02-01,infusion,", [(2, "patient_id", "P2")]),
    ],
)
def test_bad_visit_cells_are_refused(row, expected):
    parsed = visits("patient_id,date,kind,note", row, patient_ref="P1")
    assert refusals(parsed) == expected
    assert parsed.visits == []


def test_visits_count_rows_from_the_header_past_a_multiline_note():
    parsed = visits("patient_id,date,kind,note", 'P1,2026-02-01,infusion,"line one\nline two"', "P1,2026-02-08,bad,")
    assert refusals(parsed) == [(3, "kind", "bad")]
    assert parsed.visits[0].note == "line one\nline two"


def test_visits_without_a_kind_column_are_refused():
    with pytest.raises(FileRefused) as refused:
        visits("patient_id,date,note", "P1,2026-02-01,x")
    assert refused.value.refused.column == "kind"


# One rule for the importer and the review page's forms (dashboard.clinic_rules): the same value
# is refused by both, for the same reason.
SAME_RULE = [
    # (column, CSV cell, form field values)
    ("dose_mg", "P1,2026-03-01,600,daily,IM,", {"dose_mg": 600.0, "route": "IM"}),
    ("dose_mg", "P1,2026-03-01,250,daily,intranasal,", {"dose_mg": 250.0, "route": "intranasal"}),
    ("frequency", "P1,2026-03-01,50,thrice hourly,troche,", {"frequency": "thrice hourly"}),
    ("frequency", "P1,2026-03-01,50,as needed,troche,", {"frequency": "as needed"}),
    ("route", "P1,2026-03-01,50,daily,oral,", {"route": "oral"}),
    ("start_date", "P1,2099-03-01,50,daily,troche,", {"start_date": date(2099, 3, 1)}),
]


@pytest.mark.parametrize(("column", "row", "values"), SAME_RULE,
                         ids=[f"{c}-{r.split(',')[3]}" for c, r, _ in SAME_RULE])
def test_the_importer_and_the_forms_refuse_a_step_for_the_same_reason(sqlite_url, column, row, values):
    from dashboard.db.clinic_records import StepForm, check_step
    from dashboard.db.session import session_scope

    parsed = steps(STEP_HEADER, row)
    assert [(r.column, r.row) for r in parsed.refused] == [(column, 2)] and parsed.steps == []
    form = StepForm(**{**dict(start_date=date(2026, 3, 1), dose_mg=50.0, frequency="daily", route="troche"), **values})
    with session_scope(sqlite_url) as session:
        _, problems = check_step(session, 1, form)
    assert [(p.field, p.reason) for p in problems] == [(column, parsed.refused[0].reason)]


def test_the_importer_and_the_forms_refuse_a_visit_kind_for_the_same_reason(sqlite_url):
    from dashboard.db.clinic_records import VisitForm, check_visit
    from dashboard.db.session import session_scope

    parsed = visits("patient_id,date,kind,note", "P1,2026-03-01,surgery,")
    with session_scope(sqlite_url) as session:
        _, problems = check_visit(session, 1, VisitForm(date=date(2026, 3, 1), kind="surgery", booked=False),
                                  today=date(2026, 3, 2))
    assert [(p.field, p.reason) for p in problems] == [("kind", parsed.refused[0].reason)]

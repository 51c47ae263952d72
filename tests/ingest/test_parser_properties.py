"""Whatever bytes arrive, the CSV parsers answer with records, refusals naming a row and a
column, or FileRefused: never another exception."""

from datetime import date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.ingest.clinic_records import parse_titration_csv, parse_visits_csv
from dashboard.ingest.csv_text import escape_text, parse_number, unescape_text
from dashboard.ingest.detect import detect_csv_format
from dashboard.ingest.diary_csv import parse_diary_csv
from dashboard.ingest.export import format_number
from dashboard.ingest.records import FileRefused
from tests.hypothesis_profiles import examples

TODAY = date(2026, 3, 10)
PROPERTY = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID = {
    "diary": (
        "patient_id,date,pain,sleep,nausea,bp_systolic,bp_diastolic,other_medication,notes\n"
        'P1,2026-03-01T21:30+01:00,5,7,mild,120,80,oxycodone 10 mg,"a note, with\na line break"\n'
        "P1,2026-03-02,4.5,,,,,,\n"
        "P1;2026-03-03;3;6;2;;;;\n"
    ).encode(),
    "titration": (
        "patient_id,start_date,end_date,dose_mg,frequency,max_per_day,route,note\n"
        "P1,2026-01-05,2026-01-18,25,daily,,troche,start\n"
        "P1,2026-01-19,,50,as needed,2,buccal,\"up, if tolerated\"\n"
    ).encode(),
    "visits": "patient_id,date,kind,note\nP1,2026-02-01,infusion,ok\nP1,2026-02-08,telehealth,\n".encode(),
}
PARSERS = {
    "diary": lambda raw: parse_diary_csv(raw, "f.csv", today=TODAY),
    "diary for a named patient": lambda raw: parse_diary_csv(raw, "f.csv", patient_ref="P1", today=TODAY),
    "titration": lambda raw: parse_titration_csv(raw, "f.csv", patient_ref="P1"),
    "visits": lambda raw: parse_visits_csv(raw, "f.csv"),
}
SPECIAL = st.sampled_from([b'"', b",", b";", b"\t", b"\n", b"\r\n", b"\r", b"\xe9", b"\x00", b"\xef\xbb\xbf", b"-",
                           b"/", b"'", b"=", b"9", b"", b"x" * 6000, b"\xc3", b"2026-13-45", b"\xff\xfe"])


def check_answer(parse, raw: bytes) -> None:
    try:
        parsed = parse(raw)
    except FileRefused as refused:
        assert isinstance(refused.refused.row, int) and refused.refused.row >= 1
        assert refused.refused.reason
        return
    for refusal in parsed.refused:
        assert isinstance(refusal.row, int) and refusal.row >= 2, refusal
        assert refusal.column, refusal
        assert refusal.reason, refusal
    for record in [*parsed.diary, *parsed.steps, *parsed.visits]:
        assert isinstance(record.row, int) and record.row >= 2


@PROPERTY
@given(raw=st.binary(max_size=400), parser=st.sampled_from(sorted(PARSERS)))
def test_random_bytes_give_records_refusals_or_file_refused(raw, parser):
    check_answer(PARSERS[parser], raw)
    assert detect_csv_format(raw, "f.csv") in (None, "diary-csv", "titration", "visits")


@st.composite
def corrupted(draw):
    """A valid file with a few bytes replaced, inserted or removed."""
    name = draw(st.sampled_from(sorted(VALID)))
    raw = bytearray(VALID[name])
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(raw)))
        cut = draw(st.integers(0, 3))
        raw[at:at + cut] = draw(st.one_of(SPECIAL, st.binary(max_size=3)))
    return name, bytes(raw)


@PROPERTY
@given(case=corrupted(), parser=st.sampled_from(sorted(PARSERS)))
def test_corrupted_valid_files_give_records_refusals_or_file_refused(case, parser):
    _, raw = case
    check_answer(PARSERS[parser], raw)


SCALES = ("pain", "pain_worst", "sleep", "mood", "function", "enjoyment_interference", "activity_interference", "peg")


@st.composite
def diary_rows(draw):
    """Entries within the spec's ranges, written with any delimiter and header spelling."""
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    columns = draw(st.lists(st.sampled_from(SCALES), min_size=1, max_size=4, unique=True))
    entries = []
    for day in range(draw(st.integers(1, 5))):
        values = {c: draw(st.floats(0, 10, allow_nan=False)) for c in columns}
        when = datetime(2026, 2, 1 + day, draw(st.integers(0, 23)), draw(st.integers(0, 59)))
        entries.append((when, values))
    spellings = [str, str.upper, lambda c: c.replace("_", " ").title(), lambda c: c.replace("_", "-")]
    spell = draw(st.sampled_from(spellings))
    return delimiter, columns, entries, spell


@PROPERTY
@given(case=diary_rows())
def test_valid_entries_read_back_exactly(case):
    delimiter, columns, entries, spell = case
    lines = [delimiter.join(["date", *(spell(c) for c in columns)])]
    for when, values in entries:
        cells = [format_number(values[c]) for c in columns]
        if delimiter != ",":
            cells = [c.replace(".", ",") for c in cells]  # the decimal comma spreadsheets write
        lines.append(delimiter.join([when.isoformat(sep=" "), *cells]))
    parsed = parse_diary_csv(("\r\n".join(lines) + "\r\n").encode(), "f.csv", patient_ref="P1", today=TODAY)
    assert parsed.refused == []
    assert [(e.recorded_at, e.measures, e.row) for e in parsed.diary] == [
        (when, values, row) for row, (when, values) in enumerate(entries, start=2)
    ]


@PROPERTY
@given(text=st.text(max_size=30))
def test_the_formula_guard_is_undone_exactly(text):
    escaped = escape_text(text)
    assert unescape_text(escaped) == text
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))


@PROPERTY
@given(value=st.floats(0, 1000, allow_nan=False))
def test_exported_numbers_read_back_as_the_same_float(value):
    text = format_number(value)
    assert parse_number(text, decimal_comma=False) == value
    assert not text.endswith(".0") and "e" not in text.lower()


@PROPERTY
@given(day=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
       parser=st.sampled_from(["diary", "visits", "titration"]))
def test_any_calendar_date_is_accepted_exactly_within_the_one_date_rule(day, parser):
    """Dates at and beyond dashboard.fields' limits, in every CSV importer: inside is read back,
    outside is one refusal naming the date's column, never an exception."""
    from dashboard import fields

    text = day.isoformat()
    limits, raw, parse = {
        "diary": (fields.DIARY, f"date,pain\n{text},4\n",
                  lambda raw: parse_diary_csv(raw, "f.csv", patient_ref="P1", today=TODAY)),
        "visits": (fields.PLAN, f"date,kind\n{text},telehealth\n",
                   lambda raw: parse_visits_csv(raw, "f.csv", patient_ref="P1", today=TODAY)),
        "titration": (fields.PLAN, f"start_date,dose_mg,frequency,route\n{text},50,daily,troche\n",
                      lambda raw: parse_titration_csv(raw, "f.csv", patient_ref="P1", today=TODAY)),
    }[parser]
    parsed = parse(raw.encode())
    if limits.contains(day, TODAY):
        assert parsed.refused == []
    else:
        assert [(r.row, r.value) for r in parsed.refused] == [(2, text)]
        assert "the date is" in parsed.refused[0].reason

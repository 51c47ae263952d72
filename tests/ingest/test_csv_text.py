"""Reading CSV bytes: encodings, delimiters, quoting, row numbers, cells, format detection."""

from datetime import date

import pytest

from dashboard.ingest.csv_text import (
    decode,
    escape_text,
    normalise_header,
    parse_iso_date,
    parse_number,
    read_header,
    read_table,
    unescape_text,
)
from dashboard.ingest.detect import detect_csv_format
from dashboard.ingest.records import FileRefused


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"date,notes\n2026-03-01,caf\xc3\xa9\n", "date,notes\n2026-03-01,café\n"),  # UTF-8
        (b"\xef\xbb\xbfdate,notes\n", "date,notes\n"),  # UTF-8 with BOM: the BOM is not part of the header
        (b"date,notes\n2026-03-01,caf\xe9\n", "date,notes\n2026-03-01,café\n"),  # Windows-1252 é
        (b"notes\n\x93quoted\x94 \x80 5\n", "notes\n\u201cquoted\u201d \u20ac 5\n"),  # cp1252 quotes and euro
        (b"a\tb\r\n1\t2\r\n", "a\tb\r\n1\t2\r\n"),
        ("\ufeffdate\tnotes\r\n2026-03-01\tcafé\r\n".encode("utf-16-le"), "date\tnotes\r\n2026-03-01\tcafé\r\n"),
    ],
)
def test_decode_reads_utf8_with_or_without_bom_and_windows_1252(raw, text):
    assert decode(raw, "f.csv") == text


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"  \r\n\n", "empty"),
        (b"\xef\xbb\xbf\r\n", "empty"),
        (b"\xfe\xff", "empty"),
        (b"d\x00a\x00t\x00e\x00", "NUL"),  # UTF-16
        (b"date\n\x81\x8d\x8f", "neither UTF-8 nor Windows-1252"),  # bytes cp1252 leaves undefined
        (b"\x89PNG\r\n\x1a\n\x01\x02", "control character"),
        (b"\xef\xbb\xbfdate\ncaf\xe9\n", "marked as UTF-8 but byte 12 is not UTF-8"),
        (b"\xff\xfed\x00\x00\xd8", "not UTF-16 text"),
    ],
)
def test_decode_refuses_what_is_not_text(raw, reason):
    with pytest.raises(FileRefused) as refused:
        decode(raw, "upload.csv")
    assert reason in str(refused.value)
    assert str(refused.value).startswith("upload.csv: row 1")


@pytest.mark.parametrize(
    ("raw", "header", "rows"),
    [
        (b"date,pain\n2026-03-01,5\n", ["date", "pain"], [(2, ["2026-03-01", "5"])]),
        (b"date;pain\n2026-03-01;6,5\n", ["date", "pain"], [(2, ["2026-03-01", "6,5"])]),
        (b"date\tpain\n2026-03-01\t6,5\n", ["date", "pain"], [(2, ["2026-03-01", "6,5"])]),
        (b"date,pain\r\n2026-03-01,5\r\n2026-03-02,4\r\n", ["date", "pain"],
         [(2, ["2026-03-01", "5"]), (3, ["2026-03-02", "4"])]),
        # A quoted header cell holding another delimiter does not fool the detection.
        (b'"a;b",c,d\n1,2,3\n', ["a;b", "c", "d"], [(2, ["1", "2", "3"])]),
        # Quoted delimiters and line breaks stay in the cell; the multi-line cell is one row.
        (b'date,notes\n2026-03-01,"one, two\nthree"\n2026-03-02,x\n', ["date", "notes"],
         [(2, ["2026-03-01", "one, two\nthree"]), (3, ["2026-03-02", "x"])]),
        (b'date,notes\r\n2026-03-01,"a\r\nb"\r\n', ["date", "notes"], [(2, ["2026-03-01", "a\r\nb"])]),
        # Blank lines (and rows of empty cells) are skipped but still counted, as a spreadsheet shows them.
        (b"date,pain\n\n2026-03-01,5\n,\n\n2026-03-02,4", ["date", "pain"],
         [(3, ["2026-03-01", "5"]), (6, ["2026-03-02", "4"])]),
        # Header cells are trimmed; a header alone gives no rows.
        (b" date , pain \n", ["date", "pain"], []),
        (b"\n\ndate,pain\n2026-03-01,5\n", ["date", "pain"], [(2, ["2026-03-01", "5"])]),
    ],
)
def test_read_table_detects_the_delimiter_and_numbers_rows_from_the_header(raw, header, rows):
    assert read_table(raw, "f.csv") == (header, rows)


@pytest.mark.parametrize(
    ("raw", "row", "reason"),
    [
        (b'date,notes\n2026-03-01,ok\n2026-03-02,"never closed\n2026-03-03,x\n', 3, "double quotes"),
        (b'date,notes\n2026-03-01,"a"b\n', 2, "double quotes"),
        (b"date,Pain,pain\n", 1, "two columns mean the same"),
        (b"Brain fog,brain_fog\n", 1, "two columns mean the same"),
    ],
)
def test_read_table_refuses_broken_quoting_and_duplicate_columns(raw, row, reason):
    with pytest.raises(FileRefused) as refused:
        read_table(raw, "f.csv")
    assert refused.value.refused.row == row
    assert reason in refused.value.refused.reason


@pytest.mark.parametrize(
    ("name", "normal"),
    [("Brain fog", "brain_fog"), (" brain-fog ", "brain_fog"), ("BRAIN_FOG", "brain_fog"), ("Pain", "pain"),
     ("bp  systolic", "bp_systolic"), ("Patient ID", "patient_id"), ("date", "date")],
)
def test_normalise_header(name, normal):
    assert normalise_header(name) == normal


@pytest.mark.parametrize(
    ("text", "decimal_comma", "value"),
    [("5", False, 5.0), (" 6.5 ", False, 6.5), ("6,5", True, 6.5), ("6.5", True, 6.5), ("0", False, 0.0),
     ("+3", False, 3.0), (".5", False, 0.5), ("10.", False, 10.0),
     ("0.059874385741699676", False, 0.059874385741699676),
     ("0.00001", False, 0.00001)],
)
def test_parse_number(text, decimal_comma, value):
    assert parse_number(text, decimal_comma=decimal_comma) == value


@pytest.mark.parametrize(
    ("text", "decimal_comma", "reason"),
    [("6,5", False, "decimal comma is read only in semicolon- or tab-separated files"),
     ("1.000,5", True, "not a number"), ("1,2,3", True, "not a number"), ("nan", False, "not a number"),
     ("inf", False, "not a number"), ("1_000", False, "not a number"), ("\u0665", False, "not a number"),
     ("", False, "not a number"), ("five", False, "not a number"), ("5 mg", False, "not a number")],
)
def test_parse_number_refuses_what_is_not_a_plain_number(text, decimal_comma, reason):
    with pytest.raises(ValueError, match=reason):
        parse_number(text, decimal_comma=decimal_comma)


@pytest.mark.parametrize(
    ("text", "value"), [("2026-03-01", date(2026, 3, 1)), (" 2024-02-29 ", date(2024, 2, 29))],
)
def test_parse_iso_date(text, value):
    assert parse_iso_date(text) == value


@pytest.mark.parametrize(
    "text", ["03/01/2026", "1.3.2026", "2026-3-1", "2026/03/01", "20260301", "2025-02-29", "2026-13-01", "", "March 1"],
)
def test_parse_iso_date_refuses_anything_else(text):
    with pytest.raises(ValueError):
        parse_iso_date(text)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("=SUM(A1:A3)", "'=SUM(A1:A3)"), ("+1 555", "'+1 555"), ("-5 mg", "'-5 mg"), ("@cmd", "'@cmd"),
     ("\tx", "'\tx"), ("\rx", "'\rx"), ("plain", "plain"), ("'quoted'", "'quoted'"), ("'=x", "''=x"),
     ("", ""), ("a=b", "a=b")],
)
def test_formula_escape_and_unescape_are_inverse(text, escaped):
    assert escape_text(text) == escaped
    assert unescape_text(escaped) == text


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("\uff1d1+1", "'\uff1d1+1"), ("\uff0bcmd", "'\uff0bcmd"), ("\uff0d5 mg", "'\uff0d5 mg"),
     ("\uff20SUM(A1)", "'\uff20SUM(A1)"), ("\ufe66x", "'\ufe66x"), ("\ufe62x", "'\ufe62x"), ("\ufe63x", "'\ufe63x"),
     ("\ufe6bx", "'\ufe6bx"), ("\u207cx", "'\u207cx"), ("\u208ax", "'\u208ax"), ("'\uff1dx", "''\uff1dx"),
     ("a\uff1db", "a\uff1db"), ("\uff21bc", "\uff21bc")],
    ids=["full-width =", "full-width +", "full-width -", "full-width @", "small =", "small +", "small -", "small @",
         "superscript =", "subscript +", "quoted full-width =", "inside the text", "full-width letter"],
)
def test_look_alike_formula_characters_are_escaped_too(text, escaped):
    """Issue 24 item 9: characters that normalise (NFKC) to = + - @ start a formula as well."""
    assert escape_text(text) == escaped
    assert unescape_text(escaped) == text


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("patient_id,date,pain,notes", "diary-csv"),
        ("Date;Pain;Brain fog", "diary-csv"),
        ("timestamp,sleep,mood,extra", "diary-csv"),
        ("patient_id,start_date,dose_mg,frequency,route,note", "titration"),
        ("start_date,dose_mg,route", "titration"),
        ("patient_id,date,kind,note", "visits"),
        ("Date,Kind", "visits"),
        # Bearable's export and other diary apps' layouts are not the native format.
        ("date,date formatted,weekday,time of day,category,rating/amount,detail,notes", None),
        ("name,intensity,date", None),
        ("full_date,date,weekday,time,mood,activities,note_title,note", None),
        ("date,notes", None),
        ("a,b,c", None),
    ],
)
def test_detect_csv_format_by_header(header, expected):
    raw = (header + "\n2026-03-01\n").encode()
    assert detect_csv_format(raw, "renamed.txt") == expected


@pytest.mark.parametrize("raw", [b"", b"\x00\x01\x02", b"\x81\x8d\x8f\x90"])
def test_detect_csv_format_says_none_for_what_is_not_text(raw):
    assert detect_csv_format(raw, "x.csv") is None


@pytest.mark.parametrize(
    "path",
    ["diary_csv/daylio/sample.csv", "diary_csv/monstermizer/Participant2Pain.csv",
     "diary_csv/monstermizer/Participant8Observations.csv", "diary_csv/monstermizer/pain.csv"],
)
def test_other_apps_real_exports_are_not_taken_for_the_native_format(shared_dir, path):
    raw = (shared_dir / "data" / "real" / path).read_bytes()
    assert detect_csv_format(raw, path) is None


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_read_header_reads_the_first_record_of_a_large_file(encoding):
    raw = ("Date,Pain\n" + "2026-03-01,5\n" * 20000 + "é\n").encode(encoding)
    assert read_header(raw, "big.csv") == ["Date", "Pain"]

"""Reading the clinic's CSV files: bytes to a table of text cells, and the cell rules all
CSV formats share (numbers, ISO dates, the patient column, spreadsheet-formula escapes).

Row numbers are what a spreadsheet shows: the header is row 1 and every following record
counts, a quoted multi-line cell being one row. Blank lines are skipped but still counted,
so a clinic's staff finds the row the report names where their spreadsheet shows it.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cached_property
from datetime import date

from dashboard import patient_ref as patient_refs
from dashboard.ingest.records import FileRefused, ParsedFile, RefusedRow, named_at_import

DELIMITERS = (",", ";", "\t")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Control characters no spreadsheet writes into a CSV: their presence means a binary file.
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f]")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_HEADER_SEPARATORS = re.compile(r"[\s\-]+")
# OWASP CSV injection: a cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
VALUE_SHOWN_MAX = 200  # a refusal quotes at most this much of a cell
UNKNOWN_COLUMNS_LISTED = 20  # more unknown columns than this are reported as one count
# A well-formed UTF-8 character of two to four bytes: finding one in a file that is not UTF-8
# means two encodings were mixed (a file pasted together from two programs).
_UTF8_CHARACTER = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def decode(raw: bytes, file_name: str) -> str:
    """UTF-8 (with or without BOM), else Windows-1252, which spreadsheets on Windows save; also
    UTF-16 with a BOM, which Excel writes as "Unicode Text"."""
    if raw.startswith(UTF16_BOMS):  # Excel's "Unicode Text" is UTF-16 with a BOM
        try:
            return _text_only(raw.decode("utf-16"), file_name)
        except UnicodeDecodeError:
            raise FileRefused(file_name, "the file starts as UTF-16 but is not UTF-16 text") from None
    if b"\x00" in raw:
        raise FileRefused(file_name, "this is not a text CSV file (it contains NUL bytes: binary, or UTF-16)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if raw.startswith(b"\xef\xbb\xbf"):
            reason = f"the file is marked as UTF-8 but byte {exc.start + 4} is not UTF-8"  # 3 BOM bytes
            raise FileRefused(file_name, reason) from None
        utf8 = _UTF8_CHARACTER.search(raw)
        if utf8:  # Windows-1252 would read it without error, as garbage: refuse instead
            raise FileRefused(
                file_name, f"the file mixes two encodings: byte {utf8.start() + 1} starts a UTF-8 character but "
                f"byte {exc.start + 1} is not UTF-8 (it looks like Windows-1252); save the file again as UTF-8",
            ) from None
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise FileRefused(
                file_name, f"the file is neither UTF-8 nor Windows-1252 text (byte {exc.start + 1} cannot be read)"
            ) from None
    return _text_only(text, file_name)


def _text_only(text: str, file_name: str) -> str:
    if text.startswith("\ufeff"):  # a byte order mark after the one the decoder removed
        raise FileRefused(file_name, "the file starts with two byte order marks (BOM): save it again as UTF-8")
    if not text.strip():
        raise FileRefused(file_name, "the file is empty")
    bad = _BINARY.search(text)
    if bad:
        where = f"control character {bad.group()!r} at character {bad.start() + 1}"
        raise FileRefused(file_name, f"this is not a text CSV file ({where})")
    return text


def normalise_header(name: str) -> str:
    """`Brain fog`, ` brain-fog ` and `BRAIN_FOG` are the same column."""
    return _HEADER_SEPARATORS.sub("_", name.strip().lower())


def _first_record(text: str) -> str:
    """The header record: up to the first line break outside quotes."""
    quoted = False
    for i, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            return text[:i]
    return text


def sniff_delimiter(header_line: str) -> str:
    """The delimiter used most often in the header outside quotes (csv.Sniffer guesses wrong
    on short headers); comma when the header has a single column."""
    unquoted = "".join(header_line.split('"')[::2])
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class Table:
    """A CSV file as text cells. ``columns`` maps normalised header names to positions."""

    file_name: str
    header: list[str]
    rows: list[tuple[int, list[str]]]
    delimiter: str

    @property
    def decimal_comma(self) -> bool:
        # With a comma delimiter, `6,5` would be two cells; elsewhere it is a decimal comma.
        return self.delimiter != ","

    @cached_property
    def columns(self) -> dict[str, int]:
        return {normalise_header(name): i for i, name in enumerate(self.header) if name.strip()}

    def as_written(self, refusals: list[RefusedRow]) -> list[RefusedRow]:
        """Refusals naming each column as the file's header writes it, as staff will look for it."""
        return [
            replace(r, column=self.header[self.columns[r.column]]) if r.column in self.columns else r
            for r in refusals
        ]


def _records(text: str, delimiter: str, file_name: str):
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = 0
    try:
        for cells in reader:
            number += 1
            yield number, cells
    except csv.Error as exc:
        raise FileRefused(
            file_name, f"the CSV cannot be read here ({exc}): check the double quotes in this row", row=number + 1
        ) from None


def read_csv(raw: bytes, file_name: str) -> Table:
    text = decode(raw, file_name).lstrip("\r\n")
    delimiter = sniff_delimiter(_first_record(text))
    records = _records(text, delimiter, file_name)
    _, header = next(records)
    header = [name.strip() for name in header]
    seen: dict[str, str] = {}
    for name in header:
        key = normalise_header(name)
        if key and key in seen:
            raise FileRefused(
                file_name, f"two columns mean the same: {seen[key]!r} and {name!r}", row=1, column=name, value=name
            )
        seen[key] = name
    rows = [(number, cells) for number, cells in records if "".join(cells).strip()]
    return Table(file_name, header, rows, delimiter)


def read_table(raw: bytes, file_name: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header cells and each non-blank data row with its row number (header = row 1)."""
    table = read_csv(raw, file_name)
    return table.header, table.rows


def read_header(raw: bytes, file_name: str) -> list[str]:
    """Only the header cells, without reading the whole file (for format detection)."""
    if len(raw) > 65536 and not raw.startswith(UTF16_BOMS):  # cut at a line break, never inside a character
        raw = raw[: raw.rfind(b"\n", 0, 65536) + 1 or 65536]
    text = decode(raw, file_name)
    line = _first_record(text.lstrip("\r\n"))
    reader = csv.reader(io.StringIO(line, newline=""), delimiter=sniff_delimiter(line))
    return [name.strip() for name in next(reader, [])]


def parse_number(text: str, *, decimal_comma: bool) -> float:
    """A plain decimal number; `6,5` only where the delimiter leaves the comma free."""
    text = text.strip()
    if decimal_comma and text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    elif "," in text:
        if decimal_comma:
            raise ValueError(f"{text!r} is not a number")
        reason = "a decimal comma is read only in semicolon- or tab-separated files"
        raise ValueError(f"{text!r} is not a number ({reason})")
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"{text!r} is not a number")
    return float(text)


def parse_iso_date(text: str) -> date:
    """YYYY-MM-DD only: `03/01/2026` could be March or January, so no other form is guessed."""
    match = _ISO_DATE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text.strip()!r} is not an ISO 8601 date: write it as YYYY-MM-DD, e.g. 2026-03-01")
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a date on the calendar") from None


def starts_like_formula(text: str) -> bool:
    """The text begins with a formula character, or with a look-alike that normalises to one
    (NFKC: the full-width ＝ ＋ － ＠, the small ﹦ ﹢ ﹣ ﹫, the super- and subscript ⁼ ⁺ ⁻ ₌ ₊ ₋),
    which a spreadsheet may convert to the formula it looks like (issue 24)."""
    first = text[:1]
    return bool(first) and (first in FORMULA_STARTS or unicodedata.normalize("NFKC", first)[:1] in FORMULA_STARTS)


def unescape_text(cell: str) -> str:
    """Undo :func:`escape_text`: the leading quote that kept a spreadsheet from running a formula."""
    if cell.startswith("'") and starts_like_formula(cell.lstrip("'")):
        return cell[1:]
    return cell


def escape_text(text: str) -> str:
    """OWASP CSV injection defence: a leading quote makes `=cmd|...` plain text in a spreadsheet.
    Text that already starts with quotes before a formula character gets one more, so that
    :func:`unescape_text` restores it exactly."""
    if starts_like_formula(text.lstrip("'")):
        return "'" + text
    return text


def shown(value: str) -> str:
    """A cell as a refusal quotes it: long notes are cut, the row number says where the rest is."""
    return value if len(value) <= VALUE_SHOWN_MAX else value[:VALUE_SHOWN_MAX] + "…"


def refuse(row: int, column: str, value: str, reason: str) -> RefusedRow:
    return RefusedRow(row=row, column=column, value=shown(value), reason=reason)


def require_columns(table: Table, *names: str) -> None:
    for name in names:
        if name not in table.columns:
            raise FileRefused(
                table.file_name,
                f"the required column {name!r} is missing (the header has: {', '.join(table.header)})",
                row=1, column=name,
            )


def require_patient(table: Table, patient_ref: str | None) -> str | None:
    """The patient named at import (normalised by ``dashboard.patient_ref``, FileRefused when it
    cannot be one); a file without a patient_id column must be imported for a named patient."""
    named = named_at_import(table.file_name, patient_ref)
    if "patient_id" not in table.columns and not named:
        raise FileRefused(
            table.file_name,
            "the file has no 'patient_id' column: name the patient when importing it",
            row=1, column="patient_id",
        )
    return named


def row_patient(cells: list[str], table: Table, row: int, patient_ref: str | None) -> str | RefusedRow:
    """The row's patient. When both the column and the import name a patient, they must agree:
    a file meant for one patient must not put another patient's entries in that chart. An
    empty cell takes the patient named at import (``patient_ref``, already normalised)."""
    index = table.columns.get("patient_id")
    value = unescape_text(cells[index].strip()) if index is not None and index < len(cells) else ""
    return cell_patient(row, "patient_id", value, patient_ref)


def cell_patient(row: int, column: str, value: str, named: str | None) -> str | RefusedRow:
    """A patient column's cell as the reference it is (``dashboard.patient_ref``): an empty cell
    takes the patient named at import, a reference that cannot be one is refused with its row,
    column and value, and one that differs from the patient named at import is refused."""
    if not value.strip() and named:
        return named
    try:
        ref = patient_refs.normalise(value)
    except patient_refs.RefusedRef as exc:
        return refuse(row, column, patient_refs.quoted(value), str(exc))
    if named and ref != named:
        reason = f"this row is for patient {ref!r}, but the import is for patient {named!r}"
        return refuse(row, column, value, reason)
    return ref


def extra_cells(cells: list[str], table: Table, row: int) -> RefusedRow | None:
    """Cells beyond the header usually mean a text with an unquoted delimiter: refuse rather
    than keep half of a note."""
    width = len(table.header)
    extra = next((i for i in range(width, len(cells)) if cells[i].strip()), None)
    if extra is None:
        return None
    return refuse(
        row, f"column {extra + 1}", cells[extra],
        f"the row has {len(cells)} cells but the header has {width} columns: "
        "a text that contains the delimiter must be in double quotes",
    )


def cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


def read_rows(table: Table, patient_ref: str | None, read_row, accepted: list, parsed: ParsedFile,
              ready: list | None = None) -> None:
    """Each row's record into ``accepted``, or all its refusals into ``parsed.refused``: every bad
    row is reported, not only the first, and a row is refused whole when any cell is, because
    half a record misleads a review. ``read_row(cells, row, patient)`` returns a record or a
    list of refusals. ``ready``, when given, holds each row's record already read by a faster
    first pass (None where this row is to be read here)."""
    for i, (row, cells) in enumerate(table.rows):
        if ready is not None and ready[i] is not None:
            accepted.append(ready[i])
            continue
        patient = row_patient(cells, table, row, patient_ref)
        refusals = [] if isinstance(patient, str) else [patient]
        extra = extra_cells(cells, table, row)
        refusals += [extra] if extra else []
        result = read_row(cells, row, patient if isinstance(patient, str) else "")
        refusals += result if isinstance(result, list) else []
        if refusals:
            parsed.refused += table.as_written(refusals)
        else:
            accepted.append(result)


def report_unknown_columns(table: Table, known: set[str], parsed: ParsedFile) -> None:
    """Unknown columns never fail an import; the report counts the rows that had a value there.
    Beyond :data:`UNKNOWN_COLUMNS_LISTED` they are one line ("1,000,000 unknown columns", with the
    rows that had a value in any of them), so that a hostile header cannot flood the report."""
    unknown = [i for i, name in enumerate(table.header) if normalise_header(name) not in known]
    if len(unknown) > UNKNOWN_COLUMNS_LISTED:
        filled = sum(1 for _, cells in table.rows if any(c.strip() for c in (cell(cells, i) for i in unknown)))
        parsed.ignored[f"{len(unknown):,} unknown columns"] = filled
        return
    for i in unknown:
        name = table.header[i]
        filled = sum(1 for _, cells in table.rows if cell(cells, i).strip())
        if name or filled:
            label = f"column '{name}'" if name else f"column {i + 1} (no name)"
            parsed.ignored[label] = filled

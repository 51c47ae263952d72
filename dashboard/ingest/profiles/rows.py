"""A file's rows read by a profile, one at a time: each row's patient, its date (fill-down,
fallback date, Unix times, joined time columns, the patient's time zone) and its values
("not recorded" words, value maps, patterns, packed ratings, rescaling, the native format's ranges)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dashboard import fields
from dashboard.fields import SIDE_EFFECTS
from dashboard.ingest.csv_text import (
    Table,
    cell,
    cell_patient,
    normalise_header,
    parse_number,
    refuse,
    unescape_text,
)
from dashboard.ingest.diary_csv import NOTES_MAX, RANGES, SCALES, TEXTS, UNITS, parse_severity
from dashboard.ingest.profiles.patterns import example, has_time
from dashboard.ingest.profiles.regex_guard import RULE_CELL_MAX
from dashboard.ingest.profiles.spec import UNIX_LAYOUTS, in_range, item_key, named_columns
from dashboard.ingest.profiles.validate import compile_rule
from dashboard.ingest.records import FileRefused, RefusedRow

_WHOLE = re.compile(r"[0-9]+")
_UNIX = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class When:
    """A row's date, with the cell it came from, so that a refusal can name that cell."""

    at: datetime
    offset: int | None
    has_time: bool
    column: str  # the column the date came from, as the header writes it
    text: str


class RowReader:
    """One file read by one profile: column positions, fill-down memory, and the rules per cell."""

    def __init__(self, table: Table, profile: dict, patient_ref: str | None, today: date):
        self.table, self.p, self.today = table, profile, today
        self.patient_ref = patient_ref  # normalised by parse_with_profile (dashboard.patient_ref)
        self.index = self._positions()
        self.filled: dict[str, str] = {}
        self.ignored_items: Counter[str] = Counter()
        self.item_spelling: dict[str, str] = {}
        if profile["layout"] == "long":
            self.items = {item_key(k): v for k, v in profile["items"].items()}
        self.value_maps = {
            name: {item_key(label): number for label, number in labels.items()}
            for name, labels in profile["value_maps"].items()
        }
        self.not_recorded = {item_key(w) for w in profile.get("not_recorded") or ()}
        self.rules = {normalise_header(c): (kind, compile_rule(regex))
                      for c, rule in (profile.get("rules") or {}).items() for kind, regex in rule.items()}
        self.zone = ZoneInfo(profile["timezone"]) if profile.get("timezone") else None
        self.unmatched: Counter[str] = Counter()  # cells a column's rule found nothing in, by column

    def _positions(self) -> dict[str, int]:
        """Where each named column is; a named column missing from the file refuses the file."""
        p, columns, header = self.p, self.table.columns, self.table.header
        wanted = dict(named_columns(p))
        wanted.update({f"columns[{c!r}]": c for c, f in (p.get("columns") or {}).items() if f})
        missing = [(role, name) for role, name in wanted.items() if normalise_header(name) not in columns]
        if missing:
            named = ", ".join(f"{name!r} ({role})" for role, name in missing)
            reason = f"column {named} named in the profile is not in the file (the header has: {', '.join(header)})"
            raise FileRefused(self.table.file_name, reason, row=1, column=missing[0][1])
        return {name: columns[normalise_header(name)] for name in wanted.values()}

    def label(self, name: str) -> str:
        return self.table.header[self.index[name]]

    def patient(self, cells: list[str], row: int) -> str | RefusedRow:
        """As in the native format: column and import must agree; an empty cell takes the named patient."""
        column = self.p["patient_column"]
        value = unescape_text(cell(cells, self.index[column]).strip()) if column else ""
        label = self.label(column) if column else "patient"
        return cell_patient(row, label, value, self.patient_ref)

    # dates

    def remember(self, cells: list[str]) -> None:
        """Fill-down memory: every row counts, ignored items too, as the spreadsheet's reader sees them."""
        for part, column in (self.p["date_parts"] or {}).items():
            text = cell(cells, self.index[column]).strip()
            if text:
                self.filled[part] = text

    def when(self, cells: list[str], row: int) -> When | RefusedRow:
        p = self.p
        try:
            when = self._primary(cells)
        except _BadDate as primary:
            if not p["fallback_date_column"]:
                return refuse(row, primary.column, primary.text, primary.reason)
            try:
                when = self._dated(cells, p["fallback_date_column"], p["fallback_date_format"])
            except _BadDate as fallback:
                reason = f"{primary.reason}; and the fallback date cannot be read either: {fallback.reason}"
                return refuse(row, primary.column, primary.text, reason)
        if self.zone is not None and when.offset is None and when.has_time:
            # The patient's zone for a time written without an offset. A time the clock skipped
            # (02:30 when summer time starts) takes the offset before the change, and a time the
            # clock passed twice (02:30 when it ends) the first, summer-time one (PEP 495, fold=0).
            when.offset = int(when.at.replace(tzinfo=self.zone).utcoffset().total_seconds() // 60)
        if p["one_entry_per_day"]:
            when.at, when.offset, when.has_time = datetime.combine(when.at.date(), datetime.min.time()), None, False
        problem = fields.DIARY.problem(when.at, self.today)
        if problem:
            return refuse(row, when.column, when.text, problem)
        return when

    def _primary(self, cells: list[str]) -> When:
        p = self.p
        if p["date_parts"]:
            when = self._from_parts(cells)
        else:
            when = self._dated(cells, p["date_column"], p["date_format"])
        if p.get("time_parts"):
            self._join_parts(cells, when)
        if p["time_column"]:
            text = cell(cells, self.index[p["time_column"]]).strip()
            if text and item_key(text) not in self.not_recorded:
                try:
                    clock = datetime.strptime(text, p["time_format"]).time()
                except ValueError:
                    reason = f"{text!r} is not a time like {example(p['time_format'])} ({p['time_format']})"
                    raise _BadDate(self.label(p["time_column"]), text, reason) from None
                when.at, when.has_time = datetime.combine(when.at.date(), clock), True
        return when

    def _join_parts(self, cells: list[str], when: When) -> None:
        """An hour column and a minute column (iMoodJournal) joined to the row's date."""
        clock = {}
        for part, column in self.p["time_parts"].items():
            if not column:
                clock[part] = 0
                continue
            text = cell(cells, self.index[column]).strip()
            if not text or item_key(text) in self.not_recorded:
                return  # no time: the entry keeps its date only
            top = 23 if part == "hour" else 59
            if not _WHOLE.fullmatch(text) or int(text) > top:
                raise _BadDate(self.label(column), text, f"{text!r} is not {'an' if part == 'hour' else 'a'} {part} "
                                                         f"(a whole number from 0 to {top})")
            clock[part] = int(text)
        when.at, when.has_time = datetime.combine(when.at.date(), datetime.min.time()).replace(**clock), True

    def _unix(self, text: str, label: str, layout: str) -> When:
        """Seconds or milliseconds since 1970-01-01 00:00 UTC: an instant, shown in the patient's
        zone when the profile names one, else in UTC (offset 0)."""
        try:
            if not _UNIX.fullmatch(text):
                raise ValueError(text)
            number = float(text)
            instant = _EPOCH + (timedelta(milliseconds=number) if layout == "unix_ms" else timedelta(seconds=number))
        except (ValueError, OverflowError):
            unit = "milliseconds" if layout == "unix_ms" else "seconds"
            raise _BadDate(label, text, f"{text!r} is not a Unix time in {unit} since 1970 (e.g. {example(layout)})") \
                from None
        local = instant.astimezone(self.zone) if self.zone is not None else instant
        offset = int(local.utcoffset().total_seconds() // 60)
        return When(local.replace(tzinfo=None), offset, True, label, text)

    def _dated(self, cells: list[str], column: str, pattern: str) -> When:
        text = cell(cells, self.index[column]).strip()
        label = self.label(column)
        if not text:
            raise _BadDate(label, text, "the date is empty")
        if pattern in UNIX_LAYOUTS:
            return self._unix(text, label, pattern)
        try:
            at = datetime.strptime(text, pattern)
        except ValueError:
            raise _BadDate(label, text, f"{text!r} is not a date like {example(pattern)} ({pattern})") from None
        offset = None
        if at.tzinfo is not None:
            offset, at = int(at.utcoffset().total_seconds() // 60), at.replace(tzinfo=None)
        return When(at, offset, has_time(pattern), label, text)

    def _from_parts(self, cells: list[str]) -> When:
        written_here = {part: cell(cells, self.index[column]).strip() for part, column in self.p["date_parts"].items()}
        numbers = {}
        for part, column in self.p["date_parts"].items():
            text = written_here[part]
            if not text and self.p["fill_down"]:
                text = self.filled.get(part, "")
            if not _WHOLE.fullmatch(text):
                reason = f"the {part} is empty" if not text else f"{text!r} is not a {part} (a whole number)"
                raise _BadDate(self.label(column), text, reason)
            numbers[part] = int(text)
        day_label = self.label(self.p["date_parts"]["day"])
        written = f"{numbers['year']}-{numbers['month']}-{numbers['day']}"
        try:
            day = date(numbers["year"], numbers["month"], numbers["day"])
        except (ValueError, OverflowError):  # a day of 99999999999999999999 overflows a C int
            reason = f"{written} (year-month-day) is not a date on the calendar"
            raise _BadDate(day_label, str(numbers["day"]), reason) from None
        return When(datetime.combine(day, datetime.min.time()), None, False, day_label, written)

    # values

    def values(self, cells: list[str], row: int) -> list[tuple[str, object]] | list[RefusedRow] | None:
        """(field, value) pairs of the row, its refusals, or None for a long row whose item is not mapped."""
        if self.p["layout"] == "long":
            item = cell(cells, self.index[self.p["item_column"]]).strip()
            target = self.items.get(item_key(item))
            if target is None:
                self.item_spelling.setdefault(item_key(item), item)
                self.ignored_items[item_key(item)] += 1
                return None
            sources = [(self.p["value_column"], target)]
        else:
            sources = [(column, target) for column, target in self.p["columns"].items() if target]
        found, refused = [], []
        for column, target in sources:
            text = cell(cells, self.index[column])
            if not text.strip() or self._placeholder(target, text):
                continue  # not recorded, never 0
            try:
                rule = self.rules.get(normalise_header(column))
                value = self._ruled(target, text, rule) if rule else self._value(target, text)
            except ValueError as exc:
                refused.append(refuse(row, self.label(column), text, str(exc)))
                continue
            if value is None:
                self.unmatched[column] += 1
            else:
                found.append((target, value))
        return refused or found

    def _placeholder(self, name: str, text: str) -> bool:
        """A "not recorded" word, unless the field's value map gives it a number."""
        key = item_key(text)
        return key in self.not_recorded and key not in self.value_maps.get(name, {})

    def _ruled(self, name: str, text: str, rule: tuple[str, re.Pattern]) -> float | int | None:
        """The number a column's rule reads: every match's named number summed (``pattern``: a list
        cell sums its items), or the first match's (``label``: one rating out of a packed cell).
        None when nothing matches: the field is not recorded, and the report counts such cells."""
        kind, compiled = rule
        if len(text) > RULE_CELL_MAX:  # a regular expression's time grows with the cell (regex_guard)
            raise ValueError(f"the cell has {len(text):,} characters; the column's {kind} {compiled.pattern!r} "
                             f"reads cells of at most {RULE_CELL_MAX:,}")
        (group,) = compiled.groupindex
        matches = list(compiled.finditer(text))
        if not matches:
            return None
        numbers = []
        for m in matches[:1] if kind == "label" else matches:
            try:
                numbers.append(parse_number(m.group(group) or "", decimal_comma=self.table.decimal_comma))
            except ValueError:
                raise ValueError(f"{m.group(group)!r}, found by the column's {kind} {compiled.pattern!r}, "
                                 f"is not a number") from None
        return self._in_range(name, round(sum(numbers), 6))

    def _value(self, name: str, text: str):
        if name in TEXTS:
            text = unescape_text(text)
            if name == "notes" and len(text) > NOTES_MAX:
                raise ValueError(f"notes have at most {NOTES_MAX:,} characters (these have {len(text):,})")
            return text
        labels = self.value_maps.get(name, {})
        if item_key(text) in labels:
            number = labels[item_key(text)]
            return int(number) if name in SIDE_EFFECTS else number
        scale = self.p["scale"].get(name)
        graded = name in SIDE_EFFECTS and not scale  # figures or the words none/mild/moderate/severe
        try:
            if graded:
                return parse_severity(text, self.table.decimal_comma)
            number = parse_number(text, decimal_comma=self.table.decimal_comma)
        except ValueError:
            if labels:
                raise ValueError(f"{text.strip()!r} is not a label of the profile's {name} scale "
                                 f"(labels: {', '.join(self.p['value_maps'][name])})") from None
            if graded:
                raise
            raise ValueError(f"{text.strip()!r} is not a number; {_range_text(name)}") from None
        return self._in_range(name, number)

    def _in_range(self, name: str, number: float):
        """A number read from the file, rescaled when the profile says so, within the field's range."""
        scale = self.p["scale"].get(name)
        if scale:
            number = _rescale(name, number, scale)
        if not in_range(name, number):
            raise ValueError(_range_text(name) + (f" ({number:g} after rescaling)" if scale else ""))
        return int(number) if name in SIDE_EFFECTS else number


class _BadDate(Exception):
    def __init__(self, column: str, text: str, reason: str):
        super().__init__(reason)
        self.column, self.text, self.reason = column, text, reason


def _range_text(name: str) -> str:
    if name in SIDE_EFFECTS:
        return f"{name} is graded 0 (none), 1 (mild), 2 (moderate) or 3 (severe)"
    low, high = RANGES[name]
    decimals = ", decimals allowed" if name in SCALES else ""
    return f"{name} must be a number from {low:g} to {high:g}{UNITS.get(name, '')}{decimals}"


def _rescale(name: str, number: float, scale: dict) -> float:
    (a, b), (c, d) = scale["from"], scale["to"]
    if not min(a, b) <= number <= max(a, b):
        raise ValueError(f"{number:g} is outside the app's scale {a:g} to {b:g} given in the profile")
    return round(c + (number - a) * (d - c) / (b - a), 6)

"""Mapping profiles: another diary app's CSV layout read as diary entries (import-formats.md section 4).

Staff map a layout once on the import page and save the mapping under a name; the next file
from the same app is read the same way, from the page or with
``python -m dashboard import FILE --profile NAME``. Profiles live in ``mapping_profile``.
A profile is a JSON-able dict, checked by :func:`validate_profile` before it is saved:

``layout`` (required)
    ``"wide"``: one row per entry, and ``columns`` maps file columns to diary fields.
    ``"long"``: one row per item, as in ``name, intensity, date`` files: ``item_column`` holds
    the item's name, ``value_column`` its value, and ``items`` maps item names to diary fields.
``columns`` / ``items``
    ``{file column or item name: diary field or null}``. null means "ignored on purpose".
    Ignored columns and items are reported with the number of rows that had them, never
    silently dropped. Columns match like native headers (case, spaces and hyphens don't
    matter); item names match ignoring case and surrounding spaces.
``header_row`` (default 1)
    The row holding the real header. Rows above it are skipped, and refusals still count
    the file's own rows, so row 5 is the fifth row in a spreadsheet. MonsterMizer's
    ``pain.csv`` has a note on row 1 and its header on row 2.
The date of each row, one of:
    ``date_column`` + ``date_format``: a ``strptime`` pattern that staff choose, such as
    ``%Y-%m-%d %H:%M:%S``. Because the pattern is explicit, nothing is guessed: a cell that does
    not match it is refused.
    ``date_parts``: ``{"year": column, "month": column, "day": column}``, with ``fill_down``
    (default false) set to true when a blank part means "same as the row above", as hand-kept
    spreadsheets write it.
``time_column`` + ``time_format`` (optional)
    The time of day from a column of its own. Daylio writes "10:00 pm", read with ``%I:%M %p``.
    A blank time gives an entry without a time.
``fallback_date_column`` + ``fallback_date_format`` (optional)
    Used on rows whose primary date is blank or not a date. MonsterMizer writes
    ``startday=0, startmonth=""`` when the day was not chosen, and its ``date`` (the time the
    entry was written) dates those rows.
``one_entry_per_day`` (default false)
    All of a day's rows make one entry at that date, and the time is dropped. This suits apps
    that log each item separately, a few seconds apart.
``value_maps``
    ``{field: {label: number}}``: words read as numbers on the diary's own scale, matched
    ignoring case and surrounding spaces. Example: Daylio's default moods (:data:`DAYLIO_MOODS`)
    read as rad 10, good 7.5, meh 5, bad (formerly "fugly") 2.5, awful 0. Daylio users rename
    their moods, so staff map the labels that the file holds.
``scale``
    ``{field: {"from": [lo, hi], "to": [lo, hi]}}``: a linear rescaling of the app's own number
    scale. An app's 1-5 becomes the diary's 0-10 with ``from [1, 5], to [0, 10]``, and
    ``from [5, 1]`` reverses it. The rescaling applies to numbers read from the file, not to
    ``value_maps`` numbers, and a value outside ``from`` is refused. Side effects must come out
    as whole grades 0-3, so MonsterMizer's 0/1/2 observation flags are best mapped as written
    (0 none, 1 mild, 2 moderate). Stretching them to 0-3 would invent a grade of 1.5.
``aggregate`` (default ``"max"``)
    Decides what happens when several rows or columns give the same field for one entry, that
    is the same patient at the same time. One example is pain.csv's several body regions a day.
    ``"max"`` keeps the worst value and ``"mean"`` the mean, rounded to 3 decimals. Side-effect
    grades always keep the worst. ``dose_mg`` always adds up, because the native diary records
    the sum of doses taken with an entry. Texts are joined with "; ".
``patient_column`` (optional)
    The column holding the clinic's patient reference. Without one, the patient is named at
    import.
``name``
    The profile's name, set by :func:`load_profile`. It has at most :data:`NAME_MAX` characters
    because imports record ``profile:<name>`` as their format.

Values keep the native format's rules (:mod:`dashboard.ingest.diary_csv`):

- ranges and severity words are the same;
- an empty cell means "not recorded";
- an entry needs a measure;
- a date after the import day is refused.

Rows that make one entry are imported whole or not at all.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from statistics import fmean

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.db import audit
from dashboard.db.models import SIDE_EFFECTS, MappingProfile
from dashboard.ingest.csv_text import (
    PATIENT_REF_MAX,
    Table,
    cell,
    decode,
    extra_cells,
    normalise_header,
    parse_number,
    read_csv,
    refuse,
    report_unknown_columns,
    sniff_delimiter,
    unescape_text,
)
from dashboard.ingest.diary_csv import (
    BP_RANGES,
    MEASURES,
    NOTES_MAX,
    RANGES,
    SCALES,
    SEVERITY_WORDS,
    TEXTS,
    UNITS,
    parse_severity,
)
from dashboard.ingest.records import DiaryRecord, FileRefused, ParsedFile, RefusedRow
from dashboard.ingest.writer import utcnow

FIELDS = (*MEASURES, *SIDE_EFFECTS, *TEXTS)
LAYOUTS = ("wide", "long")
AGGREGATES = ("max", "mean")
NAME_MAX = 32  # ImportRecord.format and DiaryEntry.source keep "profile:<name>" in 40 characters
KEYS = (
    "name", "layout", "header_row", "columns", "item_column", "value_column", "items",
    "date_column", "date_format", "date_parts", "fill_down", "time_column", "time_format",
    "fallback_date_column", "fallback_date_format", "one_entry_per_day",
    "value_maps", "scale", "aggregate", "patient_column",
)
DATE_PARTS = ("year", "month", "day")
# Daylio's five default moods, evenly spaced on the diary's 0 (worst) - 10 (best) mood scale.
DAYLIO_MOODS = {"rad": 10.0, "good": 7.5, "meh": 5.0, "bad": 2.5, "fugly": 2.5, "awful": 0.0}
NO_DATE = "no column can serve as the date: set 'date_column' with 'date_format', or 'date_parts'"
_EXAMPLE = datetime(2026, 3, 1, 21, 30, 5)  # day 1, month 3: a pattern's example shows which is which
_DIRECTIVE = re.compile(r"%(.)")
_DATE_DIRECTIVES = ({"Y", "y"}, {"m", "b", "B"}, {"d"})
_TIME_DIRECTIVES = set("HIMSpfzXc")
_WHOLE = re.compile(r"[0-9]+")


class ProfileError(ValueError):
    """A profile that cannot be used: the message names the key that is wrong."""


class ProfileExists(ProfileError):
    """Saving would overwrite a different profile of the same name."""


# --- validation ------------------------------------------------------------------------------------


def validate_profile(mapping: dict) -> dict:
    """The profile with defaults filled in, or ProfileError naming the wrong key. Checked at save,
    so that a file is never half-read by a mapping that cannot work."""
    if not isinstance(mapping, dict):
        raise ProfileError("a profile is a JSON object (a dict) with keys such as 'layout' and 'columns'")
    unknown = sorted(set(mapping) - set(KEYS))
    if unknown:
        raise ProfileError(f"unknown key {unknown[0]!r} (the keys are: {', '.join(KEYS)})")
    out: dict = {}
    if mapping.get("name") is not None:
        out["name"] = check_name(mapping["name"])
    out["layout"] = _choice(mapping, "layout", LAYOUTS, None)
    out["header_row"] = _whole(mapping, "header_row")
    if out["layout"] == "wide":
        _absent(mapping, ("item_column", "value_column", "items"), "a long layout")
        out["columns"] = _field_map(mapping, "columns", normalise_header)
    else:
        _absent(mapping, ("columns",), "a wide layout")
        out["item_column"] = _column(mapping, "item_column", required=True)
        out["value_column"] = _column(mapping, "value_column", required=True)
        out["items"] = _field_map(mapping, "items", _item_key)
    out.update(_dates(mapping))
    out["one_entry_per_day"] = _flag(mapping, "one_entry_per_day")
    out["patient_column"] = _column(mapping, "patient_column")
    out["aggregate"] = _choice(mapping, "aggregate", AGGREGATES, "max")
    mapped = {f for f in (out["columns"] if out["layout"] == "wide" else out["items"]).values() if f}
    out["value_maps"] = _value_maps(mapping.get("value_maps") or {}, mapped)
    out["scale"] = _scales(mapping.get("scale") or {}, mapped)
    _roles_distinct(out)
    return out


def check_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ProfileError("name: a profile needs a name")
    if len(name.strip()) > NAME_MAX:
        raise ProfileError(f"name: at most {NAME_MAX} characters (imports record 'profile:<name>')")
    return name.strip()


def _choice(m: dict, key: str, choices: tuple, default):
    value = m.get(key, default)
    if value is None:
        raise ProfileError(f"{key}: missing; give one of {', '.join(map(repr, choices))}")
    if value not in choices:
        raise ProfileError(f"{key}: {value!r} is not one of {', '.join(map(repr, choices))}")
    return value


def _whole(m: dict, key: str) -> int:
    value = m.get(key, 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProfileError(f"{key}: {value!r} is not a row number (1 is the first row of the file)")
    return value


def _flag(m: dict, key: str) -> bool:
    value = m.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ProfileError(f"{key}: {value!r} is not true or false")
    return value


def _absent(m: dict, keys: tuple, layout: str) -> None:
    for key in keys:
        if m.get(key) not in (None, "", {}):
            raise ProfileError(f"{key}: belongs to {layout}, not to layout {m.get('layout')!r}")


def _column(m: dict, key: str, *, required: bool = False) -> str | None:
    value = m.get(key)
    if value is None or value == "":
        if required:
            raise ProfileError(f"{key}: name the file's column")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ProfileError(f"{key}: {value!r} is not a column name")
    return value.strip()


def _item_key(name: str) -> str:
    return name.strip().casefold()


def _field_map(m: dict, key: str, normalise) -> dict[str, str | None]:
    value = m.get(key)
    what = "column" if key == "columns" else "item"
    if not isinstance(value, dict) or not value:
        raise ProfileError(f"{key}: map each {what} to a diary field, e.g. {{\"Knee Pain\": \"pain\"}}")
    out: dict[str, str | None] = {}
    seen: dict[str, str] = {}
    for name, target in value.items():
        if not isinstance(name, str) or not name.strip():
            raise ProfileError(f"{key}: {name!r} is not a {what} name")
        if normalise(name) in seen:
            raise ProfileError(f"{key}: {seen[normalise(name)]!r} and {name!r} are the same {what}")
        seen[normalise(name)] = name
        if target in (None, ""):
            out[name.strip()] = None
        elif target in FIELDS:
            out[name.strip()] = target
        else:
            raise ProfileError(f"{key}[{name!r}]: {target!r} is not a diary field (fields: {', '.join(FIELDS)})")
    if not any(out.values()):
        raise ProfileError(f"{key}: no {what} is mapped to a diary field")
    return out


def _directives(pattern: str) -> set[str]:
    return set(_DIRECTIVE.findall(pattern.replace("%%", "")))


def has_time(pattern: str) -> bool:
    return bool(_directives(pattern) & _TIME_DIRECTIVES)


def example(pattern: str) -> str:
    """How 1 March 2026, 21:30:05 looks in ``pattern``: shows staff what a pattern means."""
    return _EXAMPLE.replace(tzinfo=timezone(timedelta(hours=1))).strftime(pattern)


def _pattern(m: dict, key: str, *, kind: str) -> str:
    pattern = m.get(key)
    if not isinstance(pattern, str) or not pattern.strip():
        raise ProfileError(f"{key}: give the {kind} pattern, e.g. {'%Y-%m-%d' if kind == 'date' else '%H:%M'}")
    used = _directives(pattern)
    if kind == "date" and not all(used & need for need in _DATE_DIRECTIVES):
        raise ProfileError(f"{key}: {pattern!r} must hold a year (%Y), a month (%m or %b) and a day (%d)")
    if kind == "time":
        if not used & {"H", "I"} or used & {"Y", "y", "m", "b", "B", "d", "j"}:
            raise ProfileError(f"{key}: {pattern!r} must hold an hour (%H, or %I with %p) and no date")
        if "I" in used and "p" not in used:
            raise ProfileError(f"{key}: {pattern!r} has a 12-hour clock (%I) without am/pm (%p)")
    try:
        datetime.strptime(example(pattern), pattern)
    except ValueError as exc:
        raise ProfileError(f"{key}: {pattern!r} is not a pattern this importer can read ({exc})") from None
    return pattern


def _dates(m: dict) -> dict:
    out = {key: None for key in ("date_column", "date_format", "date_parts", "time_column", "time_format",
                                 "fallback_date_column", "fallback_date_format")}
    by_column, parts = m.get("date_column") not in (None, ""), m.get("date_parts") not in (None, {})
    if by_column == parts:
        raise ProfileError("give either 'date_column' or 'date_parts', not both" if parts else NO_DATE)
    out["fill_down"] = _flag(m, "fill_down")
    if by_column:
        if out["fill_down"]:
            raise ProfileError("fill_down: applies to 'date_parts' only")
        out["date_column"] = _column(m, "date_column")
        out["date_format"] = _pattern(m, "date_format", kind="date")
    else:
        given = m["date_parts"]
        if not isinstance(given, dict) or set(given) != set(DATE_PARTS):
            raise ProfileError('date_parts: name the columns as {"year": ..., "month": ..., "day": ...}')
        out["date_parts"] = {part: _column(given, part, required=True) for part in DATE_PARTS}
    if m.get("time_column") or m.get("time_format"):
        out["time_column"] = _column(m, "time_column", required=True)
        out["time_format"] = _pattern(m, "time_format", kind="time")
        if out["date_format"] and has_time(out["date_format"]):
            raise ProfileError(f"time_column: the date_format {out['date_format']!r} already holds a time")
    if m.get("fallback_date_column") or m.get("fallback_date_format"):
        out["fallback_date_column"] = _column(m, "fallback_date_column", required=True)
        out["fallback_date_format"] = _pattern(m, "fallback_date_format", kind="date")
    return out


def _field_range(name: str) -> tuple[float, float]:
    return (0.0, 3.0) if name in SIDE_EFFECTS else RANGES[name]


def _numbered_field(key: str, name, mapped: set[str]) -> None:
    if name not in FIELDS:
        raise ProfileError(f"{key}: {name!r} is not a diary field (fields: {', '.join(FIELDS)})")
    if name in TEXTS:
        raise ProfileError(f"{key}[{name!r}]: {name} is free text, not a number")
    if name not in mapped:
        raise ProfileError(f"{key}[{name!r}]: no column or item is mapped to {name}")


def _in_range(name: str, value: float) -> bool:
    low, high = _field_range(name)
    return low <= value <= high and (name not in SIDE_EFFECTS or value == int(value))


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _value_maps(given, mapped: set[str]) -> dict[str, dict[str, float]]:
    if not isinstance(given, dict):
        raise ProfileError("value_maps: map each field to {label: number}, e.g. {\"mood\": {\"rad\": 10}}")
    out = {}
    for name, labels in given.items():
        _numbered_field("value_maps", name, mapped)
        if not isinstance(labels, dict) or not labels:
            raise ProfileError(f"value_maps[{name!r}]: map each label to a number, e.g. {{\"good\": 7.5}}")
        low, high = _field_range(name)
        seen: dict[str, str] = {}
        out[name] = {}
        for label, number in labels.items():
            where = f"value_maps[{name!r}][{label!r}]"
            if not isinstance(label, str) or not label.strip():
                raise ProfileError(f"value_maps[{name!r}]: {label!r} is not a label")
            if _item_key(label) in seen:
                raise ProfileError(f"value_maps[{name!r}]: {seen[_item_key(label)]!r} and {label!r} are the same label")
            seen[_item_key(label)] = label
            if not _number(number) or not _in_range(name, number):
                whole = " (a whole grade)" if name in SIDE_EFFECTS else ""
                raise ProfileError(f"{where}: give the number this label stands for, {low:g} to {high:g}{whole}")
            out[name][label.strip()] = float(number)
    return out


def _scales(given, mapped: set[str]) -> dict[str, dict[str, list[float]]]:
    if not isinstance(given, dict):
        raise ProfileError("scale: map each field to {\"from\": [lo, hi], \"to\": [lo, hi]}")
    out = {}
    for name, spec in given.items():
        _numbered_field("scale", name, mapped)
        ends = {}
        for end in ("from", "to"):
            pair = spec.get(end) if isinstance(spec, dict) else None
            if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(map(_number, pair)):
                raise ProfileError(f"scale[{name!r}][{end!r}]: give two numbers [lo, hi]")
            ends[end] = [float(pair[0]), float(pair[1])]
        if ends["from"][0] == ends["from"][1]:
            raise ProfileError(f"scale[{name!r}]['from']: the two ends must differ")
        low, high = _field_range(name)
        if not all(low <= v <= high for v in ends["to"]):
            raise ProfileError(f"scale[{name!r}]['to']: {name} runs from {low:g} to {high:g}")
        out[name] = ends
    return out


def _roles(p: dict) -> dict[str, str]:
    """Each column a profile names, by what it is used for."""
    roles = {key: p[key] for key in ("date_column", "time_column", "fallback_date_column", "patient_column",
                                     "item_column", "value_column") if p.get(key)}
    for part, name in (p.get("date_parts") or {}).items():
        roles[f"date_parts[{part!r}]"] = name
    return roles


def role_columns(p: dict) -> list[str]:
    """The columns a profile uses for dates, time, patient, items and values (not as diary fields)."""
    return list(_roles(p).values())


def same_profile(a: dict, b: dict) -> bool:
    """Whether two profiles read files the same way, whatever their names and spelled-out defaults."""
    def checked(p: dict) -> dict:
        return validate_profile({k: v for k, v in p.items() if k != "name"})

    return checked(a) == checked(b)


def _roles_distinct(p: dict) -> None:
    seen: dict[str, str] = {}
    used = list(_roles(p).items()) + [(f"columns[{c!r}]", c) for c, f in (p.get("columns") or {}).items() if f]
    for role, name in used:
        key = normalise_header(name)
        if key in seen:
            raise ProfileError(f"column {name!r} is both {seen[key]} and {role}")
        seen[key] = role


# --- storage ---------------------------------------------------------------------------------------


def save_profile(session: Session, name: str, mapping: dict, *, created_by: str, replace: bool = False) -> None:
    """Store a checked profile. Another profile under the same name is kept unless ``replace``:
    files already imported with it were read by that mapping."""
    name = check_name(name)
    checked = validate_profile({k: v for k, v in mapping.items() if k != "name"})
    stored = session.scalar(select(MappingProfile).where(MappingProfile.name == name))
    if stored is not None and stored.mapping == checked:
        return
    if stored is not None and not replace:
        raise ProfileExists(f"name: a different profile called {name!r} exists; choose another name or replace it")
    if stored is None:
        session.add(MappingProfile(name=name, mapping=checked, created_by=created_by, created_at=utcnow()))
    else:
        stored.mapping, stored.created_by, stored.created_at = checked, created_by, utcnow()
    session.flush()
    audit.record(session, actor=created_by, action="save mapping profile",
                 detail={"profile": name, "replaced": stored is not None})


def load_profile(session: Session, name: str) -> dict:
    stored = session.scalar(select(MappingProfile).where(MappingProfile.name == name.strip()))
    if stored is None:
        names = list_profiles(session)
        saved = ", ".join(names) if names else "none yet"
        raise LookupError(f"no mapping profile called {name!r} (saved profiles: {saved})")
    return {**stored.mapping, "name": stored.name}


def list_profiles(session: Session) -> list[str]:
    return list(session.scalars(select(MappingProfile.name).order_by(MappingProfile.name)))


# --- reading a file --------------------------------------------------------------------------------


def read_profile_table(raw: bytes, file_name: str, header_row: int = 1) -> Table:
    """The file as cells, its header on ``header_row``; data rows keep the file's row numbers."""
    if header_row == 1:
        return read_csv(raw, file_name)
    lines = io.StringIO(decode(raw, file_name), newline="")
    for _ in range(header_row - 1):
        lines.readline()
    rest = lines.read()
    if not rest.strip():
        raise FileRefused(file_name, f"the header should be on row {header_row}, but the file ends before it",
                          row=header_row)
    if rest[0] in "\r\n":
        raise FileRefused(file_name, f"row {header_row} is blank, but the profile says the header is there",
                          row=header_row)
    offset = header_row - 1
    try:
        table = read_csv(rest.encode("utf-8"), file_name)
    except FileRefused as exc:
        r = exc.refused
        row = r.row + offset if isinstance(r.row, int) else r.row
        raise FileRefused(file_name, r.reason, row=row, column=r.column, value=r.value) from None
    return Table(file_name, table.header, [(row + offset, cells) for row, cells in table.rows], table.delimiter)


@dataclass
class _When:
    at: datetime
    offset: int | None
    has_time: bool
    column: str  # the column the date came from, as the header writes it
    text: str


@dataclass
class _Entry:
    rows: list[int]
    when: _When
    values: dict[str, list] = field(default_factory=dict)


class _Reader:
    """One file read by one profile: column positions, fill-down memory, and the rules per cell."""

    def __init__(self, table: Table, profile: dict, patient_ref: str | None, today: date):
        self.table, self.p, self.today = table, profile, today
        self.patient_ref = patient_ref.strip() if patient_ref and patient_ref.strip() else None
        self.index = self._positions()
        self.filled: dict[str, str] = {}
        self.ignored_items: Counter[str] = Counter()
        self.item_spelling: dict[str, str] = {}
        if profile["layout"] == "long":
            self.items = {_item_key(k): v for k, v in profile["items"].items()}
        self.value_maps = {
            name: {_item_key(label): number for label, number in labels.items()}
            for name, labels in profile["value_maps"].items()
        }

    def _positions(self) -> dict[str, int]:
        """Where each named column is; a named column missing from the file refuses the file."""
        p, columns, header = self.p, self.table.columns, self.table.header
        wanted = dict(_roles(p))
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
        if not value:
            return self.patient_ref or refuse(row, label, "", "the patient reference is empty")
        if self.patient_ref and value != self.patient_ref:
            reason = f"this row is for patient {value!r}, but the import is for patient {self.patient_ref!r}"
            return refuse(row, label, value, reason)
        if len(value) > PATIENT_REF_MAX:
            return refuse(row, label, value, f"a patient reference has at most {PATIENT_REF_MAX} characters")
        return value

    # dates

    def remember(self, cells: list[str]) -> None:
        """Fill-down memory: every row counts, ignored items too, as the spreadsheet's reader sees them."""
        for part, column in (self.p["date_parts"] or {}).items():
            text = cell(cells, self.index[column]).strip()
            if text:
                self.filled[part] = text

    def when(self, cells: list[str], row: int) -> _When | RefusedRow:
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
        if p["one_entry_per_day"]:
            when.at, when.offset, when.has_time = datetime.combine(when.at.date(), datetime.min.time()), None, False
        if when.at.date() > self.today:
            return refuse(row, when.column, when.text, f"the date is after the import day ({self.today})")
        return when

    def _primary(self, cells: list[str]) -> _When:
        p = self.p
        if p["date_parts"]:
            when = self._from_parts(cells)
        else:
            when = self._dated(cells, p["date_column"], p["date_format"])
        if p["time_column"]:
            text = cell(cells, self.index[p["time_column"]]).strip()
            if text:
                try:
                    clock = datetime.strptime(text, p["time_format"]).time()
                except ValueError:
                    reason = f"{text!r} is not a time like {example(p['time_format'])} ({p['time_format']})"
                    raise _BadDate(self.label(p["time_column"]), text, reason) from None
                when.at, when.has_time = datetime.combine(when.at.date(), clock), True
        return when

    def _dated(self, cells: list[str], column: str, pattern: str) -> _When:
        text = cell(cells, self.index[column]).strip()
        label = self.label(column)
        if not text:
            raise _BadDate(label, text, "the date is empty")
        try:
            at = datetime.strptime(text, pattern)
        except ValueError:
            raise _BadDate(label, text, f"{text!r} is not a date like {example(pattern)} ({pattern})") from None
        offset = None
        if at.tzinfo is not None:
            offset, at = int(at.utcoffset().total_seconds() // 60), at.replace(tzinfo=None)
        return _When(at, offset, has_time(pattern), label, text)

    def _from_parts(self, cells: list[str]) -> _When:
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
        except ValueError:
            reason = f"{written} (year-month-day) is not a date on the calendar"
            raise _BadDate(day_label, str(numbers["day"]), reason) from None
        return _When(datetime.combine(day, datetime.min.time()), None, False, day_label, written)

    # values

    def values(self, cells: list[str], row: int) -> list[tuple[str, object]] | list[RefusedRow] | None:
        """(field, value) pairs of the row, its refusals, or None for a long row whose item is not mapped."""
        if self.p["layout"] == "long":
            item = cell(cells, self.index[self.p["item_column"]]).strip()
            target = self.items.get(_item_key(item))
            if target is None:
                self.item_spelling.setdefault(_item_key(item), item)
                self.ignored_items[_item_key(item)] += 1
                return None
            sources = [(self.p["value_column"], target)]
        else:
            sources = [(column, target) for column, target in self.p["columns"].items() if target]
        found, refused = [], []
        for column, target in sources:
            text = cell(cells, self.index[column])
            if not text.strip():
                continue  # not recorded, never 0
            try:
                found.append((target, self._value(target, text)))
            except ValueError as exc:
                refused.append(refuse(row, self.label(column), text, str(exc)))
        return refused or found

    def _value(self, name: str, text: str):
        if name in TEXTS:
            text = unescape_text(text)
            if name == "notes" and len(text) > NOTES_MAX:
                raise ValueError(f"notes have at most {NOTES_MAX:,} characters (these have {len(text):,})")
            return text
        labels = self.value_maps.get(name, {})
        if _item_key(text) in labels:
            number = labels[_item_key(text)]
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
        if scale:
            number = _rescale(name, number, scale)
        if not _in_range(name, number):
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


def _combine(name: str, values: list, aggregate: str):
    if name in TEXTS:
        return "; ".join(dict.fromkeys(values))
    if name == "dose_mg":
        return round(sum(values), 6)
    if aggregate == "mean" and name not in SIDE_EFFECTS:
        return round(fmean(values), 3)
    return max(values)


def _entry_record(patient: str, entry: _Entry, aggregate: str, labels) -> DiaryRecord | RefusedRow:
    """The rows of one entry merged; refused as a whole when the merged entry breaks a rule."""
    values = {name: _combine(name, got, aggregate) for name, got in entry.values.items()}
    first = entry.rows[0]
    together = f" (rows {', '.join(map(str, entry.rows))} make this entry)" if len(entry.rows) > 1 else ""
    bp = [name for name in BP_RANGES if name in values]
    if len(bp) == 1:
        missing = "bp_diastolic" if bp == ["bp_systolic"] else "bp_systolic"
        reason = "blood pressure needs both systolic and diastolic values, or neither"
        return refuse(first, labels(missing), "", reason + together)
    if len(bp) == 2 and values["bp_diastolic"] >= values["bp_systolic"]:
        reason = f"diastolic pressure must be below systolic ({values['bp_systolic']:g})" + together
        return refuse(first, labels("bp_diastolic"), f"{values['bp_diastolic']:g}", reason)
    if not any(name not in TEXTS for name in values):
        reason = "no measure recorded: an entry needs pain, another measure or a side effect" + together
        return refuse(first, entry.when.column, entry.when.text, reason)
    return DiaryRecord(
        patient_ref=patient, recorded_at=entry.when.at, row=first, utc_offset_minutes=entry.when.offset,
        has_time=entry.when.has_time,
        measures={k: v for k, v in values.items() if k not in SIDE_EFFECTS},
        side_effects={k: v for k, v in values.items() if k in SIDE_EFFECTS},
    )


def parse_with_profile(
    raw: bytes, file_name: str, profile: dict, *, patient_ref: str | None = None, today: date | None = None
) -> ParsedFile:
    """Read ``raw`` as the profile describes. Rows for the same patient and time merge into one
    entry, because the store knows an entry by its patient and time."""
    try:
        p = validate_profile(profile)
    except ProfileError as exc:
        raise FileRefused(file_name, f"the mapping profile cannot be used: {exc}", row=1) from None
    table = read_profile_table(raw, file_name, p["header_row"])
    if not p["patient_column"] and not (patient_ref and patient_ref.strip()):
        raise FileRefused(file_name, "the profile names no patient column: name the patient when importing",
                          row=1, column="patient")
    reader = _Reader(table, p, patient_ref, today or date.today())
    parsed = ParsedFile(file_name=file_name, format=f"profile:{p['name']}" if p.get("name") else "profile")
    entries: dict[tuple[str, datetime], _Entry] = {}
    spoiled: dict[tuple[str, datetime], int] = {}
    for row, cells in table.rows:
        reader.remember(cells)
        got = reader.values(cells, row)
        if got is None:
            continue
        patient, when = reader.patient(cells, row), reader.when(cells, row)
        refused = [r for r in (patient, when, extra_cells(cells, table, row)) if isinstance(r, RefusedRow)]
        refused += [r for r in got if isinstance(r, RefusedRow)]
        key = (patient, when.at) if isinstance(patient, str) and isinstance(when, _When) else None
        if refused:
            parsed.refused += refused
            if key:
                spoiled.setdefault(key, row)
            continue
        entry = entries.setdefault(key, _Entry(rows=[], when=when))
        entry.rows.append(row)
        for name, value in got:
            entry.values.setdefault(name, []).append(value)
    _build(parsed, entries, spoiled, reader)
    _report_ignored(parsed, table, p, reader)
    return parsed


def _build(parsed: ParsedFile, entries: dict, spoiled: dict, reader: _Reader) -> None:
    p = reader.p
    source = p["value_column"] if p["layout"] == "long" else None

    def labels(name: str) -> str:
        if source:
            return reader.label(source)
        column = next((c for c, f in p["columns"].items() if f == name), None)
        return reader.label(column) if column else name

    for (patient, _), entry in entries.items():
        bad_row = spoiled.get((patient, entry.when.at))
        if bad_row is not None:
            reason = f"row {bad_row} of the same entry was refused: an entry's rows are imported whole or not at all"
            parsed.refused += [refuse(row, entry.when.column, entry.when.text, reason) for row in entry.rows]
            continue
        result = _entry_record(patient, entry, p["aggregate"], labels)
        if isinstance(result, RefusedRow):
            parsed.refused.append(result)
        else:
            parsed.diary.append(result)
    parsed.diary.sort(key=lambda r: (r.patient_ref, r.recorded_at))
    parsed.refused.sort(key=lambda r: r.row if isinstance(r.row, int) else 0)


def _report_ignored(parsed: ParsedFile, table: Table, p: dict, reader: _Reader) -> None:
    used = set(_roles(p).values()) | {c for c, f in (p.get("columns") or {}).items() if f}
    report_unknown_columns(table, {normalise_header(name) for name in used}, parsed)
    if p["layout"] == "long":
        item_label = reader.label(p["item_column"])
        for key, count in reader.ignored_items.most_common():
            spelled = reader.item_spelling[key]
            parsed.ignored[f"{item_label} '{spelled}'" if spelled else f"{item_label} (blank)"] = count


# --- helping staff map a file ----------------------------------------------------------------------

ISO_PATTERNS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
TIME_PATTERNS = ("%I:%M %p", "%H:%M", "%H:%M:%S", "%I:%M:%S %p")
_PATIENT_NAMES = {"patient_id", "patient", "patient_ref", "patient_reference"}
_ITEM_NAMES = {"name", "item", "category", "region", "symptom", "variable", "type", "measure", "label"}
_VALUE_NAMES = {"intensity", "value", "rating", "score", "severity", "amount", "level"}
_FIELD_ALIASES = {"note": "notes", "comment": "notes", "comments": "notes", "happiness": "mood", "headache": "pain"}


def column_values(table: Table) -> dict[str, list[str]]:
    """Each column's distinct non-blank values (first spelling, most frequent first): what staff map."""
    out = {}
    for i, name in enumerate(table.header):
        counts: Counter[str] = Counter()
        spelled: dict[str, str] = {}
        for _, cells in table.rows:
            text = cell(cells, i).strip()
            if text:
                spelled.setdefault(_item_key(text), text)
                counts[_item_key(text)] += 1
        out[name] = [spelled[key] for key, _ in counts.most_common()]
    return out


def values_by_item(table: Table, item_column: str, value_column: str) -> dict[str, list[str]]:
    """A long file's values per item (keyed ignoring case and spaces): the words an item's field needs numbers for."""
    index = {normalise_header(name): i for i, name in enumerate(table.header)}
    item_at, value_at = index.get(normalise_header(item_column)), index.get(normalise_header(value_column))
    out: dict[str, list[str]] = {}
    for _, cells in table.rows:
        text = cell(cells, value_at).strip()
        if text:
            out.setdefault(_item_key(cell(cells, item_at)), []).append(text)
    return out


def field_values(table: Table, p: dict) -> dict[str, list[str]]:
    """The cells each mapped diary field would read, from its columns or its items."""
    out: dict[str, list[str]] = {}
    if p.get("layout") == "long":
        per_item = values_by_item(table, p.get("item_column") or "", p.get("value_column") or "")
        for item, name in (p.get("items") or {}).items():
            if name:
                out.setdefault(name, []).extend(per_item.get(_item_key(item), []))
        return out
    index = {normalise_header(name): i for i, name in enumerate(table.header)}
    for column, name in (p.get("columns") or {}).items():
        if name and normalise_header(column) in index:
            out.setdefault(name, []).extend(cell(c, index[normalise_header(column)]).strip() for _, c in table.rows)
    return {name: [v for v in seen if v] for name, seen in out.items()}


def guess_field(name: str) -> str | None:
    """A diary field a column or item name plainly means, or None for staff to decide."""
    key = normalise_header(name)
    if key in FIELDS:
        return key
    if key in _FIELD_ALIASES:
        return _FIELD_ALIASES[key]
    if "pain" in key:
        return "pain_worst" if "worst" in key else "pain"
    return None


def guess_header_row(raw: bytes, file_name: str) -> int:
    """The first of the first rows whose cells are all filled: a note above the header leaves cells blank."""
    lines = io.StringIO(decode(raw, file_name), newline="")
    for number in range(1, 11):
        line = lines.readline().rstrip("\r\n")
        cells = [c.strip() for c in next(csv.reader([line], delimiter=sniff_delimiter(line)), [])]
        if len(cells) >= 2 and all(cells) and not any(_numeric([c]) or c[:1].isdigit() for c in cells):
            return number
    return 1


def _parses(values: list[str], pattern: str) -> bool:
    try:
        for text in values[:200]:
            datetime.strptime(text, pattern)
    except ValueError:
        return False
    return bool(values)


def _numeric(values: list[str]) -> bool:
    """Numbers, a decimal comma included: a word is what needs a value map, not a decimal."""
    try:
        for text in values:
            parse_number(text, decimal_comma=True)
    except ValueError:
        return False
    return bool(values)


def suggest_profile(raw: bytes, file_name: str, *, header_row: int | None = None) -> dict:
    """A starting point read from the file: layout, dates and fields guessed where the names and
    values say so plainly. Staff check and complete it; it is never imported as it is."""
    header_row = header_row or guess_header_row(raw, file_name)
    table = read_profile_table(raw, file_name, header_row)
    values = column_values(table)
    keys = {normalise_header(name): name for name in table.header if name}
    profile: dict = {"header_row": header_row, "aggregate": "max"}
    blanks = {name: sum(not cell(cells, i).strip() for _, cells in table.rows) for i, name in enumerate(table.header)}
    profile.update(_suggest_dates(keys, values, blanks))
    patient = next((keys[k] for k in keys if k in _PATIENT_NAMES), None)
    if patient:
        profile["patient_column"] = patient
    taken = {normalise_header(n) for n in _roles(profile).values()}
    free = [name for key, name in keys.items() if key not in taken]
    item, value = _suggest_long(free, values, len(table.rows))
    if item:
        profile.update(layout="long", item_column=item, value_column=value,
                       items={name: guess_field(name) for name in values[item]})
    else:
        profile.update(layout="wide", columns={name: guess_field(name) for name in free})
    profile["value_maps"] = _suggest_labels(field_values(table, profile))
    return profile


def _suggest_dates(keys: dict[str, str], values: dict[str, list[str]], blanks: dict[str, int]) -> dict:
    out: dict = {}
    dated = [(name, pattern) for name in keys.values() for pattern in ISO_PATTERNS if _parses(values[name], pattern)]
    dated.sort(key=lambda found: not any(w in normalise_header(found[0]) for w in ("date", "time")))
    parts = {}
    for part in DATE_PARTS:
        parts[part] = next((name for key, name in keys.items() if key == part), None) or next(
            (name for key, name in keys.items() if key.endswith(part) and "week" not in key), None)
    if all(parts.values()):
        out["date_parts"] = parts
        out["fill_down"] = blanks[parts["year"]] > 0  # a hand-kept sheet writes the year once
        if dated:
            out["fallback_date_column"], out["fallback_date_format"] = dated[0]
            out["one_entry_per_day"] = has_time(dated[0][1])
    elif dated:
        out["date_column"], out["date_format"] = dated[0]
    if out.get("date_column") and not has_time(out["date_format"]):
        for key, name in keys.items():
            pattern = next((t for t in TIME_PATTERNS if _parses(values[name], t)), None)
            if "time" in key and pattern and name != out["date_column"]:
                out["time_column"], out["time_format"] = name, pattern
                break
    return out


def _suggest_long(free: list[str], values: dict[str, list[str]], rows: int) -> tuple[str | None, str | None]:
    """An item column (a few names repeated) and a value column (numbers), when names say so."""
    items = [n for n in free if 2 <= len(values[n]) <= 60 and rows >= 2 * len(values[n]) and not _numeric(values[n])]
    numbers = [n for n in free if _numeric(values[n])]
    for item in items:
        for value in numbers:
            if normalise_header(item) in _ITEM_NAMES or normalise_header(value) in _VALUE_NAMES:
                return item, value
    return None, None


def words_needing_numbers(name: str, seen: list[str]) -> list[str]:
    """The cells of a numbered field that are words: each needs a number in ``value_maps``."""
    if name in TEXTS:
        return []
    severity = set(SEVERITY_WORDS) if name in SIDE_EFFECTS else set()
    words = {_item_key(v): v.strip() for v in reversed(seen) if not _numeric([v]) and _item_key(v) not in severity}
    return [words[k] for k in dict.fromkeys(_item_key(v) for v in seen) if k in words]


def _suggest_labels(targets: dict[str, list[str]]) -> dict[str, dict[str, float | None]]:
    """Words in numbered fields: Daylio's default moods get their numbers, other words wait for staff."""
    out = {}
    for name, seen in targets.items():
        words = words_needing_numbers(name, seen)
        if words:
            out[name] = {w: DAYLIO_MOODS.get(_item_key(w)) if name == "mood" else None for w in words}
    return out


def explain_unmappable(raw: bytes, file_name: str, profile: dict, *, patient_ref: str | None = None,
                       today: date | None = None) -> list[str]:
    """Why this file cannot be imported with this profile, in words for staff; empty when it can."""
    try:
        p = validate_profile(profile)
    except ProfileError as exc:
        return [str(exc)]
    try:
        table = read_profile_table(raw, file_name, p["header_row"])
        parsed = parse_with_profile(raw, file_name, p, patient_ref=patient_ref, today=today)
    except FileRefused as exc:
        return [exc.refused.reason]
    reasons = _unmatched(table, p)
    if not parsed.diary:
        reasons.append("no row becomes a diary entry" + (
            f": row {parsed.refused[0].row}, column {parsed.refused[0].column!r}: {parsed.refused[0].reason}"
            if parsed.refused else ""))
    return reasons


def _unmatched(table: Table, p: dict) -> list[str]:
    """Items the profile maps but the file lacks, and words with no number: the usual reasons."""
    reasons = []
    if p["layout"] == "long":
        item_column = table.header[table.columns[normalise_header(p["item_column"])]]
        present = column_values(table)[item_column]
        if not any(_item_key(i) in map(_item_key, present) for i, f in p["items"].items() if f):
            reasons.append(f"none of the items the profile maps is in column {item_column!r} "
                           f"(it has: {', '.join(present[:20])})")
    for name, seen in field_values(table, p).items():
        labels = {_item_key(k) for k in p["value_maps"].get(name, {})}
        words = [w for w in words_needing_numbers(name, seen) if _item_key(w) not in labels]
        if words:
            reasons.append(f"{name}: these words have no number in value_maps: {', '.join(map(repr, words[:20]))}")
    return reasons

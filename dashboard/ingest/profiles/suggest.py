"""Helping staff map a file: a first profile guessed from the file's names and values, and why a
profile cannot import a file, in words for staff."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

from dashboard.ingest.csv_text import Table, cell, decode, normalise_header, sniff_delimiter
from dashboard.ingest.profiles.patterns import DAY_MONTH_PATTERNS, ISO_PATTERNS, TIME_PATTERNS, has_time
from dashboard.ingest.profiles.reader import parse_with_profile, read_profile_table
from dashboard.ingest.profiles.spec import DATE_PARTS, DAYLIO_MOODS, FIELDS, ProfileError, item_key, named_columns
from dashboard.ingest.profiles.survey import column_values, field_values, numeric, words_needing_numbers
from dashboard.ingest.profiles.validate import validate_profile
from dashboard.ingest.records import FileRefused

_PATIENT_NAMES = {"patient_id", "patient", "patient_ref", "patient_reference"}
_ITEM_NAMES = {"name", "item", "category", "region", "symptom", "variable", "type", "measure", "label"}
_REGION_NAMES = {"region", "location", "body_part", "site", "area", "where"}
_VALUE_NAMES = {"intensity", "value", "rating", "score", "severity", "amount", "level"}
_FIELD_ALIASES = {"note": "notes", "comment": "notes", "comments": "notes", "happiness": "mood", "headache": "pain",
                  # A pain log's one number, named by what it is: "Intensity", "Level", "Score", "NRS".
                  "intensity": "pain", "level": "pain", "score": "pain", "nrs": "pain", "rating": "pain"}
# Home blood-pressure logs: "Systolic", "SYS (mmHg)", "SBP", "BP sys"; "Diastolic", "DIA", "DBP".
_BP_WORDS = {"bp_systolic": {"systolic", "sys", "sbp"}, "bp_diastolic": {"diastolic", "dia", "dbp"}}


def guess_field(name: str) -> str | None:
    """A diary field a column or item name plainly means, or None for staff to decide."""
    key = normalise_header(name)
    if key in FIELDS:
        return key
    if key in _FIELD_ALIASES:
        return _FIELD_ALIASES[key]
    words = set(re.findall(r"[a-z]+", key))
    for field, names in _BP_WORDS.items():
        if words & names:
            return field
    if "pain" in key:
        return "pain_worst" if "worst" in key else "pain"
    return None


def guess_header_row(raw: bytes, file_name: str) -> int:
    """The first of the first rows whose cells are all filled: a note above the header leaves cells blank."""
    lines = io.StringIO(decode(raw, file_name), newline="")
    for number in range(1, 11):
        line = lines.readline().rstrip("\r\n")
        cells = [c.strip() for c in next(csv.reader([line], delimiter=sniff_delimiter(line)), [])]
        if len(cells) >= 2 and all(cells) and not any(numeric([c]) or c[:1].isdigit() for c in cells):
            return number
    return 1


def _parses(values: list[str], pattern: str) -> bool:
    try:
        for text in values[:200]:
            datetime.strptime(text, pattern)
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
    taken = {normalise_header(n) for n in named_columns(profile).values()}
    free = [name for key, name in keys.items() if key not in taken]
    item, value = _suggest_long(free, values, len(table.rows))
    if item:
        # Items that are body regions ("Knees", "Low back") are where it hurts: pain, the worst kept.
        where = "pain" if normalise_header(item) in _REGION_NAMES else None
        profile.update(layout="long", item_column=item, value_column=value,
                       items={name: guess_field(name) or where for name in values[item]})
    else:
        profile.update(layout="wide", columns={name: guess_field(name) for name in free})
    profile["value_maps"] = _suggest_labels(field_values(table, profile))
    return profile


def _suggest_dates(keys: dict[str, str], values: dict[str, list[str]], blanks: dict[str, int]) -> dict:
    out: dict = {}
    dated = [(name, pattern) for name in keys.values() for pattern in ISO_PATTERNS if _parses(values[name], pattern)]
    if not dated:  # then day/month orders: the first that reads every value, to be confirmed by staff
        dated = [(name, pattern) for name in keys.values() for pattern in DAY_MONTH_PATTERNS
                 if _parses(values[name], pattern)]
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


def date_readings(raw: bytes, file_name: str, profile: dict, *, shown: int = 3) -> list[dict]:
    """For a date column written day/month-wise, every pattern that reads all its values, with how
    the first values read under it, so staff confirm the order: ``03/04/2026`` is 4 March (M/D/YYYY)
    or 3 April (D/M/YYYY). One entry when only one order fits; empty for ISO dates."""
    column, chosen = profile.get("date_column"), profile.get("date_format")
    if not column or chosen not in DAY_MONTH_PATTERNS:
        return []
    table = read_profile_table(raw, file_name, profile.get("header_row", 1))
    values = column_values(table).get(column, [])
    out = []
    for pattern in DAY_MONTH_PATTERNS:
        if _parses(values, pattern):
            read = [f"{v} = {_spoken(datetime.strptime(v, pattern), pattern)}" for v in values[:shown]]
            out.append({"date_format": pattern, "chosen": pattern == chosen, "readings": read})
    return out


def _spoken(when: datetime, pattern: str) -> str:
    day = f"{when.day} {when:%B %Y}"
    return f"{day} {when:%H:%M}" if has_time(pattern) else day


def _suggest_long(free: list[str], values: dict[str, list[str]], rows: int) -> tuple[str | None, str | None]:
    """An item column (a few names repeated) and a value column (numbers), when names say so."""
    items = [n for n in free if 2 <= len(values[n]) <= 60 and rows >= 2 * len(values[n]) and not numeric(values[n])]
    numbers = [n for n in free if numeric(values[n])]
    for item in items:
        for value in numbers:
            if normalise_header(item) in _ITEM_NAMES or normalise_header(value) in _VALUE_NAMES:
                return item, value
    return None, None


def _suggest_labels(targets: dict[str, list[str]]) -> dict[str, dict[str, float | None]]:
    """Words in numbered fields: Daylio's default moods get their numbers, other words wait for staff."""
    out = {}
    for name, seen in targets.items():
        words = words_needing_numbers(name, seen)
        if words:
            out[name] = {w: DAYLIO_MOODS.get(item_key(w)) if name == "mood" else None for w in words}
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
        if not any(item_key(i) in map(item_key, present) for i, f in p["items"].items() if f):
            reasons.append(f"none of the items the profile maps is in column {item_column!r} "
                           f"(it has: {', '.join(present[:20])})")
    for name, seen in field_values(table, p).items():
        labels = {item_key(k) for k in p["value_maps"].get(name, {})}
        words = [w for w in words_needing_numbers(name, seen) if item_key(w) not in labels]
        if words:
            reasons.append(f"{name}: these words have no number in value_maps: {', '.join(map(repr, words[:20]))}")
    return reasons

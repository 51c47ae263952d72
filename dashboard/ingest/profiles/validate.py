"""Checking a profile before it is saved or used, so that a file is never half-read by a mapping
that cannot work: each message names the key that is wrong."""

from __future__ import annotations

import math
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dashboard.fields import SIDE_EFFECTS
from dashboard.ingest.csv_text import normalise_header
from dashboard.ingest.diary_csv import TEXTS
from dashboard.ingest.profiles.patterns import check_pattern, has_time
from dashboard.ingest.profiles.regex_guard import nested_repeat
from dashboard.ingest.profiles.spec import (
    AGGREGATES,
    DATE_PARTS,
    FIELDS,
    KEYS,
    LAYOUTS,
    NAME_MAX,
    NO_DATE,
    NOT_RECORDED,
    RULES,
    TIME_PARTS,
    VERSION,
    VERSIONS,
    ProfileError,
    field_range,
    in_range,
    item_key,
    named_columns,
)


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
    _choice(mapping, "version", VERSIONS, 1)  # a saved version-1 profile reads as before: its keys are a subset
    out["version"] = VERSION
    out["layout"] = _choice(mapping, "layout", LAYOUTS, None)
    out["header_row"] = _whole(mapping, "header_row")
    out["header"] = _flag(mapping, "header", default=True)
    if not out["header"] and out["header_row"] != 1:
        raise ProfileError("header_row: a file without a header ('header': false) is read from its first row")
    if out["layout"] == "wide":
        _absent(mapping, ("item_column", "value_column", "items"), "a long layout")
        out["columns"] = _field_map(mapping, "columns", normalise_header)
    else:
        _absent(mapping, ("columns",), "a wide layout")
        out["item_column"] = _column(mapping, "item_column", required=True)
        out["value_column"] = _column(mapping, "value_column", required=True)
        out["items"] = _field_map(mapping, "items", item_key)
    out.update(_dates(mapping))
    out["one_entry_per_day"] = _flag(mapping, "one_entry_per_day")
    out["patient_column"] = _column(mapping, "patient_column")
    out["aggregate"] = _choice(mapping, "aggregate", AGGREGATES, "max")
    mapped = {f for f in (out["columns"] if out["layout"] == "wide" else out["items"]).values() if f}
    out["value_maps"] = _value_maps(mapping.get("value_maps") or {}, mapped)
    out["scale"] = _scales(mapping.get("scale") or {}, mapped)
    out["rules"] = _rules(mapping.get("rules") or {}, out)
    out["not_recorded"] = _not_recorded(mapping, out["value_maps"])
    out["timezone"] = check_timezone(mapping.get("timezone"))
    _roles_distinct(out)
    return out


def check_timezone(name) -> str | None:
    """An IANA time zone name (``Europe/Berlin``), or None for "the offset as written, else none"."""
    if name in (None, ""):
        return None
    try:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(name)
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ProfileError(f"timezone: {name!r} is not a time zone name such as 'Europe/Berlin' (IANA)") from None
    return name.strip()


def compile_rule(regex: str) -> re.Pattern:
    """A column's pattern, matched ignoring case: ``25 MG`` and ``25 mg`` are the same dose."""
    return re.compile(regex, re.IGNORECASE)


def _rules(given, p: dict) -> dict[str, dict[str, str]]:
    """``{column: {"pattern": regex}}`` (its one named number summed over every match) or
    ``{column: {"label": regex}}`` (the first match: one rating out of a packed cell)."""
    if not isinstance(given, dict):
        raise ProfileError('rules: give each column its rule, e.g. {"Drug Intakes": {"pattern": "(?P<mg>\\d+)\\s*mg"}}')
    if p["layout"] == "wide":
        targets = {normalise_header(c): f for c, f in p["columns"].items()}
    else:
        targets = {normalise_header(p["value_column"]): "the value column"}
    out = {}
    for column, rule in given.items():
        where = f"rules[{column!r}]"
        if not isinstance(column, str) or normalise_header(column) not in targets:
            raise ProfileError(f"{where}: a rule applies to a column mapped to a diary field"
                               + ("" if p["layout"] == "wide" else " (in a long layout, the value column)"))
        target = targets[normalise_header(column)]
        if target is None:
            raise ProfileError(f"{where}: the column is ignored; map it to a diary field first")
        if target in TEXTS:
            raise ProfileError(f"{where}: {target} is free text; a rule reads a number")
        if not isinstance(rule, dict) or len(rule) != 1 or next(iter(rule)) not in RULES:
            raise ProfileError(f"{where}: give one of {', '.join(map(repr, RULES))} with a regular expression")
        kind, regex = next(iter(rule.items()))
        if not isinstance(regex, str) or not regex.strip():
            raise ProfileError(f"{where}[{kind!r}]: give a regular expression")
        try:
            compiled = compile_rule(regex)
        except re.error as exc:
            raise ProfileError(f"{where}[{kind!r}]: {regex!r} is not a regular expression ({exc})") from None
        if len(compiled.groupindex) != 1:
            raise ProfileError(f"{where}[{kind!r}]: {regex!r} needs exactly one named group holding the number, "
                               "e.g. (?P<mg>\\d+(?:\\.\\d+)?)")
        nested = nested_repeat(regex)
        if nested:
            raise ProfileError(f"{where}[{kind!r}]: {regex!r} repeats a group that itself repeats or has "
                               f"alternatives, {nested!r}: on a patient's long cell such a pattern can run for hours "
                               "(catastrophic backtracking). Write the group once: a pattern's numbers are summed "
                               "over every match, e.g. (?P<mg>\\d+(?:\\.\\d+)?)\\s*mg")
        out[column.strip()] = {kind: regex}
    return out


def _not_recorded(m: dict, value_maps: dict) -> list[str]:
    given = m.get("not_recorded")
    if given is None:
        given = list(NOT_RECORDED)
    if not isinstance(given, (list, tuple)) or not all(isinstance(w, str) and w.strip() for w in given):
        raise ProfileError('not_recorded: give the words that mean "not recorded", e.g. ["null", "-", "n/a"]')
    labels = {item_key(label): name for name, labels in value_maps.items() for label in labels}
    for word in given:
        if item_key(word) in labels:
            raise ProfileError(f"not_recorded: {word!r} is also a label of value_maps[{labels[item_key(word)]!r}]")
    return list(dict.fromkeys(w.strip() for w in given))


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


def _flag(m: dict, key: str, *, default: bool = False) -> bool:
    value = m.get(key, default)
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


def _dates(m: dict) -> dict:
    out = {key: None for key in ("date_column", "date_format", "date_parts", "time_column", "time_format",
                                 "time_parts", "fallback_date_column", "fallback_date_format")}
    by_column, parts = m.get("date_column") not in (None, ""), m.get("date_parts") not in (None, {})
    if by_column == parts:
        raise ProfileError("give either 'date_column' or 'date_parts', not both" if parts else NO_DATE)
    out["fill_down"] = _flag(m, "fill_down")
    if by_column:
        if out["fill_down"]:
            raise ProfileError("fill_down: applies to 'date_parts' only")
        out["date_column"] = _column(m, "date_column")
        out["date_format"] = check_pattern(m, "date_format", kind="date")
    else:
        given = m["date_parts"]
        if not isinstance(given, dict) or set(given) != set(DATE_PARTS):
            raise ProfileError('date_parts: name the columns as {"year": ..., "month": ..., "day": ...}')
        out["date_parts"] = {part: _column(given, part, required=True) for part in DATE_PARTS}
    if m.get("time_column") or m.get("time_format"):
        out["time_column"] = _column(m, "time_column", required=True)
        out["time_format"] = check_pattern(m, "time_format", kind="time")
        if out["date_format"] and has_time(out["date_format"]):
            raise ProfileError(f"time_column: the date_format {out['date_format']!r} already holds a time")
    if m.get("time_parts") not in (None, {}):
        given = m["time_parts"]
        if out["time_column"]:
            raise ProfileError("give either 'time_column' or 'time_parts', not both")
        if not isinstance(given, dict) or not set(given) <= set(TIME_PARTS) or not given.get("hour"):
            raise ProfileError('time_parts: name the columns as {"hour": ..., "minute": ...} '
                               "(the minute may be absent)")
        if out["date_format"] and has_time(out["date_format"]):
            raise ProfileError(f"time_parts: the date_format {out['date_format']!r} already holds a time")
        out["time_parts"] = {part: _column(given, part, required=part == "hour") for part in TIME_PARTS}
    if m.get("fallback_date_column") or m.get("fallback_date_format"):
        out["fallback_date_column"] = _column(m, "fallback_date_column", required=True)
        out["fallback_date_format"] = check_pattern(m, "fallback_date_format", kind="date")

    return out


def _numbered_field(key: str, name, mapped: set[str]) -> None:
    if name not in FIELDS:
        raise ProfileError(f"{key}: {name!r} is not a diary field (fields: {', '.join(FIELDS)})")
    if name in TEXTS:
        raise ProfileError(f"{key}[{name!r}]: {name} is free text, not a number")
    if name not in mapped:
        raise ProfileError(f"{key}[{name!r}]: no column or item is mapped to {name}")


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
        low, high = field_range(name)
        seen: dict[str, str] = {}
        out[name] = {}
        for label, number in labels.items():
            where = f"value_maps[{name!r}][{label!r}]"
            if not isinstance(label, str) or not label.strip():
                raise ProfileError(f"value_maps[{name!r}]: {label!r} is not a label")
            if item_key(label) in seen:
                raise ProfileError(f"value_maps[{name!r}]: {seen[item_key(label)]!r} and {label!r} are the same label")
            seen[item_key(label)] = label
            if not _number(number) or not in_range(name, number):
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
        low, high = field_range(name)
        if not all(low <= v <= high for v in ends["to"]):
            raise ProfileError(f"scale[{name!r}]['to']: {name} runs from {low:g} to {high:g}")
        out[name] = ends
    return out


def same_profile(a: dict, b: dict) -> bool:
    """Whether two profiles read files the same way, whatever their names and spelled-out defaults."""
    def checked(p: dict) -> dict:
        return validate_profile({k: v for k, v in p.items() if k != "name"})

    return checked(a) == checked(b)


def _roles_distinct(p: dict) -> None:
    seen: dict[str, str] = {}
    used = list(named_columns(p).items()) + [(f"columns[{c!r}]", c) for c, f in (p.get("columns") or {}).items() if f]
    for role, name in used:
        key = normalise_header(name)
        if key in seen:
            raise ProfileError(f"column {name!r} is both {seen[key]} and {role}")
        seen[key] = role

"""What a profile can say: its keys, the diary fields it maps to, and the columns it names.

Every key is documented in :mod:`dashboard.ingest.profiles`; :mod:`.validate` checks them.
"""

from __future__ import annotations

from dashboard.fields import DIARY_MEASURES, DIARY_TEXTS, RANGES, SIDE_EFFECTS

FIELDS = (*DIARY_MEASURES, *SIDE_EFFECTS, *DIARY_TEXTS)
LAYOUTS = ("wide", "long")
AGGREGATES = ("max", "mean")
NAME_MAX = 32  # ImportRecord.format and DiaryEntry.source keep "profile:<name>" in 40 characters
KEYS = (
    "name", "layout", "header_row", "columns", "item_column", "value_column", "items",
    "date_column", "date_format", "date_parts", "fill_down", "time_column", "time_format",
    "fallback_date_column", "fallback_date_format", "one_entry_per_day",
    "value_maps", "scale", "aggregate", "patient_column",
    # version 2 (import-formats.md, "Version 3"): all optional, so a saved version-1 profile reads as before
    "version", "header", "rules", "not_recorded", "time_parts", "timezone",
)
VERSIONS = (1, 2)
VERSION = 2  # written by the suggester and the page
RULES = ("pattern", "label")  # a column's parse rule: every match summed, or the first match (a packed rating)
TIME_PARTS = ("hour", "minute")
# Time layouts besides strptime patterns: seconds or milliseconds since 1970-01-01 00:00 UTC.
UNIX_LAYOUTS = ("unix_s", "unix_ms")
# Cells that mean "not recorded": the field is left empty, never read as 0 or refused as "not a number".
# "none" is not among them: it is a severity word (0) for side effects.
NOT_RECORDED = ("null", "nil", "[]", "{}", "-", "--", "—", "n/a", "na", "nan", "not recorded", "no data")
DATE_PARTS = ("year", "month", "day")
# Daylio's five default moods, evenly spaced on the diary's 0 (worst) - 10 (best) mood scale.
DAYLIO_MOODS = {"rad": 10.0, "good": 7.5, "meh": 5.0, "bad": 2.5, "fugly": 2.5, "awful": 0.0}
NO_DATE = "no column can serve as the date: set 'date_column' with 'date_format', or 'date_parts'"


class ProfileError(ValueError):
    """A profile that cannot be used: the message names the key that is wrong."""


class ProfileExists(ProfileError):
    """Saving would overwrite a different profile of the same name."""


def item_key(name: str) -> str:
    """Item names and labels match ignoring case and surrounding spaces, as staff read them."""
    return name.strip().casefold()


def field_range(name: str) -> tuple[float, float]:
    """The diary's own range (``dashboard.fields``): side effects are graded 0-3, measures keep the native ranges."""
    return RANGES[name]


def in_range(name: str, value: float) -> bool:
    """Within the field's range, and a whole grade for side effects."""
    low, high = field_range(name)
    return low <= value <= high and (name not in SIDE_EFFECTS or value == int(value))


def named_columns(p: dict) -> dict[str, str]:
    """Each column a profile names, by what it is used for."""
    roles = {key: p[key] for key in ("date_column", "time_column", "fallback_date_column", "patient_column",
                                     "item_column", "value_column") if p.get(key)}
    for part, name in (p.get("date_parts") or {}).items():
        roles[f"date_parts[{part!r}]"] = name
    for part, name in (p.get("time_parts") or {}).items():
        if name:
            roles[f"time_parts[{part!r}]"] = name
    return roles


def positional(count: int) -> list[str]:
    """The names a file without a header gives its columns: "column 1", "column 2", ..."""
    return [f"column {i + 1}" for i in range(count)]


def role_columns(p: dict) -> list[str]:
    """The columns a profile uses for dates, time, patient, items and values (not as diary fields)."""
    return list(named_columns(p).values())

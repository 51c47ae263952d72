"""The clinic's thresholds: the defaults of ``config.Thresholds``, overridden by ``setting`` rows.

Values are stored as strings and read back by the dataclass field's type, so the table
holds only what the clinic changed and a new default reaches every clinic that kept it.
Functions take the caller's session and never commit (the caller's unit of work does).
"""

from __future__ import annotations

import typing
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.config import Thresholds
from dashboard.db.models import Setting

# Allowed ranges (inclusive). Blood pressure within the diary's own valid ranges
# (import-formats.md); percentages and 0-10 points within their scales.
RANGES: dict[str, tuple[float, float]] = {
    "baseline_days": (1, 90), "onset_days": (0, 90), "min_response_days": (1, 90), "min_baseline_diary_days": (1, 90),
    "responder_substantial_pct": (1, 100), "responder_moderate_pct": (1, 100), "responder_minimal_pct": (1, 100),
    "worse_pct": (1, 1000), "important_change_points": (0.5, 10), "severe_share_max_pct": (0, 100),
    "bp_systolic_high": (60, 260), "bp_diastolic_high": (30, 160), "pain_spike_points": (0.5, 10),
    "low_mood_max": (0, 10), "low_mood_days": (1, 60), "diary_gap_days": (1, 365),
    "escalation_min_benefit_points": (0, 10), "idle_logoff_minutes": (1, 240),
    "low_adherence_pct": (0, 100), "sparse_diary_share": (0, 1), "coverage_min_share": (0, 1),
    "liver_uln_factor": (1, 20), "liver_upper_limit_u_l": (1, 1000),
}
CHOICES: dict[str, tuple[str, ...]] = {"effective_category": ("minimal", "moderate", "substantial")}
_TYPES: dict[str, type] = typing.get_type_hints(Thresholds)
_DEFAULTS = asdict(Thresholds())
_TYPE_NAMES = {int: "a whole number", float: "a number", str: "text"}


def _convert(key: str, value: object) -> int | float | str:
    """A value as the field's type, or ValueError naming the setting and the value."""
    kind = _TYPES[key]
    refused = ValueError(f"setting {key!r}: {value!r} is not {_TYPE_NAMES[kind]}")
    if isinstance(value, bool):
        raise refused
    try:
        if kind is str:
            converted: int | float | str = str(value).strip()
        else:
            number = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
            if kind is int and not number.is_integer():
                raise ValueError(key)
            converted = int(number) if kind is int else number
    except (TypeError, ValueError):
        raise refused from None
    if key in CHOICES and converted not in CHOICES[key]:
        raise ValueError(f"setting {key!r}: {value!r} is not one of {', '.join(CHOICES[key])}")
    low, high = RANGES.get(key, (None, None))
    if low is not None and not low <= converted <= high:  # type: ignore[operator]  # also refuses NaN, infinity
        raise ValueError(f"setting {key!r}: {value!r} is outside {low:g}-{high:g}")
    return converted


def _consistency(t: Thresholds) -> list[str]:
    problems = []
    if not t.responder_minimal_pct <= t.responder_moderate_pct <= t.responder_substantial_pct:
        problems.append("responder cut-offs must rise: minimal <= moderate <= substantial")
    if t.bp_diastolic_high >= t.bp_systolic_high:
        problems.append("bp_diastolic_high must be below bp_systolic_high")
    return problems


def load_thresholds(session: Session) -> Thresholds:
    """The defaults, overridden by stored rows; rows for keys that are not thresholds are not ours."""
    rows = session.execute(select(Setting.key, Setting.value)).all()
    stored = {key: _convert(key, value) for key, value in rows if key in _TYPES}
    return Thresholds().replace(**stored)


def save_thresholds(session: Session, changes: dict, *, updated_by: str) -> list[str]:
    """Validate all ``changes`` first, then store them; returns the keys whose value changed.

    Nothing is written if any value is invalid (one ValueError lists every problem). A value
    equal to its default deletes the row, so the clinic follows future defaults again.
    """
    current = load_thresholds(session)
    values, problems = {}, []
    for key, value in changes.items():
        if key not in _TYPES:
            problems.append(f"unknown setting {key!r}")
            continue
        try:
            values[key] = _convert(key, value)
        except ValueError as exc:
            problems.append(str(exc))
    if not problems:
        problems = _consistency(current.replace(**values))
    if problems:
        raise ValueError("; ".join(problems))
    changed = [key for key, value in values.items() if getattr(current, key) != value]
    now = datetime.now(UTC).replace(tzinfo=None)
    for key in changed:
        row = session.get(Setting, key)
        if values[key] == _DEFAULTS[key]:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(Setting(key=key, value=str(values[key]), updated_at=now, updated_by=updated_by))
        else:
            row.value, row.updated_at, row.updated_by = str(values[key]), now, updated_by
    session.flush()
    return changed

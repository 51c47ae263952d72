"""The clinic's thresholds: the defaults of ``config.THRESHOLDS``, overridden by ``setting`` rows.

Values are stored as strings and read back by the dataclass field's type, so the table
holds only what the clinic changed and a new default reaches every clinic that kept it.
Functions take the caller's session and never commit (the caller's unit of work does).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.config import THRESHOLDS, Thresholds
from dashboard.db.models import Setting

# Allowed ranges (inclusive) and choices: the records of ``config.THRESHOLDS``.
RANGES: dict[str, tuple[float, float]] = {t.key: (t.low, t.high) for t in THRESHOLDS if t.low is not None}  # type: ignore[misc]
CHOICES: dict[str, tuple[str, ...]] = {t.key: t.choices for t in THRESHOLDS if t.choices}
_TYPES: dict[str, type] = {t.key: t.kind for t in THRESHOLDS}
_DEFAULTS = {t.key: t.default for t in THRESHOLDS}
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
        problems.append("the diastolic blood pressure threshold must be below the systolic one")
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

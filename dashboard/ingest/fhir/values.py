"""The fields we use, each read by a small typed accessor that raises ``_Bad`` with its path,
so that an import report names the place ("component[1].valueQuantity.value", 11).

- Times are the local wall time as written, with its offset (``Z`` = 0). A date alone is an
  entry without a time. A year or a month alone is refused: too imprecise for a diary day;
  where a caller allows it (a co-medication's start or end, import-formats.md v3 "FHIR,
  version 3") it is read as its first day with its precision, ``year`` or ``month``.
  A time without an offset, which FHIR forbids, is read as the patient's local time (as in
  the diary CSV) rather than refused: some portals write it so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime

from dashboard import fields
from dashboard.ingest.fhir.dashboard_codes import LOCAL_TIME_URL
from dashboard.text_rules import escaped

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# The native diary's ranges (``dashboard.fields``): scores, doses, blood pressure and, as the
# dashboard's own export writes them, side-effect grades.
RANGES = fields.RANGES
MG_UNITS = {"mg", "milligram", "milligrams"}
_DATETIME = re.compile(
    r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})"
    r"(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?"
)
VALUE_SHOWN_MAX = 200


class _Bad(Exception):
    """A field breaks FHIR's rules (or ours) for the fields we use: where, what, why."""

    def __init__(self, path: str, value: object, reason: str):
        super().__init__(reason)
        self.path, self.value, self.reason = path, _shown(value), reason


def _shown(value: object) -> str:
    if value is None:
        return ""
    text = escaped(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return text if len(text) <= VALUE_SHOWN_MAX else text[:VALUE_SHOWN_MAX] + "…"


def _number(value: float) -> str:
    """A number as it was most likely written: 11, not 11.0."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ---------------------------------------------------------------- typed accessors

def _get(obj: dict, key: str, kind: str, path: str):
    """``obj[key]`` if present and of FHIR's JSON type (str, number, integer, bool, object)."""
    value = obj.get(key)
    if value is None:
        return None
    checks = {
        "str": lambda v: isinstance(v, str),
        "number": lambda v: (isinstance(v, float) and abs(v) < 1e15)
        or (isinstance(v, int) and not isinstance(v, bool) and abs(v) < 10**15),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**31,
        "bool": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
    }
    if not checks[kind](value):
        article = "an" if kind in ("integer", "object") else "a"
        found = " (not text)" if isinstance(value, str) else ""
        raise _Bad(_join(path, key), value, f"{article} {'text' if kind == 'str' else kind} is expected here{found}")
    return value


def _objects(obj: dict, key: str, path: str) -> list[tuple[dict, str]]:
    """The JSON objects of an array field, each with its path (``item[2]``)."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(_join(path, key), value, "an array is expected here")
    out = []
    for i, element in enumerate(value):
        if not isinstance(element, dict):
            raise _Bad(f"{_join(path, key)}[{i}]", element, "an object is expected here")
        out.append((element, f"{_join(path, key)}[{i}]"))
    return out


@dataclass
class _Concept:
    """A CodeableConcept: its text and its (system, code, display) codings."""

    text: str | None
    codings: list[tuple[str | None, str | None, str | None]]

    def codes(self, systems: set[str]) -> list[str]:
        return [code for system, code, _ in self.codings if system in systems and code]

    def name(self) -> str | None:
        rx_display = next((d for s, _, d in self.codings if s == RXNORM and d), None)
        return self.text or rx_display or next((d or c for _, c, d in self.codings if d or c), None)

    def words(self) -> list[str]:
        return [w for w in (self.text, *(d for _, _, d in self.codings)) if w]


def _concept(obj: dict, key: str, path: str) -> _Concept | None:
    cc = _get(obj, key, "object", path)
    if cc is None:
        return None
    here = _join(path, key)
    codings = [(_get(c, "system", "str", p), _get(c, "code", "str", p), _get(c, "display", "str", p))
               for c, p in _objects(cc, "coding", here)]
    return _Concept(_get(cc, "text", "str", here), codings)


@dataclass(frozen=True)
class _When:
    local: datetime  # wall-clock time as written
    offset: int | None  # minutes east of UTC
    has_time: bool
    text: str = ""  # as written, and where, for a refusal of the date itself
    path: str = ""
    precision: str | None = None  # 'year' or 'month' for a partial date (its first day); None: a day or finer

    def check(self, limits: fields.DateRange, today: date | None) -> _When:
        """This time, if its date is within ``limits``; else the field is refused."""
        problem = limits.problem(self.local, today)
        if problem:
            raise _Bad(self.path, self.text, problem)
        return self


def _when(text: str, path: str, partial: bool = False) -> _When:
    """A FHIR dateTime; with ``partial``, a year (``2015``) or a month (``2015-03``) alone is its
    first day at that precision, otherwise it is refused."""
    match = _DATETIME.fullmatch(text)
    if not match:
        raise _Bad(path, text, "not a FHIR dateTime (YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+hh:mm)")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if day is None:
        if not partial:
            raise _Bad(path, text, "only a year or a month: too imprecise for a diary day")
        if month is not None and not 1 <= int(month) <= 12:
            raise _Bad(path, text, "not a month on the calendar (01-12)")
        if int(year) < 1:
            raise _Bad(path, text, "not a year on the calendar")
        return _When(datetime(int(year), int(month or 1), 1), None, False, text, path,
                     "month" if month else "year")
    try:
        if hour is None:
            return _When(datetime(int(year), int(month), int(day)), None, False, text, path)
        micro = int((fraction + "000000")[:6]) if fraction else 0
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
    except ValueError as exc:
        raise _Bad(path, text, f"not a date and time on the calendar ({exc})") from None
    offset = None
    if zone == "Z":
        offset = 0
    elif zone:
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 14 or minutes > 59:
            raise _Bad(path, text, "the UTC offset is outside -14:00..+14:00")
        offset = (1 if zone[0] == "+" else -1) * (hours * 60 + minutes)
    return _When(local, offset, True, text, path)


def _first_time(obj: dict, *paths: str, base: str = "", partial: bool = False) -> tuple[_When, str] | None:
    """The first of the given dateTime fields present (dotted paths such as ``effectivePeriod.start``);
    ``partial``: a year or a month alone is accepted at its precision (``_when``)."""
    for path in paths:
        *parents, leaf = path.split(".")
        node, here = obj, base
        for part in parents:
            node = _get(node, part, "object", here) or {}
            here = _join(here, part)
        text = _get(node, leaf, "str", here)
        if text is not None:
            return _local_time(_when(text, _join(here, leaf), partial), node.get(f"_{leaf}")), _join(here, leaf)
    return None


def _local_time(when: _When, element: object) -> _When:
    """A date with the dashboard's local-time extension (its own export of a time written
    without a UTC offset, which FHIR's dateTime cannot carry) is that local time again."""

    if when.has_time or when.precision or not isinstance(element, dict) or not isinstance(element.get("extension"), list):
        return when
    for extension in element["extension"]:
        if isinstance(extension, dict) and extension.get("url") == LOCAL_TIME_URL:
            text = extension.get("valueTime")
            match = isinstance(text, str) and re.fullmatch(
                r"([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])(\.[0-9]+)?", text)
            if not match:
                raise _Bad(f"{when.path}.extension.valueTime", text, "not a FHIR time (hh:mm:ss)")
            micro = int((match.group(4) or ".0")[1:].ljust(6, "0")[:6])
            local = when.local.replace(hour=int(match.group(1)), minute=int(match.group(2)),
                                       second=int(match.group(3)), microsecond=micro)
            return _When(local, None, True, f"{when.text} {text}", when.path)
    return when


def _quantity_value(q: dict, path: str) -> float:
    if _get(q, "comparator", "str", path):
        raise _Bad(_join(path, "comparator"), q["comparator"], "a value with a comparator (<, >) is not one value")
    value = _get(q, "value", "number", path)
    if value is None:
        raise _Bad(_join(path, "value"), None, "the quantity has no value")
    return float(value)


def _mg(q: dict, path: str) -> float:
    """A dose Quantity in mg: any other unit, or none, is refused rather than converted by guess."""
    value = _quantity_value(q, path)
    code, unit = _get(q, "code", "str", path), _get(q, "unit", "str", path)
    if code is None and unit is None:
        raise _Bad(_join(path, "unit"), None, "the dose has no unit: ketamine doses are read in mg")
    for key, written in (("code", code), ("unit", unit)):
        if written is not None and written.strip().lower() not in MG_UNITS:
            raise _Bad(_join(path, key), written, "not mg: ketamine doses are read in mg")
    if not 0 < value <= RANGES["dose_mg"][1]:
        raise _Bad(_join(path, "value"), _number(value), f"a ketamine dose is more than 0 and at most {RANGES['dose_mg'][1]:g} mg")
    return value

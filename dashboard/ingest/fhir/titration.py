"""A ketamine prescription (MedicationRequest) to a proposed titration step: the dose in mg,
the clinic's frequency and route (import-formats.md section 5).

- ``max_per_day`` of an as-needed ketamine prescription counts doses a day (as the titration
  CSV does): ``maxDosePerPeriod`` in mg is divided by the dose.
"""

from __future__ import annotations

import math
import re
from datetime import date

from dashboard import fields
from dashboard.ingest.fhir.values import MG_UNITS, _Bad, _concept, _first_time, _get, _mg, _objects, _quantity_value
from dashboard.ingest.records import TitrationRecord

# Ketamine routes: SNOMED CT route codes, then words, to the clinic's routes.
ROUTE_CODES = {"54471007": "troche", "37839007": "troche", "372473007": "troche",
               "47625008": "IV", "78421000": "IM", "46713006": "intranasal"}
ROUTE_WORDS = ((re.compile(r"buccal|sublingual|oromucosal|oral mucosal|troche|lozenge", re.I), "troche"),
               (re.compile(r"intravenous|\bi\.?v\b", re.I), "IV"),
               (re.compile(r"intramuscular|\bi\.?m\b", re.I), "IM"),
               (re.compile(r"nasal", re.I), "intranasal"))
PERIOD_DAYS = {"h": 1 / 24, "d": 1.0, "wk": 7.0}


def _bounds(dosages: list[tuple[dict, str]]) -> tuple[dict, str] | None:
    """The first dosage's timing.repeat.boundsPeriod, with its path."""
    if not dosages:
        return None
    dosage, path = dosages[0]
    timing = _get(dosage, "timing", "object", path) or {}
    repeat = _get(timing, "repeat", "object", f"{path}.timing") or {}
    bounds = _get(repeat, "boundsPeriod", "object", f"{path}.timing.repeat")
    return (bounds, f"{path}.timing.repeat.boundsPeriod") if bounds is not None else None


def _dose_quantity(dosages: list[tuple[dict, str]], field_name: str) -> tuple[float, str]:
    """The first dosage's doseAndRate doseQuantity, in mg."""
    if not dosages:
        raise _Bad(field_name, None, "no dosage: a ketamine dose in mg is needed")
    dosage, path = dosages[0]
    for rate, rate_path in _objects(dosage, "doseAndRate", path):
        quantity = _get(rate, "doseQuantity", "object", rate_path)
        if quantity is not None:
            return _mg(quantity, f"{rate_path}.doseQuantity"), f"{rate_path}.doseQuantity.value"
        if rate.get("doseRange") is not None:
            raise _Bad(f"{rate_path}.doseRange", rate["doseRange"],
                       "a dose range is not one dose: a ketamine dose in mg is needed")
    raise _Bad(f"{path}.doseAndRate", None, "no doseQuantity: a ketamine dose in mg is needed")


def _titration_step(body: dict, where: str, patient: str, dosages: list[tuple[dict, str]],
                    today: date | None = None) -> TitrationRecord:
    dose, _ = _dose_quantity(dosages, "dosageInstruction")
    dosage, path = dosages[0]
    bounds = _bounds(dosages)
    start = (bounds and _first_time(bounds[0], "start", base=bounds[1])) or _first_time(body, "authoredOn")
    if start is None:
        raise _Bad("authoredOn", None, "no start: timing.repeat.boundsPeriod.start or authoredOn is needed")
    end = bounds and _first_time(bounds[0], "end", base=bounds[1])
    for timed in (start, end):
        if timed:
            timed[0].check(fields.PLAN, today)
    frequency, max_per_day = _frequency(dosage, path, dose)
    route, route_note = _route(dosage, path)
    status = _get(body, "status", "str", "")
    notes = [_get(dosage, "text", "str", path), route_note,
             "as needed without a maximum per day: set one before accepting" if frequency == "as needed"
             and max_per_day is None else None,
             f"FHIR status: {status}" if status and status != "active" else None]
    return TitrationRecord(patient_ref=patient, start_date=start[0].local.date(), dose_mg=dose, frequency=frequency,
                           route=route, row=where, end_date=end[0].local.date() if end else None,
                           max_per_day=max_per_day, note="; ".join(n for n in notes if n) or None, status="proposed")


def _frequency(dosage: dict, path: str, dose: float) -> tuple[str, float | None]:
    """timing.repeat to the clinic's frequencies: daily, twice daily, every other day, N per
    week, as needed (import-formats.md section 5); anything else is refused, not rounded."""
    as_needed = _get(dosage, "asNeededBoolean", "bool", path) \
        or _get(dosage, "asNeededCodeableConcept", "object", path)
    if as_needed:
        return "as needed", _max_per_day(dosage, path, dose)
    timing = _get(dosage, "timing", "object", path) or {}
    repeat = _get(timing, "repeat", "object", f"{path}.timing")
    here = f"{path}.timing.repeat"
    if repeat is None:
        raise _Bad(here, None, "no schedule: timing.repeat (or asNeeded) is needed for a titration step")
    count = _get(repeat, "frequency", "integer", here) or 1
    period = _get(repeat, "period", "number", here)
    unit = _get(repeat, "periodUnit", "str", here)
    if period is None or period <= 0 or count < 1:
        raise _Bad(f"{here}.period", period, "a schedule needs a positive period and frequency")
    if unit not in PERIOD_DAYS:
        raise _Bad(f"{here}.periodUnit", unit, "the period unit must be h, d or wk")
    per_week = count * 7 / (period * PERIOD_DAYS[unit])
    if not math.isfinite(per_week):
        raise _Bad(f"{here}.period", period, "the period is too short to be a schedule")
    # A maximum per day may come with any schedule, as in the titration CSV.
    most = _max_per_day(dosage, path, dose) if dosage.get("maxDosePerPeriod") is not None else None
    if unit == "wk" and period == 1 and 1 <= count <= 14:
        return f"{count} per week", most  # written weekly, kept weekly ("7 per week" stays as the clinic wrote it)
    for target, name in ((7, "daily"), (14, "twice daily"), (3.5, "every other day")):
        if math.isclose(per_week, target):
            return name, most
    if 1 <= round(per_week) <= 14 and math.isclose(per_week, round(per_week)):
        return f"{round(per_week)} per week", most
    raise _Bad(here, repeat, "not one of the clinic's frequencies (daily, twice daily, every other day, "
                             "N per week with N from 1 to 14, as needed)")


def _max_per_day(dosage: dict, path: str, dose: float) -> float | None:
    ratio = _get(dosage, "maxDosePerPeriod", "object", path)
    if ratio is None:
        return None
    here = f"{path}.maxDosePerPeriod"
    numerator = _get(ratio, "numerator", "object", here) or {}
    denominator = _get(ratio, "denominator", "object", here) or {}
    amount = _quantity_value(numerator, f"{here}.numerator")
    span = _get(denominator, "value", "number", f"{here}.denominator") or 1
    span_unit = _get(denominator, "code", "str", f"{here}.denominator") \
        or _get(denominator, "unit", "str", f"{here}.denominator") or "d"
    days = PERIOD_DAYS.get({"day": "d", "days": "d", "hours": "h", "week": "wk"}.get(span_unit, span_unit))
    if days is None or span <= 0:
        raise _Bad(f"{here}.denominator", denominator, "the period must be in h, d or wk")
    unit = _get(numerator, "code", "str", f"{here}.numerator") or _get(numerator, "unit", "str", f"{here}.numerator")
    doses = amount / dose if unit and unit.lower() in MG_UNITS else amount
    per_day = doses / (span * days)
    if not 0 < per_day <= 24:
        raise _Bad(f"{here}.numerator.value", amount, "the maximum must come to more than 0 and at most 24 doses a day")
    return round(per_day, 2)


def _route(dosage: dict, path: str) -> tuple[str, str | None]:
    """The clinic's route, and a note when it had to be assumed (troche, the home route)."""
    concept = _concept(dosage, "route", path)
    if concept is None:
        return "troche", "no route given: troche assumed"
    for code in (c for _, c, _ in concept.codings if c):
        if code in ROUTE_CODES:
            return ROUTE_CODES[code], None
    words = " ".join(concept.words())
    for pattern, route in ROUTE_WORDS:
        if pattern.search(words):
            return route, None
    return "troche", f"route {words or 'without a name'!r} is not troche, IV, IM or intranasal: troche assumed"

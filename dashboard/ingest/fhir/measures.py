"""Validated instruments and other coded observations, to measures (import-formats.md v2, §3).

- An Observation or a QuestionnaireResponse item coded as an instrument of ``dashboard.measures``
  (PHQ-9 and its items, GAD-7, PROMIS pain intensity and interference, MME/day, urine drug
  screens) is kept as answered: a number, or the answer's code and text with its position on
  the instrument's answer list; never converted to the diary's 0-10 pain scale.
- Any other Observation with a code and a value is an *other measure* (listed, not charted).
  Without a time it is counted as ignored, not refused: nothing asked for it. An instrument's
  answer without a time is refused, as a pain score would be.
- Two resources giving one measure (patient, code, time) with different values: the later one is
  refused, naming the first, as diary values are.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dashboard import fields, measures
from dashboard.ingest.fhir.patients import _subject
from dashboard.ingest.fhir.reading import _Resource
from dashboard.ingest.fhir.values import (
    _Bad,
    _Concept,
    _concept,
    _first_time,
    _get,
    _join,
    _number,
    _objects,
    _quantity_value,
    _When,
)
from dashboard.ingest.records import MeasureRecord

if TYPE_CHECKING:
    from dashboard.ingest.fhir.parse import _Reader

NAME_MAX, CODE_MAX, SYSTEM_MAX, TEXT_MAX, UNIT_MAX = 300, 100, 200, 500, 60  # the store's column sizes
ORDINAL_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
}
VALUE_KEYS = ("valueQuantity", "valueInteger", "valueDecimal", "valueCodeableConcept", "valueCoding",
              "valueString", "valueBoolean")


def main_coding(concept: _Concept) -> tuple[str, str, str | None] | None:
    """(system, code, display) of the LOINC coding, else of the first coding with a code."""
    codings = [(s or "", c, d) for s, c, d in concept.codings if c]
    loinc = [c for c in codings if c[0] in measures.LOINC_SYSTEMS]
    return (loinc or codings or [None])[0]


def observation_measure(reader: _Reader, res: _Resource, concept: _Concept, label: str) -> None:
    """An Observation that is no diary value: an instrument's answer, an other measure, or ignored."""
    body = res.body
    coded = main_coding(concept)
    if coded is None:
        reader.ignore(label)
        return
    system, code, display = coded
    if not any(key in body for key in VALUE_KEYS):
        other = next((k for k in body if k.startswith("value") and k[5:6].isupper()), None)
        reader.ignore(f"{label} with a value the dashboard does not read ({other})" if other
                      else f"{label} without a value")
        return
    found = _answer(body, "", code, system, concept.words())
    if found.value is None and found.answer_text is None:
        reader.ignore(f"{label} without a value")  # a Quantity with only its unit
        return
    timed = _first_time(body, "effectiveDateTime", "effectiveInstant", "effectivePeriod.start", "issued")
    if timed is None:
        if found.instrument == measures.OTHER:
            reader.ignore(f"{label} without a time")
            return
        raise _Bad("effectiveDateTime", None,
                   "no time: effectiveDateTime, effectivePeriod.start and issued are all missing")
    if found.answer_text is None and found.instrument == "uds":
        found.answer_text = _interpretation(body)
    if found.instrument in measures.LAB_INSTRUMENTS:
        found.reference_low, found.reference_high = reference_range(body)
    found.name = _bounded(found.name or display or concept.text or code, NAME_MAX)
    reader.add_measure(_subject(reader, body), timed[0], res.where, found)


def questionnaire_measures(body: dict) -> list[tuple[MeasureRecord, str]]:
    """Items of a QuestionnaireResponse coded as an instrument (by ``linkId`` or LOINC ``code``),
    at any depth, each with its answer's path."""
    out = []
    stack = list(reversed(_objects(body, "item", "")))
    while stack:
        item, path = stack.pop()
        code = next((c for c in item_codes(item, path) if c in measures.ITEMS), None)
        answers = _objects(item, "answer", path)
        if code is not None and answers:
            if len(answers) > 1:
                raise _Bad(_join(path, "answer"), item["answer"], "an instrument's item has one answer")
            answer, answer_path = answers[0]
            found = _answer(answer, answer_path, code, measures.LOINC, [])
            found.name = measures.ITEMS[code].name
            out.append((found, answer_path))
        children = _objects(item, "item", path)
        for answer, answer_path in answers:
            children += _objects(answer, "item", answer_path)
        stack.extend(reversed(children))
    return out


def item_codes(item: dict, path: str) -> list[str]:
    """The codes a questionnaire item may carry: its linkId's last part and its LOINC codes."""
    link = _get(item, "linkId", "str", path) or ""
    codes = [link.rsplit("/", 1)[-1]]
    for coding, coding_path in _objects(item, "code", path):
        if _get(coding, "system", "str", coding_path) in measures.LOINC_SYSTEMS:
            codes.append(_get(coding, "code", "str", coding_path))
    return [c for c in codes if c]


def _answer(obj: dict, path: str, code: str, system: str, words: list[str]) -> MeasureRecord:
    """The value of an Observation (``value[x]``) or of a questionnaire answer, as a measure
    without patient and time yet (``patient_ref`` and ``recorded_at`` are filled by the reader)."""
    if len(code) > CODE_MAX:
        raise _Bad(_join(path, "code"), code, f"a code has at most {CODE_MAX} characters")
    unit = None
    quantity = _get(obj, "valueQuantity", "object", path)
    if quantity is not None:
        unit = _get(quantity, "unit", "str", _join(path, "valueQuantity")) or \
            _get(quantity, "code", "str", _join(path, "valueQuantity"))
    instrument, item = measures.classify(code, system, words, unit)
    rec = MeasureRecord(patient_ref="", system=_bounded(system, SYSTEM_MAX), code=code, recorded_at=None, row="",
                        name="", instrument=instrument, unit=_bounded(unit, UNIT_MAX))
    here = path
    comparator = _get(quantity, "comparator", "str", _join(path, "valueQuantity")) if quantity is not None else None
    if quantity is not None and measures.is_result(instrument) and (comparator or "value" not in quantity):
        # A laboratory's "< 5" is one fact, not a number to chart: kept as written.
        here = _join(path, "valueQuantity")
        number = _get(quantity, "value", "number", here)
        rec.answer_text = f"{comparator or ''}{'' if number is None else _number(number)}" or None
    elif quantity is not None:
        here = _join(path, "valueQuantity.value")
        rec.value = _quantity_value(quantity, _join(path, "valueQuantity"))
    elif (number := _first(obj, path, ("valueInteger", "integer"), ("valueDecimal", "number"))) is not None:
        rec.value, here = number
    elif (coding := _coding(obj, path)) is not None:
        (rec.answer_code, rec.answer_text, ordinal), here = coding
        if item is not None and item.answers:
            rec.answer_position = measures.answer_position(item, rec.answer_code, rec.answer_text)
            if rec.answer_position is not None:
                rec.value = float(item.first_score + rec.answer_position - 1)
                rec.answer_text = item.answers[rec.answer_position - 1][1] if not rec.answer_text else rec.answer_text
        if rec.value is None and ordinal is not None:
            rec.value = ordinal
        if item is not None and rec.value is None:
            raise _Bad(here, rec.answer_text or rec.answer_code,
                       f"not an answer of {item.name}'s list and no ordinalValue to score it")
    elif (text := _get(obj, "valueString", "str", path)) is not None:
        rec.answer_text, here = _bounded(text, TEXT_MAX), _join(path, "valueString")
        if instrument != measures.OTHER:
            _score_text(rec, item, text)
    elif (flag := _get(obj, "valueBoolean", "bool", path)) is not None:
        rec.answer_text, here = ("yes" if flag else "no"), _join(path, "valueBoolean")
    else:
        other = next((k for k in obj if k.startswith("value") and k[5:6].isupper()), "value[x]")
        raise _Bad(_join(path, other), obj.get(other), "no value the dashboard reads")
    if item is not None and item.answers and rec.value is None:
        raise _Bad(here, None, f"{item.name} needs an answer")
    spec = measures.INSTRUMENTS.get(instrument)
    if spec is not None and rec.value is not None and spec.low is not None:
        high = len(item.answers) - 1 + item.first_score if item is not None and item.answers else spec.high
        if not spec.low <= rec.value <= high:
            raise _Bad(here, _number(rec.value), f"{spec.name} is between {spec.low:g} and {high:g}")
    return rec


def _score_text(rec: MeasureRecord, item, text: str) -> None:
    """An instrument answered in text (US Core's PHQ-9 total example writes ``valueString: "12"``):
    a number is the score, an answer of the item's list is placed on it."""
    try:
        rec.value = float(text.strip().replace(",", "."))
        rec.answer_text = None
        return
    except ValueError:
        pass
    if item is not None and item.answers:
        rec.answer_position = measures.answer_position(item, None, text)
        if rec.answer_position is not None:
            rec.value = float(item.first_score + rec.answer_position - 1)


def _first(obj: dict, path: str, *keys: tuple[str, str]) -> tuple[float, str] | None:
    for key, kind in keys:
        value = _get(obj, key, kind, path)
        if value is not None:
            return float(value), _join(path, key)
    return None


def _coding(obj: dict, path: str) -> tuple[tuple[str | None, str | None, float | None], str] | None:
    """A coded answer (``valueCoding`` or ``valueCodeableConcept``): code, text, ordinal value."""
    coding = _get(obj, "valueCoding", "object", path)
    here = _join(path, "valueCoding")
    text = None
    if coding is None:
        concept = _get(obj, "valueCodeableConcept", "object", path)
        if concept is None:
            return None
        here = _join(path, "valueCodeableConcept")
        text = _get(concept, "text", "str", here)
        codings = _objects(concept, "coding", here)
        coding, here = codings[0] if codings else ({}, here)
    code = _get(coding, "code", "str", here)
    text = _get(coding, "display", "str", here) or text
    ordinal = None
    for extension, ext_path in _objects(coding, "extension", here):
        if extension.get("url") in ORDINAL_EXTENSIONS:
            value = _get(extension, "valueDecimal", "number", ext_path)
            ordinal = float(value) if value is not None else ordinal
    if code is None and text is None and ordinal is None:
        raise _Bad(here, coding, "a coded answer with neither code nor text")
    return (_bounded(code, CODE_MAX), _bounded(text, TEXT_MAX), ordinal), here


def reference_range(body: dict) -> tuple[float | None, float | None]:
    """(low, high) of an Observation's ``referenceRange``: the first range with a number, the
    normal range when the laboratory names its types (v3: ALT/AST are read against its high)."""
    ranges = _objects(body, "referenceRange", "")
    normal = [r for r in ranges if _range_type(r[0]) in (None, "normal")]
    for rng, path in normal or ranges:
        bounds = []
        for key in ("low", "high"):
            quantity = _get(rng, key, "object", path)
            value = None if quantity is None else _get(quantity, "value", "number", _join(path, key))
            bounds.append(None if value is None else float(value))
        if any(b is not None for b in bounds):
            return bounds[0], bounds[1]
    return None, None


def _range_type(rng: dict) -> str | None:
    concept = rng.get("type")
    if not isinstance(concept, dict):
        return None
    codes = [c.get("code") for c in concept.get("coding") or [] if isinstance(c, dict)]
    return str(codes[0]).lower() if codes else None


def _interpretation(body: dict) -> str | None:
    """A screen's result as the laboratory interpreted it ("Positive")."""
    for concept, path in _objects(body, "interpretation", ""):
        text = _get(concept, "text", "str", path)
        if text:
            return _bounded(text, TEXT_MAX)
        for coding, coding_path in _objects(concept, "coding", path):
            display = _get(coding, "display", "str", coding_path) or _get(coding, "code", "str", coding_path)
            if display:
                return _bounded(display, TEXT_MAX)
    return None


def _bounded(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def placed(rec: MeasureRecord, patient: str, when: _When, where: str, today) -> MeasureRecord:
    """The measure at its patient and time, its date checked as a diary entry's is."""
    when.check(fields.DIARY, today)
    rec.patient_ref, rec.recorded_at, rec.row = patient, when.local, where
    rec.utc_offset_minutes, rec.has_time = when.offset, when.has_time
    return rec

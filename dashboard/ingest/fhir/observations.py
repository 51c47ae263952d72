"""Pain scores, PEG and blood pressure, from Observations and QuestionnaireResponses, to
diary measures.

- The PEG pain item (75893-8, average pain over the past week) is stored as ``peg_pain``, apart
  from a pain score (72514-3 numeric rating, 38221-8 Wong-Baker: pain now): the AHRQ test
  patient has both at the same instant, with different values, and both are kept.
- A blood pressure is a panel (85354-9; 55284-4 as Synthea writes it; 96607-7, US Core's
  average of home readings) with components 8480-6 and 8462-4, or those two as separate
  observations. A component with a ``dataAbsentReason`` instead of a value leaves that half
  not recorded and keeps the other (import-formats.md v2); a panel with neither half is
  counted as ignored, since FHIR allows it.
- Pain coded only in SNOMED CT, 225908003 "Pain score", is a pain score like 72514-3
  (import-formats.md v3): the VA's patient-generated-data guide (JohnMoehrke/MHV-PGHD,
  ``VA.MHV.pain``) writes both codes "as there are mobile apps that only look for the snomed
  code", and the Dutch zib PainScore (Nictiz) codes its 0-10 score with it alone. Its descendants
  are not listed: none could be checked here against a terminology server, and a score outside
  0-10 is refused by the pain range anyway.
- ``Observation.note`` on a diary value (pain, blood pressure, PEG) is the entry's notes, the
  patient's own words kept as text; notes of several observations at one time are joined.
- Any other Observation, and questionnaire items of validated instruments, become measures
  (``measures``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashboard.fields import LOINC
from dashboard.ingest.fhir.dashboard_codes import DIARY_ENTRY, DIARY_SYSTEM
from dashboard.ingest.fhir.dashboard_records import _diary_entry, observation_notes
from dashboard.ingest.fhir.measures import item_codes, observation_measure, questionnaire_measures
from dashboard.ingest.fhir.patients import _subject
from dashboard.ingest.fhir.reading import _Resource
from dashboard.ingest.fhir.values import (
    RANGES,
    _Bad,
    _Concept,
    _concept,
    _first_time,
    _get,
    _join,
    _number,
    _objects,
    _quantity_value,
    _when,
)

if TYPE_CHECKING:
    from dashboard.ingest.fhir.parse import _Reader

LOINC_SYSTEMS = {"http://loinc.org", "urn:oid:2.16.840.1.113883.6.1"}
SNOMED_SYSTEMS = {"http://snomed.info/sct", "urn:oid:2.16.840.1.113883.6.96"}
# SNOMED CT codes read as a LOINC code: 225908003 |Pain score (observable entity)| as 72514-3.
SNOMED_AS_LOINC = {"225908003": LOINC["pain"]}
# The diary fields' own LOINC codes (``dashboard.fields``), and the other codes read as them.
PAIN_NRS, WONG_BAKER = LOINC["pain"], "38221-8"
PEG_PAIN, PEG_ENJOYMENT, PEG_ACTIVITY, PEG_MEAN = (LOINC["peg_pain"], LOINC["enjoyment_interference"],
                                                   LOINC["activity_interference"], LOINC["peg"])
BP_PANEL, SYSTOLIC, DIASTOLIC = "85354-9", LOINC["bp_systolic"], LOINC["bp_diastolic"]
BP_PANELS = (BP_PANEL, "55284-4", "96607-7")
# US Core's average home blood pressure (96607-7) names its halves 96608-5 (mean systolic) and 96609-3.
BP_COMPONENT_ALIASES = {"96608-5": SYSTOLIC, "96609-3": DIASTOLIC}

# LOINC code -> (diary measure, rank); every rank is 1 now that the PEG pain item has its own measure.
MEASURE_OF = {**{code: (name, 1) for name, code in LOINC.items()}, WONG_BAKER: ("pain", 1)}
OBSERVATION_CODES = (PAIN_NRS, WONG_BAKER, PEG_MEAN, PEG_PAIN, PEG_ENJOYMENT, PEG_ACTIVITY, *BP_PANELS,
                     SYSTOLIC, DIASTOLIC)
ORDINAL_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
}


def _observation(reader: _Reader, res: _Resource) -> None:
    body = res.body
    concept = _concept(body, "code", "") or _Concept(None, [])
    if DIARY_ENTRY in concept.codes({DIARY_SYSTEM}):
        _diary_entry(reader, res)
        return
    codes = concept.codes(LOINC_SYSTEMS) + [SNOMED_AS_LOINC[c] for c in concept.codes(SNOMED_SYSTEMS)
                                            if c in SNOMED_AS_LOINC]
    kind = next((code for code in OBSERVATION_CODES if code in codes), None)
    if kind is None:
        observation_measure(reader, res, concept, _observation_label(concept))
        return
    if kind in BP_PANELS:
        items = _blood_pressure(body)
        if not items:
            reader.ignore(f"Observation {kind} blood pressure without a value (dataAbsentReason)")
            return
    elif kind == PEG_MEAN and body.get("component") is not None:
        items = _peg_panel(body)
    else:
        found = _score(body, "")
        if found is None:
            if body.get("dataAbsentReason") is not None:
                reader.ignore(f"Observation {kind} without a value (dataAbsentReason)")
                return
            raise _Bad("valueQuantity.value", None, "the observation has no value")
        measure, rank = MEASURE_OF[kind]
        items = [(measure, found[0], rank, found[1])]
    timed = _first_time(body, "effectiveDateTime", "effectiveInstant", "effectivePeriod.start", "issued")
    if timed is None:
        raise _Bad("effectiveDateTime", None,
                   "no time: effectiveDateTime, effectivePeriod.start and issued are all missing")
    reader.add(_subject(reader, body), timed[0], res.where, items + observation_notes(body))


def _questionnaire_response(reader: _Reader, res: _Resource) -> None:
    items = _questionnaire_items(res.body)
    instruments = questionnaire_measures(res.body)
    if not items and not instruments:
        reader.ignore("QuestionnaireResponse without pain, PEG, blood pressure or instrument items")
        return
    measures = {m: (v, p) for m, v, _, p in items}
    if ("bp_systolic" in measures) != ("bp_diastolic" in measures):
        measure = "bp_systolic" if "bp_systolic" in measures else "bp_diastolic"
        raise _Bad(measures[measure][1], _number(measures[measure][0]),
                   "a blood pressure needs both systolic and diastolic")
    if "bp_systolic" in measures and measures["bp_diastolic"][0] >= measures["bp_systolic"][0]:
        raise _Bad(measures["bp_diastolic"][1], _number(measures["bp_diastolic"][0]),
                   "the diastolic must be below the systolic")
    authored = _get(res.body, "authored", "str", "")
    if authored is None:
        raise _Bad("authored", None, "no time: the response has no authored date")
    patient, when = _subject(reader, res.body), _when(authored, "authored")
    if items:
        reader.add(patient, when, res.where, items)
    for rec, path in instruments:
        try:
            reader.add_measure(patient, when, res.where, rec)
        except _Bad as bad:
            raise _Bad(path if bad.path == "value[x]" else bad.path, bad.value, bad.reason) from None


def _observation_label(concept: _Concept) -> str:
    loinc = next(((c, d) for s, c, d in concept.codings if s in LOINC_SYSTEMS and c), None)
    code, display = loinc or next(((c, d) for _, c, d in concept.codings if c), (None, None))
    label = " ".join(part for part in (code, display or (None if code else concept.text)) if part)
    return f"Observation {label}" if label else "Observation (no code)"


def _score(obj: dict, path: str) -> tuple[float, str] | None:
    """A numeric value: valueQuantity.value or valueInteger; any other value[x] is refused."""
    quantity = _get(obj, "valueQuantity", "object", path)
    if quantity is not None:
        here = _join(path, "valueQuantity")
        return _quantity_value(quantity, here), _join(here, "value")
    integer = _get(obj, "valueInteger", "integer", path)
    if integer is not None:
        return float(integer), _join(path, "valueInteger")
    other = next((k for k in obj if k.startswith("value") and k[5:6].isupper()), None)
    if other is not None:
        raise _Bad(_join(path, other), obj[other], "a score is a number: valueQuantity or valueInteger")
    return None


def _components(body: dict, absent: set[str] | None = None) -> dict[str, tuple[float, str, dict]]:
    """Components coded with our LOINC codes: code -> (value, its path, the component); the codes
    of components absent with a ``dataAbsentReason`` are added to ``absent``."""
    absent = set() if absent is None else absent
    found: dict[str, tuple[float, str, dict]] = {}
    for component, path in _objects(body, "component", ""):
        concept = _concept(component, "code", path) or _Concept(None, [])
        codes = [BP_COMPONENT_ALIASES.get(c, c) for c in concept.codes(LOINC_SYSTEMS)]
        code = next((c for c in codes if c in MEASURE_OF), None)
        if code is None:
            continue
        value = _score(component, path)
        if value is None:
            if component.get("dataAbsentReason") is not None:
                absent.add(code)  # FHIR's way to say "not measured": that half is not recorded
                continue
            raise _Bad(_join(path, "valueQuantity.value"), None, f"the {code} component has no value")
        found[code] = (*value, component)
    return found


def _blood_pressure(body: dict) -> list[tuple[str, float, int, str]]:
    absent: set[str] = set()
    parts = _components(body, absent)
    if not parts and absent:
        return []
    missing = [code for code in (SYSTOLIC, DIASTOLIC) if code not in parts and code not in absent]
    if missing:
        raise _Bad("component", None, "a blood pressure needs systolic (8480-6) and diastolic (8462-4) components, "
                                      "each with a value or a dataAbsentReason")
    out = []
    for code in (SYSTOLIC, DIASTOLIC):
        if code not in parts:
            continue
        value, path, component = parts[code]
        quantity = component.get("valueQuantity") or {}
        for key in ("code", "unit"):
            unit = _get(quantity, key, "str", path.rsplit(".", 1)[0])
            if unit is not None and unit not in ("mm[Hg]", "mmHg", "mm Hg"):
                raise _Bad(f"{path.rsplit('.', 1)[0]}.{key}", unit, "blood pressure is read in mm[Hg]")
        measure = MEASURE_OF[code][0]
        low, high = RANGES[measure]
        if not low <= value <= high:
            raise _Bad(path, _number(value), f"{measure} must be between {low:g} and {high:g} mmHg")
        out.append((measure, value, 1, path))
    if len(out) < 2:
        return out
    (_, systolic, _, _), (_, diastolic, _, dia_path) = out
    if diastolic >= systolic:
        raise _Bad(dia_path, _number(diastolic), f"the diastolic must be below the systolic ({_number(systolic)})")
    return out


def _peg_panel(body: dict) -> list[tuple[str, float, int, str]]:
    """PEG (Krebs et al. 2009, J Gen Intern Med 24:733-738): the mean of three 0-10 items."""
    parts = _components(body)
    out = [(*MEASURE_OF[code][:1], parts[code][0], MEASURE_OF[code][1], parts[code][1])
           for code in (PEG_PAIN, PEG_ENJOYMENT, PEG_ACTIVITY) if code in parts]
    mean = _score(body, "")
    if mean is not None:
        out.append(("peg", mean[0], 1, mean[1]))
    elif len(out) == 3:
        out.append(("peg", sum(value for _, value, _, _ in out) / 3, 1, "component"))
    if not out:
        raise _Bad("valueQuantity.value", None, "the PEG observation has neither a score nor its items")
    return out


def _item_code(item: dict, path: str) -> str | None:
    return next((code for code in item_codes(item, path) if code in MEASURE_OF), None)


def _answer_value(answer: dict, path: str) -> tuple[float, str]:
    for key, kind in (("valueInteger", "integer"), ("valueDecimal", "number")):
        value = _get(answer, key, kind, path)
        if value is not None:
            return float(value), _join(path, key)
    quantity = _get(answer, "valueQuantity", "object", path)
    if quantity is not None:
        return _quantity_value(quantity, _join(path, "valueQuantity")), _join(path, "valueQuantity.value")
    coding = _get(answer, "valueCoding", "object", path)
    if coding is not None:
        for extension, ext_path in _objects(coding, "extension", _join(path, "valueCoding")):
            if extension.get("url") in ORDINAL_EXTENSIONS:
                value = _get(extension, "valueDecimal", "number", ext_path)
                if value is not None:
                    return float(value), _join(ext_path, "valueDecimal")
        raise _Bad(_join(path, "valueCoding"), coding, "a coded answer needs an ordinalValue extension to be a score")
    other = next((k for k in answer if k.startswith("value")), None)
    raise _Bad(_join(path, other or "value[x]"), answer.get(other) if other else None, "the answer is not a number")


def _questionnaire_items(body: dict) -> list[tuple[str, float, int, str]]:
    """Items coded with our LOINC codes, at any depth (items nest, and so do answers)."""
    out = []
    stack = list(reversed(_objects(body, "item", "")))
    while stack:
        item, path = stack.pop()
        code = _item_code(item, path)
        answers = _objects(item, "answer", path)
        if code is not None and answers:
            if len(answers) > 1:
                raise _Bad(_join(path, "answer"), item["answer"], "a score has one answer")
            value, value_path = _answer_value(*answers[0])
            measure, rank = MEASURE_OF[code]
            out.append((measure, value, rank, value_path))
        children = _objects(item, "item", path)
        for answer, answer_path in answers:
            children += _objects(answer, "item", answer_path)
        stack.extend(reversed(children))
    return out

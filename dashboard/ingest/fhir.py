"""FHIR R4 import (import-formats.md section 3): pain scores, PEG, blood pressure, ketamine
doses and prescriptions, and co-medication, from a Bundle of any type, a single resource, or
NDJSON (one resource a line, as Bulk Data exports write it).

Why a strict reader of the few fields we use, not a FHIR model library (fhir.resources,
fhirclient): we read about twenty fields of six resource types. The model libraries are heavy
(a model for each of ~150 resource types) and validate everything else, yet they still accept
the shapes that matter here: a pain score of 11, a year-only date where a diary needs a day, a
ketamine dose in tablets where we need mg. And their errors do not name the place the way an
import report must ("Observation/abc, component[1].valueQuantity.value, 11"). So each field is
read by a small typed accessor that raises with its path, and fields we do not use are left
alone, as FHIR expects of a consumer.

Choices a reviewer should know:

- The patient of a Patient resource is its ``id``; without one, its first ``identifier`` value;
  without either, the uuid of its ``urn:uuid:`` fullUrl. Other resources belong to the patient
  their ``subject`` names (``Patient/<id>``, or a fullUrl inside the bundle); a resource without
  a subject belongs to the file's only patient, else to the patient named at import.
- Times are the local wall time as written, with its offset (``Z`` = 0). A date alone is an
  entry without a time. A year or a month alone is refused: too imprecise for a diary day.
  A time without an offset, which FHIR forbids, is read as the patient's local time (as in
  the diary CSV) rather than refused: some portals write it so.
- The diary stores one entry per patient and time, so resources at the same time are merged.
  When two give different values for one measure, the later resource is refused, naming both.
  The PEG pain item (75893-8, average pain over the past week) is stored as ``peg_pain``, apart
  from a pain score (72514-3 numeric rating, 38221-8 Wong-Baker: pain now): the AHRQ test
  patient has both at the same instant, with different values, and both are kept.
- A blood pressure is the spec's panel, 85354-9; Synthea's clinic readings under the older
  panel code 55284-4 are counted as ignored like other vital signs.
- Ketamine doses add up at the same time: the diary's ``dose_mg`` is the sum of doses taken.
  Ketamine is recognised by RxNorm 6130 or its name, in the medication, a contained or
  referenced Medication, or one of its ingredients.
- ``max_per_day`` of an as-needed ketamine prescription counts doses a day (as the titration
  CSV does): ``maxDosePerPeriod`` in mg is divided by the dose.
- Resources marked entered-in-error (or cancelled / not-taken / not-done) are counted as
  ignored, never imported.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from dashboard.ingest.records import (
    CoMedicationRecord,
    DiaryRecord,
    FileRefused,
    ParsedFile,
    PatientRecord,
    RefusedRow,
    TitrationRecord,
)
from dashboard.medications import KETAMINE_RXNORM, drug_class, names_ketamine

LOINC_SYSTEMS = {"http://loinc.org", "urn:oid:2.16.840.1.113883.6.1"}
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
PAIN_NRS, WONG_BAKER = "72514-3", "38221-8"
PEG_PAIN, PEG_ENJOYMENT, PEG_ACTIVITY, PEG_MEAN = "75893-8", "91145-3", "91146-1", "91147-9"
BP_PANEL, SYSTOLIC, DIASTOLIC = "85354-9", "8480-6", "8462-4"

# LOINC code -> (diary measure, rank); every rank is 1 now that the PEG pain item has its own measure.
MEASURE_OF = {
    PAIN_NRS: ("pain", 1), WONG_BAKER: ("pain", 1), PEG_PAIN: ("peg_pain", 1),
    PEG_ENJOYMENT: ("enjoyment_interference", 1), PEG_ACTIVITY: ("activity_interference", 1),
    PEG_MEAN: ("peg", 1), SYSTOLIC: ("bp_systolic", 1), DIASTOLIC: ("bp_diastolic", 1),
}
OBSERVATION_CODES = (PAIN_NRS, WONG_BAKER, PEG_MEAN, PEG_PAIN, PEG_ENJOYMENT, PEG_ACTIVITY, BP_PANEL)
# The native diary's ranges (import-formats.md section 1).
RANGES = {
    "pain": (0, 10), "peg": (0, 10), "peg_pain": (0, 10), "enjoyment_interference": (0, 10), "activity_interference": (0, 10),
    "bp_systolic": (60, 260), "bp_diastolic": (30, 160), "dose_mg": (0, 1000),
}
SKIPPED_STATUSES = {"entered-in-error", "cancelled", "not-taken", "not-done"}
# FHIR R4 status codes of the medication resources we keep (the store keeps the status).
MEDICATION_STATUSES = {
    "MedicationRequest": {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft",
                          "unknown"},
    "MedicationStatement": {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown",
                            "not-taken"},
}
PATIENT_REF_MAX, PATIENT_NAME_MAX, DRUG_NAME_MAX = 100, 200, 300  # the store's column sizes
ORDINAL_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
}
# Ketamine routes: SNOMED CT route codes, then words, to the clinic's routes.
ROUTE_CODES = {"54471007": "troche", "37839007": "troche", "372473007": "troche",
               "47625008": "IV", "78421000": "IM", "46713006": "intranasal"}
ROUTE_WORDS = ((re.compile(r"buccal|sublingual|oromucosal|oral mucosal|troche|lozenge", re.I), "troche"),
               (re.compile(r"intravenous|\bi\.?v\b", re.I), "IV"),
               (re.compile(r"intramuscular|\bi\.?m\b", re.I), "IM"),
               (re.compile(r"nasal", re.I), "intranasal"))
PERIOD_DAYS = {"h": 1 / 24, "d": 1.0, "wk": 7.0}
MG_UNITS = {"mg", "milligram", "milligrams"}
_DATETIME = re.compile(
    r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})"
    r"(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?"
)
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?")
VALUE_SHOWN_MAX = 200
# Real resources nest a few dozen levels at most; a deeper document would exhaust Python's
# recursion when a refusal quotes it, so it is refused as a whole.
MAX_DEPTH = 100


class _Bad(Exception):
    """A field breaks FHIR's rules (or ours) for the fields we use: where, what, why."""

    def __init__(self, path: str, value: object, reason: str):
        super().__init__(reason)
        self.path, self.value, self.reason = path, _shown(value), reason


def _shown(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
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


def _when(text: str, path: str) -> _When:
    match = _DATETIME.fullmatch(text)
    if not match:
        raise _Bad(path, text, "not a FHIR dateTime (YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+hh:mm)")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if day is None:
        raise _Bad(path, text, "only a year or a month: too imprecise for a diary day")
    try:
        if hour is None:
            return _When(datetime(int(year), int(month), int(day)), None, False)
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
    return _When(local, offset, True)


def _first_time(obj: dict, *paths: str, base: str = "") -> tuple[_When, str] | None:
    """The first of the given dateTime fields present (dotted paths such as ``effectivePeriod.start``)."""
    for path in paths:
        *parents, leaf = path.split(".")
        node, here = obj, base
        for part in parents:
            node = _get(node, part, "object", here) or {}
            here = _join(here, part)
        text = _get(node, leaf, "str", here)
        if text is not None:
            return _when(text, _join(here, leaf)), _join(here, leaf)
    return None


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
        raise _Bad(_join(path, "value"), _number(value), "a ketamine dose is more than 0 and at most 1000 mg")
    return value


# ---------------------------------------------------------------- reading the file

@dataclass
class _Resource:
    body: dict
    where: str  # "Observation/abc", or "Observation (line 3)" without an id
    full_url: str | None = None


def _loads(text: str):
    def no_constants(name: str):
        raise ValueError(f"{name} is not a JSON number")

    value = json.loads(text, parse_constant=no_constants)
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise RecursionError
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return value


def _decode(raw: bytes, file_name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FileRefused(file_name, f"FHIR JSON must be UTF-8; byte {exc.start + 1} is not", row=line,
                          column=f"byte {exc.start + 1}") from None


def _json_error(file_name: str, exc: Exception, line_offset: int = 0) -> FileRefused:
    if isinstance(exc, json.JSONDecodeError):
        line = exc.lineno + line_offset
        return FileRefused(file_name, f"not valid JSON: {exc.msg} (line {line}, column {exc.colno})",
                           row=line, column=f"column {exc.colno}")
    if isinstance(exc, RecursionError):
        return FileRefused(file_name, f"not readable JSON: nested more than {MAX_DEPTH} levels deep",
                           row=1 + line_offset, column="column 1")
    return FileRefused(file_name, f"not valid JSON: {exc}", row=1 + line_offset, column="column 1")


def _documents(text: str, file_name: str) -> tuple[list[tuple[object, int | None]], list[RefusedRow]]:
    """One JSON document, or NDJSON (when the whole is not JSON but its first line is an
    object): one value per line, a broken line refused with its number."""
    try:
        return [(_loads(text), None)], []
    except (ValueError, RecursionError) as whole:
        lines = text.split("\n")
        first = next((n for n, line in enumerate(lines) if line.strip()), None)
        try:
            head = _loads(lines[first]) if first is not None and len(lines) > 1 else None
        except (ValueError, RecursionError):
            head = None
        if not isinstance(head, dict):
            raise _json_error(file_name, whole) from None
    documents, refused = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            documents.append((_loads(line), number))
        except (ValueError, RecursionError) as exc:
            where = _json_error(file_name, exc, line_offset=number - 1).refused
            refused.append(RefusedRow(row=number, column=where.column, value=_shown(line.strip()),
                                      reason=where.reason))
    return documents, refused


def _where(body: dict, fallback: str) -> str:
    kind, ident = body.get("resourceType"), body.get("id")
    if isinstance(ident, str) and ident:
        return f"{kind}/{ident}"
    return f"{kind} ({fallback})"


def _flatten(documents, file_name: str, refused: list[RefusedRow], ignored: dict[str, int]) -> list[_Resource]:
    """Every resource of the file in document order; Bundles (also nested ones) opened."""
    out: list[_Resource] = []
    # (value, where it is when it has no id, its fullUrl, the row and column a refusal names)
    stack: list[tuple[object, str, str | None, int | str, str]] = []
    for value, line in reversed(documents):
        if line is None and not (isinstance(value, dict) and isinstance(value.get("resourceType"), str)):
            raise FileRefused(file_name, "not a FHIR resource: the file must be a JSON object with a resourceType",
                              row=1, column="resourceType", value=_shown(value))
        stack.append((value, f"line {line}" if line else "file", None, line or 1, "resourceType"))
    while stack:
        value, fallback, full_url, row, column = stack.pop()
        if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
            refused.append(RefusedRow(row=row, column=column, value=_shown(value),
                                      reason="not a FHIR resource (a JSON object with a resourceType)"))
            continue
        if "id" in value and not isinstance(value["id"], str):
            refused.append(RefusedRow(row=_where(value, fallback), column="id", value=_shown(value["id"]),
                                      reason="a resource id is text"))
            continue
        where = _where(value, fallback)
        if value["resourceType"] != "Bundle":
            out.append(_Resource(value, where, full_url))
            continue
        try:
            entries = _objects(value, "entry", "")
        except _Bad as bad:
            refused.append(RefusedRow(row=where, column=bad.path, value=bad.value, reason=bad.reason))
            continue
        for entry, path in reversed(entries):
            if entry.get("resource") is None:
                ignored["Bundle entry without a resource"] = ignored.get("Bundle entry without a resource", 0) + 1
                continue
            url = entry.get("fullUrl")
            if url is not None and not isinstance(url, str):
                refused.append(RefusedRow(row=where, column=f"{path}.fullUrl", value=_shown(url),
                                          reason="a fullUrl is text"))
                continue
            stack.append((entry["resource"], f"{where} {path}", url, where, f"{path}.resource"))
    return out


# ---------------------------------------------------------------- public API

def looks_like_fhir(raw: bytes) -> bool:
    """A JSON object with a resourceType, or NDJSON whose first line is one. A broken JSON file
    that names a resourceType early still counts, so its error is reported by this parser."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    if not text.lstrip().startswith("{"):
        return False
    try:
        value = _loads(text)
    except (ValueError, RecursionError):
        first = next((line for line in text.split("\n") if line.strip()), "")
        try:
            value = _loads(first)
        except (ValueError, RecursionError):
            return re.search(r'"resourceType"\s*:', text[:4096]) is not None
    return isinstance(value, dict) and isinstance(value.get("resourceType"), str)


def parse_fhir(raw: bytes, file_name: str, *, patient_ref: str | None = None) -> ParsedFile:
    """A FHIR R4 file to records; never touches the database."""
    text = _decode(raw, file_name)
    if not text.strip():
        raise FileRefused(file_name, "the file is empty", row=1, column="resourceType")
    named = patient_ref.strip() if patient_ref and patient_ref.strip() else None
    if named and len(named) > PATIENT_REF_MAX:
        raise FileRefused(file_name, f"a patient reference has at most {PATIENT_REF_MAX} characters",
                          row=1, column="patient", value=_shown(named))
    documents, refused = _documents(text, file_name)
    ignored: dict[str, int] = {}
    resources = _flatten(documents, file_name, refused, ignored)
    reader = _Reader(file_name, named, resources)
    reader.out.refused.extend(refused)
    reader.out.ignored.update(ignored)
    return reader.read()


# ---------------------------------------------------------------- mapping resources

@dataclass
class _Entry:
    record: DiaryRecord
    sources: dict[str, tuple[float, int, str]] = field(default_factory=dict)  # measure -> value, rank, where


class _Reader:
    def __init__(self, file_name: str, patient_ref: str | None, resources: list[_Resource]):
        self.out = ParsedFile(file_name=file_name, format="fhir")
        self.patient_ref = patient_ref
        self.resources = resources
        self.by_url: dict[str, dict] = {}
        self.patients: dict[str, str] = {}  # "Patient/id" or fullUrl -> patient ref
        self.named: set[str] = set()  # patients named by the file itself
        self.entries: dict[tuple[str, datetime], _Entry] = {}
        self.used_medications: set[int] = set()
        for res in resources:
            self._index(res)

    def _index(self, res: _Resource) -> None:
        kind, ident = res.body["resourceType"], res.body.get("id")
        keys = [k for k in (res.full_url, f"{kind}/{ident}" if ident else None) if k]
        for key in keys:
            self.by_url.setdefault(key, res.body)
        if kind == "Patient":
            try:
                ref = _patient_ref(res)
            except _Bad:
                return  # refused when the Patient itself is read
            for key in keys:
                self.patients.setdefault(key, ref)

    def read(self) -> ParsedFile:
        copies: dict[str, str] = {}
        for res in self.resources:
            if res.body.get("id"):
                # Bundles sometimes repeat a resource: an identical copy counts once, a differing one is refused.
                canonical = json.dumps(res.body, sort_keys=True)
                first = copies.setdefault(res.where, canonical)
                if first is not canonical:
                    if first == canonical:
                        self._ignore(f"{res.body['resourceType']} repeated with the same id and content")
                    else:
                        self._refuse(res.where, "id", res.body["id"], "the same id appears earlier with other content")
                    continue
            try:
                self._read_one(res.body["resourceType"], res)
            except _Bad as bad:
                self._refuse(res.where, bad.path, bad.value, bad.reason)
        for res in self.resources:
            if res.body["resourceType"] == "Medication" and id(res.body) not in self.used_medications:
                self._ignore("Medication")
        self.out.diary = [entry.record for entry in self.entries.values()]
        self._apply_patient_ref()
        return self.out

    def _read_one(self, kind: str, res: _Resource) -> None:
        status = _get(res.body, "status", "str", "")
        if status in SKIPPED_STATUSES:
            self._ignore(f"{kind} {status}")
            return
        handler = {
            "Patient": self._patient, "Observation": self._observation,
            "QuestionnaireResponse": self._questionnaire_response,
            "MedicationAdministration": self._medication_administration,
            "MedicationStatement": self._medication_statement, "MedicationRequest": self._medication_request,
        }.get(kind)
        if handler is not None:
            handler(res)
        elif kind != "Medication":  # Medications are counted at the end, unless something used them
            self._ignore(kind)

    def _refuse(self, where: str, column: str, value: str, reason: str) -> None:
        self.out.refused.append(RefusedRow(row=where, column=column, value=value, reason=reason))

    def _ignore(self, label: str) -> None:
        self.out.ignored[label] = self.out.ignored.get(label, 0) + 1

    # -------------------------------------------------------- patients

    def _subject(self, res: dict) -> str:
        """Whose data this is: the Patient the subject names (see the module docstring)."""
        subject = _get(res, "subject", "object", "")
        if subject is None:
            if self.patient_ref:
                return self.patient_ref
            refs = set(self.patients.values())
            if len(refs) == 1:
                return refs.pop()
            raise _Bad("subject", None, "no subject, and the file does not hold exactly one Patient")
        reference = _get(subject, "reference", "str", "subject")
        if reference is None:
            identifier = _get(subject, "identifier", "object", "subject") or {}
            value = _get(identifier, "value", "str", "subject.identifier")
            if not value:
                raise _Bad("subject.reference", None, "the subject names no patient")
            ref = value
        elif reference in self.patients:
            ref = self.patients[reference]
        elif reference.startswith("urn:"):
            raise _Bad("subject.reference", reference, "no Patient in this file has this fullUrl")
        else:
            match = _PATIENT_REFERENCE.search(reference)
            if not match or match.end() != len(reference):
                raise _Bad("subject.reference", reference, "the subject is not a Patient")
            ref = self.patients.get(f"Patient/{match.group(1)}", match.group(1))
        self.named.add(_bounded_ref(ref, "subject"))
        return self.patient_ref or ref

    def _patient(self, res: _Resource) -> None:
        ref = _patient_ref(res)
        birth = _get(res.body, "birthDate", "str", "")
        year = None
        if birth is not None:
            match = re.fullmatch(r"([0-9]{4})(-[0-9]{2}(-[0-9]{2})?)?", birth)
            try:
                if not match:
                    raise ValueError
                if match.group(3):
                    date.fromisoformat(birth)
            except ValueError:
                raise _Bad("birthDate", birth, "not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)") from None
            year = int(match.group(1))
        name = _patient_name(res.body)
        self.named.add(ref)
        if all(p.ref != ref for p in self.out.patients):
            self.out.patients.append(PatientRecord(ref=ref, name=name, birth_year=year))

    def _apply_patient_ref(self) -> None:
        """A patient named at import takes all the data of a single-patient file."""
        if not self.patient_ref:
            return
        if len(self.named) > 1:
            names = ", ".join(sorted(self.named))
            raise FileRefused(self.out.file_name,
                              f"the file holds several patients ({names}); a patient named at import "
                              "applies only to a file of one patient", row=1, column="subject", value=_shown(names))
        for group in (self.out.patients, self.out.diary, self.out.steps, self.out.comedications):
            for rec in group:
                if isinstance(rec, PatientRecord):
                    rec.ref = self.patient_ref
                else:
                    rec.patient_ref = self.patient_ref
        self.out.patients = self.out.patients[:1]

    # -------------------------------------------------------- diary entries

    def _add(self, patient: str, when: _When, where: str, items: list[tuple[str, float, int, str]]) -> None:
        """Merge one resource's values into the patient's entry at that time, all or nothing."""
        for measure, value, _, path in items:
            low, high = RANGES[measure]
            if not low <= value <= high:
                raise _Bad(path, _number(value), f"{measure} must be between {low:g} and {high:g}")
        key = (patient, when.local)
        entry = self.entries.get(key)
        if entry and (entry.record.utc_offset_minutes, entry.record.has_time) != (when.offset, when.has_time):
            raise _Bad(items[0][3], _number(items[0][1]),
                       f"{entry.record.row} has the same local time written with another UTC offset or without a time")
        sources = dict(entry.sources) if entry else {}
        measures = dict(entry.record.measures) if entry else {}
        for measure, value, _, path in items:
            if measure == "dose_mg":
                measures["dose_mg"] = measures.get("dose_mg", 0.0) + value
                if measures["dose_mg"] > RANGES["dose_mg"][1]:
                    raise _Bad(path, _number(value), "the doses at this time add up to more than 1000 mg")
                continue
            if measure not in sources:
                sources[measure] = (value, where)
                measures[measure] = value
                continue
            old, old_where = sources[measure]
            if old != value:
                raise _Bad(path, _number(value), f"{old_where} gives {measure} {_number(old)} for the same "
                                                 "patient and time: the two disagree")
        if entry is None:
            entry = _Entry(DiaryRecord(patient_ref=patient, recorded_at=when.local, row=where,
                                       utc_offset_minutes=when.offset, has_time=when.has_time))
            self.entries[key] = entry
        entry.sources, entry.record.measures = sources, measures

    def _observation(self, res: _Resource) -> None:
        body = res.body
        concept = _concept(body, "code", "") or _Concept(None, [])
        codes = concept.codes(LOINC_SYSTEMS)
        kind = next((code for code in OBSERVATION_CODES if code in codes), None)
        if kind is None:
            self._ignore(_observation_label(concept))
            return
        if kind == BP_PANEL:
            items = _blood_pressure(body)
        elif kind == PEG_MEAN and body.get("component") is not None:
            items = _peg_panel(body)
        else:
            found = _score(body, "")
            if found is None:
                if body.get("dataAbsentReason") is not None:
                    self._ignore(f"Observation {kind} without a value (dataAbsentReason)")
                    return
                raise _Bad("valueQuantity.value", None, "the observation has no value")
            measure, rank = MEASURE_OF[kind]
            items = [(measure, found[0], rank, found[1])]
        timed = _first_time(body, "effectiveDateTime", "effectiveInstant", "effectivePeriod.start", "issued")
        if timed is None:
            raise _Bad("effectiveDateTime", None,
                       "no time: effectiveDateTime, effectivePeriod.start and issued are all missing")
        self._add(self._subject(body), timed[0], res.where, items)

    def _questionnaire_response(self, res: _Resource) -> None:
        items = _questionnaire_items(res.body)
        if not items:
            self._ignore("QuestionnaireResponse without pain, PEG or blood pressure items")
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
        self._add(self._subject(res.body), _when(authored, "authored"), res.where, items)

    # -------------------------------------------------------- medications

    def _drug(self, res: dict) -> _Drug:
        concept = _concept(res, "medicationCodeableConcept", "")
        if concept is not None:
            return _drug_of(concept, [], "medicationCodeableConcept")
        reference = _get(res, "medicationReference", "object", "")
        if reference is None:
            raise _Bad("medicationCodeableConcept", None,
                       "no medication: medicationCodeableConcept or medicationReference is required")
        target = _get(reference, "reference", "str", "medicationReference")
        medication, prefix = None, f"medicationReference({target})"
        if target and target.startswith("#"):
            for contained, path in _objects(res, "contained", ""):
                if contained.get("id") == target[1:] and contained.get("resourceType") == "Medication":
                    medication, prefix = contained, path
        elif target:
            found = self.by_url.get(target)
            if found is not None and found.get("resourceType") == "Medication":
                medication = found
                self.used_medications.add(id(found))
        if medication is None:
            display = _get(reference, "display", "str", "medicationReference")
            if display:
                return _drug_of(_Concept(display, []), [], "medicationReference.display")
            raise _Bad("medicationReference.reference", target, "the referenced Medication is not in the file")
        ingredients = []
        for ingredient, path in _objects(medication, "ingredient", prefix):
            item = _concept(ingredient, "itemCodeableConcept", path)
            if item is not None:
                ingredients.append(item)
        code = _concept(medication, "code", prefix) or _Concept(None, [])
        return _drug_of(code, ingredients, _join(prefix, "code"))

    def _medication_request(self, res: _Resource) -> None:
        body = res.body
        if _get(body, "doNotPerform", "bool", ""):
            self._ignore("MedicationRequest doNotPerform")
            return
        drug = self._drug(body)
        patient = self._subject(body)
        dosages = _objects(body, "dosageInstruction", "")
        if drug.ketamine:
            self.out.steps.append(_titration_step(body, res.where, patient, dosages))
            return
        bounds = _bounds(dosages)
        start = _first_time(body, "authoredOn") or (bounds and _first_time(bounds[0], "start", base=bounds[1])) \
            or _first_time(body, "dispenseRequest.validityPeriod.start")
        if start is None:
            raise _Bad("authoredOn", None, "no date: authoredOn is needed to place the prescription in time")
        end = bounds and _first_time(bounds[0], "end", base=bounds[1])
        self._co_medication(res, drug, patient, start, end, dosages)

    def _medication_statement(self, res: _Resource) -> None:
        body = res.body
        drug = self._drug(body)
        patient = self._subject(body)
        dosages = _objects(body, "dosage", "")
        if drug.ketamine:
            timed = _first_time(body, "effectiveDateTime", "effectivePeriod.start")
            if timed is None:
                raise _Bad("effectiveDateTime", None,
                           "no time: a ketamine dose needs effectiveDateTime or effectivePeriod.start")
            dose, path = _dose_quantity(dosages, "dosage")
            self._add(patient, timed[0], res.where, [("dose_mg", dose, 1, path)])
            return
        start = _first_time(body, "effectiveDateTime", "effectivePeriod.start", "dateAsserted")
        if start is None:
            raise _Bad("effectiveDateTime", None,
                       "no date: effectiveDateTime, effectivePeriod.start or dateAsserted is needed")
        self._co_medication(res, drug, patient, start, _first_time(body, "effectivePeriod.end"), dosages)

    def _co_medication(self, res: _Resource, drug: _Drug, patient: str, start: tuple[_When, str],
                       end: tuple[_When, str] | None, dosages: list[tuple[dict, str]]) -> None:
        status = _get(res.body, "status", "str", "")
        if status is not None and status not in MEDICATION_STATUSES[res.body["resourceType"]]:
            raise _Bad("status", status, f"not a {res.body['resourceType']} status of FHIR R4")
        self.out.comedications.append(CoMedicationRecord(
            patient_ref=patient, name=drug.name, start_date=start[0].local.date(), row=res.where, source="fhir",
            rxnorm=drug.rxnorm, drug_class=drug.drug_class, end_date=end[0].local.date() if end else None,
            status=status, dose_text=_dose_text(dosages)))

    def _medication_administration(self, res: _Resource) -> None:
        body = res.body
        drug = self._drug(body)
        if not drug.ketamine:
            self._ignore("MedicationAdministration (not ketamine)")
            return
        timed = _first_time(body, "effectiveDateTime", "effectivePeriod.start")
        if timed is None:
            raise _Bad("effectiveDateTime", None,
                       "no time: a ketamine dose needs effectiveDateTime or effectivePeriod.start")
        dosage = _get(body, "dosage", "object", "") or {}
        dose = _get(dosage, "dose", "object", "dosage")
        if dose is None:
            raise _Bad("dosage.dose", None, "no dose: a ketamine administration needs dosage.dose in mg")
        items = [("dose_mg", _mg(dose, "dosage.dose"), 1, "dosage.dose.value")]
        self._add(self._subject(body), timed[0], res.where, items)


# ---------------------------------------------------------------- helpers without state

def _patient_ref(res: _Resource) -> str:
    ident = res.body.get("id")
    if ident:
        return _bounded_ref(ident, "id")
    for identifier, path in _objects(res.body, "identifier", ""):
        value = _get(identifier, "value", "str", path)
        if value:
            return _bounded_ref(value, f"{path}.value")
    if res.full_url and res.full_url.startswith("urn:uuid:") and len(res.full_url) > 9:
        return _bounded_ref(res.full_url[9:], "fullUrl")
    raise _Bad("id", None, "the Patient has no id, identifier or urn:uuid fullUrl to know it by")


def _bounded_ref(ref: str, path: str) -> str:
    if len(ref) > PATIENT_REF_MAX:
        raise _Bad(path, ref, f"a patient reference has at most {PATIENT_REF_MAX} characters")
    return ref


def _patient_name(body: dict) -> str | None:
    names = _objects(body, "name", "")
    if not names:
        return None
    order = {"official": 0, "usual": 1}
    name, path = min(names, key=lambda n: order.get(_get(n[0], "use", "str", n[1]), 2))
    given = name.get("given") or []
    if not isinstance(given, list) or not all(isinstance(g, str) for g in given):
        raise _Bad(f"{path}.given", given, "given names are an array of text")
    family = _get(name, "family", "str", path)
    text = " ".join([*given, family or ""]).strip() or _get(name, "text", "str", path)
    if text and len(text) > PATIENT_NAME_MAX:
        raise _Bad(path, text, f"a name has at most {PATIENT_NAME_MAX} characters")
    return text


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


def _components(body: dict) -> dict[str, tuple[float, str, dict]]:
    """Components coded with our LOINC codes: code -> (value, its path, the component)."""
    found: dict[str, tuple[float, str, dict]] = {}
    for component, path in _objects(body, "component", ""):
        concept = _concept(component, "code", path) or _Concept(None, [])
        code = next((c for c in concept.codes(LOINC_SYSTEMS) if c in MEASURE_OF), None)
        if code is None:
            continue
        value = _score(component, path)
        if value is None:
            raise _Bad(_join(path, "valueQuantity.value"), None, f"the {code} component has no value")
        found[code] = (*value, component)
    return found


def _blood_pressure(body: dict) -> list[tuple[str, float, int, str]]:
    parts = _components(body)
    if SYSTOLIC not in parts or DIASTOLIC not in parts:
        raise _Bad("component", None, "a blood pressure needs systolic (8480-6) and diastolic (8462-4) components")
    out = []
    for code in (SYSTOLIC, DIASTOLIC):
        value, path, component = parts[code]
        quantity = component.get("valueQuantity") or {}
        for key in ("code", "unit"):
            unit = _get(quantity, key, "str", path.rsplit(".", 1)[0])
            if unit is not None and unit not in ("mm[Hg]", "mmHg", "mm Hg"):
                raise _Bad(f"{path.rsplit('.', 1)[0]}.{key}", unit, "blood pressure is read in mm[Hg]")
        measure = MEASURE_OF[code][0]
        low, high = RANGES[measure]
        if not low <= value <= high:
            raise _Bad(path, _number(value), f"{measure} must be between {low} and {high} mmHg")
        out.append((measure, value, 1, path))
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
    link = _get(item, "linkId", "str", path) or ""
    codes = [link.rsplit("/", 1)[-1]]
    for coding, coding_path in _objects(item, "code", path):
        if _get(coding, "system", "str", coding_path) in LOINC_SYSTEMS:
            codes.append(_get(coding, "code", "str", coding_path))
    return next((code for code in codes if code in MEASURE_OF), None)


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


@dataclass
class _Drug:
    name: str
    rxnorm: str | None
    ketamine: bool
    drug_class: str | None


def _drug_of(concept: _Concept, ingredients: list[_Concept], path: str) -> _Drug:
    """RxNorm codes in files are mostly clinical drugs (SCD), not ingredients: the name carries
    most of the weight for drug_class, so ingredients' names count too."""
    name = concept.name()
    parts = [n for n in (i.name() for i in ingredients) if n]
    if name and parts and not all(p.lower() in name.lower() for p in parts):
        name = f"{name} ({' / '.join(parts)})"
    name = name or " / ".join(parts)
    if not name:
        raise _Bad(path, None, "the medication has no name or code")
    if len(name) > DRUG_NAME_MAX:
        name = name[: DRUG_NAME_MAX - 1] + "…"
    rxnorm = next((code for code in concept.codes({RXNORM}) if re.fullmatch(r"[0-9]{1,20}", code)), None)
    every = [concept, *ingredients]
    ketamine = any(KETAMINE_RXNORM in c.codes({RXNORM}) or any(names_ketamine(w) for w in c.words()) for c in every)
    found = drug_class(name, rxnorm) or next(
        (k for k in (drug_class(c.name(), next(iter(c.codes({RXNORM})), None)) for c in ingredients) if k), None)
    return _Drug(name, rxnorm, ketamine, found)


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


def _titration_step(body: dict, where: str, patient: str, dosages: list[tuple[dict, str]]) -> TitrationRecord:
    dose, _ = _dose_quantity(dosages, "dosageInstruction")
    dosage, path = dosages[0]
    bounds = _bounds(dosages)
    start = (bounds and _first_time(bounds[0], "start", base=bounds[1])) or _first_time(body, "authoredOn")
    if start is None:
        raise _Bad("authoredOn", None, "no start: timing.repeat.boundsPeriod.start or authoredOn is needed")
    end = bounds and _first_time(bounds[0], "end", base=bounds[1])
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
    for target, name in ((7, "daily"), (14, "twice daily"), (3.5, "every other day")):
        if math.isclose(per_week, target):
            return name, None
    if 1 <= round(per_week) <= 6 and math.isclose(per_week, round(per_week)):
        return f"{round(per_week)} per week", None
    raise _Bad(here, repeat, "not one of the clinic's frequencies (daily, twice daily, every other day, "
                             "N per week, as needed)")


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


SCHEDULE_WORDS = {(1, 1, "d"): "once daily", (2, 1, "d"): "twice daily", (1, 2, "d"): "every other day"}


def _dose_text(dosages: list[tuple[dict, str]]) -> str | None:
    """The dosage as written, or a few words from its dose and schedule."""
    if not dosages:
        return None
    dosage, path = dosages[0]
    text = _get(dosage, "text", "str", path)
    if text:
        return text
    words = []
    for rate, rate_path in _objects(dosage, "doseAndRate", path):
        quantity = _get(rate, "doseQuantity", "object", rate_path)
        if quantity is not None:
            value = _get(quantity, "value", "number", f"{rate_path}.doseQuantity")
            unit = _get(quantity, "unit", "str", f"{rate_path}.doseQuantity") or ""
            if value is not None:
                words.append(f"{value:g} {unit}".strip())
            break
    timing = _get(dosage, "timing", "object", path) or {}
    repeat = _get(timing, "repeat", "object", f"{path}.timing") or {}
    here = f"{path}.timing.repeat"
    period = _get(repeat, "period", "number", here)
    if period is not None:
        count = _get(repeat, "frequency", "integer", here) or 1
        unit = _get(repeat, "periodUnit", "str", here) or ""
        words.append(SCHEDULE_WORDS.get((count, period, unit), f"{count} every {period:g} {unit}".strip()))
    if _get(dosage, "asNeededBoolean", "bool", path) or dosage.get("asNeededCodeableConcept") is not None:
        words.append("as needed")
    return " ".join(words) or None

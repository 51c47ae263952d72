"""The dashboard's own FHIR codes: what LOINC, RxNorm and SNOMED CT have no code for (sleep,
mood, function, worst pain, the side-effect grades, the diary's texts, a visit's kind, the
condition ketamine is prescribed for, a local time written without its UTC offset).

One place for both directions: the FHIR export writes these codes and the FHIR import reads
them back, so that a patient exported here imports elsewhere to the same review. A resource
carrying none of them is read exactly as before; other systems may ignore them, as FHIR lets
a consumer ignore codes and extensions it does not know.
"""

from __future__ import annotations

from dashboard.fields import SIDE_EFFECTS

BASE = "https://ketamine-review.example.org/fhir"
DIARY_SYSTEM = f"{BASE}/CodeSystem/diary"
VISIT_KIND_SYSTEM = f"{BASE}/CodeSystem/visit-kind"
CONDITION_CATEGORY_SYSTEM = f"{BASE}/CodeSystem/condition-category"
PATIENT_REF_SYSTEM = f"{BASE}/NamingSystem/patient-ref"
# A local wall time whose UTC offset the patient's app did not record: FHIR's dateTime needs an
# offset with a time, so the day is written as the date and the time in this extension.
LOCAL_TIME_URL = f"{BASE}/StructureDefinition/local-time-without-offset"
VISIT_NOTE_URL = f"{BASE}/StructureDefinition/visit-note"

DIARY_ENTRY = "diary-entry"  # the Observation that carries one entry's other measures
INDICATION = "ketamine-indication"  # the Condition category of the patient's condition

# Diary fields in a diary-entry Observation's components: code -> (field, kind, display).
DIARY_SCORES = {"pain_worst": "Worst pain in the last 24 hours (0-10)", "sleep": "Sleep quality (0-10)",
                "mood": "Mood (0-10)", "function": "Ability to do daily tasks (0-10)"}
DIARY_GRADES = {name: f"{name.replace('_', ' ').capitalize()} severity (0 none - 3 severe)" for name in SIDE_EFFECTS}
DIARY_TEXTS = {"other_medication": "Other medication taken"}  # notes go in Observation.note

VISIT_KINDS = {"in person": "in-person", "telehealth": "telehealth", "infusion": "infusion"}
VISIT_KIND_OF_CODE = {code: kind for kind, code in VISIT_KINDS.items()}

"""A patient's files as their apps write them, for the share link's tests: a native diary CSV, a
FHIR R4 Bundle, a Bearable export and a Privacy Friendly Pain Diary export (import-formats.md v3;
written here in the apps' layouts, as tests/ingest does), and files the page must refuse."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta

from dashboard.ingest.pain_diary_app import HEADERS

DAYS = [date(2026, 11, 1) + timedelta(days=i) for i in range(10)]


def native_csv(ref: str = "P-ANY") -> bytes:
    rows = [f"{ref},{d.isoformat()}T21:00,{4 + i % 3},{5 + i % 2}," for i, d in enumerate(DAYS)]
    return ("patient_id,date,pain,mood,notes\n" + "\n".join(rows) + "\n").encode()


def fhir_bundle(family: str = "Someone") -> bytes:
    entries = [{"resource": {"resourceType": "Patient", "id": "pt", "name": [{"family": family, "given": ["A"]}],
                             "birthDate": "1970-01-01"}}]
    for i, d in enumerate(DAYS[:7]):
        entries.append({"resource": {
            "resourceType": "Observation", "id": f"o{i}", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
            "subject": {"reference": "Patient/pt"}, "effectiveDateTime": f"{d.isoformat()}T20:00:00Z",
            "valueQuantity": {"value": 5, "system": "http://unitsofmeasure.org", "code": "{score}"}}})
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode()


def _ordinal(day: int) -> str:
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd', 21: 'st', 22: 'nd', 23: 'rd', 31: 'st'}.get(day, 'th')}"


def bearable() -> bytes:
    lines = ["date,date formatted,weekday,time of day,category,rating/amount,detail,notes"]
    for d in DAYS[:5]:
        written = f"{_ordinal(d.day)} {d.strftime('%b %Y')}"  # "1st Nov 2026", as Bearable writes it
        cells = [written, d.isoformat(), d.strftime("%A"), "pm", "Symptom", "2", "Back (lower) pain (Moderate)", ""]
        lines.append(",".join('"' + c + '"' for c in cells))
    return ("\n".join(lines) + "\n").encode()


def pain_diary() -> bytes:
    header = HEADERS[0]  # the app's English (US) header, every cell quoted as opencsv writes it
    rows = [(f"{d.month}/{d.day}/{d.year % 100}", "OKAY", str(3 + i % 4), "[]", "[]", "[]", "[]", "")
            for i, d in enumerate(DAYS[:6])]
    return "".join(",".join('"' + c + '"' for c in line) + "\n" for line in [header, *rows]).encode()


def no_dates() -> bytes:
    return b"patient_id,pain,mood\nP-ANY,5,6\nP-ANY,4,7\n"


def zip_bomb() -> bytes:
    """A small archive that would unpack to 200 MB of zeros: the dashboard never unpacks."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("diary.csv", b"\0" * (200 * 1024 * 1024))
    return out.getvalue()

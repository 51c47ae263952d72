"""The demo's share link and the two files waiting in its inbox (issue 22).

One patient (``PATIENT``) has a live link and sent two files through it, as a patient would from
a phone: a Privacy Friendly Pain Diary export and a FHIR Bundle from a patient portal, both of the
stored diary's last day (the day before the build's), at times the demo diary never writes
(the app's midnight, 17:15 between its midday and evening entries), so importing them adds to her
diary and meets no conflict. Her FHIR file names her as the store does (name and birth year), so the inbox's
identity check agrees. The link's token is random and only its hash is stored: the build says
its address once.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.config import SHARE_PATH
from dashboard.db import share_links
from dashboard.db.models import Patient
from dashboard.demo.stories import STORIES

PATIENT = "DEMO-006"  # Linda Kowalski, shared with dr.rivera
CREATED_BY = "dr.rivera"
LINK_DAYS = 14


def _pain_diary_export(day: date) -> bytes:
    """The app's CSV (every cell quoted, US layout M/d/yy), one day."""
    header = ("Date", "Conditions", "Pain Level (0-10)", "Body Regions", "Pain nature", "Times of pain",
              "Drug Intakes", "Comment")
    row = (f"{day.month}/{day.day}/{day:%y}", "OKAY", "4", "[LOWER_BACK,]", "[DULL,]", "[EVENING,]", "[]",
           "Walked to the shop and back without stopping.")
    return "".join(",".join(f'"{cell}"' for cell in line) + "\n" for line in (header, row)).encode()


def _portal_bundle(day: date, name: str, birth_year: int) -> bytes:
    """A patient portal's FHIR R4 Bundle: the patient and one evening pain score (LOINC 72514-3)."""
    given, family = name.split(" ", 1)
    patient = {"resourceType": "Patient", "id": "me", "name": [{"given": [given], "family": family}],
               "birthDate": str(birth_year)}
    pain = {"resourceType": "Observation", "id": "pain-1", "status": "final",
            "subject": {"reference": "Patient/me"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3",
                                 "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}]},
            "effectiveDateTime": f"{day.isoformat()}T17:15:00", "valueQuantity": {"value": 5, "unit": "{score}"}}
    return json.dumps({"resourceType": "Bundle", "type": "collection",
                       "entry": [{"resource": patient}, {"resource": pain}]}, indent=2).encode()


def add_waiting_files(session: Session, today: date, now: datetime) -> dict:
    """The link and its two received files; the link's address (token included) to say once."""
    story = next(s for s in STORIES if s.ref == PATIENT)
    patient = session.scalar(select(Patient).where(Patient.ref == PATIENT))
    link, token = share_links.create(session, patient.id, created_by=CREATED_BY, now=now,
                                     expires_at=now + timedelta(days=LINK_DAYS), max_uses=None)
    day = today - timedelta(days=1)
    files = (("pain_diary_export.csv", _pain_diary_export(day)),
             ("portal-export.json", _portal_bundle(day, story.name, story.birth_year)))
    received = min(now, datetime.combine(today, time(8, 0)))  # this morning, never after the build
    for k, (name, raw) in enumerate(files):
        share_links.keep_received(session, link, PATIENT, file_name=name, raw=raw,
                                  now=received - timedelta(minutes=10 - 4 * k))
        share_links.count_use(session, link)
    return {"share_link": f"{SHARE_PATH}{token}", "share_link_patient": PATIENT,
            "waiting_files": len(files)}

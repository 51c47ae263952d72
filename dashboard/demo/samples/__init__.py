"""Public files the demo's import page offers (``SOURCES.md`` beside this module says where each is from)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
# US Core's blood pressure example: its patient is "Amy Shaw" (Patient/example), nobody in the demo clinic.
OTHER_PATIENT_FILE = "us-core-blood-pressure-amy-shaw.json"
OTHER_PATIENT_TRY_AS = "DEMO-002"  # Janet Okafor


def other_patient_file() -> bytes:
    """A file naming someone who is not a demo patient: importing it into one is stopped (issue 23)."""
    return (HERE / OTHER_PATIENT_FILE).read_bytes()

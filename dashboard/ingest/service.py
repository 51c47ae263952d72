"""Import a file end to end: recognise, parse, write in one transaction, audit.

Used by the command line and the import page alike, so both say the same thing about
the same file.
"""

from __future__ import annotations

import gc
import hashlib
import json
import time
from contextlib import contextmanager
from datetime import date
from collections.abc import Callable
from typing import Protocol

import pandas as pd
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from dashboard import patient_ref as patient_refs
from dashboard.audit_actions import AuditAction
from dashboard.db import audit
from dashboard.db.session import session_scope
from dashboard.ingest import detect, identity
from dashboard.ingest.bearable import looks_like_bearable, parse_bearable
from dashboard.ingest.clinic_records import parse_titration_csv, parse_visits_csv
from dashboard.ingest.diary_csv import parse_diary_csv
from dashboard.ingest.fhir import looks_like_fhir, parse_fhir
from dashboard.ingest.pain_diary_app import FORMAT as PAIN_DIARY_APP
from dashboard.ingest.pain_diary_app import looks_like_pain_diary_app, parse_pain_diary_app
from dashboard.ingest.profiles import load_profile, parse_with_profile
from dashboard.ingest.records import FileRefused, ParsedFile
from dashboard.ingest.writer import ImportReport, Resolution, keep_record, write_import
from dashboard.text_rules import escaped

FORMATS = ("diary-csv", "titration", "visits", "fhir", "bearable", PAIN_DIARY_APP)
STORED_HIDDEN = identity.STORED_HIDDEN


class ImportScope(Protocol):
    def refused_refs(self, session: Session, refs: list[str]) -> list[str]:
        """The references the file names that the import may not write for."""


class ImportPolicy(Protocol):
    """Who is importing, as the import needs to know it; ``access.AccountImportPolicy`` for an
    account (decided in ``dashboard.access``, handed in by the use case), ``OPERATOR`` otherwise."""

    def scope(self, session: Session) -> ImportScope | None:
        """For whom the import may write; None: the account may not import at all."""

    def visible(self, session: Session, refs: list[str]) -> set[str]:
        """Which of ``refs`` the report may show stored values of."""


class _Everyone:
    def refused_refs(self, session: Session, refs: list[str]) -> list[str]:
        return []


class _Operator:
    """The server's operator (the command line without ``--as``): clinic-wide, who can read the
    database directly anyway."""

    def scope(self, session: Session) -> ImportScope:
        return _Everyone()

    def visible(self, session: Session, refs: list[str]) -> set[str]:
        return set(refs)


OPERATOR: ImportPolicy = _Operator()


class UnknownFormat(FileRefused):
    pass


def detect_format(raw: bytes, file_name: str) -> str:
    """Recognise a file by its content, never by its name."""

    if looks_like_fhir(raw):
        return "fhir"
    if looks_like_bearable(raw):
        return "bearable"
    if looks_like_pain_diary_app(raw):
        return PAIN_DIARY_APP
    found = detect.detect_csv_format(raw, file_name)
    if found is None:
        unreadable = detect.unreadable(raw, file_name)
        if unreadable is not None:  # say the specific reason (a NUL byte, a double BOM, ...)
            raise unreadable
        raise UnknownFormat(
            file_name,
            "not a format this dashboard reads (diary CSV, titration CSV, visits CSV, FHIR R4 JSON/NDJSON, Bearable export, "
            "Privacy Friendly Pain Diary export); "
            "for another diary app's layout, use a mapping profile",
        )
    return found


def parse(raw: bytes, file_name: str, *, fmt: str = "auto", patient_ref: str | None = None,
          profile: dict | None = None, today: date | None = None) -> ParsedFile:
    """Bytes to a ParsedFile; raises FileRefused when the file as a whole cannot be read."""
    if profile is not None:

        return parse_with_profile(raw, file_name, profile, patient_ref=patient_ref, today=today)
    if fmt == "auto":
        fmt = detect_format(raw, file_name)
    if fmt == "diary-csv":

        return parse_diary_csv(raw, file_name, patient_ref=patient_ref, today=today)
    if fmt == "titration":

        return parse_titration_csv(raw, file_name, patient_ref=patient_ref, today=today)
    if fmt == "visits":

        return parse_visits_csv(raw, file_name, patient_ref=patient_ref, today=today)
    if fmt == "fhir":

        return parse_fhir(raw, file_name, patient_ref=patient_ref, today=today)
    if fmt == "bearable":

        return parse_bearable(raw, file_name, patient_ref=patient_ref, today=today)
    if fmt == PAIN_DIARY_APP:

        return parse_pain_diary_app(raw, file_name, patient_ref=patient_ref, today=today)
    raise UnknownFormat(file_name, f"unknown format {fmt!r}; use one of: auto, {', '.join(FORMATS)}")


def _scope(patient_ref: str | None, profile_name: str | None) -> str:
    """How the bytes were read: the patient named at import (as ``dashboard.patient_ref`` reads it,
    so " DEMO-001" and "DEMO-001" are one reading; a refused one escaped and cut to fit the record)."""
    named = (patient_refs.lookup(patient_ref) or escaped(patient_ref.strip())[:120]) if patient_ref else ""
    return f"patient={named};profile={profile_name or ''}"


def refused_report(file_name: str, fmt: str, exc: FileRefused) -> ImportReport:
    return ImportReport(file=file_name, format=fmt, status="refused", refused_rows=[exc.refused.as_dict()],
                        message=str(exc))


def import_file(
    raw: bytes,
    file_name: str,
    *,
    url: str | None = None,
    fmt: str = "auto",
    patient_ref: str | None = None,
    accept_valid: bool = False,
    actor: str = "cli",
    profile_name: str | None = None,
    dry_run: bool = False,
    today: date | None = None,
    retries: int = 4,
    policy: ImportPolicy = OPERATOR,
    resolution: Resolution | None = None,
    confirm_prescription: str | None = None,
    same_person: str | None = None,
    then: Callable[[Session, ImportReport], None] | None = None,
) -> ImportReport:
    """Parse and store one file in one transaction, retrying when a concurrent import won the race.

    Every outcome keeps one import record with the file's bytes (import-formats.md v2):
    ``imported`` in the transaction that writes the rows; ``refused``, ``already-imported`` and
    ``nothing-to-import`` in a transaction of their own that writes no row of the file.
    ``dry_run`` computes the full report (added, unchanged, conflicts, refused, ignored) and
    writes nothing at all: ``would-import`` instead of ``imported``, and no import id.
    ``resolution`` decides conflicts (keep the stored values or take the file's, with a reason).
    ``confirm_prescription`` is the reason that confirms the file's titration steps above the
    clinic's maximum daily dose or more than twice the previous step's (``dashboard.prescription_checks``).
    ``policy`` decides for whom the import may write and whose stored values its report may show:
    the operator's (clinic-wide, everything) unless the use case hands in an account's
    (``access.AccountImportPolicy``: a clinician only for patients shared with them, a file naming
    any other reference refused, dry run included, in words that do not say whether it exists;
    whatever the role, a conflict's stored values only for patients the account may open). A
    report that shows stored values or compares with them is audited, dry runs included.
    ``same_person`` is the reason given that the file's patients are the stored ones despite a
    disagreement of identity (``ingest.identity``); without it such a file is refused and kept.
    ``then`` runs in the transaction of an import that wrote rows (the EHR launch shares the
    patient it created with the launching clinician there, so neither happens without the other).
    """
    profile = None
    scope = _scope(patient_ref, None)
    if profile_name:

        try:
            with session_scope(url) as session:
                profile = load_profile(session, profile_name)
        except LookupError as exc:
            refusal = FileRefused(file_name, str(exc), column="--profile", value=profile_name)
            return _finish(url, actor, raw, refused_report(file_name, f"profile:{profile_name}", refusal),
                           dry_run=dry_run, scope=scope)
        # The profile's content is part of how the bytes were read: a changed profile is a new reading.
        content = json.dumps(profile, sort_keys=True, default=str).encode()
        scope = _scope(patient_ref, f"{profile_name}@{hashlib.sha256(content).hexdigest()[:8]}")
    with _bulk_objects():
        try:
            parsed = parse(raw, file_name, fmt=fmt, patient_ref=patient_ref, profile=profile, today=today)
        except FileRefused as exc:
            return _finish(url, actor, raw, refused_report(file_name, fmt, exc), dry_run=dry_run, scope=scope)
        report, keep = _write_retrying(parsed, raw, url=url, accept_valid=accept_valid, actor=actor, scope=scope,
                                       dry_run=dry_run, policy=policy, resolution=resolution, retries=retries,
                                       confirm_prescription=confirm_prescription, today=today,
                                       same_person=same_person, then=then)
    if not keep or report.status == "imported":
        return report
    return _finish(url, actor, raw, report, dry_run=dry_run, scope=scope)


@contextmanager
def _bulk_objects():
    """No cyclic garbage collection while a file's records are made and written: a 100k-row file
    makes millions of objects, none of them garbage, and each full collection would walk them all
    again (a third of a 100k-row import's time). Reference counting still frees what is dropped;
    cycles wait for the next collection after the import."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _write_retrying(parsed: ParsedFile, raw: bytes, *, retries: int, **options) -> tuple[ImportReport, bool]:
    for attempt in range(retries):
        try:
            return _write(parsed, raw, **options)
        except (IntegrityError, OperationalError):
            # Another process imported the same entries (or held the SQLite write lock):
            # try again in a fresh transaction, which now sees what it wrote.
            if attempt == retries - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def _finish(url, actor: str, raw: bytes, report: ImportReport, *, dry_run: bool, scope: str) -> ImportReport:
    """An attempt that wrote no rows: in a transaction of its own, keep the file (bytes, outcome,
    counts, errors) and audit it. A dry run writes nothing."""
    if dry_run:
        report.import_id = None
        return report
    with session_scope(url) as session:
        report.import_id = keep_record(session, raw, report, imported_by=actor, scope=scope)
        _audit(session, actor, report, report.stored_values_shown)
    return report


def _write(parsed: ParsedFile, raw: bytes, *, url, accept_valid, actor, scope, dry_run, policy: ImportPolicy,
           resolution=None, confirm_prescription: str | None = None, today: date | None = None,
           same_person=None, then=None) -> tuple[ImportReport, bool]:
    """The report, and whether the file is to be kept: an account that may not import at all is
    refused and audited, but its file is not kept (nobody entitled to hand it to the clinic did)."""
    with session_scope(url) as session:
        allowed = policy.scope(session)
        if allowed is None:
            report = ImportReport(file=parsed.file_name, format=parsed.format, status="refused",
                                  message="your account cannot import records")
            if not dry_run:
                _audit(session, actor, report)
            return report, False
        if hidden := allowed.refused_refs(session, parsed.patient_refs()):
            # One message whether or not a reference exists (the policy's): no existence oracle.
            return ImportReport(
                file=parsed.file_name, format=parsed.format, status="refused", patients=parsed.patient_refs(),
                message=(f"this file names {len(hidden)} patient(s) that are not among your patients "
                         f"({', '.join(hidden)}); ask clinic staff to import it")), True
        report = write_import(session, parsed, raw=raw, accept_valid=accept_valid, imported_by=actor, scope=scope,
                              dry_run=dry_run, resolution=resolution, confirm_prescription=confirm_prescription,
                              today=today, same_person=same_person)
        shown = _hide_stored_values(session, report, policy)
        if report.status == "imported":
            _audit(session, actor, report, shown)
            if then is not None:
                then(session, report)
        elif dry_run and _read_stored(report):
            _audit(session, actor, report, shown, dry_run=True)
        report.stored_values_shown = shown
        return report, True


def _hide_stored_values(session: Session, report: ImportReport, policy: ImportPolicy) -> list[str]:
    """A conflict's stored side only for patients the policy's account may open; the patients
    whose stored values the report still shows, for the audit row."""
    refs = sorted({c["patient"] for c in report.conflicts if c.get("patient")}
                  | {c["patient"] for c in report.identities if c["stored"] is not None})
    visible = policy.visible(session, refs)
    for c in report.conflicts:
        if c.get("patient") not in visible:
            c["stored"] = STORED_HIDDEN
    identity.hide_stored(report.identities, visible)
    if report.status == "refused" and any(c["needs_confirmation"] for c in report.identities):
        report.message = identity.refusal(report.file, report.identities)
    return sorted(visible)


def _read_stored(report: ImportReport) -> bool:
    """Whether the report says anything about what is stored (a conflict, or an unchanged entry or
    record): a dry run that does is a read of the patient's stored data, and is audited (a dry run
    repeated with guessed values would otherwise read them unseen)."""
    return bool(report.conflicts or report.entries_unchanged or any(report.records_unchanged.values())
                or report.measures_unchanged or any(c["stored"] is not None for c in report.identities))


def _audit(session: Session, actor: str, report: ImportReport, stored_values_shown: list[str] | None = None,
           *, dry_run: bool = False) -> None:
    detail = {
        "file": report.file,
        "format": report.format,
        "patients": report.patients,
        "entries_added": report.entries_added,
        "entries_unchanged": report.entries_unchanged,
        "refused_rows": len(report.refused_rows),
        "conflicts": len(report.conflicts),
        "ignored": sum(report.ignored.values()),
        "import_id": report.import_id,
    }
    if stored_values_shown:
        detail["stored_values_shown"] = stored_values_shown
    if report.prescription:  # the confirmation of the file's prescriptions: checks, numbers, rows, reason
        detail["prescription"] = report.prescription
    doubtful = [c["patient"] for c in report.identities if c["needs_confirmation"]]
    if doubtful:
        # Whose identity disagreed; a confirmation's own row (confirm_same_person) holds both identities.
        detail["identity_disagrees"] = doubtful
        if report.same_person:
            detail["same_person"] = report.same_person
    if dry_run:
        detail["dry_run"] = True
    audit.record(session, actor=actor, action=AuditAction.IMPORT, outcome=report.status, detail=detail)


def preview_frame(parsed: ParsedFile, limit: int = 200):
    """The first records a file would bring, as a table for the import page."""

    rows = []
    for rec in parsed.diary[:limit]:
        rows.append({"patient": rec.patient_ref, "recorded_at": rec.recorded_at, **rec.measures,
                     **{f"side effect: {k}": v for k, v in rec.side_effects.items()}})
    for kind, records in (("titration step", parsed.steps), ("visit", parsed.visits), ("co-medication", parsed.comedications)):
        for rec in records[:limit]:
            values = {k: v for k, v in vars(rec).items() if k not in ("row", "patient_ref")}
            rows.append({"patient": rec.patient_ref, "record": kind, **{k: str(v) for k, v in values.items() if v is not None}})
    return pd.DataFrame(rows[:limit])

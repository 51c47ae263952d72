"""The one writer: stores a parsed file in one transaction, or nothing.

Every format's parser hands over a :class:`ParsedFile`; this module decides what is new,
what is already there unchanged, and what is already there with other values (a conflict,
reported and never silently overwritten). Strict by default: any refused row or undecided
conflict refuses the whole file. With ``accept_valid`` the rest is imported and the refusals
and conflicts are kept in the import record together with the original bytes; a
:class:`Resolution` decides conflicts explicitly (keep the stored values or take the file's).

What is new, unchanged or in conflict is planned by ``write_plan``; many rows go in by ``bulk``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timezone

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from dashboard.db import revisions
from dashboard.db.models import ImportRecord, Patient
from dashboard.ingest import identity, import_prescriptions
from dashboard.ingest.records import ParsedFile, RefusedRow
from dashboard.ingest.resolve import apply_decisions
from dashboard.ingest.write_plan import _iso, _plain_signature, _Plan, _record_signature
from dashboard.text_rules import escaped


@dataclass
class ImportReport:
    file: str
    format: str
    # 'imported' | 'already-imported' | 'nothing-to-import' | 'refused'; a dry run says
    # 'would-import' where an import would say 'imported' (import-formats.md v2).
    status: str
    patients: list[str] = field(default_factory=list)
    patients_created: list[str] = field(default_factory=list)
    entries_added: int = 0
    entries_unchanged: int = 0
    records_added: dict[str, int] = field(default_factory=dict)
    records_unchanged: dict[str, int] = field(default_factory=dict)
    conflicts: list[dict] = field(default_factory=list)
    refused_rows: list[dict] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)
    measures_added: int = 0  # validated instruments and other measures (import-formats.md v2)
    measures_unchanged: int = 0
    merged: int = 0  # identical resources in the file, stored once
    import_id: int | None = None
    message: str = ""
    # The patients whose stored values (a conflict's stored side) this report shows its reader.
    stored_values_shown: list[str] = field(default_factory=list)
    # What the prescription checks said of the file's titration steps (dashboard.prescription_checks):
    # the confirmation (reason, checks with their rows and numbers), or the checks that need one
    # (``needs_confirmation``), and the days left without a step (``gaps``).
    prescription: dict = field(default_factory=dict)
    # Each patient of the file: the file's identity beside the stored patient's (identity.IdentityCheck.as_dict).
    identities: list[dict] = field(default_factory=list)
    # The reason given that the file's patients are the stored ones despite a disagreement (None: not confirmed).
    same_person: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _drop_in_file_duplicates(parsed: ParsedFile) -> tuple[ParsedFile, list[RefusedRow]]:
    """Two rows of one file for the same entry: identical ones count once, differing ones are refused.

    Returns a copy: the caller's ParsedFile stays as parsed, so a retried write refuses the same rows.
    """
    refused: list[RefusedRow] = []
    kept_by_group: dict[str, list] = {}
    groups = {
        "diary": (parsed.diary, lambda r: (r.patient_ref, r.recorded_at), _record_signature),
        "steps": (parsed.steps, lambda r: (r.patient_ref, r.start_date, r.route, r.status), _plain_signature),
        "visits": (parsed.visits, lambda r: (r.patient_ref, r.date, r.kind), _plain_signature),
        "comedications": (parsed.comedications, lambda r: (r.patient_ref, r.name, r.start_date, r.source), _plain_signature),
        "measures": (parsed.measures, lambda r: (r.patient_ref, r.system, r.code, r.recorded_at), _plain_signature),
    }
    for name, (records, key_of, signature_of) in groups.items():
        seen: dict[tuple, object] = {}
        kept = []
        for rec in records:
            key = key_of(rec)
            first = seen.get(key)
            if first is None:
                seen[key] = rec
                kept.append(rec)
            elif signature_of(first) != signature_of(rec):
                refused.append(
                    RefusedRow(
                        row=rec.row,
                        column="date",
                        value=" ".join(_iso(k) for k in key[1:]),
                        reason=f"row {first.row} of this file has the same patient and time with other values",
                    )
                )
        kept_by_group[name] = kept
    return replace(parsed, **kept_by_group), refused


@dataclass(frozen=True)
class Resolution:
    """Staff's decision on conflicts (import-formats.md v2): ``keep`` the stored values or
    ``take`` the file's, with a reason. ``default`` decides every conflict (``--resolve``);
    ``per_entry`` maps a conflict's ``key`` to a decision (the page, entry by entry)."""

    reason: str
    default: str | None = None
    per_entry: dict[str, str] = field(default_factory=dict)

    def decision(self, key: str) -> str | None:
        return self.per_entry.get(key, self.default)


DECISIONS = ("keep", "take")


def write_import(
    session: Session,
    parsed: ParsedFile,
    *,
    raw: bytes,
    accept_valid: bool = False,
    imported_by: str | None = None,
    scope: str = "",
    dry_run: bool = False,
    resolution: Resolution | None = None,
    confirm_prescription: str | None = None,
    today: date | None = None,
    same_person: str | None = None,
) -> ImportReport:
    """Store ``parsed`` in the caller's transaction when its outcome is ``imported``.

    The file's new troche steps, and stored steps a "take" decision changes, pass the prescription
    checks the step form applies (``dashboard.ingest.import_prescriptions``): an overlap with a stored step is a refused row; a step
    above the clinic's maximum daily dose or more than twice the previous one is a refused row
    unless ``confirm_prescription`` gives the reason (kept in the report, for the audit row).

    Any other outcome (refused, already-imported, nothing-to-import) and a dry run write
    nothing here: the caller keeps the file's record in a transaction of its own
    (:func:`keep_record`). A dry run says ``would-import`` and has no import id.
    Each patient's identity is checked against the stored patient (``identity``): a
    disagreement refuses the file unless ``same_person`` gives the reason they are the same.
    """
    sha = hashlib.sha256(raw).hexdigest()
    parsed, duplicates = _drop_in_file_duplicates(parsed)
    refused = list(parsed.refused) + duplicates
    same_person = same_person.strip() if same_person and same_person.strip() else None
    report = ImportReport(
        file=parsed.file_name,
        format=parsed.format,
        status="refused",
        patients=parsed.patient_refs(),
        refused_rows=[r.as_dict() for r in refused],
        ignored=dict(parsed.ignored),
        merged=parsed.merged,
        same_person=same_person,
    )
    patient_ids = _existing_patients(session, report.patients)
    identities = identity.check(session, parsed, patient_ids)
    report.identities = identity.as_dicts(identities)
    if refused and not accept_valid:
        report.message = f"{len(refused)} row(s) refused; nothing was imported"
        return report
    if parsed.holds_nothing():
        if refused:
            report.message = f"every row was refused ({len(refused)}); nothing was imported"
        else:
            report.status = "nothing-to-import"
            report.message = "this file holds nothing the dashboard reads" + (
                f" (ignored: {sum(report.ignored.values())} item(s))" if report.ignored else "")
        return report

    already = session.execute(
        select(ImportRecord.id, ImportRecord.entries_added, ImportRecord.entries_unchanged)
        .where(ImportRecord.sha256 == sha, ImportRecord.format == parsed.format, ImportRecord.scope == scope,
               ImportRecord.status == "imported")
        .order_by(ImportRecord.id).limit(1)
    ).first()
    if already is not None:
        already, added_then, unchanged_then = already
        report.status = "already-imported"
        report.entries_unchanged = added_then + unchanged_then
        report.message = f"this file was already imported (import #{already}); nothing changed"
        report.refused_rows = []
        return report

    plan = _Plan(session, parsed, patient_ids)
    would_change = bool(plan.has_changes() or plan.conflicts or plan.patient_updates
                        or any(p not in patient_ids for p in report.patients) or identity.has_changes(identities))
    if any(c.held_by_other for c in identities):
        # An identifier another stored patient holds: no confirmation passes it (ingest.identity).
        report.message = identity.held_refusal(parsed.file_name, report.identities)
        return report
    if not same_person and any(c.disagreements or (c.question and would_change) for c in identities):
        # A disagreement is always said and refused, before anything else is checked against a
        # patient who may not be the file's. A resource id alone ("which patient is this?") in a file
        # that would change nothing cannot put one person's data into another's record: it says
        # "already imported" below; any other is refused until the same person is confirmed.
        report.status = "refused"
        report.message = identity.refusal(parsed.file_name, report.identities)
        return report
    decided, open_conflicts = _decide(plan.conflicts, resolution)
    # A stored step changed by "take" is a changed prescription: the same checks as a new one.
    taken = import_prescriptions.taken_steps(session, plan, decided)
    report.prescription, prescription_refused, refused_takes = import_prescriptions.check_import(
        session, plan, patient_ids, taken, confirm_prescription, today or date.today())
    if prescription_refused:
        report.refused_rows += [r.as_dict() for r in prescription_refused]
        if not accept_valid:
            report.message = f"{len(report.refused_rows)} row(s) refused; nothing was imported"
            return report
        refused_rows = {r.row for r in prescription_refused}
        plan.new_records["titration_steps"] = [r for r in plan.new_records["titration_steps"]
                                               if r.row not in refused_rows]
        open_conflicts += [c for c, _ in decided if c["key"] in refused_takes]  # the "take" refused: still open
        decided = [(c, d) for c, d in decided if c["key"] not in refused_takes]
    report.entries_unchanged = plan.entries_unchanged
    report.records_unchanged = plan.records_unchanged
    report.entries_added = len(plan.new_entries)
    report.records_added = {k: len(v) for k, v in plan.new_records.items() if v and k != "measures"}
    report.measures_added = len(plan.new_records["measures"])
    report.measures_unchanged = plan.records_unchanged.pop("measure", 0)
    report.patients_created = [p for p in report.patients if p not in patient_ids]
    report.conflicts = [{**c, "decision": d} for c, d in decided] + open_conflicts

    if open_conflicts and not accept_valid:
        report.status = "refused"
        report.message = (f"{len(open_conflicts)} entr(y/ies) already stored with other values; nothing was imported "
                          "(keep the stored values or take the file's, with a reason, to import the rest)")
        report.entries_added, report.records_added, report.patients_created = 0, {}, []
        report.measures_added = 0
        return report
    if (not plan.has_changes() and not report.patients_created and not plan.patient_updates and not decided
            and not identity.has_changes(identities)):
        report.status = "already-imported"
        report.message = "everything in this file is already stored; nothing changed"
        return report
    taken = sum(1 for _, d in decided if d == "take")
    report.message = f"{'would import' if dry_run else 'imported'} {report.entries_added} diary entr(y/ies)" + (
        f" and {sum(report.records_added.values())} clinic record(s)" if report.records_added else "") + (
        f" and {report.measures_added} measure(s)" if report.measures_added else "") + (
        f"; conflicts: {taken} taken from the file, {len(decided) - taken} kept as stored" if decided else "")
    if report.prescription.get("gaps"):
        report.message += "; warning: " + "; ".join(report.prescription["gaps"])
    if dry_run:
        report.status = "would-import"
        return report

    record = ImportRecord(
        file_name=escaped(parsed.file_name)[:500],
        sha256=sha,
        format=parsed.format,
        scope=scope,
        imported_by=imported_by,
        imported_at=utcnow(),
        status="imported",
        patients=report.patients,
        patients_created=report.patients_created,
        entries_added=report.entries_added,
        entries_unchanged=report.entries_unchanged,
        records_added={**report.records_added, **({"measures": report.measures_added} if report.measures_added else {})},
        records_unchanged=report.records_unchanged,
        conflicts=report.conflicts,
        refused_rows=report.refused_rows,
        ignored=report.ignored,
        original=raw,
        message=report.message,
    )
    session.add(record)
    session.flush()
    _create_patients(session, parsed, report.patients_created, patient_ids, record.id)
    identity.apply(session, parsed, identities, patient_ids, import_id=record.id, file_name=record.file_name,
                   actor=imported_by or "unknown", same_person=same_person)
    for patient_id, changes in plan.patient_updates.items():
        patient = session.get(Patient, patient_id)
        for key, value in changes.items():
            setattr(patient, key, value)
    plan.write(session, patient_ids, record.id)
    if decided:

        apply_decisions(session, plan, decided, patient_ids, record, actor=imported_by or "unknown",
                        reason=resolution.reason)
    revisions.bump(session, patient_ids.values())  # every patient of the file: their reviews may differ now
    report.status, report.import_id = "imported", record.id
    return report


def _decide(conflicts: list[dict], resolution: Resolution | None) -> tuple[list[tuple[dict, str]], list[dict]]:
    """Split conflicts into (conflict, decision) pairs and those still open."""
    if resolution is None:
        return [], list(conflicts)
    decided, still_open = [], []
    for c in conflicts:
        d = resolution.decision(c["key"])
        if d in DECISIONS:
            decided.append((c, d))
        else:
            still_open.append(c)
    return decided, still_open


def keep_record(session: Session, raw: bytes, report: ImportReport, *, imported_by: str | None, scope: str) -> int:
    """The record of an attempt that wrote no rows (refused, already imported, nothing to import):
    the bytes and what the report said, so nothing a patient shared is lost."""
    record = ImportRecord(
        file_name=escaped(report.file)[:500], sha256=hashlib.sha256(raw).hexdigest(), format=report.format[:40], scope=scope,
        imported_by=imported_by, imported_at=utcnow(), status=report.status, patients=report.patients,
        patients_created=[], entries_added=0, entries_unchanged=report.entries_unchanged,
        records_added={}, records_unchanged=report.records_unchanged, conflicts=report.conflicts,
        refused_rows=report.refused_rows, ignored=report.ignored, original=raw, message=report.message,
    )
    session.add(record)
    session.flush()
    return record.id


def _existing_patients(session: Session, refs: list[str]) -> dict[str, int]:
    if not refs:
        return {}
    rows = session.execute(select(Patient.ref, Patient.id).where(Patient.ref.in_(refs))).all()
    return {ref: pid for ref, pid in rows}


def _create_patients(session: Session, parsed: ParsedFile, refs: list[str], ids: dict[str, int], import_id: int) -> None:
    if not refs:
        return
    details = {p.ref: p for p in parsed.patients}
    now = utcnow()
    rows = []
    for ref in refs:
        d = details.get(ref)
        rows.append(
            {
                "ref": ref,
                "name": d.name if d else None,
                "birth_year": (d.birth_year or (d.birth_date.year if d.birth_date else None)) if d else None,
                "birth_date": d.birth_date if d else None,
                "condition": d.condition if d else None,
                "created_at": now,
                "import_id": import_id,
            }
        )
    session.execute(insert(Patient.__table__), rows)
    ids.update(_existing_patients(session, refs))

"""Conflicts resolved explicitly (import-formats.md v2): keep the stored values or take the file's.

Patients do correct old entries, so a conflict must not strand the rest of a file. Staff decide,
with a reason, for a whole file (``import --resolve keep|take --reason``) or entry by entry (the
import page). Each decision is one audit row that keeps both the stored and the file's values,
so a replaced value stays in the audit trail; ``keep`` changes nothing, ``take`` changes exactly
that entry, which then remembers the import that brought its values.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from dashboard.audit_actions import AuditAction
from dashboard.db import audit
from dashboard.db.models import DIARY_MEASURES, DIARY_TEXTS, DiaryEntry, ImportRecord, Patient, SideEffect

_FIELDS = (*DIARY_MEASURES, *DIARY_TEXTS)


def apply_decisions(session: Session, plan, decided: list[tuple[dict, str]], patient_ids: dict[str, int],
                    record: ImportRecord, *, actor: str, reason: str) -> None:
    """Apply each (conflict, decision) in the import's transaction, one audit row each."""
    for conflict, decision in decided:
        kind, rec, *where = plan.conflict_sources[conflict["key"]]
        if kind == "diary":
            patient_id, stored, new = _diary(session, rec, where[0], record, take=decision == "take")
        elif kind == "patient":
            patient_id, stored, new = _patient(session, rec, where[0], conflict["column"], take=decision == "take")
        else:
            patient_id, stored, new = _clinic_record(session, kind, rec, *where, record, take=decision == "take")
        audit.record(
            session, actor=actor, action=AuditAction.RESOLVE_CONFLICT, outcome=decision, patient_id=patient_id,
            detail={"import_id": record.id, "file": record.file_name, "entry": conflict["key"], "reason": reason,
                    "decision": decision, "stored": stored, "file_values": new,
                    # What the entry holds now: the stored values kept, or the file's taken (the old ones above).
                    "replaced": stored if decision == "take" else None},
        )


def _diary(session: Session, rec, where: tuple, record: ImportRecord, *, take: bool):
    patient_id, recorded_at = where
    entry = session.scalar(select(DiaryEntry).where(DiaryEntry.patient_id == patient_id,
                                                    DiaryEntry.recorded_at == recorded_at))
    effects = dict(session.execute(select(SideEffect.effect, SideEffect.severity)
                                   .where(SideEffect.entry_id == entry.id)).all())
    stored = {**{f: getattr(entry, f) for f in _FIELDS if getattr(entry, f) is not None},
              **{f"side effect: {k}": v for k, v in effects.items()},
              "utc_offset_minutes": entry.utc_offset_minutes, "has_time": entry.has_time}
    new = {**rec.measures, **{f"side effect: {k}": v for k, v in rec.side_effects.items()},
           "utc_offset_minutes": rec.utc_offset_minutes, "has_time": rec.has_time}
    if take:
        for f in _FIELDS:
            setattr(entry, f, rec.measures.get(f))
        entry.utc_offset_minutes, entry.has_time, entry.import_id = rec.utc_offset_minutes, rec.has_time, record.id
        session.execute(delete(SideEffect).where(SideEffect.entry_id == entry.id))
        if rec.side_effects:
            session.execute(insert(SideEffect.__table__),
                            [{"entry_id": entry.id, "effect": e, "severity": v} for e, v in rec.side_effects.items()])
        session.flush()
    return patient_id, stored, new


def _patient(session: Session, rec, patient_id: int, column: str, *, take: bool):
    patient = session.get(Patient, patient_id)
    stored, new = {column: getattr(patient, column)}, {column: getattr(rec, column)}
    if take:
        setattr(patient, column, getattr(rec, column))
        session.flush()
    return patient_id, stored, new


def _clinic_record(session: Session, model, rec, key: dict, value_cols: tuple, record: ImportRecord, *, take: bool):
    row = session.scalar(select(model).where(*(getattr(model, k) == v for k, v in key.items())))
    stored = {c: getattr(row, c) for c in value_cols}
    new = {c: getattr(rec, c) for c in value_cols}
    if take:
        for c in value_cols:
            setattr(row, c, getattr(rec, c))
        row.import_id = record.id
        session.flush()
    return key["patient_id"], stored, new

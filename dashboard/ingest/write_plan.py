"""What a parsed file would change, against what is stored (``dashboard.ingest.writer`` decides
and records the import): each record's natural key and the values that must agree on re-import,
the stored rows read once per table, new rows, unchanged ones and conflicts, and the writing of
the new rows (diary entries in bulk, ``dashboard.ingest.bulk``).
"""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from dashboard.ingest import bulk
from dashboard.db.models import (
    DIARY_MEASURES,
    DIARY_TEXTS,
    CoMedication,
    DiaryEntry,
    Measure,
    Patient,
    SideEffect,
    TitrationStep,
    Visit,
)
from dashboard.ingest.records import DiaryRecord, ParsedFile

_FIELDS = (*DIARY_MEASURES, *DIARY_TEXTS)
# A measure's natural key is (patient, system, code, recorded_at); these values must agree on re-import.
MEASURE_VALUES = ("name", "instrument", "value", "answer_code", "answer_text", "answer_position", "unit",
                  "utc_offset_minutes", "has_time", "reference_low", "reference_high")


def _iso(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _entry_signature(utc_offset, has_time, values: dict, effects: dict) -> tuple:
    kept = tuple((k, values.get(k)) for k in _FIELDS)
    return (utc_offset, bool(has_time), kept, tuple(sorted(effects.items())))


def _record_signature(rec: DiaryRecord) -> tuple:
    return _entry_signature(rec.utc_offset_minutes, rec.has_time, rec.measures, rec.side_effects)


def _plain_signature(rec) -> tuple:
    return tuple((k, v) for k, v in asdict(rec).items() if k != "row")


class _Plan:
    """What the file adds, against what is stored: computed before anything is written."""

    def __init__(self, session: Session, parsed: ParsedFile, patient_ids: dict[str, int]):
        self.parsed = parsed
        self.conflicts: list[dict] = []
        # A conflict's key -> what a decision needs: (model or "patient"/"diary", the file's record, the stored key).
        self.conflict_sources: dict[str, tuple] = {}
        self.entries_unchanged = 0
        self.records_unchanged: dict[str, int] = {}
        self.patient_updates: dict[int, dict] = {}
        self.new_entries = self._plan_diary(session, patient_ids)
        self.new_records = {
            "titration_steps": self._plan_records(session, patient_ids, parsed.steps, TitrationStep,
                                                  ("start_date", "route", "status"),
                                                  ("end_date", "dose_mg", "frequency", "max_per_day", "note")),
            "visits": self._plan_records(session, patient_ids, parsed.visits, Visit, ("date", "kind"), ("note", "status")),
            "co_medications": self._plan_records(session, patient_ids, parsed.comedications, CoMedication,
                                                 ("name", "start_date", "source"),
                                                 ("rxnorm", "drug_class", "end_date", "status", "dose_text",
                                                  "start_precision", "end_precision")),
            "measures": self._plan_records(session, patient_ids, parsed.measures, Measure,
                                           ("system", "code", "recorded_at"), MEASURE_VALUES),
        }
        self._plan_patient_details(session, patient_ids)

    def has_changes(self) -> bool:
        return bool(self.new_entries) or any(self.new_records.values())

    def _plan_patient_details(self, session: Session, patient_ids: dict[str, int]) -> None:
        """The condition fills an empty one of a known patient; a differing one is a conflict. Who the
        patient is (name, birth date, identifiers) is ``dashboard.ingest.identity``'s: never a conflict
        to take a file's side of, but a disagreement to confirm."""
        for rec in self.parsed.patients:
            pid = patient_ids.get(rec.ref)
            if pid is None:
                continue
            stored = session.get(Patient, pid)
            for key in ("condition",):
                new, old = getattr(rec, key), getattr(stored, key)
                if new is None or new == old:
                    continue
                if old is None:
                    self.patient_updates.setdefault(pid, {})[key] = new
                else:
                    ckey = f"patient|{rec.ref}|{key}"
                    self.conflicts.append({"key": ckey, "patient": rec.ref, "row": "Patient", "column": key,
                                           "stored": str(old), "new": str(new)})
                    self.conflict_sources[ckey] = ("patient", rec, pid)

    def _plan_diary(self, session: Session, patient_ids: dict[str, int]) -> list[DiaryRecord]:
        records = self.parsed.diary
        known = [r for r in records if r.patient_ref in patient_ids]
        stored = self._stored_entries(session, patient_ids, known)
        new = []
        for rec in records:
            pid = patient_ids.get(rec.patient_ref)
            existing = stored.get((pid, rec.recorded_at)) if pid is not None else None
            if existing is None:
                new.append(rec)
            elif existing == _record_signature(rec):
                self.entries_unchanged += 1
            else:
                conflict = _diary_conflict(rec, existing)
                self.conflicts.append(conflict)
                self.conflict_sources[conflict["key"]] = ("diary", rec, (pid, rec.recorded_at))
        return new

    @staticmethod
    def _stored_entries(session: Session, patient_ids: dict[str, int], records: list[DiaryRecord]) -> dict:
        if not records:
            return {}
        ids = sorted({patient_ids[r.patient_ref] for r in records})
        lo = min(r.recorded_at for r in records)
        hi = max(r.recorded_at for r in records)
        cols = [DiaryEntry.id, DiaryEntry.patient_id, DiaryEntry.recorded_at, DiaryEntry.utc_offset_minutes, DiaryEntry.has_time]
        cols += [getattr(DiaryEntry, f) for f in _FIELDS]
        where = (DiaryEntry.patient_id.in_(ids), DiaryEntry.recorded_at >= lo, DiaryEntry.recorded_at <= hi)
        rows = session.execute(select(*cols).where(*where)).all()
        effects: dict[int, dict[str, int]] = {}
        for entry_id, effect, severity in session.execute(
            select(SideEffect.entry_id, SideEffect.effect, SideEffect.severity)
            .join(DiaryEntry, DiaryEntry.id == SideEffect.entry_id)
            .where(*where)
        ):
            effects.setdefault(entry_id, {})[effect] = severity
        out = {}
        for row in rows:
            values = {f: v for f, v in zip(_FIELDS, row[5:]) if v is not None}
            out[(row[1], row[2])] = _entry_signature(row[3], row[4], values, effects.get(row[0], {}))
        return out

    def _plan_records(self, session, patient_ids, records, model, key_cols, value_cols) -> list:
        if not records:
            return []
        ids = sorted({patient_ids[r.patient_ref] for r in records if r.patient_ref in patient_ids})
        stored = {}
        if ids:
            cols = [model.patient_id, *(getattr(model, c) for c in key_cols), *(getattr(model, c) for c in value_cols)]
            for row in session.execute(select(*cols).where(model.patient_id.in_(ids))):
                stored[tuple(row[: 1 + len(key_cols)])] = tuple(row[1 + len(key_cols):])
        new = []
        for rec in records:
            key = (patient_ids.get(rec.patient_ref), *(getattr(rec, c) for c in key_cols))
            values = tuple(getattr(rec, c) for c in value_cols)
            if key not in stored:
                new.append(rec)
            elif stored[key] == values:
                self.records_unchanged[model.__tablename__] = self.records_unchanged.get(model.__tablename__, 0) + 1
            else:
                ckey = "|".join([model.__tablename__, rec.patient_ref, *(_text(k) for k in key[1:])])
                self.conflicts.append({
                    "key": ckey, "patient": rec.patient_ref, "row": rec.row, "column": ", ".join(value_cols),
                    "stored": ", ".join(map(_text, stored[key])), "new": ", ".join(map(_text, values)),
                })
                self.conflict_sources[ckey] = (model, rec, dict(zip(("patient_id", *key_cols), key)), value_cols)
        return new

    def write(self, session: Session, patient_ids: dict[str, int], import_id: int) -> None:
        _insert_entries(session, self.new_entries, patient_ids, import_id, self.parsed.format)
        for name, model in (("titration_steps", TitrationStep), ("visits", Visit), ("co_medications", CoMedication),
                            ("measures", Measure)):
            rows = []
            for rec in self.new_records[name]:
                values = {k: v for k, v in asdict(rec).items() if k not in ("row", "patient_ref")}
                rows.append({**values, "patient_id": patient_ids[rec.patient_ref], "import_id": import_id})
            if rows:
                session.execute(insert(model.__table__), rows)


def _text(value) -> str:
    return "" if value is None else _iso(value)


def _diary_conflict(rec: DiaryRecord, stored: tuple) -> dict:
    stored_values = dict(stored[2])
    stored_effects = dict(stored[3])
    differing = [k for k in _FIELDS if stored_values.get(k) != rec.measures.get(k)]
    differing += [e for e in sorted(set(stored_effects) | set(rec.side_effects)) if stored_effects.get(e) != rec.side_effects.get(e)]
    return {
        "key": f"diary|{rec.patient_ref}|{rec.recorded_at.isoformat()}",
        "patient": rec.patient_ref,
        "row": rec.row,
        "column": ", ".join(differing) or "time offset",
        "recorded_at": rec.recorded_at.isoformat(),
        "stored": ", ".join(_text(stored_values.get(k, stored_effects.get(k))) for k in differing),
        "new": ", ".join(_text(rec.measures.get(k, rec.side_effects.get(k))) for k in differing),
    }


def _insert_entries(session: Session, records: list[DiaryRecord], patient_ids: dict[str, int], import_id: int, source: str) -> None:
    """Bulk insert, column by column: a 100k-row file imports in seconds (bench/import_speed.py).

    The entries' ids are taken first (:func:`bulk.take_ids`), so the side effects can name their
    entry without a RETURNING (which SQLite answers one row per statement when the order matters).
    """
    if not records:
        return
    ids = bulk.take_ids(session, DiaryEntry.__table__, len(records))
    measures = [rec.measures for rec in records]
    columns = {
        "id": ids,
        "patient_id": [patient_ids[rec.patient_ref] for rec in records],
        "recorded_at": [rec.recorded_at for rec in records],
        "utc_offset_minutes": [rec.utc_offset_minutes for rec in records],
        "has_time": [rec.has_time for rec in records],
        "diary_date": [rec.recorded_at.date() for rec in records],
        **{f: [m.get(f) for m in measures] for f in _FIELDS},
        "source": [source] * len(records),
        "import_id": [import_id] * len(records),
    }
    effects: dict[str, tuple] = {}

    def side_effects() -> None:  # made while PostgreSQL is still storing the entries
        rows = [(entry_id, effect, severity) for entry_id, rec in zip(ids, records)
                for effect, severity in rec.side_effects.items()]
        if rows:
            effects.update(zip(("entry_id", "effect", "severity"), zip(*rows)))

    bulk.bulk_insert(session, DiaryEntry.__table__, columns, meanwhile=side_effects)
    if effects:
        bulk.bulk_insert(session, SideEffect.__table__, effects)

"""The one writer: stores a parsed file in one transaction, or nothing.

Every format's parser hands over a :class:`ParsedFile`; this module decides what is new,
what is already there unchanged, and what is already there with other values (a conflict,
reported and never silently overwritten). Strict by default: any refused row or undecided
conflict refuses the whole file. With ``accept_valid`` the rest is imported and the refusals
and conflicts are kept in the import record together with the original bytes; a
:class:`Resolution` decides conflicts explicitly (keep the stored values or take the file's).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timezone

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from dashboard.db import revisions
from dashboard.db.models import (
    DIARY_MEASURES,
    DIARY_TEXTS,
    CoMedication,
    DiaryEntry,
    ImportRecord,
    Measure,
    Patient,
    SideEffect,
    TitrationStep,
    Visit,
)
from dashboard.ingest.records import DiaryRecord, ParsedFile, RefusedRow
from dashboard.text_rules import escaped

_FIELDS = (*DIARY_MEASURES, *DIARY_TEXTS)
# A measure's natural key is (patient, system, code, recorded_at); these values must agree on re-import.
MEASURE_VALUES = ("name", "instrument", "value", "answer_code", "answer_text", "answer_position", "unit",
                  "utc_offset_minutes", "has_time", "reference_low", "reference_high")


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

    def as_dict(self) -> dict:
        return asdict(self)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _iso(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _entry_signature(utc_offset, has_time, values: dict, effects: dict) -> tuple:
    kept = tuple((k, values.get(k)) for k in _FIELDS)
    return (utc_offset, bool(has_time), kept, tuple(sorted(effects.items())))


def _record_signature(rec: DiaryRecord) -> tuple:
    return _entry_signature(rec.utc_offset_minutes, rec.has_time, rec.measures, rec.side_effects)


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


def _plain_signature(rec) -> tuple:
    return tuple((k, v) for k, v in asdict(rec).items() if k != "row")


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
) -> ImportReport:
    """Store ``parsed`` in the caller's transaction when its outcome is ``imported``.

    Any other outcome (refused, already-imported, nothing-to-import) and a dry run write
    nothing here: the caller keeps the file's record in a transaction of its own
    (:func:`keep_record`). A dry run says ``would-import`` and has no import id.
    """
    sha = hashlib.sha256(raw).hexdigest()
    parsed, duplicates = _drop_in_file_duplicates(parsed)
    refused = list(parsed.refused) + duplicates
    report = ImportReport(
        file=parsed.file_name,
        format=parsed.format,
        status="refused",
        patients=parsed.patient_refs(),
        refused_rows=[r.as_dict() for r in refused],
        ignored=dict(parsed.ignored),
        merged=parsed.merged,
    )
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

    patient_ids = _existing_patients(session, report.patients)
    plan = _Plan(session, parsed, patient_ids)
    report.entries_unchanged = plan.entries_unchanged
    report.records_unchanged = plan.records_unchanged
    report.entries_added = len(plan.new_entries)
    report.records_added = {k: len(v) for k, v in plan.new_records.items() if v and k != "measures"}
    report.measures_added = len(plan.new_records["measures"])
    report.measures_unchanged = plan.records_unchanged.pop("measure", 0)
    report.patients_created = [p for p in report.patients if p not in patient_ids]
    decided, open_conflicts = _decide(plan.conflicts, resolution)
    report.conflicts = [{**c, "decision": d} for c, d in decided] + open_conflicts

    if open_conflicts and not accept_valid:
        report.status = "refused"
        report.message = (f"{len(open_conflicts)} entr(y/ies) already stored with other values; nothing was imported "
                          "(keep the stored values or take the file's, with a reason, to import the rest)")
        report.entries_added, report.records_added, report.patients_created = 0, {}, []
        report.measures_added = 0
        return report
    if not plan.has_changes() and not report.patients_created and not plan.patient_updates and not decided:
        report.status = "already-imported"
        report.message = "everything in this file is already stored; nothing changed"
        return report
    taken = sum(1 for _, d in decided if d == "take")
    report.message = f"{'would import' if dry_run else 'imported'} {report.entries_added} diary entr(y/ies)" + (
        f" and {sum(report.records_added.values())} clinic record(s)" if report.records_added else "") + (
        f" and {report.measures_added} measure(s)" if report.measures_added else "") + (
        f"; conflicts: {taken} taken from the file, {len(decided) - taken} kept as stored" if decided else "")
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
    for patient_id, changes in plan.patient_updates.items():
        patient = session.get(Patient, patient_id)
        for key, value in changes.items():
            setattr(patient, key, value)
    plan.write(session, patient_ids, record.id)
    if decided:
        from dashboard.ingest.resolve import apply_decisions

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
                "birth_year": d.birth_year if d else None,
                "condition": d.condition if d else None,
                "created_at": now,
                "import_id": import_id,
            }
        )
    session.execute(insert(Patient.__table__), rows)
    ids.update(_existing_patients(session, refs))


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
        """Details fill empty fields of a known patient; differing details are a conflict."""
        for rec in self.parsed.patients:
            pid = patient_ids.get(rec.ref)
            if pid is None:
                continue
            stored = session.get(Patient, pid)
            for key in ("name", "birth_year", "condition"):
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

    The entries' ids are taken first (:func:`_take_ids`), so the side effects can name their
    entry without a RETURNING (which SQLite answers one row per statement when the order matters).
    """
    if not records:
        return
    ids = _take_ids(session, DiaryEntry.__table__, len(records))
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

    bulk_insert(session, DiaryEntry.__table__, columns, meanwhile=side_effects)
    if effects:
        bulk_insert(session, SideEffect.__table__, effects)


def _take_ids(session: Session, table, count: int) -> list[int]:
    """``count`` new primary keys for ``table``, in order, inside the import's transaction.

    PostgreSQL: from the table's sequence, as the column default would. SQLite: the ids it would
    give itself (the largest rowid plus one, then on): the import record is already written, so
    this transaction holds SQLite's write lock and nobody else can take them meanwhile.
    """
    if session.get_bind().dialect.name == "postgresql":
        # The sequence's name is looked up once and written into the query as a constant:
        # pg_get_serial_sequence in the select list is evaluated per row (0.6 s for 100,000 ids).
        sequence = session.scalar(text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name})
        literal = "'" + sequence.replace("'", "''") + "'"
        return session.connection().exec_driver_sql(
            f"SELECT nextval({literal}::regclass) FROM generate_series(1, {int(count)})").scalars().all()
    highest = session.scalar(text(f"SELECT max(id) FROM {table.name}")) or 0
    return list(range(highest + 1, highest + 1 + count))


def copy_supported(connection) -> bool:
    """PostgreSQL through psycopg 3 can take the rows with COPY (one stream, no statement per row)."""
    return connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"


def bulk_insert(session: Session, table, columns: dict[str, list], *, meanwhile=None) -> None:
    """Insert rows given as columns (name -> values, all of one length) in the session's transaction.

    Each value goes through the column type's bind processor, as SQLAlchemy's own insert would
    (SQLite keeps datetimes as text in SQLAlchemy's format), so what is stored is the same; then
    COPY on PostgreSQL (:func:`copy_supported`) or one DBAPI executemany elsewhere, without
    SQLAlchemy building a parameter dict per row. A database error comes out as SQLAlchemy's
    (an ``IntegrityError`` when a concurrent import stored the same entry: the import retries).
    ``meanwhile()`` is called once the rows are handed over: with COPY, while the server is still
    storing them; elsewhere, after.
    """
    connection = session.connection()
    dialect = connection.dialect
    names = list(columns)
    values = []
    for name in names:
        process = table.c[name].type._cached_bind_processor(dialect)
        values.append(columns[name] if process is None else [process(v) for v in columns[name]])
    quoted = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
    if copy_supported(connection):
        _copy(connection, f"COPY {table.name} ({quoted}) FROM STDIN", values, meanwhile)
        return
    marks = ", ".join("?" if dialect.paramstyle == "qmark" else "%s" for _ in names)
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({quoted}) VALUES ({marks})", list(zip(*values)))
    if meanwhile is not None:
        meanwhile()


COPY_CHUNK_ROWS = 10_000  # rows formatted per write: the server stores one chunk while the next is formatted


def _copy(connection, statement: str, values: list[list], meanwhile=None) -> None:
    """COPY FROM STDIN in PostgreSQL's text format, the payload built column by column
    (:func:`copy_text`); columns of a type it does not know go row by row through psycopg.
    A thread of psycopg's sends the chunks, so the next chunk is built while the server reads one."""
    import psycopg
    from psycopg.copy import QueuedLibpqWriter

    count = len(values[0]) if values else 0
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            for start in range(0, count, COPY_CHUNK_ROWS):
                chunk = [column[start:start + COPY_CHUNK_ROWS] for column in values]
                payload = copy_text(chunk)
                if payload is None:
                    for row in zip(*chunk):
                        copy.write_row(row)
                else:
                    copy.write(payload)
            if meanwhile is not None:
                meanwhile()
    except psycopg.Error as exc:
        from sqlalchemy.exc import DBAPIError

        raise DBAPIError.instance(statement, None, exc, psycopg.Error, dialect=connection.dialect) from exc
    finally:
        cursor.close()


_NULL = "\\N"


def copy_text(columns: list[list]) -> str | None:
    """The rows given as columns in COPY's text format (one line per row, ending in a line break),
    or None when a column holds a value this does not format exactly as psycopg would (then the
    caller writes row by row).

    Floats are written as ``repr`` (the shortest text that reads back to the same double),
    datetimes and dates in ISO form without a zone (only naive datetimes: the columns are
    ``timestamp without time zone``), booleans as t/f, None as ``\\N``; text is escaped.
    """
    if not columns:
        return None
    texts = []
    for column in columns:
        formatted = _column_text(column)
        if formatted is None:
            return None
        texts.append(formatted)
    if not texts[0]:
        return ""
    return "\n".join(map("\t".join, zip(*texts))) + "\n"


def _column_text(column: list) -> list[str] | None:
    kinds = set(map(type, column))
    kinds.discard(type(None))
    if not kinds:
        return [_NULL] * len(column)
    if len(kinds) > 1:
        if kinds <= {int, float}:  # a float column holding whole numbers as ints
            return [_NULL if v is None else repr(float(v)) for v in column]
        return None
    kind = kinds.pop()
    if kind is str:
        if any("\x00" in v for v in column if v is not None):
            return None  # PostgreSQL text cannot hold NUL: psycopg's own error says so
        # COPY's text format: a backslash escapes (so it goes first), a tab ends a column, a line break a row.
        return [_NULL if v is None else v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r") for v in column]
    if kind is float:
        return [_NULL if v is None else repr(v) for v in column]
    if kind is int:
        return [_NULL if v is None else str(v) for v in column]
    if kind is bool:
        return [_NULL if v is None else ("t" if v else "f") for v in column]
    if kind is datetime:
        if any(v.tzinfo is not None for v in column if v is not None):
            return None
        return [_NULL if v is None else v.isoformat(" ") for v in column]
    if kind is date:
        return [_NULL if v is None else v.isoformat() for v in column]
    return None

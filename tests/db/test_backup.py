"""Backups that restore (``python -m dashboard backup`` / ``restore``), on SQLite and PostgreSQL.

A busy demo clinic (an importer and a reader writing audit rows while the backup runs) is backed
up, restored into a new empty database elsewhere, and must come back with ``audit verify`` intact
and every patient's summary unchanged. Then the refusals, and a backup whose trail was tampered with.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dashboard import cli
from dashboard.stored.review import patient_summary
from dashboard.db import audit, audit_checkpoint, audit_key
from dashboard.db.models import AuditEvent, DiaryEntry, Patient
from dashboard.db.session import get_engine, session_scope
from dashboard.demo import build_demo
from dashboard.ingest.service import import_file
from tests.conftest import _pg_available, _pg_create, _pg_drop, require

AS_OF = date(2026, 11, 30)


def _summaries(url: str) -> dict[str, dict]:
    with session_scope(url) as session:
        refs = session.scalars(select(Patient.ref).order_by(Patient.ref)).all()
        return {ref: patient_summary(session, ref, as_of=AS_OF) for ref in refs}


def _audit_count(url: str) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.fixture
def empty_url(db_url, tmp_path):
    """A new, empty (not even migrated) database of the same backend as ``db_url``: 'elsewhere'."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'elsewhere' / 'restored.sqlite'}"
        yield url
        get_engine(url).dispose()
        return
    reason = _pg_available()
    require(reason is None, reason or "")
    name = f"dash_restore_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = _pg_create(name)
    yield url
    _pg_drop(name, url)


def _cli(monkeypatch, url: str, *argv: str, checkpoint: Path | None = None) -> int:
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", url)
    if checkpoint is not None:
        monkeypatch.setenv("DASHBOARD_AUDIT_CHECKPOINT_FILE", str(checkpoint))
    return cli.main(list(argv))


class _BusyClinic:
    """Imports new patients and records views until stopped, as clinicians would during a backup."""

    def __init__(self, url: str):
        self.url, self.stop, self.errors, self.imports = url, threading.Event(), [], 0
        self.thread = threading.Thread(target=self._work, daemon=True)

    def _work(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                csv = f"patient_id,date,pain,notes\nBUSY-{n},2026-11-0{1 + n % 9}T21:00,{n % 10},busy {n}\n"
                import_file(csv.encode(), f"busy-{n}.csv", url=self.url, actor="busy-importer")
                with session_scope(self.url) as session:
                    audit.record(session, actor="busy-reader", action="view_patient", outcome="ok",
                                 detail={"patient": "DEMO-001"})
                self.imports += 1
            except Exception as exc:  # noqa: BLE001 - collected and asserted on below
                self.errors.append(repr(exc))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(60)


def test_a_busy_clinic_backs_up_and_restores_elsewhere_with_its_trail_and_summaries(
        db_url, empty_url, tmp_path, monkeypatch, capsys):
    with session_scope(db_url) as session:
        build_demo(session, seed=7)
    before = _summaries(db_url)
    backup_file = tmp_path / "clinic.backup"
    with _BusyClinic(db_url) as busy:
        while busy.imports < 2 and not busy.errors:  # the clinic is writing when the backup starts
            busy.stop.wait(0.05)
        code = _cli(monkeypatch, db_url, "backup", "-o", str(backup_file))
    out = capsys.readouterr()
    assert code == 0, out.err
    assert not busy.errors, busy.errors
    assert busy.imports >= 2
    assert backup_file.stat().st_mode & 0o777 == 0o600
    side = Path(str(backup_file) + ".checkpoint.json")
    reaches = json.loads(side.read_text())["last_id"]
    assert f"up to row {reaches}" in out.out

    # Elsewhere: another database, another checkpoint file, the same key (backed up apart).
    restored_checkpoint = tmp_path / "elsewhere-checkpoint.json"
    code = _cli(monkeypatch, empty_url, "restore", str(backup_file), checkpoint=restored_checkpoint)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "audit trail intact" in out.out and "reaching the backup's checkpoint" in out.out
    assert restored_checkpoint.exists()
    assert _cli(monkeypatch, empty_url, "audit", "verify", checkpoint=restored_checkpoint) == 0, capsys.readouterr().err

    after = _summaries(empty_url)
    demo_refs = [ref for ref in before if ref.startswith("DEMO-")]
    assert demo_refs and {ref: after[ref] for ref in demo_refs} == {ref: before[ref] for ref in demo_refs}
    with session_scope(empty_url) as session:
        # What the busy clinic wrote before the snapshot came along whole: each BUSY patient with its entry.
        busy_rows = session.execute(select(Patient.ref, DiaryEntry.notes).join(DiaryEntry).where(
            Patient.ref.like("BUSY-%"))).all()
        assert busy_rows and all(note == f"busy {ref.removeprefix('BUSY-')}" for ref, note in busy_rows)
        assert len(busy_rows) == len([ref for ref in after if ref.startswith("BUSY-")])
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        backup_row = session.get(AuditEvent, reaches)
    assert backup_row is not None and backup_row.action == "backup"
    assert actions[-1] == "restore"


def test_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(db_url, tmp_path, monkeypatch, capsys):
    import_file(b"patient_id,date,pain\nP-1,2026-03-01,5\n", "d.csv", url=db_url, actor="t")
    backup_file = tmp_path / "b.backup"
    assert _cli(monkeypatch, db_url, "backup", "-o", str(backup_file)) == 0
    rows = _audit_count(db_url)
    code = _cli(monkeypatch, db_url, "restore", str(backup_file))
    err = capsys.readouterr().err
    assert code == 1
    assert "is not empty" in err and "restore only into a new, empty database" in err
    assert _audit_count(db_url) == rows


def test_restore_refuses_a_file_that_is_no_backup_or_of_the_other_backend(db_url, empty_url, tmp_path, monkeypatch,
                                                                          capsys):
    junk = tmp_path / "notes.txt"
    junk.write_text("patient_id,date,pain\n")
    assert _cli(monkeypatch, empty_url, "restore", str(junk)) == 1
    assert "neither a SQLite database nor a pg_dump" in capsys.readouterr().err
    other = tmp_path / "other.backup"
    other.write_bytes(b"PGDMP" + bytes(100) if db_url.startswith("sqlite") else b"SQLite format 3\x00" + bytes(100))
    assert _cli(monkeypatch, empty_url, "restore", str(other)) == 1
    assert "backup; the database" in capsys.readouterr().err


def test_restore_without_the_audit_key_restores_nothing(sqlite_url, tmp_path, monkeypatch, capsys):
    import_file(b"patient_id,date,pain\nP-1,2026-03-01,5\n", "d.csv", url=sqlite_url, actor="t")
    backup_file = tmp_path / "b.backup"
    assert _cli(monkeypatch, sqlite_url, "backup", "-o", str(backup_file)) == 0
    monkeypatch.delenv("DASHBOARD_AUDIT_KEY")
    monkeypatch.setenv("DASHBOARD_AUDIT_KEY_FILE", str(tmp_path / "no-such.key"))
    target = tmp_path / "new" / "r.sqlite"
    assert _cli(monkeypatch, f"sqlite:///{target}", "restore", str(backup_file)) == 3
    assert "no audit key" in capsys.readouterr().err
    assert not target.exists()


def _tamper(backup_file: Path, sql: str) -> None:
    """Edit a SQLite backup as someone with the file (not the key) could: triggers off, rows changed."""
    con = sqlite3.connect(backup_file)
    for (name,) in con.execute("select name from sqlite_master where type='trigger'").fetchall():
        con.execute(f'drop trigger "{name}"')
    con.execute(sql)
    con.commit()
    con.close()


@pytest.mark.parametrize("sql, problem", [
    ("update audit_event set detail = '{\"file\": \"forged\"}' where id = 1", "content was edited"),
    ("delete from audit_event where id = (select max(id) from audit_event)", "the newest rows were deleted"),
])
def test_a_tampered_backup_is_reported_broken(sqlite_url, tmp_path, monkeypatch, capsys, sql, problem):
    import_file(b"patient_id,date,pain\nP-1,2026-03-01,5\n", "d.csv", url=sqlite_url, actor="t")
    backup_file = tmp_path / "b.backup"
    assert _cli(monkeypatch, sqlite_url, "backup", "-o", str(backup_file)) == 0
    _tamper(backup_file, sql)
    code = _cli(monkeypatch, f"sqlite:///{tmp_path / 'r.sqlite'}", "restore", str(backup_file),
                checkpoint=tmp_path / "r-checkpoint.json")
    err = capsys.readouterr().err
    assert code == 1
    assert "audit trail is BROKEN" in err and problem in err


def test_restored_in_place_after_a_loss_the_old_checkpoint_is_kept_and_the_lost_rows_named(
        sqlite_url, tmp_path, monkeypatch, capsys):
    """The database file is lost after more work was audited; the clinic restores last night's backup
    under the same name. The checkpoint that reached further is kept as evidence, not overwritten."""
    import_file(b"patient_id,date,pain\nP-1,2026-03-01,5\n", "d.csv", url=sqlite_url, actor="t")
    checkpoint = tmp_path / "audit-checkpoint.json"
    backup_file = tmp_path / "nightly.backup"
    assert _cli(monkeypatch, sqlite_url, "backup", "-o", str(backup_file), checkpoint=checkpoint) == 0
    import_file(b"patient_id,date,pain\nP-2,2026-03-02,4\n", "e.csv", url=sqlite_url, actor="t")
    assert _cli(monkeypatch, sqlite_url, "audit", "verify", checkpoint=checkpoint) == 0
    reached = audit_checkpoint.read(audit_key.load(create=False), checkpoint).last_id  # the history's newest
    capsys.readouterr()
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    get_engine(sqlite_url).dispose()
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()  # the disk is gone

    assert _cli(monkeypatch, sqlite_url, "restore", str(backup_file), checkpoint=checkpoint) == 0
    out = capsys.readouterr().out
    assert f"to {reached}, written after the backup, are not in it" in out
    kept = list(tmp_path.glob("audit-checkpoint.before-restore-*.json"))
    assert len(kept) == 1 and audit_checkpoint.read(audit_key.load(create=False), kept[0]).last_id == reached
    assert _cli(monkeypatch, sqlite_url, "audit", "verify", checkpoint=checkpoint) == 0
    with session_scope(sqlite_url) as session:
        assert session.scalars(select(Patient.ref)).all() == ["P-1"]


def test_backup_refuses_a_folder_that_does_not_exist(sqlite_url, tmp_path, monkeypatch, capsys):
    assert _cli(monkeypatch, sqlite_url, "backup", "-o", str(tmp_path / "nowhere" / "b.backup")) == 3
    assert "does not exist" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "nowhere", ignore_errors=True)

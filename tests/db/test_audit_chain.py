"""The keyed chain and the checkpoint: what someone with database access but without the key
cannot do unnoticed (edit, delete, insert, reorder, cut the tail, re-hash the trail), what
``audit verify`` says and exits with, and many writers at once never breaking the chain."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, func, insert, select, update

from dashboard.config import audit_checkpoint_file
from dashboard.db import audit, audit_checkpoint, audit_key
from dashboard.db.models import AuditEvent
from dashboard.db.session import session_scope
from tests.db.test_audit import _trail, audit_unlocked
from tests.clirun import cli

REPO = Path(__file__).resolve().parents[2]
OTHER_KEY = b"not-the-clinic-key-" + b"x" * 32


def _key() -> bytes:
    return audit_key.load(create=False)


def _checkpoint(url: str) -> audit_checkpoint.Checkpoint:
    """What ``audit checkpoint`` does: verify, then sign the last row."""
    with session_scope(url) as session:
        result = audit.verify(session, key=_key())
        assert result.ok, result.problem
        checkpoint = audit.checkpoint_after(session, result, _key(), None)
    audit_checkpoint.append(_key(), checkpoint)
    return checkpoint


def _verify(url: str, *, with_checkpoint: bool = True) -> audit.VerifyResult:
    history = audit_checkpoint.read_history(_key()) if with_checkpoint else []
    with session_scope(url) as session:
        return audit.verify(session, key=_key(), history=history)


def _tamper(url: str, *statements) -> None:
    with audit_unlocked(url):
        with session_scope(url) as session:
            for statement in statements:
                session.execute(statement)


def _rows(url: str) -> list[AuditEvent]:
    with session_scope(url) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _legacy(prev: str, ev: AuditEvent) -> str:
    return audit._legacy_digest(prev, ev.at, ev.actor, ev.action, ev.patient_id, ev.outcome, ev.detail)


def _other_key(prev: str, ev: AuditEvent) -> str:
    return audit._keyed_digest(OTHER_KEY, ev.id, prev, ev.at, ev.actor, ev.action, ev.patient_id, ev.outcome, ev.detail)


def _rechain(url: str, digest, start: int = 1) -> None:
    """A database owner recomputing every hash from row ``start`` on with a digest of their choice."""
    rows = _rows(url)
    prev = rows[start - 2].hash if start > 1 else audit.GENESIS
    statements = []
    for ev in rows[start - 1:]:
        new = digest(prev, ev)
        statements.append(update(AuditEvent).where(AuditEvent.id == ev.id).values(prev_hash=prev, hash=new))
        prev = new
    _tamper(url, *statements)


def _forged_row(url: str, row_id: int, digest) -> dict:
    last = _rows(url)[-1]
    ev = AuditEvent(id=row_id, at=last.at, actor="intruder", action="login", patient_id=None, outcome="ok", detail="")
    return dict(id=row_id, at=ev.at, actor=ev.actor, action=ev.action, patient_id=None, outcome="ok", detail="",
                prev_hash=last.hash, hash=digest(last.hash, ev))


def test_a_keyed_trail_verifies_and_reaches_its_checkpoint(db_url):
    _trail(db_url, events=4)
    _checkpoint(db_url)
    _trail(db_url, events=2)
    result = _verify(db_url)
    assert (result.ok, result.rows, result.last_id, result.keyed_from) == (True, 6, 6, 1)


def test_rows_hashed_before_the_key_still_verify(db_url):
    """Rows written by the plain SHA-256 version are accepted as the trail's beginning."""
    _trail(db_url, events=3)
    _rechain(db_url, _legacy)  # what the previous version of record() wrote
    assert _verify(db_url, with_checkpoint=False).ok
    _trail(db_url, events=2)  # the first keyed rows chain on to the old ones
    result = _verify(db_url, with_checkpoint=False)
    assert (result.ok, result.rows, result.keyed_from) == (True, 5, 4)


@pytest.mark.parametrize(
    ("tamper", "row", "problem"),
    [
        (lambda url: _tamper(url, update(AuditEvent).where(AuditEvent.id == 3).values(outcome="denied")), 3, "edited"),
        (lambda url: _tamper(url, delete(AuditEvent).where(AuditEvent.id == 3)), 4, "deleted"),
        (lambda url: _tamper(url, insert(AuditEvent).values(**_forged_row(url, 6, _other_key))), 6, "without the audit key"),
        (lambda url: _tamper(url, insert(AuditEvent).values(**_forged_row(url, 6, _legacy))), 6, "rewritten"),
        (lambda url: _tamper(url, update(AuditEvent).where(AuditEvent.id == 2).values(id=100),
                             update(AuditEvent).where(AuditEvent.id == 3).values(id=2),
                             update(AuditEvent).where(AuditEvent.id == 100).values(id=3)), 2, "reordered"),
        (lambda url: _rechain(url, _legacy, start=3), 3, "rewritten"),
        (lambda url: _rechain(url, _other_key), 1, "without the audit key"),
    ],
    ids=["edited", "deleted", "inserted with another key", "inserted with plain SHA-256", "reordered",
         "tail re-hashed with plain SHA-256", "re-hashed with another key"],
)
def test_tampering_without_the_key_is_detected_without_a_checkpoint(db_url, tamper, row, problem):
    _trail(db_url, events=5)
    tamper(db_url)
    result = _verify(db_url, with_checkpoint=False)
    assert not result.ok
    assert (result.row_id, problem in result.problem) == (row, True), result.problem


def test_deleting_the_newest_rows_is_detected_against_the_checkpoint(db_url):
    _trail(db_url, events=5)
    _checkpoint(db_url)
    _tamper(db_url, delete(AuditEvent).where(AuditEvent.id >= 4))
    assert _verify(db_url, with_checkpoint=False).ok  # the chain alone cannot tell
    result = _verify(db_url)
    assert not result.ok and "ends at row 3" in result.problem and "reaches row 5" in result.problem


def test_a_cut_tail_is_detected_even_after_new_rows_fill_it(db_url):
    _trail(db_url, events=5)
    _checkpoint(db_url)
    _tamper(db_url, delete(AuditEvent).where(AuditEvent.id >= 4))
    _trail(db_url, events=3)  # the application carries on from row 3: rows 4-6 are new ones
    result = _verify(db_url)
    assert not result.ok and result.row_id == 5 and "differs from the checkpoint" in result.problem


def test_the_application_does_not_advance_the_checkpoint_over_a_cut_tail(db_url, monkeypatch):
    """Advancing from a trail that no longer reaches the checkpoint would erase the evidence."""
    monkeypatch.setattr(audit_checkpoint, "AUDIT_CHECKPOINT_EVERY", 1)  # every committed row advances it
    _trail(db_url, events=5)
    assert audit_checkpoint.read(_key()).last_id == 5
    _tamper(db_url, delete(AuditEvent).where(AuditEvent.id >= 4))
    _trail(db_url, events=3)  # rows 4-6 again, written after the cut
    assert audit_checkpoint.read(_key()).last_id == 5  # kept: it is the evidence
    result = _verify(db_url)
    assert not result.ok and result.row_id == 5 and "differs from the checkpoint" in result.problem


def test_a_trail_rehashed_entirely_with_plain_sha256_fails_the_checkpoint(db_url):
    """Passing the rewrite off as rows from before the key is what the checkpoint's keyed_by stops."""
    _trail(db_url, events=4)
    _checkpoint(db_url)
    _rechain(db_url, _legacy)
    assert _verify(db_url, with_checkpoint=False).ok  # indistinguishable from an old trail, by the chain alone
    assert not _verify(db_url).ok


def test_an_edited_checkpoint_is_refused(db_url):
    _trail(db_url, events=3)
    _checkpoint(db_url)
    path = audit_checkpoint_file()
    *earlier, newest = path.read_text().splitlines()  # the history: one signed entry a line
    path.write_text("\n".join([*earlier, json.dumps({**json.loads(newest), "last_id": 2})]) + "\n")
    with pytest.raises(audit_checkpoint.CheckpointError, match="not signed"):
        audit_checkpoint.read(_key())


def test_the_application_writes_the_first_checkpoint_itself(db_url):
    assert not audit_checkpoint_file().exists()
    _trail(db_url, events=2)  # one transaction: its last row is checkpointed once it commits
    assert (audit_checkpoint.read(_key()).last_id, audit_checkpoint.read(_key()).keyed_by) == (2, 2)
    _trail(db_url, events=1)
    assert audit_checkpoint.read(_key()).last_id == 2  # the next one at a multiple of AUDIT_CHECKPOINT_EVERY


def test_a_rolled_back_event_leaves_no_checkpoint(db_url):
    with pytest.raises(RuntimeError):
        with session_scope(db_url) as session:
            audit.record(session, actor="x", action="login")
            raise RuntimeError("the change failed")
    assert not audit_checkpoint_file().exists()


def test_the_key_file_is_created_once_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv(audit_key.ENV)
    monkeypatch.setenv("DASHBOARD_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    with pytest.raises(audit_key.AuditKeyError, match="no audit key"):
        audit_key.load(create=False)  # a verifier never invents a key
    first = audit_key.load(create=True)
    assert audit_key.load(create=True) == first and len(first) == 64
    assert (tmp_path / "keys" / "audit.key").stat().st_mode & 0o777 == 0o600


# --- many writers at once ---------------------------------------------------------------

_WRITER = """
import sys
from dashboard.db import audit
from dashboard.db.session import session_scope
for i in range(int(sys.argv[2])):
    with session_scope(sys.argv[1]) as session:
        audit.record(session, actor=f"process-{sys.argv[3]}", action="view_patient", detail={"i": i})
"""


def test_many_threads_and_processes_appending_at_once_keep_the_chain(db_url):
    threads, processes, each = 8, 3, 10
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, db_url, str(each), str(n)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(processes)]
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def clinician(n: int) -> None:
        start.wait()
        try:
            for i in range(each):
                with session_scope(db_url) as session:
                    audit.record(session, actor=f"thread-{n}", action="view_patient", detail={"i": i})
        except BaseException as exc:  # noqa: BLE001 - collected and reported below
            failures.append(exc)

    workers = [threading.Thread(target=clinician, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    outs = [p.communicate(timeout=300) for p in procs]
    assert failures == [] and [p.returncode for p in procs] == [0] * processes, (failures, outs)
    result = _verify(db_url)
    assert (result.ok, result.rows) == (True, (threads + processes) * each), result.problem
    with session_scope(db_url) as session:
        assert session.scalar(select(func.max(AuditEvent.id))) == result.rows


# --- the command line -------------------------------------------------------------------


def _cli(url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return cli(url, "audit", *args, **env)  # the command's main, in this process (tests/clirun.py)


def test_verify_passes_then_writes_the_checkpoint_then_catches_a_cut_tail(db_url):
    _trail(db_url, events=4)
    ok = _cli(db_url, "checkpoint")
    assert ok.returncode == 0 and "4 rows" in ok.stdout, ok.stderr
    assert audit_checkpoint.read(_key()).last_id == 4
    _tamper(db_url, delete(AuditEvent).where(AuditEvent.id == 4))
    cut = _cli(db_url, "verify")
    assert cut.returncode == 1
    assert "BROKEN" in cut.stderr and "newest rows were deleted" in cut.stderr and "Traceback" not in cut.stderr
    assert audit_checkpoint.read(_key()).last_id == 4  # a failed verify never moves the checkpoint back


def test_verify_without_the_key_exits_3(db_url, tmp_path):
    _trail(db_url)
    result = _cli(db_url, "verify", DASHBOARD_AUDIT_KEY="", DASHBOARD_AUDIT_KEY_FILE=str(tmp_path / "missing.key"))
    assert result.returncode == 3 and "no audit key" in result.stderr
    assert not (tmp_path / "missing.key").exists()


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://postgres:secret-pw@127.0.0.1:1/nothing", "sqlite:////nonexistent-dir/audit.sqlite"],
    ids=["postgresql down", "sqlite path missing"],
)
def test_verify_when_the_database_cannot_be_reached_exits_3_with_one_line(url):
    result = _cli(url, "verify")
    assert result.returncode == 3
    assert "cannot read the database" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "secret-pw" not in result.stderr


# --- the PostgreSQL role the README recommends ------------------------------------------


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # roles are PostgreSQL's; SQLite has none
def test_the_app_role_may_append_and_read_the_trail_but_not_change_it(db_url):
    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    from dashboard.db.session import get_engine

    role = f"dash_app_{os.getpid()}_{hashlib.sha256(db_url.encode()).hexdigest()[:8]}"
    script = (REPO / "docs" / "postgresql-app-role.sql").read_text().replace("dashboard_app", role)
    with get_engine(db_url).begin() as conn:
        conn.exec_driver_sql(script)
    try:
        with session_scope(db_url) as session:
            session.execute(text(f'SET LOCAL ROLE "{role}"'))
            audit.record(session, actor="dr.chen", action="view_patient")
            assert session.scalar(select(func.count(AuditEvent.id))) == 1
        for statement in ("UPDATE audit_event SET outcome = 'denied'", "DELETE FROM audit_event",
                          "TRUNCATE audit_event", "ALTER TABLE audit_event DISABLE TRIGGER USER"):
            with pytest.raises(ProgrammingError, match="permission denied|must be owner"):
                with session_scope(db_url) as session:
                    session.execute(text(f'SET LOCAL ROLE "{role}"'))
                    session.execute(text(statement))
        assert _verify(db_url).ok
    finally:
        with get_engine(db_url).begin() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"; DROP ROLE "{role}"')

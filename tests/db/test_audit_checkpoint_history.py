"""``audit verify`` against a history of signed checkpoints (issue 24, item 5), on SQLite and PostgreSQL.

What each outcome is and exits with: a dropped audit table is BROKEN (1), not the outage code (3);
a backup's checkpoint put in place of the live history is refused (BROKEN, 1); a cut tail stays
BROKEN verify after verify because nothing is appended after a failure; every checkpoint of the
history is checked; a history written for another database is NOT CHECKED with its own code (4);
every checkpoint file is 0600; and the single-file checkpoint of the previous version is read as
the history's first entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import stat
from dataclasses import asdict
from pathlib import Path

import pytest
from sqlalchemy import delete, text

from dashboard import cli
from dashboard.config import audit_checkpoint_file
from dashboard.db import audit, audit_checkpoint, audit_key
from dashboard.db.models import AuditEvent
from dashboard.db.session import get_engine, migrate, session_scope
from tests.conftest import _pg_drop
from tests.db.test_audit import _trail
from tests.db.test_audit_chain import _tamper
from tests.db.test_backup import empty_url  # noqa: F401 - a fixture: a new, empty database elsewhere

OK, BROKEN, OUTAGE, OTHER_DATABASE = 0, 1, 3, 4


def _key() -> bytes:
    return audit_key.load(create=False)


def _verify(monkeypatch, capsys, url: str, *, command: str = "verify") -> tuple[int, str, str]:
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", url)
    code = cli.main(["audit", command])
    out = capsys.readouterr()
    return code, out.out, out.err


def _history() -> list[audit_checkpoint.Checkpoint]:
    return audit_checkpoint.read_history(_key())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _sql(url: str, *statements: str) -> None:
    with get_engine(url).begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


@pytest.fixture
def other_url(db_url, tmp_path, _templates):
    """A second migrated database of the same backend, checked by the same install."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'second.sqlite'}"
        migrate(url)
        yield url
        get_engine(url).dispose()
        return
    url, name = _templates.copy("postgresql", tmp_path, "dash_second")  # migrated, as db_url is
    yield url
    _pg_drop(name, url)


# --- 1. a dropped table is a broken trail, not an outage ----------------------------------


@pytest.mark.parametrize(
    ("statements", "problem"),
    [
        (["DROP TABLE audit_event"], "the audit_event table is missing"),
        (["ALTER TABLE audit_event RENAME TO audit_event_hidden"], "the audit_event table is missing"),
        (["ALTER TABLE audit_event DROP COLUMN detail"], "lost its column(s) detail"),
        (["ALTER TABLE audit_event DROP COLUMN detail", "ALTER TABLE audit_event DROP COLUMN outcome"],
         "lost its column(s) outcome, detail"),
    ],
    ids=["table dropped", "table renamed", "one column dropped", "two columns dropped"],
)
def test_a_dropped_audit_table_or_column_is_broken_not_an_outage(db_url, monkeypatch, capsys, statements, problem):
    _trail(db_url, events=3)  # the application writes the first checkpoint
    assert _verify(monkeypatch, capsys, db_url)[0] == OK
    before = audit_checkpoint_file().read_bytes()
    get_engine(db_url).dispose()
    _sql(db_url, *statements)
    code, _out, err = _verify(monkeypatch, capsys, db_url)
    assert (code, "audit trail BROKEN" in err, problem in err, "NOT CHECKED" in err) == (BROKEN, True, True, False), err
    assert audit_checkpoint_file().read_bytes() == before  # nothing appended after a failure


def test_a_database_with_no_tables_at_all_is_broken_too(sqlite_url, tmp_path, monkeypatch, capsys):
    """Reachable but empty (everything dropped, or the wrong file): the trail is not there."""
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    code, _out, err = _verify(monkeypatch, capsys, empty)
    assert (code, "no tables at all" in err) == (BROKEN, True), err


# --- 2. a backup's checkpoint is never the live one ---------------------------------------


def _put_backup_checkpoint_in_place(side: Path, how: str) -> None:
    live = audit_checkpoint_file()
    if how == "copied over the live history":
        shutil.copyfile(side, live)
    else:  # appended as one more line, keeping the live entries
        entry = json.dumps(json.loads(side.read_text()), separators=(",", ":"))
        live.write_text(live.read_text() + entry + "\n")


@pytest.mark.parametrize("how", ["copied over the live history", "appended to the live history"])
def test_a_backups_checkpoint_in_place_of_the_live_one_is_refused(db_url, tmp_path, monkeypatch, capsys, how):
    """The attack: back up, let the trail grow and verify, cut everything after the backup, then
    make the backup's checkpoint (which the cut trail still reaches) the live one. Refused as BROKEN:
    the live evidence was replaced, which is tampering, not an outage, and exit 1 is what cron alarms on."""
    _trail(db_url, events=3)
    backup_file = tmp_path / "b.backup"
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    assert cli.main(["backup", "-o", str(backup_file)]) == OK
    side = Path(str(backup_file) + ".checkpoint.json")
    reaches = audit_checkpoint.read_backup(_key(), side)
    assert (reaches.purpose, _mode(side)) == ("backup", 0o600)
    _trail(db_url, events=3)
    assert _verify(monkeypatch, capsys, db_url)[0] == OK
    _tamper(db_url, delete(AuditEvent).where(AuditEvent.id > reaches.last_id))
    with session_scope(db_url) as session:  # the cut trail does reach the backup's checkpoint
        assert audit.verify(session, key=_key(), checkpoint=reaches).ok
    _put_backup_checkpoint_in_place(side, how)
    code, _out, err = _verify(monkeypatch, capsys, db_url)
    assert code == BROKEN and "is a backup's checkpoint" in err and "not the live history" in err, err


def test_the_live_history_is_not_accepted_as_a_backups_checkpoint(sqlite_url, tmp_path, monkeypatch, capsys):
    _trail(sqlite_url, events=2)
    with pytest.raises(audit_checkpoint.CheckpointError, match="a live checkpoint, not a backup's"):
        audit_checkpoint.read_backup(_key(), audit_checkpoint_file())


# --- 3. a cut tail stays broken: nothing is appended after a failure ----------------------


@pytest.mark.parametrize("then", ["nothing", "the application writes on"])
def test_a_cut_tail_is_broken_on_the_first_verify_and_still_on_the_second(db_url, monkeypatch, capsys, then):
    monkeypatch.setattr(audit_checkpoint, "AUDIT_CHECKPOINT_EVERY", 1)  # the application appends at every row
    _trail(db_url, events=6)
    assert _verify(monkeypatch, capsys, db_url)[0] == OK
    history = audit_checkpoint_file().read_bytes()
    _tamper(db_url, delete(AuditEvent).where(AuditEvent.id >= 5))
    if then == "the application writes on":
        _trail(db_url, events=3)  # rows 5-7 again: the application must not append over the cut
    first = _verify(monkeypatch, capsys, db_url)
    second = _verify(monkeypatch, capsys, db_url)
    assert (first[0], second[0]) == (BROKEN, BROKEN), (first, second)
    assert first[2] == second[2] and "BROKEN" in first[2]
    assert audit_checkpoint_file().read_bytes() == history  # the checkpoint did not advance
    assert _history()[-1].last_id == 6


# --- 4. a history, every entry checked ---------------------------------------------------


def test_verify_appends_to_a_history_and_only_when_the_trail_grew(db_url, monkeypatch, capsys):
    _trail(db_url, events=2)  # the application's first entry: row 2
    said = []
    for events in (3, 0, 4):
        _trail(db_url, events=events)
        code, out, err = _verify(monkeypatch, capsys, db_url)
        assert code == OK, err
        said.append(out)
    assert [c.last_id for c in _history()] == [2, 5, 9]  # the unchanged trail appended nothing
    assert ["checked against 1", "checked against 2", "checked against 2"] == [
        out[out.index("checked against"):][:17] for out in said]
    assert ["appended to" in said[0], "unchanged (no new rows)" in said[1], "appended to" in said[2]] == [True] * 3


def test_a_cut_below_an_earlier_checkpoint_is_broken_even_if_the_newest_was_moved_past_it(db_url, monkeypatch, capsys):
    """The newest entry signed over a cut trail (as the previous version's verify could, or a race
    between a cut and the application's own append): the earlier entry still holds the evidence."""
    _trail(db_url, events=5)
    assert _verify(monkeypatch, capsys, db_url)[0] == OK  # an entry at row 5
    _tamper(db_url, delete(AuditEvent).where(AuditEvent.id >= 4))
    _trail(db_url, events=3)  # rows 4-6 written after the cut
    with session_scope(db_url) as session:
        passing = audit.verify(session, key=_key())
        assert passing.ok  # the chain alone cannot tell
        audit_checkpoint.append(_key(), audit.checkpoint_after(session, passing, _key(), None))  # moved past the cut
        assert audit.verify(session, key=_key(), checkpoint=_history()[-1]).ok  # the newest alone passes
    code, _out, err = _verify(monkeypatch, capsys, db_url)
    assert code == BROKEN and "row 5: differs from the checkpoint" in err, err


# --- 5. another database's history is not an alarm, and not a pass -----------------------


@pytest.mark.parametrize(("second", "expected"), [("intact", OTHER_DATABASE), ("tampered", BROKEN)])
def test_a_checkpoint_of_another_database_is_not_checked_with_its_own_code(db_url, other_url, monkeypatch, capsys,
                                                                           second, expected):
    _trail(db_url, events=3)
    assert _verify(monkeypatch, capsys, db_url)[0] == OK
    history = audit_checkpoint_file().read_bytes()
    first_id = _history()[0].database
    _trail(other_url, events=2)  # the application leaves another database's history alone
    if second == "tampered":  # a real break in the second database is still BROKEN, never masked
        _tamper(other_url, delete(AuditEvent).where(AuditEvent.id == 1))
    code, _out, err = _verify(monkeypatch, capsys, other_url)
    assert code == expected, err
    if expected == OTHER_DATABASE:
        assert f"audit trail NOT CHECKED: this checkpoint belongs to {first_id}" in err and "BROKEN" not in err
    assert audit_checkpoint_file().read_bytes() == history
    assert len({OK, BROKEN, OUTAGE, OTHER_DATABASE}) == 4 and cli.EXIT_OTHER_DATABASE == OTHER_DATABASE


def test_the_exit_codes_are_in_the_commands_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["audit", "verify", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for code in ("exit 0 intact", "1 BROKEN", "3 NOT CHECKED", "4 NOT CHECKED"):
        assert code in help_text, help_text


# --- 6. file modes -----------------------------------------------------------------------


@pytest.fixture
def usual_umask():
    """The usual umask, under which a plain open() gives 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.parametrize("writer", ["the application", "audit verify", "audit checkpoint", "backup", "restore"])
def test_every_checkpoint_file_is_written_0600(db_url, tmp_path, monkeypatch, capsys, request, usual_umask, writer):
    if writer == "the application":
        _trail(db_url, events=1)
        written = audit_checkpoint_file()
    elif writer.startswith("audit"):
        _trail(db_url, events=1)
        audit_checkpoint_file().unlink()
        assert _verify(monkeypatch, capsys, db_url, command=writer.split()[1])[0] == OK
        written = audit_checkpoint_file()
    else:
        _trail(db_url, events=1)
        backup_file = tmp_path / "b.backup"
        monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
        assert cli.main(["backup", "-o", str(backup_file)]) == OK
        written = Path(str(backup_file) + ".checkpoint.json")
        if writer == "restore":
            restored = request.getfixturevalue("empty_url")  # a new, empty database of the same backend
            monkeypatch.setenv("DASHBOARD_AUDIT_CHECKPOINT_FILE", str(tmp_path / "restored-checkpoint.json"))
            monkeypatch.setenv("DASHBOARD_DATABASE_URL", restored)
            assert cli.main(["restore", str(backup_file)]) == OK, capsys.readouterr().err
            written = tmp_path / "restored-checkpoint.json"
    assert written.exists() and _mode(written) == 0o600


# --- 7. the previous version's single-file checkpoint ------------------------------------


def _previous_version_checkpoint(url: str) -> audit_checkpoint.Checkpoint:
    """What the previous version wrote: one pretty-printed object, signed under the v1 domain without
    a purpose, mode 0644 (spelled out here rather than through the module, so the format is pinned)."""
    with session_scope(url) as session:
        result = audit.verify(session, key=_key())
        checkpoint = audit.checkpoint_after(session, result, _key(), None)
    content = {k: v for k, v in asdict(checkpoint).items() if k != "purpose"}
    body = json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")
    signature = hmac.new(_key(), b"dashboard audit checkpoint v1\n" + body, hashlib.sha256).hexdigest()
    path = audit_checkpoint_file()
    path.write_text(json.dumps({**content, "signature": signature}, indent=2) + "\n")
    path.chmod(0o644)
    return checkpoint


@pytest.mark.parametrize("then", ["the trail grows", "the tail is cut", "the old entry is moved down"])
def test_the_previous_versions_checkpoint_is_the_historys_first_entry(db_url, monkeypatch, capsys, then):
    _trail(db_url, events=4)
    old = _previous_version_checkpoint(db_url)
    if then == "the trail grows":
        _trail(db_url, events=2)
        code, _out, err = _verify(monkeypatch, capsys, db_url)
        assert code == OK, err
        assert [(c.last_id, c.purpose) for c in _history()] == [(old.last_id, "live"), (6, "live")]
        assert _mode(audit_checkpoint_file()) == 0o600  # tightened on the first append
    elif then == "the tail is cut":
        _tamper(db_url, delete(AuditEvent).where(AuditEvent.id == 4))
        code, _out, err = _verify(monkeypatch, capsys, db_url)
        assert code == BROKEN and "reaches row 4" in err, err
    else:  # an older-format entry anywhere but first was not written by this code
        legacy = audit_checkpoint_file().read_text()
        audit_checkpoint_file().unlink()
        _trail(db_url, events=1)  # the application starts a new history
        audit_checkpoint_file().write_text(audit_checkpoint_file().read_text() + legacy)
        code, _out, err = _verify(monkeypatch, capsys, db_url)
        assert code == BROKEN and "older single-file format" in err, err


def test_a_backups_checkpoint_of_the_previous_version_still_serves_its_restore(db_url, empty_url, tmp_path,
                                                                               monkeypatch, capsys):
    """Backups taken before this version carry a purpose-less checkpoint; restore still uses it."""
    _trail(db_url, events=2)
    backup_file = tmp_path / "old.backup"
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    assert cli.main(["backup", "-o", str(backup_file)]) == OK
    side = Path(str(backup_file) + ".checkpoint.json")
    content = {k: v for k, v in json.loads(side.read_text()).items() if k not in ("purpose", "signature")}
    body = json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")
    signature = hmac.new(_key(), b"dashboard audit checkpoint v1\n" + body, hashlib.sha256).hexdigest()
    side.write_text(json.dumps({**content, "signature": signature}, indent=2) + "\n")
    monkeypatch.setenv("DASHBOARD_AUDIT_CHECKPOINT_FILE", str(tmp_path / "restored-checkpoint.json"))
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", empty_url)
    code = cli.main(["restore", str(backup_file)])
    out = capsys.readouterr()
    assert code == OK and "reaching the backup's checkpoint" in out.out, out.err

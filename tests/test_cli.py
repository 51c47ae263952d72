"""The command line as a clinic's IT person uses it, on real databases: ``cli`` runs a command's ``main`` in
this process (tests/clirun.py); the tests about the process itself (two at once, the operating-system
user, stopping a server, an unusable database) start real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dashboard.db.models import AuditEvent, DiaryEntry, ImportRecord
from dashboard.db.session import session_scope
from tests.clirun import REPO, cli
from tests.dbdump import assert_only_the_file_kept, dump

GOOD = "patient_id,date,pain,sleep,nausea,notes\nP-001,2026-03-01T21:30,6.5,4,mild,\"slept badly, woke at 3\"\nP-001,2026-03-02,5,,none,\n"
BAD = "patient_id,date,pain\nP-001,03/01/2026,6\nP-001,2026-03-02,11\nP-001,2026-03-03,4\n"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _entries(db_url: str) -> int:
    with session_scope(db_url) as session:
        return session.scalar(select(func.count(DiaryEntry.id)))


def test_import_then_reimport_json(db_url, tmp_path):
    path = _write(tmp_path, "diary.csv", GOOD)
    first = cli(db_url, "import", str(path), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    for key in ("file", "format", "patients", "status", "entries_added", "entries_unchanged", "conflicts", "refused_rows", "ignored"):
        assert key in report
    assert (report["status"], report["format"], report["patients"], report["entries_added"]) == ("imported", "diary-csv", ["P-001"], 2)
    again = json.loads(cli(db_url, "import", str(path), "--json").stdout)
    assert again["status"] == "already-imported" and again["entries_added"] == 0
    assert _entries(db_url) == 2


def test_refused_file_exits_1_names_every_row_and_writes_no_data(db_url, tmp_path):
    path = _write(tmp_path, "bad.csv", BAD)
    before = dump(db_url, skip=("audit_event",))
    result = cli(db_url, "import", str(path), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["status"] == "refused"
    assert [(r["row"], r["column"], r["value"]) for r in report["refused_rows"]] == [(2, "date", "03/01/2026"), (3, "pain", "11")]
    # v2: the refused file is kept with its errors in an import record of its own; no data row is written.
    record_id = assert_only_the_file_kept(db_url, before, raw=path.read_bytes(), status="refused")
    assert report["import_id"] == record_id
    with session_scope(db_url) as session:
        assert session.get(ImportRecord, record_id).refused_rows == report["refused_rows"]
    # The refused attempt itself is audited.
    assert [(a[3], a[5]) for a in dump(db_url)["audit_event"]] == [("import", "refused")]


def test_accept_valid_keeps_refused_rows_in_the_import_record(db_url, tmp_path):
    path = _write(tmp_path, "bad.csv", BAD)
    result = cli(db_url, "import", str(path), "--accept-valid", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["entries_added"] == 1
    with session_scope(db_url) as session:
        record = session.scalar(select(ImportRecord))
        assert [r["row"] for r in record.refused_rows] == [2, 3]
        assert record.original == path.read_bytes()


@pytest.mark.parametrize(
    "args",
    [["import"], ["import", "x.csv", "--format", "excel"], ["export"], ["summary"], ["frobnicate"], ["import", "missing-file.csv"]],
)
def test_usage_errors_exit_2(db_url, args):
    assert cli(db_url, *args).returncode == 2


@pytest.mark.parametrize("command", ["import", "demo", "export", "migrate", "summary", "audit"])
def test_every_command_has_help(sqlite_url, command):
    result = cli(sqlite_url, command, "--help")
    assert result.returncode == 0 and "usage:" in result.stdout


def test_patient_option_for_files_without_the_column(db_url, tmp_path):
    path = _write(tmp_path, "mine.csv", "date;pain;sleep\n2026-03-01;6,5;4\n")
    report = json.loads(cli(db_url, "import", str(path), "--patient", "P-009", "--json").stdout)
    assert (report["status"], report["patients"]) == ("imported", ["P-009"])
    assert report["patients_created"] == ["P-009"]


def test_export_import_export_round_trip(db_url, sqlite_url, tmp_path):
    source = _write(tmp_path, "diary.csv", GOOD + "P-001,2026-03-03T08:00:00+01:00,3.25,7,severe,=HYPERLINK(\"x\")\n")
    assert cli(db_url, "import", str(source)).returncode == 0
    first = tmp_path / "first.csv"
    assert cli(db_url, "export", "--patient", "P-001", "-o", str(first)).returncode == 0
    assert cli(sqlite_url, "import", str(first)).returncode == 0
    second = tmp_path / "second.csv"
    assert cli(sqlite_url, "export", "--patient", "P-001", "-o", str(second)).returncode == 0
    assert first.read_bytes() == second.read_bytes()
    assert b"'=HYPERLINK" in first.read_bytes()


def test_two_processes_importing_the_same_file_store_it_once(db_url, tmp_path):
    rows = "".join(f"P-002,2026-01-{d:02d}T{h:02d}:00,{(d + h) % 10},\n" for d in range(1, 29) for h in (8, 20))
    path = _write(tmp_path, "same.csv", "patient_id,date,pain,notes\n" + rows)
    env = {**os.environ, "DASHBOARD_DATABASE_URL": db_url}
    cmd = [sys.executable, "-m", "dashboard", "import", str(path), "--json"]
    procs = [subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    statuses = sorted(json.loads(out)["status"] for out, _err in outs)
    assert statuses == ["already-imported", "imported"]
    assert _entries(db_url) == 56
    with session_scope(db_url) as session:  # v2: each attempt keeps a record; one brought the rows
        assert sorted(session.scalars(select(ImportRecord.status))) == ["already-imported", "imported"]


UNREACHABLE = [
    ("postgresql+psycopg://postgres:secret-pw@127.0.0.1:1/nothing", "cannot be reached"),
    ("sqlite:////dev/null/clinic.sqlite", "cannot be reached"),  # below a file: no folder can be made
    ("nosuchdialect://x/y", "is misconfigured"),
]


@pytest.mark.parametrize(("url", "why"), UNREACHABLE, ids=["postgresql down", "sqlite path missing", "bad url"])
@pytest.mark.parametrize("command", [["migrate"], ["summary", "DEMO-001", "--json"], ["export", "--patient", "DEMO-001"],
                                     ["user", "list"], ["import", "--dry-run", "README.md"], ["demo"]])
def test_every_command_says_in_one_line_that_the_database_cannot_be_used(command, url, why):
    """Issue 9: an unreachable or misconfigured database is one clear line and exit 3, never a traceback."""
    env = {**os.environ, "DASHBOARD_DATABASE_URL": url}
    result = subprocess.run([sys.executable, "-m", "dashboard", *command], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert why in result.stderr and "Traceback" not in result.stderr and "secret-pw" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_stopping_run_stops_the_streamlit_server_it_started(tmp_path):
    """SIGTERM to `python -m dashboard run` (a service manager stopping it) stops its Streamlit child."""
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DASHBOARD_DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite'}"}
    proc = subprocess.Popen([sys.executable, "-m", "dashboard", "run", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    health = f"http://127.0.0.1:{port}/_stcore/health"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(health, timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the server did not start")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) is not None
        time.sleep(1)
        with pytest.raises(OSError):
            urllib.request.urlopen(health, timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()


CORRECTED = "patient_id,date,pain,sleep,nausea,notes\nP-001,2026-03-01T21:30,8,4,mild,\"slept badly, woke at 3\"\nP-001,2026-03-04,3,,,\n"


def test_dry_run_says_would_import_with_no_import_id_in_json_and_text(db_url, tmp_path):
    path = _write(tmp_path, "diary.csv", GOOD)
    before = dump(db_url)
    result = cli(db_url, "import", str(path), "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["status"], report["import_id"], report["entries_added"]) == ("would-import", None, 2)
    text = cli(db_url, "import", str(path), "--dry-run")
    assert "diary.csv: would-import (diary-csv; dry run, nothing written)" in text.stdout
    assert dump(db_url) == before


def test_resolve_take_with_a_reason_imports_the_new_entries_and_replaces_the_conflict(db_url, tmp_path):
    assert cli(db_url, "import", str(_write(tmp_path, "diary.csv", GOOD))).returncode == 0
    path = _write(tmp_path, "corrected.csv", CORRECTED)
    refused = cli(db_url, "import", str(path), "--json")
    assert refused.returncode == 1 and json.loads(refused.stdout)["status"] == "refused"
    done = cli(db_url, "import", str(path), "--resolve", "take", "--reason", "patient phoned", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["status"], report["entries_added"], [c["decision"] for c in report["conflicts"]]) == \
        ("imported", 1, ["take"])
    with session_scope(db_url) as session:
        assert sorted(session.scalars(select(DiaryEntry.pain))) == [3.0, 5.0, 8.0]
    events = [a for a in dump(db_url)["audit_event"] if a[3] == "resolve_conflict"]
    assert [(e[2], e[5]) for e in events] == [(events[0][2], "take")] and "patient phoned" in events[0][6]
    text = cli(db_url, "import", str(path), "--resolve", "keep", "--reason", "again")
    assert text.returncode == 0 and "already-imported" in text.stdout


@pytest.mark.parametrize("extra", [["--resolve", "take"], ["--reason", "why"], ["--resolve", "take", "--reason", " "],
                                   ["--resolve", "maybe", "--reason", "x"]])
def test_resolve_needs_a_reason_and_a_decision(db_url, tmp_path, extra):
    path = _write(tmp_path, "diary.csv", GOOD)
    result = cli(db_url, "import", str(path), *extra)
    assert result.returncode == 2 and _entries(db_url) == 0


def _random_bytes(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 64)


def _truncated(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 3)


def _header_overwritten(path: Path) -> None:
    with path.open("r+b") as f:
        f.write(b"this is no longer a database header")


@pytest.mark.parametrize("damage", [_random_bytes, _truncated, _header_overwritten],
                         ids=["random bytes", "truncated", "header overwritten"])
@pytest.mark.parametrize("command", [["summary", "P-001", "--json"], ["import", "{file}"], ["backup", "-o", "{backup}"],
                                     ["user", "list"], ["export", "--patient", "P-001"]],
                         ids=["summary", "import", "backup", "user list", "export"])
def test_a_damaged_sqlite_file_is_one_line_and_exit_3(sqlite_url, tmp_path, damage, command):
    """Issue 24 item 4: a corrupt file reads like an unreachable database, no traceback, no SQL."""
    diary = _write(tmp_path, "diary.csv", GOOD)
    assert cli(sqlite_url, "import", str(diary)).returncode == 0
    from dashboard.db.session import get_engine

    get_engine(sqlite_url).dispose()
    damage(Path(sqlite_url.removeprefix("sqlite:///")))
    args = [a.format(file=diary, backup=tmp_path / "clinic.bak") for a in command]
    result = cli(sqlite_url, *args)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert result.stderr.strip().splitlines() == [
        f"dashboard: the database {sqlite_url} cannot be read: the file is damaged or is not a database "
        "(restore it from a backup) (DatabaseError); nothing was changed."]
    assert "SQL" not in result.stderr and "P-001" not in result.stdout
    assert not (tmp_path / "clinic.bak").exists()


def _os_login_name() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


@pytest.mark.parametrize(
    ("names", "actor"),
    [({"USER": "maria"}, lambda: "cli:maria"), ({"LOGNAME": "sam"}, lambda: "cli:sam"),
     ({}, lambda: f"cli:{_os_login_name()}")],
    ids=["USER", "LOGNAME only", "no name in the environment (cron, containers)"],
)
def test_the_audit_trail_names_the_operating_system_user_of_a_command(db_url, tmp_path, names, actor):
    """Issue 24 item 9: never "cli:unknown"; the password database knows who runs the command."""
    from dashboard.db.models import AuditEvent

    diary = _write(tmp_path, "diary.csv", GOOD)
    env = {k: v for k, v in os.environ.items() if k not in ("USER", "LOGNAME", "LNAME", "USERNAME")}
    env.update(names, DASHBOARD_DATABASE_URL=db_url)
    done = subprocess.run([sys.executable, "-m", "dashboard", "import", str(diary)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with session_scope(db_url) as session:
        actors = set(session.scalars(select(AuditEvent.actor)))
    assert actors == {actor()}


def test_without_any_name_the_operator_is_the_uid(monkeypatch):
    import getpass

    from dashboard.cli.common import operator

    def no_name():
        raise KeyError("getpwuid(): uid not found")  # what getpass raises for a uid without a passwd entry

    monkeypatch.setattr(getpass, "getuser", no_name)
    assert operator().name == f"cli:uid:{os.getuid()}"


def test_import_same_person_on_the_command_line(db_url, tmp_path):
    """Issue 23: another person's file typed into a stored patient is refused (exit 1, the file kept)
    until --same-person gives a reason; the dry run shows both identities."""
    janet = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "P-J"}],
                      "name": [{"given": ["Janet"], "family": "Okafor"}], "birthDate": "1968-04-02"}}]})
    first = _write(tmp_path, "janet.json", janet)
    assert cli(db_url, "import", str(first)).returncode == 0
    bp = tmp_path / "blood-pressure.json"
    bp.write_bytes((REPO / "tests/data/real/us_core/blood-pressure.json").read_bytes())
    dry = cli(db_url, "import", str(bp), "--patient", "P-J", "--dry-run")
    assert dry.returncode == 1, dry.stderr
    assert "'Amy Shaw'" in dry.stdout and "'Janet Okafor'" in dry.stdout and "resource id Patient/example" in dry.stdout
    refused = cli(db_url, "import", str(bp), "--patient", "P-J")
    assert refused.returncode == 1 and "refused" in refused.stdout and "--same-person" in refused.stdout
    assert cli(db_url, "import", str(bp), "--patient", "P-J", "--same-person", " ").returncode == 2
    done = cli(db_url, "import", str(bp), "--patient", "P-J", "--same-person", "mislabelled by her portal", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "imported" and report["same_person"] == "mislabelled by her portal"
    assert report["identities"][0]["stored"]["name"] == "Janet Okafor"
    with session_scope(db_url) as session:
        statuses = list(session.scalars(select(ImportRecord.status).order_by(ImportRecord.id)))
        confirmations = session.scalar(select(func.count()).select_from(AuditEvent)
                                       .where(AuditEvent.action == "confirm_same_person"))
    assert statuses == ["imported", "refused", "imported"] and confirmations == 1

"""The operator's commands: migrate, demo, run, audit verify/checkpoint, backup, restore, bench."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from dashboard.audit_actions import AuditAction
from dashboard.cli.common import (
    EXIT_OK,
    EXIT_OTHER_DATABASE,
    EXIT_REFUSED,
    EXIT_UNCHECKED,
    EXIT_USAGE,
    operator,
    safe_url,
)
from dashboard.config import REPO_ROOT, audit_checkpoint_file, database_url
from dashboard.db import audit, audit_checkpoint, audit_key, backup
from dashboard.db.audit_key import BESIDE_ENV, placement_problem
from dashboard.db.models import Patient
from dashboard.db.session import migrate, session_scope
from dashboard.demo import DemoRefused, build_demo, not_the_demo
from dashboard.usecases import audit_trail, run


def cmd_migrate(args) -> int:
    migrate()
    print(f"database is up to date: {safe_url()}")
    return EXIT_OK


def _demo_keeps_its_key_beside_the_database() -> None:
    """The README's first command keeps the demo's database and key together in data/; an
    explicit setting (even "0") wins. A clinic's database is refused by the demo commands anyway."""
    os.environ.setdefault(BESIDE_ENV, "1")


def cmd_demo(args) -> int:
    _demo_keeps_its_key_beside_the_database()
    migrate()
    try:
        with session_scope() as session:
            summary = build_demo(session, seed=args.seed, today=args.today)
            _audit_demo(session, summary)
    except ValueError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(json.dumps(summary, default=str))
    return EXIT_OK


def _audit_demo(session, summary: dict) -> None:
    audit.record(session, actor=operator().name, action=AuditAction.DEMO_BUILD,
                 detail={k: summary[k] for k in ("seed", "today", "patients", "entries")})


def cmd_audit(args) -> int:
    """Verify the trail against every checkpoint of the history; if it is intact, append its last row.

    Exit 0 intact; 1 BROKEN (the trail or the history was tampered with: a dropped table is a
    broken trail, not an outage); 3 NOT CHECKED, the outage code (no database, no key); 4 NOT
    CHECKED, the history is another database's (a second database checked by the same install:
    not an alarm, but nothing was compared). Nothing is ever appended after a failure, so the
    evidence stays; an unchanged trail appends nothing either.
    """
    try:
        check = run(audit_trail.verify_trail, operator())
    except audit_key.AuditKeyError as exc:
        print(f"audit trail NOT CHECKED: {exc}", file=sys.stderr)
        return EXIT_UNCHECKED
    except audit_checkpoint.CheckpointError as exc:
        print(f"audit trail BROKEN: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else exc.__class__.__name__
        print(f"audit trail NOT CHECKED: cannot read the database {safe_url()}: {reason}", file=sys.stderr)
        return EXIT_UNCHECKED
    result, history, appended = check.result, check.history, check.appended
    if not result.ok:
        print(f"audit trail BROKEN: {result.problem}", file=sys.stderr)
        return EXIT_REFUSED
    if result.other_database is not None:
        print(f"audit trail NOT CHECKED: this checkpoint belongs to {result.other_database}, not "
              f"{result.database} (the chain of {result.rows} rows verified on its own; set "
              "DASHBOARD_AUDIT_CHECKPOINT_FILE to this database's checkpoint)", file=sys.stderr)
        return EXIT_OTHER_DATABASE
    if not history:
        print("no checkpoint before this run: rows deleted from the end earlier could not be detected")
    print(f"audit trail intact: {result.rows} rows, last row {result.last_id}, "
          f"checked against {result.checkpoints} checkpoint(s)")
    print(f"checkpoint {'appended to' if appended else 'unchanged (no new rows) in'}: {audit_checkpoint_file()}")
    return EXIT_OK


def cmd_run(args) -> int:
    if args.demo:
        _demo_keeps_its_key_beside_the_database()
    misplaced = placement_problem(database_url())
    if misplaced:
        print(f"run: not started: {misplaced}", file=sys.stderr)
        return EXIT_UNCHECKED
    migrate()
    env = dict(os.environ)
    if args.demo:
        # Demo mode publishes the demo passwords: it runs on an empty database (seeded now)
        # or on the demo's own, never beside a clinic's real accounts or patients.
        try:
            with session_scope() as session:
                why = not_the_demo(session)
                if why:
                    raise DemoRefused(why)
                if not session.scalar(select(func.count(Patient.id))):
                    print("seeding the demo clinic (first start)...")
                    _audit_demo(session, build_demo(session))
        except DemoRefused as exc:
            print(f"run --demo: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        env["DASHBOARD_DEMO"] = "1"
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "dashboard" / "server.py"), "--server.port", str(args.port)]
    return _serve(cmd, env)


def _serve(cmd: list[str], env: dict) -> int:
    """Run the Streamlit server and stop it when this command is stopped (Ctrl-C or SIGTERM), so a
    service manager that stops ``python -m dashboard run`` never leaves a server holding the port."""
    server = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env)

    def stop(_signum, _frame):
        server.send_signal(signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.send_signal(signal.SIGTERM)
        try:
            return server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            return server.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            server.kill()
            server.wait()


def cmd_backup(args) -> int:
    """Exit 0 with a backup of an intact trail, 1 if the backup was written but the trail is broken."""
    try:
        done = backup.take_backup(database_url(), Path(args.output), actor=operator().name)
    except (backup.BackupError, audit_key.AuditKeyError) as exc:
        print(f"backup NOT written: {exc}", file=sys.stderr)
        return EXIT_UNCHECKED
    print(f"backup written: {done.path} ({done.backend}, {done.size_bytes:,} bytes, sha256 {done.sha256})")
    print(f"audit checkpoint beside it: {done.checkpoint_path} (the backup holds the trail up to row "
          f"{done.trail_reaches} at least)")
    print("the audit key is not in the backup: keep a copy of it apart from the backups")
    if not done.trail_ok:
        print(f"audit trail BROKEN in the database that was backed up: {done.trail_problem}", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def cmd_restore(args) -> int:
    """Exit 0 restored and verified; 1 refused (not empty, wrong file) or trail broken; 3 no key/tools."""
    try:
        done = backup.restore_backup(Path(args.file), database_url(), actor=operator().name)
    except (audit_key.AuditKeyError, backup.ToolMissing) as exc:
        print(f"restore NOT done: {exc}", file=sys.stderr)
        return EXIT_UNCHECKED
    except (backup.BackupError, audit_checkpoint.CheckpointError) as exc:
        print(f"restore: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"restored into {safe_url()}: audit trail intact, {done.audit_rows} rows, last row {done.last_row}"
          + (", reaching the backup's checkpoint" if done.reached_backup_checkpoint else ""))
    for note in done.notes:
        print(f"note: {note}")
    return EXIT_OK


def cmd_bench(args) -> int:
    """The benchmark lives in bench/ beside the package (a checkout's tool, not the clinic's)."""
    script = REPO_ROOT / "bench" / "clinic_scale.py"
    if not script.exists():
        print(f"bench: {script} is not here (the benchmark comes with a checkout of the repository)", file=sys.stderr)
        return EXIT_USAGE
    # Loaded from its file (bench/ is a checkout's folder, not a package); the script puts its
    # own folder on the path for its siblings.
    spec = importlib.util.spec_from_file_location("clinic_scale", script)
    clinic_scale = importlib.util.module_from_spec(spec)
    sys.modules["clinic_scale"] = clinic_scale
    spec.loader.exec_module(clinic_scale)
    return clinic_scale.main(args.bench_args)

"""``python -m dashboard ...``: import, demo data, export, summary, audit, run.

Exit codes: 0 success (everything imported or already present), 1 a file or check was
refused, 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from dashboard.config import REPO_ROOT, database_url

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 on usage errors, as we want; keep its message
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m dashboard", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("import", help="import diary, clinic-record, FHIR or Bearable files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--patient", metavar="REF", help="the clinic's patient reference, for files without one")
    p.add_argument("--format", default="auto", choices=["auto", "diary-csv", "titration", "visits", "fhir", "bearable"])
    p.add_argument("--profile", metavar="NAME", help="a saved mapping profile for another diary app's layout")
    p.add_argument("--accept-valid", action="store_true", help="import the valid rows and keep the refused ones in the import record")
    p.add_argument("--dry-run", action="store_true", help="report what would be imported; write nothing")
    p.add_argument("--json", action="store_true", help="print one JSON object per file")
    p.add_argument("--as", dest="actor", default=None, metavar="USER", help="who is importing (for the audit trail)")

    p = sub.add_parser("demo", help="build the demo clinic into the configured database")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--today", type=_iso_date, default=None, help="the demo's last diary day (default: today)")

    p = sub.add_parser("export", help="a patient's diary in the native CSV format")
    p.add_argument("--patient", required=True, metavar="REF")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--as", dest="actor", default=None, metavar="USER")

    p = sub.add_parser("summary", help="a patient's review numbers as JSON")
    p.add_argument("patient", metavar="PATIENT_REF")
    p.add_argument("--as-of", type=_iso_date, default=None, metavar="YYYY-MM-DD")
    p.add_argument("--json", action="store_true", help="print JSON (the only output format)")
    p.add_argument("--as", dest="actor", default=None, metavar="USER")

    sub.add_parser("migrate", help="bring the database schema up to date")

    p = sub.add_parser("audit", help="the audit trail")
    audit_sub = p.add_subparsers(dest="audit_command", required=True, parser_class=_Parser)
    audit_sub.add_parser("verify", help="recompute the hash chain; exit 1 if a row was edited or deleted")

    p = sub.add_parser("run", help="start the dashboard (migrates, seeds the demo clinic with --demo on first start)")
    p.add_argument("--demo", action="store_true", help="seed the demo clinic into an empty database and show demo accounts")
    p.add_argument("--port", type=int, default=8501)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {
        "import": cmd_import,
        "demo": cmd_demo,
        "export": cmd_export,
        "summary": cmd_summary,
        "migrate": cmd_migrate,
        "audit": cmd_audit,
        "run": cmd_run,
    }[args.command]
    return handler(args)


def _actor(args) -> str:
    return args.actor or f"cli:{os.environ.get('USER', 'unknown')}"


def cmd_migrate(args) -> int:
    from dashboard.db.session import migrate

    migrate()
    print(f"database is up to date: {_safe_url()}")
    return EXIT_OK


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(database_url()).render_as_string(hide_password=True)


def cmd_import(args) -> int:
    from dashboard.db.session import migrate
    from dashboard.ingest.service import import_file

    migrate()
    worst = EXIT_OK
    for name in args.files:
        path = Path(name)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            print(f"{name}: cannot read the file: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
        report = import_file(
            raw, path.name, fmt=args.format, patient_ref=args.patient, accept_valid=args.accept_valid,
            actor=_actor(args), profile_name=args.profile, dry_run=args.dry_run,
        )
        if report.status == "refused":
            worst = EXIT_REFUSED
        if args.json:
            print(json.dumps(_report_json(report, name), ensure_ascii=False, default=str))
        else:
            _print_report(report, name)
    return worst


def _report_json(report, name: str) -> dict:
    out = report.as_dict()
    out["file"] = name
    out["conflicts_count"] = len(report.conflicts)
    return out


def _print_report(report, name: str) -> None:
    print(f"{name}: {report.status} ({report.format}) - {report.message}")
    if report.patients:
        created = f"; created: {', '.join(report.patients_created)}" if report.patients_created else ""
        print(f"  patients: {', '.join(report.patients)}{created}")
    print(f"  entries added: {report.entries_added}, unchanged: {report.entries_unchanged}")
    for key, count in report.records_added.items():
        print(f"  {key.replace('_', ' ')} added: {count}")
    for c in report.conflicts:
        print(f"  conflict: row {c.get('row')}, {c.get('column')}: stored {c.get('stored')!r}, file {c.get('new')!r}")
    for r in report.refused_rows:
        print(f"  refused: {name}, row {r['row']}, column {r['column']!r}, value {r['value']!r}: {r['reason']}")
    for label, count in report.ignored.items():
        print(f"  ignored: {label} ({count})")


def cmd_demo(args) -> int:
    from dashboard.db.session import migrate, session_scope
    from dashboard.demo import build_demo

    migrate()
    try:
        with session_scope() as session:
            summary = build_demo(session, seed=args.seed, today=args.today)
    except ValueError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(json.dumps(summary, default=str))
    return EXIT_OK


def cmd_export(args) -> int:
    from dashboard.db import audit
    from dashboard.db.session import migrate, session_scope
    from dashboard.ingest.export import export_patient_csv

    migrate()
    with session_scope() as session:
        try:
            text = export_patient_csv(session, args.patient)
        except LookupError as exc:
            print(f"export: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        audit.record(session, actor=_actor(args), action="export", detail={"patient": args.patient})
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8", newline="")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_summary(args) -> int:
    from dashboard.analysis.summary import patient_summary
    from dashboard.db import audit
    from dashboard.db.session import migrate, session_scope

    migrate()
    with session_scope() as session:
        try:
            summary = patient_summary(session, args.patient, as_of=args.as_of)
        except LookupError as exc:
            print(f"summary: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        audit.record(session, actor=_actor(args), action="summary", detail={"patient": args.patient})
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_audit(args) -> int:
    from dashboard.db.audit import verify
    from dashboard.db.session import session_scope

    with session_scope() as session:
        result = verify(session)
    if result.ok:
        print(f"audit trail intact: {result.rows} rows")
        return EXIT_OK
    print(f"audit trail BROKEN: {result.problem}", file=sys.stderr)
    return EXIT_REFUSED


def cmd_run(args) -> int:
    from dashboard.db.session import migrate, session_scope

    migrate()
    env = dict(os.environ)
    if args.demo:
        from sqlalchemy import func, select

        from dashboard.db.models import Patient
        from dashboard.demo import build_demo

        with session_scope() as session:
            if not session.scalar(select(func.count(Patient.id))):
                print("seeding the demo clinic (first start)...")
                build_demo(session)
        env["DASHBOARD_DEMO"] = "1"
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "dashboard" / "app.py"), "--server.port", str(args.port)]
    return subprocess.call(cmd, cwd=REPO_ROOT, env=env)

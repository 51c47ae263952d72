"""``python -m dashboard ...``: import, demo data, export, summary, cohort, audit, run.

Exit codes: 0 success (everything imported or already present), 1 a file or check was
refused, 2 a usage error, 3 it could not be done: the database cannot be reached or is
misconfigured (one line on standard error, from every command), or the audit key is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from dashboard.audit_actions import AuditAction, user_command
from dashboard.config import REPO_ROOT, database_url
from dashboard.text_rules import escaped

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNCHECKED = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 on usage errors, as we want; keep its message
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _day_within(text: str, window) -> date:
    """An ISO date inside one of ``dashboard.fields``' windows, or argparse's usage error (exit 2)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {text!r}") from None
    problem = window.problem(day)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
    return day


def _iso_date(text: str) -> date:
    """A diary day (``--as-of``, the demo's ``--today``): within the dates a diary may carry."""
    from dashboard import fields

    return _day_within(text, fields.DIARY)


def _plan_date(text: str) -> date:
    """A visit day (``worklist --from/--to``): within the dates a visit may carry."""
    from dashboard import fields

    return _day_within(text, fields.PLAN)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m dashboard", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("import", help="import diary, clinic-record, FHIR or Bearable files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--patient", metavar="REF", help="the clinic's patient reference, for files without one")
    p.add_argument("--format", default="auto", choices=["auto", "diary-csv", "titration", "visits", "fhir", "bearable"])
    p.add_argument("--profile", metavar="NAME", help="a saved mapping profile for another diary app's layout")
    p.add_argument("--accept-valid", action="store_true", help="import the valid rows and keep the refused ones in the import record")
    p.add_argument("--resolve", choices=["keep", "take"], default=None,
                   help="decide every conflict: keep the stored values or take the file's (needs --reason; audited)")
    p.add_argument("--reason", metavar="TEXT", default=None, help="why the conflicts are resolved so (with --resolve)")
    p.add_argument("--dry-run", action="store_true", help="report what would be imported; write nothing")
    p.add_argument("--json", action="store_true", help="print one JSON object per file")
    p.add_argument("--as", dest="actor", default=None, metavar="USER", help="who is importing (for the audit trail)")

    p = sub.add_parser("profile", help="mapping profiles for other diary apps' layouts: suggest one, save it")
    profile_sub = p.add_subparsers(dest="profile_command", required=True)
    q = profile_sub.add_parser("suggest", help="print a profile guessed from FILE (JSON), to review and then save")
    q.add_argument("file", metavar="FILE")
    q.add_argument("--header-row", type=int, default=None, metavar="N", help="the row holding the header")
    q = profile_sub.add_parser("save", help="save a reviewed profile (JSON) under NAME, for import --profile NAME")
    q.add_argument("name", metavar="NAME")
    q.add_argument("json_file", metavar="PROFILE.json")
    q.add_argument("--replace", action="store_true", help="replace a different profile of that name")

    p = sub.add_parser("demo", help="build the demo clinic into the configured database")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--today", type=_iso_date, default=None, help="the demo's last diary day (default: today)")

    p = sub.add_parser("export", help="a patient's diary in the native CSV format, or the patient as a FHIR R4 Bundle")
    p.add_argument("--patient", required=True, metavar="REF")
    p.add_argument("--format", default="csv", choices=["csv", "fhir"],
                   help="csv: the native diary CSV (default); fhir: a FHIR R4 Bundle (JSON) of the patient")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--as", dest="actor", default=None, metavar="USER")

    p = sub.add_parser("summary", help="a patient's review numbers as JSON")
    p.add_argument("patient", metavar="PATIENT_REF")
    p.add_argument("--as-of", type=_iso_date, default=None, metavar="YYYY-MM-DD")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print the review's numbers as JSON (the default)")
    shape.add_argument("--note", action="store_true", help="print a plain-text note to paste into the health record")
    p.add_argument("--as", dest="actor", default=None, metavar="USER")

    p = sub.add_parser("report", help="a patient's pre-visit report as a PDF (one or two pages of text, then the timeline)")
    p.add_argument("patient", metavar="PATIENT_REF")
    p.add_argument("--as-of", type=_iso_date, default=None, metavar="YYYY-MM-DD")
    p.add_argument("-o", "--output", required=True, metavar="FILE.pdf", help="where to write the PDF")
    p.add_argument("--as", dest="actor", default=None, metavar="USER")

    p = sub.add_parser("cohort", help="the cohort view's figures as JSON (your shared patients; staff: the clinic)")
    p.add_argument("--as-of", type=_iso_date, default=None, metavar="YYYY-MM-DD")
    p.add_argument("--json", action="store_true", help="print JSON (the only output format)")
    p.add_argument("--as", dest="actor", default=None, metavar="USER")

    p = sub.add_parser("worklist", help="the patients with a visit booked (or overdue), needing attention first")
    p.add_argument("--from", dest="start", type=_plan_date, default=None, metavar="YYYY-MM-DD",
                   help="visits from this day (default: the as-of day)")
    p.add_argument("--to", dest="end", type=_plan_date, default=None, metavar="YYYY-MM-DD",
                   help="visits up to this day (default: 7 days after --from)")
    p.add_argument("--all", action="store_true", help="every patient, booked or not")
    p.add_argument("--as-of", type=_iso_date, default=None, metavar="YYYY-MM-DD", help="the day the figures are for")
    p.add_argument("--json", action="store_true", help="one JSON object per patient, as a list")
    p.add_argument("--as", dest="actor", default=None, metavar="USER", help="only the patients shared with USER")

    p = sub.add_parser("precompute", help="every patient's worklist figures as of a day, stored (cron, after midnight)")
    p.add_argument("--as-of", type=_iso_date, default=None, metavar="YYYY-MM-DD", help="default: today")

    sub.add_parser("migrate", help="bring the database schema up to date")

    p = sub.add_parser("audit", help="the audit trail")
    audit_sub = p.add_subparsers(dest="audit_command", required=True, parser_class=_Parser)
    audit_exits = ("exit 0 intact (a checkpoint of the last row is appended to the history); 1 BROKEN: the trail "
                   "was edited, cut, dropped or rewritten, or the checkpoint history was edited or replaced by a "
                   "backup's; 3 NOT CHECKED: the database cannot be reached or there is no audit key; 4 NOT CHECKED: "
                   "the checkpoint history belongs to another database (the chain itself verified)")
    for name, what in (("verify", "recompute the keyed hash chain against every checkpoint in the history"),
                       ("checkpoint", "the same as verify: verify, then append the signed checkpoint of the "
                                      "trail's last row")):
        audit_sub.add_parser(name, help=f"{what}; {audit_exits}", description=f"{what}; {audit_exits}")

    p = sub.add_parser("user", help="local accounts: add, disable, reset-password, list, share")
    user_sub = p.add_subparsers(dest="user_command", required=True, parser_class=_Parser)
    q = user_sub.add_parser("add", help="add an account (the password is read from the terminal or standard input)")
    q.add_argument("username")
    q.add_argument("--name", required=True, help="the name shown in the dashboard")
    q.add_argument("--role", required=True, choices=["clinician", "staff", "admin"])
    q.add_argument("--oidc-issuer", help="log in through the clinic's identity provider: its issuer URL")
    q.add_argument("--oidc-subject", help="... and the person's subject identifier there")
    q = user_sub.add_parser("disable", help="disable an account (it is kept for the audit trail)")
    q.add_argument("username")
    q = user_sub.add_parser("reset-password", help="set a new password (read from the terminal or standard input)")
    q.add_argument("username")
    user_sub.add_parser("list", help="list the accounts")
    q = user_sub.add_parser("share", help="share a patient with a clinician")
    q.add_argument("username")
    q.add_argument("patient", metavar="PATIENT_REF")
    q = user_sub.add_parser("unshare", help="stop sharing a patient with a clinician")
    q.add_argument("username")
    q.add_argument("patient", metavar="PATIENT_REF")

    p = sub.add_parser("backup", help="the whole database into one file while the app runs (SQLite online backup; "
                       "pg_dump custom format), with the audit trail's signed checkpoint beside it")
    p.add_argument("-o", "--output", required=True, metavar="FILE")

    p = sub.add_parser("restore", help="a backup into the configured, empty database; verifies the audit trail")
    p.add_argument("file", metavar="FILE")

    p = sub.add_parser("bench", help="clinic-scale speed figures beside their baselines (bench/clinic_scale.py)",
                       add_help=False)
    p.add_argument("bench_args", nargs=argparse.REMAINDER)

    p = sub.add_parser("run", help="start the dashboard (migrates, seeds the demo clinic with --demo on first start)")
    p.add_argument("--demo", action="store_true", help="seed the demo clinic into an empty database and show demo accounts")
    p.add_argument("--port", type=int, default=8501)
    return parser


PRIVATE_UMASK = 0o077


def main(argv: list[str] | None = None) -> int:
    # Every file a command creates (the SQLite database and its journals, a restored database,
    # an export, a report, a checkpoint) holds patient data or protects it: owner-only (0600),
    # whatever the shell's umask. The server started by ``run`` inherits it.
    os.umask(PRIVATE_UMASK)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # its own options, parsed by bench/clinic_scale.py (argparse cannot pass them on)
        return cmd_bench(argparse.Namespace(bench_args=argv[1:]))
    args = build_parser().parse_args(argv)
    if args.command != "import" and getattr(args, "patient", None) is not None:
        args.patient = _looked_up(args.patient)
    handler = {
        "import": cmd_import,
        "demo": cmd_demo,
        "export": cmd_export,
        "summary": cmd_summary,
        "report": cmd_report,
        "cohort": cmd_cohort,
        "worklist": cmd_worklist,
        "precompute": cmd_precompute,
        "migrate": cmd_migrate,
        "audit": cmd_audit,
        "run": cmd_run,
        "user": cmd_user,
        "backup": cmd_backup,
        "restore": cmd_restore,
        "bench": cmd_bench,
        "profile": cmd_profile,
    }[args.command]
    from dashboard.db.audit_key import AuditKeyError

    try:
        return handler(args)
    except AuditKeyError as exc:  # a writer without a usable key: nothing was written
        print(f"{args.command}: {exc}; nothing was changed.", file=sys.stderr)
        return EXIT_UNCHECKED
    except Exception as exc:  # noqa: BLE001 - only database failures are answered here; others re-raise
        line = _database_failure(exc)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return EXIT_UNCHECKED


def _database_failure(exc: BaseException) -> str | None:
    """One line for a database that cannot be reached or used (no traceback, no password), else None.

    Any command can meet it: a server that is down, a wrong URL or driver, a file that cannot be
    opened or is not a SQLite database (corrupt, truncated, overwritten). The full error stays out of the terminal, as it may quote SQL parameters.
    """
    from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from dashboard.db.session import damaged_database

    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        why = "cannot be reached"
    elif damaged_database(exc):
        why = "cannot be read: the file is damaged or is not a database (restore it from a backup)"
    elif isinstance(exc, (ArgumentError, NoSuchModuleError)):
        why = "is misconfigured (check DASHBOARD_DATABASE_URL)"
    else:
        return None
    try:
        where = _safe_url()
    except Exception:  # noqa: BLE001 - an unparseable URL is itself the misconfiguration
        where = "DASHBOARD_DATABASE_URL"
    return f"dashboard: the database {where} {why} ({exc.__class__.__name__}); nothing was changed."


def _operator() -> str:
    """The operating-system user running the command, for the audit trail: the login name
    (``getpass``: LOGNAME, USER, LNAME, USERNAME, else the password database), else the uid, so
    a cron job or a container without USER is still somebody."""
    import getpass

    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no such variable and no password-database entry for this uid
        name = ""
    return f"cli:{name}" if name else f"cli:uid:{os.getuid()}"


def _actor(args) -> str:
    return args.actor or _operator()


def _unknown_as(session, args, action: str, detail: dict) -> str | None:
    """``--as USER`` must name an existing, enabled account (``dashboard.access``); otherwise a
    one-line refusal, audited under the operating-system user with the name that was given."""
    from dashboard import access
    from dashboard.db import audit

    if args.actor is None or access.acting_user(session, args.actor) is not None:
        return None
    audit.record(session, actor=_operator(), action=action, outcome="denied",
                 detail={**detail, "as": args.actor, "reason": "no enabled account of that name"})
    return f"{action}: --as {args.actor!r} is not an enabled account; nothing was done"


def _looked_up(ref: str) -> str:
    """A patient reference to look up (summary, export, report, user share) as ``dashboard.patient_ref``
    reads it: ＤＥＭＯ-001 is DEMO-001. One that cannot be a reference finds no patient; it is kept,
    escaped where the store cannot hold it (a byte that is not UTF-8 arrives as a lone surrogate),
    for the message and the audit trail. ``import --patient`` is the importer's to refuse."""
    from dashboard import patient_ref
    from dashboard.text_rules import escaped

    return patient_ref.lookup(ref) or escaped(ref)


def _denied(session, args, action: str, detail: dict | None = None) -> str | None:
    """With ``--as USER`` the user's shares decide (``dashboard.access``), exactly as on the review page.

    Without it the caller is the server's operator, who can read the database directly
    anyway; the audit trail records the operating-system user.
    """
    if args.actor is None:
        return None
    from dashboard import access
    from dashboard.db import audit
    from dashboard.db.queries import patient_by_ref

    unknown = _unknown_as(session, args, action, {"patient": args.patient, **(detail or {})})
    if unknown:
        return unknown
    user = access.acting_user(session, args.actor)
    patient = patient_by_ref(session, args.patient)
    if patient is not None and access.can_open_patient(session, user, patient.id):
        return None
    audit.record(session, actor=args.actor, action=action, outcome="denied",
                 detail={"patient": args.patient, **(detail or {})})
    return f"{action}: patient {args.patient!r} is not available to {args.actor!r}"


def _acting_user(session, args):
    """The account of ``--as`` (after ``_denied``), or None for the operator."""
    from dashboard import access

    return access.acting_user(session, args.actor) if args.actor else None


def _patient_id(session, ref: str) -> int | None:
    from dashboard.db.queries import patient_by_ref

    patient = patient_by_ref(session, ref)
    return patient.id if patient else None


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

    resolution = None
    if args.resolve or args.reason is not None:
        from dashboard.ingest.writer import Resolution

        if not (args.resolve and args.reason and args.reason.strip()):
            print("import: --resolve keep|take needs --reason TEXT (and --reason needs --resolve)", file=sys.stderr)
            return EXIT_USAGE
        resolution = Resolution(reason=args.reason.strip(), default=args.resolve)
    migrate()
    if args.actor is not None:
        from dashboard.db.session import session_scope

        with session_scope() as session:
            unknown = _unknown_as(session, args, AuditAction.IMPORT, {"files": [Path(f).name for f in args.files]})
        if unknown:
            print(unknown, file=sys.stderr)
            return EXIT_REFUSED
    worst = EXIT_OK
    for name in args.files:
        path = Path(name)
        try:
            raw = path.read_bytes()
        except (OSError, UnicodeError) as exc:  # UnicodeError: a name no file system can carry
            print(f"{escaped(name)}: cannot read the file: {getattr(exc, 'strerror', None) or 'not a file name'}",
                  file=sys.stderr)
            return EXIT_USAGE
        # A file name is a label: one holding an undecodable byte (a lone surrogate to Python) is
        # written as its escape, so it can be stored, audited and printed (dashboard.text_rules).
        name = escaped(name)
        report = import_file(
            raw, escaped(path.name), fmt=args.format, patient_ref=args.patient, accept_valid=args.accept_valid,
            actor=_actor(args), as_user=args.actor is not None, profile_name=args.profile, dry_run=args.dry_run,
            resolution=resolution,
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
    from dashboard.access import STORED_HIDDEN

    kept = "dry run, nothing written" if report.import_id is None else f"import #{report.import_id}"
    print(f"{name}: {report.status} ({report.format}; {kept}) - {report.message}")
    if report.patients:
        created = f"; created: {', '.join(report.patients_created)}" if report.patients_created else ""
        print(f"  patients: {', '.join(report.patients)}{created}")
    print(f"  entries added: {report.entries_added}, unchanged: {report.entries_unchanged}")
    for key, count in report.records_added.items():
        print(f"  {key.replace('_', ' ')} added: {count}")
    if report.measures_added or report.measures_unchanged:
        print(f"  measures added: {report.measures_added}, unchanged: {report.measures_unchanged}")
    if report.merged:
        print(f"  identical resources merged: {report.merged}")
    for c in report.conflicts:
        decided = {"keep": "; kept the stored values", "take": "; took the file's values"}.get(c.get("decision"), "")
        stored = c.get("stored")
        stored = stored if stored == STORED_HIDDEN else repr(stored)
        print(f"  conflict: row {c.get('row')}, {c.get('column')}: stored {stored}, file {c.get('new')!r}{decided}")
    for r in report.refused_rows:
        print(f"  refused: {name}, row {r['row']}, column {r['column']!r}, value {r['value']!r}: {r['reason']}")
    for label, count in report.ignored.items():
        print(f"  ignored: {label} ({count})")


def cmd_profile(args) -> int:
    """``profile suggest FILE``: the suggester's profile as JSON on standard output (what to check on
    standard error: how day/month dates read, fields left for staff); ``profile save NAME FILE`` stores
    it, checked, for ``import --profile NAME``."""
    from dashboard.ingest import profiles
    from dashboard.ingest.records import FileRefused

    if args.profile_command == "suggest":
        try:
            raw = Path(args.file).read_bytes()
        except OSError as exc:
            print(f"{args.file}: cannot read the file: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
        try:
            suggestion = profiles.suggest_profile(raw, Path(args.file).name, header_row=args.header_row)
            readings = profiles.date_readings(raw, Path(args.file).name, suggestion)
        except FileRefused as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_REFUSED
        print(json.dumps(suggestion, indent=2, ensure_ascii=False))
        for line in _suggestion_notes(suggestion, readings):
            print(line, file=sys.stderr)
        return EXIT_OK
    return _save_profile(args)


def _suggestion_notes(suggestion: dict, readings: list[dict]) -> list[str]:
    notes = []
    if len(readings) > 1:
        notes.append("check date_format: these dates read more than one way")
    for r in readings:
        notes.append(f"  as {r['date_format']}{' (suggested)' if r['chosen'] else ''}: {'; '.join(r['readings'])}")
    mapped = suggestion.get("columns") or suggestion.get("items") or {}
    left = [name for name, field in mapped.items() if field is None]
    if left:
        notes.append(f"ignored unless you map them: {', '.join(left)}")
    words = {f: [w for w, n in m.items() if n is None] for f, m in (suggestion.get("value_maps") or {}).items()}
    for field, missing in words.items():
        if missing:
            notes.append(f"value_maps.{field}: give these words a number: {', '.join(missing)}")
    if not (suggestion.get("date_column") or suggestion.get("date_parts")):
        notes.append("no date column recognised: set date_column and date_format")
    return notes


def _save_profile(args) -> int:
    from dashboard.db.session import migrate, session_scope
    from dashboard.ingest import profiles

    try:
        mapping = json.loads(Path(args.json_file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"{args.json_file}: not a readable JSON profile: {exc}", file=sys.stderr)
        return EXIT_USAGE
    migrate()
    try:
        with session_scope() as session:
            profiles.save_profile(session, args.name, mapping, created_by=_operator(), replace=args.replace)  # audited
    except (profiles.ProfileError, TypeError) as exc:
        print(f"profile {args.name!r} not saved: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"saved mapping profile {args.name!r}; import with: python -m dashboard import FILE --profile {args.name}")
    return EXIT_OK


def _demo_keeps_its_key_beside_the_database() -> None:
    """The README's first command keeps the demo's database and key together in data/; an
    explicit setting (even "0") wins. A clinic's database is refused by the demo commands anyway."""
    from dashboard.db.audit_key import BESIDE_ENV

    os.environ.setdefault(BESIDE_ENV, "1")


def cmd_demo(args) -> int:
    from dashboard.db.session import migrate, session_scope
    from dashboard.demo import build_demo

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


def _read_patient(args, action: str, read, detail: dict | None = None):
    """``read(session)`` for the patient named in ``args``, after the access check, audited.

    Returns the result, or None after printing why (the caller exits 1).
    """
    from dashboard.db import audit
    from dashboard.db.session import migrate, session_scope

    migrate()
    with session_scope() as session:
        denied = _denied(session, args, action, detail)
        if denied:
            print(denied, file=sys.stderr)
            return None
        try:
            result = read(session)
        except (LookupError, PermissionError) as exc:
            print(f"{action}: {exc}", file=sys.stderr)
            return None
        audit.record(session, actor=_actor(args), action=action, patient_id=_patient_id(session, args.patient),
                     detail={"patient": args.patient, **(detail or {})})
    return result


def _audit_demo(session, summary: dict) -> None:
    from dashboard.db import audit

    audit.record(session, actor=_operator(), action=AuditAction.DEMO_BUILD,
                 detail={k: summary[k] for k in ("seed", "today", "patients", "entries")})


def cmd_export(args) -> int:
    from dashboard.ingest.export import export_patient_csv
    from dashboard.ingest.fhir_export import export_patient_fhir

    export = export_patient_fhir if args.format == "fhir" else export_patient_csv
    text = _read_patient(args, AuditAction.EXPORT,
                         lambda session: export(session, args.patient, user=_acting_user(session, args)),
                         detail={"format": args.format})
    if text is None:
        return EXIT_REFUSED
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8", newline="")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_summary(args) -> int:
    from dashboard.analysis.summary import patient_review

    review = _read_patient(args, AuditAction.SUMMARY, lambda session: patient_review(
        session, args.patient, as_of=args.as_of, user=_acting_user(session, args)),
        detail={"as_of": args.as_of.isoformat() if args.as_of else None, "format": "note" if args.note else "json"})
    if review is None:
        return EXIT_REFUSED
    if args.note:
        from dashboard.analysis.note import clinical_note

        print(clinical_note(review))
    else:
        print(review.to_json())
    return EXIT_OK


def cmd_report(args) -> int:
    """The pre-visit report PDF; refused (exit 1) before anything is written when the patient is not available."""
    from dashboard.report import report_data, report_pdf

    target = Path(args.output)
    if not target.parent.is_dir():
        print(f"report: cannot write {args.output}: no such folder", file=sys.stderr)
        return EXIT_USAGE
    data = _read_patient(args, AuditAction.REPORT, lambda session: report_data(
        session, args.patient, as_of=args.as_of, user=_acting_user(session, args)),
        detail={"as_of": args.as_of.isoformat() if args.as_of else None})
    if data is None:
        return EXIT_REFUSED
    review, visits, imports = data
    pdf = report_pdf(review, visits=visits, imports=imports)  # drawn after the transaction has closed
    target.write_bytes(pdf)
    print(f"report for {args.patient} written to {target} ({len(pdf) // 1024} KiB)")
    return EXIT_OK


def cmd_cohort(args) -> int:
    """The page's figures from the same functions (``access.cohort_patient_ids``, each patient's
    review, ``analysis.cohort.build_cohort``), audited as one view of many patients."""
    from sqlalchemy import select

    from dashboard import access
    from dashboard.analysis.cohort import build_cohort, cohort_json
    from dashboard.analysis.summary import stored_review
    from dashboard.db import audit
    from dashboard.db.models import Patient
    from dashboard.db.session import migrate, session_scope
    from dashboard.db.settings_store import load_thresholds

    migrate()
    as_of = args.as_of or date.today()
    with session_scope() as session:
        unknown = _unknown_as(session, args, AuditAction.VIEW_COHORT, {})
        if unknown:
            print(unknown, file=sys.stderr)
            return EXIT_REFUSED
        user = _acting_user(session, args)
        ids = access.cohort_patient_ids(session, user)
        limits = load_thresholds(session)
        patients = session.scalars(select(Patient).where(Patient.id.in_(ids)).order_by(Patient.id))
        cohort = build_cohort([stored_review(session, p, as_of=as_of, thresholds=limits) for p in patients])
        scope = access.cohort_scope(user)
        audit.record(session, actor=_actor(args), action=AuditAction.VIEW_COHORT,
                     detail={"patients": len(ids), "scope": scope, "as_of": as_of.isoformat()})
    print(json.dumps(cohort_json(cohort, as_of=as_of, scope=scope), ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_worklist(args) -> int:
    """The worklist of ``--as USER`` (their shared patients) or, for the operator, of every patient; audited."""
    from datetime import timedelta

    from sqlalchemy import select

    from dashboard import access
    from dashboard.analysis.worklist import DEFAULT_DAYS_AHEAD, worklist
    from dashboard.db import audit
    from dashboard.db.models import Patient
    from dashboard.db.session import migrate, session_scope

    as_of = args.as_of or date.today()
    start = args.start or as_of
    end = args.end or start + timedelta(days=DEFAULT_DAYS_AHEAD)
    if end < start:
        print(f"worklist: --to {end} is before --from {start}", file=sys.stderr)
        return EXIT_USAGE
    migrate()
    with session_scope() as session:
        unknown = _unknown_as(session, args, AuditAction.VIEW_WORKLIST, {"all": args.all})
        if unknown:
            print(unknown, file=sys.stderr)
            return EXIT_REFUSED
        user = _acting_user(session, args)
        ids = sorted(session.scalars(select(Patient.id))) if user is None else access.visible_patient_ids(session, user)
        rows = worklist(session, patient_ids=ids, as_of=as_of, start=start, end=end, everyone=args.all)
        audit.record(session, actor=_actor(args), action=AuditAction.VIEW_WORKLIST,
                     detail={"patients": [r.ref for r in rows], "as_of": as_of.isoformat(), "from": start.isoformat(),
                             "to": end.isoformat(), "all": args.all})
    if args.json:
        print(json.dumps([r.json() for r in rows], ensure_ascii=False, indent=2))
        return EXIT_OK
    from dashboard.app_pages.worklist_table import COLUMNS, table

    lines = table(rows, as_of)
    if rows:
        print(" | ".join(COLUMNS.values()))
    for line in lines.itertuples(index=False):
        print(" | ".join(str(v) for v in line))
    if not rows:
        print("no patients" if args.all else f"no visits booked from {start} to {end}")
    return EXIT_OK


def cmd_precompute(args) -> int:
    """Every patient's worklist snapshot as of a day (the operator's cron, shortly after midnight):
    derived figures, not patient data, so nothing is audited; patients whose snapshot is current
    are left as they are, so running it twice computes nothing the second time."""
    from dashboard.analysis.worklist import precompute
    from dashboard.db.session import migrate, session_scope

    as_of = args.as_of or date.today()
    migrate()
    with session_scope() as session:
        done = precompute(session, as_of=as_of)
    print(f"precompute: {done['patients']} patients as of {as_of}: {done['computed']} computed, "
          f"{done['current']} already current; {done['pruned']} older snapshots removed")
    return EXIT_OK


EXIT_OTHER_DATABASE = 4  # audit verify only: the checkpoint history is another database's


def cmd_audit(args) -> int:
    """Verify the trail against every checkpoint of the history; if it is intact, append its last row.

    Exit 0 intact; 1 BROKEN (the trail or the history was tampered with: a dropped table is a
    broken trail, not an outage); 3 NOT CHECKED, the outage code (no database, no key); 4 NOT
    CHECKED, the history is another database's (a second database checked by the same install:
    not an alarm, but nothing was compared). Nothing is ever appended after a failure, so the
    evidence stays; an unchanged trail appends nothing either.
    """
    from sqlalchemy.exc import DBAPIError

    from dashboard.config import audit_checkpoint_file
    from dashboard.db import audit, audit_checkpoint, audit_key
    from dashboard.db.session import session_scope

    appended = False
    try:
        key = audit_key.load(create=False)
        history = audit_checkpoint.read_history(key)
        with session_scope() as session:
            result = audit.verify(session, key=key, history=history)
            if result.ok and result.other_database is None:
                new = audit.checkpoint_after(session, result, key, history)
                newest = history[-1] if history else None
                if newest is None or (newest.last_id, newest.last_hash, newest.keyed_by) != (
                        new.last_id, new.last_hash, new.keyed_by):
                    audit_checkpoint.append(key, new)
                    appended = True
    except audit_key.AuditKeyError as exc:
        print(f"audit trail NOT CHECKED: {exc}", file=sys.stderr)
        return EXIT_UNCHECKED
    except audit_checkpoint.CheckpointError as exc:
        print(f"audit trail BROKEN: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else exc.__class__.__name__
        print(f"audit trail NOT CHECKED: cannot read the database {_safe_url()}: {reason}", file=sys.stderr)
        return EXIT_UNCHECKED
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
    from dashboard.db.audit_key import placement_problem
    from dashboard.db.session import migrate, session_scope

    if args.demo:
        _demo_keeps_its_key_beside_the_database()
    misplaced = placement_problem(database_url())
    if misplaced:
        print(f"run: not started: {misplaced}", file=sys.stderr)
        return EXIT_UNCHECKED
    migrate()
    env = dict(os.environ)
    if args.demo:
        from sqlalchemy import func, select

        from dashboard.db.models import Patient
        from dashboard.demo import DemoRefused, build_demo, not_the_demo

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
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "dashboard" / "app.py"), "--server.port", str(args.port)]
    return _serve(cmd, env)


def _serve(cmd: list[str], env: dict) -> int:
    """Run the Streamlit server and stop it when this command is stopped (Ctrl-C or SIGTERM), so a
    service manager that stops ``python -m dashboard run`` never leaves a server holding the port."""
    import signal

    server = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env)

    def stop(signum, _frame):
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


def _read_password() -> str:
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass("New password: ")
        if getpass.getpass("Repeat it: ") != first:
            raise ValueError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


def cmd_user(args) -> int:
    from sqlalchemy import select

    from dashboard.auth import accounts
    from dashboard.db import audit
    from dashboard.db.models import Clinician
    from dashboard.db.session import migrate, session_scope

    migrate()
    actor = _operator()
    try:
        with session_scope() as session:
            if args.user_command == "list":
                for c in session.scalars(select(Clinician).order_by(Clinician.username)):
                    state = "active" if c.active else "disabled"
                    login = "oidc" if c.oidc_subject else "password"
                    print(f"{c.username:<20} {c.role:<10} {state:<9} {login:<8} {c.display_name}")
                return EXIT_OK
            if args.user_command in ("share", "unshare"):
                change = accounts.share if args.user_command == "share" else accounts.unshare
                change(session, username=args.username, patient_ref=args.patient)
                audit.record(session, actor=actor, action=user_command(args.user_command),
                             detail={"user": args.username, "patient": args.patient})
                print(f"{args.user_command}d {args.patient} with {args.username}")
                return EXIT_OK
            if args.user_command == "add":
                password = None if args.oidc_subject else _read_password()
                accounts.add_user(session, username=args.username, display_name=args.name, role=args.role,
                                  password=password, oidc_issuer=args.oidc_issuer, oidc_subject=args.oidc_subject)
            elif args.user_command == "disable":
                accounts.disable_user(session, args.username)
            elif args.user_command == "reset-password":
                accounts.reset_password(session, args.username, _read_password())
            audit.record(session, actor=actor, action=user_command(args.user_command), detail={"user": args.username})
    except (accounts.AccountError, ValueError) as exc:
        print(f"user {args.user_command}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"user {args.user_command}: done for {args.username}")
    return EXIT_OK


def cmd_backup(args) -> int:
    """Exit 0 with a backup of an intact trail, 1 if the backup was written but the trail is broken."""
    from dashboard.db import audit_key, backup

    try:
        done = backup.take_backup(database_url(), Path(args.output), actor=_operator())
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
    from dashboard.db import audit_checkpoint, audit_key, backup

    try:
        done = backup.restore_backup(Path(args.file), database_url(), actor=_operator())
    except (audit_key.AuditKeyError, backup.ToolMissing) as exc:
        print(f"restore NOT done: {exc}", file=sys.stderr)
        return EXIT_UNCHECKED
    except (backup.BackupError, audit_checkpoint.CheckpointError) as exc:
        print(f"restore: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"restored into {_safe_url()}: audit trail intact, {done.audit_rows} rows, last row {done.last_row}"
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
    sys.path.insert(0, str(script.parent))
    import clinic_scale

    return clinic_scale.main(args.bench_args)

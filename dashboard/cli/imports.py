"""Commands that bring files in: import (and its dry run), mapping profiles (suggest, save)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dashboard.audit_actions import AuditAction
from dashboard.cli.common import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, operator, run_as
from dashboard.db.session import migrate, session_scope
from dashboard.ingest import profiles
from dashboard.ingest.identity import identity_words
from dashboard.ingest.records import FileRefused
from dashboard.ingest.service import STORED_HIDDEN
from dashboard.ingest.writer import Resolution
from dashboard.text_rules import escaped
from dashboard.usecases import imports


def cmd_import(args) -> int:
    resolution = None
    if args.same_person is not None and not args.same_person.strip():
        print("import: --same-person needs a reason (why the file's patient is the stored patient)", file=sys.stderr)
        return EXIT_USAGE
    if args.resolve or args.reason is not None:
        if not (args.resolve and args.reason and args.reason.strip()):
            print("import: --resolve keep|take needs --reason TEXT (and --reason needs --resolve)", file=sys.stderr)
            return EXIT_USAGE
        resolution = Resolution(reason=args.reason.strip(), default=args.resolve)
    confirm = None
    if args.confirm_prescription is not None:
        if not args.confirm_prescription.strip():
            print("import: --confirm-prescription needs a reason", file=sys.stderr)
            return EXIT_USAGE
        confirm = args.confirm_prescription.strip()
    actor = run_as(args, AuditAction.IMPORT, {"files": [Path(f).name for f in args.files]}, lambda _session, who: who)
    if actor is None:
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
        report = imports.import_file(
            actor, raw, escaped(path.name), fmt=args.format, patient_ref=args.patient, accept_valid=args.accept_valid,
            profile_name=args.profile, dry_run=args.dry_run, resolution=resolution, confirm_prescription=confirm,
            same_person=args.same_person,
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
    kept = "dry run, nothing written" if report.import_id is None else f"import #{report.import_id}"
    print(f"{name}: {report.status} ({report.format}; {kept}) - {report.message}")
    if report.patients:
        created = f"; created: {', '.join(report.patients_created)}" if report.patients_created else ""
        print(f"  patients: {', '.join(report.patients)}{created}")
    for c in report.identities:
        print(f"  patient {c['patient']}: {identity_words(c)}")
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
        stored = stored if stored == STORED_HIDDEN else f"stored {stored!r}"  # the hidden words say "stored" already
        print(f"  conflict: row {c.get('row')}, {c.get('column')}: {stored}, file {c.get('new')!r}{decided}")
    for r in report.refused_rows:
        print(f"  refused: {name}, row {r['row']}, column {r['column']!r}, value {r['value']!r}: {r['reason']}")
    for label, count in report.ignored.items():
        print(f"  ignored: {label} ({count})")
    for check in report.prescription.get("confirmed", {}).get("checks", []):
        print(f"  prescription confirmed: {name}, row {check['row']}: {check['words']}")


def cmd_profile(args) -> int:
    """``profile suggest FILE``: the suggester's profile as JSON on standard output (what to check on
    standard error: how day/month dates read, fields left for staff); ``profile save NAME FILE`` stores
    it, checked, for ``import --profile NAME``."""
    if args.profile_command == "suggest":
        try:
            raw = Path(args.file).read_bytes()
        except OSError as exc:
            print(f"{args.file}: cannot read the file: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
        try:
            found = profiles.suggest_mapping(raw, Path(args.file).name, header_row=args.header_row)
            readings = profiles.date_readings(raw, Path(args.file).name, found.profile)
        except FileRefused as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_REFUSED
        print(json.dumps(found.profile, indent=2, ensure_ascii=False))
        for line in _suggestion_notes(found.questions, readings):
            print(line, file=sys.stderr)
        return EXIT_OK
    return _save_profile(args)


def _suggestion_notes(questions: list[dict], readings: list[dict]) -> list[str]:
    """What to review: how day/month dates read, and the suggester's open questions with each
    column's values (the suggestion itself saves as it is)."""
    notes = []
    if len(readings) > 1:
        notes.append("check date_format: these dates read more than one way")
    for r in readings:
        notes.append(f"  as {r['date_format']}{' (suggested)' if r['chosen'] else ''}: {'; '.join(r['readings'])}")
    for q in questions:
        notes.append(f"{q['column']}: {q['question']}" if q["column"] else q["question"])
        if q["values"]:
            notes.append("  values: " + " | ".join(q["values"]))
    return notes


def _save_profile(args) -> int:
    try:
        mapping = json.loads(Path(args.json_file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"{args.json_file}: not a readable JSON profile: {exc}", file=sys.stderr)
        return EXIT_USAGE
    migrate()
    try:
        with session_scope() as session:
            imports.save_mapping_profile(session, operator(), args.name, mapping, replace=args.replace)  # audited
    except (profiles.ProfileError, TypeError) as exc:
        print(f"profile {args.name!r} not saved: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"saved mapping profile {args.name!r}; import with: python -m dashboard import FILE --profile {args.name}")
    return EXIT_OK

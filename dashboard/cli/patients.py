"""Commands that read patients: export, summary (JSON or note), report, cohort, worklist, precompute.

Each calls the use case the pages call (``dashboard.usecases``), as ``--as USER`` (their shares
decide, exactly as on the review page) or as the server's operator, who can read the database
directly anyway; the audit trail records the operating-system user then.
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path

from dashboard.analysis.cohort import cohort_json
from dashboard.analysis.note import clinical_note
from dashboard.analysis.worklist import DEFAULT_DAYS_AHEAD
from dashboard.stored.worklist import precompute
from dashboard.analysis.worklist_table import COLUMNS, table
from dashboard.audit_actions import AuditAction
from dashboard.cli.common import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, run_as
from dashboard.db.session import migrate, session_scope
from dashboard.report import report_pdf
from dashboard.usecases import exports, patients


def _read_patient(args, action: str, detail: dict, use_case, **options):
    """The use case's result, or None after printing why (the caller exits 1): ``--as`` not an
    enabled account, the patient not shared, or (the operator) no such patient."""
    try:
        return run_as(args, action, {"patient": args.patient, **detail}, use_case, args.patient, **options)
    except (LookupError, PermissionError) as exc:
        print(f"{action}: {exc}", file=sys.stderr)
        return None


def cmd_export(args) -> int:
    text = _read_patient(args, AuditAction.EXPORT, {"format": args.format}, exports.export_patient, fmt=args.format)
    if text is None:
        return EXIT_REFUSED
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8", newline="")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_summary(args) -> int:
    detail = {"as_of": args.as_of.isoformat() if args.as_of else None, "format": "note" if args.note else "json"}
    review = _read_patient(args, AuditAction.SUMMARY, detail, exports.patient_review, as_of=args.as_of, note=args.note)
    if review is None:
        return EXIT_REFUSED
    if args.note:
        print(clinical_note(review))
    else:
        print(review.to_json())
    return EXIT_OK


def cmd_report(args) -> int:
    """The pre-visit report PDF; refused (exit 1) before anything is written when the patient is not available."""
    target = Path(args.output)
    if not target.parent.is_dir():
        print(f"report: cannot write {args.output}: no such folder", file=sys.stderr)
        return EXIT_USAGE
    data = _read_patient(args, AuditAction.REPORT, {"as_of": args.as_of.isoformat() if args.as_of else None},
                         exports.report_data, as_of=args.as_of)
    if data is None:
        return EXIT_REFUSED
    review, visits, imports = data
    pdf = report_pdf(review, visits=visits, imports=imports)  # drawn after the transaction has closed
    target.write_bytes(pdf)
    print(f"report for {args.patient} written to {target} ({len(pdf) // 1024} KiB)")
    return EXIT_OK


def cmd_cohort(args) -> int:
    """The page's figures from the same use case's rules (``access.cohort_patient_ids``, each
    patient's review, ``analysis.cohort.build_cohort``), audited as one view of many patients."""
    as_of = args.as_of or date.today()
    done = run_as(args, AuditAction.VIEW_COHORT, {}, patients.cohort, as_of)
    if done is None:
        return EXIT_REFUSED
    cohort, scope = done
    print(json.dumps(cohort_json(cohort, as_of=as_of, scope=scope), ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_worklist(args) -> int:
    """The worklist of ``--as USER`` (their shared patients) or, for the operator, of every patient; audited."""
    as_of = args.as_of or date.today()
    start = args.start or as_of
    end = args.end or start + timedelta(days=DEFAULT_DAYS_AHEAD)
    if end < start:
        print(f"worklist: --to {end} is before --from {start}", file=sys.stderr)
        return EXIT_USAGE
    rows = run_as(args, AuditAction.VIEW_WORKLIST, {"all": args.all}, patients.worklist, as_of=as_of, start=start,
                  end=end, everyone=args.all, audit_empty=True)
    if rows is None:
        return EXIT_REFUSED
    if args.json:
        print(json.dumps([r.json() for r in rows], ensure_ascii=False, indent=2))
        return EXIT_OK
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
    as_of = args.as_of or date.today()
    migrate()
    with session_scope() as session:
        done = precompute(session, as_of=as_of)
    print(f"precompute: {done['patients']} patients as of {as_of}: {done['computed']} computed, "
          f"{done['current']} already current; {done['pruned']} older snapshots removed")
    return EXIT_OK

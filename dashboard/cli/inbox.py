"""``python -m dashboard inbox``: the files patients sent through share links (list, import, reject)."""

from __future__ import annotations

import sys

from dashboard.audit_actions import AuditAction
from dashboard.cli.common import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, run_as
from dashboard.ingest.identity import identity_words
from dashboard.usecases import NotAllowed, inbox


def _plain(text: object) -> str:
    """Patient text and file names as plain characters: no terminal control sequence gets through."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


def cmd_inbox(args) -> int:
    return {"list": _list, "import": _import, "reject": _reject}[args.inbox_command](args)


def _list(args) -> int:
    box = run_as(args, AuditAction.VIEW_INBOX, {}, inbox.inbox)
    if box is None:
        return EXIT_REFUSED
    print(f"{len(box.waiting)} file(s) waiting" + (":" if box.waiting else ""))
    for item in box.waiting:
        check = item.check
        print(f"#{item.record_id}  {_plain(item.patient_name or 'name not recorded')} · {item.patient_ref}  "
              f"received {item.received_at:%Y-%m-%d %H:%M}  {_plain(item.file_name)} ({item.size:,} bytes, "
              f"link #{item.link_id})")
        print(f"  format: {check.format}; would add: {item.would_add}; refused rows: {len(check.refused_rows)}; "
              f"conflicts: {len(check.conflicts)}; dry run: {check.status}")
        for words in item.identity:
            print(f"  identity: {_plain(words)}")
        if item.needs_same_person:
            print("  import it with --same-person REASON only if they are the same person")
        if item.needs_prescription:
            print("  its prescriptions need --confirm-prescription REASON")
        if check.status == "refused" and check.message:
            print(f"  why: {_plain(check.message)}")
    if box.decided:
        print("recently decided:")
    for d in box.decided:
        when = f"{d.decided_at:%Y-%m-%d %H:%M}" if d.decided_at else ""
        result = f" as import #{d.result_import_id}" if d.result_import_id else ""
        why = f": {_plain(d.decision)}" if d.decision else ""
        print(f"#{d.record_id}  {d.patient_ref}  {_plain(d.file_name)}  {d.status}{result} by "
              f"{_plain(d.decided_by)} {when}{why}")
    return EXIT_OK


def _reason(text: str | None) -> str | None | bool:
    """None when not given, the reason, or False when given empty (a usage error)."""
    if text is None:
        return None
    return text.strip() or False


def _import(args) -> int:
    same, confirm = _reason(args.same_person), _reason(args.confirm_prescription)
    if same is False or confirm is False:
        print("inbox import: --same-person and --confirm-prescription need a reason", file=sys.stderr)
        return EXIT_USAGE
    actor = run_as(args, AuditAction.INBOX_ACCEPT, {"record": args.record}, lambda _session, who: who)
    if actor is None:
        return EXIT_REFUSED
    try:
        report = inbox.accept_received(actor, args.record, same_person=same, confirm_prescription=confirm)
    except (NotAllowed, inbox.AlreadyDecided) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_REFUSED
    kept = f"import #{report.import_id}" if report.import_id else "nothing written"
    print(f"#{args.record}: {report.status} ({report.format}; {kept}) - {_plain(report.message)}")
    for c in report.identities:
        print(f"  identity: {_plain(identity_words(c))}")
    if report.status == "refused":
        print("  the file stays waiting in the inbox", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def _reject(args) -> int:
    if not args.reason.strip():
        print("inbox reject: --reason needs a reason", file=sys.stderr)
        return EXIT_USAGE
    try:
        done = run_as(args, AuditAction.INBOX_REJECT, {"record": args.record}, _rejected, args.record, args.reason)
    except inbox.AlreadyDecided as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_REFUSED
    if done is None:
        return EXIT_REFUSED
    print(f"#{args.record}: rejected")
    return EXIT_OK


def _rejected(session, actor, record_id: int, reason: str) -> bool:
    inbox.reject_received(session, actor, record_id, reason)
    return True

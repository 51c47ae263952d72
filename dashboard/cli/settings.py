"""``settings``: the clinic's thresholds listed, or changed with ``--set KEY=VALUE`` (administrators and
the clinic's lead clinician with ``--as``, or the server's operator; audited with old and new values)."""

from __future__ import annotations

import sys
from dataclasses import asdict

from dashboard.analysis.settings_table import allowed_words, with_unit
from dashboard.audit_actions import AuditAction
from dashboard.cli.common import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, run_as
from dashboard.config import THRESHOLDS
from dashboard.db.session import migrate, session_scope
from dashboard.usecases import settings as setting_cases


def _parsed(pairs: list[str]) -> dict[str, str] | None:
    changes = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            print(f"settings: --set {pair!r}: write KEY=VALUE, e.g. --set onset_days=21", file=sys.stderr)
            return None
        changes[key.strip()] = value.strip()
    return changes


def _listing() -> int:
    migrate()
    with session_scope() as session:
        current = asdict(setting_cases.thresholds(session))
    for t in THRESHOLDS:
        print(f"{t.key}: {with_unit(t, current[t.key])}  ({t.label}; default {with_unit(t, t.default)}; "
              f"allowed {allowed_words(t)}; changed by {t.who})")
    return EXIT_OK


def cmd_settings(args) -> int:
    if not args.changes:
        return _listing()
    changes = _parsed(args.changes)
    if changes is None:
        return EXIT_USAGE
    try:
        changed = run_as(args, AuditAction.SETTINGS_CHANGE, {"changes": changes}, setting_cases.change_thresholds,
                         changes)
    except ValueError as exc:
        print(f"settings: nothing was saved: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if changed is None:  # refused (already audited; the reason is printed)
        return EXIT_REFUSED
    print(f"settings: saved {', '.join(changed)}" if changed else "settings: nothing changed")
    return EXIT_OK

"""The command line's parser: every subcommand, its options and its usage errors (exit 2)."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from dashboard import fields
from dashboard.cli.common import EXIT_USAGE
from dashboard.config import SHARE_LIMITS

DESCRIPTION = "``python -m dashboard ...``: import, demo data, export, summary, cohort, audit, run."


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
    return _day_within(text, fields.DIARY)


def _plan_date(text: str) -> date:
    """A visit day (``worklist --from/--to``): within the dates a visit may carry."""
    return _day_within(text, fields.PLAN)


def _link_days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= SHARE_LIMITS.max_days:
        raise argparse.ArgumentTypeError(f"a link lasts 1 to {SHARE_LIMITS.max_days} days, not {text!r}")
    return int(text)


def _link_uses(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"a link's uses are 1 to 1000, not {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m dashboard", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("import", help="import diary, clinic-record, FHIR, Bearable or Privacy Friendly Pain Diary files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--patient", metavar="REF", help="the clinic's patient reference, for files without one")
    p.add_argument("--format", default="auto", choices=["auto", "diary-csv", "titration", "visits", "fhir", "bearable",
                                                          "privacy-friendly-pain-diary"])
    p.add_argument("--profile", metavar="NAME", help="a saved mapping profile for another diary app's layout")
    p.add_argument("--accept-valid", action="store_true", help="import the valid rows and keep the refused ones in the import record")
    p.add_argument("--resolve", choices=["keep", "take"], default=None,
                   help="decide every conflict: keep the stored values or take the file's (needs --reason; audited)")
    p.add_argument("--reason", metavar="TEXT", default=None, help="why the conflicts are resolved so (with --resolve)")
    p.add_argument("--confirm-prescription", metavar="REASON", default=None,
                   help="confirm titration steps above the clinic's maximum daily dose or more than twice the previous "
                        "step's, with the reason (kept in the audit trail)")
    p.add_argument("--dry-run", action="store_true", help="report what would be imported; write nothing")
    p.add_argument("--same-person", default=None, metavar="REASON",
                   help="confirm, with a reason, that the file's patient is the stored patient although their "
                        "name, birth date or an identifier differ (audited with both identities)")
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

    p = sub.add_parser("share-link", help="a patient's upload links: create one (its address shown once), list, "
                       "revoke")
    link_sub = p.add_subparsers(dest="share_command", required=True, parser_class=_Parser)
    q = link_sub.add_parser("create", help="a link that lets whoever holds it send diary files for the patient "
                            "into the clinic's inbox")
    q.add_argument("patient", metavar="REF")
    q.add_argument("--days", type=_link_days, default=SHARE_LIMITS.default_days,
                   help=f"how long it works (default {SHARE_LIMITS.default_days}, at most {SHARE_LIMITS.max_days})")
    q.add_argument("--uses", type=_link_uses, default=None, metavar="N", help="how many submissions (default: no limit)")
    q.add_argument("--as", dest="actor", default=None, metavar="USER")
    q = link_sub.add_parser("list", help="the patient's links: made when and by whom, until when, uses, state")
    q.add_argument("patient", metavar="REF")
    q.add_argument("--json", action="store_true")
    q.add_argument("--as", dest="actor", default=None, metavar="USER")
    q = link_sub.add_parser("revoke", help="stop a link at once")
    q.add_argument("link_id", type=int, metavar="ID")
    q.add_argument("--as", dest="actor", default=None, metavar="USER")

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

    p = sub.add_parser("settings", help="the clinic's thresholds: list them, or change some (administrators and "
                       "the clinic's lead clinician; audited with old and new values)")
    p.add_argument("--set", dest="changes", action="append", default=[], metavar="KEY=VALUE",
                   help="change a threshold (repeat for several; all or nothing); the keys are listed without --set")
    p.add_argument("--as", dest="actor", default=None, metavar="USER",
                   help="who changes them (without --as: the server's operator)")

    p = sub.add_parser("user", help="local accounts: add, disable, reset-password, lead, list, share")
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
    q = user_sub.add_parser("lead", help="mark a clinician as the clinic's lead (changes the clinic-wide "
                            "thresholds), or no longer with --off")
    q.add_argument("username")
    q.add_argument("--off", action="store_true", help="no longer the clinic's lead")
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

"""``user``: local accounts, the clinic's lead clinician and shares, by the server's operator
(audited under the operating-system user)."""

from __future__ import annotations

import getpass
import sys

from sqlalchemy import select

from dashboard.audit_actions import user_command
from dashboard.auth import accounts
from dashboard.cli.common import EXIT_OK, EXIT_REFUSED, operator
from dashboard.db import audit
from dashboard.db.models import Clinician
from dashboard.db.session import migrate, session_scope


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("New password: ")
        if getpass.getpass("Repeat it: ") != first:
            raise ValueError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


def cmd_user(args) -> int:
    migrate()
    actor = operator().name
    try:
        with session_scope() as session:
            if args.user_command == "list":
                for c in session.scalars(select(Clinician).order_by(Clinician.username)):
                    state = "active" if c.active else "disabled"
                    login = "oidc" if c.oidc_subject else "password"
                    lead = "lead" if c.clinic_lead and c.role == accounts.LEAD_ROLE else ""
                    print(f"{c.username:<20} {c.role:<10} {lead:<5} {state:<9} {login:<8} {c.display_name}")
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
            elif args.user_command == "lead":
                was = accounts.set_clinic_lead(session, args.username, not args.off)
                audit.record(session, actor=actor, action=user_command("lead"),
                             detail={"user": args.username, "lead": not args.off, "was": was})
                print(f"user lead: {args.username} is {'no longer ' if args.off else ''}the clinic's lead clinician")
                return EXIT_OK
            audit.record(session, actor=actor, action=user_command(args.user_command), detail={"user": args.username})
    except (accounts.AccountError, ValueError) as exc:
        print(f"user {args.user_command}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"user {args.user_command}: done for {args.username}")
    return EXIT_OK

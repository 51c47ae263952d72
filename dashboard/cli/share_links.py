"""``share-link``: a patient's upload links made, listed and revoked (issue 22), as ``--as USER``
(staff for any patient, a clinician for those shared with them) or the server's operator. The
address, with its token, is printed once, by ``create``; the store keeps only the token's hash."""

from __future__ import annotations

import json
import sys

from dashboard.audit_actions import AuditAction
from dashboard.cli.common import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, run_as
from dashboard.usecases import share_links


def _create(args) -> int:
    try:
        link = run_as(args, AuditAction.SHARE_LINK_CREATE, {"patient": args.patient},
                      share_links.create_share_link, args.patient, days=args.days, uses=args.uses)
    except share_links.LinkRefused as exc:
        print(f"share-link create: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if link is None:
        return EXIT_REFUSED
    uses = "no limit of uses" if link.max_uses is None else f"{link.max_uses} use{'s' if link.max_uses != 1 else ''}"
    print(link.address)
    print(f"share-link {link.id} for {args.patient}: until {link.expires_at:%Y-%m-%d %H:%M} UTC, {uses}. "
          "The address is shown this once; give it to the patient only.", file=sys.stderr)
    if link.relative:
        print("DASHBOARD_PUBLIC_URL is not set: put the path after the dashboard's address as patients reach it "
              "(e.g. https://pain.example-clinic.org/share/...).", file=sys.stderr)
    return EXIT_OK


def _list(args) -> int:
    lines = run_as(args, AuditAction.SHARE_LINK_LIST, {"patient": args.patient}, share_links.list_share_links,
                   args.patient)
    if lines is None:
        return EXIT_REFUSED
    if args.json:
        print(json.dumps([line.json() for line in lines], ensure_ascii=False, indent=2))
        return EXIT_OK
    for line in lines:
        uses = f"{line.uses}/{line.max_uses}" if line.max_uses is not None else f"{line.uses}"
        print(f"{line.id} | {line.state} | made {line.created_at:%Y-%m-%d %H:%M} by {line.created_by} | "
              f"until {line.expires_at:%Y-%m-%d %H:%M} | uses {uses}")
    if not lines:
        print(f"no share links for {args.patient}")
    return EXIT_OK


def _revoke(args) -> int:
    first = run_as(args, AuditAction.SHARE_LINK_REVOKE, {"link": args.link_id}, share_links.revoke_share_link,
                   args.link_id)
    if first is None:
        return EXIT_REFUSED
    print(f"share-link {args.link_id} revoked" if first else f"share-link {args.link_id} was already revoked")
    return EXIT_OK


def cmd_share_link(args) -> int:
    return {"create": _create, "list": _list, "revoke": _revoke}[args.share_command](args)

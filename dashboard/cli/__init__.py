"""``python -m dashboard ...``: import, demo data, export, summary, cohort, audit, run.

Exit codes: 0 success (everything imported or already present), 1 a file or check was
refused, 2 a usage error, 3 it could not be done: the database cannot be reached or is
misconfigured (one line on standard error, from every command), or the audit key is missing.

The commands live by what they do: ``patients`` (export, summary, report, cohort, worklist,
precompute), ``imports`` (import, profile), ``accounts`` (user), ``settings`` (settings), ``share_links``
(share-link), ``operations`` (migrate, demo, run, audit, backup, restore, bench). They call the use cases the pages call (``dashboard.usecases``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable

from dashboard.cli.common import (EXIT_OK, EXIT_OTHER_DATABASE, EXIT_REFUSED, EXIT_UNCHECKED, EXIT_USAGE,
                                  database_failure, looked_up)
from dashboard.cli.parser import build_parser
from dashboard.db.audit_key import AuditKeyError

__all__ = ["EXIT_OK", "EXIT_OTHER_DATABASE", "EXIT_REFUSED", "EXIT_UNCHECKED", "EXIT_USAGE", "build_parser", "main"]

# Which module holds each subcommand's ``cmd_<name>``.
COMMANDS = {
    "import": "imports", "profile": "imports",
    "export": "patients", "summary": "patients", "report": "patients", "cohort": "patients",
    "worklist": "patients", "precompute": "patients",
    "user": "accounts", "settings": "settings", "share-link": "share_links",
    "demo": "operations", "migrate": "operations", "audit": "operations", "run": "operations",
    "backup": "operations", "restore": "operations", "bench": "operations",
}


def _handler(command: str) -> Callable[[argparse.Namespace], int]:
    # Imported when its command runs: the patient commands load the analysis and the report
    # (scipy, plotly, fpdf2: about 2 s of CPU measured with -X importtime), which ``user list``,
    # ``migrate`` or a usage error should not pay.
    module = importlib.import_module(f"dashboard.cli.{COMMANDS[command]}")
    return getattr(module, f"cmd_{command.replace('-', '_')}")


PRIVATE_UMASK = 0o077


def main(argv: list[str] | None = None) -> int:
    # Every file a command creates (the SQLite database and its journals, a restored database,
    # an export, a report, a checkpoint) holds patient data or protects it: owner-only (0600),
    # whatever the shell's umask. The server started by ``run`` inherits it.
    os.umask(PRIVATE_UMASK)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # its own options, parsed by bench/clinic_scale.py (argparse cannot pass them on)
        return _handler("bench")(argparse.Namespace(bench_args=argv[1:]))
    args = build_parser().parse_args(argv)
    if args.command != "import" and getattr(args, "patient", None) is not None:
        args.patient = looked_up(args.patient)
    handler = _handler(args.command)
    try:
        return handler(args)
    except AuditKeyError as exc:  # a writer without a usable key: nothing was written
        print(f"{args.command}: {exc}; nothing was changed.", file=sys.stderr)
        return EXIT_UNCHECKED
    except Exception as exc:  # noqa: BLE001 - only database failures are answered here; others re-raise
        line = database_failure(exc)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return EXIT_UNCHECKED

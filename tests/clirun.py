"""``python -m dashboard …`` for the tests: in this process, or as a real process.

A real process costs 2–4 s of CPU (Python's start-up and the imports of pandas, plotly, scipy and
fpdf2, every time); about 150 command-line runs made that several minutes of the suite. ``cli``
calls the same ``main`` that ``dashboard/__main__.py`` calls, with the command's environment,
working directory, standard output and error, and gives back what ``subprocess.run`` would:
the exit code, stdout and stderr (an exception that escapes ``main`` becomes its traceback on
stderr and exit code 1, as the interpreter would print it). ``main`` sets the process's umask;
it is put back afterwards.

``cli_process`` starts a real process, for the tests that are about the process itself: two
processes at once, the operating-system user, a server to stop, what reaches a terminal when
the database cannot be opened. Each file of command-line tests keeps some.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback
from pathlib import Path

from dashboard.cli import main

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def _as_a_command(env: dict[str, str]):
    saved = {name: os.environ.get(name) for name in env}
    cwd, umask = os.getcwd(), os.umask(0o022)
    os.umask(umask)
    os.environ.update(env)
    os.chdir(REPO)
    try:
        yield
    finally:
        os.chdir(cwd)
        os.umask(umask)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def cli(db_url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``python -m dashboard *args`` against ``db_url``, run by ``main`` in this process."""
    out, err = io.StringIO(), io.StringIO()
    with _as_a_command({"DASHBOARD_DATABASE_URL": db_url, **env}), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors and --help
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
        except Exception:  # noqa: BLE001 - what the interpreter prints for an uncaught exception
            traceback.print_exc(file=sys.stderr)
            code = 1
    return subprocess.CompletedProcess(["python", "-m", "dashboard", *args], code, out.getvalue(), err.getvalue())


def cli_process(db_url: str, *args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess:
    """``python -m dashboard *args`` against ``db_url`` as a real process."""
    return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=REPO, input=input,
                          env={**os.environ, "DASHBOARD_DATABASE_URL": db_url, **env}, capture_output=True, text=True,
                          timeout=180)

"""Timings of the server's script runs, for ``bench/login_trace.py``: off unless asked for.

With ``DASHBOARD_TRACE_RUNS=/path/file.jsonl`` in the server's environment every timed part
(a script run and its page, the idle-logoff fragment, the password check, the review's parts)
appends one JSON line: what, the wall-clock start (seconds since the epoch, so the trace can lay
it beside the browser's clock on the same machine), its seconds, and how it ended (``rerun``
when ``st.rerun`` cut it short). Nothing is written, and nothing is timed, without the variable.
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager

ENV = "DASHBOARD_TRACE_RUNS"
_lock = threading.Lock()


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def note(what: str, start: float, seconds: float, **detail) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"what": what, "start": round(start, 4), "s": round(seconds, 4),
                       "thread": threading.current_thread().name, **detail}, default=str)
    with _lock, open(path, "a", encoding="utf-8") as out:
        out.write(line + "\n")


@contextmanager
def timed(what: str, **detail):
    """Time the block; ``detail`` may be filled in by the block (e.g. the page chosen)."""
    if not enabled():
        yield detail
        return
    start, t0 = time.time(), time.perf_counter()
    ended = "done"
    try:
        yield detail
    except BaseException as exc:  # st.rerun / st.stop end a run by raising: say which
        ended = type(exc).__name__
        raise
    finally:
        note(what, start, time.perf_counter() - t0, ended=ended, **detail)

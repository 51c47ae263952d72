"""Simulated clinicians against a running server, over Streamlit's own websocket protocol.

    .venv/bin/python bench/clinicians.py --base 127.0.0.1:8501 [--clinicians 20] [--rounds 4]
                                         [--think 2-6] [--server-pid PID] [--json FILE]

Each clinician is what a browser sends and receives, without a browser (so 20 of them do not
compete with the server for this machine's two cores): a websocket to ``/_stcore/stream``,
``BackMsg.rerun_script`` messages carrying the page, the query string and widget states (the
login form, as a person fills it), and the ``ForwardMsg`` stream back. A page counts as done
("idle") at the ``script_finished`` message that ends a run successfully; an error is a run
that shows an exception element, a run that does not finish within ``--timeout``, or a
connection the server closes. Think time between pages is drawn uniformly from ``--think``.

Not simulated: the browser's drawing (bench/review_page.py measures that in Chromium) and the
idle-logoff fragment's automatic reruns (one cheap query a minute per open page).

Memory per idle session: the server's resident memory (``/proc/PID/status`` VmRSS, with
``--server-pid``) before and after ``--idle-sessions`` logged-in sessions sit on the home page,
divided by their number.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FINISHED_OK = 0  # ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
COMPILE_ERROR = 1


@dataclass
class Run:
    seconds: float
    received_bytes: int
    exceptions: int
    elements: list = field(default_factory=list)
    pages: dict = field(default_factory=dict)


class Session:
    """One browser tab's conversation with the server."""

    def __init__(self, ws, timeout: float):
        self.ws, self.timeout, self.pages = ws, timeout, {}
        self.page_hash, self.page_name, self.query = "", "", ""

    @classmethod
    async def open(cls, base: str, timeout: float) -> "Session":
        import websockets

        ws = await websockets.connect(f"ws://{base}/_stcore/stream", subprotocols=["streamlit"], max_size=None,
                                      open_timeout=timeout)
        return cls(ws, timeout)

    async def run(self, *, query: str | None = None, page: str | None = None, widgets=()) -> Run:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if page is not None:
            self.page_name, self.page_hash = page, self.pages.get(page, "")
        if query is not None:
            self.query = query
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string, state.page_script_hash, state.page_name = self.query, self.page_hash, self.page_name
        state.widget_states.widgets.extend(widgets)
        started = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        return await asyncio.wait_for(self._until_finished(started), self.timeout)

    async def _until_finished(self, started: float) -> Run:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        run = Run(0.0, 0, 0)
        while True:
            data = await self.ws.recv()
            run.received_bytes += len(data)
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "new_session":  # a script run begins (again, after st.rerun): its page only
                run.elements, run.exceptions = [], 0
            elif kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                run.elements.append(element)
                run.exceptions += element.WhichOneof("type") == "exception"
            elif kind == "script_finished" and msg.script_finished in (FINISHED_OK, COMPILE_ERROR):
                run.seconds = time.perf_counter() - started
                run.exceptions += msg.script_finished == COMPILE_ERROR
                return run

    async def log_in(self, username: str, password: str) -> Run:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        form = await self.run(query="", page="")
        ids = {}
        for element in form.elements:
            kind = element.WhichOneof("type")
            if kind in ("text_input", "button"):
                widget = getattr(element, kind)
                ids[widget.label] = widget.id
        missing = {"User name", "Password", "Log in"} - set(ids)
        if missing:
            raise RuntimeError(f"the login form lacks {sorted(missing)}")
        done = await self.run(widgets=[WidgetState(id=ids["User name"], string_value=username),
                                       WidgetState(id=ids["Password"], string_value=password),
                                       WidgetState(id=ids["Log in"], trigger_value=True)])
        if self.shows_login_form(done) or "review" not in self.pages:
            raise RuntimeError(f"login refused for {username}")
        return done

    @staticmethod
    def shows_login_form(run: Run) -> bool:
        return any(e.WhichOneof("type") == "text_input" and e.text_input.label == "User name" for e in run.elements)

    async def close(self) -> None:
        await self.ws.close()


def _rss_kb(pid: int | None) -> int | None:
    if not pid:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


async def _clinician(n: int, base: str, account: tuple[str, str, list[str]], rounds: int, think: tuple[float, float],
                     timeout: float, seed: int, out: dict) -> None:
    username, password, refs = account
    rnd = random.Random(seed + n)
    await asyncio.sleep(rnd.uniform(0, think[1]))  # they do not all arrive in the same millisecond
    session = None
    try:
        session = await Session.open(base, timeout)
        login = await session.log_in(username, password)
        out["login"].append(login.seconds)
        out["errors"] += login.exceptions
        for _ in range(rounds):
            await asyncio.sleep(rnd.uniform(*think))
            run = await session.run(query=f"patient={rnd.choice(refs)}", page="review")
            out["review"].append(run.seconds)
            out["per_server"][base] = out["per_server"].get(base, 0) + 1
            out["bytes"].append(run.received_bytes)
            logged_out = session.shows_login_form(run)
            out["errors"] += run.exceptions + logged_out
            if run.exceptions or logged_out:
                out["error_detail"].append(f"clinician {n}: " + ("an exception on the review page" if run.exceptions
                                                                 else "the login form instead of the review"))
    except Exception as exc:  # noqa: BLE001 - every failure is an error of the run, counted and named
        out["errors"] += 1
        out["error_detail"].append(f"clinician {n}: {exc.__class__.__name__}: {str(exc)[:200]}")
    finally:
        if session is not None:
            await session.close()


async def _idle_sessions(base: str, account: tuple[str, str, list[str]], count: int, timeout: float,
                         pid: int | None) -> dict:
    before = _rss_kb(pid)
    sessions = []
    try:
        for _ in range(count):
            session = await Session.open(base, timeout)
            await session.log_in(account[0], account[1])
            sessions.append(session)
        await asyncio.sleep(2)
        after = _rss_kb(pid)
    finally:
        for session in sessions:
            await session.close()
    per = None if before is None or after is None else (after - before) / count / 1024
    return {"sessions": count, "rss_before_mb": before and before / 1024, "rss_after_mb": after and after / 1024,
            "mb_per_idle_session": per}


async def simulate(base: str | list[str], accounts: list[tuple[str, str, list[str]]], *, clinicians: int = 20,
                   rounds: int = 4, think: tuple[float, float] = (2.0, 6.0), timeout: float = 120.0, seed: int = 7,
                   server_pid: int | None = None, idle_sessions: int = 10) -> dict:
    """``accounts``: (username, password, patient refs that account may open), used in turn.

    ``base``: one server, or several server processes of one deployment; clinician n stays on
    server n mod k for the whole visit, as the reverse proxy's sticky route cookie keeps a
    browser on one (deploy/nginx). Memory is measured on the first server (``server_pid``).
    """
    bases = [base] if isinstance(base, str) else list(base)
    out = {"login": [], "review": [], "bytes": [], "errors": 0, "error_detail": [], "per_server": {}}
    # Warm each server's imports and caches once, as a clinic's first user of the morning would.
    for server in bases:
        session = await Session.open(server, timeout)
        await session.log_in(accounts[0][0], accounts[0][1])
        await session.run(query=f"patient={accounts[0][2][0]}", page="review")
        await session.close()
    memory = await _idle_sessions(bases[0], accounts[0], idle_sessions, timeout, server_pid)
    started = time.perf_counter()
    await asyncio.gather(*(_clinician(n, bases[n % len(bases)], accounts[n % len(accounts)], rounds, think, timeout,
                                      seed, out) for n in range(clinicians)))
    wall = time.perf_counter() - started
    pages = out["review"]
    return {
        "clinicians": clinicians, "servers": len(bases), "pages_per_server": [out["per_server"].get(b, 0) for b in bases],
        "rounds": rounds, "think_s": list(think),
        "wall_s": round(wall, 1),
        "pages": len(pages), "errors": out["errors"], "error_detail": out["error_detail"][:20],
        "review_p50_s": percentile(pages, 50), "review_p95_s": percentile(pages, 95),
        "review_max_s": max(pages) if pages else None,
        "login_p50_s": percentile(out["login"], 50), "login_p95_s": percentile(out["login"], 95),
        "review_kb_median": statistics.median(out["bytes"]) / 1024 if out["bytes"] else None,
        "memory": memory,
    }


def run(base: str, accounts: list[tuple[str, str, list[str]]], **options) -> dict:
    """``simulate`` from synchronous code, in a thread of its own: the caller's thread may already
    run an event loop (Playwright's synchronous API does), where ``asyncio.run`` is refused."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, simulate(base, accounts, **options)).result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="host:port of a running dashboard")
    parser.add_argument("--account", action="append", required=True, metavar="USER:PASSWORD:REF[,REF...]")
    parser.add_argument("--clinicians", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--think", default="2-6", help="seconds between pages, low-high")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    accounts = []
    for text in args.account:
        user, password, refs = text.split(":", 2)
        accounts.append((user, password, refs.split(",")))
    low, high = (float(x) for x in args.think.split("-"))
    result = run(args.base, accounts, clinicians=args.clinicians, rounds=args.rounds,
                 think=(low, high), timeout=args.timeout, server_pid=args.server_pid)
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Where the time goes from a patient's address, through the Log in click, to every chart drawn.

    .venv/bin/python bench/login_trace.py [--patients DEMO-001,BENCH-3Y] [--database URL] [--json FILE]

A script, not a test. It builds the demo clinic and the 3-year twice-daily patient (BENCH-3Y,
bench/review_page.py), starts ``streamlit run dashboard/server.py`` with ``DASHBOARD_TRACE_RUNS``
(dashboard/trace.py: every script run, its page, the password check, the review's parts and the
idle-logoff fragment, timed on the server), opens one patient once on a warm-up tab, then each
patient in a new browser context (no cookie: the login form) in Debian's Chromium, and lays on one
clock (the wall clock of this machine):

* the browser: navigation start, the login form shown, the click, each Plotly chart's container
  and its drawn plot (``.js-plotly-plot .main-svg``), Streamlit's run marks, the scripts fetched
  (Plotly's bundle is fetched the first time a page has a chart);
* the server: each script run (which page, how it ended: ``RerunException`` is an ``st.rerun``)
  and its timed parts;
* the websocket: each message received (Streamlit's ``ForwardMsg``, decoded: which element a delta
  carries and its size) and each one sent.

Prints, per patient, "address -> every chart drawn" and "Log in click -> every chart drawn", and a
breakdown of the second; ``--timeline`` prints every event. Quote the load average with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import review_page  # noqa: E402  (bench/ is a folder of scripts, not a package)

TARGET_CLICK_S = 1.5
TARGET_ADDRESS_S = 2.5
QUIET_MS = 1000
DEFAULT_PATIENTS = ("DEMO-001", "DEMO-002", "DEMO-003", "DEMO-004", "DEMO-005", "DEMO-006", "DEMO-007",
                    "DEMO-008", "DEMO-009", review_page.BENCH_REF)
WARMUP = ("DEMO-002", "dr.rivera")

# Per chart container (in page order): when it appeared and when its plot was drawn, on the page's clock.
SAMPLER = """
(() => {
  if (window.__trace) return;
  const T = window.__trace = {charts: [], loginShownAt: null, changeAt: 0};
  const sample = () => {
    const now = performance.now();
    if (T.loginShownAt === null && document.querySelector('input[type="password"]')) T.loginShownAt = now;
    document.querySelectorAll('[data-testid="stPlotlyChart"]').forEach((c) => {
      if (c.closest('[data-stale="true"]')) return;
      if (!c.__traceId) { c.__traceId = T.charts.length + 1; T.charts.push({seen: now, drawn: null}); T.changeAt = now; }
      const rec = T.charts[c.__traceId - 1];
      if (rec.drawn === null && c.querySelector('.js-plotly-plot .main-svg')) { rec.drawn = now; T.changeAt = now; }
    });
  };
  setInterval(sample, 10);
})();
"""

SNAPSHOT = """
() => {
  const T = window.__trace;
  const marks = performance.getEntriesByType('mark').filter(m => m.name === 'running' || m.name === 'notRunning')
    .map(m => [m.name, m.startTime]);
  const scripts = performance.getEntriesByType('resource').filter(r => r.initiatorType === 'script'
    || r.name.endsWith('.js')).map(r => [r.name.split('/').pop(), r.startTime, r.responseEnd, r.encodedBodySize]);
  return {origin: performance.timeOrigin, now: performance.now(), charts: T.charts, loginShownAt: T.loginShownAt,
          changeAt: T.changeAt, marks, scripts,
          running: !!(marks.length && marks[marks.length - 1][0] === 'running'),
          password: !!document.querySelector('input[type="password"]'),
          errors: document.querySelectorAll('[data-testid="stException"]').length};
}
"""


class Socket:
    """Every websocket message, stamped with the wall clock, decoded when it is a ForwardMsg."""

    def __init__(self, page):
        self.received: list[tuple[float, int, str]] = []
        self.sent: list[tuple[float, int]] = []
        page.on("websocket", lambda ws: (ws.on("framereceived", self._in), ws.on("framesent", self._out)))

    def _in(self, payload) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        self.received.append((time.time(), len(data), kind(data)))

    def _out(self, payload) -> None:
        self.sent.append((time.time(), len(payload)))


def kind(data: bytes) -> str:
    """What a ForwardMsg carries: its type, and for a new element the element's type."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = ForwardMsg()
    try:
        msg.ParseFromString(data)
    except Exception:  # noqa: BLE001 - a frame that is not a ForwardMsg is named as such
        return "?"
    what = msg.WhichOneof("type") or "?"
    if what == "delta":
        delta = msg.delta.WhichOneof("type")
        if delta == "new_element":
            return f"element:{msg.delta.new_element.WhichOneof('type')}"
        return f"delta:{delta}"
    return what


def _cpu(cdp) -> dict:
    wanted = {"TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration"}
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] in wanted}


PROFILE = False  # --profile: the browser's JavaScript time after the click, by script and function


def _by_script(profile: dict) -> dict:
    """Self time of a CPU profile by script file, and the ten costliest functions."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    ticks = Counter(profile.get("samples", []))
    deltas = profile.get("timeDeltas", [])
    tick_s = (sum(deltas) / len(deltas) / 1e6) if deltas else 0.001
    files, funcs = Counter(), Counter()
    for node_id, count in ticks.items():
        frame = nodes[node_id]["callFrame"]
        name = frame.get("url", "").split("/").pop() or f"({frame.get('functionName') or 'program'})"
        files[name] += count * tick_s
        funcs[f"{frame.get('functionName') or '?'} {name}"] += count * tick_s
    return {"files": {k: round(v, 3) for k, v in files.most_common(10)},
            "functions": {k: round(v, 3) for k, v in funcs.most_common(12)}}


def server_events(path: Path, since: float) -> list[dict]:
    if not path.exists():
        return []
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [e for e in events if e["start"] >= since]


def expected_charts(url: str, ref: str, username: str) -> int:
    from dashboard.auth.accounts import resolve_user
    from dashboard.db.session import session_scope

    with session_scope(url) as session:
        user = resolve_user(session, username)
    at = review_page._apptest(user, ref)
    at.run()
    return len(at.get("plotly_chart"))


def open_patient(context, base: str, ref: str, username: str, password: str, expected: int,
                 trace_file: Path) -> dict:
    page = context.new_page()
    page.bring_to_front()
    socket = Socket(page)
    cdp = context.new_cdp_session(page)  # the browser's own CPU split: script, layout, style
    cdp.send("Performance.enable")
    wall_before = time.time()
    page.goto(f"{base}/review?patient={ref}", wait_until="commit")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    at_click = _cpu(cdp)
    if PROFILE:
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
        cdp.send("Profiler.start")
    click_at = page.evaluate("() => performance.now()")
    page.get_by_role("button", name="Log in").click()
    deadline = time.time() + 120
    while True:
        snap = page.evaluate(SNAPSHOT)
        drawn = [c for c in snap["charts"] if c["drawn"] is not None]
        done = (not snap["password"] and not snap["running"] and len(drawn) >= expected
                and len(drawn) == len(snap["charts"]) and snap["now"] - snap["changeAt"] >= QUIET_MS)
        if done or snap["errors"] or time.time() > deadline:
            break
        time.sleep(0.05)
    at_end = _cpu(cdp)
    profile = _by_script(cdp.send("Profiler.stop")["profile"]) if PROFILE else None
    page.close()
    origin = snap["origin"] / 1000  # the page's clock -> the wall clock

    def wall(ms):
        return None if ms is None else origin + ms / 1000

    click = wall(click_at)
    all_drawn = max((c["drawn"] for c in snap["charts"] if c["drawn"] is not None), default=None)
    return {
        "browser_cpu_after_click_s": {k: round(at_end[k] - at_click.get(k, 0), 3) for k in at_end},
        "js_self_time_by_script_s": profile,
        "ref": ref, "user": username, "expected_charts": expected, "errors": snap["errors"],
        "timed_out": not done, "origin": origin, "click": click,
        "address_to_drawn_s": None if all_drawn is None else round(all_drawn / 1000, 3),
        "click_to_drawn_s": None if all_drawn is None else round(wall(all_drawn) - click, 3),
        "login_shown_s": None if snap["loginShownAt"] is None else round(snap["loginShownAt"] / 1000, 3),
        "charts": [{"seen": round(wall(c["seen"]) - click, 3),
                    "drawn": None if c["drawn"] is None else round(wall(c["drawn"]) - click, 3)} for c in snap["charts"]],
        "marks": [[name, round(wall(t) - click, 3)] for name, t in snap["marks"]],
        "scripts": [[name, round(wall(a) - click, 3), round(wall(b) - click, 3), size]
                    for name, a, b, size in snap["scripts"]],
        "received": [[round(t - click, 3), n, what] for t, n, what in socket.received],
        "sent": [[round(t - click, 3), n] for t, n in socket.sent],
        "server": [{**e, "start": round(e["start"] - click, 3)} for e in server_events(trace_file, wall_before)],
    }


def breakdown(r: dict) -> dict:
    """The Log in click's seconds, split: server runs, their parts, bytes, the browser's drawing."""
    after = [e for e in r["server"] if e["start"] >= -0.05]
    runs = [e for e in after if e["what"] == "run"]
    parts = Counter()
    for e in after:
        if e["what"] != "run":
            parts[e["what"]] += e["s"]
    received = [m for m in r["received"] if m[0] >= 0]
    by_kind = Counter()
    for _t, n, what in received:
        by_kind[what] += n
    drawn = [c["drawn"] for c in r["charts"] if c["drawn"] is not None]
    last_run_end = max((e["start"] + e["s"] for e in runs), default=None)
    last_frame = max((m[0] for m in received), default=None)
    plotly = [s for s in r["scripts"] if s[2] >= 0 and "plotly" in s[0].lower()]
    return {
        "runs": [f"{e.get('page', '?')}: +{e['start']:.2f} s, {e['s']:.2f} s, {e['ended']}" for e in runs],
        "server_run_s": round(sum(e["s"] for e in runs), 3),
        "parts_s": {k: round(v, 3) for k, v in parts.items()},
        "idle_fragment_runs": sum(1 for e in after if e["what"] == "idle fragment"),
        "last_run_end_s": None if last_run_end is None else round(last_run_end, 3),
        "ws_received": {"messages": len(received), "bytes": sum(m[1] for m in received),
                        "last_at_s": last_frame, "biggest": by_kind.most_common(6)},
        "ws_sent": len([m for m in r["sent"] if m[0] >= 0]),
        "plotly_bundle": plotly,
        "first_chart_drawn_s": min(drawn, default=None),
        "last_chart_drawn_s": max(drawn, default=None),
        "drawing_after_last_message_s": None if not drawn or last_frame is None else round(max(drawn) - last_frame, 3),
    }


FLOOR = """
() => {
  const idle = performance.getEntriesByType('mark').filter(m => m.name === 'notRunning').map(m => m.startTime);
  const title = document.querySelector('h1');
  return {shown: !!title && idle.length > 0, at: idle.length ? idle[idle.length - 1] : null};
}
"""


def empty_page(browser, workdir: Path, url: str) -> dict:
    """The floor: ``bench/empty_page.py`` served by Streamlit, in the same browser, from its address
    to its one run finished with its title on screen (seconds from the navigation's start)."""
    proc, base = review_page.start_server(url, workdir / "empty.log", app=BENCH / "empty_page.py")
    try:
        runs = []
        for _ in range(2):  # the first also fills the browser's cache of Streamlit's scripts: the second is the floor
            context = browser.new_context(viewport=review_page.VIEWPORT)
            page = context.new_page()
            page.bring_to_front()
            page.goto(base, wait_until="commit")
            page.wait_for_function(f"({FLOOR})().shown", timeout=60_000, polling=20)
            runs.append(round(page.evaluate(FLOOR)["at"] / 1000, 3))
            context.close()
        return {"shown_s": runs[-1], "cold_cache_s": runs[0]}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run(url: str, patients: list[str], workdir: Path, timeline: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    from dashboard.demo import DEMO_ACCOUNTS, STORIES

    password = {u: p for u, _n, _r, p in DEMO_ACCOUNTS}
    owner = {s.ref: s.shared_with[0] for s in STORIES}
    owner[review_page.BENCH_REF] = review_page.USERNAME
    expected = {ref: expected_charts(url, ref, owner[ref]) for ref in [WARMUP[0], *patients]}
    trace_file = workdir / "trace.jsonl"
    os.environ["DASHBOARD_TRACE_RUNS"] = str(trace_file)
    proc, base = review_page.start_server(url, workdir / "server.log")
    results = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=review_page.CHROMIUM, args=review_page.CHROMIUM_ARGS)
            context = browser.new_context(viewport=review_page.VIEWPORT)
            context.add_init_script(SAMPLER)
            print(f"warm-up: {WARMUP[0]} ...", flush=True)
            warm = open_patient(context, base, WARMUP[0], WARMUP[1], password[WARMUP[1]], expected[WARMUP[0]],
                                trace_file)
            context.close()
            for ref in patients:
                context = browser.new_context(viewport=review_page.VIEWPORT)  # no cookie: the login form
                context.add_init_script(SAMPLER)
                r = open_patient(context, base, ref, owner[ref], password[owner[ref]], expected[ref], trace_file)
                context.close()
                r["breakdown"] = breakdown(r)
                results.append(r)
                print(summary_line(r), flush=True)
                if timeline:
                    print(timeline_text(r))
            floor = empty_page(browser, workdir, url)
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        os.environ.pop("DASHBOARD_TRACE_RUNS", None)
    return {"warmup": {k: warm[k] for k in ("ref", "address_to_drawn_s", "click_to_drawn_s")}, "patients": results,
            "floor": floor, "worst_click_s": max((r["click_to_drawn_s"] or 99) for r in results),
            "worst_address_s": max((r["address_to_drawn_s"] or 99) for r in results),
            "targets_s": {"click": TARGET_CLICK_S, "address": TARGET_ADDRESS_S}}


def summary_line(r: dict) -> str:
    b = r["breakdown"]
    flag = " TIMED OUT" if r["timed_out"] else (" ERRORS" if r["errors"] else "")
    return (f"{r['ref']:<9} address->drawn {r['address_to_drawn_s']} s, click->drawn {r['click_to_drawn_s']} s "
            f"({len(r['charts'])}/{r['expected_charts']} charts){flag}; server runs {b['runs']}; parts "
            f"{b['parts_s']}; browser CPU {r['browser_cpu_after_click_s']}; received {b['ws_received']['messages']} msgs {b['ws_received']['bytes'] / 1e3:.0f} kB, "
            f"last at {b['ws_received']['last_at_s']} s; charts drawn {b['first_chart_drawn_s']}..{b['last_chart_drawn_s']} s")


def timeline_text(r: dict) -> str:
    rows = [(0.0, "click", "Log in")]
    rows += [(e["start"], "server", f"{e['what']} {e.get('page', '')} {e['s']:.3f} s {e['ended']}") for e in r["server"]]
    rows += [(t, "ws in", f"{n:>8} B {what}") for t, n, what in r["received"] if n > 200 or not what.startswith("delta")]
    rows += [(t, "ws out", f"{n:>8} B") for t, n in r["sent"]]
    rows += [(t, "mark", name) for name, t in r["marks"]]
    rows += [(a, "script", f"{name} fetched by {b:+.3f} ({size} B)") for name, a, b, size in r["scripts"] if b >= -0.1]
    for i, c in enumerate(r["charts"], 1):
        rows.append((c["seen"], "chart", f"#{i} container"))
        if c["drawn"] is not None:
            rows.append((c["drawn"], "chart", f"#{i} drawn"))
    return "\n".join(f"  {t:+8.3f}  {who:<7} {what}" for t, who, what in sorted(rows, key=lambda x: x[0]) if t > -1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", default=",".join(DEFAULT_PATIENTS))
    parser.add_argument("--database", metavar="URL", help="a clinic built by review_page.build_database (reused)")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--timeline", action="store_true", help="print every event of each patient")
    parser.add_argument("--profile", action="store_true", help="profile the browser's JavaScript after the click")
    args = parser.parse_args(argv)
    global PROFILE
    PROFILE = args.profile
    workdir = Path(tempfile.mkdtemp(prefix="login-trace-"))
    url = args.database or f"sqlite:///{workdir / 'bench.sqlite'}"
    os.environ["DASHBOARD_DATABASE_URL"] = url
    os.environ.pop("DASHBOARD_DEMO", None)
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    load = [round(x, 2) for x in os.getloadavg()]
    try:
        review_page.build_database(url)
        result = {"machine": review_page.machine(), **run(url, args.patients.split(","), workdir, args.timeline)}
    finally:
        if not args.database:
            shutil.rmtree(workdir, ignore_errors=True)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\nload average {load} -> {result['machine']['load_average_at_end']}; worst click->drawn "
          f"{result['worst_click_s']} s (target {TARGET_CLICK_S}), worst address->drawn {result['worst_address_s']} s "
          f"(target {TARGET_ADDRESS_S}); an empty Streamlit page, address to shown: {result['floor']['shown_s']} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How fast the patient review page opens, on the server and in a real browser.

    .venv/bin/python bench/review_page.py [--json FILE] [--repeat N] [--database URL]
                                          [--skip-apptest] [--skip-browser]

A script, not a test: it prints a table and writes the figures as JSON (default
``bench/results/review_page-<git short sha>.json``) so that a change can quote before and
after numbers. It imports the ``dashboard`` package of the checkout it lives in, so a copy
in another worktree measures that worktree's code.

The database is the demo clinic (``build_demo``, seed 7) plus one heavy patient, BENCH-3Y:
three years of diary, two or three entries a day, 25 mg twice daily stepping up at visits
every 4-6 weeks, two infusions, shared with dr.rivera. It is built by the demo generator
(a :class:`~dashboard.demo.stories.Story` defined here, written through the one writer).

Server side (``streamlit.testing.v1.AppTest``, in this process, logged in as dr.rivera):

* ``first``: the review page for a patient in a process that has already run the app for
  another patient (imports warm), with ``st.cache_data`` and ``st.cache_resource`` cleared (this patient's caches cold);
* ``rerun``: ``at.run()`` again, nothing changed;
* ``as_of``: the sidebar "as of" date (key ``as_of``) set 30 days earlier, then run;
* ``empty``: the review page without a patient (the page's fixed cost);
* ``summary``: ``patient_summary`` (what ``python -m dashboard summary REF --json`` prints)
  and the CLI function itself in-process (it also migrates and audits).

Browser side (``python -m streamlit run dashboard/server.py`` + Playwright/Chromium, 1366x768):
see :data:`DRAWN_CRITERION`. Each figure is the median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# This checkout's package, whatever the current directory or another checkout's installs say.
sys.path.insert(0, str(REPO))

APP = REPO / "dashboard" / "app.py"  # AppTest runs the script
SERVER = REPO / "dashboard" / "server.py"  # what `python -m dashboard run` serves: st.App with the cookie route
RESULTS = Path(__file__).resolve().parent / "results"
BENCH_REF = "BENCH-3Y"
DEMO_REF = "DEMO-001"
WARMUP_REF = "DEMO-002"  # the patient the process opens first, so imports are warm for the others
USERNAME = "dr.rivera"
AS_OF_BACK_DAYS = 30
CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}
QUIET_MS = 1500  # how long nothing may change before the page counts as finished
BROWSER_TIMEOUT_MS = 180_000

DRAWN_CRITERION = (
    "The page counts as drawn when (1) Streamlit's status widget shows no run in progress "
    "(no [data-testid=stStatusWidget] element, or one without a visible running/stop control), "
    "(2) every Plotly chart container Streamlit put on the page "
    "([data-testid=stPlotlyChart]) holds a drawn plot (.js-plotly-plot with a .main-svg), "
    "(3) at least as many charts are drawn as the same page builds under AppTest for that patient "
    "(Streamlit loads the Plotly component lazily, so a chart can appear well after the script has "
    "finished), and (4) neither the number of containers, nor the number of "
    "drawn plots, nor the running state has changed for QUIET_MS. An in-page sampler "
    "(every 20 ms, installed before the app's own scripts) timestamps the last change; the figure "
    "reported is that last change, measured from the start of the navigation, so the quiet "
    "window itself is not counted. Headings and texts are never looked at."
)


# --------------------------------------------------------------------------- database

def bench_story():
    """BENCH-3Y: three years, 2-3 entries a day, 25 mg twice daily stepping up, two infusions."""
    from dashboard.demo.stories import Infusion, Step, Story

    bid = "twice daily"
    plan = (
        Step(25, bid), None, Step(30, bid), None, Step(35, bid), None, None,
        Infusion(35, resume=Step(35, bid)), Step(40, bid), None, None, Step(50, bid, note="still 5-6 at 40 mg"),
        None, None, Infusion(40, resume=Step(50, bid)), None, Step(60, bid), None, None, None,
        Step(75, bid, note="pain creeping up again; try 75 mg twice daily"), None, None,
    )
    return Story(
        ref=BENCH_REF, name="Benchmark Patient", birth_year=1971,
        condition="Complex regional pain syndrome type II, left foot (benchmark patient)",
        span_days=1095, baseline_pain=7.2, missing=0.03, slots=(0.0, 0.6, 0.4),
        relief={50: 0.08, 60: 0.14, 70: 0.2, 80: 0.26, 100: 0.33, 120: 0.4, 150: 0.46},
        plan=plan, infusion_boost=0.25,
        effect_load={"dizziness": 0.6, "drowsiness": 0.6, "dissociation": 0.5, "brain_fog": 0.4, "nausea": 0.3,
                     "bladder": 0.1},
        bp_readings=0.3, peg=True, records_worst=True,
        features={"plain_text_note": 1, "late_entry": 3, "low_mood": 9},
        other_medication="gabapentin 300 mg", shared_with=(USERNAME,),
    )


@contextlib.contextmanager
def _visits_every_4_to_6_weeks():
    """The demo's calendar spaces visits 4-8 weeks apart; this patient is seen every 4-6."""
    from dashboard.demo import timeline

    old = getattr(timeline, "VISIT_GAP_DAYS", None)
    if old is not None:
        timeline.VISIT_GAP_DAYS = (28, 42)
    try:
        yield
    finally:
        if old is not None:
            timeline.VISIT_GAP_DAYS = old


def add_bench_patient(session, *, seed: int = 7, today: date | None = None) -> dict:
    from sqlalchemy import select

    from dashboard.db.models import Clinician, Patient, PatientShare
    from dashboard.demo.clinic import patient_files
    from dashboard.ingest.writer import write_import

    story = bench_story()
    with _visits_every_4_to_6_weeks():
        files = patient_files(story, 99, seed, today or date.today())
    counts = {"entries": 0, "steps": 0, "visits": 0}
    for parsed, raw in files:
        counts["steps"] += len(parsed.steps)
        counts["visits"] += len(parsed.visits)
        report = write_import(session, parsed, raw=raw, imported_by="bench")
        if report.status != "imported":
            raise RuntimeError(f"{parsed.file_name} was not imported: {report.message}")
        counts["entries"] += report.entries_added
    patient_id = session.scalar(select(Patient.id).where(Patient.ref == BENCH_REF))
    for username in story.shared_with:
        clinician_id = session.scalar(select(Clinician.id).where(Clinician.username == username))
        session.add(PatientShare(clinician_id=clinician_id, patient_id=patient_id,
                                 shared_at=datetime.now(timezone.utc).replace(tzinfo=None)))
    session.flush()
    return {"ref": BENCH_REF, "diary_days": story.span_days, **counts}


def build_database(url: str) -> dict:
    """Migrate, then the demo clinic and BENCH-3Y; an existing database that has BENCH-3Y is reused."""
    from sqlalchemy import select

    from dashboard.db.models import Patient
    from dashboard.db.session import migrate, session_scope
    from dashboard.demo import build_demo

    t0 = time.perf_counter()
    migrate(url)
    with session_scope(url) as session:
        if session.scalar(select(Patient.id).where(Patient.ref == BENCH_REF)) is not None:
            return {"reused": True}
    with session_scope(url) as session:
        demo = build_demo(session, seed=7)
    with session_scope(url) as session:
        bench = add_bench_patient(session, seed=7, today=date.fromisoformat(demo["today"]))
    return {"reused": False, "demo": demo, "bench_patient": bench, "build_s": round(time.perf_counter() - t0, 2)}


# --------------------------------------------------------------------------- helpers

def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 4) if values else None


def figure(runs: list[float | None], **extra) -> dict:
    """A measured case: the median and every run, in seconds (None: the run failed)."""
    return {"median_s": median(runs), "runs_s": [None if r is None else round(r, 4) for r in runs], **extra}


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True)
        return done.stdout.rstrip()  # porcelain lines start with a space: keep it
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine() -> dict:
    import pandas
    import plotly
    import streamlit

    dirty = [line[3:] for line in _git("status", "--porcelain").splitlines() if not line[3:].startswith("bench/")]
    return {
        "nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "git_sha": _git("rev-parse", "--short", "HEAD") or "unknown", "git_subject": _git("log", "-1", "--format=%s"),
        "uncommitted_files_outside_bench": dirty, "checkout": str(REPO),
        "streamlit": streamlit.__version__, "plotly": plotly.__version__, "pandas": pandas.__version__,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        # Other work on the machine moves these figures a lot: quote them with the load.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _first_error(at) -> str | None:
    errors = [e.value if hasattr(e, "value") else str(e) for e in at.exception]
    return str(errors[0]).splitlines()[0][:300] if errors else None


# --------------------------------------------------------------------------- server side (AppTest)

def _apptest(user, patient: str | None):
    from streamlit.testing.v1 import AppTest
    from streamlit.util import calc_hash

    at = AppTest.from_file(str(APP), default_timeout=600)
    at.session_state["user"] = user
    if patient is not None:
        at.query_params["patient"] = patient
    at._page_hash = calc_hash("review")  # what /review asks for (tests/app/conftest.py does the same)
    return at


def _timed_run(at) -> float:
    t0 = time.perf_counter()
    at.run()
    return time.perf_counter() - t0


def _as_of_widget(at):
    try:
        return at.date_input(key="as_of")
    except (KeyError, IndexError):
        return None


def measure_patient_server(user, ref: str, repeat: int) -> dict:
    import streamlit as st

    first, rerun, as_of, errors, charts = [], [], [], [], None
    for _ in range(repeat):
        st.cache_data.clear()  # this patient's caches cold; imports stay warm
        st.cache_resource.clear()  # the computed review is kept there
        at = _apptest(user, ref)
        first.append(_timed_run(at))
        charts = len(at.get("plotly_chart"))
        errors.append(_first_error(at))
        rerun.append(_timed_run(at))
        widget = _as_of_widget(at)
        if widget is None:
            errors.append("no date_input with key 'as_of' on the page")
            as_of.append(None)
            continue
        widget.set_value((widget.value or date.today()) - timedelta(days=AS_OF_BACK_DAYS))
        as_of.append(_timed_run(at))
        errors.append(_first_error(at))
    return {"first": figure(first), "rerun": figure(rerun), "as_of": figure(as_of),
            "plotly_charts": charts, "errors": sorted({e for e in errors if e})}


def measure_empty_server(user, repeat: int) -> dict:
    runs, errors = [], []
    for _ in range(repeat):
        at = _apptest(user, None)
        runs.append(_timed_run(at))
        errors.append(_first_error(at))
    return {"empty": figure(runs), "errors": sorted({e for e in errors if e})}


def measure_summary(url: str, ref: str, repeat: int) -> dict:
    from dashboard import cli
    from dashboard.stored.review import patient_summary
    from dashboard.db.session import session_scope

    function, command, sizes, codes = [], [], set(), set()
    for _ in range(repeat):
        t0 = time.perf_counter()
        with session_scope(url) as session:
            text = json.dumps(patient_summary(session, ref), ensure_ascii=False, indent=2)
        function.append(time.perf_counter() - t0)
        sizes.add(len(text))
        out = io.StringIO()
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(out):
            codes.add(cli.main(["summary", ref, "--json"]))
        command.append(time.perf_counter() - t0)
    return {"patient_summary": figure(function, json_chars=sorted(sizes)),
            "cli_summary": figure(command, exit_codes=sorted(codes),
                                  note="cli.main(['summary', REF, '--json']) in-process: also migrates and audits")}


def expected_charts(url: str, refs: list[str]) -> dict[str, int]:
    """How many Plotly charts the page builds for each patient (one AppTest run each)."""
    from dashboard.auth.accounts import resolve_user
    from dashboard.db.session import session_scope

    with session_scope(url) as session:
        user = resolve_user(session, USERNAME)
    counts = {}
    for ref in refs:
        at = _apptest(user, ref)
        at.run()
        counts[ref] = len(at.get("plotly_chart"))
    return counts


def run_server_side(url: str, refs: list[str], repeat: int) -> dict:
    from dashboard.auth.accounts import resolve_user
    from dashboard.db.session import session_scope

    with session_scope(url) as session:
        user = resolve_user(session, USERNAME)
    print(f"server side: warming the process up on {WARMUP_REF} ...", flush=True)
    warm = _apptest(user, WARMUP_REF)
    warmup_s = _timed_run(warm)
    out: dict = {"warmup": {"patient": WARMUP_REF, "seconds": round(warmup_s, 3), "error": _first_error(warm),
                            "plotly_charts": len(warm.get("plotly_chart"))}}
    for ref in refs:
        print(f"server side: {ref} ...", flush=True)
        out[ref] = measure_patient_server(user, ref, repeat)
        out[ref]["summary"] = measure_summary(url, ref, repeat)
    print("server side: empty review page ...", flush=True)
    out["empty_page"] = measure_empty_server(user, repeat)
    return out


# --------------------------------------------------------------------------- browser side

# Installed in every document before the app's scripts. Samples the page every 20 ms and
# timestamps (performance.now(), i.e. from the navigation's start) the last change of the
# charts and of the run state. Streamlit marks its run state with performance marks named
# 'running' / 'notRunning' (and a 'script-run-cycle' measure); 1.67 draws no status widget in
# this setup, so both are read and either counts as running.
SAMPLER = """
(() => {
  if (window.__bench) return;
  const S = window.__bench = {t0: 0, chartKey: null, stateKey: null, chartAt: 0, changeAt: 0, events: []};
  const fresh = (sel) => Array.from(document.querySelectorAll(sel)).filter(e => !e.closest('[data-stale="true"]'));
  S.snapshot = () => {
    const charts = fresh('[data-testid="stPlotlyChart"]');
    const drawn = charts.filter(c => c.querySelector('.js-plotly-plot .main-svg')).length;
    const marks = performance.getEntriesByType('mark').filter(m => m.name === 'running' || m.name === 'notRunning');
    const lastMark = marks.length ? marks[marks.length - 1] : null;
    const widget = document.querySelector('[data-testid="stStatusWidget"]');
    const widgetRunning = !!(widget && widget.querySelector('[data-testid="stStatusWidgetRunningIcon"], button'));
    return {
      charts: charts.length, drawn, svgs: document.querySelectorAll('.js-plotly-plot .main-svg').length,
      stale: document.querySelectorAll('[data-stale="true"]').length,
      running: widgetRunning || (lastMark !== null && lastMark.name === 'running'),
      lastIdle: marks.filter(m => m.name === 'notRunning').map(m => m.startTime).pop() ?? null,
      runsSinceT0: marks.filter(m => m.name === 'notRunning' && m.startTime >= S.t0).length,
      login: !!document.querySelector('input[type="password"]'),
      errors: document.querySelectorAll('[data-testid="stException"]').length,
    };
  };
  S.start = () => { S.t0 = performance.now(); S.chartAt = S.t0; S.changeAt = S.t0; S.events = []; return S.t0; };
  const sample = () => {
    const s = S.snapshot(), now = performance.now();
    const chartKey = `${s.charts}/${s.drawn}`, stateKey = `${s.stale}/${s.running}/${s.login}/${s.errors}`;
    if (chartKey !== S.chartKey) {
      S.chartKey = chartKey; S.chartAt = now; S.changeAt = now; S.events.push([Math.round(now), 'charts', chartKey]);
    }
    if (stateKey !== S.stateKey) {
      S.stateKey = stateKey; S.changeAt = now; S.events.push([Math.round(now), 'state', stateKey]);
    }
  };
  setInterval(sample, 20);
})();
"""

DONE = """
([quiet, expected]) => {
  const S = window.__bench;
  if (!S) return false;
  const s = S.snapshot();
  if (s.errors) return true;
  return s.runsSinceT0 > 0 && !s.running && !s.login && s.stale === 0 && s.drawn === s.charts
         && s.drawn >= expected && performance.now() - S.changeAt >= quiet;
}
"""

RESULT = """
() => {
  const S = window.__bench, s = S.snapshot();
  return {t0: S.t0, chartsAt: S.chartAt - S.t0, idleAt: s.lastIdle === null ? null : s.lastIdle - S.t0,
          charts: s.charts, drawn: s.drawn, svgs: s.svgs, errors: s.errors, events: S.events.slice(-40)};
}
"""


class Bytes:
    """Bytes received over the page's websockets (payload lengths), read as deltas."""

    def __init__(self, page):
        self.total = 0
        self.frames = 0
        page.on("websocket", self._socket)

    def _socket(self, ws) -> None:
        ws.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        self.frames += 1
        self.total += len(payload.encode() if isinstance(payload, str) else payload)

    def mark(self) -> tuple[int, int]:
        return self.total, self.frames


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, log_path: Path, app: Path = SERVER) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**{k: v for k, v in os.environ.items() if k != "STREAMLIT_LOGGER_LEVEL"},
           "DASHBOARD_DATABASE_URL": url, "DASHBOARD_DEMO": "",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process; a pipe nobody reads would stall the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"streamlit did not start: {log_path.read_text(errors='replace')[-2000:]}")


def _wait_drawn(page, counter: Bytes, bytes_before: tuple[int, int], expected: int,
                login_at: float | None = None) -> dict:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(DONE, arg=[QUIET_MS, expected], timeout=BROWSER_TIMEOUT_MS, polling=50)
        timed_out = False
    except PlaywrightTimeout:
        timed_out = True
    got = page.evaluate(RESULT)
    total, frames = counter.mark()
    out = {"charts_s": round(got["chartsAt"] / 1000, 3),
           "idle_s": None if got["idleAt"] is None else round(got["idleAt"] / 1000, 3),
           "charts": got["charts"], "drawn": got["drawn"], "plotly_svgs": got["svgs"],
           "ws_bytes": total - bytes_before[0], "ws_frames": frames - bytes_before[1],
           "timed_out": timed_out, "app_errors": got["errors"]}
    if login_at is not None:
        out["from_login_click_s"] = round((got["t0"] + got["chartsAt"] - login_at) / 1000, 3)
    if timed_out or got["errors"] or got["drawn"] < expected:
        out["events"] = got["events"]
    return out


def open_with_login(context, base: str, path: str, password: str, expected: int) -> dict:
    """A new tab on the URL: the login form, then the page it names (a reload loses the session).

    Times count from the navigation's start (the new document's time origin).
    """
    context.clear_cookies()  # a kept login (dashboard/server.py's cookie) would skip the form
    page = context.new_page()
    # A tab in the background gets throttled timers and no frames: Streamlit then leaves charts undrawn.
    page.bring_to_front()
    counter = Bytes(page)
    before = counter.mark()
    page.goto(f"{base}{path}", wait_until="commit")
    page.get_by_label("User name").fill(USERNAME)
    page.get_by_label("Password", exact=True).fill(password)
    login_at = page.evaluate("() => performance.now()")
    page.get_by_role("button", name="Log in").click()
    result = _wait_drawn(page, counter, before, expected, login_at=login_at)
    result["page"], result["counter"] = page, counter
    return result


def switch_in_app(page, counter: Bytes, path: str, expected: int) -> dict:
    """Logged in already: the browser's history moves to ``path`` and Streamlit follows (popstate)."""
    page.bring_to_front()
    before = counter.mark()
    page.evaluate("""(path) => {
        window.__bench.start();
        history.pushState({}, '', path);
        window.dispatchEvent(new PopStateEvent('popstate', {state: {}}));
    }""", path)
    return _wait_drawn(page, counter, before, expected)


def _close(result: dict) -> dict:
    page = result.pop("page", None)
    result.pop("counter", None)
    if page is not None:
        page.close()
    return result


def run_browser_side(url: str, refs: list[str], repeat: int, workdir: Path, expected: dict[str, int]) -> dict:
    """Per repeat a fresh server (so 'first' finds cold caches), warmed up on another patient."""
    from playwright.sync_api import sync_playwright

    from dashboard.demo import DEMO_ACCOUNTS

    password = {u: p for u, _n, _r, p in DEMO_ACCOUNTS}[USERNAME]
    raw: dict[str, dict[str, list[dict]]] = {ref: {"first": [], "again": [], "switch": []} for ref in refs}
    raw["empty_page"] = {"switch": []}
    warmups = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        chromium_version = browser.version
        for i in range(repeat):
            proc, base = start_server(url, workdir / "server.log")
            try:
                context = browser.new_context(viewport=VIEWPORT)
                context.add_init_script(SAMPLER)
                print(f"browser: repeat {i + 1}/{repeat}, warming the server up on {WARMUP_REF} ...", flush=True)
                warm = open_with_login(context, base, f"/review?patient={WARMUP_REF}", password,
                                       expected[WARMUP_REF])
                warm_page, counter = warm.pop("page"), warm.pop("counter")
                warmups.append(warm)
                for ref in refs:
                    print(f"browser: {ref} ...", flush=True)
                    for case in ("first", "again"):
                        raw[ref][case].append(_close(open_with_login(context, base, f"/review?patient={ref}",
                                                                     password, expected[ref])))
                # In-app switches on the warm-up tab: to each patient (caches warm now) and to an empty review page.
                for ref in refs:
                    path = f"/review?patient={ref}"
                    raw[ref]["switch"].append(switch_in_app(warm_page, counter, path, expected[ref]))
                raw["empty_page"]["switch"].append(switch_in_app(warm_page, counter, "/review", 0))
                context.close()
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        browser.close()
    out: dict = {"criterion": DRAWN_CRITERION, "quiet_ms": QUIET_MS, "expected_charts": expected,
                 "viewport": VIEWPORT, "chromium": chromium_version,
                 "warmup": warmups}
    for key, cases in raw.items():
        out[key] = {case: _browser_figure(runs) for case, runs in cases.items()}
    return out


def _browser_figure(runs: list[dict]) -> dict:
    def med(field):
        return median([r.get(field) for r in runs])

    return {"charts_s": med("charts_s"), "idle_s": med("idle_s"), "from_login_click_s": med("from_login_click_s"),
            "ws_bytes": med("ws_bytes"), "charts": sorted({r["charts"] for r in runs}),
            "problems": [r for r in runs if r["timed_out"] or r["app_errors"] or "events" in r],
            "runs": runs}


# --------------------------------------------------------------------------- report

def _s(value) -> str:
    return "-" if value is None else f"{value:8.3f}"


def _mb(value) -> str:
    return "-" if value is None else f"{value / 1e6:8.2f}"


def table(result: dict, refs: list[str]) -> str:
    lines = [f"review page, git {result['machine']['git_sha']}, {result['machine']['nproc']} CPUs, "
             f"python {result['machine']['python']}, median of {result['repeat']}, load average "
             f"{result['machine']['load_average_at_start']} -> {result['machine'].get('load_average_at_end')}", ""]
    head = f"{'':44}" + "".join(f"{ref:>14}" for ref in refs)
    server = result.get("server")
    if server:
        lines += ["server side (AppTest), seconds", head]
        for key, label in (("first", "first run (imports warm, caches cold)"), ("rerun", "rerun, nothing changed"),
                           ("as_of", f"rerun, as-of {AS_OF_BACK_DAYS} days earlier")):
            lines.append(f"  {label:42}" + "".join(f"{_s(server[ref][key]['median_s']):>14}" for ref in refs))
        lines.append(f"  {'plotly charts on the page':42}"
                     + "".join(f"{server[ref]['plotly_charts']!s:>14}" for ref in refs))
        for key, label in (("patient_summary", "summary: patient_summary() + JSON"),
                           ("cli_summary", "summary: cli main(summary REF --json)")):
            lines.append(f"  {label:42}"
                         + "".join(f"{_s(server[ref]['summary'][key]['median_s']):>14}" for ref in refs))
        lines.append(f"  {'empty review page (no patient)':42}{_s(server['empty_page']['empty']['median_s']):>14}")
        lines.append(f"  {'(warm-up run of ' + WARMUP_REF + ', once)':42}{_s(server['warmup']['seconds']):>14}")
        errors = {ref: server[ref]["errors"] for ref in refs if server[ref]["errors"]}
        if errors or server["empty_page"]["errors"]:
            lines.append(f"  ERRORS: {errors} {server['empty_page']['errors']}")
        lines.append("")
    browser = result.get("browser")
    if browser:
        lines += ["browser (Chromium, streamlit run), seconds from navigation start to every chart drawn "
                  "[to script idle]; MB received over the websocket", head]
        for key, label in (("first", "goto + log in (server caches cold)"), ("again", "goto + log in (caches warm)"),
                           ("switch", "in-app switch, logged in (caches warm)")):
            lines.append(f"  {label:42}" + "".join(f"{_s(browser[ref][key]['charts_s']):>14}" for ref in refs))
            lines.append(f"  {'  script idle':42}" + "".join(f"{_s(browser[ref][key]['idle_s']):>14}" for ref in refs))
            if key != "switch":
                lines.append(f"  {'  from the Log in click':42}"
                             + "".join(f"{_s(browser[ref][key]['from_login_click_s']):>14}" for ref in refs))
            lines.append(f"  {'  MB received':42}"
                         + "".join(f"{_mb(browser[ref][key]['ws_bytes']):>14}" for ref in refs))
        lines.append(f"  {'charts drawn':42}" + "".join(f"{browser[ref]['first']['charts']!s:>14}" for ref in refs))
        empty = browser["empty_page"]["switch"]
        lines.append(f"  {'empty review page, in-app switch (idle)':42}{_s(empty['idle_s']):>14}  "
                     f"{_mb(empty['ws_bytes']).strip()} MB")
        problems = {f"{ref}/{case}": len(browser[ref][case]["problems"]) for ref in refs
                    for case in ("first", "again", "switch") if browser[ref][case]["problems"]}
        if problems:
            lines.append(f"  PROBLEMS (timed out or app error; see JSON): {problems}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="FILE", help="default: bench/results/review_page-<git short sha>.json")
    parser.add_argument("--repeat", type=int, default=3, metavar="N")
    parser.add_argument("--database", metavar="URL", help="build (or reuse) the bench clinic here, not in a temp dir")
    parser.add_argument("--skip-apptest", action="store_true", help="no server-side (AppTest) figures")
    parser.add_argument("--skip-browser", action="store_true", help="no browser figures")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="review-bench-"))
    url = args.database or f"sqlite:///{workdir / 'bench.sqlite'}"
    # Before anything reads it: the app, the loaders and the CLI all ask the environment.
    os.environ["DASHBOARD_DATABASE_URL"] = url
    os.environ.pop("DASHBOARD_DEMO", None)
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # AppTest's bare-mode warnings, once per run
    refs = [DEMO_REF, BENCH_REF]
    try:
        print(f"building the bench clinic in {url.split('@')[-1]} ...", flush=True)
        result: dict = {"machine": machine(), "repeat": args.repeat, "database": {
            "backend": url.split(":", 1)[0].split("+")[0], **build_database(url)}, "patients": refs}
        if not args.skip_apptest:
            result["server"] = run_server_side(url, refs, args.repeat)
        if not args.skip_browser:
            server = result.get("server")
            if server:
                expected = {ref: server[ref]["plotly_charts"] for ref in refs}
                expected[WARMUP_REF] = server["warmup"]["plotly_charts"]
            else:
                expected = expected_charts(url, [WARMUP_REF, *refs])
            result["browser"] = run_browser_side(url, refs, args.repeat, workdir, expected)
    finally:
        from dashboard.db.session import get_engine

        get_engine(url).dispose()
        if not args.database:
            shutil.rmtree(workdir, ignore_errors=True)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print()
    print(table(result, refs))
    target = Path(args.json) if args.json else RESULTS / f"review_page-{result['machine']['git_sha']}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwritten to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The bench command's table: each figure of this run beside the same figure of a baseline run
(by default the newest committed ``bench/results/bench-<backend>-*.json``) and its target."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

# The targets on two cores (issues 12 and 25); "ratio" figures are the import's speed over the baseline's.
TARGETS = {
    ("import", "sqlite", "ratio_to_executemany"): (">=", 0.5),
    ("import", "postgresql", "ratio_to_copy"): (">=", 2 / 3),
    ("review", "rerun_s"): ("<=", 0.150),
    ("review", "first_s"): ("<=", 1.0),
    ("browser", "drawn_s"): ("<=", 1.5),
    ("browser", "bench_mb"): ("<=", 0.3),
    ("login", "click_s"): ("<=", 1.5),
    ("login", "address_s"): ("<=", 2.5),
    ("clinicians", "review_p95_s"): ("<=", 2.0),
    ("clinicians", "errors"): ("<=", 0),
    ("clinicians", "mb_per_idle_session"): ("<=", 5.0),
    ("worklist", "postgresql", "after_warm_s"): ("<=", 1.0),
    ("worklist", "postgresql", "page_first_s"): ("<=", 1.0),
    ("worklist", "sqlite", "after_warm_s"): ("<=", 2.0),
    ("worklist", "sqlite", "page_first_s"): ("<=", 2.0),
}


def _committed_at(path: Path) -> int:
    try:
        out = subprocess.run(["git", "-C", str(path.parent), "log", "-1", "--format=%ct", "--", path.name],
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 0
    return int(out) if out else 0


def baseline(backend: str, explicit: str | None = None, exclude: Path | None = None) -> tuple[str | None, dict]:
    """(its file name, the result) of ``explicit``, else the newest committed bench result of ``backend``."""
    if explicit:
        path = Path(explicit)
        return path.name, json.loads(path.read_text())
    found = [p for p in RESULTS.glob(f"bench-{backend}-*.json") if exclude is None or p.resolve() != exclude.resolve()]
    if not found:
        return None, {}
    newest = max(found, key=lambda p: (_committed_at(p), p.stat().st_mtime))
    return newest.name, json.loads(newest.read_text())


def _get(result: dict, path: tuple):
    value = result.get("sections", {})
    for key in path:
        if isinstance(value, list) and isinstance(key, int) and key < len(value):
            value = value[key]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            return None
    return value


def _check(value, rule) -> str:
    if value is None or rule is None:
        return ""
    op, limit = rule
    ok = value >= limit if op == ">=" else value <= limit
    return f"{'met' if ok else 'MISSED'} ({op} {limit:g})"


def _shown(value) -> str:
    if value is None:
        return "—"
    return f"{value:,.3f}" if isinstance(value, float) else f"{value:,}"


def rows(result: dict) -> list[tuple]:
    """(heading, None, ...) or (label, path into sections, unit, scale, target rule) for every figure."""
    sec, backend = result["sections"], result["backend"]
    out: list[tuple] = []

    def row(label, path, unit="s", rule=None, scale=1.0):
        out.append((label, path, unit, scale, rule))

    if "import" in sec:
        out.append((f"import of {sec['import']['rows']:,} diary rows ({sec['import']['file_mb']} MB)",))
        row("full import, rows/s", ("import", "import_rows_per_s"), "rows/s")
        row("read_csv + executemany, rows/s", ("import", "executemany_rows_per_s"), "rows/s")
        row("ratio to executemany", ("import", "ratio_to_executemany"), "",
            TARGETS.get(("import", backend, "ratio_to_executemany")))
        if "copy_rows_per_s" in sec["import"]:
            row("read_csv + COPY, rows/s", ("import", "copy_rows_per_s"), "rows/s")
            row("ratio to COPY", ("import", "ratio_to_copy"), "", TARGETS[("import", "postgresql", "ratio_to_copy")])
    if "review" in sec:
        out.append(("review page, server side (AppTest), median seconds",))
        for ref, figures in sec["review"].items():
            if isinstance(figures, dict) and "first" in figures:
                row(f"{ref}: first run in a warm process", ("review", ref, "first", "median_s"), "s",
                    TARGETS[("review", "first_s")])
                row(f"{ref}: warm rerun", ("review", ref, "rerun", "median_s"), "s", TARGETS[("review", "rerun_s")])
                row(f"{ref}: after an as-of change", ("review", ref, "as_of", "median_s"))
                row(f"{ref}: summary --json (function)", ("review", ref, "summary", "patient_summary", "median_s"))
        row("empty review page", ("review", "empty_page", "empty", "median_s"))
    if "browser" in sec:
        out.append(("Chromium, review page, seconds to every chart drawn (medians)",))
        for ref, cases in sec["browser"].items():
            if not (isinstance(cases, dict) and "switch" in cases) or ref == "empty_page":
                continue
            row(f"{ref}: address + log in, from navigation", ("browser", ref, "first", "charts_s"), "s",
                TARGETS[("login", "address_s")])
            row(f"{ref}: … from the Log in click", ("browser", ref, "first", "from_login_click_s"), "s",
                TARGETS[("login", "click_s")])
            row(f"{ref}: in-app switch, caches warm", ("browser", ref, "switch", "charts_s"), "s",
                TARGETS[("browser", "drawn_s")])
            row(f"{ref}: MB over the websocket (switch)", ("browser", ref, "switch", "ws_bytes"), "MB",
                TARGETS[("browser", "bench_mb")] if ref == "BENCH-3Y" else None, scale=1e-6)
        row("empty review page, in-app switch (idle)", ("browser", "empty_page", "switch", "idle_s"))
    if "login" in sec:
        out.append(("Chromium, from a patient's address through the login form (bench/login_trace.py), seconds",))
        row("an empty Streamlit page, address to shown (the floor)", ("login", "floor", "shown_s"))
        for i, r in enumerate(sec["login"]["patients"]):
            row(f"{r['ref']}: address to every chart drawn", ("login", "patients", i, "address_to_drawn_s"), "s",
                TARGETS[("login", "address_s")])
            row(f"{r['ref']}: Log in click to every chart drawn", ("login", "patients", i, "click_to_drawn_s"), "s",
                TARGETS[("login", "click_s")])
        row("worst: Log in click to every chart drawn", ("login", "worst_click_s"), "s", TARGETS[("login", "click_s")])
    if "clinicians" in sec:
        s = sec["clinicians"]
        out.append((f"{s['clinicians']} simulated clinicians on {s.get('servers', 1)} server process(es), think time "
                    f"{s['think_s'][0]:g}-{s['think_s'][1]:g} s, {s['pages']} review pages",))
        row("review page p50 to idle", ("clinicians", "review_p50_s"))
        row("review page p95 to idle", ("clinicians", "review_p95_s"), "s", TARGETS[("clinicians", "review_p95_s")])
        row("errors", ("clinicians", "errors"), "", TARGETS[("clinicians", "errors")])
        row("MB per idle session", ("clinicians", "memory", "mb_per_idle_session"), "MB",
            TARGETS[("clinicians", "mb_per_idle_session")])
    if "worklist" in sec:
        s = sec["worklist"]
        out.append((f"worklist of {s['patients']:,} patients (all, bench clinician), median seconds",))
        for key, label in (("sql_s", "grouped diary figures and visits (SQL)"),
                           ("versions_before_s", "data versions, one patient at a time (before)"),
                           ("versions_after_s", "data versions, grouped (after)"),
                           ("before_cold_s", "first opening of the day, a review each (before)"),
                           ("precompute_s", "precompute, every snapshot from empty"),
                           ("precompute_originals_s", "precompute of the generated patients, copies' copied"),
                           ("before_warm_s", "worklist, reviews kept in memory (before)")):
            if s.get(key) is not None:
                row(label, ("worklist", key))
        row("worklist, snapshots current (after)", ("worklist", "after_warm_s"), "s",
            TARGETS[("worklist", backend, "after_warm_s")])
        row("page (AppTest), new session", ("worklist", "page_first_s"), "s", TARGETS[("worklist", backend, "page_first_s")])
        row("page (AppTest), rerun", ("worklist", "page_rerun_s"))
        for part in (s.get("parts_s") or {}):
            row(f"  of which {part}", ("worklist", "parts_s", part))
    return out


def table(result: dict, base: dict | None = None, base_name: str | None = None) -> str:
    """Every figure of ``result`` beside ``base``'s (a figure the baseline did not measure: —)."""
    machine = result["machine"]
    lines = [f"dashboard bench, {result['backend']}, git {machine.get('git_sha')}, {machine.get('nproc')} CPUs, "
             f"load at start {machine.get('load_average_at_start')}, at end {machine.get('load_average_at_end')}"]
    if base:
        lines.append(f"baseline: {base_name} (git {base.get('machine', {}).get('git_sha')}, load at start "
                     f"{base.get('machine', {}).get('load_average_at_start')})")
    lines.append(f"  {'':<56} {'now':>12} {'baseline':>12} {'unit':<7} target")
    for spec in rows(result):
        if len(spec) == 1:
            lines.append(spec[0])
            continue
        label, path, unit, scale, rule = spec
        now, before = _get(result, path), _get(base or {}, path)
        if base and path[0] == "login" and path[1] == "patients":  # matched by patient, not by position
            before = _login_before(base, result, path)
        now = None if now is None else (now * scale if scale != 1.0 else now)
        before = None if before is None else (before * scale if scale != 1.0 else before)
        lines.append(f"  {label:<56} {_shown(now):>12} {_shown(before):>12} {unit:<7} {_check(now, rule)}")
    return "\n".join(lines)


def _login_before(base: dict, result: dict, path: tuple):
    ref = result["sections"]["login"]["patients"][path[2]]["ref"]
    for r in (base.get("sections", {}).get("login", {}) or {}).get("patients", []):
        if r.get("ref") == ref:
            return r.get(path[3])
    return None

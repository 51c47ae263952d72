"""How long a pre-visit report (PDF) takes: a browser per report (before) against the warm one (now).

Builds the demo clinic (seed 7) in a temporary SQLite database, reads each patient's report inputs
once, then times ``report_pdf`` (the PDF and its chart) for the same patients:

- ``per_report``: the chart drawn as before issue 25, ``kaleido.calc_fig_sync``, a Chromium
  started and stopped for every report;
- ``warm``: the chart drawn by ``report.renderer`` (one Chromium per server process): the first
  report starts it, the next ones reuse it.

The reading of the database is left out (the page holds the review already when its download is
clicked). Prints one line per report and a JSON summary; the target is a warm report in <= 1.5 s.

    .venv/bin/python bench/report_time.py [--refs DEMO-001,DEMO-004,DEMO-009] [--repeat 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kaleido  # noqa: E402

from dashboard.config import chromium_path  # noqa: E402
from dashboard.db.session import migrate, session_scope  # noqa: E402
from dashboard.demo import build_demo  # noqa: E402
from dashboard.report import report_pdf  # noqa: E402
from dashboard.report.renderer import RENDERER  # noqa: E402
from dashboard.stored.review import report_data  # noqa: E402


def per_report_png(fig, opts: dict, *, path: str) -> bytes:
    """The chart as it was drawn before: a browser started for this one figure."""
    return kaleido.calc_fig_sync(fig, opts=opts, kopts={"path": path, "mathjax": False})


def timed(inputs: dict, refs: list[str], repeat: int) -> list[dict]:
    rows = []
    for round_ in range(repeat):
        for ref in refs:
            review, visits, imports = inputs[ref]
            t0 = time.perf_counter()
            pdf = report_pdf(review, visits=visits, imports=imports)
            rows.append({"ref": ref, "round": round_, "seconds": round(time.perf_counter() - t0, 3), "bytes": len(pdf)})
            print(f"  {ref} round {round_}: {rows[-1]['seconds']:.2f} s ({len(pdf):,} bytes)", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refs", default="DEMO-001,DEMO-004,DEMO-009")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    path = chromium_path()
    if path is None:
        print("no Chromium found (CHROMIUM_PATH)", file=sys.stderr)
        return 1
    refs = args.refs.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/clinic.sqlite"
        os.environ.setdefault("DASHBOARD_AUDIT_KEY", "bench-" + "0" * 40)
        migrate(url)
        with session_scope(url) as session:
            build_demo(session, seed=7, today=date.today())
        with session_scope(url) as session:
            inputs = {ref: report_data(session, ref) for ref in refs}

    print("per report (a browser started for each, as before):", flush=True)
    warm_png = RENDERER.png
    RENDERER.png = per_report_png  # type: ignore[method-assign] - the old way, through the same call
    try:
        before = timed(inputs, refs, 1)
    finally:
        RENDERER.png = warm_png  # type: ignore[method-assign]
    print("warm (one browser for the process):", flush=True)
    after = timed(inputs, refs, args.repeat)
    warm = [r["seconds"] for r in after[1:]]
    summary = {
        "date": date.today().isoformat(), "chromium": path, "browsers_started": RENDERER.starts,
        "per_report_s": {"median": statistics.median(r["seconds"] for r in before), "max": max(r["seconds"] for r in before)},
        "first_warm_report_s": after[0]["seconds"],
        "warm_s": {"median": statistics.median(warm), "max": max(warm)} if warm else None,
        "target_warm_s": 1.5, "reports": {"per_report": before, "warm": after},
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "reports"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    RENDERER.close()
    return 0 if warm and max(warm) <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())

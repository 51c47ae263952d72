"""How long the worklist takes: the demo clinic, and a clinic of N generated patients.

    .venv/bin/python bench/worklist.py [--patients 500] [--postgres URL]

The patients are the demo's stories repeated under new references (each with its own random
stream, its diary, steps, visits and booking), all shared with one clinician. Measured:
the grouped SQL figures alone, the whole worklist with every listed patient's review computed
(cold: what the first opening of the day costs) and again with the reviews cached (warm:
``loaders._review`` is keyed by the data version, so a rerun or the next opening reuses them).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from dashboard.analysis.worklist import stored_review, worklist  # noqa: E402
from dashboard.auth import accounts  # noqa: E402
from dashboard.db import worklist_queries as q  # noqa: E402
from dashboard.db.models import Patient  # noqa: E402
from dashboard.db.session import get_engine, migrate, session_scope  # noqa: E402
from dashboard.db.settings_store import load_thresholds  # noqa: E402
from dashboard.demo import build_demo  # noqa: E402
from dashboard.demo.clinic import patient_files  # noqa: E402
from dashboard.demo.stories import STORIES  # noqa: E402
from dashboard.ingest.writer import write_import  # noqa: E402


def seed_clinic(url: str, patients: int, today: date) -> None:
    with session_scope(url) as session:
        for i in range(patients):
            story = dataclasses.replace(STORIES[i % len(STORIES)], ref=f"BENCH-{i:04d}", shared_with=("bench",))
            for parsed, raw in patient_files(story, 1000 + i, 7, today):
                write_import(session, parsed, raw=raw, imported_by="bench")
        accounts.add_user(session, username="bench", display_name="Bench", role="clinician", password=None)
        for ref in session.scalars(select(Patient.ref)):
            accounts.share(session, username="bench", patient_ref=ref)


def measure(url: str, today: date, label: str) -> None:
    end = today + timedelta(days=7)
    with session_scope(url) as session:
        ids = list(session.scalars(select(Patient.id)))
        limits = load_thresholds(session)
        t = time.perf_counter()
        q.diary_figures(session, ids, today), q.visits(session, ids)
        sql = time.perf_counter() - t
        cache: dict = {}  # as loaders._review keeps them: "all" then computes only the patients not yet listed

        def review_of(pid):
            if pid not in cache:
                cache[pid] = stored_review(session, pid, today, limits)
            return cache[pid]

        for everyone in (False, True):

            t = time.perf_counter()
            rows = worklist(session, patient_ids=ids, as_of=today, start=today, end=end, everyone=everyone,
                            review_of=review_of)
            cold = time.perf_counter() - t
            t = time.perf_counter()
            worklist(session, patient_ids=ids, as_of=today, start=today, end=end, everyone=everyone,
                     review_of=review_of)
            warm = time.perf_counter() - t
            view = "all patients" if everyone else "visits booked"
            print(f"{label}: {len(ids)} patients, {view}: {len(rows)} rows; SQL figures {sql:.2f} s; "
                  f"worklist first time {cold:.1f} s, again (reviews cached) {warm:.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--postgres", default=None, help="also a PostgreSQL URL (a new database is NOT made: use a scratch one)")
    args = parser.parse_args()
    today = date.today()
    folder = Path(tempfile.mkdtemp(prefix="bench-worklist-"))
    demo = f"sqlite:///{folder / 'demo.sqlite'}"
    migrate(demo)
    with session_scope(demo) as session:
        build_demo(session, today=today)
    measure(demo, today, "demo clinic (SQLite)")
    urls = [("SQLite", f"sqlite:///{folder / 'many.sqlite'}")] + ([("PostgreSQL", args.postgres)] if args.postgres else [])
    for name, url in urls:
        migrate(url)
        t = time.perf_counter()
        seed_clinic(url, args.patients, today)
        print(f"{name}: {args.patients} generated patients written in {time.perf_counter() - t:.0f} s", flush=True)
        measure(url, today, f"generated clinic ({name})")
        get_engine(url).dispose()


if __name__ == "__main__":
    main()

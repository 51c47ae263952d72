"""How long the worklist takes: the demo clinic, and a clinic of N generated patients.

    .venv/bin/python bench/worklist.py [--patients 500] [--postgres URL] [--repeat 3]

The patients are the demo's stories repeated under new references (each with its own random
stream, its diary, steps, visits and booking), all shared with one clinician. Measured (seconds,
median of ``--repeat``, "before" and "after" interleaved in the same minute):

* ``sql_s``: the grouped diary figures and the visits alone;
* ``versions_before_s`` / ``versions_after_s``: every patient's data version one patient at a time
  (``queries.data_version``, what the page did on every run) against the grouped ``data_versions``;
* ``before_cold_s``: the rule figures from a review built for every patient (the first opening of
  the day before snapshots; also what ``precompute`` costs, minus the writes);
* ``precompute_s``: ``stored.worklist.precompute`` from an empty snapshot table;
* ``before_warm_s`` / ``after_warm_s``: the whole worklist ("all patients") with every review kept
  in memory and a data version per patient (before) against the stored, current snapshots (after);
* ``page_first_s`` / ``page_rerun_s`` (``page=True``): the worklist page under AppTest, "All my
  patients", snapshots current.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, select  # noqa: E402

from dashboard.analysis.worklist import RuleFigures  # noqa: E402
from dashboard.stored.worklist import pain_windows, precompute, stored_review, worklist  # noqa: E402
from dashboard.auth import accounts  # noqa: E402
from dashboard.db import queries  # noqa: E402
from dashboard.db import worklist_queries as q  # noqa: E402
from dashboard.db.models import Patient, ReviewSnapshot  # noqa: E402
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


def _timed(work) -> float:
    t = time.perf_counter()
    work()
    return time.perf_counter() - t


def measure(url: str, today: date, *, repeat: int = 3, page_user: str | None = None,
            before_cold: bool = True, copies: dict[int, int] | None = None) -> dict:
    """The figures of the module docstring for every patient of ``url`` (see there).

    ``copies`` (copy's patient id -> the patient it copies row for row, ``clinic_scale.add_patients``):
    their snapshots are their originals' figures stored under their own current version (the same
    rows give the same review), instead of a review each: ``precompute_s`` then covers the others only.
    """
    end = today + timedelta(days=7)
    out: dict = {}
    with session_scope(url) as session:
        ids = list(session.scalars(select(Patient.id)))
        limits = load_thresholds(session)
        out["patients"] = len(ids)
        out["sql_s"] = _timed(lambda: (q.diary_figures(session, ids, pain_windows(today)), q.visits(session, ids, since=today)))
        session.execute(delete(ReviewSnapshot))
    reviews: dict = {}
    if before_cold:
        with session_scope(url) as session:
            out["before_cold_s"] = _timed(lambda: reviews.update(
                {pid: RuleFigures.of(stored_review(session, pid, today, limits)) for pid in ids}))
    with session_scope(url) as session:
        if copies:
            out["precompute_s"] = None
            out["precompute_originals_s"] = _timed(lambda: _precompute_copies(session, today, limits, copies))
        else:
            out["precompute_s"] = _timed(lambda: precompute(session, as_of=today))
    if not reviews:  # the "before" warm path needs the reviews in memory: the snapshots' figures are theirs
        with session_scope(url) as session:
            reviews = {pid: RuleFigures.from_stored(f) for pid, f in
                       session.execute(select(ReviewSnapshot.patient_id, ReviewSnapshot.figures))}

    def before(session):  # as loaders.worklist did: a data version per patient, then its kept review
        return worklist(session, patient_ids=ids, as_of=today, start=today, end=end, everyone=True,
                        figures_of=lambda listed: {pid: (queries.data_version(session, pid), reviews[pid])[1]
                                                   for pid in listed})

    def after(session):
        return worklist(session, patient_ids=ids, as_of=today, start=today, end=end, everyone=True)

    laps: dict[str, list[float]] = {k: [] for k in ("versions_before_s", "versions_after_s", "before_warm_s",
                                                   "after_warm_s")}
    for _ in range(repeat):
        with session_scope(url) as session:
            laps["versions_before_s"].append(_timed(lambda: [queries.data_version(session, p) for p in ids]))
            laps["versions_after_s"].append(_timed(lambda: queries.data_versions(session, ids)))
            laps["before_warm_s"].append(_timed(lambda: before(session)))
            laps["after_warm_s"].append(_timed(lambda: after(session)))
    out.update({k: statistics.median(v) for k, v in laps.items()})
    out["parts_s"] = parts(url, ids, today, repeat)
    if page_user:
        out.update(page(url, page_user, repeat))
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def parts(url: str, ids: list[int], today: date, repeat: int) -> dict:
    """Where the worklist's time goes: each of its reads alone (medians of ``repeat``)."""
    from dashboard.db import snapshots

    laps: dict[str, list[float]] = {}
    for _ in range(repeat):
        with session_scope(url) as session:
            limits = load_thresholds(session)
            for name, work in (("patients", lambda: q.patients(session, ids)),
                               ("diary_figures", lambda: q.diary_figures(session, ids, pain_windows(today))),
                               ("visits", lambda: q.visits(session, ids, since=today)),
                               ("clinicians", lambda: q.clinicians(session, ids)),
                               ("data_versions", lambda: queries.data_versions(session, ids)),
                               ("snapshot_versions", lambda: snapshots.versions(session, ids, limits)),
                               ("snapshots_read", lambda: snapshots.read(session, ids, today))):
                laps.setdefault(name, []).append(_timed(work))
    return {k: round(statistics.median(v), 3) for k, v in laps.items()}


def _precompute_copies(session, today: date, limits, copies: dict[int, int]) -> None:
    from dashboard.stored.worklist import refresh
    from dashboard.db import snapshots

    ids = list(session.scalars(select(Patient.id).order_by(Patient.id)))
    originals = [pid for pid in ids if pid not in copies]
    for i in range(0, len(originals), 200):
        refresh(session, originals[i:i + 200], today, limits)
        session.commit()
    figures = dict(session.execute(select(ReviewSnapshot.patient_id, ReviewSnapshot.figures)
                                   .where(ReviewSnapshot.as_of == today)).all())
    copied = list(copies)
    for i in range(0, len(copied), 1000):
        batch = copied[i:i + 1000]
        now = snapshots.versions(session, batch, limits)
        snapshots.write(session, today, {pid: (now[pid], figures[copies[pid]]) for pid in batch})
        session.commit()


def page(url: str, username: str, repeat: int) -> dict:
    """The worklist page (AppTest), "All my patients", logged in as ``username``: a new session's
    first run and a rerun, medians of ``repeat``."""
    import os

    from streamlit.testing.v1 import AppTest
    from streamlit.util import calc_hash

    from dashboard.auth.accounts import resolve_user

    os.environ["DASHBOARD_DATABASE_URL"] = url
    # AppTest runs the page script itself: app.py is what dashboard/server.py's st.App serves (this
    # benchmark starts no server; the browser figures, bench/review_page.py, start server.py).
    app = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
    with session_scope(url) as session:
        user = resolve_user(session, username)
    first, rerun = [], []
    for _ in range(repeat):
        at = AppTest.from_file(str(app), default_timeout=600)
        at.session_state["user"] = user
        at.session_state["worklist_view"] = "All my patients"
        at._page_hash = calc_hash("worklist")
        first.append(_timed(at.run))
        assert not at.exception, at.exception
        rerun.append(_timed(at.run))
    return {"page_first_s": statistics.median(first), "page_rerun_s": statistics.median(rerun)}


def _line(label: str, figures: dict) -> str:
    return f"{label}: " + ", ".join(f"{k} {v}" for k, v in figures.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=None, help="also a PostgreSQL URL (a new database is NOT made: use a scratch one)")
    args = parser.parse_args()
    today = date.today()
    folder = Path(tempfile.mkdtemp(prefix="bench-worklist-"))
    demo = f"sqlite:///{folder / 'demo.sqlite'}"
    migrate(demo)
    with session_scope(demo) as session:
        build_demo(session, today=today)
    print(_line("demo clinic (SQLite)", measure(demo, today, repeat=args.repeat, page_user="dr.rivera")), flush=True)
    urls = [("SQLite", f"sqlite:///{folder / 'many.sqlite'}")] + ([("PostgreSQL", args.postgres)] if args.postgres else [])
    for name, url in urls:
        migrate(url)
        t = time.perf_counter()
        seed_clinic(url, args.patients, today)
        print(f"{name}: {args.patients} generated patients written in {time.perf_counter() - t:.0f} s", flush=True)
        print(_line(f"generated clinic ({name})", measure(url, today, repeat=args.repeat, page_user="bench")),
              flush=True)
        get_engine(url).dispose()


if __name__ == "__main__":
    main()

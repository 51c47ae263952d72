"""``python -m dashboard bench``: the clinic-scale figures, each beside its baseline, in one run.

    python -m dashboard bench [--patients N] [--years Y] [--database URL] [--json FILE]
                              [--skip import,review,browser,login,clinicians,worklist] [--clinicians 20]
                              [--repeat 1] [--keep NAME | --existing URL] [--baseline FILE] [--quick]

The defaults finish in a few minutes on two cores; the issue's clinic-scale figures use the flags
(``--patients 5000 --years 2 --database postgresql+psycopg://postgres@127.0.0.1:5432/postgres``).
``--database`` names a PostgreSQL server (scratch databases are created on it and dropped) or is
left out for SQLite files in a temporary folder.

Sections (each also a script of its own in bench/):

* ``import`` (bench/import_speed.py): a 100k-row diary CSV through the full import against
  ``read_csv`` + one ``executemany`` (and ``COPY`` on PostgreSQL) into the same table.
* ``review`` (bench/review_page.py): the review page under AppTest for a demo patient and a
  3-year twice-daily patient: first run in a warm process, warm rerun, after an as-of change,
  an empty page, and ``summary --json``.
* ``browser`` (bench/review_page.py): Chromium, navigation to every chart drawn, websocket bytes.
* ``login`` (bench/login_trace.py): Chromium, each patient from its address through the login form
  to every chart drawn, from the navigation and from the Log in click, and an empty Streamlit page
  in the same browser (the floor).
* ``clinicians`` (bench/clinicians.py): simulated clinicians with think time over the websocket
  protocol against a running server: p50/p95 to idle, errors, memory per idle session.
* ``worklist`` (bench/worklist.py): every patient's worklist ("All my patients" of the bench
  clinician) as a query with the snapshots current, ``precompute`` from empty, the old way (a data
  version per patient and each review kept in memory) interleaved with it, and the page (AppTest).

``--patients N --years Y`` adds N generated patients of Y years each (shared with the bench
clinician) before the sections that read the clinic. Each figure is printed beside the same figure
of a baseline run (``--baseline FILE``, by default the newest committed ``bench/results/bench-<backend>-*.json``)
and its target (bench/bench_table.py). ``--quick`` runs every section small, to check the tools.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import bench_table  # noqa: E402  (bench/ is a folder of scripts, not a package)

SECTIONS = ("import", "review", "browser", "login", "clinicians", "worklist")
LOGIN_PATIENTS = ("DEMO-001", "DEMO-002", "DEMO-003", "DEMO-004", "DEMO-005", "DEMO-006", "DEMO-007", "DEMO-008",
                  "DEMO-009", "BENCH-3Y")
BEFORE_COLD_UP_TO = 100  # patients: above, the old first opening (a review each, the work precompute does) is left out


@contextmanager
def databases(server: str | None, workdir: Path):
    """A factory of new, migrated, empty databases on one backend, all dropped afterwards, except one
    made as ``new(keep=NAME)`` (a PostgreSQL database of that name, or ``NAME.sqlite`` in the current
    folder), which is left for measuring again (``--existing``)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from dashboard.db.session import get_engine, migrate

    made: list[str] = []
    admin = create_engine(server, isolation_level="AUTOCOMMIT") if server else None

    def new(keep: str | None = None) -> str:
        if admin is None:
            url = f"sqlite:///{Path(f'{keep}.sqlite').resolve() if keep else workdir / f'db-{len(made)}.sqlite'}"
        else:
            name = keep or f"dashboard_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(server).set(database=name).render_as_string(hide_password=False)
        if not keep:
            made.append(url)
        migrate(url)
        return url

    try:
        yield new
    finally:
        for url in made:
            get_engine(url).dispose()
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


def add_patients(url: str, count: int, years: float, *, seed: int = 11, templates: int = 50) -> dict:
    """``count`` more patients of ``years`` each, shared with the bench clinician: the clinic a
    worklist has to sort. The first ``templates`` are built by the demo generator from the 3-year
    bench story (other seeds, so each diary differs) and written through the one writer; the rest
    are copies of those, row for row under new patient ids (``_copy_patients``: one INSERT ... SELECT
    per table), because 5,000 patients through the importer take ~25 minutes on two cores."""
    import dataclasses
    import time
    from datetime import date, datetime, timezone

    import review_page
    from sqlalchemy import func, select

    from dashboard.db.models import Clinician, DiaryEntry, Patient, PatientShare
    from dashboard.db.session import session_scope
    from dashboard.demo.clinic import patient_files
    from dashboard.ingest.writer import write_import

    started = time.perf_counter()
    base = review_page.bench_story()
    with session_scope(url) as session:
        clinician_id = session.scalar(select(Clinician.id).where(Clinician.username == review_page.USERNAME))
    built: list[int] = []
    for i in range(min(count, templates)):
        span = max(60, int(365 * years))
        story = dataclasses.replace(base, ref=f"SCALE-{i:05d}", name=f"Scale Patient {i}", span_days=span,
                                    plan=base.plan[:max(1, span // 50)], features={})  # steps the visits allow
        with review_page._visits_every_4_to_6_weeks():
            files = patient_files(story, 1000 + i, seed, date.today())
        with session_scope(url) as session:
            for parsed, raw in files:
                write_import(session, parsed, raw=raw, imported_by="bench")
            patient_id = session.scalar(select(Patient.id).where(Patient.ref == story.ref))
            session.add(PatientShare(clinician_id=clinician_id, patient_id=patient_id,
                                     shared_at=datetime.now(timezone.utc).replace(tzinfo=None)))
            built.append(patient_id)
    generated_s = time.perf_counter() - started
    done, copies = len(built), {}
    while done < count:
        chunk = built[:count - done]
        with session_scope(url) as session:
            copies.update(_copy_patients(session, chunk, [f"SCALE-{done + k:05d}" for k in range(len(chunk))],
                                         clinician_id))
        done += len(chunk)
        if done % 500 < len(chunk):
            print(f"  {done:,} of {count:,} patients ...", flush=True)
    with session_scope(url) as session:
        entries = session.scalar(select(func.count()).select_from(DiaryEntry).where(DiaryEntry.patient_id.in_(
            select(Patient.id).where(Patient.ref.like("SCALE-%")))))
    if url.startswith("postgresql"):
        # The statistics, and the visibility map that index-only scans need (the worklist's diary
        # figures, migration 0010): after a bulk copy autovacuum would get to it some minutes later.
        from sqlalchemy import text

        from dashboard.db.session import get_engine

        with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
    return {"patients": count, "years": years, "generated": len(built), "entries": entries,
            "generated_s": round(generated_s, 1), "build_s": round(time.perf_counter() - started, 1),
            "copies": copies}


def kept_copies(url: str, templates: int = 50) -> dict[int, int]:
    """The copy -> original map of a clinic built by ``add_patients`` and kept (``--keep``): copy
    ``SCALE-i`` was made from ``SCALE-(i mod templates)`` (see the loop there)."""
    from sqlalchemy import select

    from dashboard.db.models import Patient
    from dashboard.db.session import session_scope

    with session_scope(url) as session:
        ids = dict(session.execute(select(Patient.ref, Patient.id).where(Patient.ref.like("SCALE-%"))).all())
    return {pid: ids[f"SCALE-{int(ref[6:]) % templates:05d}"] for ref, pid in ids.items()
            if int(ref[6:]) >= templates}


def _copy_patients(session, sources: list[int], refs: list[str], clinician_id: int) -> dict[int, int]:
    """New patients ``refs``, each a row-for-row copy of one of ``sources`` (its diary with side
    effects, steps, visits, medications, measures), shared with ``clinician_id``; new id -> source id."""
    from datetime import datetime, timezone

    from sqlalchemy import func, insert, select, text

    from dashboard.db.models import (CoMedication, DiaryEntry, Measure, Patient, PatientShare, SideEffect,
                                     TitrationStep, Visit)

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    old = {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(sources)))}
    session.execute(insert(Patient.__table__), [
        {"ref": ref, "name": f"Scale Patient {ref[6:].lstrip('0') or '0'}", "birth_year": old[s].birth_year,
         "condition": old[s].condition, "created_at": now, "import_id": old[s].import_id}
        for s, ref in zip(sources, refs)])
    new = dict(session.execute(select(Patient.ref, Patient.id).where(Patient.ref.in_(refs))).all())
    mapping = [(s, new[ref]) for s, ref in zip(sources, refs)]
    session.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS bench_copy (old_id INTEGER, new_id INTEGER)"))
    session.execute(text("DELETE FROM bench_copy"))
    session.execute(text("INSERT INTO bench_copy (old_id, new_id) VALUES (:o, :n)"),
                    [{"o": o, "n": n} for o, n in mapping])
    listed = ", ".join(str(int(o)) for o, _n in mapping)  # the sources by value: the planner uses the indexes
    entry_shift = session.scalar(select(func.coalesce(func.max(DiaryEntry.id), 0)))
    effect_shift = session.scalar(select(func.coalesce(func.max(SideEffect.id), 0)))

    def copy(table, *, keep_ids: bool = False, shift: int = 0):
        cols = [c.name for c in table.columns if keep_ids or c.name != "id"]
        picked = ", ".join("m.new_id" if c == "patient_id" else (f"t.id + {shift}" if c == "id" else f"t.{c}")
                           for c in cols)
        session.execute(text(f"INSERT INTO {table.name} ({', '.join(cols)}) SELECT {picked} "
                             f"FROM {table.name} t JOIN bench_copy m ON m.old_id = t.patient_id "
                             f"WHERE t.patient_id IN ({listed})"))

    copy(DiaryEntry.__table__, keep_ids=True, shift=entry_shift)
    cols = [c.name for c in SideEffect.__table__.columns]
    picked = ", ".join({"id": f"s.id + {effect_shift}", "entry_id": f"s.entry_id + {entry_shift}"}.get(c, f"s.{c}")
                       for c in cols)
    session.execute(text(f"INSERT INTO side_effect ({', '.join(cols)}) SELECT {picked} FROM diary_entry d "
                         f"JOIN side_effect s ON s.entry_id = d.id WHERE d.patient_id IN ({listed})"))
    for model in (TitrationStep, Visit, CoMedication, Measure):
        copy(model.__table__)
    if session.get_bind().dialect.name == "postgresql":  # ids were given: move the sequences past them
        for table in ("diary_entry", "side_effect"):
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))"))
    session.execute(insert(PatientShare.__table__), [
        {"clinician_id": clinician_id, "patient_id": n, "shared_at": now} for _o, n in mapping])
    return {n: o for o, n in mapping}


def run(args) -> dict:
    import review_page
    from sqlalchemy.engine import make_url

    from dashboard.db.session import migrate

    workdir = Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    backend = "postgresql" if args.database else "sqlite"
    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    result: dict = {"machine": review_page.machine(), "backend": backend, "sections": {}}
    skip = set(filter(None, (args.skip or "").split(",")))
    copies: dict[int, int] = {}
    try:
        with databases(args.database, workdir) as new_database:
            if "import" not in skip:
                import benchmark
                import import_speed

                print(f"import: {args.rows:,}-row diary CSV against the baselines ({backend}) ...", flush=True)
                raw = benchmark.diary_csv(args.rows)
                result["sections"]["import"] = import_speed.measure(new_database, raw, backend)
            if args.existing:  # a clinic kept by an earlier --keep: measured as it is, not built
                url = args.existing
                migrate(url)
                copies = kept_copies(url)
                result["database"] = {"existing": make_url(url).render_as_string(hide_password=True),
                                      "copies": len(copies)}
            else:
                url = new_database(keep=args.keep)
            os.environ["DASHBOARD_DATABASE_URL"] = url
            os.environ.pop("DASHBOARD_DEMO", None)
            if not args.existing:
                print("building the demo clinic and a 3-year patient ...", flush=True)
                result["database"] = review_page.build_database(url)
                if args.patients:
                    print(f"adding {args.patients:,} patients of {args.years:g} years ...", flush=True)
                    result["database"]["scale"] = add_patients(url, args.patients, args.years)
                    copies = result["database"]["scale"].pop("copies")
                if args.keep:
                    print(f"kept for --existing: {make_url(url).render_as_string(hide_password=True)}", flush=True)
            refs = [review_page.DEMO_REF] if args.quick else [review_page.DEMO_REF, review_page.BENCH_REF]
            if "review" not in skip:
                result["sections"]["review"] = review_page.run_server_side(url, refs, args.repeat)
            if "browser" not in skip:
                expected = review_page.expected_charts(url, [review_page.WARMUP_REF, *refs])
                result["sections"]["browser"] = review_page.run_browser_side(url, refs, args.repeat, workdir, expected)
            if "login" not in skip:
                import login_trace

                print("login: each patient from its address through the login form (bench/login_trace.py) ...",
                      flush=True)
                login = login_trace.run(url, args.login_patients.split(","), workdir)
                for r in login["patients"]:  # the figures and their breakdown; every event stays in login_trace's JSON
                    for key in ("received", "sent", "scripts", "marks"):
                        r.pop(key, None)
                result["sections"]["login"] = login
            if "clinicians" not in skip:
                result["sections"]["clinicians"] = _clinicians(url, workdir, args)
            if "worklist" not in skip:
                import worklist as worklist_bench
                from datetime import date

                print("worklist: every patient of the bench clinician, snapshots and the page ...", flush=True)
                result["sections"]["worklist"] = worklist_bench.measure(
                    url, date.today(), repeat=1 if args.quick else max(3, args.repeat), page_user=review_page.USERNAME,
                    before_cold=(args.patients or 0) <= BEFORE_COLD_UP_TO and not args.existing and not args.quick,
                    copies=copies)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _clinicians(url: str, workdir: Path, args) -> dict:
    import clinicians
    import review_page
    from dashboard.demo import DEMO_ACCOUNTS, STORIES

    passwords = {u: p for u, _n, _r, p in DEMO_ACCOUNTS}
    accounts = []
    for username in sorted({u for s in STORIES for u in s.shared_with}):
        refs = [s.ref for s in STORIES if username in s.shared_with]
        if username == review_page.USERNAME:
            refs.append(review_page.BENCH_REF)
        accounts.append((username, passwords[username], refs))
    servers = max(1, args.servers)
    print(f"clinicians: {args.clinicians} simulated clinicians against {servers} running server process(es) ...",
          flush=True)
    started = []
    try:
        for i in range(servers):
            started.append(review_page.start_server(url, workdir / f"server-{i}.log"))
        return clinicians.run([base.removeprefix("http://") for _, base in started], accounts,
                              clinicians=args.clinicians, rounds=args.rounds, server_pid=started[0][0].pid)
    finally:
        for proc, _ in started:
            proc.terminate()
            proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard bench", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=0, help="extra generated patients (the worklist's scale)")
    parser.add_argument("--years", type=float, default=2, help="years of diary per generated patient")
    parser.add_argument("--database", metavar="URL", help="a PostgreSQL server to measure on (default SQLite)")
    parser.add_argument("--keep", metavar="NAME", help="build the clinic into a database NAME (PostgreSQL, on the "
                        "--database server; SQLite: NAME.sqlite here) and leave it there for --existing")
    parser.add_argument("--existing", metavar="URL", help="measure a clinic kept by --keep instead of building one "
                        "(--patients/--years are then ignored); drop it yourself when done")
    parser.add_argument("--json", metavar="FILE", help="default bench/results/bench-<backend>-<git sha>.json")
    parser.add_argument("--skip", metavar="SECTIONS", help=f"comma-separated, of {', '.join(SECTIONS)}")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the import benchmark's file")
    parser.add_argument("--clinicians", type=int, default=20)
    parser.add_argument("--servers", type=int, default=1,
                        help="app processes the clinicians are spread over (sticky, as behind deploy/nginx)")
    parser.add_argument("--rounds", type=int, default=4, help="review pages each simulated clinician opens")
    parser.add_argument("--repeat", type=int, default=1, help="repeats of the review and browser figures")
    parser.add_argument("--login-patients", default=",".join(LOGIN_PATIENTS), metavar="REFS",
                        help="patients the login section opens from their address (default every demo patient and "
                        "BENCH-3Y)")
    parser.add_argument("--baseline", metavar="FILE", help="the run to print beside this one (default the newest "
                        "committed bench/results/bench-<backend>-*.json)")
    parser.add_argument("--quick", action="store_true", help="every section, small: a 2,000-row import, DEMO-001 "
                        "alone in the review, browser and login sections, 2 clinicians with 1 page each, the worklist "
                        "once and without the old way's first opening (checks the tools, not the figures)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.clinicians, args.rounds, args.repeat = min(args.rows, 2000), 2, 1, 1
        args.login_patients = "DEMO-001"
    result = run(args)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    target = Path(args.json) if args.json else (
        BENCH / "results" / f"bench-{result['backend']}-{result['machine'].get('git_sha')}.json")
    base_name, base = bench_table.baseline(result["backend"], args.baseline, exclude=target)
    print()
    print(bench_table.table(result, base, base_name))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwritten to {target}")
    return 0

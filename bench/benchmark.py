"""Speed and memory of the things that must stay fast, measured here rather than in timed tests.

    .venv/bin/python bench/benchmark.py [--rows 100000] [--postgres URL]

Targets: a 100k-row diary CSV imports in seconds (< 30 s on the 2-core CI machine), a
re-import of it (nothing new) likewise, and a patient's summary in well under a second.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard.db.session import get_engine, migrate, session_scope  # noqa: E402
from dashboard.ingest.service import import_file  # noqa: E402

HEADER = "patient_id,date,pain,sleep,mood,function,dose_mg,nausea,dissociation,bp_systolic,bp_diastolic,notes\n"


def diary_csv(rows: int, patients: int = 50, seed: int = 1) -> bytes:
    rnd = random.Random(seed)
    per_patient = rows // patients
    start = datetime(2024, 1, 1, 8, 0)
    lines = [HEADER]
    for p in range(patients):
        for i in range(per_patient):
            t = start + timedelta(hours=8 * i, minutes=rnd.randint(0, 59))
            bp = f"{rnd.randint(110, 170)},{rnd.randint(60, 95)}" if i % 5 == 0 else ","
            lines.append(
                f"BENCH-{p:03d},{t:%Y-%m-%dT%H:%M},{rnd.randint(0, 100) / 10},{rnd.randint(0, 10)},{rnd.randint(0, 10)},"
                f"{rnd.randint(0, 10)},{rnd.choice(['', '30', '50'])},{rnd.randint(0, 3)},{rnd.choice(['', '0', '1'])},{bp},"
                f"\"note {i}, day {i // 3}\"\n"
            )
    return "".join(lines).encode()


def timed(label: str, fn):
    t0 = time.perf_counter()
    result = fn()
    print(f"{label:<45} {time.perf_counter() - t0:8.2f} s")
    return result


def run(url: str, raw: bytes) -> None:
    migrate(url)
    rows = raw.count(b"\n") - 1
    first = timed(f"import {rows:,} rows", lambda: import_file(raw, "bench.csv", url=url))
    assert first.status == "imported", first.message
    again = timed("re-import the same file (already imported)", lambda: import_file(raw, "bench.csv", url=url))
    assert again.status == "already-imported"
    edited = raw + b"BENCH-000,2020-01-01,5,,,,,,,,,\n"
    timed("import an edited copy (compare every entry)", lambda: import_file(edited, "bench2.csv", url=url))
    try:
        from dashboard.stored.review import patient_summary
    except ImportError:
        return
    with session_scope(url) as session:
        timed("summary of one patient (2,000 entries)", lambda: patient_summary(session, "BENCH-000"))


@contextmanager
def scratch_postgres(server_url: str):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"dashboard_bench_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL server (URL of any database there); "
                        "a scratch database is created and dropped")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/demo.sqlite"
        migrate(url)
        from dashboard.demo import build_demo

        with session_scope(url) as session:
            timed("build the demo clinic (9 patients)", lambda: build_demo(session))
        get_engine(url).dispose()
    raw = timed("generate the file", lambda: diary_csv(args.rows))
    print(f"file size: {len(raw) / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        print("-- SQLite")
        run(url, raw)
        get_engine(url).dispose()
    if args.postgres:
        print("-- PostgreSQL")
        with scratch_postgres(args.postgres) as url:
            run(url, raw)
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()

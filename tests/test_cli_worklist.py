"""``python -m dashboard worklist`` on the demo clinic, as a morning e-mail script runs it (real
processes, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import pytest
from sqlalchemy import select

from dashboard.db.models import AuditEvent
from dashboard.db.session import session_scope
from dashboard.demo import STORIES
from tests.test_cli import REPO, cli

TODAY = date.today()
KEYS = {"patient", "next_visit", "daily_dose_mg", "mean_pain_14d", "mean_pain_prev_14d", "responder",
        "new_safety_flags", "open_flags", "completeness_30d", "days_since_last_entry", "days_since_last_bp"}


def _json(url: str, *args: str) -> list[dict]:
    result = cli(url, "worklist", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_worklist_json_of_a_clinician_and_of_the_operator(demo_db):
    rows = _json(demo_db, "--as", "dr.rivera")
    assert all(KEYS <= set(row) for row in rows)
    # v3: DEMO-005's liver tests are a new safety flag too, and its diary has gone quiet: it comes first.
    assert [(r["patient"], r["new_safety_flags"]) for r in rows[:2]] == [
        ("DEMO-005", {"liver_tests_high": 1}), ("DEMO-001", {"bp_high": 1})]
    assert rows[1]["next_visit"] == {"date": TODAY.isoformat(), "kind": "in person"}
    assert {r["patient"] for r in rows} == {"DEMO-001", "DEMO-002", "DEMO-004", "DEMO-005", "DEMO-006", "DEMO-007"}
    everyone = {r["patient"] for r in _json(demo_db, "--all", "--as", "dr.rivera")}
    assert everyone == {s.ref for s in STORIES if "dr.rivera" in s.shared_with}
    assert {r["patient"] for r in _json(demo_db, "--all")} == {s.ref for s in STORIES}  # the operator
    assert _json(demo_db, "--all", "--as", "sam.staff") == []  # staff: only patients shared with them
    # summary --json carries the same next visit
    summary = json.loads(cli(demo_db, "summary", "DEMO-001", "--json").stdout)
    assert summary["next_visit"] == rows[1]["next_visit"]
    with session_scope(demo_db) as session:
        details = [json.loads(d) for d in session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "view_worklist").order_by(AuditEvent.id))]
    assert len(details) == 4 and set(details[0]["patients"]) == {r["patient"] for r in rows}


def test_a_range_chooses_the_booked_visits(demo_db):
    later = _json(demo_db, "--from", "2026-01-01", "--to", "2026-01-02", "--as-of", TODAY.isoformat())
    assert [r["patient"] for r in later] == ["DEMO-005"]  # nothing booked then; the overdue visit is always listed


@pytest.mark.parametrize(("args", "code"), [
    (["--as", "nobody"], 1), (["--from", "2026-03-10", "--to", "2026-03-01"], 2), (["--from", "10/03/2026"], 2),
])
def test_refusals_and_usage_errors(demo_db, args, code):
    result = cli(demo_db, "worklist", *args)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_is_one_line_and_exit_3():
    env = {**os.environ, "DASHBOARD_DATABASE_URL": "sqlite:////dev/null/clinic.sqlite"}
    result = subprocess.run([sys.executable, "-m", "dashboard", "worklist"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 3 and len(result.stderr.strip().splitlines()) == 1


def test_precompute_then_the_worklist_reads_the_snapshots(demo_db):
    """The operator's cron line: exit 0, every patient computed once, nothing the second time; the
    worklist printed afterwards is the same as before; a bad date is a usage error (2), an
    unreachable database 3."""
    before = _json(demo_db, "--all")
    first = cli(demo_db, "precompute")
    assert first.returncode == 0, first.stderr
    n = len(STORIES)
    assert f"{n} patients as of {TODAY}: " in first.stdout and "already current" in first.stdout
    again = cli(demo_db, "precompute", "--as-of", TODAY.isoformat())
    assert again.returncode == 0 and f"0 computed, {n} already current" in again.stdout
    assert _json(demo_db, "--all") == before
    bad = cli(demo_db, "precompute", "--as-of", "30/11/2026")
    assert bad.returncode == 2 and "--as-of" in bad.stderr
    down = cli("postgresql+psycopg://nobody@127.0.0.1:1/none", "precompute")
    assert down.returncode == 3 and "cannot be reached" in down.stderr

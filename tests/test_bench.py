"""The benchmark's tools work (what they measure is never asserted: speed is not a test here).

``python -m dashboard bench`` with its import section on a small file, the whole command in its
quick mode (every section, the browser's included, each figure beside a baseline), and the simulated
clinicians (Streamlit's websocket protocol, bench/clinicians.py) against a real server: each
logs in through the form and opens review pages, and a page with an error is counted as one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dashboard import cli
from dashboard.demo import DEMO_ACCOUNTS, STORIES
from tests.app.conftest import copy_demo
from tests.e2e.conftest import start_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import clinicians  # noqa: E402


def test_the_bench_command_measures_the_import_against_its_baseline(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert cli.main(["bench", "--rows", "400", "--skip", "review,browser,login,clinicians,worklist",
                     "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    figures = result["sections"]["import"]
    assert figures["rows"] == 400
    assert figures["ratio_to_executemany"] == round(figures["executemany_s"] / figures["import_s"], 3)
    assert "ratio to executemany" in capsys.readouterr().out


def test_the_bench_command_runs_every_section_in_its_quick_mode(tmp_path):
    """Issue 25 item 4: one run, every section (Chromium included, and an empty Streamlit page as the
    floor), each figure printed beside the baseline run's; a section that breaks fails here. Run as a
    person runs it, in a process of its own: Playwright's synchronous API refuses to start a second
    time in a test worker whose browser tests hold theirs (tests/e2e/conftest.py ``browser``)."""
    out, base = tmp_path / "bench.json", tmp_path / "baseline.json"
    base.write_text(json.dumps({"machine": {"git_sha": "base"}, "sections": {
        "review": {"DEMO-001": {"rerun": {"median_s": 12.5}}}, "login": {"patients": [
            {"ref": "DEMO-001", "click_to_drawn_s": 23.25}]}}}))
    done = subprocess.run([sys.executable, "-m", "dashboard", "bench", "--quick", "--json", str(out),
                           "--baseline", str(base)], capture_output=True, text=True, timeout=1800, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    sections = result["sections"]
    assert set(sections) == {"import", "review", "browser", "login", "clinicians", "worklist"}
    assert sections["clinicians"]["errors"] == 0
    login = sections["login"]
    assert [r["ref"] for r in login["patients"]] == ["DEMO-001"]
    (opened,) = login["patients"]
    assert not opened["timed_out"] and not opened["errors"] and len(opened["charts"]) == opened["expected_charts"] > 0
    assert opened["click_to_drawn_s"] < opened["address_to_drawn_s"]
    assert {e["what"] for e in opened["server"]} >= {"run", "password check", "review: data"}  # the server's trace
    assert login["floor"]["shown_s"] > 0
    assert sections["browser"]["DEMO-001"]["first"]["charts"] == [opened["expected_charts"]]
    printed = done.stdout
    assert "baseline: baseline.json" in printed
    rerun = next(line for line in printed.splitlines() if "DEMO-001: warm rerun" in line)
    assert "12.500" in rerun  # the baseline's figure beside this run's
    click = next(line for line in printed.splitlines() if "DEMO-001: Log in click to every chart drawn" in line)
    assert "23.250" in click
    assert "an empty Streamlit page" in printed


def test_simulated_clinicians_log_in_and_open_their_patients_without_errors(demo_url, tmp_path):
    url = copy_demo(demo_url, tmp_path / "clinic.sqlite")
    passwords = {u: p for u, _n, _r, p in DEMO_ACCOUNTS}
    accounts = [(u, passwords[u], [s.ref for s in STORIES if u in s.shared_with]) for u in ("dr.rivera", "dr.chen")]
    proc, base = start_server(url, demo=False)
    try:
        result = clinicians.run(base.removeprefix("http://"), accounts, clinicians=2, rounds=2,
                                   think=(0.1, 0.3), server_pid=proc.pid, idle_sessions=2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert result["errors"] == 0, result["error_detail"]
    assert result["pages"] == 4
    assert result["review_kb_median"] > 20  # a review page, not the login form again
    assert result["memory"]["mb_per_idle_session"] is not None


def test_simulated_clinicians_spread_over_two_server_processes(demo_url, tmp_path):
    """As behind the sticky proxy: each clinician keeps to one process, and both processes serve."""
    url = copy_demo(demo_url, tmp_path / "clinic.sqlite")
    passwords = {u: p for u, _n, _r, p in DEMO_ACCOUNTS}
    accounts = [(u, passwords[u], [s.ref for s in STORIES if u in s.shared_with]) for u in ("dr.rivera", "dr.chen")]
    servers = [start_server(url, demo=False) for _ in range(2)]
    try:
        result = clinicians.run([base.removeprefix("http://") for _, base in servers], accounts, clinicians=2,
                                rounds=2, think=(0.1, 0.3), server_pid=servers[0][0].pid, idle_sessions=1)
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(timeout=30)
    assert result["errors"] == 0, result["error_detail"]
    assert result["servers"] == 2 and result["pages_per_server"] == [2, 2]


def test_a_clinician_who_cannot_log_in_is_an_error_of_the_run(demo_url, tmp_path):
    url = copy_demo(demo_url, tmp_path / "clinic.sqlite")
    passwords = {u: p for u, _n, _r, p in DEMO_ACCOUNTS}
    accounts = [("dr.rivera", passwords["dr.rivera"], ["DEMO-001"]), ("dr.chen", "not-her-password", ["DEMO-008"])]
    proc, base = start_server(url, demo=False)
    try:
        result = clinicians.run(base.removeprefix("http://"), accounts, clinicians=2, rounds=1,
                                   think=(0.1, 0.2), idle_sessions=1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert result["errors"] == 1
    assert result["error_detail"] == ["clinician 1: RuntimeError: login refused for dr.chen"]
    assert result["pages"] == 1  # dr.rivera's


def test_the_bench_keeps_its_clinic_and_measures_it_again_without_building(tmp_path, monkeypatch):
    """``--keep NAME`` leaves the built clinic behind; ``--existing URL`` measures that clinic as it is."""
    from sqlalchemy import func, select

    from dashboard.db.models import Patient
    from dashboard.db.session import get_engine, session_scope

    monkeypatch.chdir(tmp_path)
    skip_all = ["--skip", "import,review,browser,login,clinicians,worklist"]  # no browser: the build and keep only
    assert cli.main(["bench", "--patients", "2", "--years", "0.2", *skip_all, "--keep", "kept",
                     "--json", str(tmp_path / "built.json")]) == 0
    url = f"sqlite:///{tmp_path / 'kept.sqlite'}"
    with session_scope(url) as session:
        patients = session.scalar(select(func.count()).select_from(Patient))
        scale = session.scalar(select(func.count()).select_from(Patient).where(Patient.ref.like("SCALE-%")))
    assert scale == 2
    get_engine(url).dispose()
    out = tmp_path / "again.json"
    assert cli.main(["bench", "--skip", "import,review,browser,login,clinicians", "--existing", url,
                     "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert "scale" not in result["database"] and result["database"]["copies"] == 0  # measured, not built
    assert result["sections"]["worklist"]["patients"] == patients

"""The suggester on real logs' names and layouts (import-formats.md section 4): pain named by its
number, blood pressure columns, a date and a time apart, day/month dates shown for confirmation,
HHMM times; and ``profile suggest`` printing a profile that ``--profile`` takes after review."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from dashboard.ingest.profiles import date_readings, guess_field, parse_with_profile, suggest_profile, validate_profile
from tests.clirun import cli

MM = "data/real/diary_csv/monstermizer"
TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(("name", "field"), [
    ("Intensity", "pain"), ("level", "pain"), ("Score", "pain"), ("NRS", "pain"), ("Pain level", "pain"),
    ("Worst pain", "pain_worst"), ("Systolic", "bp_systolic"), ("SYS (mmHg)", "bp_systolic"), ("SBP", "bp_systolic"),
    ("BP sys", "bp_systolic"), ("Diastolic", "bp_diastolic"), ("DIA", "bp_diastolic"), ("dbp", "bp_diastolic"),
    ("Pulse", None), ("Energy level", None), ("Weather", None),
])
def test_common_column_names_are_recognised(name, field):
    assert guess_field(name) == field


def _suggest(text: str) -> tuple[dict, list]:
    raw = text.encode()
    profile = suggest_profile(raw, "log.csv")
    return profile, date_readings(raw, "log.csv", profile)


def test_a_blood_pressure_log_with_date_and_hhmm_time_apart_imports_after_confirming_the_date_order():
    profile, readings = _suggest("Date,Time,SYS (mmHg),DIA (mmHg),Pulse,Pain Level\n"
                                 "03/04/2026,0930,150,95,70,6\n03/05/2026,2130,140,90,72,5\n")
    assert {k: profile.get(k) for k in ("date_column", "date_format", "time_column", "time_format", "columns")} == {
        "date_column": "Date", "date_format": "%m/%d/%Y", "time_column": "Time", "time_format": "%H%M",
        "columns": {"SYS (mmHg)": "bp_systolic", "DIA (mmHg)": "bp_diastolic", "Pulse": None, "Pain Level": "pain"}}
    # Every day is 12 or less: both orders read the file, and both readings are shown.
    assert [(r["date_format"], r["chosen"], r["readings"][0]) for r in readings] == [
        ("%m/%d/%Y", True, "03/04/2026 = 4 March 2026"), ("%d/%m/%Y", False, "03/04/2026 = 3 April 2026")]
    parsed = parse_with_profile(b"Date,Time,SYS (mmHg),DIA (mmHg),Pulse,Pain Level\n03/04/2026,0930,150,95,70,6\n",
                                "log.csv", validate_profile(profile), patient_ref="P1", today=TODAY)
    (entry,) = parsed.diary
    assert entry.recorded_at == datetime(2026, 3, 4, 9, 30)
    assert entry.measures == {"bp_systolic": 150.0, "bp_diastolic": 95.0, "pain": 6.0}


@pytest.mark.parametrize(("text", "chosen", "readings"), [
    # A day above 12 settles the order: one reading, still shown for confirmation.
    ("date,score\n3/14/2026,6\n3/15/2026,5\n", "%m/%d/%Y", [["3/14/2026 = 14 March 2026", "3/15/2026 = 15 March 2026"]]),
    ("date,score\n14/03/2026,6\n", "%d/%m/%Y", [["14/03/2026 = 14 March 2026"]]),
    ("Datum,Intensity\n13.03.2026,6\n1.4.2026,5\n", "%d.%m.%Y", [["13.03.2026 = 13 March 2026", "1.4.2026 = 1 April 2026"]]),
    ("when,level\n2026-03-14,6\n", "%Y-%m-%d", []),  # ISO: nothing to confirm
])
def test_day_month_dates_are_shown_as_read(text, chosen, readings):
    profile, found = _suggest(text)
    assert profile["date_format"] == chosen
    assert [r["readings"] for r in found] == readings


def test_the_real_logs_get_profiles_that_import(shared_dir):
    """MonsterMizer's long files (name, intensity, date) and P1's hand-kept region log."""
    for path, entries in ((f"{MM}/Participant2Pain.csv", 553), (f"{MM}/Participant8Pain.csv", None),
                          (f"{MM}/pain.csv", 1490)):
        raw = (shared_dir / path).read_bytes()
        profile = validate_profile(suggest_profile(raw, Path(path).name))
        parsed = parse_with_profile(raw, Path(path).name, profile, patient_ref="P1", today=TODAY)
        assert parsed.diary and not parsed.refused, (path, parsed.refused[:3])
        assert entries is None or len(parsed.diary) == entries
    regions = suggest_profile((shared_dir / f"{MM}/pain.csv").read_bytes(), "pain.csv")["items"]
    assert regions["Knees"] == regions["Low back"] == "pain"  # a region log: each region is where it hurts


def test_profile_suggest_prints_a_profile_that_import_takes_after_saving(shared_dir, db_url, tmp_path):
    source = shared_dir / MM / "Participant2Pain.csv"
    suggested = cli(db_url, "profile", "suggest", str(source))
    assert suggested.returncode == 0, suggested.stderr
    (tmp_path / "mm.json").write_text(suggested.stdout)
    assert json.loads(suggested.stdout)["items"] == {"Knee Pain": "pain", "happiness": "mood"}
    saved = cli(db_url, "profile", "save", "monstermizer", str(tmp_path / "mm.json"))
    assert saved.returncode == 0, saved.stderr
    done = cli(db_url, "import", str(source), "--profile", "monstermizer", "--patient", "MM-2", "--json")
    assert done.returncode == 0, done.stderr
    assert (json.loads(done.stdout)["status"], json.loads(done.stdout)["entries_added"]) == ("imported", 553)


def test_profile_suggest_says_what_staff_must_review(shared_dir, sqlite_url, tmp_path):
    """Daylio's mood words need numbers: the suggestion leaves the column ignored and asks, with the
    words, and it saves as it is (import-formats.md, "Version 3")."""
    suggested = cli(sqlite_url, "profile", "suggest", str(shared_dir / "data/real/diary_csv/daylio/sample.csv"))
    assert suggested.returncode == 0
    assert "mood: This column holds words, not numbers: to read it as mood, give each word a number (0 to 10)." \
        in suggested.stderr
    assert "  values: average | sad" in suggested.stderr
    (tmp_path / "daylio.json").write_text(suggested.stdout)
    saved = cli(sqlite_url, "profile", "save", "daylio", str(tmp_path / "daylio.json"))
    assert saved.returncode == 0, saved.stderr
    ambiguous = tmp_path / "bp.csv"
    ambiguous.write_text("Date,Time,Systolic,Diastolic\n03/04/2026,0930,150,95\n")
    notes = cli(sqlite_url, "profile", "suggest", str(ambiguous)).stderr
    assert "check date_format: these dates read more than one way" in notes
    assert "as %d/%m/%Y: 03/04/2026 = 3 April 2026" in notes


def test_profile_usage_errors_exit_2(sqlite_url, tmp_path):
    assert cli(sqlite_url, "profile", "suggest", str(tmp_path / "missing.csv")).returncode == 2
    assert cli(sqlite_url, "profile").returncode == 2

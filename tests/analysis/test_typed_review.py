"""The review is read through its typed fields; its JSON is written in one place (``Review.to_dict``).

Issue 20, "a typed review": the page, the note, the report, the worklist and the cohort read
``Review`` attributes; nothing outside the writer indexes the summary's dict by key.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis.reported import PatientDetails, json_ready, reported
from dashboard.analysis.measures import NO_MEASURES
from dashboard.analysis.review import NO_ACKNOWLEDGEMENTS, REVIEW_FRAMES, build_review, review_of
from dashboard.config import Thresholds
from tests.analysis.test_review import FULL, _frames

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
WRITER = DASHBOARD / "analysis" / "review.py"  # Review.to_dict: the one writer of the summary's dict
# What hands out the summary's dict: reading a key of what these return is reading the JSON by key.
SUMMARY_SOURCES = {"summary", "to_dict", "build_summary", "patient_summary"}


def _name(node: ast.AST) -> str | None:
    """'summary' for ``summary``, ``review.summary``, ``review.to_dict()``, ``build_summary(...)``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def summary_reads(source: str) -> list[tuple[int, str]]:
    """(line, key) of every read by a string key of the summary's dict: ``x.summary["key"]``,
    ``summary["key"]``, ``x.to_dict()["key"]``, ``build_summary(...)["key"]`` and ``.get("key")``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and _name(node.value) in SUMMARY_SOURCES \
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            found.append((node.lineno, node.slice.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and _name(node.func.value) in SUMMARY_SOURCES and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.append((node.lineno, node.args[0].value))
    return found


def test_nothing_but_the_writer_reads_the_summary_by_key():
    offenders = [f"{path.relative_to(DASHBOARD.parent)}:{line} [{key!r}]"
                 for path in sorted(DASHBOARD.rglob("*.py")) if path != WRITER
                 for line, key in summary_reads(path.read_text(encoding="utf-8"))]
    assert offenders == [], "read the Review's typed fields instead: " + ", ".join(offenders)


@pytest.mark.parametrize("source", [
    'limits = review.summary["thresholds"]',
    'base = summary["baseline"]["mean_pain"]',
    'led = review.summary.get("lowest_effective_dose")',
    'ref = review.to_dict()["patient"]["ref"]',
    'steps = build_summary(patient=p)["steps"]',
])
def test_the_scan_sees_a_read_by_key(source):
    assert summary_reads(source)


@pytest.mark.parametrize("source", [
    'detail = {k: summary[k] for k in keys}',  # the demo's own summary, read by a loop variable
    'mean = spread["mean"]',
    'limits = review.thresholds.baseline_days',
])
def test_the_scan_leaves_other_subscripts_alone(source):
    assert summary_reads(source) == []


@pytest.mark.parametrize("value", [
    {"a_pct": -29.996, "b": 7.07142857, "when": pd.Timestamp("2026-03-02"), "gone": float("nan")},
    [np.float64(1.005), np.int64(3), np.bool_(True), pd.NaT, None, "text"],
    {"nested": {"mg_pct": 97.3684, "dates": (date(2026, 1, 2), datetime(2026, 1, 3, 12, 30))}},
    np.datetime64("2026-05-01"),
    float("inf"),
])
def test_reported_figures_write_the_same_json(value):
    """The typed records hold ``reported`` figures; writing them must give what ``json_ready`` of
    the raw figures gives, or the page and the JSON could differ."""
    assert json_ready(reported(value)) == json_ready(value)
    assert json.dumps(json_ready(reported(value))) == json.dumps(json_ready(value))


def test_reported_keeps_dates_as_dates():
    figures = reported({"start": date(2026, 3, 2), "mean_pain": 7.0714, "change_pct": -29.97})
    assert figures == {"start": pd.Timestamp("2026-03-02"), "mean_pain": 7.07, "change_pct": -29.97}


def test_review_of_puts_the_frames_together_as_build_review_takes_them():
    frames = _frames(FULL)
    stored = type("StoredPatient", (), {"ref": "P-1", "name": "Ada", "birth_year": 1970, "condition": None})()
    given = {"acknowledgements": NO_ACKNOWLEDGEMENTS, "measures": NO_MEASURES,
             **{name: frames[name] for name in REVIEW_FRAMES if name in frames}}
    review = review_of(stored, {**given, "proposed_steps": frames["steps"].iloc[:0]},
                       thresholds=frames["thresholds"], as_of=frames["as_of"])
    direct = build_review(**{**frames, "patient": {"ref": "P-1", "name": "Ada", "birth_year": 1970,
                                                   "condition": None}})
    assert review.patient == PatientDetails("P-1", "Ada", 1970, None)
    assert review.to_dict() == direct.to_dict()
    assert list(review.to_dict()["patient"]) == ["ref", "name", "birth_year", "condition"]


def test_the_json_is_written_from_the_typed_fields():
    review = build_review(**_frames(FULL))
    summary = json.loads(review.to_json())
    assert summary == review.to_dict()
    assert summary["as_of"] == f"{review.as_of:%Y-%m-%d}"
    assert summary["baseline"] == json_ready(asdict(review.baseline))
    assert summary["steps"] == [json_ready(asdict(step)) for step in review.step_summaries]
    assert summary["visit_intervals"] == [json_ready(asdict(i)) for i in review.visit_intervals]
    assert summary["thresholds"] == json_ready(asdict(review.thresholds)) == json_ready(asdict(Thresholds()))  # T
    assert summary["last_visit"] == (None if review.last_visit is None else {
        "date": f"{review.last_visit.date:%Y-%m-%d}", "kind": review.last_visit.kind,
        "days_since": review.days_since_last_visit})

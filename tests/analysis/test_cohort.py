"""The cohort's figures: the dose bands, the small-group rule, and the demo clinic's figures
recomputed by hand from each patient's ``summary --json`` (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from datetime import date
from statistics import mean, median

import pandas as pd
import pytest
import streamlit as st

from dashboard import cli, loaders
from dashboard.analysis.cohort import (
    ALL_PATIENTS, BAND_ORDER, MIN_GROUP, NO_DAILY_DOSE, cohort_json, dose_band, flag_rates, responders_by,
    side_effect_rates, time_to_lowest_effective_dose,
)
from dashboard.stored.review import patient_summary
from dashboard.auth.accounts import resolve_user
from dashboard.db.session import session_scope
from dashboard.demo import STORIES


@pytest.mark.parametrize("mg, band", [
    (0, "<50 mg/day"), (49.9, "<50 mg/day"), (50, "50–<100 mg/day"), (99.5, "50–<100 mg/day"),
    (100, "100–<150 mg/day"), (150, "150–<300 mg/day"), (299, "150–<300 mg/day"), (300, "≥300 mg/day"),
    (1200, "≥300 mg/day"), (None, NO_DAILY_DOSE), (float("nan"), NO_DAILY_DOSE),
])
def test_dose_bands_include_their_lower_bound(mg, band):
    assert dose_band(mg) == band


# --- the small-group rule -------------------------------------------------------------------------

def _patients(groups: dict[str, int]) -> pd.DataFrame:
    rows = []
    for condition, n in groups.items():
        for i in range(n):
            rows.append({"ref": None, "condition": condition, "latest_daily_dose_mg": 75.0, "band": "50–<100 mg/day",
                         "responder": "moderate" if i % 2 else "none", "early": False,
                         "days_to_lowest_effective_dose": 30.0 * (i + 1) if i % 2 else None, "observed_days": 100})
    return pd.DataFrame(rows)


def test_a_group_of_four_is_hidden_and_a_group_of_five_shown():
    assert MIN_GROUP == 5
    table = responders_by(_patients({"Four": 4, "Five": 5}), "condition").set_index("group")
    assert table.loc["Four", "n"] == 4 and table.loc["Four", "too_small"]
    assert table.loc["Four", ["moderate", "none", "moderate_share", "early"]].isna().all()
    assert table.loc["Five", "n"] == 5 and not table.loc["Five", "too_small"]
    assert (table.loc["Five", "moderate"], table.loc["Five", "none"]) == (2, 3)
    assert table.loc["Five", "moderate_share"] == pytest.approx(0.4)

    led = time_to_lowest_effective_dose(_patients({"Four": 4, "Five": 5})).set_index("group")
    assert led.loc["Four", "too_small"] and led.loc["Four", ["reached", "median_days"]].isna().all()
    five = led.loc["Five"]
    assert (five["reached"], five["not_reached"], five["median_days"]) == (2, 3, 90)  # days 60 and 120
    assert led.loc[ALL_PATIENTS, "n"] == 9 and led.loc[ALL_PATIENTS, "reached"] == 4


@pytest.mark.parametrize("patients, hidden", [(4, True), (5, False)])
def test_side_effects_and_flags_follow_the_same_rule(patients, hidden):
    effects = pd.DataFrame({"band": ["<50 mg/day"] * patients, "effect": ["nausea"] * patients,
                            "diary_days": [10] * patients, "days_reported": [1, 2, 3, 4, 5][:patients],
                            "severe_days": [0] * patients, "patient": list(range(patients))})
    rates = side_effect_rates(effects)
    assert rates["n"].tolist() == [patients] and rates["too_small"].tolist() == [hidden]
    assert math.isnan(rates["reported_share"].iloc[0]) == hidden
    if not hidden:
        assert rates["reported_share"].iloc[0] == pytest.approx(0.3)  # mean of 0.1 .. 0.5, each patient once
    flags = pd.DataFrame({"rule": ["bp_high"], "runs": [3], "patient": [0]})
    table = flag_rates(flags, pd.Series([365.25 / 12 * 10 / patients] * patients)).set_index("rule")
    assert table.loc["bp_high", "too_small"] == hidden
    assert math.isnan(table.loc["bp_high", "per_100_patient_months"]) == hidden
    if not hidden:
        assert table.loc["bp_high", "per_100_patient_months"] == pytest.approx(30.0)  # 3 runs in 10 months


# --- the demo clinic against its summaries -------------------------------------------------------------

def _band(mg) -> str:
    if mg is None:
        return NO_DAILY_DOSE
    edges = [50, 100, 150, 300]
    return BAND_ORDER[sum(mg >= e for e in edges)]


def _day(text: str) -> date:
    return date.fromisoformat(text)


def recompute(summaries: list[dict]) -> dict:
    """The cohort's figures from ``summary --json`` alone, written out by hand."""
    responders = {"band": defaultdict(Counter), "condition": defaultdict(Counter)}
    led_days, treated, effects, flags, patients_with, observed = [], 0, defaultdict(list), Counter(), Counter(), 0
    for summary in summaries:
        troche = sorted((s for s in summary["steps"] if s["route"].strip().lower() == "troche"),
                        key=lambda s: s["start"])
        period = summary["review_period"]
        observed += (_day(period["end"]) - _day(period["start"])).days + 1
        for rule, k in Counter(f["rule"] for f in summary["flags"]).items():
            flags[rule] += k
            patients_with[rule] += 1
        if not troche:
            continue
        treated += 1
        latest = troche[-1]
        category = latest["responder"] or "not judged"
        responders["band"][_band(latest["daily_dose_mg"])][category] += 1
        responders["condition"][summary["patient"]["condition"]][category] += 1
        led = summary["lowest_effective_dose"]
        if led is not None:
            led_days.append((_day(led["step_start"]) - _day(troche[0]["start"])).days)
        days = defaultdict(lambda: [0.0, 0])  # (band, effect) -> [days reported, diary days]
        for step in troche:
            for effect, figures in step["side_effects"].items():
                cell = days[(_band(step["daily_dose_mg"]), effect)]
                cell[0] += figures["share_of_days"] * step["diary_days"]
                cell[1] += step["diary_days"]
        for key, (reported, diary_days) in days.items():
            effects[key].append(reported / diary_days)
    return {"responders": responders, "led_days": led_days, "treated": treated, "effects": effects,
            "flags": flags, "patients_with": patients_with, "months": observed / (365.25 / 12)}


def _check_responders(table: pd.DataFrame, expected: dict[str, Counter]) -> None:
    assert set(table["group"]) == set(expected)
    for row in table.itertuples():
        want = expected[row.group]
        assert row.n == sum(want.values())
        assert row.too_small == (row.n < MIN_GROUP)
        if not row.too_small:
            got = {c: table.loc[row.Index, c] for c in want}
            assert got == dict(want), row.group


@pytest.fixture
def demo_db(demo_db, monkeypatch):
    """The shared demo clinic (tests/conftest.py), and the app's loaders pointed at it."""
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", demo_db)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield demo_db
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.parametrize("username", ["dr.rivera", "sam.staff"])
def test_demo_cohort_matches_a_recomputation_from_the_summaries(demo_db, username, capsys):
    today = date.today()
    with session_scope(demo_db) as session:
        user = resolve_user(session, username)
    refs = sorted(s.ref for s in STORIES if username in s.shared_with or user.role == "staff")
    cohort = loaders.cohort(user, today)
    with session_scope(demo_db) as session:
        summaries = [patient_summary(session, ref, as_of=today) for ref in refs]
    expected = recompute(summaries)

    assert cohort.n_patients == len(refs)
    openable = sorted(s.ref for s in STORIES if username in s.shared_with)
    assert sorted(cohort.patients["ref"].dropna()) == openable
    _check_responders(cohort.responders_by_band, expected["responders"]["band"])
    _check_responders(cohort.responders_by_condition, expected["responders"]["condition"])

    everyone = cohort.lowest_effective_dose.set_index("group").loc[ALL_PATIENTS]
    days = expected["led_days"]
    assert (everyone["n"], everyone["reached"], everyone["not_reached"]) == (
        expected["treated"], len(days), expected["treated"] - len(days))
    assert (everyone["median_days"], everyone["min_days"], everyone["max_days"]) == (
        median(days), min(days), max(days))

    effects = cohort.side_effects.set_index(["band", "effect"])
    assert set(effects.index) == set(expected["effects"])
    for key, shares in expected["effects"].items():
        row = effects.loc[key]
        assert row["n"] == len(shares) and row["too_small"] == (len(shares) < MIN_GROUP)
        if not row["too_small"]:
            # The summary rounds each share to 2 decimals: at most 0.005 off per patient.
            assert row["reported_share"] == pytest.approx(mean(shares), abs=0.0051), key

    # The command line prints the same figures, from the same functions.
    assert cli.main(["cohort", "--as", username, "--json"]) == cli.EXIT_OK
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(cohort_json(cohort, as_of=today, scope=printed["scope"])))
    assert printed["scope"] == ("the clinic" if user.role == "staff" else "patients shared with you")
    for story in STORIES:
        if story.ref not in refs:
            assert story.condition not in json.dumps(printed, ensure_ascii=False)

    flags = cohort.flags.set_index("rule")
    assert set(flags["n"]) == {len(refs)}
    for rule, row in flags.iterrows():
        assert row["runs"] == expected["flags"][rule] and row["patients_with"] == expected["patients_with"][rule]
        assert row["per_100_patient_months"] == pytest.approx(100 * expected["flags"][rule] / expected["months"])

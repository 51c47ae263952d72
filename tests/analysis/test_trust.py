"""Version 3, "Is it a fair test?": qualifiers, clinically important differences, the step just
finished and when the current step can be judged (review-metrics.md v3, "Trust")."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.analysis.summary import build_summary
from dashboard.analysis.trust import (
    administrations,
    clinically_important,
    comparison_qualifiers,
    infusions_near,
    judged_from,
)
from dashboard.analysis.last_step_words import cautions
from dashboard.config import Thresholds
from tests.analysis import comedications, daily_diary, day, side_effects, steps, ts, visits

T = Thresholds()


def _row(window_start: str, window_end: str, pain_days: int, mg_pct: float | None) -> dict:
    return {"window_start": ts(window_start), "window_end": ts(window_end), "response_pain_days": pain_days,
            "mg_pct": mg_pct}


# The previous step's window Jan 15-28 (14 days); the current step began Feb 1, its window Feb 15-28 (14 days),
# its onset days Feb 1-14.
PREVIOUS = ("2026-01-15", "2026-01-28")
CURRENT = ("2026-02-15", "2026-02-28")


@pytest.mark.parametrize(("current", "previous", "administered", "expected"), [
    ((14, 100.0), (14, 100.0), [], []),
    # Adherence: 80 % is enough, just below is not; either step.
    ((14, 80.0), (14, 100.0), [], []),
    ((14, 79.99), (14, 100.0), [], ["low_adherence"]),
    ((14, 100.0), (14, 35.0), [], ["low_adherence"]),
    ((14, None), (14, 100.0), [], []),  # adherence that cannot be counted is not said to be low
    # Pain on half the window's days is enough, fewer is sparse; either window.
    ((7, 100.0), (14, 100.0), [], []),
    ((6, 100.0), (14, 100.0), [], ["sparse_diary"]),
    ((14, 100.0), (6, 100.0), [], ["sparse_diary"]),
    # An administration in either window, or in the 14 onset days before the later window.
    ((14, 100.0), (14, 100.0), ["2026-02-20"], ["infusion_in_window"]),
    ((14, 100.0), (14, 100.0), ["2026-01-15"], ["infusion_in_window"]),
    ((14, 100.0), (14, 100.0), ["2026-02-01"], ["infusion_in_window"]),
    ((14, 100.0), (14, 100.0), ["2026-02-14"], ["infusion_in_window"]),
    ((14, 100.0), (14, 100.0), ["2026-01-31"], []),  # after the previous window, before the onset days
    ((14, 100.0), (14, 100.0), ["2026-01-14"], []),  # the day before the previous window
    ((14, 100.0), (14, 100.0), ["2026-03-01"], []),  # after the current window
    # All three, in the spec's order.
    ((6, 50.0), (14, 100.0), ["2026-02-03"], ["low_adherence", "sparse_diary", "infusion_in_window"]),
])
def test_qualifiers_at_and_beyond_their_thresholds(current, previous, administered, expected):
    cur, prev = _row(*CURRENT, *current), _row(*PREVIOUS, *previous)
    given = pd.Series([ts(d) for d in administered], dtype="datetime64[ns]")
    assert comparison_qualifiers(cur, prev, given, T) == expected


def test_where_an_infusion_falls_is_named():
    cur, prev = _row(*CURRENT, 14, 100.0), _row(*PREVIOUS, 14, 100.0)
    given = pd.Series([ts("2026-01-20"), ts("2026-02-02"), ts("2026-02-16")], dtype="datetime64[ns]")
    assert [(f"{f['date']:%Y-%m-%d}", f["where"]) for f in infusions_near(cur, prev, given, T)] == [
        ("2026-01-20", "previous window"), ("2026-02-02", "onset days"), ("2026-02-16", "this window")]


@pytest.mark.parametrize(("thresholds", "cur_pct", "share_days", "expected"), [
    (Thresholds(low_adherence_pct=50.0), 60.0, 14, []),
    (Thresholds(low_adherence_pct=90.0), 85.0, 14, ["low_adherence"]),
    (Thresholds(sparse_diary_share=0.75), 100.0, 10, ["sparse_diary"]),
    (Thresholds(sparse_diary_share=0.25), 100.0, 4, []),
])
def test_qualifier_thresholds_are_settings(thresholds, cur_pct, share_days, expected):
    cur, prev = _row(*CURRENT, share_days, cur_pct), _row(*PREVIOUS, 14, 100.0)
    assert comparison_qualifiers(cur, prev, pd.Series([], dtype="datetime64[ns]"), thresholds) == expected


@pytest.mark.parametrize(("difference", "thresholds", "expected"), [
    (-1.0, T, True),
    (-0.99, T, False),
    (-0.995, T, False),  # judged unrounded: the JSON's -1.0 (2 decimals) is not clinically important
    (-3.2, T, True),
    (0.4, T, False),
    (None, T, None),
    (float("nan"), T, None),
    (-1.0, Thresholds(escalation_min_benefit_points=1.5), False),
    (1 - 2.0000000000000004, T, True),  # float noise of a -1.0 does not tip it
])
def test_clinically_important(difference, thresholds, expected):
    assert clinically_important(difference, thresholds) is expected


def test_administrations_from_in_clinic_steps_and_infusion_visits():
    from dashboard.analysis.periods import steps_table
    tbl = steps_table(steps({"start": "2026-01-01", "dose": 25}, {"start": "2026-02-03", "end": "2026-02-03",
                                                                  "dose": 35, "route": "IV"},
                            {"start": "2026-02-20", "dose": 50, "route": "IM"}), day("2026-03-31"))
    vis = visits(("2026-01-01", "in person"), ("2026-03-10", "infusion"), ("2026-04-10", "infusion"),
                 ("2026-03-20", "infusion", "booked"))
    assert [f"{d:%Y-%m-%d}" for d in administrations(tbl, vis, day("2026-03-31"))] == [
        "2026-02-03", "2026-02-20", "2026-03-10"]


@pytest.mark.parametrize(("start", "thresholds", "expected"), [
    ("2026-02-01", T, "2026-02-21"),  # + 14 onset days + 6: the window's 7th day
    ("2026-02-01", Thresholds(onset_days=7), "2026-02-14"),
    ("2026-02-01", Thresholds(min_response_days=10), "2026-02-24"),
])
def test_judged_from(start, thresholds, expected):
    assert f"{judged_from(ts(start), thresholds):%Y-%m-%d}" == expected


def _summary(pains, step_rows, as_of, visit_rows=(), dose_mg=None):
    entries = daily_diary("2026-01-01", pains, **({"dose_mg": dose_mg} if dose_mg is not None else {}))
    return build_summary(patient={"ref": "P-1"}, diary=entries, side_effects=side_effects(), steps=steps(*step_rows),
                         visits=visits(*visit_rows), comedications=comedications(), thresholds=T, as_of=day(as_of))


# Baseline Jan 1-14 at 8 with some spread; 25 mg from Jan 15 (Jan 15 - Feb 28), 50 mg from Mar 1, 75 mg from Apr 15.
_WAVE = [0.5, -0.5, 0.3, -0.3, 0.0, 0.4, -0.4]
PAINS = [8 + _WAVE[i % 7] for i in range(14)] + [6 + _WAVE[i % 7] for i in range(45)] + \
    [4 + _WAVE[i % 7] for i in range(45)] + [4 + _WAVE[i % 7] for i in range(10)]
STEPS = ({"start": "2026-01-15", "dose": 25}, {"start": "2026-03-01", "dose": 50}, {"start": "2026-04-15", "dose": 75})


def test_last_judged_step_after_a_new_step():
    # As of Apr 20 the 75 mg step is 6 days old: too early; the 50 mg step just finished stays judged.
    summary = _summary(PAINS, STEPS, "2026-04-20", dose_mg=25)
    current = summary["steps"][-1]
    assert current["vs_previous"]["verdict"] == "too early to judge"
    assert summary["current_step"]["judged_from"] == "2026-05-05"
    judged = summary["last_judged_step"]
    assert {k: judged[k] for k in ("step_start", "daily_dose_mg", "previous_daily_dose_mg")} == {
        "step_start": "2026-03-01", "daily_dose_mg": 50.0, "previous_daily_dose_mg": 25.0}
    assert judged["vs_previous"] == summary["steps"][1]["vs_previous"]
    assert judged["vs_previous"]["verdict"] == "better" and judged["vs_previous"]["difference"] == -2.0
    assert judged["vs_previous"]["clinically_important"] is True
    # 25 mg taken a day of 50 prescribed: 50 % of the mg, not a fair test of 50 mg/day.
    assert judged["vs_previous"]["qualifiers"] == ["low_adherence"]


def test_no_judged_step_and_an_infusion_visit_in_the_window():
    summary = _summary(PAINS[:80], STEPS[:2], "2026-03-21", visit_rows=[("2026-03-05", "infusion")], dose_mg=None)
    second = summary["steps"][1]["vs_previous"]
    # Mar 1 + 14 + 6 = Mar 21: no longer early, and the infusion on Mar 5 falls in its onset days.
    assert second["verdict"] in ("better", "no clear difference")
    assert second["qualifiers"] == ["infusion_in_window"]
    assert second["infusions"] == [{"date": "2026-03-05", "where": "onset days"}]
    early = _summary(PAINS[:79], STEPS[:2], "2026-03-20")
    assert early["steps"][1]["vs_previous"]["verdict"] == "too early to judge"
    assert early["last_judged_step"] is None


def _compared(mg: float, window: tuple[str, str], pain_days: int, mg_pct: float | None) -> dict:
    return {**_row(*window, pain_days, mg_pct), "daily_dose_mg": mg, "dose_mg": mg, "frequency": "daily",
            "route": "troche"}


@pytest.mark.parametrize(("current", "previous", "expected"), [
    # Only one side falls short: only that side is named.
    ((14, 60.0), (14, 100.0), ["only 60 % of the prescribed mg taken: not a fair test of 60 mg/day"]),
    ((14, 100.0), (14, 47.0), ["only 47 % of the prescribed mg taken on 40 mg/day: not a fair test"]),
    # Both fall short: both are named, the weaker first (DEMO-008's 40 mg step at 47 % used to go unsaid).
    ((14, 60.0), (14, 47.0), ["only 47 % of the prescribed mg taken on 40 mg/day: not a fair test",
                              "only 60 % of the prescribed mg taken: not a fair test of 60 mg/day"]),
    # 90 % is below 100 but above the 80 % setting: not named beside a side that is low.
    ((14, 90.0), (14, 47.0), ["only 47 % of the prescribed mg taken on 40 mg/day: not a fair test"]),
    ((6, 100.0), (5, 100.0), ["pain written on only 5 of 14 days of the 40 mg/day window: not a fair test",
                              "pain written on only 6 of 14 days of the 60 mg/day window: not a fair test"]),
    ((6, 100.0), (14, 100.0), ["pain written on only 6 of 14 days of the 60 mg/day window: not a fair test"]),
])
def test_cautions_name_every_step_that_falls_short(current, previous, expected):
    step = _compared(60, CURRENT, *current)
    before = _compared(40, PREVIOUS, *previous)
    step["qualifiers"] = comparison_qualifiers(step, before, pd.Series([], dtype="datetime64[ns]"), T)
    assert list(cautions(step, before, day("2026-03-01"), T)) == expected

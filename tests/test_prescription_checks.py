"""The prescription checks (dashboard.prescription_checks), pure: the clinic's maximum daily dose and
the doubling rule at and beyond their limits, daily doses by frequency, overlaps (refused, or the
existing step ended by choice), gaps, and what the stored steps already carry not asked again."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashboard import prescription_checks as pc

TODAY = date(2026, 9, 30)
MAXIMUM = 300.0


def stored(*steps: tuple) -> pd.DataFrame:
    """(step_id, start, end, dose, frequency[, max_per_day[, route[, status]]]) as a titration_frame."""
    rows = []
    for step in steps:
        step_id, start, end, dose, frequency, *rest = step
        most, route, status = (rest + [None, "troche", "active"][len(rest):])[:3]
        rows.append({"step_id": step_id, "start_date": pd.Timestamp(start), "end_date": pd.Timestamp(end) if end else pd.NaT,
                     "dose_mg": float(dose), "frequency": frequency, "max_per_day": float("nan") if most is None else most,
                     "route": route, "note": None, "status": status})
    columns = ["step_id", "start_date", "end_date", "dose_mg", "frequency", "max_per_day", "route", "note", "status"]
    return pd.DataFrame(rows, columns=columns)


def new(start, dose, frequency="daily", end=None, most=None, route="troche", step_id=None) -> pc.NewStep:
    return pc.NewStep(start=start, end=end, dose_mg=dose, frequency=frequency, max_per_day=most, route=route,
                      step_id=step_id)


def run(steps: pd.DataFrame, *changes: pc.NewStep, maximum: float = MAXIMUM) -> pc.Result:
    return pc.check(steps, list(changes), maximum_mg=maximum, today=TODAY)


CURRENT_100 = stored((1, "2026-08-01", None, 100, "daily"))


@pytest.mark.parametrize(("dose", "frequency", "most", "checks"), [
    # The maximum (300 mg/day): at it passes, a bit beyond needs a confirmation. Previous: 100 mg/day,
    # so anything above 200 mg/day is also more than doubled.
    (300, "daily", None, ["more_than_doubled"]),
    (300.01, "daily", None, ["above_maximum", "more_than_doubled"]),
    (150, "twice daily", None, ["more_than_doubled"]),
    (151, "twice daily", None, ["above_maximum", "more_than_doubled"]),
    (1000, "twice daily", None, ["above_maximum", "more_than_doubled"]),  # the 100 -> 2000 mg/day
    # The doubling rule: exactly twice passes, a bit more does not.
    (200, "daily", None, []),
    (200.01, "daily", None, ["more_than_doubled"]),
    (100, "twice daily", None, []),
    # Daily doses by frequency, as analysis reads them (clinic_rules.daily_dose).
    (400, "every other day", None, []),  # 200 mg/day
    (402, "every other day", None, ["more_than_doubled"]),  # 201 mg/day
    (200, "7 per week", None, []),  # 200 mg/day
    (350, "4 per week", None, []),  # 200 mg/day
    (351, "4 per week", None, ["more_than_doubled"]),
    (50, "as needed", 4.0, []),  # at most 4 a day: 200 mg/day
    (50, "as needed", 5.0, ["more_than_doubled"]),  # 250 mg/day
    (100, "as needed", 4.0, ["above_maximum", "more_than_doubled"]),  # 400 mg/day
])
def test_the_maximum_and_the_doubling_rule_at_and_beyond_their_limits(dose, frequency, most, checks):
    result = run(CURRENT_100, new(date(2026, 9, 1), dose, frequency, most=most))
    assert [f.check for f in result.findings] == checks
    assert not result.overlaps and not result.gaps
    refusals = result.refusals()
    assert [(field, why.endswith(pc.CONFIRM_NEEDS_REASON)) for _, field, why in refusals] == [("dose_mg", True)] * len(checks)
    assert result.refusals(reason="deliberate: see the letter of 1 Sep") == []
    assert result.refusals(reason="   ") == refusals  # a blank reason is no reason


@pytest.mark.parametrize(("maximum", "daily", "needs"), [(300.0, 300.0, False), (300.0, 300.5, True),
                                                         (200.0, 200.0, False), (200.0, 201.0, True)])
def test_the_maximum_is_the_clinics_setting(maximum, daily, needs):
    first = run(stored(), new(date(2026, 9, 1), daily), maximum=maximum)
    assert [f.check for f in first.findings] == (["above_maximum"] if needs else [])


def test_the_findings_say_the_numbers_in_words():
    (above, doubled) = run(CURRENT_100, new(date(2026, 9, 1), 1000, "twice daily")).findings
    assert above.audit() == {"check": "above_maximum", "daily_dose_mg": 2000.0, "limit_mg": 300.0,
                             "previous_daily_dose_mg": None, "words": above.words}
    assert above.words == "2000 mg/day (1000 mg twice daily from 01 Sep 2026) is above the clinic's maximum of 300 mg/day"
    assert (doubled.daily_dose_mg, doubled.limit_mg, doubled.previous_daily_dose_mg) == (2000.0, 200.0, 100.0)
    assert doubled.words == ("2000 mg/day (1000 mg twice daily from 01 Sep 2026) is more than twice the previous "
                             "troche step's 100 mg/day (100 mg daily from 01 Aug 2026), 20 times as much")


def test_only_troche_steps_are_checked():
    """IV and IM sessions are dosed by weight in clinic: only their per-administration limit applies."""
    assert run(CURRENT_100, new(date(2026, 9, 1), 400, route="IV", end=date(2026, 9, 1))) == pc.Result()


def test_what_the_stored_steps_already_carry_is_not_asked_again():
    steps = stored((1, "2026-07-01", None, 50, "daily"), (2, "2026-08-01", None, 400, "daily"))
    # Changing the note-free end of the 400 mg step keeps its numbers: nothing new to confirm.
    result = run(steps, new(date(2026, 8, 1), 400, end=date(2026, 9, 30), step_id=2))
    assert result.findings == ()
    # Raising it further is new.
    assert [f.check for f in run(steps, new(date(2026, 8, 1), 450, step_id=2)).findings] == \
        ["above_maximum", "more_than_doubled"]


def test_a_step_inserted_before_a_stored_one_is_asked_for_the_rise_it_makes():
    steps = stored((1, "2026-07-01", "2026-07-31", 100, "daily"), (2, "2026-08-15", None, 200, "daily"))
    (finding,) = run(steps, new(date(2026, 8, 1), 50, end=date(2026, 8, 14))).findings
    assert (finding.check, finding.daily_dose_mg, finding.previous_daily_dose_mg, finding.new_index) == \
        ("more_than_doubled", 200.0, 50.0, 0)


# --- overlaps ------------------------------------------------------------------------------------

CURRENT_125 = stored((1, "2026-07-01", "2026-07-31", 100, "daily"), (2, "2026-08-01", None, 125, "daily"))


def test_the_next_step_after_the_current_one_is_no_overlap():
    """A step without an end date runs until the next starts: that is how titration goes on."""
    assert run(CURRENT_125, new(date(2026, 9, 15), 150)) == pc.Result()


def test_a_back_dated_step_inside_the_current_one_is_refused_with_both_steps_named():
    """The issue's example: 125 mg from 15 Aug to 1 Sep inside 125 mg daily from 1 Aug (running on)."""
    result = run(CURRENT_125, new(date(2026, 8, 15), 125, end=date(2026, 9, 1)))
    (overlap,) = result.overlaps
    assert overlap.words == ("the troche step of 125 mg daily from 15 Aug 2026 to 01 Sep 2026 overlaps the troche "
                             "step of 125 mg daily from 01 Aug 2026 (it starts within that step's days): troche "
                             "steps never overlap")
    assert overlap.ending == pc.Ending(2, None, date(2026, 8, 14), "ends 125 mg daily (from 01 Aug 2026) on 14 Aug 2026")
    ((index, field, why),) = result.refusals(reason="a reason confirms doses, never an overlap")
    assert (index, field) == (0, "start_date") and why.startswith(overlap.words)
    assert "ends 125 mg daily (from 01 Aug 2026) on 14 Aug 2026" in why  # the way out, in words
    # Ending the existing step the day before is the user's choice; then it may be saved, and the gap it
    # leaves after 1 Sep is said.
    assert result.refusals(end_existing=True) == []
    assert result.gaps == ("No troche step from 02 Sep 2026 to 30 Sep 2026 (today): these days would have no "
                           "prescription",)
    assert result.audit(end_existing=True)["ended"] == [
        {"titration_step": 2, "old_end": None, "new_end": date(2026, 8, 14),
         "words": "ends 125 mg daily (from 01 Aug 2026) on 14 Aug 2026"}]


@pytest.mark.parametrize(("change", "field", "endable"), [
    (new(date(2026, 8, 1), 150), "start_date", False),  # the same first day: ending the other leaves it no day
    (new(date(2026, 7, 15), 110), "start_date", True),  # inside a step that ended on its own date
    (new(date(2026, 7, 15), 110, end=date(2026, 8, 5)), "end_date", False),  # ... and reaching into the next
    (new(date(2026, 6, 1), 90, end=date(2026, 7, 1)), "end_date", False),  # ends on a later step's first day
])
def test_overlaps_and_whether_ending_the_existing_step_resolves_them(change, field, endable):
    result = run(CURRENT_125, change)
    assert field in [o.field for o in result.overlaps]
    assert result.endable is endable
    assert (result.refusals(end_existing=True) == []) is endable


def test_a_step_before_the_first_or_in_a_gap_is_no_overlap():
    assert run(CURRENT_125, new(date(2026, 6, 1), 90)).overlaps == ()  # runs until 1 Jul starts
    gap = stored((1, "2026-07-01", "2026-07-10", 100, "daily"), (2, "2026-08-01", None, 125, "daily"))
    assert run(gap, new(date(2026, 7, 11), 100, end=date(2026, 7, 31))) == pc.Result()


def test_steps_written_together_may_not_overlap_each_other():
    result = run(stored(), new(date(2026, 8, 1), 50, end=date(2026, 8, 20)), new(date(2026, 8, 15), 75))
    assert [(o.new_index, o.field, o.ending) for o in result.overlaps] == [(1, "start_date", None)]


# --- gaps ----------------------------------------------------------------------------------------

def test_ending_the_current_step_says_the_days_left_without_a_step():
    (gap,) = run(CURRENT_125, new(date(2026, 8, 1), 125, end=date(2026, 9, 20), step_id=2)).gaps
    assert gap == "No troche step from 21 Sep 2026 to 30 Sep 2026 (today): these days would have no prescription"


def test_shortening_a_step_between_two_says_the_gap_and_an_old_gap_is_not_said_again():
    steps = stored((1, "2026-06-01", "2026-06-20", 80, "daily"), (2, "2026-07-01", "2026-07-31", 100, "daily"),
                   (3, "2026-08-01", None, 125, "daily"))
    result = run(steps, new(date(2026, 7, 1), 100, end=date(2026, 7, 25), step_id=2))
    assert result.gaps == ("No troche step from 26 Jul 2026 to 31 Jul 2026: these days would have no prescription",)
    assert result.refusals() == []  # a warning, never a refusal


def test_proposed_and_other_routes_stored_steps_are_not_compared():
    steps = stored((1, "2026-08-01", None, 100, "daily"), (2, "2026-08-15", None, 500, "daily", None, "troche", "proposed"),
                   (3, "2026-08-20", "2026-08-20", 400, "daily", None, "IV"))
    assert run(steps, new(date(2026, 9, 1), 150)) == pc.Result()

"""The clinic's visit list and the settings table: pure functions over small tables."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashboard.analysis.settings_table import COLUMNS, allowed_words, settings_table, with_unit
from dashboard.analysis.visit_list import recordable, visit_csv_frame, visit_rows, visit_table, when_words
from dashboard.config import THRESHOLD, Thresholds

AS_OF = date(2026, 3, 10)


def _booked(*visits) -> pd.DataFrame:
    frame = pd.DataFrame(visits, columns=["patient_id", "ref", "name", "visit_id", "date", "kind"])
    return frame.astype({"date": "datetime64[ns]"})


BOOKED = _booked((1, "A", "Ann", 1, "2026-03-02", "in person"),  # overdue
                 (2, "B", None, 2, "2026-03-10", "telehealth"),  # today
                 (1, "A", "Ann", 3, "2026-03-14", "in person"),  # in range
                 (3, "C", "Cy", 4, "2026-03-30", "in person"))  # after the range


@pytest.mark.parametrize(("start", "end", "expected"), [
    (date(2026, 3, 10), date(2026, 3, 17), [(1, True), (2, False), (3, False)]),
    (date(2026, 3, 11), date(2026, 3, 12), [(1, True)]),  # the overdue one is always listed
    (date(2026, 3, 1), date(2026, 3, 31), [(1, True), (2, False), (3, False), (4, False)]),
])
def test_the_list_is_the_range_and_every_overdue_visit_by_date(start, end, expected):
    rows = visit_rows(BOOKED, {1: 12, 3: 30}, as_of=AS_OF, start=start, end=end)
    assert [(r.visit_id, r.overdue) for r in rows] == expected
    assert {r.ref: r.diary_days_30d for r in rows}.get("B", 0) == 0


def test_words_table_csv_and_what_can_be_recorded():
    rows = visit_rows(BOOKED, {1: 12}, as_of=AS_OF, start=AS_OF, end=date(2026, 3, 17))
    assert [when_words(r, AS_OF) for r in rows] == ["Mon 2 Mar (8 days ago)", "Today", "Sat 14 Mar"]
    table = visit_table(rows, AS_OF)
    assert table.to_dict("records")[1] == {"When": "Today", "Patient": "name not recorded · B", "Kind": "telehealth",
                                           "Status": "booked", "Diary, 30 days": "0 of 30 days"}
    csv = visit_csv_frame(rows)
    assert csv.iloc[0].tolist() == ["A", "Ann", "2026-03-02", "in person", "overdue", 12]
    assert [r.visit_id for r in recordable(rows, AS_OF)] == [1, 2]


@pytest.mark.parametrize(("key", "value", "shown", "allowed"), [
    ("onset_days", 14, "14 days", "0 to 90 days"),
    ("responder_moderate_pct", 30.0, "30 %", "1 to 100 %"),
    ("bp_systolic_high", 160.0, "160 mmHg", f"{THRESHOLD['bp_systolic_high'].low:g} to "
                                            f"{THRESHOLD['bp_systolic_high'].high:g} mmHg"),
    ("effective_category", "moderate", "moderate", "one of minimal, moderate, substantial"),
])
def test_a_threshold_reads_with_its_unit_and_range(key, value, shown, allowed):
    assert (with_unit(THRESHOLD[key], value), allowed_words(THRESHOLD[key])) == (shown, allowed)


def test_the_settings_table_marks_a_changed_value():
    table = settings_table(Thresholds(onset_days=21))
    onset = table[table[COLUMNS["setting"]] == THRESHOLD["onset_days"].label].iloc[0]
    assert (onset[COLUMNS["value"]], onset[COLUMNS["default"]]) == ("21 days (changed)", "14 days")

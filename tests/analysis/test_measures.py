"""Measures on the review: PHQ-9 item 9 answers for the flag, severity bands, the summary's latest."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashboard.analysis.measures import item9_answers, item9_words, phq9_severity, summary, up_to
from tests.charts.test_measures import measures


@pytest.mark.parametrize("score, band", [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14.5, "moderate"),
    (15, "moderately severe"), (19, "moderately severe"), (20, "severe"), (27, "severe"),
])
def test_phq9_severity_bands(score, band):
    assert phq9_severity(score) == band


def test_item9_answers_are_loinc_44260_8_with_a_score():
    rows = measures(("2026-03-02", "phq9_item", "44260-8", 2, "More than half the days", "item 9"),
                    ("2026-03-03", "phq9_item", "44260-8", None, "unknown", "item 9"),
                    ("2026-03-04", "phq9_item", "44259-0", 3, "Nearly every day", "item 3"))
    other_system = measures(("2026-03-05", "other", "44260-8", 3, None, "x")).assign(system="urn:local")
    answers = item9_answers(pd.concat([rows, other_system], ignore_index=True))
    assert list(answers["value"]) == [2] and list(answers["diary_date"]) == [pd.Timestamp("2026-03-02")]


@pytest.mark.parametrize("since, words, above", [
    (None, "highest 2/3 (0 = not at all) in 2 answer(s)", True),
    (pd.Timestamp("2026-03-10"), "highest 0/3 (0 = not at all) in 1 answer(s)", False),
    (pd.Timestamp("2026-03-20"), "not answered since the last visit (last 0/3 on 12 Mar 2026)", False),
])
def test_the_safety_cards_item9_line(since, words, above):
    rows = measures(("2026-03-02", "phq9_item", "44260-8", 2, "x", "item 9"),
                    ("2026-03-12", "phq9_item", "44260-8", 0, "Not at all", "item 9"))
    assert item9_words(rows, since) == (words, above)
    assert item9_words(up_to(rows, date(2026, 3, 1)), None) == ("no questionnaire imported", False)


def test_summary_gives_the_latest_of_each_instrument_and_counts_the_others():
    rows = measures(("2026-03-02", "phq9", "44261-6", 14, None, "PHQ-9"), ("2026-03-20", "phq9", "44261-6", 8, None, "PHQ-9"),
                    ("2026-03-06", "other", "29463-7", 80, None, "weight"))
    out = summary(rows)
    assert out["other_measures"] == 1
    (latest,) = out["latest"]
    assert (latest["value"], latest["count"], latest["severity"], latest["date"]) == (8, 2, "mild", pd.Timestamp("2026-03-20"))

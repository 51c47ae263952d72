"""Diary days and daily values: the unit every figure on the review page is built from.

review-metrics.md, "Days": a measure's daily value is the mean of that day's entries that
recorded it, so a patient who writes three entries a day does not weigh three times as
much. ``diary_date`` is already the patient's local date (set at import), so an entry
written at 23:30 belongs to that evening whatever the server's clock says.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

MEAN_MEASURES = (
    "pain", "pain_worst", "sleep", "mood", "function", "enjoyment_interference", "activity_interference",
)
# PEG (Krebs et al. 2009, J Gen Intern Med 24:733): mean of pain, enjoyment and activity items.
# Its pain item is ``peg_pain`` where an instrument recorded it, else the diary's pain.
PEG_ITEMS = ("pain", "enjoyment_interference", "activity_interference")
DAILY_COLUMNS = [
    "diary_date", "n_entries", *MEAN_MEASURES, "peg", "dose_taken_mg", "doses_taken", "bp_systolic", "bp_diastolic",
]


def day(value: date | pd.Timestamp | str) -> pd.Timestamp:
    """A calendar day as a midnight Timestamp in the store's resolution (ns)."""
    return pd.Timestamp(value).normalize().as_unit("ns")


def in_period(frame: pd.DataFrame, start, end, column: str = "diary_date") -> pd.DataFrame:
    """Rows dated from ``start`` to ``end`` inclusive (both calendar days).

    The review asks this of the same sorted daily frame for every step and visit interval, so
    a frame already in date order is cut by binary search instead of a mask over every row.
    """
    values = frame[column].to_numpy()
    low, high = day(start).to_datetime64(), day(end).to_datetime64()
    if values.dtype == "datetime64[ns]" and (len(values) < 2 or not (values[1:] < values[:-1]).any()) \
            and not pd.isna(values).any():
        return frame.iloc[values.searchsorted(low, "left"):values.searchsorted(high, "right")]
    return frame[(frame[column] >= day(start)) & (frame[column] <= day(end))]


def as_object(values: pd.Series) -> pd.Series:
    """Labels (a responder category, a yes/no) as Python objects with None for missing, not NaN."""
    values = values.astype("object")
    return values.where(values.notna(), None)


def daily_values(diary: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """One row per diary day up to ``as_of``: daily means, doses taken and the day's highest BP.

    ``dose_taken_mg`` is the day's total (an entry's dose is what was taken with it);
    ``doses_taken`` counts entries recording a dose above 0. Both are NaN on a day whose
    entries recorded no dose: not recorded is never 0. BP is the day's highest reading,
    because a single high reading is what matters for safety. ``peg`` (Krebs et al. 2009, J
    Gen Intern Med 24:733) is a stored PEG score, else the mean of the day's three PEG items.
    """
    kept = diary[diary["diary_date"] <= day(as_of)]
    grouped = kept.groupby("diary_date", sort=True)
    daily = grouped[list(MEAN_MEASURES)].mean()
    daily.insert(0, "n_entries", grouped.size())
    daily["peg"] = _daily_peg(daily, grouped["peg"].mean(), grouped["peg_pain"].mean())
    daily["dose_taken_mg"] = grouped["dose_mg"].sum(min_count=1)
    dose_entries = (kept["dose_mg"] > 0).groupby(kept["diary_date"]).sum().astype("float64")
    daily["doses_taken"] = dose_entries.where(daily["dose_taken_mg"].notna())
    daily["bp_systolic"] = grouped["bp_systolic"].max()
    daily["bp_diastolic"] = grouped["bp_diastolic"].max()
    daily = daily.reset_index()[DAILY_COLUMNS]
    daily["diary_date"] = daily["diary_date"].astype("datetime64[ns]")
    return daily.astype({c: "float64" for c in DAILY_COLUMNS[2:]})


def _daily_peg(daily: pd.DataFrame, stored: pd.Series, peg_pain: pd.Series) -> pd.Series:
    # A PEG score the patient's app stored is the instrument's own answer; otherwise the
    # score is the mean of the three daily items, and only when all three were recorded.
    items = daily[list(PEG_ITEMS)].assign(pain=peg_pain.astype("float64").combine_first(daily["pain"]))
    computed = items.mean(axis=1).where(items.notna().all(axis=1))
    return stored.astype("float64").combine_first(computed)


def rolling_pain(daily: pd.DataFrame, window: int = 7, min_days: int = 1) -> pd.DataFrame:
    """Mean daily pain over the ``window`` calendar days ending on each diary day with pain.

    A time-based window, so a missed day shortens the sample instead of reaching further
    back; ``min_days`` pain days are needed for a value (NaN otherwise).
    """
    pain = daily.set_index("diary_date")["pain"].dropna()
    rolled = pain.rolling(f"{window}D", min_periods=min_days).mean()
    return pd.DataFrame(
        {"diary_date": pain.index.astype("datetime64[ns]"), "pain": pain.to_numpy(), "pain_rolling": rolled.to_numpy()}
    )


def rolling_means(daily: pd.DataFrame, columns: tuple[str, ...] = ("sleep", "mood", "function"), window: int = 7,
                  min_days: int = 1) -> pd.DataFrame:
    """``daily`` with ``<column>_<window>d``: the mean daily value over the ``window`` calendar
    days ending on each diary day, as ``rolling_pain`` does for pain.

    A time-based window, so a missed day shortens the sample instead of reaching further
    back; ``min_days`` days with a value are needed. A day without its own value gets no
    mean, as a day without pain gets no 7-day pain. Rows keep their order.
    """
    out = daily.copy()
    ordered = daily.sort_values("diary_date", kind="stable")
    for col in columns:
        values = ordered.set_index("diary_date")[col].astype("float64")
        rolled = values.rolling(f"{window}D", min_periods=min_days).mean().where(values.notna())
        out[f"{col}_{window}d"] = pd.Series(rolled.to_numpy(), index=ordered.index).reindex(daily.index)
    return out

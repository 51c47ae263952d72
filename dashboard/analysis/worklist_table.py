"""The worklist's rows in words a clinician reads, and its filters and orders.

No figure is computed here: each comes from a ``WorklistRow`` (the review's numbers); this
module only words them ("Today · in person", "8 days ago") and picks rows.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboard.analysis.flag_rules import RULE_ORDER, RULES, rule_name
from dashboard.analysis.worklist import WorklistRow, attention_order

# In reading order: why, who, when, then the figures; the condition (long, known) last.
COLUMNS = {
    "attention": "Needs attention", "patient": "Patient", "visit": "Visit", "pain": "Pain, last 14 days",
    "responder": "Since last visit", "step": "Current step", "diary": "Diary, 30 days", "last_entry": "Last entry",
    "last_bp": "Last BP", "flags": "Open flags", "condition": "Condition",
}
TREND = {"lower": "↓ lower", "higher": "↑ higher", "unchanged": "→ unchanged"}
RESPONDER = {"substantial": "substantial", "moderate": "moderate", "minimal": "minimal",
             "none": "no meaningful change", "worse": "worse"}
SORTS = {
    "Needs attention first": attention_order,
    "Visit date": lambda rows: sorted(rows, key=lambda r: (r.attention_date is None, r.attention_date or 0, r.ref)),
    "Pain, highest first": lambda rows: sorted(rows, key=lambda r: (r.mean_pain_14d is None, -(r.mean_pain_14d or 0))),
    "Diary completeness, lowest first": lambda rows: sorted(rows, key=lambda r: (r.completeness_30d, r.ref)),
    "Longest without a diary entry": lambda rows: sorted(
        rows, key=lambda r: (-(r.days_since_last_entry if r.days_since_last_entry is not None else 10**6), r.ref)),
    "Patient reference": lambda rows: sorted(rows, key=lambda r: r.ref),
}


def _day(value: pd.Timestamp, as_of: date) -> str:
    days = (value.normalize() - pd.Timestamp(as_of)).days
    if days == 0:
        return "Today"
    if days == 1:
        return "Tomorrow"
    return value.strftime("%a %-d %b")


def visit_words(row: WorklistRow, as_of: date) -> str:
    if row.overdue_visit is not None:
        return f"Overdue {row.overdue_visit.date:%-d %b} · {row.overdue_visit.kind}"
    if row.next_visit is None:
        return "not booked"
    return f"{_day(row.next_visit.date, as_of)} · {row.next_visit.kind}"


def ago(days: int | None, never: str) -> str:
    if days is None:
        return never
    return "today" if days == 0 else "yesterday" if days == 1 else f"{days} days ago"


def attention_words(row: WorklistRow) -> str:
    """Why this patient is near the top: new safety flags, a quiet diary, an overdue visit, files
    the patient sent waiting in the inbox."""
    reasons = [f"NEW {rule_name(rule)}" for rule in sorted(row.new_safety_flags, key=RULE_ORDER.get)]
    if row.diary_overdue:
        reasons.append("no diary entries" if row.days_since_last_entry is None
                       else f"no diary for {row.days_since_last_entry} days")
    if row.overdue_visit is not None:
        reasons.append("visit overdue")
    if row.files_waiting:
        reasons.append(f"{row.files_waiting} file{'s' if row.files_waiting > 1 else ''} waiting in the inbox")
    older = [rule_name(rule) for rule in sorted(row.open_flags, key=lambda k: RULE_ORDER.get(k, 99))
             if rule in RULES and RULES[rule].safety and rule not in row.new_safety_flags]
    if older:
        reasons.append("open: " + ", ".join(older))
    return "; ".join(reasons) if reasons else "—"


def flag_words(row: WorklistRow) -> str:
    if not row.open_flags:
        return "none open"
    parts = []
    for rule in sorted(row.open_flags, key=lambda k: RULE_ORDER.get(k, 99)):
        new = row.new_safety_flags.get(rule, 0)
        parts.append(f"{rule_name(rule)} {row.open_flags[rule]}" + (f" ({new} new)" if new else ""))
    return ", ".join(parts)


def pain_words(row: WorklistRow) -> str:
    if row.mean_pain_14d is None:
        return "no pain recorded"
    if row.mean_pain_prev_14d is None:
        return f"{row.mean_pain_14d:.1f} (no earlier 14 days)"
    return f"{row.mean_pain_14d:.1f} {TREND[row.pain_direction]} from {row.mean_pain_prev_14d:.1f}"


def step_words(row: WorklistRow) -> str:
    if row.days_on_step is None:
        return "no step running"
    dose = f"{row.daily_dose_mg:g} mg/day" if row.daily_dose_mg is not None else (row.step_words or "")
    return f"{dose} · day {row.days_on_step}"


# Pixels: why, who, when, the pain trend and the response fit the page's 980-pixel column on a
# 1366-pixel screen; the later columns scroll into view. (Pinned columns are drawn in grey text,
# which would fade the reason, so none is pinned.)
WIDTHS = {"attention": 330, "patient": 180, "visit": 160, "pain": 140, "responder": 120, "step": 140,
          "diary": 110, "last_entry": 100, "last_bp": 100, "flags": 260, "condition": 240}
# A long reason wraps rather than being cut: the grid wraps text only in rows taller than 64 px
# (4rem), a line of its 14-px font takes ~20 px, a cell 8.5 px of padding a side (measured in
# Chromium, tests/e2e/test_text_fits.py). Capitals and digits run wider than the ~6.4 px average
# character (app_pages.display.CHAR_PX), so a line holds fewer characters than the average says.
WRAP_MIN_PX, LINE_PX, CELL_PAD_PX, CHAR_PX = 65, 20, 17, 7.2


def row_height(rows: list[WorklistRow]) -> int | None:
    """The grid's row height that shows every reason in full: None (the grid's own, one line) when
    each fits on one line, else tall enough for the longest reason's lines, wrapped at spaces."""
    room = WIDTHS["attention"] - CELL_PAD_PX
    lines = max((_lines(attention_words(r), room) for r in rows), default=1)
    return None if lines == 1 else max(WRAP_MIN_PX, lines * LINE_PX + 8)


def table_height(rows: int, height: int) -> int:
    """Pixels for every wrapped row with the header (36 px) and the border: no row hidden inside the grid."""
    return 36 + rows * height + 3


def _lines(text: str, room: float) -> int:
    lines, used = 1, 0.0
    for word in text.split(" "):
        need = len(word) * CHAR_PX
        if used and used + CHAR_PX + need > room:
            lines, used = lines + 1, need
        else:
            used += (CHAR_PX if used else 0) + need
    return lines


def table(rows: list[WorklistRow], as_of: date) -> pd.DataFrame:
    """One line per row, every cell a plain string (patient text stays text in st.dataframe)."""
    lines = [{
        "attention": attention_words(r), "patient": f"{r.name or 'name not recorded'} · {r.ref}",
        "visit": visit_words(r, as_of), "condition": r.condition or "not recorded", "step": step_words(r),
        "pain": pain_words(r), "responder": RESPONDER.get(r.responder, "not judged"), "flags": flag_words(r),
        "diary": f"{r.diary_days_30d} of 30 days", "last_entry": ago(r.days_since_last_entry, "never"),
        "last_bp": ago(r.days_since_last_bp, "no reading"),
    } for r in rows]
    return pd.DataFrame(lines, columns=list(COLUMNS), dtype="object")


def choices(rows: list[WorklistRow]) -> dict[str, list[str]]:
    """What the filters offer: the conditions, open-flag rules (by name) and clinicians present."""
    rules = sorted({rule for r in rows for rule in r.open_flags}, key=lambda k: RULE_ORDER.get(k, 99))
    return {"condition": sorted({r.condition for r in rows if r.condition}),
            "flag": [rule_name(rule) for rule in rules],
            "clinician": sorted({c for r in rows for c in r.clinicians})}


def filtered(rows: list[WorklistRow], *, conditions=(), flags=(), clinicians=()) -> list[WorklistRow]:
    """Rows with one of the chosen conditions, an open flag of one of the chosen rules (by name),
    and shared with one of the chosen clinicians; an empty choice keeps every row."""
    def keep(r: WorklistRow) -> bool:
        return ((not conditions or r.condition in conditions)
                and (not flags or any(rule_name(rule) in flags for rule in r.open_flags))
                and (not clinicians or any(c in clinicians for c in r.clinicians)))
    return [r for r in rows if keep(r)]

"""Validated instruments and other measures (import-formats.md v2, section 3): one registry that
the importers, the review, the chart and the page ask, so a code means one thing everywhere.

A measure is kept as it was answered (a number, or an answer with its position on the
instrument's answer list) and never converted to the diary's 0-10 pain scale: PROMIS's five
verbal levels are not a numeric rating (Cella et al. 2010, J Clin Epidemiol 63:1179-1194).

Sources of the codes and answer lists: LOINC panels 44249-1 (PHQ-9; Kroenke et al. 2001,
J Gen Intern Med 16:606-613), 69737-5 (GAD-7; Spitzer et al. 2006, Arch Intern Med
166:1092-1097), LOINC answer lists LL358-3 (PHQ/GAD items), PROMIS pain intensity and
interference short forms (answer lists of the PROMIS item bank).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LOINC = "http://loinc.org"
LOINC_SYSTEMS = {LOINC, "urn:oid:2.16.840.1.113883.6.1"}

# (LOINC answer code, text) in list order; an answer's position is its 1-based index.
FREQUENCY_ANSWERS = (("LA6568-5", "Not at all"), ("LA6569-3", "Several days"),
                     ("LA6570-1", "More than half the days"), ("LA6571-9", "Nearly every day"))
# Where we are not sure of a LOINC answer code, the answer is matched by its text only (None):
# a wrong code would misplace an answer, a missing one only asks for the text.
PROMIS_INTENSITY_ANSWERS = ((None, "Had no pain"), ("LA6752-5", "Mild"), ("LA6751-7", "Moderate"),
                            ("LA6750-9", "Severe"), (None, "Very severe"))
PROMIS_INTERFERENCE_ANSWERS = (("LA6568-5", "Not at all"), (None, "A little bit"), (None, "Somewhat"),
                               (None, "Quite a bit"), (None, "Very much"))
# Other words patients' apps write for the same answers.
ANSWER_SYNONYMS = {"no pain": "had no pain", "none": "had no pain"}


@dataclass(frozen=True)
class Instrument:
    """An instrument as the clinician reads it: its key (JSON), name, scale and unit."""

    key: str
    name: str
    low: float | None
    high: float | None
    unit: str | None = None
    scale: str | None = None  # how to read the scale, beside the name on the chart
    charted: bool = True


INSTRUMENTS: dict[str, Instrument] = {i.key: i for i in (
    Instrument("phq9", "PHQ-9 depression score", 0, 27, "points", "0–27, higher is worse"),
    Instrument("phq9_item", "PHQ-9 items", 0, 3, "points", "0 not at all – 3 nearly every day", charted=False),
    Instrument("gad7", "GAD-7 anxiety score", 0, 21, "points", "0–21, higher is worse"),
    Instrument("gad7_item", "GAD-7 items", 0, 3, "points", "0 not at all – 3 nearly every day", charted=False),
    Instrument("promis_pain_intensity", "PROMIS pain intensity", 1, 5, "level", "1 had no pain – 5 very severe"),
    Instrument("promis_pain_interference", "PROMIS pain interference", 1, 5, "level",
               "1 not at all – 5 very much"),
    Instrument("mme", "Opioid dose", 0, 100_000, "MME/day", "morphine milligram equivalents a day"),
    Instrument("uds", "Urine drug screen", None, None, charted=False),
    Instrument("liver", "Liver tests", None, None, charted=False),
    Instrument("urinalysis", "Urinalysis", None, None, charted=False),
)}
OTHER = "other"  # any other coded observation with a value: listed, not charted


@dataclass(frozen=True)
class Item:
    """One coded question or score of an instrument."""

    instrument: str
    name: str
    answers: tuple[tuple[str | None, str], ...] = ()
    first_score: int = 0  # the score of the first answer (0 for PHQ/GAD items, 1 for PROMIS)


PHQ9_ITEM9 = "44260-8"
PHQ9_ITEMS = {
    "44250-9": "Little interest or pleasure in doing things", "44255-8": "Feeling down, depressed, or hopeless",
    "44259-0": "Trouble falling or staying asleep, or sleeping too much", "44254-1": "Feeling tired or having little energy",
    "44251-7": "Poor appetite or overeating", "44258-2": "Feeling bad about yourself",
    "44252-5": "Trouble concentrating on things", "44253-3": "Moving or speaking slowly, or being fidgety or restless",
    PHQ9_ITEM9: "Thoughts that you would be better off dead, or of hurting yourself",
}
GAD7_ITEMS = {
    "69725-0": "Feeling nervous, anxious, or on edge", "68509-9": "Not being able to stop or control worrying",
    "69733-4": "Worrying too much about different things", "69734-2": "Trouble relaxing",
    "69735-9": "Being so restless that it is hard to sit still", "69689-8": "Becoming easily annoyed or irritable",
    "69736-7": "Feeling afraid as if something awful might happen",
}
PROMIS_INTENSITY = {"75260-0": "Pain intensity now", "75261-8": "Pain intensity, average (7 days)",
                    "75262-6": "Pain intensity, worst (7 days)"}
PROMIS_INTERFERENCE = {
    "61758-9": "Pain interfered with day to day activities", "61769-6": "Pain interfered with work around the home",
    "61773-8": "Pain interfered with social activities", "61775-3": "Pain interfered with household chores",
}

ITEMS: dict[str, Item] = {
    "44261-6": Item("phq9", "PHQ-9 total score"),
    "70274-6": Item("gad7", "GAD-7 total score"),
    **{code: Item("phq9_item", f"PHQ-9 item {i}: {text}", FREQUENCY_ANSWERS)
       for i, (code, text) in enumerate(PHQ9_ITEMS.items(), start=1)},
    **{code: Item("gad7_item", f"GAD-7 item {i}: {text}", FREQUENCY_ANSWERS)
       for i, (code, text) in enumerate(GAD7_ITEMS.items(), start=1)},
    **{code: Item("promis_pain_intensity", f"PROMIS {text}", PROMIS_INTENSITY_ANSWERS, 1)
       for code, text in PROMIS_INTENSITY.items()},
    **{code: Item("promis_pain_interference", f"PROMIS {text}", PROMIS_INTERFERENCE_ANSWERS, 1)
       for code, text in PROMIS_INTERFERENCE.items()},
}
@dataclass(frozen=True)
class Lab:
    """A laboratory test the safety picture reads (review-metrics.md v3, "Liver and bladder tests")."""

    code: str  # LOINC
    name: str
    instrument: str  # liver or urinalysis
    unit: str | None = None  # the unit a native CSV column is read in (enzyme activities are U/L everywhere)


# Liver function (ketamine liver injury with repeated use: Noppers et al. 2011, Pain 152:2173-2178)
# and urinalysis (ketamine cystitis: Cohen et al. 2018, Reg Anesth Pain Med 43:521-546): LOINC codes.
ALT, AST = "1742-6", "1920-8"
LABS: dict[str, Lab] = {lab.code: lab for lab in (
    Lab(ALT, "ALT", "liver", "U/L"),
    Lab(AST, "AST", "liver", "U/L"),
    Lab("2324-2", "GGT", "liver", "U/L"),
    Lab("1975-2", "Total bilirubin", "liver"),
    Lab("6768-6", "Alkaline phosphatase", "liver", "U/L"),
    Lab("5794-3", "Urine blood (dipstick)", "urinalysis"),
    Lab("5799-2", "Urine leukocyte esterase (dipstick)", "urinalysis"),
)}
LIVER_ENZYMES = (ALT, AST)  # the liver_tests_high flag's tests
LAB_INSTRUMENTS = ("liver", "urinalysis")


def is_result(instrument: str) -> bool:
    """A laboratory result or another observation: kept as written (a "< 5" is one fact, not a score)."""
    return instrument == OTHER or instrument in LAB_INSTRUMENTS

MME_UNITS = {"{mme}/d", "mme/d", "mme/day", "{mme}/day", "mg{mme}/d"}
_MME_WORDS = re.compile(r"morphine\s+(milligram|mg)\s+equivalen|\bMME\b", re.IGNORECASE)
_UDS_WORDS = re.compile(r"\bin urine\b.*\bscreen|\burine drug screen", re.IGNORECASE)

# Severity bands of the PHQ-9 total (Kroenke et al. 2001): 5 mild, 10 moderate,
# 15 moderately severe, 20 severe.
PHQ9_BANDS = ((0, 5, "minimal"), (5, 10, "mild"), (10, 15, "moderate"), (15, 20, "moderately severe"),
              (20, 27, "severe"))


def classify(code: str | None, system: str | None, words: list[str], unit: str | None) -> tuple[str, Item | None]:
    """The instrument a coded observation belongs to (``OTHER`` when none), and its item."""
    if system in LOINC_SYSTEMS and code in ITEMS:
        return ITEMS[code].instrument, ITEMS[code]
    if system in LOINC_SYSTEMS and code in LABS:
        return LABS[code].instrument, None
    if (unit or "").strip().lower() in MME_UNITS or any(_MME_WORDS.search(w) for w in words if w):
        return "mme", None
    if any(_UDS_WORDS.search(w) for w in words if w):
        return "uds", None
    return OTHER, None


def answer_position(item: Item, code: str | None, text: str | None) -> int | None:
    """The 1-based position of an answer on the item's list, by LOINC answer code or text."""
    wanted = (text or "").strip().lower()
    wanted = ANSWER_SYNONYMS.get(wanted, wanted)
    for position, (answer_code, answer_text) in enumerate(item.answers, start=1):
        if (code and code == answer_code) or (wanted and wanted == answer_text.lower()):
            return position
    return None


LOINC_COLUMN = re.compile(r"(?:loinc[_:])?([0-9]{1,7})_([0-9])")  # a header after normalise_header: 44261-6 -> 44261_6


def loinc_column(normalised_header: str) -> str | None:
    """The LOINC code a CSV column is named by (``44261-6``, ``LOINC 44261-6``), or None."""
    match = LOINC_COLUMN.fullmatch(normalised_header)
    return f"{match.group(1)}-{match.group(2)}" if match else None


def read_cell(code: str, text: str, number) -> tuple[float | None, str | None, int | None]:
    """A CSV cell answering a LOINC-coded item: (value, answer text, position on the answer list).

    A number is the score; words of the item's answer list are placed on it (PHQ-9 "Several
    days" = position 2, score 1). ``number`` parses a figure as the file writes it (decimal
    comma). Raises ValueError saying what the item accepts."""
    item = ITEMS.get(code)
    text = text.strip()
    try:
        value = float(number(text))
    except ValueError:
        value = None
    if value is None and item is not None and item.answers:
        position = answer_position(item, None, text)
        if position is None:
            words = ", ".join(f"'{t}'" for _, t in item.answers)
            raise ValueError(f"{item.name} is answered with a score or one of {words}")
        return float(item.first_score + position - 1), item.answers[position - 1][1], position
    if value is None:
        if item is not None:
            raise ValueError(f"{item.name} is a number")
        return None, text[:500], None  # another measure may be text
    spec = INSTRUMENTS.get(item.instrument) if item is not None else None
    if spec is not None and spec.low is not None:
        high = len(item.answers) - 1 + item.first_score if item.answers else spec.high
        if not spec.low <= value <= high:
            raise ValueError(f"{item.name} is between {spec.low:g} and {high:g}")
    return value, None, None

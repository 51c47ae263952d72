"""Privacy Friendly Pain Diary export (import-formats.md version 3): one row per diary day.

The Android app (SecUSo/privacy-friendly-pain-diary, GPL-3.0) writes its CSV with opencsv's
``CSVWriter`` (every cell quoted, ``""`` inside a cell) in ``CsvHelper.java``, which lives in the
app's pull request 18 (the ``refs/pull/18`` commits of November 2019); it is read here from that
layout, not from the app's code. Its columns, in this order:

``Date, Conditions, Pain Level (0-10), Body Regions, Pain nature, Times of pain, Drug Intakes,
Comment``. The pull request's last commit takes the header from the app's strings, so an export
may also carry the English (``Condition:``, ``Pain Intensity: (0-10)``, ...) or the German
(``Gemütszustand:``, ``Schmerzintensität: (0-10)``, ...) wording; the cells are the same. The file
names no patient: the patient is named at import, as for Bearable.

- ``Date``: the phone's short date (``android.text.format.DateFormat.getDateFormat``), so the
  layout follows the phone's locale. The separator tells it: ``/`` is the US ``M/d/yy``
  (``M/d/yyyy``), ``.`` the German ``dd.MM.yy`` (``d.M.yyyy``); ISO ``yyyy-MM-dd`` is read too.
  A two-digit year is 20yy. A day-first layout with ``/`` (``dd/MM/yyyy``, UK and French phones)
  cannot be told from the US one for the first twelve days of a month, so it is never guessed:
  a ``/`` date whose month would be above 12 is refused saying so. The entry has no time.
- ``Conditions`` (VERY_BAD, BAD, OKAY, GOOD, VERY_GOOD, the app's five faces) -> mood 0, 2.5, 5,
  7.5, 10: the five steps spread evenly over the diary's 0-10 mood scale by their end points
  (POMP scoring: Cohen et al. 1999, Multivariate Behav Res 34:315-346).
- ``Pain Level (0-10)`` -> pain (the app's 0-10 slider).
- ``Comment`` -> notes; body regions, pain nature and times of pain (``[HEAD, NECK_BACK]``,
  ``[stabbing]``, ``[morning, at night]``) follow it as labelled lines (``Body regions: head,
  neck (back)``).
- ``Drug Intakes``: ``[[drug:[name:NAME,doseSTRENGTH],quantityMorning:a,quantityNoon:b,
  quantityEvening:c,quantityNight:d],…]``. A drug naming ketamine (``dashboard.medications``:
  any case, troche or not) adds strength in mg × (a + b + c + d) to ``dose_mg``, summed over such
  drugs. The strength is free text in the app (letters, digits, ``/`` and ``.``), so a ketamine
  strength that is not one amount in mg, g or mcg (``25mg``, ``25 mg``, ``25,5 mg``, ``0.5g``)
  refuses the row, naming the value: a dose is never guessed (``25`` without a unit, or
  ``50mg/ml``, a concentration). Every other drug is other medication, ``NAME STRENGTH × n``, and
  one co-medication record per drug and day (as for Bearable). ``[]`` (or an empty cell) means no
  intake was recorded that day: ``dose_mg`` stays empty, never 0.

A row with neither pain, condition nor a drug intake, only text, has nothing the diary charts: it
is counted in ``ignored``, as Bearable's notes alone are.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from dashboard import fields
from dashboard.ingest.csv_text import (
    cell,
    extra_cells,
    normalise_header,
    parse_number,
    read_csv,
    read_header,
    refuse,
)
from dashboard.ingest.records import (
    CoMedicationRecord,
    DiaryRecord,
    FileRefused,
    ParsedFile,
    RefusedRow,
    named_at_import,
)
from dashboard.medications import drug_class, names_ketamine

FORMAT = "privacy-friendly-pain-diary"
SOURCE = "pain-diary-app"  # co_medication.source of the drugs it names
LABEL = "Privacy Friendly Pain Diary export"
ROLES = ("date", "condition", "pain", "body_regions", "pain_nature", "times_of_pain", "drug_intakes", "comment")
# The three headers CsvHelper.java has written: fixed English words, then the app's strings (en, de).
HEADERS = (
    ("Date", "Conditions", "Pain Level (0-10)", "Body Regions", "Pain nature", "Times of pain", "Drug Intakes",
     "Comment"),
    ("Date", "Condition:", "Pain Intensity: (0-10)", "Location of the pain:", "Nature of the pain:",
     "Time of the pain:", "Medication taken:", "Comments:"),
    ("Datum", "Gemütszustand:", "Schmerzintensität: (0-10)", "Position der Schmerzen:", "Schmerzcharakter:",
     "Zeitpunkt der Schmerzen:", "Eingenommene Medikamente:", "Anmerkungen:"),
)
_KNOWN_HEADERS = {tuple(normalise_header(name) for name in header) for header in HEADERS}
CONDITION_MOOD = {"VERY_BAD": 0.0, "BAD": 2.5, "OKAY": 5.0, "GOOD": 7.5, "VERY_GOOD": 10.0}
TEXT_LABELS = {"body_regions": "Body regions", "pain_nature": "Pain nature", "times_of_pain": "Times of pain"}
NOT_RECORDED = {"", "[]"}
DOSE_MAX_MG = fields.DOSE_MAX_MG
NOTES_MAX = fields.NOTES_MAX
DRUG_NAME_MAX = 300  # co_medication.name
PAIN_RANGE = fields.RANGES["pain"]

_US_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{2}|[0-9]{4})", re.ASCII)
_GERMAN_DATE = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{2}|[0-9]{4})", re.ASCII)
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", re.ASCII)
DATE_LAYOUTS = "M/d/yy or M/d/yyyy (US), dd.MM.yy or dd.MM.yyyy (German), or yyyy-MM-dd"
# One intake as CsvHelper writes it; the drug part is absent when the intake has no drug.
_INTAKE = re.compile(
    r"\[(?:drug:\[name:(?P<name>.*?),dose(?P<dose>[^\]]*)\],)?"
    r"quantityMorning:(?P<morning>[0-9]+),quantityNoon:(?P<noon>[0-9]+),"
    r"quantityEvening:(?P<evening>[0-9]+),quantityNight:(?P<night>[0-9]+)\]",
    re.ASCII | re.DOTALL,
)
INTAKE_LAYOUT = ("[[drug:[name:NAME,doseSTRENGTH],quantityMorning:a,quantityNoon:b,quantityEvening:c,"
                 "quantityNight:d],…]")
_STRENGTH = re.compile(r"([0-9]+(?:[.,][0-9]+)?)\s*(mg|g|mcg|µg|ug)\.?", re.IGNORECASE)
TO_MG = {"mg": 1.0, "g": 1000.0, "mcg": 0.001, "µg": 0.001, "ug": 0.001}


class Bad(Exception):
    """One cell that cannot be read: its role (a column of :data:`ROLES`), value and why."""

    def __init__(self, role: str, value: str, reason: str):
        super().__init__(reason)
        self.role, self.value, self.reason = role, value, reason


@dataclass(frozen=True)
class Intake:
    """One drug of a day: its name and strength as written, and how many were taken in all."""

    name: str
    strength: str
    quantity: int


@dataclass
class Day:
    """What one row gives the diary."""

    day: date
    measures: dict[str, float | str] = field(default_factory=dict)
    drugs: list[Intake] = field(default_factory=list)


def looks_like_pain_diary_app(raw: bytes) -> bool:
    """By the header: one of the three CsvHelper.java has written (:data:`HEADERS`)."""
    try:
        names = tuple(normalise_header(name) for name in read_header(raw, ""))
    except (FileRefused, csv.Error):
        return False
    return names in _KNOWN_HEADERS


def parse_pain_diary_app(raw: bytes, file_name: str, *, patient_ref: str | None = None,
                         today: date | None = None) -> ParsedFile:
    """An export to diary entries and co-medications; never touches the database."""
    patient_ref = named_at_import(
        file_name, patient_ref,
        required="a Privacy Friendly Pain Diary export names no patient: name the patient when importing it")
    table = read_csv(raw, file_name)
    if tuple(table.columns) not in _KNOWN_HEADERS or len(table.header) != len(ROLES):
        raise FileRefused(file_name, "not the Privacy Friendly Pain Diary's header: expected "
                          + ", ".join(HEADERS[0]) + f" (the header has: {', '.join(table.header)})", row=1)
    out = ParsedFile(file_name=file_name, format=FORMAT)
    refused: list[RefusedRow] = []
    for number, cells in table.rows:
        extra = extra_cells(cells, table, number)
        if extra is not None:
            refused.append(extra)
            continue
        try:
            _add(out, patient_ref, number, read_day(dict(zip(ROLES, (cell(cells, i) for i in range(8)))), today))
        except Bad as bad:
            refused.append(refuse(number, table.header[ROLES.index(bad.role)], bad.value, bad.reason))
    out.refused.extend(refused)
    return out


# ---------------------------------------------------------------- one row

def read_day(values: dict[str, str], today: date | None = None) -> Day:
    """One row's cells by role to what it gives the diary; :class:`Bad` names the first bad cell."""
    day = Day(parse_date(values["date"], today))
    condition = values["condition"].strip().upper()
    if condition:
        if condition not in CONDITION_MOOD:
            raise Bad("condition", values["condition"], "not one of the app's conditions: " + ", ".join(CONDITION_MOOD))
        day.measures["mood"] = CONDITION_MOOD[condition]
    pain = values["pain"].strip()
    if pain:
        day.measures["pain"] = _pain(pain)
    dose, day.drugs = read_intakes(values["drug_intakes"])
    if dose is not None:
        day.measures["dose_mg"] = dose
    if day.drugs:
        day.measures["other_medication"] = "; ".join(other_medication_text(d) for d in day.drugs)
    notes = _notes(values)
    if notes:
        day.measures["notes"] = notes
    return day


def parse_date(text: str, today: date | None = None) -> date:
    """The phone's short date; the separator tells the layout (module docstring)."""
    text = text.strip()
    us, german, iso = _US_DATE.fullmatch(text), _GERMAN_DATE.fullmatch(text), _ISO_DATE.fullmatch(text)
    if us:
        month, day_of_month, year = (int(part) for part in us.groups())
        if month > 12 and day_of_month <= 12:
            raise Bad("date", text, "a date with '/' is read as the US layout M/d/yy: month "
                      f"{month} does not exist. A day-first layout (dd/MM/yy) is not read, because its first "
                      "twelve days cannot be told from the US layout; export with a US or German phone setting")
    elif german:
        day_of_month, month, year = (int(part) for part in german.groups())
    elif iso:
        year, month, day_of_month = (int(part) for part in iso.groups())
    else:
        raise Bad("date", text, f"not a date in the app's layouts: {DATE_LAYOUTS}")
    if year < 100:
        year += 2000  # Android's short date writes two digits; the app was first released in 2017
    try:
        day = date(year, month, day_of_month)
    except ValueError:
        raise Bad("date", text, "not a date on the calendar") from None
    problem = fields.DIARY.problem(day, today)
    if problem:
        raise Bad("date", text, problem)
    return day


def _pain(text: str) -> float:
    try:
        value = parse_number(text, decimal_comma=False)
    except ValueError:
        raise Bad("pain", text, "the pain level is not a number") from None
    low, high = PAIN_RANGE
    if not low <= value <= high:
        raise Bad("pain", text, f"the pain level must be between {low:g} and {high:g}")
    return value


def read_intakes(text: str) -> tuple[float | None, list[Intake]]:
    """The day's ketamine in mg (None when no ketamine intake was recorded) and its other drugs."""
    intakes = split_intakes(text)
    ketamine = [intake for intake in intakes if names_ketamine(intake.name)]
    others = [intake for intake in intakes if not names_ketamine(intake.name)]
    if not ketamine:
        return None, others
    dose = round(sum(strength_mg(intake.strength, text) * intake.quantity for intake in ketamine), 3)
    if dose > DOSE_MAX_MG:
        raise Bad("drug_intakes", text, f"the day's ketamine comes to {dose:g} mg, more than {DOSE_MAX_MG:g} mg")
    return dose, others


def split_intakes(text: str) -> list[Intake]:
    """``[...]`` to its intakes, in the written order; an intake without a drug is skipped."""
    text = text.strip()
    if text in NOT_RECORDED:
        return []
    if not (text.startswith("[") and text.endswith("]")):
        raise Bad("drug_intakes", text, f"not a list of drug intakes: {INTAKE_LAYOUT}")
    intakes, at, end, number = [], 1, len(text) - 1, 0
    while at < end:
        number += 1
        match = _INTAKE.match(text, at)
        if match is None or (match.end() < end and text[match.end()] != ","):
            raise Bad("drug_intakes", text, f"intake {number} cannot be read; the app writes {INTAKE_LAYOUT}")
        at = match.end() + 1  # CsvHelper writes a comma after every intake, the last one too
        if match.group("name") is None:
            continue
        name = " ".join(match.group("name").split())
        if not name or name == "null" or len(name) > DRUG_NAME_MAX:
            raise Bad("drug_intakes", text, f"intake {number}: a drug name has 1 to {DRUG_NAME_MAX} characters")
        quantity = sum(int(match.group(when)) for when in ("morning", "noon", "evening", "night"))
        intakes.append(Intake(name, " ".join(match.group("dose").split()), quantity))
    return intakes


def strength_mg(strength: str, cell_text: str) -> float:
    """A ketamine strength in mg, or :class:`Bad`: one amount with its unit, nothing else."""
    match = _STRENGTH.fullmatch(strength)
    if match is None:
        raise Bad("drug_intakes", cell_text, f"the ketamine strength {strength!r} is not one amount in mg "
                  "(like '25 mg', '25mg', '0.5 g'): a dose is never guessed; correct the drug's dose in the app")
    return float(match.group(1).replace(",", ".")) * TO_MG[match.group(2).lower()]


def other_medication_text(intake: Intake) -> str:
    """``Oxycodone 5mg × 2``: the name, the strength as written (when there is one) and the count."""
    return f"{intake.name} {dose_text(intake)}"


def dose_text(intake: Intake) -> str:
    """``5mg × 2``, or ``× 2`` for a drug whose strength the app left empty."""
    strength = "" if intake.strength in ("", "null") else f"{intake.strength} "
    return f"{strength}× {intake.quantity}"


def _notes(values: dict[str, str]) -> str:
    lines = [values["comment"].strip()] if values["comment"].strip() else []
    for role, label in TEXT_LABELS.items():
        listed = values[role].strip()
        if listed.startswith("[") and listed.endswith("]"):
            listed = listed[1:-1].strip()
        if listed and role == "body_regions":
            listed = ", ".join(body_region_words(region) for region in listed.split(","))
        if listed:
            lines.append(f"{label}: {listed}")
    notes = "\n".join(lines)
    if len(notes) > NOTES_MAX:
        raise Bad("comment", values["comment"], f"the comment with the labelled lists comes to more than "
                  f"{NOTES_MAX:,} characters")
    return notes


def body_region_words(region: str) -> str:
    """The app's region names in words: ``LOWER_LEG_LEFT_BACK`` -> ``lower leg left (back)``."""
    words = region.strip().lower().split("_")
    return " ".join(words[:-1]) + " (back)" if len(words) > 1 and words[-1] == "back" else " ".join(words)


# ---------------------------------------------------------------- into records

def _add(out: ParsedFile, patient_ref: str, row: int, day: Day) -> None:
    if not set(day.measures) - {"notes"}:
        label = "an entry with only text (no pain, condition or drug intake)" if day.measures else "an empty entry"
        out.ignored[label] = out.ignored.get(label, 0) + 1
        return
    out.diary.append(DiaryRecord(patient_ref=patient_ref, recorded_at=datetime.combine(day.day, datetime.min.time()),
                                 row=row, has_time=False, measures=day.measures))
    named: dict[str, list[str]] = {}
    for drug in day.drugs:
        named.setdefault(drug.name.casefold(), []).append(dose_text(drug))
    for key, doses in named.items():
        name = next(d.name for d in day.drugs if d.name.casefold() == key)
        out.comedications.append(CoMedicationRecord(
            patient_ref=patient_ref, name=name, start_date=day.day, row=row, source=SOURCE,
            drug_class=drug_class(name), dose_text=", ".join(doses)))

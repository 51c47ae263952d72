"""Bearable export (import-formats.md section 2): a long CSV, one row per logged item.

Header ``date, date formatted, weekday, time of day, category, rating/amount, detail, notes``
(older exports lack ``date formatted``). The file names no patient, so the patient is named
at import. Rows are numbered as a spreadsheet shows them (header = row 1), as in the other
CSV formats (:mod:`dashboard.ingest.csv_text`).

What becomes diary data, and the approximations that takes:

- Time of day: a clock time ``H:MM`` as written; Bearable's slots get a representative time
  (pre 06:00, am 09:00, mid 13:00, pm 19:00); ``all day`` or blank is an entry without a time.
  Rows at the same date and time are one diary entry, since the store knows an entry by its
  patient and time; two different moods (or sleep ratings) at one time refuse the later row.
- Bearable's scales (its support page, "What are all the different scales used in Bearable?"):
  mood and energy 1-10, symptoms 0-4, sleep quality 1-5.
- Mood (1 worst) is rescaled to the diary's 0-10 by its end points,
  ``(v - 1) * 10 / 9``, so that "worst" stays 0 and "best" 10 (POMP scoring: Cohen et al. 1999,
  Multivariate Behav Res 34:315-346); rounded to 2 decimals. Sleep quality likewise: ``(v - 1) * 2.5``.
- Symptoms carry a severity word (Bearable's 0-4 scale: none, mild, moderate, severe,
  unbearable / extremely severe). Pain-like symptoms (pain, ache, headache, migraine) give a
  0-10 pain of 0 / 3 / 5 / 7 / 9, an approximation placed inside the usual verbal bands of the
  numeric scale (mild 1-4, moderate 5-6, severe 7-10: Serlin et al. 1995, Pain 61:277-284);
  several at one time keep the highest. The side effects the diary tracks become severities
  0 / 1 / 2 / 3 / 3 (severe and unbearable are both "severe", the diary's top grade); a
  bladder or urinary symptom counts as bladder even when its name says pain, because that is
  the ketamine cystitis signal the review flags.
- Meds/Supplements naming ketamine with unit mg add to ``dose_mg``; other drugs become
  ``other_medication`` text and one co-medication record per drug and day.
- Notes of any row go with the entry at its time. Everything else (Energy, Factors, Sleep
  duration, Food Diary, Gratitudes, other symptoms, ...) is counted in ``ignored``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

from dashboard import fields
from dashboard.ingest.csv_text import (
    Table,
    cell,
    extra_cells,
    normalise_header,
    parse_iso_date,
    parse_number,
    read_csv,
    read_header,
    refuse,
    report_unknown_columns,
    require_columns,
)
from dashboard.ingest.records import CoMedicationRecord, DiaryRecord, FileRefused, ParsedFile, RefusedRow, named_at_import
from dashboard.medications import drug_class, names_ketamine

KNOWN = {"date", "date_formatted", "weekday", "time_of_day", "category", "rating/amount", "detail", "notes"}
SLOT_TIMES = {"pre": time(6, 0), "am": time(9, 0), "mid": time(13, 0), "pm": time(19, 0)}
DATE_ONLY = {"", "all day"}
SEVERITY_LEVELS = {"none": 0, "mild": 1, "moderate": 2, "severe": 3, "unbearable": 4, "extremely severe": 4}
PAIN_OF_LEVEL = {0: 0.0, 1: 3.0, 2: 5.0, 3: 7.0, 4: 9.0}
EFFECT_OF_LEVEL = {0: 0, 1: 1, 2: 2, 3: 3, 4: 3}
SIDE_EFFECT_NAMES = (
    ("bladder", re.compile(r"bladder|urin", re.I)),
    ("dizziness", re.compile(r"dizz|light-?headed|vertigo", re.I)),
    ("nausea", re.compile(r"nause", re.I)),
    ("brain_fog", re.compile(r"brain ?fog", re.I)),
    ("dissociation", re.compile(r"dissociat|depersonali|dereali", re.I)),
    ("drowsiness", re.compile(r"drows|sleepiness|sleepy", re.I)),
)
PAIN_LIKE = re.compile(r"pain|aches?\b|migraine", re.I)
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")  # English, as Bearable writes them, whatever the server's locale
MONTHS = {**{m: i for i, m in enumerate(_MONTH_NAMES, 1)}, **{m[:3]: i for i, m in enumerate(_MONTH_NAMES, 1)},
          "sept": 9}
_ORDINAL_DATE = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+([0-9]{4})", re.ASCII)
_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)
_DETAIL = re.compile(r"(.*?)\s*\(([^()]*)\)\s*")  # "Back (lower) pain (Moderate)": the last brackets
DOSE_MAX_MG = fields.DOSE_MAX_MG
NOTES_MAX = fields.NOTES_MAX
DRUG_NAME_MAX = 300  # co_medication.name


class _Bad(Exception):
    def __init__(self, column: str, value: str, reason: str):
        super().__init__(reason)
        self.column, self.value, self.reason = column, value, reason


@dataclass
class _Row:
    number: int
    day: date
    clock: time | None
    time_text: str
    category: str
    rating: str
    detail: str
    notes: str


@dataclass
class _Entry:
    at: datetime
    has_time: bool
    row: int
    measures: dict[str, float] = field(default_factory=dict)
    set_by: dict[str, int] = field(default_factory=dict)
    side_effects: dict[str, int] = field(default_factory=dict)
    medications: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def looks_like_bearable(raw: bytes) -> bool:
    """By the header: Bearable's category, rating/amount and detail columns, and a date."""
    try:
        names = {normalise_header(name) for name in read_header(raw, "")}
    except (FileRefused, csv.Error):
        return False
    return {"category", "rating/amount", "detail"} <= names and bool(names & {"date", "date_formatted"})


def parse_bearable(raw: bytes, file_name: str, *, patient_ref: str | None = None,
                   today: date | None = None) -> ParsedFile:
    """A Bearable export to diary entries and co-medications; never touches the database."""
    patient_ref = named_at_import(
        file_name, patient_ref, required="a Bearable export names no patient: name the patient when importing it")
    table = read_csv(raw, file_name)
    require_columns(table, "category", "rating/amount", "detail")
    if not {"date", "date_formatted"} & table.columns.keys():
        raise FileRefused(file_name, f"the date column is missing (the header has: {', '.join(table.header)})",
                          row=1, column="date")
    diary = _Diary(patient_ref, ParsedFile(file_name=file_name, format="bearable"))
    report_unknown_columns(table, KNOWN, diary.out)
    refused: list[RefusedRow] = []
    for number, cells in table.rows:
        extra = extra_cells(cells, table, number)
        if extra is not None:
            refused.append(extra)
            continue
        try:
            row = _read_row(table, number, cells, today)
            diary.add(row, _items(row))
        except _Bad as bad:
            refused.append(refuse(number, bad.column, bad.value, bad.reason))
    diary.out.refused.extend(table.as_written(refused))
    return diary.finish()


# ---------------------------------------------------------------- one row

def _read_row(table: Table, number: int, cells: list[str], today: date | None = None) -> _Row:
    def value(name: str) -> str:
        return cell(cells, table.columns.get(name)).strip()

    time_text = value("time_of_day")
    day = _row_date(value("date"), value("date_formatted"))
    problem = fields.DIARY.problem(day, today)
    if problem:
        column = "date" if value("date") else "date_formatted"
        raise _Bad(column, value(column), problem)
    return _Row(number=number, day=day,
                clock=_clock(time_text), time_text=time_text, category=value("category"),
                rating=value("rating/amount"), detail=value("detail"), notes=value("notes"))


def _row_date(written: str, formatted: str) -> date:
    """``22nd Sep 2020`` (also ISO), checked against ``date formatted`` (ISO) when both are there."""
    day = None
    if formatted:
        try:
            day = parse_iso_date(formatted)
        except ValueError as exc:
            raise _Bad("date_formatted", formatted, str(exc)) from None
    if written:
        match = _ORDINAL_DATE.fullmatch(written)
        try:
            if match and match.group(2).lower() in MONTHS:
                ordinal = date(int(match.group(3)), MONTHS[match.group(2).lower()], int(match.group(1)))
            else:
                ordinal = parse_iso_date(written)
        except ValueError:
            raise _Bad("date", written, "not a date like '22nd Sep 2020' (or 2020-09-22)") from None
        if day is not None and ordinal != day:
            raise _Bad("date_formatted", formatted, f"does not match the date column ({written})")
        day = ordinal
    if day is None:
        raise _Bad("date", written, "the date is empty")
    return day


def _clock(text: str) -> time | None:
    """A clock time, a slot's representative time, or None for an entry without a time."""
    key = text.lower()
    if key in DATE_ONLY:
        return None
    if key in SLOT_TIMES:
        return SLOT_TIMES[key]
    match = _CLOCK.fullmatch(key)
    if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
        return time(int(match.group(1)), int(match.group(2)))
    raise _Bad("time_of_day", text, "not a time of day: H:MM, or one of pre, am, mid, pm, all day")


def _split_detail(detail: str) -> tuple[str, str | None]:
    """``Nausea (Mild)`` -> (Nausea, Mild); ``Ibuprofen (mg)`` -> (Ibuprofen, mg)."""
    match = _DETAIL.fullmatch(detail)
    return (match.group(1).strip(), match.group(2).strip()) if match else (detail.strip(), None)


def _number(text: str, column: str, low: float, high: float, what: str) -> float:
    try:
        value = parse_number(text, decimal_comma=False)
    except ValueError:
        raise _Bad(column, text, f"{what} is not a number") from None
    if not low <= value <= high:
        raise _Bad(column, text, f"{what} must be between {low:g} and {high:g}")
    return value


def _items(row: _Row) -> list[tuple[str, str, object]] | str:
    """What a row gives the diary, as (how it merges, measure, value); or the label it is ignored under."""
    category = row.category.lower()
    if category == "mood":
        mood = _number(row.rating, "rating/amount", 1, 10, "a Bearable mood (1-10)")
        return [("set", "mood", round((mood - 1) * 10 / 9, 2))]
    if category == "sleep quality":
        sleep = _number(row.rating, "rating/amount", 1, 5, "a Bearable sleep quality (1-5)")
        return [("set", "sleep", (sleep - 1) * 2.5)]
    if category == "symptom":
        return _symptom(row)
    if category == "meds/supplements":
        return _medication(row)
    return row.category or "(no category)"


def _symptom(row: _Row) -> list[tuple[str, str, object]] | str:
    name, severity = _split_detail(row.detail)
    effect = next((effect for effect, pattern in SIDE_EFFECT_NAMES if pattern.search(name)), None)
    if effect is None and not PAIN_LIKE.search(name):
        return f"Symptom: {name or '(no name)'}"
    level = SEVERITY_LEVELS.get(" ".join((severity or "").lower().split()))
    if level is None:
        raise _Bad("detail", row.detail, "no severity in brackets: (None), (Mild), (Moderate), (Severe), "
                                         "(Unbearable) or (Extremely severe)")
    if effect is not None:
        return [("max", effect, EFFECT_OF_LEVEL[level])]
    return [("max", "pain", PAIN_OF_LEVEL[level])]


def _amount(text: str) -> float | None:
    """The logged amount; several logs in one slot are written ``200|200`` and add up."""
    if text.lower() in ("", "none"):
        return None
    return sum(_number(part.strip(), "rating/amount", 0, 1e6, "the amount") for part in text.split("|"))


def _medication(row: _Row) -> list[tuple[str, str, object]]:
    name, unit = _split_detail(row.detail)
    if not name or len(name) > DRUG_NAME_MAX:
        raise _Bad("detail", row.detail, f"a medication name has 1 to {DRUG_NAME_MAX} characters")
    amount = _amount(row.rating)
    if names_ketamine(name):
        if (unit or "").lower() != "mg":
            raise _Bad("detail", row.detail, "a ketamine dose is read in mg: log it as 'Ketamine (mg)'")
        if amount is None or not 0 < amount <= DOSE_MAX_MG:
            raise _Bad("rating/amount", row.rating, f"a ketamine dose is more than 0 and at most {DOSE_MAX_MG:g} mg")
        return [("sum", "dose_mg", amount)]
    dose = f"{amount:g} {unit or ''}".strip() if amount is not None else None
    return [("medication", name, dose)]


# ---------------------------------------------------------------- merging rows into entries

class _Diary:
    def __init__(self, patient_ref: str, out: ParsedFile):
        self.patient_ref, self.out = patient_ref, out
        self.entries: dict[datetime, _Entry] = {}
        self.comedications: dict[tuple[str, date], tuple[CoMedicationRecord, list[str]]] = {}

    def add(self, row: _Row, items: list[tuple[str, str, object]] | str) -> None:
        """All of a row or none of it: every check runs before anything changes."""
        label, items = (items, []) if isinstance(items, str) else (None, items)
        if items or row.notes:
            self._check(row, items)
            at = datetime.combine(row.day, row.clock or time(0, 0))
            if at not in self.entries:
                self.entries[at] = _Entry(at=at, has_time=row.clock is not None, row=row.number)
            entry = self.entries[at]
            for how, measure, value in items:
                self._apply(entry, row, how, measure, value)
            if row.notes and row.notes not in entry.notes:
                entry.notes.append(row.notes)
        if label is not None:
            self._ignore(label)

    def _check(self, row: _Row, items: list[tuple[str, str, object]]) -> None:
        entry = self.entries.get(datetime.combine(row.day, row.clock or time(0, 0)))
        notes = [*entry.notes, row.notes] if entry and row.notes not in entry.notes else [row.notes]
        if len("\n".join(notes)) > NOTES_MAX:
            raise _Bad("notes", row.notes, f"the notes of this entry come to more than {NOTES_MAX:,} characters")
        if entry is None:
            return
        if entry.has_time != (row.clock is not None):
            raise _Bad("time_of_day", row.time_text, f"row {entry.row} at the same date and 0:00 is an entry "
                                                     "without a time; the two cannot be told apart")
        for how, measure, value in items:
            old = entry.measures.get(measure)
            if how == "set" and old is not None and old != value:
                raise _Bad("rating/amount", row.rating, f"row {entry.set_by[measure]} gives {measure} {old:g} "
                                                        "at the same time: the two disagree")
            if how == "sum" and (old or 0.0) + value > DOSE_MAX_MG:
                raise _Bad("rating/amount", row.rating, f"the ketamine doses at this time add up to more than {DOSE_MAX_MG:g} mg")

    def _apply(self, entry: _Entry, row: _Row, how: str, measure: str, value) -> None:
        if how == "set":
            entry.measures[measure] = value
            entry.set_by.setdefault(measure, row.number)
        elif how == "sum":
            entry.measures[measure] = entry.measures.get(measure, 0.0) + value
        elif how == "max" and measure == "pain":
            entry.measures["pain"] = max(entry.measures.get("pain", value), value)
        elif how == "max":
            entry.side_effects[measure] = max(entry.side_effects.get(measure, value), value)
        else:  # another drug: the entry's text and the day's co-medication record
            entry.medications.append(f"{measure} {value}" if value else measure)
            key = (measure.casefold(), row.day)
            if key not in self.comedications:
                record = CoMedicationRecord(patient_ref=self.patient_ref, name=measure, start_date=row.day,
                                            row=row.number, source="bearable", drug_class=drug_class(measure))
                self.comedications[key] = (record, [])
            if value:
                self.comedications[key][1].append(value)

    def _ignore(self, label: str) -> None:
        self.out.ignored[label] = self.out.ignored.get(label, 0) + 1

    def finish(self) -> ParsedFile:
        for entry in self.entries.values():
            if not (entry.measures or entry.side_effects or entry.medications):
                self._ignore("notes at a time with nothing else to import")
                continue
            measures: dict[str, float | str] = dict(entry.measures)
            if entry.medications:
                measures["other_medication"] = "; ".join(entry.medications)
            if entry.notes:
                measures["notes"] = "\n".join(entry.notes)
            self.out.diary.append(DiaryRecord(patient_ref=self.patient_ref, recorded_at=entry.at, row=entry.row,
                                              has_time=entry.has_time, measures=measures,
                                              side_effects=dict(entry.side_effects)))
        for record, doses in self.comedications.values():
            record.dose_text = ", ".join(doses) or None
            self.out.comedications.append(record)
        return self.out

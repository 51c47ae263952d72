"""Helping staff map a file: a first profile guessed from the file's names and values, and why a
profile cannot import a file, in words for staff."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from dashboard.fields import RANGES, SIDE_EFFECTS
from dashboard.ingest.csv_text import Table, cell, decode, normalise_header, sniff_delimiter
from dashboard.ingest.diary_csv import TEXTS
from dashboard.ingest.profiles.patterns import DAY_MONTH_PATTERNS, ISO_PATTERNS, TIME_PATTERNS, has_time
from dashboard.ingest.profiles.reader import parse_with_profile, read_profile_table
from dashboard.ingest.profiles.spec import (
    DATE_PARTS,
    DAYLIO_MOODS,
    FIELDS,
    NOT_RECORDED,
    UNIX_LAYOUTS,
    VERSION,
    ProfileError,
    item_key,
    named_columns,
)
from dashboard.ingest.profiles.survey import column_values, field_values, numeric, words_needing_numbers
from dashboard.ingest.profiles.validate import validate_profile
from dashboard.ingest.records import FileRefused

_PATIENT_NAMES = {"patient_id", "patient", "patient_ref", "patient_reference"}
_ITEM_NAMES = {"name", "item", "category", "region", "symptom", "variable", "type", "measure", "label"}
_REGION_NAMES = {"region", "location", "body_part", "site", "area", "where"}
_VALUE_NAMES = {"intensity", "value", "rating", "score", "severity", "amount", "level"}
_FIELD_ALIASES = {"note": "notes", "comment": "notes", "comments": "notes", "happiness": "mood", "headache": "pain",
                  # A pain log's one number, named by what it is: "Intensity", "Level", "Score", "NRS".
                  "intensity": "pain", "level": "pain", "score": "pain", "nrs": "pain", "rating": "pain"}
# Home blood-pressure logs: "Systolic", "SYS (mmHg)", "SBP", "BP sys"; "Diastolic", "DIA", "DBP".
_BP_WORDS = {"bp_systolic": {"systolic", "sys", "sbp"}, "bp_diastolic": {"diastolic", "dia", "dbp"}}
_DIGITS = re.compile(r"[0-9]+")
# Unix times a diary app writes: 2000-01-01 to 2100-01-01, in seconds (x1000 for milliseconds).
_UNIX_SPAN = (946_684_800, 4_102_444_800)
_DEFAULT_WORDS = {item_key(w) for w in NOT_RECORDED}
# Words that mean "not recorded" when a column otherwise holds numbers; "none" is left out, being a
# severity word (0) for side effects.
_PLACEHOLDER_WORDS = _DEFAULT_WORDS | {"?", "missing", "unknown", "x", "...", "k.a.", "keine angabe", "(none)"}
_SHOWN = 20  # distinct values listed with a question
_MG = re.compile(r"\d+(?:\.\d+)?\s*mg\b", re.IGNORECASE)
_MG_RULE = r"(?P<mg>\d+(?:\.\d+)?)\s*mg\b"
# In a list of drugs, only the amounts written after "ketamin..." within the same item (items end at
# , ; | or ]): "[Ketamine troche 25 mg, Ibuprofen 400 mg]" is 25 mg of ketamine, not 425.
_KETAMINE_RULE = r"ketamin[^\d,;|\]]*?(?P<mg>\d+(?:\.\d+)?)\s*mg\b"


def _mg_cells(written: list[str]) -> int:
    return sum(bool(_MG.search(v)) for v in written)


# "Sleep Quality: 8/10": a label, a colon, a number, a slash and the scale's top.
_RATING = re.compile(r"(?P<label>[A-Za-z][A-Za-z ]{0,40}?)\s*:\s*\d+(?:\.\d+)?\s*/\s*(?P<top>\d+)\b")


def guess_field(name: str) -> str | None:
    """A diary field a column or item name plainly means, or None for staff to decide."""
    key = normalise_header(name)
    if key in FIELDS:
        return key
    if key in _FIELD_ALIASES:
        return _FIELD_ALIASES[key]
    words = set(re.findall(r"[a-z]+", key))
    for field, names in _BP_WORDS.items():
        if words & names:
            return field
    if "pain" in key:
        return "pain_worst" if "worst" in key else "pain"
    return None


def guess_header_row(raw: bytes, file_name: str) -> int:
    """The first of the first rows whose cells are all filled: a note above the header leaves cells blank."""
    lines = io.StringIO(decode(raw, file_name), newline="")
    for number in range(1, 11):
        line = lines.readline().rstrip("\r\n")
        cells = [c.strip() for c in next(csv.reader([line], delimiter=sniff_delimiter(line)), [])]
        if len(cells) >= 2 and all(cells) and not any(numeric([c]) or c[:1].isdigit() for c in cells):
            return number
    return 1


def has_header(raw: bytes, file_name: str) -> bool:
    """False when the first row is data: it holds a date, a Unix time or mostly numbers, which a
    header's names never do. Daylio can export without a header; reading its first row as one
    would lose that row."""
    text = decode(raw, file_name).lstrip("\r\n")
    line = text.split("\n", 1)[0].rstrip("\r")
    cells = [c.strip() for c in next(csv.reader([line], delimiter=sniff_delimiter(line)), [])]
    filled = [c for c in cells if c]
    if not filled:
        return True
    dated = any(_parses([c], pattern) for c in filled for pattern in (*ISO_PATTERNS, *DAY_MONTH_PATTERNS))
    timed = any(_unix_layout([c]) for c in filled)
    return not (dated or timed or sum(numeric([c]) for c in filled) * 2 > len(filled))


def _parses(values: list[str], pattern: str) -> bool:
    try:
        for text in values[:200]:
            datetime.strptime(text, pattern)
    except ValueError:
        return False
    return bool(values)


def _unix_layout(values: list[str]) -> str | None:
    """``unix_s`` or ``unix_ms`` when every value is a whole number of that size for a time
    between 2000 and 2100, the only times a diary app writes; else None."""
    if not values or not all(_DIGITS.fullmatch(v) for v in values[:200]):
        return None
    numbers = [int(v) for v in values[:200]]
    for layout, factor in (("unix_s", 1), ("unix_ms", 1000)):
        if all(_UNIX_SPAN[0] * factor <= n <= _UNIX_SPAN[1] * factor for n in numbers):
            return layout
    return None


@dataclass
class Suggestion:
    """A profile that saves as it is, and the questions staff should answer: for each, the column
    and its distinct values (most frequent first)."""

    profile: dict
    questions: list[dict] = field(default_factory=list)
    table: Table | None = field(default=None, repr=False)  # the file as read: its columns, for the form

    @property
    def values(self) -> dict[str, list[str]]:
        """Each column's distinct values, most frequent first."""
        return column_values(self.table) if self.table is not None else {}

    def ask(self, column: str | None, question: str, values: list[str] | None = None) -> None:
        self.questions.append({"column": column, "question": question, "values": (values or [])[:_SHOWN]})


def suggest_profile(raw: bytes, file_name: str, *, header_row: int | None = None, header: bool | None = None) -> dict:
    """The profile of :func:`suggest_mapping`: it validates and saves as it is."""
    return suggest_mapping(raw, file_name, header_row=header_row, header=header).profile


def suggest_mapping(raw: bytes, file_name: str, *, header_row: int | None = None,
                    header: bool | None = None) -> Suggestion:
    """A starting point read from the file's names and contents: layout, dates (Unix times, two-digit
    years, hour and minute columns), fields, "not recorded" words, "N mg" patterns and packed ratings.
    A column of words is never mapped to a number without a number for each word: it is left
    ignored, and the question lists its values. The profile always validates, so it saves unedited."""
    if header is None:
        header = header_row not in (None, 1) or has_header(raw, file_name)
    if header_row is None:
        header_row = guess_header_row(raw, file_name) if header else 1
    table = read_profile_table(raw, file_name, header_row, header)
    values = column_values(table)
    keys = {normalise_header(name): name for name in table.header if name}
    found = Suggestion({"version": VERSION, "header": header, "header_row": header_row, "aggregate": "max"},
                       table=table)
    profile = found.profile
    if not header:
        found.ask(None, "The first row holds data, not column names: the file is read without a header, its columns "
                        "named by position. Untick 'The first row is a header' if it is one.", table.header)
    placeholders = _placeholders(values)
    profile["not_recorded"] = [*NOT_RECORDED, *[w for w in placeholders if item_key(w) not in _DEFAULT_WORDS]]
    blanks = {name: sum(not cell(cells, i).strip() for _, cells in table.rows) for i, name in enumerate(table.header)}
    profile.update(_suggest_dates(keys, values, blanks, header))
    if not (profile.get("date_column") or profile.get("date_parts")):
        # A profile names its date column: one that no field claims stands in, and the question says so.
        if not keys:
            raise FileRefused(file_name, "the header names no column", row=header_row)
        first = next((n for n in keys.values() if not (guess_field(n) or _field_by_content(values[n]))),
                     next(iter(keys.values())))
        profile.update(date_column=first, date_format="%Y-%m-%d")
        found.ask(first, f"No column reads as a date: choose the date column and its layout ({first!r} stands in, "
                         "and no row imports until then).", values.get(first))
    if profile.get("date_format") in UNIX_LAYOUTS:
        found.ask(profile["date_column"], "Unix times are instants: give the patient's time zone, or they are shown "
                                          "in UTC.", values.get(profile["date_column"]))
    taken = {normalise_header(n) for n in named_columns(profile).values()}
    patient = next((keys[k] for k in keys if k in _PATIENT_NAMES and k not in taken), None)
    if patient:
        profile["patient_column"] = patient
        taken.add(normalise_header(patient))
    free = [name for key, name in keys.items() if key not in taken]
    if not free:
        raise FileRefused(file_name, "the file has no column besides its date"
                          + (" and patient" if patient else "") + ": nothing to map to the diary", row=header_row)
    kept = set(map(item_key, profile["not_recorded"]))
    cells = {name: [v for v in values[name] if item_key(v) not in kept] for name in free}
    item, value = _suggest_long(free, cells, len(table.rows))
    if item:
        # Items that are body regions ("Knees", "Low back") are where it hurts: pain, the worst kept.
        where = "pain" if normalise_header(item) in _REGION_NAMES else None
        profile.update(layout="long", item_column=item, value_column=value,
                       items={name: guess_field(name) or where for name in values[item]})
        profile["value_maps"] = _long_labels(found, table)
    else:
        profile.update(layout="wide", columns={}, value_maps={}, rules={}, scale={})
        for name in free:
            _suggest_column(found, name, cells[name])
        _nothing_mapped(found, free, values)
    left = [name for name, target in (profile.get("columns") or profile.get("items") or {}).items() if target is None]
    if left:
        more = "..." if len(left) > _SHOWN else ""
        found.ask(None, "Ignored unless you map them: " + ", ".join(left[:_SHOWN]) + more)
    for key in ("rules", "scale"):
        if not profile.get(key):
            profile.pop(key, None)
    validate_profile(profile)  # the suggestion saves as it is
    return found


def _placeholders(values: dict[str, list[str]]) -> list[str]:
    """The "not recorded" words the file writes, in columns that otherwise hold numbers."""
    seen = []
    for written in values.values():
        words = [v for v in written if item_key(v) in _PLACEHOLDER_WORDS]
        rest = [v for v in written if item_key(v) not in _PLACEHOLDER_WORDS]
        if words and numeric(rest):
            seen += words
    return list(dict.fromkeys(seen))


def _suggest_column(found: Suggestion, name: str, written: list[str]) -> None:
    """One column of a wide file: its field, with a value map, a pattern or a packed rating where
    its contents need one; a column of words without numbers is left ignored and asked about."""
    p = found.profile
    guess = guess_field(name) or _field_by_content(written)
    p["columns"][name] = guess
    if not written or (guess and (guess in TEXTS or numeric(written))):
        return
    packed = _packed_rating(written)
    if packed:
        label, regex, top = packed
        target = _rated_field(label)
        if target:
            p["columns"][name], p["rules"][name] = target, {"label": regex}
            low, high = RANGES[target]
            if top != high:
                p["scale"][target] = {"from": [0.0, float(top)], "to": [low, high]}
            found.ask(name, f"Read {target} from '{label}: N/{top}' in this packed column; check the preview.", written)
        else:
            p["columns"][name] = None
            found.ask(name, f"This column packs ratings ('{label}: N/{top}'): choose the field they are, and the "
                            "label pattern.", written)
        return
    if _mg_cells(written) * 2 >= len(written):
        named = "ketamin" in name.casefold()  # the column is the ketamine dose: every "N mg" in it counts
        if named or all("ketamin" in v.casefold() for v in written if _MG.search(v)):
            p["columns"][name], p["rules"][name] = "dose_mg", {"pattern": _MG_RULE if named else _KETAMINE_RULE}
            what = "every 'N mg' in a cell" if named else "each 'ketamine ... N mg' item of a cell (other drugs not)"
            found.ask(name, f"Ketamine doses: {what} is added up, a quantity beside it is not multiplied; check the "
                            "preview.", written)
        else:
            p["columns"][name] = "other_medication"
            found.ask(name, "Doses in mg that do not say ketamine: kept as other medication (text). Map the column to "
                            "dose_mg with a pattern only if it is the ketamine dose.", written)
        return
    if guess is None or guess in TEXTS:
        return
    words = words_needing_numbers(guess, written)
    known = _known_numbers(guess, words)
    if len(known) == len(words):  # severity words need no map: words_needing_numbers leaves them out
        if known:
            p["value_maps"][guess] = {**p["value_maps"].get(guess, {}), **known}
        return
    p["columns"][name] = None
    found.ask(name, f"This column holds words, not numbers: to read it as {guess}, give each word a number "
                    f"({RANGES[guess][0]:g} to {RANGES[guess][1]:g}).", written)


def _known_numbers(name: str, words: list[str]) -> dict[str, float]:
    """Numbers the suggester knows for words: Daylio's default moods."""
    if name != "mood":
        return {}
    return {w: DAYLIO_MOODS[item_key(w)] for w in words if item_key(w) in DAYLIO_MOODS}


def _field_by_content(written: list[str]) -> str | None:
    """A column named by position (no header): Daylio's mood words say it is mood."""
    if written and sum(item_key(v) in DAYLIO_MOODS for v in written) * 2 >= len(written):
        return "mood"
    return None


def _packed_rating(written: list[str]) -> tuple[str, str, int] | None:
    """The first label that every packed cell rates as ``N/M`` (``Sleep Quality: 8/10 points``),
    with a regex reading it and M; None when the cells are not packed ratings."""
    labels: dict[str, set[int]] = {}
    for text in written:
        for m in _RATING.finditer(text):
            labels.setdefault(m.group("label").strip(), set()).add(int(m.group("top")))
    common = [(label, tops) for label, tops in labels.items()
              if len(tops) == 1 and sum(label.casefold() in v.casefold() for v in written) * 2 >= len(written)]
    if not common:
        return None
    label, (top,) = common[0]
    written = re.escape(label).replace("\\ ", " ")  # spaces need no escape: staff read this pattern
    return label, rf"{written}\s*:\s*(?P<v>\d+(?:\.\d+)?)\s*/\s*{top}\b", top


def _rated_field(label: str) -> str | None:
    key = normalise_header(label)
    if "sleep" in key and ("quality" in key or key == "sleep"):
        return "sleep"
    guess = guess_field(label)
    return guess if guess and guess not in TEXTS and guess not in SIDE_EFFECTS else None


def _nothing_mapped(found: Suggestion, free: list[str], values: dict[str, list[str]]) -> None:
    """A profile maps at least one column: when nothing was recognised, the first free column is
    kept as notes, so that the suggestion still saves, and the question says so."""
    p = found.profile
    if any(p["columns"].values()) or not free:
        return
    p["columns"][free[0]] = "notes"
    found.ask(free[0], "No column was recognised as a diary measure: map at least one (kept as notes meanwhile).",
              values.get(free[0]))


def _long_labels(found: Suggestion, table: Table) -> dict[str, dict[str, float]]:
    """Words in a long file's numbered fields: known words get their numbers; a field with other
    words has its items left ignored and asked about, never mapped without numbers."""
    p = found.profile
    out = {}
    kept = set(map(item_key, p["not_recorded"]))
    for name, seen in field_values(table, p).items():
        words = words_needing_numbers(name, [v for v in seen if item_key(v) not in kept])
        known = _known_numbers(name, words)
        if len(known) == len(words):
            if known:
                out[name] = known
            continue
        items = [i for i, f in p["items"].items() if f == name]
        for i in items:
            p["items"][i] = None
        found.ask(p["value_column"], f"Items {', '.join(items)} hold words, not numbers: to read them as {name}, "
                                     "give each word a number.", words)
    if not any(p["items"].values()):
        first = next(iter(p["items"]))
        p["items"][first] = "notes"
        found.ask(p["item_column"], f"No item was recognised as a diary measure: map at least one (the values of "
                                    f"{first!r} are kept as notes meanwhile).", list(p["items"]))
    return out


def _suggest_dates(keys: dict[str, str], values: dict[str, list[str]], blanks: dict[str, int],
                   header: bool = True) -> dict:
    out: dict = {}
    dated = [(name, pattern) for name in keys.values() for pattern in ISO_PATTERNS if _parses(values[name], pattern)]
    dated += [(name, _unix_layout(values[name])) for name in keys.values() if _unix_layout(values[name])]
    if not dated:  # then day/month orders: the first that reads every value, to be confirmed by staff
        dated = [(name, pattern) for name in keys.values() for pattern in DAY_MONTH_PATTERNS
                 if _parses(values[name], pattern)]
    dated.sort(key=lambda found: not any(w in normalise_header(found[0]) for w in ("date", "time")))
    parts = {}
    for part in DATE_PARTS:
        parts[part] = next((name for key, name in keys.items() if key == part), None) or next(
            (name for key, name in keys.items() if key.endswith(part) and "week" not in key), None)
    if all(parts.values()):
        out["date_parts"] = parts
        dated = [(name, pattern) for name, pattern in dated if name not in parts.values()]
        out["fill_down"] = blanks[parts["year"]] > 0  # a hand-kept sheet writes the year once
        if dated:
            out["fallback_date_column"], out["fallback_date_format"] = dated[0]
            out["one_entry_per_day"] = has_time(dated[0][1])
    elif dated:
        out["date_column"], out["date_format"] = dated[0]
    if out.get("date_column") and not has_time(out["date_format"]):
        out.update(_suggest_time(keys, values, out["date_column"], header))
    return out


def _suggest_time(keys: dict[str, str], values: dict[str, list[str]], date_column: str, header: bool) -> dict:
    """A time column beside the date ("time" in its name, or any column of times in a file without
    a header), else an hour and a minute column (iMoodJournal), so a day's entries stay apart."""
    for key, name in keys.items():
        pattern = next((t for t in TIME_PATTERNS if _parses(values[name], t)), None)
        if ("time" in key or not header) and pattern and name != date_column:
            return {"time_column": name, "time_format": pattern}
    hour = next((name for key, name in keys.items() if key in ("hour", "hours", "hh")), None)
    minute = next((name for key, name in keys.items() if key in ("minute", "minutes", "min", "mm")), None)
    if hour and _whole_numbers(values[hour], 23) and (minute is None or _whole_numbers(values[minute], 59)):
        return {"time_parts": {"hour": hour, "minute": minute}}
    return {}


def _whole_numbers(values: list[str], top: int) -> bool:
    return bool(values) and all(_DIGITS.fullmatch(v) and int(v) <= top for v in values)


def date_readings(raw: bytes, file_name: str, profile: dict, *, shown: int = 3) -> list[dict]:
    """For a date column written day/month-wise, every pattern that reads all its values, with how
    the first values read under it, so staff confirm the order: ``03/04/2026`` is 4 March (M/D/YYYY)
    or 3 April (D/M/YYYY). One entry when only one order fits; empty for ISO dates."""
    column, chosen = profile.get("date_column"), profile.get("date_format")
    if not column or chosen not in DAY_MONTH_PATTERNS:
        return []
    table = read_profile_table(raw, file_name, profile.get("header_row", 1), profile.get("header", True))
    values = column_values(table).get(column, [])
    out = []
    for pattern in DAY_MONTH_PATTERNS:
        if _parses(values, pattern):
            read = [f"{v} = {_spoken(datetime.strptime(v, pattern), pattern)}" for v in values[:shown]]
            out.append({"date_format": pattern, "chosen": pattern == chosen, "readings": read})
    return out


def _spoken(when: datetime, pattern: str) -> str:
    day = f"{when.day} {when:%B %Y}"
    return f"{day} {when:%H:%M}" if has_time(pattern) else day


def _suggest_long(free: list[str], values: dict[str, list[str]], rows: int) -> tuple[str | None, str | None]:
    """An item column (a few names repeated) and a value column (numbers), when names say so."""
    items = [n for n in free if 2 <= len(values[n]) <= 60 and rows >= 2 * len(values[n]) and not numeric(values[n])]
    numbers = [n for n in free if numeric(values[n])]
    for item in items:
        for value in numbers:
            if normalise_header(item) in _ITEM_NAMES or normalise_header(value) in _VALUE_NAMES:
                return item, value
    return None, None


def explain_unmappable(raw: bytes, file_name: str, profile: dict, *, patient_ref: str | None = None,
                       today: date | None = None) -> list[str]:
    """Why this file cannot be imported with this profile, in words for staff; empty when it can."""
    try:
        p = validate_profile(profile)
    except ProfileError as exc:
        return [str(exc)]
    try:
        table = read_profile_table(raw, file_name, p["header_row"], p["header"])
        parsed = parse_with_profile(raw, file_name, p, patient_ref=patient_ref, today=today)
    except FileRefused as exc:
        return [exc.refused.reason]
    reasons = _unmatched(table, p)
    if not parsed.diary:
        reasons.append("no row becomes a diary entry" + (
            f": row {parsed.refused[0].row}, column {parsed.refused[0].column!r}: {parsed.refused[0].reason}"
            if parsed.refused else ""))
    return reasons


def _unmatched(table: Table, p: dict) -> list[str]:
    """Items the profile maps but the file lacks, and words with no number: the usual reasons."""
    reasons = []
    if p["layout"] == "long":
        item_column = table.header[table.columns[normalise_header(p["item_column"])]]
        present = column_values(table)[item_column]
        if not any(item_key(i) in map(item_key, present) for i, f in p["items"].items() if f):
            reasons.append(f"none of the items the profile maps is in column {item_column!r} "
                           f"(it has: {', '.join(present[:20])})")
    for name, seen in field_values(table, p).items():
        labels = {item_key(k) for k in p["value_maps"].get(name, {})}
        words = [w for w in words_needing_numbers(name, seen) if item_key(w) not in labels]
        if words:
            reasons.append(f"{name}: these words have no number in value_maps: {', '.join(map(repr, words[:20]))}")
    return reasons

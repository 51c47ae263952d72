"""The import page's "Map another layout" section (import-formats.md section 4).

Staff upload another diary app's export and get the suggester's profile as a form: each column (or,
for a long format, each item) and the diary field it becomes, how its cells (a long format's value
column's) are read (as written, a pattern summed, a packed rating), numbers for the words it holds,
the words that mean "not recorded", the date layout and the patient's time zone. The suggester's
open questions are listed with each column's values. A live preview shows the first entries as they
would be stored; staff save the mapping as a named profile and import with it. Nobody edits JSON (a
read-only view remains for experts). The command line reuses the profile: ``python -m dashboard
import FILE --profile NAME``. The page only arranges widgets: suggestion and preview come from use
cases (``usecases.imports.suggest_mapping`` and ``preview_mapping``).

File content is patient data. It appears only in st.dataframe, st.text and widget options,
never as markdown, so a cell such as ``**x**`` or ``<img>`` shows exactly as written.
Every widget key starts with ``map_``.
"""

from __future__ import annotations

import hashlib
import re
from zoneinfo import available_timezones

import pandas as pd
import streamlit as st

from dashboard import loaders
from dashboard.usecases import imports, run
from dashboard.access import may_import
from dashboard.actors import User
from dashboard.fields import FIELD, GRADE, RANGES, TEXT
from dashboard.ingest import profiles
from dashboard.ingest.csv_text import normalise_header
from dashboard.ingest.records import FileRefused

NEW = "(new mapping)"
IGNORE = "(ignore)"
NONE = "(none)"
OTHER = "(type another pattern)"
AGGREGATE_LABELS = {"max": "keep the highest (worst)", "mean": "take the mean"}
LAYOUT_LABELS = {"wide": "One row per entry (wide)", "long": "One row per item: name, value, date (long)"}
DATE_PATTERNS = tuple(dict.fromkeys((*profiles.ISO_PATTERNS, "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d/%m/%Y %H:%M",
                                     "%m/%d/%Y %I:%M %p", *profiles.DAY_MONTH_PATTERNS, "%d %B %Y", "%b %d, %Y")))
UNIX_LABELS = {"unix_s": "Unix time in seconds", "unix_ms": "Unix time in milliseconds"}
TIME_SOURCES = ("in the date column, or none", "a column of its own", "an hour and a minute column")
RULE_LABELS = {"": "as written", "pattern": "sum a pattern's numbers", "label": "one labelled rating"}
RULE_EXAMPLES = {"pattern": r"(?P<mg>\d+(?:\.\d+)?)\s*mg\b", "label": r"Sleep Quality:\s*(?P<v>\d+)\s*/\s*10"}
ZONES = sorted(available_timezones())
SHOWN_VALUES = 3  # a column's first distinct values shown beside it
MAX_ITEMS = 100  # more distinct values than this is not a list of items but free text
# Kept when the file or the starting profile changes; everything else starts again from the new basis.
_KEEP = {"map_upload", "map_patient", "map_start", "map_basis", "map_profile_name", "map_replace", "map_accept_valid"}
_SCALE = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*(?:-|to)\s*(-?\d+(?:\.\d+)?)\s*")


def show(user: User) -> None:
    st.header("Map another diary app's layout")
    if not may_import(user):
        st.warning("Your role cannot import records.")
        return
    upload = st.file_uploader("Export from another diary app (CSV)", key="map_upload")
    if upload is None:
        st.info("Choose a file. You map its columns to diary fields and see a preview; "
                "nothing is written until you press Import.")
        return
    raw, file_name = upload.getvalue(), upload.name
    patient_ref = st.text_input("Patient reference (for files without a patient column)", key="map_patient")
    patient_ref = patient_ref.strip() or None
    saved = run(imports.mapping_profiles, None)
    start = st.selectbox("Start from", [NEW, *saved], key="map_start",
                         help="A saved profile reads the next file from the same app the same way.")
    found = _starting_profile(raw, file_name, start, user)
    if found is None:
        return
    base, suggestion = found
    _questions(suggestion.questions if start == NEW else [])
    profile = _edit(base, suggestion)
    if profile is None:
        return
    mappable = _preview(raw, file_name, profile, patient_ref, user)
    name = _save(profile, user)
    if mappable:
        _import(raw, file_name, profile, name, patient_ref, user)


def widget_key(kind: str, name: str) -> str:
    """A stable key for the widget of one column, item or label, whatever its position in the file."""
    return f"map_{kind}_{hashlib.sha1(name.encode()).hexdigest()[:12]}"


def _forget(keep: set[str]) -> None:
    for key in [k for k in st.session_state if str(k).startswith("map_") and k not in keep]:
        del st.session_state[key]


def _starting_profile(raw: bytes, file_name: str, start: str, user: User) -> tuple[dict, profiles.Suggestion] | None:
    """The suggestion for a new mapping, or the saved profile, with the file as the suggester read
    it; widgets restart when the file, the start or the header changes."""
    basis = (hashlib.sha256(raw).hexdigest(), start)
    if st.session_state.get("map_basis") != basis:
        _forget(_KEEP)
        st.session_state["map_basis"] = basis
        st.session_state["map_profile_name"] = "" if start == NEW else start
    try:
        if start == NEW:
            guessed = run(imports.suggest_mapping, user, raw, file_name)
            header, header_row = _header_widgets(guessed.profile["header"], guessed.profile["header_row"])
            if (header, header_row) == (guessed.profile["header"], guessed.profile["header_row"]):
                return guessed.profile, guessed
            again = run(imports.suggest_mapping, user, raw, file_name, header_row=header_row, header=header)
            return again.profile, again
        base = run(imports.mapping_profile, None, start)
        header, header_row = _header_widgets(base.get("header", True), base.get("header_row", 1))
        base = {**base, "header": header, "header_row": header_row}
        return base, run(imports.suggest_mapping, user, raw, file_name, header_row=header_row, header=header)
    except FileRefused as exc:
        st.error("This file cannot be read:")
        st.text(exc.refused.reason)
        return None


def _header_widgets(header: bool, header_row: int) -> tuple[bool, int]:
    cols = st.columns(2)
    header = cols[0].checkbox("The first row is a header (column names)", value=header, key="map_header",
                              help="Untick for a file whose first row is already data: its columns are then "
                                   "named by position, column 1, column 2, ...")
    row = 1
    if header:
        row = int(cols[1].number_input("Row of the header (rows above it are skipped)", min_value=1, max_value=50,
                                       value=header_row, key="map_header_row"))
    if st.session_state.get("map_rows_basis") != (header, row):  # other columns: the column widgets start again
        _forget(_KEEP | {"map_header_row", "map_header"})
        st.session_state["map_rows_basis"] = (header, row)
    return header, row


def _questions(questions: list[dict]) -> None:
    """The suggester's open questions, each with its column and that column's values, as plain text."""
    if not questions:
        return
    st.subheader("Open questions")
    st.caption("The suggestion saves as it is; these are what it could not decide for you.")
    for q in questions:
        st.text(f"{q['column']}: {q['question']}" if q["column"] else q["question"])
        if q["values"]:
            st.text("  values: " + " | ".join(_short(v) for v in q["values"]))


def _short(value: str, width: int = 60) -> str:
    return value if len(value) <= width else value[:width - 1] + "\u2026"


def _edit(base: dict, suggestion: profiles.Suggestion) -> dict | None:
    """The profile as the widgets set it, starting from ``base``."""
    table = suggestion.table
    header = [name for name in table.header if name]
    values = suggestion.values
    layouts = list(LAYOUT_LABELS)
    layout = st.radio("Layout", layouts, index=layouts.index(base.get("layout", "wide")), format_func=LAYOUT_LABELS.get,
                      key="map_layout", horizontal=True)
    profile = {"version": 2, "header": base.get("header", True), "header_row": base.get("header_row", 1),
               "layout": layout}
    st.subheader("Dates and times")
    profile.update(_date_widgets(base, header))
    profile["timezone"] = _timezone(base.get("timezone"))
    profile["patient_column"] = _pick("Patient column", [NONE, *header], base.get("patient_column"),
                                      "map_patient_column")
    st.subheader("Columns")
    if layout == "long":
        _long_widgets(base, header, values, profile)
    else:
        _wide_widgets(base, header, values, profile)
    profile["not_recorded"] = _not_recorded(base.get("not_recorded"))
    sources = profiles.words_to_number(table, profile)
    profile["value_maps"] = _label_numbers(sources, base.get("value_maps") or {})
    numbered = sorted({f for f in (profile.get("columns") or profile.get("items") or {}).values()
                       if f and FIELD[f].kind != TEXT and f not in profile["value_maps"]})
    profile["scale"] = _scales(numbered, base.get("scale") or {})
    cols = st.columns(2)
    profile["aggregate"] = cols[0].selectbox(
        "Several values for one entry", profiles.AGGREGATES, format_func=AGGREGATE_LABELS.get, key="map_aggregate",
        index=profiles.AGGREGATES.index(base.get("aggregate", "max")))
    profile["one_entry_per_day"] = cols[1].checkbox("One entry per day (drop the time)", key="map_one_per_day",
                                                    value=bool(base.get("one_entry_per_day")))
    with st.expander("The profile as saved (JSON, read-only, for experts)"):
        st.json(profile)
    return profile


def _show_date_readings(readings: list[dict]) -> None:
    """Dates written day/month-wise are shown as read, so staff confirm the order; when every day
    is 12 or less both orders read the file, and both readings are shown side by side."""
    if len(readings) > 1:
        st.warning("These dates read two ways. Check which the app wrote and choose that date pattern.")
    elif readings:
        st.caption("Check that the dates read as the app meant them:")
    for r in readings:
        chosen = " (chosen)" if r["chosen"] else ""
        st.text(f"As {r['date_format']}{chosen}: " + "; ".join(r["readings"]))


def _pick(label: str, options: list[str], current: str | None, key: str, container=st) -> str | None:
    keys = [normalise_header(o) for o in options]
    wanted = normalise_header(current) if current else None
    index = keys.index(wanted) if wanted in keys else 0
    choice = container.selectbox(label, options, index=index, key=key)
    return None if choice == NONE else choice


def _pattern_label(pattern: str) -> str:
    if pattern == OTHER:
        return pattern
    return f"{UNIX_LABELS.get(pattern, pattern)}   e.g. {profiles.example(pattern)}"


def _pattern(label: str, choices: tuple[str, ...], current: str | None, key: str, container=st) -> str | None:
    options = list(dict.fromkeys([*([current] if current else []), *choices])) + [OTHER]
    choice = container.selectbox(label, options, key=key, format_func=_pattern_label)
    if choice == OTHER:
        return container.text_input(f"{label}: strptime pattern", key=f"{key}_other").strip() or None
    return choice


def _date_widgets(base: dict, header: list[str]) -> dict:
    sources = ["one column", "year, month and day columns"]
    by_parts = st.radio("The date is in", sources, index=1 if base.get("date_parts") else 0, key="map_date_source",
                        horizontal=True) == sources[1]
    out: dict = {}
    if by_parts:
        cols = st.columns(4)
        given = base.get("date_parts") or {}
        out["date_parts"] = {part: _pick(part.title(), [NONE, *header], given.get(part), f"map_date_{part}", cols[i])
                             for i, part in enumerate(profiles.DATE_PARTS)}
        if not all(out["date_parts"].values()):
            out["date_parts"] = None
        out["fill_down"] = cols[3].checkbox("A blank means the row above", value=bool(base.get("fill_down")),
                                            key="map_fill_down")
    else:
        cols = st.columns(2)
        out["date_column"] = _pick("Date column", [NONE, *header], base.get("date_column"), "map_date_column", cols[0])
        out["date_format"] = _pattern("Date layout", (*DATE_PATTERNS, *profiles.UNIX_LAYOUTS),
                                      base.get("date_format"), "map_date_format", cols[1])
    if not (out.get("date_format") and profiles.has_time(out["date_format"])):
        out.update(_time_widgets(base, header))
    cols = st.columns(2)
    out["fallback_date_column"] = _pick("Where the date is unusable, take it from", [NONE, *header],
                                        base.get("fallback_date_column"), "map_fallback_column", cols[0])
    if out["fallback_date_column"]:
        out["fallback_date_format"] = _pattern("Its pattern", DATE_PATTERNS, base.get("fallback_date_format"),
                                               "map_fallback_format", cols[1])
    return out


def _time_widgets(base: dict, header: list[str]) -> dict:
    """The time of day: none, a column of its own, or an hour and a minute column (iMoodJournal)."""
    current = 2 if base.get("time_parts") else 1 if base.get("time_column") else 0
    source = st.radio("The time of day is", TIME_SOURCES, index=current, key="map_time_source", horizontal=True)
    cols = st.columns(2)
    if source == TIME_SOURCES[1]:
        column = _pick("Time column", [NONE, *header], base.get("time_column"), "map_time_column", cols[0])
        if column:
            return {"time_column": column, "time_format": _pattern("Time pattern", profiles.TIME_PATTERNS,
                                                                   base.get("time_format"), "map_time_format", cols[1])}
    if source == TIME_SOURCES[2]:
        given = base.get("time_parts") or {}
        hour = _pick("Hour column", [NONE, *header], given.get("hour"), "map_time_hour", cols[0])
        minute = _pick("Minute column", [NONE, *header], given.get("minute"), "map_time_minute", cols[1])
        if hour:
            return {"time_parts": {"hour": hour, "minute": minute}}
    return {}


def _timezone(current: str | None) -> str | None:
    options = [NONE, *ZONES]
    choice = st.selectbox("The patient's time zone (for times written without an offset)", options,
                          index=options.index(current) if current in options else 0, key="map_timezone",
                          help="Unix times are shown in this zone (UTC without one). A time the clock skipped or "
                               "passed twice when summer time starts or ends is read as the docs say.")
    return None if choice == NONE else choice


def _not_recorded(current: list[str] | None) -> list[str]:
    words = current if current is not None else list(profiles.NOT_RECORDED)
    text = st.text_input('Words that mean "not recorded" (comma-separated; such cells stay empty)',
                         value=", ".join(words), key="map_not_recorded")
    return [w.strip() for w in text.split(",") if w.strip()]


def _field_label(name: str) -> str:
    if name == IGNORE:
        return name
    field = FIELD[name]
    if field.kind == TEXT:
        return f"{name} (text)"
    unit = f" {field.unit}" if field.unit else ""
    what = "side effect " if field.kind == GRADE else ""
    return f"{name} ({what}{field.low:g}-{field.high:g}{unit})"


def _field_pickers(kind: str, names: list[str], current: dict, normalise, values: dict | None = None,
                   rules: dict | None = None) -> tuple[dict[str, str | None], dict[str, dict]]:
    """One row per column or item: its name and first values as plain text, the diary field it
    becomes and, for a column with a numbered field, how its cells are read (as written, a pattern's
    numbers summed, one labelled rating out of a packed cell)."""
    given = {normalise(k): v for k, v in current.items()}
    given_rules = {normalise(k): v for k, v in (rules or {}).items()}
    options = [IGNORE, *profiles.FIELDS]
    out, chosen_rules = {}, {}
    for name in names:
        default = given.get(normalise(name), profiles.guess_field(name) if not given else None)
        left, middle, right = st.columns([2, 2, 3])
        left.text(name)
        if values is not None and values.get(name):
            left.text("e.g. " + " | ".join(_short(v, 30) for v in values[name][:SHOWN_VALUES]))
        choice = middle.selectbox(f"Diary field for this {kind}", options, index=options.index(default or IGNORE),
                                  format_func=_field_label, key=widget_key(kind, name), label_visibility="collapsed")
        out[name] = None if choice == IGNORE else choice
        if values is None or out[name] is None or FIELD[out[name]].kind == TEXT:
            continue
        rule = _rule_widget(name, given_rules.get(normalise(name)) or {}, right)
        if rule:
            chosen_rules[name] = rule
    return out, chosen_rules


def _rule_widget(column: str, rule: dict, container, label: str | None = None) -> dict | None:
    """How one column's cells are read: as written, a pattern's numbers summed, or one labelled rating.
    ``label`` is shown; never the column's name, which is file content (labels are markdown)."""
    kinds = list(RULE_LABELS)
    now = next(iter(rule), "")
    how = container.selectbox(label or "How its cells are read", kinds, index=kinds.index(now),
                              format_func=RULE_LABELS.get, key=widget_key("rule", column),
                              label_visibility="visible" if label else "collapsed")
    if not how:
        return None
    regex = container.text_input("Regular expression with one named number", value=rule.get(how, RULE_EXAMPLES[how]),
                                 key=widget_key(f"regex_{how}", column), label_visibility="collapsed")
    return {how: regex}


def _long_widgets(base: dict, header: list[str], values: dict, profile: dict) -> None:
    cols = st.columns(2)
    item = _pick("Item column (the item's name)", header, base.get("item_column"), "map_item_column", cols[0])
    value = _pick("Value column", header, base.get("value_column"), "map_value_column", cols[1])
    items = values.get(item, [])
    if len(items) > MAX_ITEMS:
        st.warning(f"This column has {len(items)} different values: choose the column that names the items.")
        items = items[:MAX_ITEMS]
    present = {name.strip().casefold() for name in items}
    kept = [k for k in (base.get("items") or {}) if k.strip().casefold() not in present]  # saved, not in this file
    st.caption("Each item the file holds, and the diary field it becomes")
    mapped, _ = _field_pickers("item", [*items, *kept], base.get("items") or {}, lambda s: s.strip().casefold())
    profile.update(item_column=item, value_column=value, items=mapped, rules={})
    if value:  # the value column's rule (a pattern summed, a packed rating) applies to every mapped item
        given = {normalise_header(c): r for c, r in (base.get("rules") or {}).items()}
        rule = _rule_widget(value, given.get(normalise_header(value)) or {}, st,
                            label="How the value column's cells are read")
        if rule:
            profile["rules"] = {value: rule}


def _wide_widgets(base: dict, header: list[str], values: dict, profile: dict) -> None:
    roles = {normalise_header(c) for c in profiles.role_columns(profile)}
    free = [name for name in header if normalise_header(name) not in roles]
    st.caption("Each column of the file (with its first values), the diary field it becomes, and how its cells "
               "are read")
    profile["columns"], profile["rules"] = _field_pickers("column", free, base.get("columns") or {},
                                                          normalise_header, values, base.get("rules") or {})


def _label_numbers(sources: dict[str, list[str]], current: dict) -> dict:
    """A number on the diary's scale for every word that a numbered field's cells hold."""
    out = {}
    for name in sorted(sources):
        words = sources[name]
        given = {k.strip().casefold(): v for k, v in current.get(name, {}).items()}
        low, high = RANGES[name]
        st.caption(f"Words in {name}: the number each stands for ({low:g} to {high:g})")
        out[name] = {}
        for word in words:
            left, right = st.columns([2, 3])
            left.text(word)
            out[name][word] = right.number_input(f"{name} number for this word", min_value=low, max_value=high,
                                                 value=given.get(word.strip().casefold()), step=0.5,
                                                 key=widget_key(f"label_{name}", word), label_visibility="collapsed")
    return out


def _scales(numbered: list[str], current: dict) -> dict:
    """Optional: the app's own number scale for a field, stretched linearly to the diary's."""
    out = {}
    if not numbered:
        return out
    with st.expander("Rescale an app's own number scale (optional)", expanded=bool(current)):
        for name in numbered:
            low, high = RANGES[name]
            given = current.get(name, {}).get("from")
            text = st.text_input(f"{name}: the app's scale, e.g. 1-5 (blank: read as written on {low:g}-{high:g})",
                                 value=f"{given[0]:g}-{given[1]:g}" if given else "", key=f"map_scale_{name}")
            match = _SCALE.fullmatch(text) if text.strip() else None
            if text.strip() and not match:
                st.warning("Write the app's scale as two numbers, lowest first, e.g. 1-5 (5-1 reverses it).")
            if match:
                out[name] = {"from": [float(match.group(1)), float(match.group(2))], "to": [low, high]}
    return out


def _preview(raw: bytes, file_name: str, profile: dict, patient_ref: str | None, user: User) -> bool:
    """What the file becomes with this profile, live; False when it cannot be mapped (the reasons are shown)."""
    st.subheader("Preview")
    found = run(imports.preview_mapping, user, raw, file_name, profile, patient_ref=patient_ref)
    _show_date_readings(found.date_readings)
    if found.problems:
        st.error("This file cannot be mapped with this profile yet:")
        for reason in found.problems:
            st.text(reason)
    if found.rows.empty and not found.refused:
        return False
    cols = st.columns(3)
    cols[0].metric("Diary entries", found.entries)
    cols[1].metric("Refused rows", len(found.refused))
    cols[2].metric("Ignored", sum(found.ignored.values()))
    if not found.rows.empty:
        st.caption(f"The first {len(found.rows)} entries as they would be stored")
        st.dataframe(found.rows.astype(object).where(found.rows.notna(), "").astype(str), hide_index=True)
    if found.refused:
        st.caption("Refused rows (row 1 is the first row of the file)")
        st.dataframe(pd.DataFrame([r.as_dict() for r in found.refused[:50]]).astype(str), hide_index=True)
    if found.ignored:
        st.caption("Ignored (not mapped to a diary field)")
        ignored = pd.DataFrame({"what": list(found.ignored), "rows": list(found.ignored.values())})
        st.dataframe(ignored, hide_index=True)
    return not found.problems


def _save(profile: dict, user: User) -> str:
    st.header("Save the mapping")
    cols = st.columns([3, 2])
    name = cols[0].text_input("Profile name (e.g. the app's name)", key="map_profile_name",
                              max_chars=profiles.NAME_MAX).strip()
    replace = cols[1].checkbox("Replace the saved profile of this name", key="map_replace")
    if st.button("Save profile", key="map_save", disabled=not name):
        try:
            run(imports.save_mapping_profile, user, name, profile, replace=replace)
        except (profiles.ProfileError, PermissionError) as exc:
            st.error("The profile was not saved:")
            st.text(f"profile {name!r}: {exc}")  # as text: the name is typed, the message may quote a cell
        else:
            st.success("Profile saved. The command line reuses it with: python -m dashboard import FILE --profile NAME")
    return name


def _saved_as(profile: dict, name: str) -> bool:
    """Imports always go through a saved profile, so the next file from this app is read the same way."""
    try:
        stored = run(imports.mapping_profile, None, name)
    except LookupError:
        return False
    try:
        return profiles.same_profile(profile, stored)
    except profiles.ProfileError:
        return False


def _import(raw: bytes, file_name: str, profile: dict, name: str, patient_ref: str | None, user: User) -> None:
    st.header("Import")
    if not name or not _saved_as(profile, name):
        st.info("Save the profile to import with it: an import always uses a saved profile.")
        return
    accept_valid = st.checkbox("Accept valid rows (keep refused rows in the import record)", key="map_accept_valid")
    args = dict(profile_name=name, patient_ref=patient_ref, accept_valid=accept_valid)
    report = imports.import_file(user, raw, file_name, dry_run=True, **args)
    _show_report(report, dry_run=True)
    if report.status != "would-import":
        return
    if st.button("Import", type="primary", key="map_import"):
        done = imports.import_file(user, raw, file_name, **args)
        loaders.invalidate()
        _show_report(done, dry_run=False)
        if done.status == "imported":
            st.success(f"Imported as import #{done.import_id}.")


def _show_report(report, *, dry_run: bool) -> None:
    if dry_run and report.status == "would-import":
        st.text(f"Importing would add {report.entries_added} diary entries "
                f"({report.entries_unchanged} already stored, {len(report.refused_rows)} refused rows kept aside).")
    else:
        st.text(f"{report.status.capitalize()}: {report.message}")
    if report.refused_rows:
        st.dataframe(pd.DataFrame(report.refused_rows).astype(str), hide_index=True)
    if report.conflicts:
        st.caption("Already stored with other values (never overwritten)")
        st.dataframe(pd.DataFrame(report.conflicts).astype(str), hide_index=True)

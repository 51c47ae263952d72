"""The import page's "Map another layout" section (import-formats.md section 4).

Staff upload another diary app's export and map its columns (or, for a long format, its item
names) to diary fields. They preview the result, save the mapping as a named profile, and
import with it. The command line reuses the profile: ``python -m dashboard import FILE --profile NAME``.

File content is patient data. It appears only in st.dataframe, st.text and widget options,
never as markdown, so a cell such as ``**x**`` or ``<img>`` shows exactly as written.
Every widget key starts with ``map_``.
"""

from __future__ import annotations

import hashlib
import re

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
from dashboard.ingest.service import preview_frame

NEW = "(new mapping)"
IGNORE = "(ignore)"
NONE = "(none)"
OTHER = "(type another pattern)"
AGGREGATE_LABELS = {"max": "keep the highest (worst)", "mean": "take the mean"}
LAYOUT_LABELS = {"wide": "One row per entry (wide)", "long": "One row per item: name, value, date (long)"}
DATE_PATTERNS = tuple(dict.fromkeys((*profiles.ISO_PATTERNS, "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d/%m/%Y %H:%M",
                                     "%m/%d/%Y %I:%M %p", *profiles.DAY_MONTH_PATTERNS, "%d %B %Y", "%b %d, %Y")))
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
    base = _starting_profile(raw, file_name, start)
    profile = _edit(raw, file_name, base) if base is not None else None
    if profile is None:
        return
    mappable = _preview(raw, file_name, profile, patient_ref)
    name = _save(profile, user)
    if mappable:
        _import(raw, file_name, profile, name, patient_ref, user)


def widget_key(kind: str, name: str) -> str:
    """A stable key for the widget of one column, item or label, whatever its position in the file."""
    return f"map_{kind}_{hashlib.sha1(name.encode()).hexdigest()[:12]}"


def _forget(keep: set[str]) -> None:
    for key in [k for k in st.session_state if str(k).startswith("map_") and k not in keep]:
        del st.session_state[key]


def _starting_profile(raw: bytes, file_name: str, start: str) -> dict | None:
    """The suggestion for a new mapping, or the saved profile; widgets restart when either changes."""
    basis = (hashlib.sha256(raw).hexdigest(), start)
    if st.session_state.get("map_basis") != basis:
        _forget(_KEEP)
        st.session_state["map_basis"] = basis
        st.session_state["map_profile_name"] = "" if start == NEW else start
    try:
        if start == NEW:
            header_row = _header_row(profiles.guess_header_row(raw, file_name))
            return profiles.suggest_profile(raw, file_name, header_row=header_row)
        base = run(imports.mapping_profile, None, start)
        return {**base, "header_row": _header_row(base["header_row"])}
    except FileRefused as exc:
        st.error("This file cannot be read:")
        st.text(exc.refused.reason)
        return None


def _header_row(default: int) -> int:
    row = st.number_input("Row of the header (rows above it are skipped)", min_value=1, max_value=50, value=default,
                          key="map_header_row")
    if st.session_state.get("map_rows_basis") != row:  # other columns: the column widgets start again
        _forget(_KEEP | {"map_header_row"})
        st.session_state["map_rows_basis"] = row
    return int(row)


def _edit(raw: bytes, file_name: str, base: dict) -> dict | None:
    """The profile as the widgets set it, starting from ``base``."""
    try:
        table = profiles.read_profile_table(raw, file_name, base["header_row"])
    except FileRefused as exc:
        st.error("This file cannot be read with this header row:")
        st.text(exc.refused.reason)
        return None
    header = [name for name in table.header if name]
    values = profiles.column_values(table)
    layouts = list(LAYOUT_LABELS)
    layout = st.radio("Layout", layouts, index=layouts.index(base.get("layout", "wide")), format_func=LAYOUT_LABELS.get,
                      key="map_layout", horizontal=True)
    profile = {"header_row": base["header_row"], "layout": layout}
    profile.update(_date_widgets(base, header))
    _confirm_date_order(raw, file_name, profile)
    profile["patient_column"] = _pick("Patient column", [NONE, *header], base.get("patient_column"),
                                      "map_patient_column")
    if layout == "long":
        _long_widgets(base, header, values, profile)
    else:
        _wide_widgets(base, header, profile)
    sources = profiles.field_values(table, profile)
    profile["value_maps"] = _label_numbers(sources, base.get("value_maps") or {})
    profile["scale"] = _scales(sources, profile["value_maps"], base.get("scale") or {})
    cols = st.columns(2)
    profile["aggregate"] = cols[0].selectbox(
        "Several values for one entry", profiles.AGGREGATES, format_func=AGGREGATE_LABELS.get, key="map_aggregate",
        index=profiles.AGGREGATES.index(base.get("aggregate", "max")))
    profile["one_entry_per_day"] = cols[1].checkbox("One entry per day (drop the time)", key="map_one_per_day",
                                                    value=bool(base.get("one_entry_per_day")))
    with st.expander("The profile as saved (JSON)"):
        st.json(profile)
    return profile


def _confirm_date_order(raw: bytes, file_name: str, profile: dict) -> None:
    """Dates written day/month-wise are shown as read, so staff confirm the order; when every day
    is 12 or less both orders read the file, and both readings are shown side by side."""
    try:
        readings = profiles.date_readings(raw, file_name, profile)
    except (FileRefused, ValueError):
        return
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


def _pattern(label: str, choices: tuple[str, ...], current: str | None, key: str, container=st) -> str | None:
    options = list(dict.fromkeys([*([current] if current else []), *choices])) + [OTHER]
    choice = container.selectbox(label, options, key=key,
                                 format_func=lambda p: p if p == OTHER else f"{p}   e.g. {profiles.example(p)}")
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
        out["date_format"] = _pattern("Date pattern", DATE_PATTERNS, base.get("date_format"), "map_date_format",
                                      cols[1])
    cols = st.columns(2)
    out["time_column"] = _pick("Time column", [NONE, *header], base.get("time_column"), "map_time_column", cols[0])
    if out["time_column"]:
        out["time_format"] = _pattern("Time pattern", profiles.TIME_PATTERNS, base.get("time_format"),
                                      "map_time_format", cols[1])
    cols = st.columns(2)
    out["fallback_date_column"] = _pick("Where the date is unusable, take it from", [NONE, *header],
                                        base.get("fallback_date_column"), "map_fallback_column", cols[0])
    if out["fallback_date_column"]:
        out["fallback_date_format"] = _pattern("Its pattern", DATE_PATTERNS, base.get("fallback_date_format"),
                                               "map_fallback_format", cols[1])
    return out


def _field_label(name: str) -> str:
    if name == IGNORE:
        return name
    field = FIELD[name]
    if field.kind == TEXT:
        return f"{name} (text)"
    unit = f" {field.unit}" if field.unit else ""
    what = "side effect " if field.kind == GRADE else ""
    return f"{name} ({what}{field.low:g}-{field.high:g}{unit})"


def _field_pickers(kind: str, names: list[str], current: dict, normalise) -> dict[str, str | None]:
    """One row per column or item: its name as plain text, and the diary field it becomes."""
    given = {normalise(k): v for k, v in current.items()}
    options = [IGNORE, *profiles.FIELDS]
    out = {}
    for name in names:
        default = given.get(normalise(name), profiles.guess_field(name) if not given else None)
        left, right = st.columns([2, 3])
        left.text(name)
        choice = right.selectbox(f"Diary field for this {kind}", options, index=options.index(default or IGNORE),
                                 format_func=_field_label, key=widget_key(kind, name), label_visibility="collapsed")
        out[name] = None if choice == IGNORE else choice
    return out


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
    mapped = _field_pickers("item", [*items, *kept], base.get("items") or {}, lambda s: s.strip().casefold())
    profile.update(item_column=item, value_column=value, items=mapped)


def _wide_widgets(base: dict, header: list[str], profile: dict) -> None:
    roles = {normalise_header(c) for c in profiles.role_columns(profile)}
    free = [name for name in header if normalise_header(name) not in roles]
    st.caption("Each column of the file, and the diary field it becomes")
    profile["columns"] = _field_pickers("column", free, base.get("columns") or {}, normalise_header)


def _label_numbers(sources: dict[str, list[str]], current: dict) -> dict:
    """A number on the diary's scale for every word that a numbered field's cells hold."""
    out = {}
    for name in sorted(sources):
        words = profiles.words_needing_numbers(name, sources[name])
        if not words:
            continue
        given = {k.strip().casefold(): v for k, v in current.get(name, {}).items()}
        low, high = RANGES[name]
        st.caption(f"Words in {name}: the number each stands for ({low:g} to {high:g})")
        out[name] = {}
        for word in words:
            left, right = st.columns([2, 3])
            left.text(word)
            out[name][word] = right.number_input(f"{name} number for this word", min_value=low, max_value=high,
                                                 value=given.get(word.casefold()), step=0.5,
                                                 key=widget_key(f"label_{name}", word), label_visibility="collapsed")
    return out


def _scales(sources: dict[str, list[str]], value_maps: dict, current: dict) -> dict:
    """Optional: the app's own number scale for a field, stretched linearly to the diary's."""
    numbered = [f for f in sorted(sources) if FIELD[f].kind != TEXT and f not in value_maps]
    out = {}
    if not numbered:
        return out
    with st.expander("Rescale an app's own number scale (optional)"):
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


def _preview(raw: bytes, file_name: str, profile: dict, patient_ref: str | None) -> bool:
    """What the file becomes with this profile; False when it cannot be mapped (the reasons are shown)."""
    reasons = profiles.explain_unmappable(raw, file_name, profile, patient_ref=patient_ref)
    if reasons:
        st.error("This file cannot be mapped with this profile yet:")
        for reason in reasons:
            st.text(reason)
    try:
        parsed = profiles.parse_with_profile(raw, file_name, profile, patient_ref=patient_ref)
    except FileRefused:
        return False
    cols = st.columns(3)
    cols[0].metric("Diary entries", len(parsed.diary))
    cols[1].metric("Refused rows", len(parsed.refused))
    cols[2].metric("Ignored", sum(parsed.ignored.values()))
    preview = preview_frame(parsed, limit=50)
    if not preview.empty:
        st.caption(f"Preview (first {len(preview)} entries)")
        st.dataframe(preview.astype(str), hide_index=True)
    if parsed.refused:
        st.caption("Refused rows (row 1 is the first row of the file)")
        st.dataframe(pd.DataFrame([r.as_dict() for r in parsed.refused]).astype(str), hide_index=True)
    if parsed.ignored:
        st.caption("Ignored (not mapped to a diary field)")
        ignored = pd.DataFrame({"what": list(parsed.ignored), "rows": list(parsed.ignored.values())})
        st.dataframe(ignored, hide_index=True)
    return not reasons


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
            st.text(str(exc))
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

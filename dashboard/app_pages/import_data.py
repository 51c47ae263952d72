"""Upload a file, see what it would change, then import it."""

import hashlib

import pandas as pd
import streamlit as st

from dashboard import loaders
from dashboard.access import may_import
from dashboard.ingest.records import FileRefused
from dashboard.ingest.service import import_file, parse, preview_frame
from dashboard.session_state import current_user

# Above this size reading and checking a file take long enough to show their progress.
LARGE_FILE_BYTES = 1_000_000
FORMAT_LABELS = {
    "auto": "Recognise by content",
    "diary-csv": "Diary CSV (native)",
    "titration": "Titration steps CSV",
    "visits": "Visits CSV",
    "fhir": "FHIR R4 (JSON / NDJSON)",
    "bearable": "Bearable export",
}


def show() -> None:
    user = current_user()
    st.title("Import")
    if not may_import(user):
        st.warning("Your role cannot import records.")
        return
    known, other = st.tabs(["Known formats", "Map another layout"])
    with other:
        _mapping_section(user)
    with known:
        _known_formats(user)


def _mapping_section(user) -> None:
    from dashboard.app_pages import mapping_ui

    mapping_ui.show(user)


def _known_formats(user) -> None:
    upload = st.file_uploader("Diary, clinic-records, FHIR or Bearable file", key="upload")
    cols = st.columns(3)
    fmt = cols[0].selectbox("Format", list(FORMAT_LABELS), format_func=FORMAT_LABELS.get, key="format")
    patient_ref = cols[1].text_input("Patient reference (for files without one)", key="patient_ref").strip() or None
    accept_valid = cols[2].checkbox("Accept valid rows (keep refused rows in the import record)", key="accept_valid")
    if upload is None:
        st.info("Choose a file. Nothing is written until you press Import.")
        return
    raw = upload.getvalue()
    st.text(f"File: {upload.name} ({len(raw):,} bytes, SHA-256 {hashlib.sha256(raw).hexdigest()[:16]}…)")
    # The import service decides for whom this account may import (dashboard.access).
    options = {"fmt": fmt, "patient_ref": patient_ref, "accept_valid": accept_valid, "actor": user.username,
               "as_user": True}
    parsed, report = _check(raw, upload.name, options)
    _show_report(report, title="What this file would change")
    if parsed is not None:
        _show_preview(parsed)
    if report.status == "refused":
        st.error("This file would be refused as it is. Fix the rows listed above, or tick 'Accept valid rows'.")
        return
    if report.status == "already-imported":
        st.success("Everything in this file is already stored. Nothing to import.")
        return
    if st.button("Import", type="primary", key="do_import"):
        bar = _progress(raw, "Writing the file to the database…")
        done = import_file(raw, upload.name, **options)
        _advance(bar, 1.0, f"Written: {done.status}.")
        loaders.invalidate()
        _show_report(done, title="Result")
        if done.status == "imported":
            st.success(f"Imported as import #{done.import_id}.")


def _check(raw: bytes, name: str, options: dict):
    """Read the file, then a dry run against the stored records: two phases, each shown for a large file."""
    bar = _progress(raw, "Step 1 of 2: reading the file…")
    with st.spinner("Checking the file…"):
        try:
            parsed = parse(raw, name, fmt=options["fmt"], patient_ref=options["patient_ref"])
        except FileRefused:
            parsed = None  # the dry run reports why, as the command line would
        _advance(bar, 0.5, "Step 2 of 2: comparing with the stored records…")
        report = import_file(raw, name, dry_run=True, **options)
    _advance(bar, 1.0, "Checked. Nothing has been written.")
    return parsed, report


def _progress(raw: bytes, text: str):
    """A progress bar for a file large enough to make a phase noticeable; None otherwise."""
    return st.progress(0.0, text=text) if len(raw) > LARGE_FILE_BYTES else None


def _advance(bar, fraction: float, text: str) -> None:
    if bar is not None:
        bar.progress(fraction, text=text)


def _show_report(report, *, title: str) -> None:
    st.subheader(title)
    cols = st.columns(5)
    cols[0].metric("Added", report.entries_added + sum(report.records_added.values()))
    cols[1].metric("Unchanged", report.entries_unchanged + sum(report.records_unchanged.values()))
    cols[2].metric("Conflicts", len(report.conflicts))
    cols[3].metric("Refused rows", len(report.refused_rows))
    cols[4].metric("Ignored", sum(report.ignored.values()))
    # A file refused before its format was known keeps the format asked for ("auto").
    recognised = "not recognised" if report.format == "auto" else FORMAT_LABELS.get(report.format, report.format)
    st.text(f"Format: {recognised}")
    st.text(f"Status: {report.status}. {report.message}")
    if report.patients:
        st.text("Patients: " + ", ".join(report.patients)
                + (f" (new: {', '.join(report.patients_created)})" if report.patients_created else ""))
    if report.measures_added or report.measures_unchanged or report.merged:
        st.text(f"Measures (questionnaires, other observations): {report.measures_added} added, "
                f"{report.measures_unchanged} unchanged; identical resources merged: {report.merged}")
    if report.refused_rows:
        st.caption("Refused rows (row 1 is the header)")
        st.dataframe(pd.DataFrame(report.refused_rows).astype(str), hide_index=True)
    if report.conflicts:
        st.caption("Already stored with other values (never overwritten)")
        st.dataframe(pd.DataFrame(report.conflicts).astype(str), hide_index=True)
    if report.ignored:
        st.caption("Ignored (the diary has no place for these)")
        st.dataframe(pd.DataFrame({"what": list(report.ignored), "count": list(report.ignored.values())}),
                     hide_index=True)


def _show_preview(parsed) -> None:
    preview = preview_frame(parsed)
    if not preview.empty:
        st.caption(f"Preview (first {len(preview)} records)")
        st.dataframe(preview.astype(str), hide_index=True)


if __name__ == "__main__":
    show()

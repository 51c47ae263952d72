"""Upload a file, see what it would change, then import it."""

import hashlib

import pandas as pd
import streamlit as st

from dashboard import loaders
from dashboard.app_pages import mapping_ui
from dashboard.usecases import imports, run
from dashboard.access import may_import
from dashboard.config import demo_mode
from dashboard.demo import samples
from dashboard.ingest.identity import identity_rows, identity_summary
from dashboard.ingest.records import FileRefused
from dashboard.ingest.service import STORED_HIDDEN, parse, preview_frame
from dashboard.ingest.writer import Resolution
from dashboard.session_state import current_user

# Above this size reading and checking a file take long enough to show their progress.
LARGE_FILE_BYTES = 1_000_000
# Conflicts decided one by one on the page; beyond these, "the same for all" decides the rest.
PER_ENTRY_MAX = 30
DECISION_LABELS = {"": "Not decided", "keep": "Keep the stored values", "take": "Take the file's values"}
OUTCOME_WORDS = {
    "would-import": "Would import",
    "imported": "Imported",
    "already-imported": "Already imported",
    "nothing-to-import": "Nothing to import",
    "refused": "Refused",
}
FORMAT_LABELS = {
    "auto": "Recognise by content",
    "diary-csv": "Diary CSV (native)",
    "titration": "Titration steps CSV",
    "visits": "Visits CSV",
    "fhir": "FHIR R4 (JSON / NDJSON)",
    "bearable": "Bearable export",
    "privacy-friendly-pain-diary": "Privacy Friendly Pain Diary export",
}


def show() -> None:
    user = current_user()
    st.title("Import")
    if not may_import(user):
        st.warning("Your role cannot import records.")
        return
    known, other, past = st.tabs(["Known formats", "Map another layout", "Past imports"])
    with other:
        _mapping_section(user)
    with known:
        _known_formats(user)
    with past:
        _past_imports(user)


def _mapping_section(user) -> None:
    mapping_ui.show(user)


def _known_formats(user) -> None:
    upload = st.file_uploader("Diary, clinic-records, FHIR, Bearable or pain diary app file", key="upload")
    cols = st.columns(3)
    fmt = cols[0].selectbox("Format", list(FORMAT_LABELS), format_func=FORMAT_LABELS.get, key="format")
    patient_ref = cols[1].text_input("Patient reference (for files without one)", key="patient_ref").strip() or None
    accept_valid = cols[2].checkbox("Accept valid rows (keep refused rows in the import record)", key="accept_valid")
    if demo_mode():
        _demo_other_patient()
    if upload is None:
        st.info("Choose a file. Nothing is written until you press Import.")
        return
    raw = upload.getvalue()
    st.text(f"File: {upload.name} ({len(raw):,} bytes, SHA-256 {hashlib.sha256(raw).hexdigest()[:16]}…)")
    # The import service decides for whom this account may import (dashboard.access).
    options = {"fmt": fmt, "patient_ref": patient_ref, "accept_valid": accept_valid}
    parsed, report = _check(user, raw, upload.name, options)
    _show_report(report, title="What this file would change")
    if parsed is not None:
        _show_preview(parsed)
    doubtful = _doubtful(report)
    same_person = _confirm_same_person(doubtful) if doubtful else None
    if same_person is not None:
        # The use case decides; the page only passes the confirmation and its reason through.
        options["same_person"] = same_person
        report = imports.import_file(user, raw, upload.name, dry_run=True, **options)
        _show_report(report, title="With your confirmation")
    resolution = _resolve_conflicts(report) if report.conflicts else None
    if resolution is not None:
        options["resolution"] = resolution
        report = imports.import_file(user, raw, upload.name, dry_run=True, **options)
        _show_report(report, title="With your decisions")
    confirmation = _confirm_prescriptions(report) if report.prescription.get("needs_confirmation") else None
    if confirmation is not None:
        options["confirm_prescription"] = confirmation
        report = imports.import_file(user, raw, upload.name, dry_run=True, **options)
        _show_report(report, title="With the prescriptions confirmed")
    if report.status == "refused" and any(c.get("held_by_other") for c in report.identities):
        st.error("An identifier in this file belongs to another stored patient: it is refused, and confirming the "
                 "same person does not pass it. Give that patient's reference if the file is theirs. Keeping it "
                 "keeps the file, refused, for later review.")
        label = "Keep the refused file"
    elif report.status == "refused" and _doubtful(report) and same_person is None:
        st.error("This file names someone who may not be the stored patient: it is refused unless you confirm, "
                 "with a reason, that they are the same person, or give the right patient's reference. "
                 "Keeping it keeps the file, refused, for later review.")
        label = "Keep the refused file"
    elif report.status == "refused":
        st.error("This file would be refused as it is. Fix the rows listed above, decide the conflicts, "
                 "or tick 'Accept valid rows'. Importing it anyway keeps the file and its errors for later review.")
        label = "Keep the refused file"
    elif report.status == "already-imported":
        st.success("Everything in this file is already stored. Nothing to import.")
        label = "Record this file (already imported)"
    elif report.status == "nothing-to-import":
        st.warning("This file holds nothing the dashboard reads; the ignored items are listed above.")
        label = "Keep the file (nothing to import)"
    else:
        label = "Import"
    # "Import" writes the rows; the other button keeps a file that brings none (every file is kept).
    key = "do_import" if label == "Import" else "keep_file"
    if st.button(label, type="primary" if label == "Import" else "secondary", key=key):
        bar = _progress(raw, "Writing the file to the database…")
        done = imports.import_file(user, raw, upload.name, **options)
        _advance(bar, 1.0, f"Written: {done.status}.")
        loaders.invalidate()
        _show_report(done, title="Result")
        if done.status == "imported":
            st.success(f"Imported as import #{done.import_id}.")
        else:
            st.info(f"{OUTCOME_WORDS.get(done.status, done.status)}: the file is kept as import #{done.import_id}.")


def _demo_other_patient() -> None:
    """Demo mode: a public file naming another person, to see an import into the wrong patient stopped."""
    st.caption(f"Try the patient check: download US Core's blood-pressure example (its patient is Amy Shaw, "
               f"nobody in the demo clinic), type {samples.OTHER_PATIENT_TRY_AS} (Janet Okafor) as the patient "
               "reference and choose the file: the import is refused as another person's, unless you confirm "
               "with a reason that they are the same person.")
    st.download_button("Download a file naming another patient", samples.other_patient_file(),
                       file_name=samples.OTHER_PATIENT_FILE, mime="application/fhir+json", key="demo_other_patient")


def _doubtful(report) -> list[dict]:
    """The file's patients whose identity disagrees with the stored patient's (or who are known by a
    resource id alone that a stored patient has): the import needs a same-person confirmation."""
    return [c for c in report.identities if c["needs_confirmation"]]


def _confirm_same_person(doubtful: list[dict]) -> str | None:
    """A checkbox and a reason beside the disagreement; the reason once both are given, else None."""
    st.header("Is this the same person?")
    st.caption("The file names its patient differently from the stored patient it would go to. Import it only "
               "if you have checked that they are the same person; the confirmation is audited with both identities.")
    for c in doubtful:
        _identity(c)
    same = st.checkbox("They are the same person", key="same_person")
    reason = st.text_input("Why they are the same person (required)", key="same_person_reason", max_chars=500).strip()
    if same and not reason:
        st.warning("Give the reason you are sure they are the same person: it is kept in the audit trail.")
    return reason if same and reason else None


def _identity(c: dict) -> None:
    """One patient of the file: what differs in words, then field | in the file | stored as a small
    table (the stored side only for a reader who may open the patient; the import decides)."""
    st.text(f"Patient {c['patient']}: {identity_summary(c)}")  # names from the file: plain text, never markdown
    st.dataframe(pd.DataFrame(identity_rows(c)), hide_index=True, width="content")


def _resolve_conflicts(report) -> Resolution | None:
    """Staff decide each conflict (or all at once) with a reason; None until something is decided."""
    st.header("Resolve conflicts")
    st.caption("Patients do correct old entries. Keep the stored values or take the file's; each decision is "
               "audited with the replaced values.")
    every = st.radio("For every conflict", list(DECISION_LABELS), key="resolve_all", horizontal=True,
                     format_func=lambda d: DECISION_LABELS[d] if d else "Decide entry by entry")
    undecided = "As chosen for every conflict" if every else DECISION_LABELS[""]
    per_entry = {}
    for i, c in enumerate(report.conflicts[:PER_ENTRY_MAX]):
        when = (c.get("recorded_at") or "").replace("T", " ")[:16] or f"row {c.get('row')}"
        # The values may be a patient's notes: plain text, never in a (markdown) widget label.
        stored = c.get("stored")
        stored = stored if stored == STORED_HIDDEN else f"stored {stored!r}"  # the hidden words say "stored" already
        st.text(f"Conflict {i + 1}: {c.get('patient')}, {when}: {c.get('column')} {stored}, file {c.get('new')!r}")
        choice = st.selectbox(f"Decision for conflict {i + 1}", list(DECISION_LABELS), key=f"resolve_{i}",
                              format_func=lambda d: DECISION_LABELS[d] if d else undecided)
        if choice:
            per_entry[c["key"]] = choice
    reason = st.text_input("Reason (required for any decision)", key="resolve_reason", max_chars=500).strip()
    if not (every or per_entry):
        return None
    if not reason:
        st.warning("Give a reason for your decisions: it is kept in the audit trail.")
        return None
    return Resolution(reason=reason, default=every or None, per_entry=per_entry)


def _confirm_prescriptions(report) -> str | None:
    """The file's titration steps that need a confirmation (dashboard.prescription_checks), in words,
    and the confirmation with its reason: the reason, or None until both are given. Whether it is
    enough is decided by the import."""
    with st.container(border=True, key="prescription_confirmation"):
        st.markdown("**These prescriptions need your confirmation**")
        for check in report.prescription["needs_confirmation"]:
            st.text(f"Row {check['row']} ({check['patient']}): {check['words']}.")  # a file's words: plain text
        confirmed = st.checkbox("I confirm these prescriptions as written", key="import_confirm_prescription")
        reason = st.text_input("Reason (kept in the audit trail)", key="import_confirm_reason", max_chars=500).strip()
    if confirmed and not reason:
        st.warning("Give a reason for the confirmation: it is kept in the audit trail.")
    return reason if confirmed and reason else None


def _past_imports(user) -> None:
    """Who imported what and when, with the outcome; any kept file can be downloaded again (audited)."""
    history = run(imports.import_history, user)
    if history.empty:
        st.info("No imports yet.")
        return
    shown = history.assign(outcome=history["outcome"].map(lambda o: OUTCOME_WORDS.get(o, o)),
                           format=history["format"].map(_format_label))
    st.dataframe(shown, hide_index=True, key="import_history")
    ids = list(history["import"])
    names = dict(zip(history["import"], history["file"]))
    chosen = st.selectbox("Download a kept file again", ids, format_func=lambda i: f"#{i} {names[i]}",
                          key="download_choice")
    if st.button("Prepare the download", key="download_prepare"):
        st.session_state["download_ready"] = chosen
    if st.session_state.get("download_ready") != chosen:
        return
    name, data = run(imports.kept_import_file, user, int(chosen))
    st.text(f"Import #{chosen}: {name} ({len(data):,} bytes, as it was received)")
    st.download_button("Download the kept file", data, file_name=name, key="download_file",
                       on_click=run, args=(imports.record_import_download, user),
                       kwargs={"import_id": int(chosen), "file_name": name, "size": len(data)})


def _check(user, raw: bytes, name: str, options: dict):
    """Read the file, then a dry run against the stored records: two phases, each shown for a large file."""
    bar = _progress(raw, "Step 1 of 2: reading the file…")
    with st.spinner("Checking the file…"):
        try:
            parsed = parse(raw, name, fmt=options["fmt"], patient_ref=options["patient_ref"])
        except FileRefused:
            parsed = None  # the dry run reports why, as the command line would
        _advance(bar, 0.5, "Step 2 of 2: comparing with the stored records…")
        report = imports.import_file(user, raw, name, dry_run=True, **options)
    _advance(bar, 1.0, "Checked. Nothing has been written.")
    return parsed, report


def _progress(raw: bytes, text: str):
    """A progress bar for a file large enough to make a phase noticeable; None otherwise."""
    return st.progress(0.0, text=text) if len(raw) > LARGE_FILE_BYTES else None


def _advance(bar, fraction: float, text: str) -> None:
    if bar is not None:
        bar.progress(fraction, text=text)


def _show_report(report, *, title: str) -> None:
    st.header(title)
    cols = st.columns(5)
    cols[0].metric("Added", report.entries_added + sum(report.records_added.values()))
    cols[1].metric("Unchanged", report.entries_unchanged + sum(report.records_unchanged.values()))
    cols[2].metric("Conflicts", len(report.conflicts))
    cols[3].metric("Refused rows", len(report.refused_rows))
    cols[4].metric("Ignored", sum(report.ignored.values()))
    # A file refused before its format was known keeps the format asked for ("auto").
    st.text(f"Format: {_format_label(report.format)}")
    st.text(f"Outcome: {OUTCOME_WORDS.get(report.status, report.status)}. {report.message}")
    if report.patients:
        st.text("Patients: " + ", ".join(report.patients)
                + (f" (new: {', '.join(report.patients_created)})" if report.patients_created else ""))
    for c in report.identities:
        _identity(c)
    if report.measures_added or report.measures_unchanged or report.merged:
        st.text(f"Measures (questionnaires, other observations): {report.measures_added} added, "
                f"{report.measures_unchanged} unchanged; identical resources merged: {report.merged}")
    if report.refused_rows:
        st.caption("Refused rows (row 1 is the header)")
        st.dataframe(pd.DataFrame(report.refused_rows).astype(str), hide_index=True)
    if report.conflicts:
        st.caption("Already stored with other values (never overwritten without a decision)")
        conflicts = pd.DataFrame(report.conflicts).drop(columns=["key"], errors="ignore")
        if "decision" in conflicts:
            conflicts["decision"] = conflicts["decision"].map(lambda d: DECISION_LABELS.get(d, "not decided"))
        st.dataframe(conflicts.astype(str), hide_index=True)
    if report.ignored:
        st.caption("Ignored (the diary has no place for these)")
        st.dataframe(pd.DataFrame({"what": list(report.ignored), "count": list(report.ignored.values())}),
                     hide_index=True)


def _format_label(fmt: str) -> str:
    # A file refused before its format was known keeps the format asked for ("auto").
    return "not recognised" if fmt == "auto" else FORMAT_LABELS.get(fmt, fmt)


def _show_preview(parsed) -> None:
    preview = preview_frame(parsed)
    if not preview.empty:
        st.caption(f"Preview (first {len(preview)} records)")
        st.dataframe(preview.astype(object).where(preview.notna(), "").astype(str), hide_index=True)


if __name__ == "__main__":
    show()

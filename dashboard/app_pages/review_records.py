"""The review page's record forms: a titration step (new, changed or ended, or a proposed one
accepted) and a visit (booked, or one that took place, an infusion with its dose), each checked,
then shown as the timeline will show it, and written only once confirmed. And the diary download.

Widgets only: the rules are ``dashboard.clinic_rules`` (the importer's) and
``dashboard.prescription_checks`` (shown before saving: a confirmation with a reason where one is
needed, the existing step ended where the user chose it, days left without a step), the units of work are
``dashboard.usecases.records``, who may do what is ``dashboard.access``. Notes are patient text: shown
with st.text only.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd
import streamlit as st

from dashboard import clinic_rules, fields, loaders
from dashboard.usecases import exports, records, run
from dashboard.db.clinic_records import RecordError, StepForm, VisitForm, step_form_of

PENDING = "record_pending"  # the checked change awaiting confirmation
ACCEPTING = "record_accepting"  # the proposed step being accepted through the step form
ERRORS = "record_errors"
DRAFT = "record_draft"  # what was typed into the form last checked: the form again after "Back to the form"
CONFIRMATION = ("record_confirm_prescription", "record_confirm_reason")  # a prescription's confirmation widgets
MODES = ("New step", "Change or end a step", "Book or record a visit")
LABELS = {
    "start_date": "Start", "end_date": "End", "dose_mg": "Dose (mg)", "frequency": "Frequency",
    "max_per_day": "Maximum doses a day", "route": "Route", "note": "Note", "date": "Date", "kind": "Kind",
    "infusion_dose_mg": "Infusion dose (mg)", "infusion_route": "Infusion route",
}
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~$:])")


def _plain(text: str) -> str:
    """Markdown characters escaped: a refusal quotes what was entered, which is shown as typed."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def _date(value) -> str:
    return pd.Timestamp(value).strftime("%d %b %Y")


# --- the section ---------------------------------------------------------------------------------

def show(user, patient, steps: pd.DataFrame) -> None:
    """The expander "Record a step or visit", below the first screen. ``steps``: every stored
    step of the patient, proposed ones included (``loaders.frames``' ``proposed_steps``)."""
    may_steps, may_visits = run(records.record_permissions, user, patient.id)
    pending = _mine(PENDING, patient)
    with st.expander("Record a step or visit", expanded=bool(pending or _mine(ERRORS, patient)),
                     icon=":material/edit_note:"):
        if not (may_steps or may_visits):
            st.caption("Your role does not record titration steps or visits for this patient.")
            return
        if pending and pending["where"] == "section":
            _confirm(user, patient, pending)
            return
        modes = MODES if may_steps else MODES[2:]
        draft = _mine(DRAFT, patient)
        drafted = _mode_of(draft["key"]) if draft else None
        mode = st.radio("What to record", modes, horizontal=True, key="record_mode", label_visibility="collapsed",
                        index=modes.index(drafted) if drafted in modes else 0)
        active = steps[steps["status"] == "active"]
        if mode == "New step":
            _step_form(user, patient, "new", _new_step_prefill(active), None, where="section")
        elif mode == "Change or end a step":
            _change_form(user, patient, active)
        else:
            if not may_steps:
                st.caption("An infusion's dose is a titration step: a clinician records infusions.")
            _visit_form(user, patient)


def accept_proposed(user, patient, steps: pd.DataFrame) -> None:
    """The step form, prefilled from the proposed step being accepted, below the proposed steps."""
    step_id = st.session_state.get(ACCEPTING)
    proposed = steps[(steps["status"] == "proposed") & (steps["step_id"] == step_id)] if step_id else steps.iloc[:0]
    if proposed.empty:
        return
    pending = _mine(PENDING, patient)
    with st.container(border=True, key="accept_proposed"):
        st.markdown("**Accept the proposed step** — check or correct it before it counts")
        if pending and pending["where"] == "accept":
            _confirm(user, patient, pending)
            return
        _step_form(user, patient, f"accepting_{step_id}", step_form_of(proposed.iloc[0]), int(step_id), where="accept")
        if st.button("Cancel", key=f"cancel_accept_{step_id}"):
            st.session_state.pop(ACCEPTING, None)
            st.rerun()


def _mode_of(key: str) -> str | None:
    """The section's mode a form key belongs to (an accepted proposal's form is not in the section)."""
    return {"new": MODES[0], "visit": MODES[2]}.get(key, MODES[1] if key.startswith("change_") else None)


def _typed(key: str, patient):
    """What was typed into this form before "Back to the form", or None."""
    draft = _mine(DRAFT, patient)
    return draft["form"] if draft and draft["key"] == key else None


def _mine(name: str, patient) -> dict | None:
    """A pending change or refusal of this patient (another patient's stays out of this page)."""
    value = st.session_state.get(name)
    return value if value and value.get("patient") == patient.id else None


def start_accepting(step_id: int) -> None:
    st.session_state[ACCEPTING] = int(step_id)
    st.session_state.pop(PENDING, None)
    st.session_state.pop(ERRORS, None)


def download(user, patient) -> None:
    """The diary as the command line's export, built only when clicked (and audited then)."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", patient.ref) or "patient"
    st.sidebar.download_button(
        "Download diary (CSV)", data=lambda: run(exports.diary_csv, user, patient.ref), file_name=f"{name}-diary.csv",
        mime="text/csv", key="diary_csv", on_click="ignore", icon=":material/download:",
        help="The whole diary in the native CSV format (as `python -m dashboard export`); opens safely in a "
             "spreadsheet. The download is recorded in the audit trail.")


# --- steps ---------------------------------------------------------------------------------------

def _new_step_prefill(active: pd.DataFrame) -> StepForm:
    """Today (the step decided at today's visit), at the latest troche step's dose and schedule:
    the clinician edits what changes."""
    troche = active[active["route"] == clinic_rules.HOME_ROUTE].sort_values("start_date")
    start = loaders.today()
    if troche.empty:
        return StepForm(start_date=start, dose_mg=25.0, frequency="daily", route="troche")
    return replace(step_form_of(troche.iloc[-1]), start_date=start, end_date=None, note=None)


def _change_form(user, patient, active: pd.DataFrame) -> None:
    if active.empty:
        st.caption("No titration step recorded yet: add a new step.")
        return
    ordered = active.sort_values("start_date", ascending=False)
    names = {int(s.step_id): f"{s.dose_mg:g} mg {s.frequency}, {s.route}, from {_date(s.start_date)}"
             + (f" to {_date(s.end_date)}" if pd.notna(s.end_date) else "") for s in ordered.itertuples()}
    draft = _mine(DRAFT, patient)
    drafted = int(draft["key"].removeprefix("change_")) if draft and draft["key"].startswith("change_") else None
    step_id = st.selectbox("Step", list(names), format_func=names.get, key="record_change_step",
                           index=list(names).index(drafted) if drafted in names else 0)
    st.caption("To end the step, give its last day as the end; a step without an end runs until the next starts.")
    _step_form(user, patient, f"change_{step_id}", step_form_of(ordered[ordered["step_id"] == step_id].iloc[0]),
               step_id, where="section")


def _step_form(user, patient, key: str, prefill: StepForm, step_id: int | None, *, where: str) -> None:
    prefill = _typed(key, patient) or prefill
    frequency_choices = list(clinic_rules.FREQUENCY_CHOICES)
    if prefill.frequency not in frequency_choices:
        frequency_choices.insert(0, prefill.frequency)
    with st.form(key=f"step_form_{key}", border=False):
        cols = st.columns(4)
        start = cols[0].date_input("Start", value=prefill.start_date, key=f"{key}_start", format="YYYY-MM-DD",
                                   min_value=fields.EARLIEST, max_value=fields.PLAN.latest())
        dose = cols[1].number_input("Dose (mg)", value=float(prefill.dose_mg), step=5.0, key=f"{key}_dose", format="%g",
                                    help="One administration (one troche, one infusion)")
        frequency = cols[2].selectbox("Frequency", frequency_choices, index=frequency_choices.index(prefill.frequency),
                                      key=f"{key}_frequency")
        route = cols[3].selectbox("Route", clinic_rules.ROUTE_CHOICES,
                                  index=_index(clinic_rules.ROUTE_CHOICES, prefill.route), key=f"{key}_route")
        cols = st.columns([1, 1, 2])
        end = cols[0].date_input("End (optional)", value=prefill.end_date, key=f"{key}_end", format="YYYY-MM-DD",
                                 min_value=fields.EARLIEST, max_value=fields.PLAN.latest())
        most = cols[1].number_input("Maximum doses a day", value=prefill.max_per_day, step=1.0, key=f"{key}_max",
                                    help="Needed for an as-needed step")
        note = cols[2].text_input("Note (optional)", value=prefill.note or "", key=f"{key}_note", max_chars=2000)
        end_existing = st.checkbox(
            "If it overlaps an earlier troche step, end that step the day before this one starts",
            value=_typed_end_existing(key, patient), key=f"{key}_end_existing",
            help="Troche steps never overlap. Unticked, an overlapping step is refused with both steps named.")
        checked = st.form_submit_button("Check the step", key=f"{key}_check")
    _errors(key, patient)
    if checked:
        form = StepForm(start_date=start, dose_mg=dose if dose is not None else float("nan"), frequency=frequency,
                        route=route, end_date=end, max_per_day=most, note=note)
        _check(user, patient, key, "step", form, step_id, where, typed=form, end_existing=end_existing)


def _typed_end_existing(key: str, patient) -> bool:
    draft = _mine(DRAFT, patient)
    return bool(draft and draft["key"] == key and draft.get("end_existing"))


def _index(choices, value) -> int:
    return list(choices).index(value) if value in choices else 0


# --- visits --------------------------------------------------------------------------------------

def _visit_form(user, patient) -> None:
    key = "visit"
    typed = _typed(key, patient) or {}
    visit_choices, kinds, routes = ("Book a visit", "Record a visit that took place"), clinic_rules.VISIT_KIND_CHOICES, \
        clinic_rules.INFUSION_ROUTES
    with st.form(key="visit_form", border=False):
        cols = st.columns([1.3, 1, 1])
        booked = cols[0].radio("Visit", visit_choices, key=f"{key}_booked", horizontal=False,
                               index=0 if typed.get("booked", True) else 1) == "Book a visit"
        when = cols[1].date_input("Date", value=typed.get("date", loaders.today()), key=f"{key}_date",
                                  format="YYYY-MM-DD", min_value=fields.EARLIEST,
                                  max_value=fields.PLAN.latest())
        kind = cols[2].selectbox("Kind", kinds, key=f"{key}_kind", index=_index(kinds, typed.get("kind")))
        cols = st.columns([1, 1, 2])
        dose = cols[0].number_input("Infusion dose (mg)", value=typed.get("dose"), step=5.0, key=f"{key}_dose",
                                    help="For an infusion only: the dose given in clinic")
        route = cols[1].selectbox("Infusion route", routes, key=f"{key}_route", help="For an infusion only",
                                  index=_index(routes, typed.get("route")))
        note = cols[2].text_input("Note (optional)", value=typed.get("note", ""), key=f"{key}_note", max_chars=2000)
        checked = st.form_submit_button("Check the visit", key=f"{key}_check")
    _errors(key, patient)
    if checked:
        infusion = kind == "infusion"
        form = VisitForm(date=when, kind=kind, booked=booked, note=note, infusion_dose_mg=dose if infusion else None,
                         infusion_route=route if infusion else None)
        typed = {"booked": booked, "date": when, "kind": kind, "dose": dose, "route": route, "note": note}
        _check(user, patient, key, "visit", form, None, "section", typed=typed)


# --- check, confirm, save ------------------------------------------------------------------------

def _check(user, patient, key: str, what: str, form, step_id: int | None, where: str, *, typed,
           end_existing: bool = False) -> None:
    """Nothing is written here: the problems, or the change as it will look, awaiting confirmation.
    ``typed``: the form's values as entered, which fill the form again after "Back to the form"."""
    check = records.check_step if what == "step" else records.check_visit
    kwargs = {"step_id": step_id, "end_existing": end_existing} if what == "step" else {}
    try:
        clean, problems, preview = run(check, user, patient.id, form, **kwargs)
    except PermissionError as exc:
        st.session_state[ERRORS] = {"key": key, "patient": patient.id, "lines": [str(exc)]}
        st.rerun()
    if problems:
        st.session_state[ERRORS] = {"key": key, "patient": patient.id,
                                    "lines": [f"{LABELS.get(p.field, p.field)}: {p.reason}" for p in problems]}
    else:
        st.session_state.pop(ERRORS, None)
        st.session_state[PENDING] = {"patient": patient.id, "what": what, "form": clean, "step_id": step_id,
                                     "preview": preview, "where": where, "key": key, "typed": typed,
                                     "end_existing": end_existing}
    st.rerun()


def _errors(key: str, patient) -> None:
    errors = _mine(ERRORS, patient)
    if errors and errors["key"] == key:
        st.error("Not saved. " + "  \n".join(_plain(line) for line in errors["lines"]), icon=":material/block:")


def _confirm(user, patient, pending: dict) -> None:
    """The change in the timeline's own words; written only on "Save"."""
    form, preview = pending["form"], pending["preview"]
    with st.container(key="record_confirm"):
        if pending["what"] == "step":
            verb = {None: "New step"}.get(pending["step_id"], "Changed step" if pending["where"] == "section"
                                          else "Accepted step")
            st.markdown(f"**{verb} on the timeline:** {_plain(preview.label)}")
            until = f"to {_date(preview.end)}" if preview.end else "until the next step starts"
            st.markdown(_plain(f"{preview.schedule}, from {_date(preview.start)} {until}"))
            for line in preview.others:
                st.caption(_plain(line))
            if preview.start > loaders.today():
                st.caption("It starts after today: the review and the timeline show it from its first day on.")
            reason = _prescription_checks(preview)
        else:
            reason = None
            state = "Booked" if form.booked else "Took place"
            st.markdown(f"**{state}:** {_plain(form.kind)} visit on {_date(form.date)}"
                        + (" — the next visit" if form.booked and form.date > loaders.today() else ""))
            if preview is not None:
                st.markdown(f"**Infusion on the timeline:** {_plain(preview.label)} on {_date(preview.start)}")
        if form.note:
            st.text(f"Note: {form.note}")  # patient text: plain
        with st.container(horizontal=True):
            save = st.button("Save", type="primary", key="record_save")
            back = st.button("Back to the form", key="record_back")
    if back:  # the form again, as it was typed (its widgets were not drawn while this was shown)
        st.session_state[DRAFT] = {"patient": patient.id, "key": pending["key"], "form": pending["typed"],
                                   "end_existing": pending.get("end_existing", False)}
        _forget(PENDING, *CONFIRMATION)
        st.rerun()
    if save:
        _save(user, patient, pending, reason if pending["what"] == "step" else None)


def _forget(*names: str) -> None:
    for name in names:
        st.session_state.pop(name, None)


def _prescription_checks(preview) -> str | None:
    """The prescription checks in words (``preview.checks``), and the confirmation with its reason
    where one is needed: the reason given, or None. Whether it is enough is the use case's decision."""
    checks = preview.checks
    if preview.end_existing:
        for ending in checks.endings():
            st.markdown(_plain(f"Also {ending.words}, the day before this step starts."))
    for gap in checks.gaps:
        st.warning(_plain(gap), icon=":material/event_busy:")
    if not checks.needs_confirmation:
        return None
    with st.container(border=True, key="prescription_confirmation"):
        st.markdown("**This prescription needs your confirmation**")
        for finding in checks.findings:
            st.markdown("- " + _plain(f"{finding.words}."))
        confirmed = st.checkbox("I confirm this prescription as written", key="record_confirm_prescription")
        reason = st.text_input("Reason (kept in the audit trail)", key="record_confirm_reason", max_chars=500)
    return reason if confirmed else None


def _save(user, patient, pending: dict, reason: str | None = None) -> None:
    try:
        if pending["what"] == "step":
            run(records.save_step, user, patient.id, pending["form"], step_id=pending["step_id"],
                end_existing=pending.get("end_existing", False), confirm_reason=reason)
        else:
            run(records.save_visit, user, patient.id, pending["form"])
    except (RecordError, PermissionError) as exc:
        _forget(PENDING, *CONFIRMATION)
        lines = [f"{LABELS.get(p.field, p.field)}: {p.reason}" for p in getattr(exc, "problems", [])] or [str(exc)]
        st.session_state[ERRORS] = {"key": pending["key"], "patient": patient.id, "lines": lines}
        st.rerun()
    _forget(PENDING, DRAFT, *CONFIRMATION)
    if pending["where"] == "accept":
        st.session_state.pop(ACCEPTING, None)
    loaders.invalidate()
    st.toast("Saved: the review and the timeline show it now.", icon=":material/check:")
    st.rerun()

"""Changes to a patient's records from the review page (and the command's proposed steps):
titration steps, visits, acknowledged flags, decisions on proposed steps.

Each asks ``dashboard.access`` and writes exactly one audit row through ``usecases.guard``: a
``record_change`` (or ``acknowledge_flag``) row with the old and new values, or a "denied" row
committed before ``NotAllowed``. The checks (``check_step``, ``check_visit``) write nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard import access, prescription_checks
from dashboard.actors import User
from dashboard.analysis.flag_rules import RULES
from dashboard.clinic_rules import HOME_ROUTE
from dashboard.analysis.periods import steps_table
from dashboard.audit_actions import AuditAction
from dashboard.charts.timeline import step_labels
from dashboard.db import clinic_records, flag_reviews
from dashboard.db.clinic_records import StepForm, StepPreview, VisitForm
from dashboard.db.models import TitrationStep
from dashboard.db.queries import titration_frame
from dashboard.usecases.guard import NotAllowed, guarded

NOTE_MAX_CHARS = 2000  # an acknowledgement's note


class AcknowledgementError(ValueError):
    """An acknowledgement refused for what it says; the message is written for the clinician."""


def _record_refusal(session: Session, actor: User, patient_id: int) -> str:
    """Why a change of the patient's records is refused, in the clinician's words."""
    if not access.can_open_patient(session, actor, patient_id):
        return "This patient is no longer shared with you; nothing was changed."
    return "Your role does not record this for patients; nothing was changed."


def _record_guard(session: Session, actor: User, patient_id: int, allowed: bool, denied_detail: dict):
    message = "" if allowed else _record_refusal(session, actor, patient_id)
    return guarded(session, actor, AuditAction.RECORD_CHANGE, allowed, patient_id=patient_id,
                   denied_detail=denied_detail, denied_patient_id=patient_id, message=message)


# --- what the page may offer, and the checks before saving ------------------------------------------

def record_permissions(session: Session, actor: User, patient_id: int) -> tuple[bool, bool]:
    """(may change steps, may record visits) for the review page to offer the forms it may."""
    return access.may_change_steps(session, actor, patient_id), access.may_record_visits(session, actor, patient_id)


def _readable(session: Session, actor: User, patient_id: int) -> None:
    # A check shows nothing stored and writes nothing, as before: refused without an audit row.
    if not access.can_open_patient(session, actor, patient_id):
        raise NotAllowed()


def check_step(session: Session, actor: User, patient_id: int, form: StepForm, *, step_id: int | None = None,
               end_existing: bool = False, today: date | None = None):
    """(the form in canonical words, the problems, the preview if none): nothing is written.

    The preview carries the prescription checks (``preview.checks``): what needs a confirmation
    with a reason before ``save_step`` writes it, the existing step ended when ``end_existing``
    (the user's choice when the new step overlaps it), the days left without a step."""
    _readable(session, actor, patient_id)
    clean, problems = clinic_records.check_step(session, patient_id, form, step_id=step_id, today=today,
                                                end_existing=end_existing)
    preview = None
    if not problems:
        result = clinic_records.prescription(session, patient_id, clean, step_id=step_id, today=today) \
            if clean.route == HOME_ROUTE else prescription_checks.Result()
        preview = _preview_step(session, patient_id, clean, step_id=step_id,
                                ended=result.endings() if end_existing else [])
        preview = replace(preview, checks=result, end_existing=end_existing)
    return clean, problems, preview


def check_visit(session: Session, actor: User, patient_id: int, form: VisitForm):
    """(the form in canonical words, the problems, the infusion step's preview if any): nothing is written.
    Staff check visits of every patient of the clinic (``access.may_record_visits``)."""
    if not access.may_record_visits(session, actor, patient_id):
        _readable(session, actor, patient_id)
    clean, problems = clinic_records.check_visit(session, patient_id, form)
    preview = None
    if not problems and clean.kind == "infusion":
        preview = _preview_step(session, patient_id, clinic_records.infusion_step(clean))
    return clean, problems, preview


def _preview_step(session: Session, patient_id: int, form: StepForm, *, step_id: int | None = None,
                  ended: list | None = None) -> StepPreview:
    """The step's label and dates as the timeline will draw them, with the change applied to the
    stored steps (``form`` already checked), and the existing steps ``ended`` the day before it.
    Access is the caller's check."""
    stored = titration_frame(session, patient_id)
    for ending in ended or []:
        stored.loc[stored["step_id"] == ending.step_id, "end_date"] = pd.Timestamp(ending.end)
    stored = stored[stored["step_id"] != (step_id or -1)]
    row = {"step_id": step_id or -1, "start_date": pd.Timestamp(form.start_date),
           "end_date": pd.Timestamp(form.end_date) if form.end_date else pd.NaT, "dose_mg": float(form.dose_mg),
           "frequency": form.frequency, "max_per_day": form.max_per_day if form.max_per_day else float("nan"),
           "route": form.route, "note": form.note, "status": "active"}
    changed = pd.concat([stored, pd.DataFrame([row])], ignore_index=True) if len(stored) else pd.DataFrame([row])
    changed = changed.astype({"start_date": "datetime64[ns]", "end_date": "datetime64[ns]", "dose_mg": "float64",
                              "max_per_day": "float64"})
    dates = pd.concat([changed["start_date"], changed["end_date"].dropna()])
    horizon = (dates.max() + pd.Timedelta(days=3650)).date()
    before = steps_table(titration_frame(session, patient_id), horizon).set_index("step_id")
    after = steps_table(changed, horizon)
    labels = step_labels(after)
    mine = after.index[after["step_id"] == (step_id or -1)][0]
    step = after.loc[mine]
    end = None if step["end"] == pd.Timestamp(horizon) else step["end"].date()
    per_day = "" if pd.isna(step["daily_dose_mg"]) else f" = {step['daily_dose_mg']:g} mg/day"
    schedule = f"{form.dose_mg:g} mg {form.frequency}{per_day}, {form.route}"
    if per_day and form.frequency == "daily":  # "50 mg daily = 50 mg/day" says it twice
        schedule = f"{step['daily_dose_mg']:g} mg/day, {form.route}"
    others = []
    for other in after[after["step_id"] != (step_id or -1)].itertuples():
        if other.step_id in before.index and before.loc[other.step_id, "end"] != other.end:
            until = "runs on" if other.end == pd.Timestamp(horizon) else f"now ends on {other.end:%d %b %Y}"
            others.append(f"The {other.route} step of {other.dose_mg:g} mg {other.frequency} from "
                          f"{other.start:%d %b %Y} {until}.")
    return StepPreview(label=str(labels[mine]), schedule=schedule,
                       start=form.start_date, end=end, others=others)


# --- steps and visits ----------------------------------------------------------------------------

def save_step(session: Session, actor: User, patient_id: int, form: StepForm, *, step_id: int | None = None,
              today: date | None = None, end_existing: bool = False, confirm_reason: str | None = None) -> int:
    """Add a step (``step_id`` None), change or end an active one, or accept a proposed one with the
    form's values, with its audit row; the step's id. Raises RecordRefused (nothing written), RecordError or
    NotAllowed (refusal audited).

    The prescription checks decide here (``dashboard.prescription_checks``): a troche step above the
    clinic's maximum daily dose or more than twice the previous step's is saved only with
    ``confirm_reason``; one that overlaps an earlier step only with ``end_existing`` (that step then
    ends the day before). The audit row keeps the checks, their numbers, the reason and the step ended."""
    what = "add step" if step_id is None else "change step"
    allowed = access.may_change_steps(session, actor, patient_id)
    with _record_guard(session, actor, patient_id, allowed, {"change": what, "titration_step": step_id}) as done:
        step, done.detail = clinic_records.save_step(session, changed_by=actor.username, patient_id=patient_id,
                                                     form=form, step_id=step_id, today=today,
                                                     end_existing=end_existing, confirm_reason=confirm_reason)
    return step.id


def save_visit(session: Session, actor: User, patient_id: int, form: VisitForm, *, today: date | None = None) -> int:
    """Book a visit or record one that took place (an infusion with its dose step, a clinician's),
    with its audit row (see ``save_step``); the visit's id."""
    infusion = clinic_records.is_infusion(form)
    allowed = access.may_record_visits(session, actor, patient_id, infusion=infusion)
    with _record_guard(session, actor, patient_id, allowed, {"change": "add visit", "date": form.date}) as done:
        visit, done.detail = clinic_records.save_visit(session, changed_by=actor.username, patient_id=patient_id,
                                                       form=form, today=today)
    return visit.id


def decide_proposed_step(session: Session, actor: User, patient_id: int, step_id: int, accept: bool, *,
                         confirm_reason: str | None = None, end_existing: bool = False,
                         today: date | None = None) -> TitrationStep:
    """Accept or reject a step read from an imported prescription: only someone who may change
    the patient's steps decides (``dashboard.access``); the decision, or the refusal, is audited.
    Accepting passes the prescription checks as ``save_step`` does (``confirm_reason``, ``end_existing``)."""
    allowed = access.may_change_steps(session, actor, patient_id)
    with _record_guard(session, actor, patient_id, allowed, {"titration_step": step_id}) as done:
        step, done.detail = clinic_records.decide_proposed_step(
            session, changed_by=actor.username, patient_id=patient_id, step_id=step_id, accept=accept,
            confirm_reason=confirm_reason, end_existing=end_existing, today=today)
    return step


# --- acknowledged flags --------------------------------------------------------------------------

def acknowledge_flag(session: Session, actor: User, patient_id: int, *, rule: str, flag_start, flag_end,
                     note: str):
    """Record that ``actor`` acknowledged a flag, with one audit row in the same transaction.

    ``flag_start`` and ``flag_end`` may be dates or the midnight timestamps of a flags table.
    Raises ``AcknowledgementError`` (nothing written) for an unknown rule, an empty or too long
    note, dates out of order, or a flag acknowledged already (the message says by whom and when).
    Someone who may not see the patient gets ``NotAllowed`` after a committed "denied" row; call
    this at the start of its own unit of work, since whatever the caller wrote before it is
    committed along with the denial.
    """
    allowed = access.can_open_patient(session, actor, patient_id)
    with guarded(session, actor, AuditAction.ACKNOWLEDGE_FLAG, allowed, patient_id=patient_id,
                 denied_detail={"rule": rule, "flag_start": flag_start}, denied_patient_id=patient_id,
                 message="This patient is not shared with you; the flag was not acknowledged.") as done:
        start, end, note = _checked(rule, flag_start, flag_end, note)
        earlier = flag_reviews.acknowledgement(session, patient_id, rule, start)
        if earlier is not None:
            raise AcknowledgementError(
                f"The {RULES[rule].name} flag from {start:%d %b %Y} was already acknowledged by "
                f"{flag_reviews.display_name(session, earlier.acknowledged_by)} on "
                f"{earlier.acknowledged_at:%d %b %Y at %H:%M} UTC.")
        try:
            row = flag_reviews.add_acknowledgement(session, patient_id=patient_id, rule=rule, flag_start=start,
                                                   flag_end=end, note=note, acknowledged_by=actor.username)
        except IntegrityError as exc:  # acknowledged in another transaction since the check above
            raise AcknowledgementError(
                f"The {RULES[rule].name} flag from {start:%d %b %Y} was acknowledged by someone else a moment ago; "
                "reload the review to see their note.") from exc
        done.detail = {"rule": rule, "flag_start": start.isoformat(), "flag_end": end.isoformat(), "note": note}
    return row


def _checked(rule: str, flag_start, flag_end, note) -> tuple[date, date, str]:
    if rule not in RULES:
        raise AcknowledgementError(f"{rule!r} is not a flag rule; the rules are {', '.join(RULES)}.")
    start, end = _calendar_date(flag_start, "start"), _calendar_date(flag_end, "end")
    if start > end:
        raise AcknowledgementError(f"The flag's start ({start:%d %b %Y}) is after its end ({end:%d %b %Y}).")
    note = note.strip() if isinstance(note, str) else ""
    if not note:
        raise AcknowledgementError("Write a note to acknowledge the flag: what you saw and what you did.")
    if len(note) > NOTE_MAX_CHARS:
        raise AcknowledgementError(f"The note has {len(note)} characters; keep it to {NOTE_MAX_CHARS}.")
    return start, end, note


def _calendar_date(value, which: str) -> date:
    # A flags table holds midnight timestamps (pd.Timestamp is a datetime, and a datetime a date).
    if isinstance(value, datetime):
        if pd.isna(value) or value.time() != time(0):
            raise AcknowledgementError(f"The flag's {which} must be a calendar day, not {value!r}.")
        return value.date()
    if isinstance(value, date):
        return value
    raise AcknowledgementError(f"The flag's {which} must be a calendar day, not {value!r}.")

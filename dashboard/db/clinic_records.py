"""Changes a clinician makes to a patient's clinic records, each audited in the same transaction.

Steps and visits recorded on the review page pass the rules the clinic-records importer applies
(``dashboard.clinic_rules``), plus what only the stored records can tell (no overlapping troche
steps, no second visit of a kind on a day). A refused change writes nothing; an accepted one
writes the record and exactly one ``record_change`` audit row with the old and new values.
Who may change what is ``dashboard.access``, asked by ``dashboard.usecases.records``, which
writes the audit row: each change here returns the record and the row's detail.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import clinic_rules as rules
from dashboard import prescription_checks as checks
from dashboard.db import revisions
from dashboard.db.settings_store import load_thresholds
from dashboard.db.models import TitrationStep, Visit
from dashboard.db.queries import titration_frame

NOTE_MAX = 2000


class RecordError(ValueError):
    pass


class RecordRefused(RecordError):
    """The form's values break a rule: nothing was written. ``problems`` say field, value and why."""

    def __init__(self, problems: list[rules.Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class StepForm:
    """A titration step as a form gives it (the importer's columns, as values)."""

    start_date: date
    dose_mg: float
    frequency: str
    route: str
    end_date: date | None = None
    max_per_day: float | None = None
    note: str | None = None


@dataclass(frozen=True)
class VisitForm:
    """A visit: ``booked`` (today or later) or one that took place (today or earlier). An infusion
    carries its dose and route (IV or IM), stored as a step on the visit's day, as imports do."""

    date: date
    kind: str
    booked: bool
    note: str | None = None
    infusion_dose_mg: float | None = None
    infusion_route: str | None = None


@dataclass(frozen=True)
class StepPreview:
    """A step as the timeline will show it, before it is written."""

    label: str  # the timeline's step label, e.g. "50 → 100 mg/day"
    schedule: str  # "50 mg twice daily = 100 mg/day, troche"
    start: date
    end: date | None  # None: until the next step of its route starts
    others: list[str]  # how the change moves other steps' ends
    # The prescription checks (``dashboard.prescription_checks``): what needs a confirmation with a
    # reason, the existing step ended (when chosen), the days left without a step.
    checks: checks.Result = checks.Result()
    end_existing: bool = False


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


# --- steps ------------------------------------------------------------------------------------

def check_step(session: Session, patient_id: int, form: StepForm, *, step_id: int | None = None,
               today: date | None = None, end_existing: bool = False) -> tuple[StepForm, list[rules.Problem]]:
    """The form in canonical words, and every rule it breaks (empty: it may be written, once the
    prescription checks' confirmations are given: :func:`prescription`). ``end_existing``: the user
    chose to end the troche step the new one overlaps, the day before it starts."""
    problems: list[rules.Problem] = []

    def read(name: str, value, check):
        try:
            return check(value)
        except ValueError as exc:
            problems.append(rules.Problem(name, "" if value is None else str(value), str(exc)))
            return None

    start = read("start_date", form.start_date, lambda d: rules.plan_date(d, today))
    end = None if form.end_date is None else read("end_date", form.end_date, lambda d: rules.plan_date(d, today))
    freq = read("frequency", form.frequency, rules.frequency)
    route = read("route", form.route, rules.route)
    most = None if form.max_per_day is None else read("max_per_day", form.max_per_day, rules.doses_per_day)
    dose = read("dose_mg", form.dose_mg, lambda v: rules.dose(float(v), route))
    note = _text(form.note)
    if note is not None and len(note) > NOTE_MAX:
        problems.append(rules.Problem("note", note[:40] + "…", f"a note is at most {NOTE_MAX} characters"))
    if problems:
        return form, problems
    frequency_name, written_max = freq
    most, between = rules.step_problems(start=start, end=end, frequency_name=frequency_name,
                                        written_max=written_max, max_per_day=most)
    problems += between
    clean = StepForm(start_date=start, dose_mg=dose, frequency=frequency_name, route=route, end_date=end,
                     max_per_day=most, note=note)
    if not problems:
        problems += _stored_clashes(session, patient_id, clean, step_id, today=today, end_existing=end_existing)
    return clean, problems


def prescription(session: Session, patient_id: int, form: StepForm, *, step_id: int | None = None,
                 today: date | None = None) -> checks.Result:
    """The prescription checks of writing ``form`` (checked, canonical) beside the patient's stored steps."""
    new = checks.NewStep(start=form.start_date, end=form.end_date, dose_mg=float(form.dose_mg),
                         frequency=form.frequency, max_per_day=form.max_per_day, route=form.route, step_id=step_id)
    return checks.check(titration_frame(session, patient_id), [new],
                        maximum_mg=load_thresholds(session).max_daily_dose_mg, today=today or date.today())


def _refusals(result: checks.Result, form: StepForm, **choices) -> list[rules.Problem]:
    return [rules.Problem(name, _shown(getattr(form, name)), why) for _, name, why in result.refusals(**choices)]


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return f"{value:g}" if isinstance(value, float) else str(value)


def _stored_clashes(session: Session, patient_id: int, form: StepForm, step_id: int | None, *,
                    today: date | None = None, end_existing: bool = False) -> list[rules.Problem]:
    if form.route == rules.HOME_ROUTE:  # overlaps only: the confirmations are asked before saving
        result = prescription(session, patient_id, form, step_id=step_id, today=today)
        return _refusals(checks.Result(overlaps=result.overlaps), form, end_existing=end_existing)
    steps = titration_frame(session, patient_id)
    same = steps[(steps["route"] == form.route) & (steps["start_date"] == pd.Timestamp(form.start_date))
                 & (steps["step_id"] != (step_id or -1))]
    if same.empty:
        return []
    return [rules.Problem("start_date", form.start_date.isoformat(),
                          f"a {form.route} step starting {form.start_date:%d %b %Y} is already recorded")]


def _step_values(step: TitrationStep) -> dict:
    return {"start_date": step.start_date, "end_date": step.end_date, "dose_mg": step.dose_mg,
            "frequency": step.frequency, "max_per_day": step.max_per_day, "route": step.route, "note": step.note,
            "status": step.status}


def save_step(session: Session, *, changed_by: str, patient_id: int, form: StepForm, step_id: int | None = None,
              today: date | None = None, end_existing: bool = False,
              confirm_reason: str | None = None) -> tuple[TitrationStep, dict]:
    """Add a step (``step_id`` None), change or end an active one, or accept a proposed one with
    the form's values; the step and its audit detail. ``RecordRefused`` (nothing written) when a
    rule is broken, a prescription check's confirmation has no reason (``confirm_reason``), or an
    overlap is not resolved by ending the existing step (``end_existing``)."""
    what = "add step" if step_id is None else "change step"
    step = None
    if step_id is not None:
        step = session.get(TitrationStep, step_id)
        if step is None or step.patient_id != patient_id or step.status not in ("active", "proposed"):
            raise RecordError("this step no longer exists or was rejected; nothing was changed")
        what = "accept proposed step" if step.status == "proposed" else "change step"
    clean, problems = check_step(session, patient_id, form, step_id=step_id, today=today, end_existing=end_existing)
    result = checks.Result()
    if not problems and clean.route == rules.HOME_ROUTE:
        result = prescription(session, patient_id, clean, step_id=step_id, today=today)
        problems = _refusals(result, clean, end_existing=end_existing, reason=confirm_reason)
    if problems:
        raise RecordRefused(problems)
    old = None if step is None else _step_values(step)
    if old is not None and old == {**asdict(clean), "status": "active"}:
        raise RecordError("nothing to change: the step already says this")
    if step is None:
        step = TitrationStep(patient_id=patient_id)
        session.add(step)
    for key, value in asdict(clean).items():
        setattr(step, key, value)
    step.status, step.changed_by, step.changed_at = "active", changed_by, _now()
    _end_existing(session, result, changed_by, end_existing)
    session.flush()
    revisions.bump(session, [patient_id])
    detail = {"change": what, "titration_step": step.id, "old": old, "new": _step_values(step)}
    return step, _with_checks(detail, result, end_existing=end_existing, reason=confirm_reason)


def _end_existing(session: Session, result: checks.Result, changed_by: str, end_existing: bool) -> None:
    """The existing steps the user chose to end the day before the new one starts."""
    if not end_existing:
        return
    for ending in result.endings():
        other = session.get(TitrationStep, ending.step_id)
        other.end_date, other.changed_by, other.changed_at = ending.end, changed_by, _now()


def _with_checks(detail: dict, result: checks.Result, **choices) -> dict:
    """The audit detail with what the prescription checks said: the confirmation (checks, numbers,
    reason), the step ended, the gaps."""
    said = result.audit(**choices)
    return {**detail, "prescription": said} if said else detail


# --- visits -------------------------------------------------------------------------------------

def check_visit(session: Session, patient_id: int, form: VisitForm, *,
                today: date | None = None) -> tuple[VisitForm, list[rules.Problem]]:
    problems: list[rules.Problem] = []
    today = today or date.today()
    try:
        when = rules.plan_date(form.date, today)
    except ValueError as exc:
        problems.append(rules.Problem("date", str(form.date), str(exc)))
        when = None
    if when is not None and form.booked and when < today:
        problems.append(rules.Problem("date", when.isoformat(), "a booked visit is today or later; record a visit "
                                      "that took place instead"))
    if when is not None and not form.booked and when > today:
        problems.append(rules.Problem("date", when.isoformat(), "a visit that took place is dated today or earlier; "
                                      "book it instead"))
    try:
        kind = rules.visit_kind(form.kind)
    except ValueError as exc:
        problems.append(rules.Problem("kind", str(form.kind), str(exc)))
        kind = None
    note = _text(form.note)
    if note is not None and len(note) > NOTE_MAX:
        problems.append(rules.Problem("note", note[:40] + "…", f"a note is at most {NOTE_MAX} characters"))
    dose, route = None, None
    if kind == "infusion":
        try:
            route = rules.route(form.infusion_route or "")
            if route not in rules.INFUSION_ROUTES:
                raise ValueError(f"an infusion is given IV or IM, not {route}")
        except ValueError as exc:
            problems.append(rules.Problem("infusion_route", str(form.infusion_route or ""), str(exc)))
        try:
            if form.infusion_dose_mg is None:
                raise ValueError("an infusion needs its dose in mg")
            dose = rules.dose(float(form.infusion_dose_mg), route)
        except ValueError as exc:
            problems.append(rules.Problem("infusion_dose_mg", str(form.infusion_dose_mg or ""), str(exc)))
    clean = VisitForm(date=when or form.date, kind=kind or form.kind, booked=form.booked, note=note,
                      infusion_dose_mg=dose, infusion_route=route)
    if not problems:
        same_day = select(Visit.id).where(Visit.patient_id == patient_id, Visit.date == when, Visit.kind == kind)
        if not form.booked:  # recording the booked visit as held is what booking it was for
            same_day = same_day.where(Visit.status != "booked")
        if session.scalar(same_day) is not None:
            problems.append(rules.Problem("date", when.isoformat(), f"a {kind} visit on {when:%d %b %Y} is already "
                                          "recorded"))
        elif kind == "infusion":
            problems += _stored_clashes(session, patient_id, infusion_step(clean), None)
    return clean, problems


def infusion_step(form: VisitForm) -> StepForm:
    """An infusion's dose as the timeline and the analysis read it: a one-day IV/IM step."""
    return StepForm(start_date=form.date, end_date=form.date, dose_mg=float(form.infusion_dose_mg),
                    frequency="daily", route=form.infusion_route, note=form.note)


def is_infusion(form: VisitForm) -> bool:
    return rules.words(form.kind) == "infusion"


def save_visit(session: Session, *, changed_by: str, patient_id: int, form: VisitForm,
               today: date | None = None) -> tuple[Visit, dict]:
    """Book a visit or record one that took place (an infusion with its dose step); the visit and
    its audit detail. ``RecordRefused`` (nothing written) when a rule is broken."""
    clean, problems = check_visit(session, patient_id, form, today=today)
    if problems:
        raise RecordRefused(problems)
    now = _now()
    # The visit that was booked for this day is the one that took place: it is recorded as held
    # (old values in the audit row), not left beside the new one to show as overdue for ever.
    booked = None if clean.booked else session.scalars(
        select(Visit).where(Visit.patient_id == patient_id, Visit.date == clean.date, Visit.status == "booked")
        .order_by(Visit.id)).first()
    old = None
    if booked is not None:
        old = {"date": booked.date, "kind": booked.kind, "note": booked.note, "booked": True}
        visit = booked
        visit.kind, visit.note, visit.status, visit.changed_by, visit.changed_at = \
            clean.kind, clean.note, "held", changed_by, now
    else:
        visit = Visit(patient_id=patient_id, date=clean.date, kind=clean.kind, note=clean.note,
                      status="booked" if clean.booked else "held", changed_by=changed_by, changed_at=now)
        session.add(visit)
    new = {"date": clean.date, "kind": clean.kind, "note": clean.note, "booked": clean.booked}
    if clean.kind == "infusion":
        step = TitrationStep(patient_id=patient_id, status="active", changed_by=changed_by, changed_at=now,
                             **asdict(infusion_step(clean)))
        session.add(step)
        session.flush()
        new["infusion_step"] = {"titration_step": step.id, **_step_values(step)}
    session.flush()
    revisions.bump(session, [patient_id])
    return visit, {"change": "book visit" if clean.booked else "record visit", "visit": visit.id, "old": old, "new": new}


def step_form_of(step: dict | pd.Series) -> StepForm:
    """A stored step (a ``titration_frame`` row) as the form that would change it: the prefill."""
    def value(key):
        v = step[key]
        return None if v is None or (not isinstance(v, str) and pd.isna(v)) else v

    day = lambda key: None if value(key) is None else pd.Timestamp(value(key)).date()  # noqa: E731
    return StepForm(start_date=day("start_date"), end_date=day("end_date"), dose_mg=float(step["dose_mg"]),
                    frequency=str(step["frequency"]), route=str(step["route"]), max_per_day=value("max_per_day"),
                    note=value("note"))


# --- proposed steps -----------------------------------------------------------------------------

def decide_proposed_step(session: Session, *, changed_by: str, patient_id: int, step_id: int, accept: bool,
                         end_existing: bool = False, confirm_reason: str | None = None,
                         today: date | None = None) -> tuple[TitrationStep, dict]:
    """Accept a step read from an imported prescription (it then counts) or reject it (kept, ignored);
    the step and its audit detail.

    A proposed step never counts on its own: a FHIR MedicationRequest says what was ordered,
    not that the clinic's titration followed it. The review page accepts through ``save_step``
    (the step form, prefilled); this is the command's path. Accepting passes the prescription
    checks as ``save_step`` does (``RecordRefused`` names what is missing).
    """
    step = session.get(TitrationStep, step_id)
    if step is None or step.patient_id != patient_id or step.status != "proposed":
        raise RecordError("this proposed step no longer exists or was already decided")
    result = checks.Result()
    if accept:
        clash = session.scalar(select(TitrationStep.id).where(
            TitrationStep.patient_id == patient_id, TitrationStep.start_date == step.start_date,
            TitrationStep.route == step.route, TitrationStep.status == "active"))
        if clash is not None:
            raise RecordError(f"a {step.route} step starting {step.start_date} is already recorded; "
                              "change the clinic records instead")
        form = step_form_of(pd.Series(_step_values(step)))
        if form.route == rules.HOME_ROUTE:
            result = prescription(session, patient_id, form, step_id=step_id, today=today)
            problems = _refusals(result, form, end_existing=end_existing, reason=confirm_reason)
            if problems:
                raise RecordRefused(problems)
    step.status = "active" if accept else "rejected"
    step.changed_by, step.changed_at = changed_by, _now()
    _end_existing(session, result, changed_by, end_existing and accept)
    revisions.bump(session, [patient_id])
    detail = {"titration_step": step_id, "decision": step.status, "start": step.start_date, "dose_mg": step.dose_mg}
    session.flush()
    return step, _with_checks(detail, result, end_existing=end_existing and accept, reason=confirm_reason)

"""The prescription checks of an import (``dashboard.prescription_checks``), patient by patient:
the file's new active troche steps, and the stored steps a conflict decision "take" changes to the
file's values. A step changed by "take" is a changed prescription: it faces the same maximum,
doubling, overlap and gap checks as the step form's change of that step, so a file cannot slip a
dose past the checks by arriving as a conflict instead of a new row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import prescription_checks as checks
from dashboard.db.models import TitrationStep
from dashboard.db.queries import titration_frame
from dashboard.db.settings_store import load_thresholds
from dashboard.ingest.records import RefusedRow
from dashboard.ingest.write_plan import _iso, _Plan


@dataclass(frozen=True)
class _Checked:
    rec: object  # the file's TitrationRecord
    step_id: int | None  # the stored step it changes ("take"), or None for a new step
    conflict_key: str | None


def taken_steps(session: Session, plan: _Plan, decided: list[tuple[dict, str]]) -> list[_Checked]:
    """The stored titration steps the decisions replace with the file's values ("take")."""
    out = []
    for conflict, decision in decided:
        source = plan.conflict_sources.get(conflict["key"])
        if decision != "take" or source is None or source[0] is not TitrationStep:
            continue
        _, rec, key, _ = source
        step_id = session.scalar(select(TitrationStep.id).where(
            *(getattr(TitrationStep, k) == v for k, v in key.items())).order_by(TitrationStep.id).limit(1))
        out.append(_Checked(rec, step_id, conflict["key"]))
    return out


def check_import(session: Session, plan: _Plan, patient_ids: dict[str, int], taken: list[_Checked],
                 reason: str | None, today: date) -> tuple[dict, list[RefusedRow], set[str]]:
    """(what the report and the audit row keep, the rows refused, the keys of the taken conflicts
    refused). A refused "take" is not applied: the conflict stays open."""
    by_patient: dict[str, list[_Checked]] = {}
    for rec in plan.new_records["titration_steps"]:
        if rec.status == "active":
            by_patient.setdefault(rec.patient_ref, []).append(_Checked(rec, None, None))
    for item in taken:
        if item.rec.status == "active":
            by_patient.setdefault(item.rec.patient_ref, []).append(item)
    said: dict = {}
    refused: list[RefusedRow] = []
    refused_takes: set[str] = set()
    maximum = load_thresholds(session).max_daily_dose_mg if by_patient else None
    for ref, items in by_patient.items():
        pid = patient_ids.get(ref)
        stored = titration_frame(session, pid if pid is not None else -1)
        new = [checks.NewStep(start=i.rec.start_date, end=i.rec.end_date, dose_mg=i.rec.dose_mg,
                              frequency=i.rec.frequency, max_per_day=i.rec.max_per_day, route=i.rec.route,
                              step_id=i.step_id) for i in items]
        result = checks.check(stored, new, maximum_mg=maximum, today=today)
        for index, column, why in result.refusals(reason=reason):
            item = items[index]
            value = getattr(item.rec, column)
            if item.conflict_key is not None:
                refused_takes.add(item.conflict_key)
                why = f"taking the file's values for the stored step: {why}"
            refused.append(RefusedRow(row=item.rec.row, column=column, value=_iso(value) if value is not None else "",
                                      reason=why))
        found = [{**f.audit(), "patient": ref, "row": items[f.new_index].rec.row,
                  **({"taken_from_file": True} if items[f.new_index].conflict_key else {})}
                 for f in result.findings]
        if found and (reason or "").strip():
            said.setdefault("confirmed", {"reason": reason.strip(), "checks": []})["checks"] += found
        elif found:  # what a confirmation would pass: the page offers it
            said.setdefault("needs_confirmation", []).extend(found)
        said.setdefault("gaps", []).extend(f"{ref}: {gap}" for gap in result.gaps)
    if not said.get("gaps"):
        said.pop("gaps", None)
    return said, refused, refused_takes

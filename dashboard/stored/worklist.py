"""The worklist's rows and their stored rule figures: storage read, ``analysis.worklist`` applied.

The snapshots (``db.snapshots``) keep each patient's rule figures as of a day under the version of
what they were computed from; a stale one is recomputed from the patient's review here. Which
patients a user may see is decided before (``dashboard.access``, by the use case).
"""

from __future__ import annotations

from datetime import date
from typing import Callable

from sqlalchemy import select

from dashboard.analysis.recent import recent_windows
from dashboard.analysis.review import Review
from dashboard.analysis.worklist import RuleFigures, WorklistRow, build_rows
from dashboard.config import Thresholds
from dashboard.db import share_links, snapshots
from dashboard.db import worklist_queries as q
from dashboard.db.models import Patient
from dashboard.db.settings_store import load_thresholds
from dashboard.stored.review import stored_review as review_of_patient


def pain_windows(as_of: date) -> tuple[date, date, date]:
    """The review's two 14-day pain windows and the as-of day, as the worklist's SQL reads them."""
    return tuple(d.date() for d in recent_windows(as_of))


def worklist(session, *, patient_ids: list[int], as_of: date, start: date, end: date, everyone: bool,
             figures_of: Callable[[list[int]], dict[int, RuleFigures]] | None = None,
             review_of: Callable[[int, Thresholds], Review] | None = None) -> list[WorklistRow]:
    """The rows for ``patient_ids`` (already decided by ``dashboard.access``): all of them with
    ``everyone``, else those with a visit from ``start`` to ``end`` or a booked visit overdue.

    The rule figures come from the stored snapshots (``current_figures``: the stale or missing
    ones are computed, by ``review_of`` if given, and stored on the way) unless ``figures_of`` gives them.
    """
    if not patient_ids:
        return []
    limits = load_thresholds(session)
    if figures_of is None:
        figures_of = (lambda ids: current_figures(session, ids, as_of, limits, review_of=review_of))
    return build_rows(
        patients=q.patients(session, patient_ids), figures=q.diary_figures(session, patient_ids, pain_windows(as_of)),
        visits=q.visits(session, patient_ids, since=min(as_of, start)), clinicians=q.clinicians(session, patient_ids),
        figures_of=figures_of, as_of=as_of, start=start, end=end, gap_days=limits.diary_gap_days,
        everyone=everyone, completeness_days=q.COMPLETENESS_DAYS, waiting=share_links.waiting_counts(session))


def current_figures(session, patient_ids: list[int], as_of: date, thresholds,
                    review_of: Callable[[int, Thresholds], Review] | None = None) -> dict[int, RuleFigures]:
    """Every patient's ``RuleFigures`` as of ``as_of``: the stored snapshot where its version is
    current (``db.snapshots``: a handful of grouped queries for all of them), else computed from
    the patient's review and stored, for the next run and the next user.

    The review is ``review_of(patient_id, thresholds)`` if given (the app passes its per-process
    review cache, so twenty worklists opened at once build each stale patient's review once, and
    opening that patient next reuses it), else ``stored_review`` read in this session.
    """
    return refresh(session, patient_ids, as_of, thresholds, review_of=review_of)[0]


def refresh(session, patient_ids: list[int], as_of: date, thresholds,
            review_of: Callable[[int, Thresholds], Review] | None = None) -> tuple[dict[int, RuleFigures], int]:
    """``current_figures`` and how many of them had to be computed."""
    now = snapshots.versions(session, patient_ids, thresholds)
    stored = snapshots.read(session, patient_ids, as_of)
    out, computed = {}, {}
    stale = {pid for pid in patient_ids if stored.get(pid, (None,))[0] != now[pid]}
    if stale and review_of is not None:
        # Nothing is written yet: hand this session's connection back to the pool while
        # ``review_of`` reads with its own. Twenty worklists each holding one connection while
        # waiting for a second would empty a pool of ten.
        session.commit()
    for pid in patient_ids:
        if pid not in stale:
            out[pid] = RuleFigures.from_stored(stored[pid][1])
            continue
        review = review_of(pid, thresholds) if review_of else stored_review(session, pid, as_of, thresholds)
        out[pid] = RuleFigures.of(review)
        computed[pid] = (now[pid], out[pid].stored())
    snapshots.write(session, as_of, computed)
    return out, len(computed)


def precompute(session, *, as_of: date, batch: int = 200) -> dict:
    """Every patient's snapshot for ``as_of`` (``python -m dashboard precompute``, the operator's
    cron shortly after midnight, since "as of today" changes every day), in batches so a long run
    keeps what it has done; snapshots more than ``snapshots.KEEP_DAYS`` older are pruned."""
    limits = load_thresholds(session)
    ids = list(session.scalars(select(Patient.id).order_by(Patient.id)))
    computed = 0
    for i in range(0, len(ids), batch):
        computed += refresh(session, ids[i:i + batch], as_of, limits)[1]
        session.commit()
    return {"patients": len(ids), "computed": computed, "current": len(ids) - computed,
            "pruned": snapshots.prune(session, as_of)}


def stored_review(session, patient_id: int, as_of: date, thresholds) -> Review:
    """A patient's review built from the database by ``stored.review`` (what ``summary --json``
    prints), so the worklist and the summary cannot differ."""
    return review_of_patient(session, session.get(Patient, patient_id), as_of=as_of, thresholds=thresholds)

"""The one boundary between Streamlit's caches and the database.

Access is checked before any cached loader is called, and every cached function takes the
database URL and the user's id among its (hashed) arguments, so one user's result never
serves another and tests never see another database's data.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from datetime import date

import pandas as pd
import streamlit as st

from dashboard.actors import PatientInfo, User
from dashboard.analysis.cohort import build_cohort
from dashboard.analysis import review as review_analysis  # review_of looked up at call time (tests count the builds)
from dashboard.config import Thresholds, database_url
from dashboard.db import queries
from dashboard.db.flag_reviews import acknowledgements_frame
from dashboard.db.models import Patient
from dashboard.db.session import session_scope
from dashboard.usecases import patients, records, run, settings

__all__ = ["PatientInfo"]  # the pages' name for an opened patient (dashboard.actors)


def _clinic_version(url: str) -> tuple:
    """``queries.clinic_version``: part of every unversioned list's cache key, so what another
    server process wrote (an import, a share, a setting) shows here on the next run."""
    with session_scope(url) as session:
        return queries.clinic_version(session)


@st.cache_data(ttl=600, max_entries=8, show_spinner=False)
def _thresholds(url: str, version: tuple = ()) -> Thresholds:
    return run(settings.thresholds, None, url=url)


def thresholds() -> Thresholds:
    url = database_url()
    return _thresholds(url, _clinic_version(url))


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def visible_patients(url: str, user_id: int, username: str, role: str, display_name: str,
                     version: tuple = ()) -> pd.DataFrame:
    return run(patients.patient_list, User(user_id, username, display_name, role), url=url)


def patient_list(user: User) -> pd.DataFrame:
    url = database_url()
    return visible_patients(url, user.id, user.username, user.role, user.display_name, _clinic_version(url))


def open_patient(user: User, ref: str, *, audit_view: bool = True) -> PatientInfo | None:
    """The patient if shared with ``user`` (``usecases.patients.open_patient``: audited)."""
    return run(patients.open_patient, user, ref, audit_view=audit_view)


@st.cache_data(ttl=120, max_entries=64, show_spinner=False)
def patient_frames(url: str, user_id: int, patient_id: int, version: tuple = ()) -> dict[str, pd.DataFrame]:
    """Everything the review page reads for one patient. Call only after ``open_patient``.

    ``version`` (``queries.data_version``) makes a change by another process a new entry.
    """
    with session_scope(url) as session:
        return {
            "diary": queries.diary_frame(session, patient_id),
            "side_effects": queries.side_effects_frame(session, patient_id),
            "steps": queries.titration_frame(session, patient_id),
            "proposed_steps": queries.titration_frame(session, patient_id, include_proposed=True),
            "visits": queries.visits_frame(session, patient_id),
            "comedications": queries.comedications_frame(session, patient_id),
            "measures": queries.measures_frame(session, patient_id),
        }


@st.cache_data(ttl=600, max_entries=64, show_spinner=False)
def patient_imports(url: str, user_id: int, patient_ref: str, version: tuple = ()) -> pd.DataFrame:
    with session_scope(url) as session:
        return queries.imports_frame(session, patient_ref)


def _require_open(url: str, user: User, patient: PatientInfo) -> None:
    """Before any cached read: the patient must still be shared with the user (a refusal is
    audited and raises ``NotAllowed``)."""
    run(patients.require_open, user, patient, url=url)


def frames(user: User, patient: PatientInfo) -> dict[str, pd.DataFrame]:
    url = database_url()
    _require_open(url, user, patient)
    return patient_frames(url, user.id, patient.id, _data_version(url, patient.id))


def imports(user: User, patient: PatientInfo) -> pd.DataFrame:
    url = database_url()
    _require_open(url, user, patient)
    return patient_imports(url, user.id, patient.ref, _clinic_version(url))


def invalidate(*, settings: bool = False) -> None:
    """After a write: forget what the caches hold that the write may have changed.

    The one place pages and the session ask for it (never ``st.cache_data.clear()``).
    Every cache is keyed by a version read from the database (``queries.data_version`` per
    patient, ``queries.clinic_version`` for the lists and settings), so a change by this or
    any other server process is a new entry by itself. Clearing here only frees memory early:
    the patient list, the import history and, with ``settings``, the thresholds.
    """
    visible_patients.clear()
    patient_imports.clear()
    if settings:
        _thresholds.clear()


def today() -> date:
    return date.today()


def _data_version(url: str, patient_id: int) -> tuple:
    with session_scope(url) as session:
        return queries.data_version(session, patient_id)


@st.cache_resource(ttl=600, max_entries=32, show_spinner=False)
def _review(url: str, user_id: int, patient_id: int, as_of: date, limits: Thresholds, version: tuple):
    """The review, computed once per patient, as-of date, thresholds and data version.

    ``cache_resource`` hands back the same object (``cache_data`` would unpickle a copy of
    every frame on each rerun); the Review is frozen and nothing on the page mutates it.
    """
    with session_scope(url) as session:
        patient = review_analysis.PatientDetails.of(session.get(Patient, patient_id))
        acknowledgements = acknowledgements_frame(session, patient_id)
    data = patient_frames(url, user_id, patient_id, version)
    return review_analysis.review_of(patient, {**data, "acknowledgements": acknowledgements}, thresholds=limits,
                                     as_of=as_of)


def review(user: User, patient: PatientInfo, as_of: date):
    """The review model of a patient the user has opened (call ``open_patient`` first)."""
    url = database_url()
    _require_open(url, user, patient)
    return _review(url, user.id, patient.id, as_of, thresholds(), _data_version(url, patient.id))


_FIGURES: dict[int, dict] = {}  # id(review) -> {key: figure}; an entry goes when its review does
_FIGURES_LOCK = threading.Lock()


def figure(review, key: Hashable, build: Callable[[], object]):
    """``build()``, once per review and ``key``: a figure drawn from a review (from ``review``,
    which checked access) is the same figure until the review is recomputed.

    Building the timeline and the other charts (plotly validates every property) was most of a
    warm rerun (issue 12: ≤ 150 ms). The figures live as long as their review object, which
    ``_review`` keeps per patient, as-of date, thresholds and data version, so a change of data
    is a new review and new figures. ``key`` names the figure and what else it depends on
    (the highlighted flag); a figure is never mutated after it is built.
    """
    with _FIGURES_LOCK:
        memo = _FIGURES.get(id(review))
        if memo is None:
            memo = _FIGURES[id(review)] = {}
            # Before the id can be reused by another object, the entry is gone.
            weakref.finalize(review, _FIGURES.pop, id(review), None)
    if key not in memo:
        memo[key] = build()  # two reruns at once may both build it; either result is the same
    return memo[key]


def cohort(user: User, as_of: date, *, audit_view: bool = True):
    """The cohort view's figures (``analysis.cohort.build_cohort``) over the patients
    ``usecases.patients.cohort_members`` gives the user (audited there), from each patient's cached
    review. Only the references of patients the user may open leave this function."""
    url = database_url()
    members = run(patients.cohort_members, user, as_of, audit_view=audit_view, url=url)
    limits = thresholds()
    reviews = [_review(url, user.id, pid, as_of, limits, members.versions[pid]) for pid in members.ids]
    return build_cohort(reviews, openable_refs=members.openable_refs)


def acknowledge_flag(user: User, patient: PatientInfo, *, rule: str, start, end, note: str) -> None:
    """Acknowledge a flag (audited); the review's data version changes, so the next run recomputes it."""
    run(records.acknowledge_flag, user, patient.id, rule=rule, flag_start=start, flag_end=end, note=note)


def decide_proposed_step(user: User, patient: PatientInfo, step_id: int, accept: bool) -> None:
    """Only someone who may change the patient's steps decides; the decision is audited."""
    run(records.decide_proposed_step, user, patient.id, step_id, accept)


def worklist(user: User, *, as_of: date, start: date, end: date, everyone: bool, audit_view: bool = True):
    """The worklist rows of the patients shared with ``user`` (``usecases.patients.worklist``:
    audited as one view listing every patient shown), with this process's review cache.

    The rows have no Streamlit cache: the database is the cache every server process shares
    (the stored review snapshots). A stale patient's review comes from ``_review``: when many
    worklists open at once (a clinic's morning after an import) each such review is built once,
    not once per worklist, and opening that patient next is already warm.
    """
    url = database_url()

    def review_of(patient_id: int, limits: Thresholds):
        return _review(url, user.id, patient_id, as_of, limits, _data_version(url, patient_id))

    return run(patients.worklist, user, as_of=as_of, start=start, end=end, everyone=everyone, review_of=review_of,
               audit_view=audit_view, url=url)

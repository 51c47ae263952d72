"""The stored review snapshots (``models.ReviewSnapshot``): versions, reads and writes.

A snapshot is current when its version equals ``version(data_version, thresholds)`` now: the
patient's data version (``queries.data_versions``, the same fingerprint the review's cache is
keyed by), the clinic's thresholds and the rules' code. So an import, a step or visit form, a
flag acknowledgement or a threshold change, made by any process, makes it stale by itself; no
writer has to remember to invalidate anything.

Snapshots are derived caches, not patient data: writing one is not audited (the worklist view
that reads them is, and every change they derive from is audited where it is made).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from dashboard.config import Thresholds
from dashboard.db import queries
from dashboard.db.models import ReviewSnapshot

KEEP_DAYS = 7  # older as-of days are pruned by ``precompute``: a week of --as-of runs stays current


@cache
def rules_fingerprint() -> str:
    """A hash of the code the figures come from (``dashboard/analysis``, the thresholds' defaults),
    so a deployment that changes a rule makes every snapshot stale without anyone bumping a number."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted([*root.glob("analysis/*.py"), root / "config.py", root / "fields.py"]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def version(data_version: tuple, thresholds: Thresholds) -> str:
    """What a snapshot was computed from, as 64 hex characters."""
    return _version(_clinic_basis(thresholds), data_version)


def _clinic_basis(thresholds: Thresholds) -> bytes:
    """The part of every patient's version that is the clinic's (the rules' code, the thresholds):
    made once per list, not once per patient (``dataclasses.asdict`` per patient was a tenth of a
    second at 5,000 patients)."""
    return json.dumps([rules_fingerprint(), dataclasses.asdict(thresholds)], default=str, sort_keys=True).encode()


def _version(basis: bytes, data_version: tuple) -> str:
    return hashlib.sha256(basis + b"\0" + json.dumps(list(data_version), default=str).encode()).hexdigest()


def versions(session: Session, patient_ids: list[int], thresholds: Thresholds) -> dict[int, str]:
    """Every patient's current version, from the grouped ``queries.data_versions``."""
    basis = _clinic_basis(thresholds)
    return {pid: _version(basis, v) for pid, v in queries.data_versions(session, patient_ids).items()}


def read(session: Session, patient_ids: list[int], as_of: date) -> dict[int, tuple[str, dict]]:
    """patient id -> (version, figures) of the stored snapshots for ``as_of``."""
    rows = session.execute(select(ReviewSnapshot.patient_id, ReviewSnapshot.version, ReviewSnapshot.figures)
                           .where(queries.among(session, ReviewSnapshot.patient_id, patient_ids),
                                  ReviewSnapshot.as_of == as_of))
    return {pid: (v, figures) for pid, v, figures in rows}


def write(session: Session, as_of: date, snapshots: dict[int, tuple[str, dict]]) -> None:
    """Store (or replace) snapshots; two servers writing the same one at once both succeed
    (INSERT ... ON CONFLICT DO UPDATE on both backends)."""
    if not snapshots:
        return
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = [{"patient_id": pid, "as_of": as_of, "version": v, "figures": figures, "computed_at": now}
            for pid, (v, figures) in snapshots.items()]
    statement = insert(ReviewSnapshot)
    session.execute(statement.on_conflict_do_update(
        index_elements=[ReviewSnapshot.patient_id, ReviewSnapshot.as_of],
        set_={"version": statement.excluded.version, "figures": statement.excluded.figures,
              "computed_at": statement.excluded.computed_at}), rows)


def prune(session: Session, as_of: date) -> int:
    """Forget snapshots more than ``KEEP_DAYS`` before ``as_of``; returns how many."""
    result = session.execute(delete(ReviewSnapshot).where(ReviewSnapshot.as_of < as_of - timedelta(days=KEEP_DAYS)))
    return result.rowcount or 0

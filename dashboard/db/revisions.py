"""Each patient's data revision: one number, raised in the same transaction by every change to
what the patient's review reads (imports with their conflict decisions, the step and visit forms,
proposed-step decisions, flag acknowledgements).

It is what ``queries.data_versions`` reads, so the review's cache and the worklist's snapshots
know a patient changed with one indexed row per patient, however long the diary: counting the
diary's rows on every worklist run grew with years of diary. A change made by any process or
server raises it in the database, so every server sees it on its next run.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from dashboard.db.models import PatientRevision
from dashboard.db.sql import among


def bump(session: Session, patient_ids: Iterable[int]) -> None:
    """Raise the revision of ``patient_ids`` (a row made at 1 for a patient without one), in the
    caller's transaction: INSERT ... ON CONFLICT DO UPDATE, so two writers at once both count."""
    ids = sorted(set(patient_ids))
    if not ids:
        return
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    statement = insert(PatientRevision)
    session.execute(statement.on_conflict_do_update(
        index_elements=[PatientRevision.patient_id],
        set_={"revision": PatientRevision.revision + 1, "changed_at": statement.excluded.changed_at}),
        [{"patient_id": pid, "revision": 1, "changed_at": now} for pid in ids])


def revisions(session: Session, patient_ids: list[int]) -> dict[int, int]:
    """patient id -> revision; 0 for a patient never changed since the table was made."""
    found = dict(session.execute(select(PatientRevision.patient_id, PatientRevision.revision)
                                 .where(among(session, PatientRevision.patient_id, patient_ids))).all())
    return {pid: found.get(pid, 0) for pid in patient_ids}

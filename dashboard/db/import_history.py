"""Reads of the kept import records: the list of past imports and one kept file's bytes.

The list never loads the files themselves (``original`` can be megabytes per row).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.db.models import ImportRecord

# The newest imports shown on the page.
SHOWN = 200
COLUMNS = ["import", "when (UTC)", "by", "file", "format", "outcome", "patients", "added", "unchanged", "conflicts",
           "refused rows", "ignored"]


def recent_imports(session: Session, visible, *, limit: int = SHOWN, scanned: int = SHOWN * 10) -> list[dict]:
    """The newest import records that ``visible(patients, imported_by)`` allows, newest first,
    without their bytes. Access is decided on the light columns first; the counts (JSON lists of
    refusals and conflicts, possibly long) are read only for the rows shown."""
    r = ImportRecord
    heads = session.execute(select(r.id, r.patients, r.imported_by).order_by(r.id.desc()).limit(scanned)).all()
    ids = [row.id for row in heads if visible(list(row.patients or []), row.imported_by)][:limit]
    if not ids:
        return []
    rows = session.execute(
        select(r.id, r.imported_at, r.imported_by, r.file_name, r.format, r.status, r.patients, r.entries_added,
               r.records_added, r.entries_unchanged, r.records_unchanged, r.conflicts, r.refused_rows, r.ignored)
        .where(r.id.in_(ids)).order_by(r.id.desc())
    ).all()
    return [{
        "import": row.id, "when (UTC)": f"{row.imported_at:%Y-%m-%d %H:%M}", "by": row.imported_by or "",
        "file": row.file_name,
        "format": row.format, "outcome": row.status, "patients": list(row.patients or []),
        "added": row.entries_added + sum((row.records_added or {}).values()),
        "unchanged": row.entries_unchanged + sum((row.records_unchanged or {}).values()),
        "conflicts": len(row.conflicts or []), "refused rows": len(row.refused_rows or []),
        "ignored": sum((row.ignored or {}).values()),
    } for row in rows]


def frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["patients"] = out["patients"].map(", ".join)
    return out


def kept_file(session: Session, import_id: int) -> tuple[str, bytes, list[str], str | None] | None:
    """(file name, bytes, patients, who imported) of one record, or None."""
    row = session.execute(select(ImportRecord.file_name, ImportRecord.original, ImportRecord.patients,
                                 ImportRecord.imported_by).where(ImportRecord.id == import_id)).first()
    return None if row is None else (row[0], row[1], list(row[2] or []), row[3])

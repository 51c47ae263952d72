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
COLUMNS = ["import", "when", "by", "file", "format", "outcome", "patients", "added", "unchanged", "conflicts",
           "refused rows", "ignored"]


def recent_imports(session: Session, *, limit: int = SHOWN * 5) -> list[dict]:
    """The newest import records, newest first, without their bytes."""
    r = ImportRecord
    rows = session.execute(
        select(r.id, r.imported_at, r.imported_by, r.file_name, r.format, r.status, r.patients, r.entries_added,
               r.records_added, r.entries_unchanged, r.records_unchanged, r.conflicts, r.refused_rows, r.ignored)
        .order_by(r.id.desc()).limit(limit)
    ).all()
    return [{
        "import": row.id, "when": row.imported_at, "by": row.imported_by or "", "file": row.file_name,
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

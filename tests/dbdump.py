"""A whole-database dump, to prove a refused import changed nothing."""

from sqlalchemy import select

from dashboard.db.models import Base
from dashboard.db.session import get_engine


def dump(url: str, *, skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    out = {}
    with get_engine(url).connect() as conn:
        for name, table in sorted(Base.metadata.tables.items()):
            if name in skip:
                continue
            out[name] = sorted((tuple(r) for r in conn.execute(select(table))), key=repr)
    return out


KEPT_APART = ("audit_event", "import_record")


def assert_only_the_file_kept(url: str, before: dict, *, raw: bytes, status: str):
    """Every table as in ``before`` (a ``dump(url, skip=("audit_event",))``) except one new import
    record, which keeps ``raw`` and says ``status`` (import-formats.md v2: every file is kept).
    Returns the new record's id."""
    from dashboard.db.models import ImportRecord
    from dashboard.db.session import session_scope

    after = dump(url, skip=("audit_event",))
    assert {k: v for k, v in after.items() if k not in KEPT_APART} == \
        {k: v for k, v in before.items() if k not in KEPT_APART}
    assert all(row in after["import_record"] for row in before["import_record"])
    assert len(after["import_record"]) == len(before["import_record"]) + 1
    new_id = max(r[0] for r in after["import_record"])
    with session_scope(url) as session:
        record = session.get(ImportRecord, new_id)
        assert (record.status, record.original) == (status, raw)
    return new_id

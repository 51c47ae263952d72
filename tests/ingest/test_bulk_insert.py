"""The writer's bulk path (``bulk.bulk_insert``: COPY on PostgreSQL, one DBAPI executemany on
SQLite) stores exactly what SQLAlchemy's own ``insert`` executemany stores, and a database error
in the middle of it leaves nothing written."""

import shutil

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from dashboard.db.session import get_engine
from dashboard.ingest import bulk
from dashboard.ingest.service import import_file
from tests.conftest import _pg_drop
from tests.dbdump import dump

# Text COPY must escape: tabs, line breaks, backslashes, \N (its NULL), quotes, non-ASCII.
NOTES = ["a\ttab", "two\nlines", "back\\slash", "\\N", 'say "hi"', "é 😀 ü", "'=cmd|x", "   padded  ", "comma, yes"]


def diary_file(rows: int, *, first_day: int = 1, last_note: str | None = None) -> bytes:
    lines = ["patient_id,date,pain,sleep,dose_mg,nausea,dissociation,bp_systolic,bp_diastolic,notes"]
    for i in range(rows):
        note = NOTES[i % len(NOTES)] if i % 4 else ""
        if last_note is not None and i == rows - 1:
            note = last_note
        quoted = '"' + note.replace('"', '""') + '"' if note else ""
        bp = f"{110 + i % 50},{60 + i % 20}" if i % 3 == 0 else ","
        lines.append(f"P{i % 3},2026-0{1 + 2 * (i % 2)}-{first_day + i // 6 % 25:02d}T{i % 24:02d}:{i % 60:02d},{i % 11},"
                     f"{(i * 7) % 100 / 10},{['', '25', '37.5'][i % 3]},{['', 'mild', '3', '0'][i % 4]},"
                     f"{['', '1'][i % 2]},{bp},{quoted}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def twin_url(db_url, tmp_path, _templates):
    """A second fresh database on db_url's backend (a copy of db_url before anything is written)."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "twin.sqlite"
        shutil.copy(db_url.removeprefix("sqlite:///"), path)
        yield f"sqlite:///{path}"
        get_engine(f"sqlite:///{path}").dispose()
        return
    url, name = _templates.copy("postgresql", tmp_path, "dash_twin")  # migrated, as db_url is
    yield url
    _pg_drop(name, url)


def _sqlalchemy_insert(session, table, columns, meanwhile=None):
    """The reference: SQLAlchemy Core's insert, executemany of one dict per row."""
    names = list(columns)
    session.execute(insert(table), [dict(zip(names, row)) for row in zip(*columns.values())])
    if meanwhile is not None:
        meanwhile()


def _stored(url):
    """Every table a diary import writes, apart from when it happened."""
    tables = dump(url, skip=("audit_event", "import_record"))
    tables["patient"] = [row[:5] + row[6:] for row in tables["patient"]]  # created_at differs
    tables["patient_revision"] = [row[:2] for row in tables["patient_revision"]]  # changed_at differs
    return tables


def test_bulk_path_stores_what_sqlalchemy_insert_stores(db_url, twin_url, monkeypatch):
    raw = diary_file(600)  # 600 rows: the keys (patient, time) repeat after that
    for url in (db_url, twin_url):  # entries already stored, so the new ids continue after them
        assert import_file(diary_file(30, first_day=26), "before.csv", url=url).status == "imported"
    report = import_file(raw, "f.csv", url=db_url)
    monkeypatch.setattr(bulk, "bulk_insert", _sqlalchemy_insert)
    reference = import_file(raw, "f.csv", url=twin_url)
    assert report.status == reference.status == "imported"
    assert report.entries_added == 600 - report.entries_unchanged
    stored = _stored(db_url)
    assert len(stored["diary_entry"]) == 630 and len(stored["side_effect"]) > 600
    assert sorted(row[-1] for row in stored["diary_entry"] if row[-1]) != []
    assert stored == _stored(twin_url)


def test_bulk_path_is_used_on_postgresql_with_psycopg(db_url):
    from sqlalchemy import create_engine

    with create_engine(db_url).connect() as conn:
        assert bulk.copy_supported(conn) == db_url.startswith("postgresql+psycopg")


def test_a_failure_in_the_middle_of_the_bulk_insert_leaves_nothing_written(db_url):
    """The database refuses the last row (a constraint added here), after the others were sent:
    the import's transaction is rolled back whole, and the error is SQLAlchemy's (so a concurrent
    import's duplicate is retried as before)."""
    assert import_file(diary_file(30, first_day=26), "before.csv", url=db_url).status == "imported"
    with get_engine(db_url).begin() as conn:
        if db_url.startswith("sqlite"):
            conn.execute(text("CREATE TRIGGER refuse_boom BEFORE INSERT ON diary_entry WHEN NEW.notes = 'boom' "
                              "BEGIN SELECT RAISE(ABORT, 'boom refused'); END"))
        else:
            conn.execute(text("ALTER TABLE diary_entry ADD CONSTRAINT refuse_boom CHECK (notes IS DISTINCT FROM 'boom')"))
    before = dump(db_url)
    with pytest.raises(IntegrityError, match="boom"):
        import_file(diary_file(590, last_note="boom"), "f.csv", url=db_url, retries=1)
    assert dump(db_url) == before

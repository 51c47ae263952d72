"""The schema comes from alembic on both backends, and matches the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from dashboard.db.models import Base
from dashboard.db.session import get_engine, migrate


def test_migrations_create_every_table_and_match_the_models(db_url):
    engine = get_engine(db_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migrate_twice_changes_nothing(db_url):
    migrate(db_url)
    migrate(db_url)
    assert "diary_entry" in inspect(get_engine(db_url)).get_table_names()


def test_the_diary_day_index_carries_pain_and_time_on_postgresql(db_url):
    """Migration 0010: the worklist's 30-day figures can be an index-only scan on PostgreSQL, whose
    diary is vacuumed often enough for the newest entries' pages to be all-visible; SQLite keeps
    its two-column index (it has no INCLUDE)."""
    engine = get_engine(db_url)
    index = {i["name"]: i for i in inspect(engine).get_indexes("diary_entry")}["ix_diary_entry_patient_date"]
    assert index["column_names"] == ["patient_id", "diary_date"]
    if engine.dialect.name == "postgresql":
        assert index["dialect_options"]["postgresql_include"] == ["pain", "recorded_at"]
        with engine.connect() as conn:
            options = conn.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'diary_entry'")).scalar()
        assert sorted(options) == ["autovacuum_vacuum_insert_scale_factor=0",
                                   "autovacuum_vacuum_insert_threshold=10000"]
    else:
        assert engine.dialect.name == "sqlite" and not index.get("dialect_options")

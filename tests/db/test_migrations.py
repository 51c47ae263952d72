"""The schema comes from alembic on both backends, and matches the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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

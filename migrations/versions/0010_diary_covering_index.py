"""The diary's (patient, day) index carries the pain and the time on PostgreSQL: the worklist's
30-day figures come from the index alone

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

Issue 12: the worklist's diary figures (``worklist_queries.diary_figures``) read the last 30 days
of every listed patient, ~340,000 entries at 5,010 patients, from the table's pages. With pain
and recorded_at (the review's date limits compare it) in the index, PostgreSQL answers them, and
each patient's last diary day, by an index-only scan: no table page is read where the visibility
map says the page is all-visible. The index replaces the two-column one (same name, same key, so
every other read keeps using it) rather than joining it, so an import maintains one index, not two.

Index-only scans need the visibility map: autovacuum sets it, but by default only after inserts of
20% of the table, which a large clinic's diary reaches in months, while the worklist reads the
newest entries; so diary_entry is vacuumed after every 10,000 inserted rows instead (an insert-only
vacuum reads only the pages not yet all-visible).

SQLite has no INCLUDE: its index stays as it was (its query plans read the table as before).
"""

from alembic import op


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INSERT_VACUUM = "autovacuum_vacuum_insert_threshold = 10000, autovacuum_vacuum_insert_scale_factor = 0"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_diary_entry_patient_date", table_name="diary_entry")
    op.create_index("ix_diary_entry_patient_date", "diary_entry", ["patient_id", "diary_date"], unique=False,
                    postgresql_include=["pain", "recorded_at"])
    op.execute(f"ALTER TABLE diary_entry SET ({INSERT_VACUUM})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE diary_entry RESET (autovacuum_vacuum_insert_threshold, autovacuum_vacuum_insert_scale_factor)")
    op.drop_index("ix_diary_entry_patient_date", table_name="diary_entry")
    op.create_index("ix_diary_entry_patient_date", "diary_entry", ["patient_id", "diary_date"], unique=False)

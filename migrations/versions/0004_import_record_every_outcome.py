"""import_record keeps every file: one record per attempt, whatever its outcome

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

import-formats.md version 2, "Every file is kept": a refused, already-imported or
nothing-to-import attempt keeps its own record (bytes, SHA-256, who, when, counts), so the
same file may now have several records and the unique (sha256, format, scope) constraint
goes; a plain index keeps the "already imported?" look-up fast. Concurrent imports of one file
are still kept apart by the data tables' own unique constraints (the loser retries and finds
the file imported). ``message`` keeps why a file was refused as a whole; ``records_unchanged``
completes the counts.
"""

from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_record", schema=None) as batch_op:
        batch_op.drop_constraint("uq_import_record_sha256_format_scope", type_="unique")
        batch_op.add_column(sa.Column("message", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("records_unchanged", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_import_record_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_record_sha256"))
        batch_op.drop_column("records_unchanged")
        batch_op.drop_column("message")
        batch_op.create_unique_constraint("uq_import_record_sha256_format_scope", ["sha256", "format", "scope"])

"""titration_step and visit: who recorded or changed them on the review page, and when

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

Issue 10: steps and visits are recorded and changed in the app, not only imported. An
imported row keeps its meaning: both columns stay empty ("as imported"). The review's cache
key (``queries.data_version``) reads ``changed_at``, so a change in place shows at once.
Nullable columns added in place (ALTER TABLE ADD COLUMN), so no table is rebuilt.
"""

from alembic import op
import sqlalchemy as sa


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("titration_step", "visit")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("changed_by", sa.String(length=100), nullable=True))
        op.add_column(table, sa.Column("changed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("changed_at")
            batch_op.drop_column("changed_by")

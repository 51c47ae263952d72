"""visit.status: a visit that happened ('held') or one that is booked

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

Issue 10: the worklist lists booked visits, and a booked visit whose day has passed without a
record that it happened is overdue. Every stored visit was recorded by the clinic as held
(the clinic-records import describes visits), so existing rows become 'held'.
It follows 0006 (measures).
"""

from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=10), server_default="held", nullable=False))
        batch_op.create_check_constraint(op.f("ck_visit_status_known"), "status IN ('held', 'booked')")


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_visit_status_known"), type_="check")
        batch_op.drop_column("status")

"""visit.status: a visit that happened ('held') or one that is booked

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Issue 10: the worklist lists booked visits, and a booked visit whose day has passed without a
record that it happened is overdue. Every stored visit was recorded by the clinic as held
(the clinic-records import describes visits), so existing rows become 'held'.
The lead asked for down_revision '0001'; this branch chains it after the current head (0003)
so that ``alembic upgrade head`` has one head; re-chain at merge if another 0004 lands first.
"""

from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
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

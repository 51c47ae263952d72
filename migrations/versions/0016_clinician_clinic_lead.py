"""clinician.clinic_lead: the clinic's lead clinician changes the clinic-wide thresholds

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Issue 23, item 3: any clinician could change the clinic-wide safety thresholds. Now the
administrators do, and a clinician an administrator marks as the clinic's lead
(``user lead NAME``, the Accounts page; audited). Existing accounts are not leads.
"""

from alembic import op
import sqlalchemy as sa


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinician", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clinic_lead", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("clinician", schema=None) as batch_op:
        batch_op.drop_column("clinic_lead")

"""clinician.credential_version: a password reset ends the sessions logged in with the old password

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Issue 24, item 2: a clinician logged in on a review page kept it after ``user reset-password``,
while disabling the account or withdrawing a share ended access at the next run. Every reset now
raises this number; each run of an open session compares it with the one it logged in with
(``dashboard.session_state``). Existing accounts start at 0, as their sessions do.
"""

from alembic import op
import sqlalchemy as sa


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinician", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credential_version", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("clinician", schema=None) as batch_op:
        batch_op.drop_column("credential_version")

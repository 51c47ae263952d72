"""measure.reference_low / reference_high: a laboratory result's reference range

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

Issue 19 (review-metrics.md v3, "Liver and bladder tests"): liver tests and urinalysis are kept
as measures with their reference range, from a FHIR Observation's ``referenceRange`` (low and
high), so the liver_tests_high flag and the safety card read a result against the laboratory's
own upper limit. Existing rows had none: both NULL.
"""

from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference_low", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("reference_high", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.drop_column("reference_high")
        batch_op.drop_column("reference_low")

"""review_snapshot: each patient's worklist figures from the review, stored per as-of day

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

Issue 10/12: the worklist's rule-engine figures (current step, responder since the last visit,
new safety and open flags) came from building every listed patient's review on each run. They
are now stored per patient and as-of date with the version they were computed from (a hash of
the patient's data version, the thresholds and the rules' code); a derived cache, rebuilt by
``python -m dashboard precompute`` or by the worklist for the patients whose snapshot is stale.
"""

from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_snapshot",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_review_snapshot_patient_id_patient"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("patient_id", "as_of", name=op.f("pk_review_snapshot")),
    )
    with op.batch_alter_table("review_snapshot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_snapshot_as_of"), ["as_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_snapshot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_snapshot_as_of"))
    op.drop_table("review_snapshot")

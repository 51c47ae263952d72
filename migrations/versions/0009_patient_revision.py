"""patient_revision and a partial index of the diary's blood-pressure days: the worklist at clinic scale

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

Issue 12: the worklist's data versions counted every diary row of every patient, and its last
blood-pressure day scanned each whole diary, so it slowed with years of diary. A patient's data
version is now one revision number raised by every writer in its own transaction
(``dashboard.db.revisions``); the last reading is one step down a partial index. A patient
without a row is at revision 0: the first change after the upgrade makes the row.
"""

from alembic import op
import sqlalchemy as sa


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BP_RECORDED = "bp_systolic IS NOT NULL OR bp_diastolic IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "patient_revision",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_patient_revision_patient_id_patient"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_revision")),
    )
    op.create_index("ix_diary_entry_patient_bp_date", "diary_entry", ["patient_id", "diary_date"], unique=False,
                    sqlite_where=sa.text(BP_RECORDED), postgresql_where=sa.text(BP_RECORDED))


def downgrade() -> None:
    op.drop_index("ix_diary_entry_patient_bp_date", table_name="diary_entry")
    op.drop_table("patient_revision")

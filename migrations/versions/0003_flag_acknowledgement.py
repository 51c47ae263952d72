"""flag_acknowledgement: a clinician's note on a review flag

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

review-metrics.md, "Flags": an acknowledged flag stays visible, marked with who acknowledged
it and when, and no longer counts as open. A flag is (patient, rule, true start of its run),
hence the unique constraint; a later run of the same rule starts on another day and is a new
flag. A new table only, so no existing table (audit_event and its triggers included) is rebuilt.
"""

from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flag_acknowledgement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("flag_start", sa.Date(), nullable=False),
        sa.Column("flag_end", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("flag_start <= flag_end", name=op.f("ck_flag_acknowledgement_dates_in_order")),
        sa.CheckConstraint("length(note) BETWEEN 1 AND 2000", name=op.f("ck_flag_acknowledgement_note_length")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_flag_acknowledgement_patient_id_patient")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_acknowledgement")),
        sa.UniqueConstraint(
            "patient_id", "rule", "flag_start", name=op.f("uq_flag_acknowledgement_patient_id_rule_flag_start")
        ),
    )
    with op.batch_alter_table("flag_acknowledgement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flag_acknowledgement_patient_id"), ["patient_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("flag_acknowledgement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flag_acknowledgement_patient_id"))
    op.drop_table("flag_acknowledgement")

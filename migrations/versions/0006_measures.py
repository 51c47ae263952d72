"""measure: validated instruments and other coded observations; co-medication of unknown start

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

import-formats.md v2, section 3: PHQ-9, GAD-7, PROMIS pain, MME/day and urine drug screens are
kept as measures (as answered, never mapped onto the 0-10 pain scale), any other coded
observation with a value as an "other measure"; a MedicationStatement without a date (legal
FHIR) is a co-medication of unknown start, so co_medication.start_date may be NULL.
It follows 0005 (the import record of every outcome, then the record changes).
"""

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "measure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("instrument", sa.String(length=40), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("utc_offset_minutes", sa.SmallInteger(), nullable=True),
        sa.Column("has_time", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("answer_code", sa.String(length=100), nullable=True),
        sa.Column("answer_text", sa.String(length=500), nullable=True),
        sa.Column("answer_position", sa.SmallInteger(), nullable=True),
        sa.Column("unit", sa.String(length=60), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["import_record.id"], name=op.f("fk_measure_import_id_import_record")),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_measure_patient_id_patient")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure")),
        sa.UniqueConstraint("patient_id", "system", "code", "recorded_at",
                            name=op.f("uq_measure_patient_id_system_code_recorded_at")),
    )
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.create_index("ix_measure_patient_instrument", ["patient_id", "instrument"], unique=False)
        batch_op.create_index(batch_op.f("ix_measure_import_id"), ["import_id"], unique=False)
    with op.batch_alter_table("co_medication", schema=None) as batch_op:
        batch_op.alter_column("start_date", existing_type=sa.Date(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("co_medication", schema=None) as batch_op:
        batch_op.alter_column("start_date", existing_type=sa.Date(), nullable=False)
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measure_import_id"))
        batch_op.drop_index("ix_measure_patient_instrument")
    op.drop_table("measure")

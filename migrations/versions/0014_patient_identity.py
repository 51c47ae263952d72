"""patient.birth_date and patient_identifier: the file's patient checked against the stored one

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08

Issue 23 item 1, import-formats.md v3 ("The file's patient"): an import shows the file's patient
(name, birth date, identifiers) beside the stored patient it goes to, and refuses a disagreement
unless someone confirms, with a reason, that they are the same person. The store keeps what the
check compares: the full birth date (``birth_year`` stays for a file that gives a year alone) and
the identifiers files gave (system and value, with the import that brought them). Existing
patients have neither: absent is never a disagreement, and the first file that brings them fills them.
"""

from alembic import op
import sqlalchemy as sa


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
    op.create_table(
        "patient_identifier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=300), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_patient_identifier_patient_id_patient")),
        sa.ForeignKeyConstraint(["import_id"], ["import_record.id"],
                                name=op.f("fk_patient_identifier_import_id_import_record")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_identifier")),
        sa.UniqueConstraint("patient_id", "system", "value", name=op.f("uq_patient_identifier_patient_id_system_value")),
    )
    op.create_index(op.f("ix_patient_identifier_patient_id"), "patient_identifier", ["patient_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_patient_identifier_patient_id"), table_name="patient_identifier")
    op.drop_table("patient_identifier")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_column("birth_date")

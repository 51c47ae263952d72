"""share_link and the clinic's inbox: patients send their diary files themselves

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

Issue 22: a share link lets whoever holds it upload files for one patient (only the token's
SHA-256 is kept). Each uploaded file is kept as an import record in state ``received`` for the
link's patient, written into nothing until a clinician or staff member accepts it (the import it
became is ``result_import_id``) or rejects it (``decision`` says why).
"""

from alembic import op
import sqlalchemy as sa


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "share_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_share_link_patient_id_patient")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_link")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_share_link_token_sha256")),
    )
    op.create_index(op.f("ix_share_link_patient_id"), "share_link", ["patient_id"], unique=False)
    with op.batch_alter_table("import_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("share_link_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("decision", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("result_import_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_import_record_share_link_id"), ["share_link_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_import_record_share_link_id_share_link"),
                                    "share_link", ["share_link_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_import_record_result_import_id_import_record"),
                                    "import_record", ["result_import_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("import_record", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_import_record_result_import_id_import_record"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_import_record_share_link_id_share_link"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_import_record_share_link_id"))
        batch_op.drop_column("result_import_id")
        batch_op.drop_column("decision")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("share_link_id")
    op.drop_index(op.f("ix_share_link_patient_id"), table_name="share_link")
    op.drop_table("share_link")

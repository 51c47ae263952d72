"""co_medication.start_precision / end_precision: a FHIR partial date at its precision

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08

import-formats.md v3 ("FHIR, version 3"): a medication's start (or end) written as a year or a
month alone (``2015``, ``2015-03``, as the HL7 IPS examples write a MedicationStatement's
``effectivePeriod.start``) is accepted at its precision: ``start_date`` keeps its first day and
``start_precision`` says 'year' or 'month', so it is shown as "Mar 2015", never as a made-up day.
Existing rows were all days: both NULL.
"""

from alembic import op
import sqlalchemy as sa


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("co_medication", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start_precision", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("end_precision", sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("co_medication", schema=None) as batch_op:
        batch_op.drop_column("end_precision")
        batch_op.drop_column("start_precision")

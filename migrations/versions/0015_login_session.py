"""login_session: a local account's login that survives a page reload

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

Issue 25, item 2: a reload was a new Streamlit session, so a local account logged in again after
every reload. A login now keeps a row here; the browser holds its random id in a signed,
HTTP-only cookie and only the id's SHA-256 is stored (``dashboard.auth.login_sessions``).
"""

from alembic import op
import sqlalchemy as sa


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("handoff_hash", sa.String(length=64), nullable=True),
        sa.Column("handoff_until", sa.DateTime(), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("credential_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ended_reason", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["clinician_id"], ["clinician.id"], name=op.f("fk_login_session_clinician_id_clinician")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_session_token_hash")),
        sa.UniqueConstraint("handoff_hash", name=op.f("uq_login_session_handoff_hash")),
    )
    op.create_index(op.f("ix_login_session_clinician_id"), "login_session", ["clinician_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_login_session_clinician_id"), table_name="login_session")
    op.drop_table("login_session")

"""audit_event is append-only in the database itself

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

HIPAA Security Rule 45 CFR 164.312(b) and (c)(1): the application only ever inserts into
``audit_event``; these triggers make the database refuse an UPDATE or DELETE (and, on
PostgreSQL, a TRUNCATE) from anyone, the application included.

- PostgreSQL: one PL/pgSQL function raises; a row trigger calls it before UPDATE or
  DELETE, a statement trigger before TRUNCATE.
- SQLite: BEFORE UPDATE and BEFORE DELETE triggers that RAISE(ABORT). (SQLite has no
  TRUNCATE; its DROP TABLE fires no trigger, so a batch migration that rebuilds
  ``audit_event`` must create these triggers again: tests/db/test_audit.py checks they exist.)

The database owner can still disable or drop a trigger; the hash chain
(``python -m dashboard audit verify``) is what detects a row edited or deleted that way.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

REFUSAL = "audit_event is append-only"
PG_TRIGGERS = ("audit_event_no_update_delete", "audit_event_no_truncate")
SQLITE_TRIGGERS = ("audit_event_no_update", "audit_event_no_delete")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{REFUSAL}: % refused', TG_OP;
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
        )
    elif dialect == "sqlite":
        for trigger, operation in zip(SQLITE_TRIGGERS, ("UPDATE", "DELETE")):
            op.execute(
                f"CREATE TRIGGER {trigger} BEFORE {operation} ON audit_event "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}: {operation} refused'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for trigger in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    elif dialect == "sqlite":
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")

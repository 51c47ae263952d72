-- The role the dashboard runs as on PostgreSQL: it reads and writes the clinic's tables but
-- may only SELECT and INSERT on audit_event, and owns nothing, so it can neither edit nor
-- delete audit rows nor switch the append-only triggers off (only a table's owner can).
--
-- Run as the database owner (the role that runs `python -m dashboard migrate`), in the
-- dashboard's database, after migrating, and again after any migration that adds tables:
--     psql "postgresql://OWNER@HOST/DB" -f docs/postgresql-app-role.sql
-- then give the role a password and point the dashboard at it:
--     ALTER ROLE dashboard_app PASSWORD '...';
--     DASHBOARD_DATABASE_URL=postgresql+psycopg://dashboard_app:...@HOST/DB
-- Future migrations are run by the owner, not by this role.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dashboard_app') THEN
        CREATE ROLE dashboard_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO dashboard_app;
REVOKE CREATE ON SCHEMA public FROM dashboard_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO dashboard_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO dashboard_app;

-- The audit trail: append and read, nothing else (the application gives audit ids itself).
REVOKE ALL ON audit_event FROM dashboard_app;
GRANT SELECT, INSERT ON audit_event TO dashboard_app;

-- The schema version: the application checks it on start, only the owner changes it.
REVOKE ALL ON alembic_version FROM dashboard_app;
GRANT SELECT ON alembic_version TO dashboard_app;

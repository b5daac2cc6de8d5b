"""rights on rows: the reader role, the caller's groups and the row-level security policies

The service reads for a request as ``oidb_reader`` (``SET LOCAL ROLE``), which is not the
tables' owner, so these policies apply to it: a private collection, its files and granules are
visible only to the groups holding a right on it and to admins. The caller is stated in the
transaction-local settings ``jmmc.caller_groups`` (the one TAP's reader is keyed on),
``jmmc.caller_user`` (the owner reads their collection) and ``jmmc.caller_admin``.

Revision ID: bfdcaf7dddcd
Revises: e0c82525d89a
Create Date: 2026-12-03 16:10:00
"""

from alembic import op

revision = "bfdcaf7dddcd"
down_revision = "e0c82525d89a"
branch_labels = None
depends_on = None

READER = "oidb_reader"
POLICY = "oidb_reader_rows"

#: The tables with a rule, and the rule: a collection is visible when public or when the
#: caller reads it; everything else follows its collection.
RULES = {
    "collections": "NOT private OR oidb.caller_reads(id)",
    "collection_groups": "collection_id IN (SELECT id FROM oidb.collections)",
    "oifits_files": "collection_id IN (SELECT id FROM oidb.collections)",
    "granules": "obs_collection IN (SELECT id FROM oidb.collections)",
}


def upgrade() -> None:
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER}')"
        f" THEN CREATE ROLE {READER} NOLOGIN; END IF;"
        f" IF NOT pg_has_role(current_user, '{READER}', 'MEMBER')"
        f" THEN GRANT {READER} TO current_user; END IF; END $$"
    )
    op.execute(f"GRANT USAGE ON SCHEMA oidb TO {READER}")
    op.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA oidb TO {READER}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA oidb GRANT SELECT ON TABLES TO {READER}")
    # Plain SQL, STABLE: inlined by the planner, evaluated once per statement.
    op.execute(
        "CREATE FUNCTION oidb.caller_groups() RETURNS integer[] LANGUAGE sql STABLE"
        " PARALLEL SAFE AS $$ SELECT coalesce(nullif("
        "pg_catalog.current_setting('jmmc.caller_groups', true), ''), '{}')::integer[] $$"
    )
    op.execute(
        "CREATE FUNCTION oidb.caller_is_admin() RETURNS boolean LANGUAGE sql STABLE"
        " PARALLEL SAFE AS $$ SELECT coalesce(nullif("
        "pg_catalog.current_setting('jmmc.caller_admin', true), ''), 'false')::boolean $$"
    )
    op.execute(
        "CREATE FUNCTION oidb.caller_user_id() RETURNS integer LANGUAGE sql STABLE"
        " PARALLEL SAFE AS $$ SELECT nullif("
        "pg_catalog.current_setting('jmmc.caller_user', true), '')::integer $$"
    )
    # SECURITY DEFINER: reads the collection's groups whatever the caller's rights on them,
    # so the collections' policy does not depend on
    # another table's policy (nor on itself).
    op.execute(
        "CREATE FUNCTION oidb.caller_reads(collection text) RETURNS boolean LANGUAGE sql"
        " STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$"
        " SELECT oidb.caller_is_admin()"
        " OR EXISTS (SELECT FROM oidb.collections c"
        "  WHERE c.id = collection AND c.owner_id = oidb.caller_user_id())"
        " OR EXISTS (SELECT FROM oidb.collection_groups g"
        "  WHERE g.collection_id = collection AND g.group_id = ANY (oidb.caller_groups())) $$"
    )
    for table, rule in RULES.items():
        op.execute(f"ALTER TABLE oidb.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON oidb.{table} FOR SELECT TO {READER} USING ({rule})")


def downgrade() -> None:
    for table in RULES:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON oidb.{table}")
        op.execute(f"ALTER TABLE oidb.{table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION IF EXISTS oidb.caller_reads(text)")
    op.execute("DROP FUNCTION IF EXISTS oidb.caller_user_id()")
    op.execute("DROP FUNCTION IF EXISTS oidb.caller_is_admin()")
    op.execute("DROP FUNCTION IF EXISTS oidb.caller_groups()")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA oidb REVOKE SELECT ON TABLES FROM {READER}")
    op.execute(f"REVOKE SELECT ON ALL TABLES IN SCHEMA oidb FROM {READER}")
    op.execute(f"REVOKE USAGE ON SCHEMA oidb FROM {READER}")

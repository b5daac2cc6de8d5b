"""releases are immutable: no UPDATE, DELETE or TRUNCATE of a release or its entries, entries
only in the transaction that creates their release, and as many entries as the release counts

The refusals carry SQLSTATE ``JM001``, which the service answers as a conflict.

Revision ID: b0e33114f935
Revises: 52399d97b971
Create Date: 2026-12-03 16:20:00
"""

from alembic import op

revision = "b0e33114f935"
down_revision = "52399d97b971"
branch_labels = None
depends_on = None

TABLES = ("releases", "release_entries")
FUNCTIONS = ("refuse_release_change", "release_entries_only_new", "release_count_matches")


def upgrade() -> None:
    op.execute(
        "CREATE FUNCTION jmdc.refuse_release_change() RETURNS trigger LANGUAGE plpgsql"
        " SET search_path = pg_catalog, pg_temp AS $$ BEGIN"
        " RAISE EXCEPTION 'a release can never be changed once made (% on %)',"
        " TG_OP, TG_TABLE_NAME USING ERRCODE = 'JM001'; END $$"
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON jmdc.{table}"
            " FOR EACH ROW EXECUTE FUNCTION jmdc.refuse_release_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_not_truncated BEFORE TRUNCATE ON jmdc.{table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION jmdc.refuse_release_change()"
        )
    # A release row's xmin is the transaction that inserted it: entries may join a release
    # only in that transaction (the one that freezes the catalogue), never a past release.
    op.execute(
        "CREATE FUNCTION jmdc.release_entries_only_new() RETURNS trigger LANGUAGE plpgsql"
        " SET search_path = pg_catalog, pg_temp AS $$ BEGIN"
        " IF EXISTS (SELECT FROM added a JOIN jmdc.releases r ON r.number = a.release_number"
        " WHERE r.xmin::text::bigint <> txid_current() % 4294967296) THEN"
        " RAISE EXCEPTION 'a release can never be changed once made (entries added to a past"
        " release)' USING ERRCODE = 'JM001'; END IF; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER release_entries_only_new AFTER INSERT ON jmdc.release_entries"
        " REFERENCING NEW TABLE AS added FOR EACH STATEMENT"
        " EXECUTE FUNCTION jmdc.release_entries_only_new()"
    )
    # Checked at commit, once the entries are in: the announced count is the frozen one.
    op.execute(
        "CREATE FUNCTION jmdc.release_count_matches() RETURNS trigger LANGUAGE plpgsql"
        " SET search_path = pg_catalog, pg_temp AS $$ DECLARE entries integer; BEGIN"
        " SELECT count(*) INTO entries FROM jmdc.release_entries"
        " WHERE release_number = NEW.number;"
        " IF entries <> NEW.measurement_count THEN"
        " RAISE EXCEPTION 'release % counts % measurements but holds %', NEW.number,"
        " NEW.measurement_count, entries USING ERRCODE = 'check_violation'; END IF;"
        " RETURN NULL; END $$"
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER releases_count_matches AFTER INSERT ON jmdc.releases"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
        " EXECUTE FUNCTION jmdc.release_count_matches()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER releases_count_matches ON jmdc.releases")
    op.execute("DROP TRIGGER release_entries_only_new ON jmdc.release_entries")
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_not_truncated ON jmdc.{table}")
        op.execute(f"DROP TRIGGER {table}_immutable ON jmdc.{table}")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION jmdc.{function}()")

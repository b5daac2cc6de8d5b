"""The TAP publishing contract, against a real PostgreSQL migrated by the services' own CLI.

A declaration and the database must agree (tables, columns, types, every TAP_SCHEMA row);
``migrate`` publishes idempotently; the read-only TAP role reads exactly the published tables.
"""

import dataclasses
import threading
import time
from importlib import import_module
from importlib.util import find_spec

import psycopg
import pytest
from astropy import units
from astropy.io.votable.ucd import parse_ucd
from sqlalchemy import Boolean, Column, Integer, MetaData, Table, create_engine, make_url, text
from sqlalchemy.exc import ProgrammingError

from jmmc_core.database import TAP_READER_ROLE
from jmmc_core.tap_publishing import (
    CALLER_GROUPS_SETTING,
    PUBLISH_LOCK_KEY,
    ROW_POLICY,
    TAP_SCHEMA,
    TAP_SCHEMA_TABLES,
    PublishedSchema,
    TableDeclaration,
    caller_groups_include,
    current_rows,
    disagreements,
    publish,
    published_tables,
    tap_schema_rows,
    vo,
)
from jmmc_devtools.registry import service_names
from obsportal.schema.published import TABLES

from .test_migrations import cli

SERVICES = service_names()
#: What every service of the registry publishes (its ``<service>.schema.published``).
EVERY_SERVICE_TABLES = [
    table
    for service in SERVICES
    if find_spec(f"{service}.schema.published")
    for table in import_module(f"{service}.schema.published").TABLES
]

PUBLISHED_SCHEMAS = ["obsportal", TAP_SCHEMA]


@pytest.fixture(scope="module")
def migrated(new_database) -> str:
    url = new_database("tap_publishing")
    for service in SERVICES:
        result = cli(service, url, "migrate")
        assert result.returncode == 0, result.stderr
    return url


@pytest.fixture
def engine(migrated):
    engine = create_engine(migrated)
    yield engine
    engine.dispose()


def raw_connection(url: str) -> psycopg.Connection:
    parts = make_url(url)
    return psycopg.connect(
        host=parts.host, port=parts.port, user=parts.username, dbname=parts.database,
        autocommit=True,
    )  # fmt: skip


def test_database_and_tap_schema_agree_with_the_declarations(engine):
    with engine.connect() as connection:
        assert disagreements(connection, TABLES) == []
        exposures = connection.execute(
            text(
                "SELECT column_name, datatype, arraysize, xtype, unit FROM tap_schema.columns"
                " WHERE table_name = 'obsportal.exposures' AND column_name = '\"position\"'"
            )
        ).one()
        keys = connection.execute(
            text("SELECT from_table, target_table FROM tap_schema.keys ORDER BY key_id")
        ).all()
    # POSITION is an ADQL reserved word: queries delimit the column, TAP_SCHEMA names it so.
    assert tuple(exposures) == ('"position"', "double", "2", "point", "deg")
    assert ("obsportal.exposures", "obsportal.observations") in keys
    assert ("TAP_SCHEMA.columns", "TAP_SCHEMA.tables") in keys


@pytest.mark.parametrize(
    "table", [*EVERY_SERVICE_TABLES, *TAP_SCHEMA_TABLES], ids=lambda t: t.qualified_name
)
def test_ucds_and_units_are_the_ivoa_vocabularies(table):
    """What TOPCAT and taplint check: UCD1+ words in their places, units in VOUnit syntax."""
    for column in table.columns:
        assert column.description, f"{column.name}: no description"
        if column.ucd:
            parse_ucd(column.ucd, check_controlled_vocabulary=True, has_colon=False)
        if column.unit:
            units.Unit(column.unit, format="vounit")


def test_a_declaration_the_database_does_not_match_is_reported(engine):
    exposures = next(table for table in TABLES if table.name == "exposures")
    renamed = dataclasses.replace(exposures.columns[0], name="no_such_column")
    retyped = dataclasses.replace(exposures.columns[1], datatype="double")
    wrong = dataclasses.replace(exposures, columns=(renamed, retyped, *exposures.columns[2:]))
    missing = dataclasses.replace(exposures, name="no_such_table")
    with engine.connect() as connection:
        problems = disagreements(connection, [wrong, missing])
        connection.execute(
            text(
                "UPDATE tap_schema.columns SET unit = 'km' WHERE table_name ="
                " 'obsportal.exposures' AND column_name = 'mjd_start'"
            )
        )
        tampered = disagreements(connection, TABLES)
        connection.rollback()
    assert "obsportal.exposures.no_such_column: no such column" in problems
    assert any(p.startswith("obsportal.exposures.header_id: text cannot be") for p in problems)
    assert "obsportal.no_such_table: no such table" in problems
    assert any("missing row ('obsportal.exposures', 'mjd_start'" in p for p in tampered)
    assert any("unexpected row ('obsportal.exposures', 'mjd_start'" in p for p in tampered)


def test_migrating_again_rewrites_the_same_rows(engine, migrated):
    with engine.connect() as connection:
        before = current_rows(connection, PUBLISHED_SCHEMAS)
    result = cli("obsportal", migrated, "migrate")
    assert result.returncode == 0, result.stderr
    assert (
        "obsportal: published to TAP: obsportal.programs, obsportal.targets,"
        " obsportal.observations, obsportal.exposures"
    ) in result.stdout
    with engine.connect() as connection:
        after = current_rows(connection, PUBLISHED_SCHEMAS)
    assert after == before == tap_schema_rows([*TAP_SCHEMA_TABLES, *TABLES])


def test_tap_reader_reads_exactly_the_published_tables(migrated):
    with raw_connection(migrated) as connection:
        tables = [
            f"{schema}.{name}"
            for schema, name in connection.execute(
                "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%(s)s)"
                " UNION SELECT schemaname, viewname FROM pg_views WHERE schemaname = ANY(%(s)s)",
                {"s": [*SERVICES, "tap_schema", *{t.schema.name for t in EVERY_SERVICE_TABLES}]},
            )
        ]
        connection.execute(f"SET ROLE {TAP_READER_ROLE}")
        readable = set()
        for table in tables:
            try:
                connection.execute(f"SELECT * FROM {table} LIMIT 1")
                readable.add(table)
            except psycopg.errors.InsufficientPrivilege:
                pass
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("DELETE FROM tap_schema.columns")
    published = {
        table.database_name.replace('"', "")
        for table in [*EVERY_SERVICE_TABLES, *TAP_SCHEMA_TABLES]
    }
    assert "obsportal.ingestion_runs" in tables and "tap.alembic_version" in tables
    assert readable == published, sorted(readable ^ published)


def test_publishing_waits_for_a_concurrent_publication(engine, migrated):
    """Services migrate at the same time: each publication waits for the one under way."""
    finished = threading.Event()

    def publish_obsportal() -> None:
        with engine.begin() as connection:
            publish(connection, TABLES, schemas=["obsportal"])
        finished.set()

    with raw_connection(migrated) as holder:
        holder.execute("BEGIN")
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [PUBLISH_LOCK_KEY])
        worker = threading.Thread(target=publish_obsportal)
        worker.start()
        with raw_connection(migrated) as observer:
            while not observer.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()[0]:
                assert worker.is_alive() and not finished.is_set()
                time.sleep(0.01)
        assert not finished.is_set()
        holder.execute("COMMIT")
        worker.join()
    assert finished.is_set()
    with engine.connect() as connection:
        assert disagreements(connection, TABLES) == []


# --- Row rules: which rows the TAP reader sees --------------------------------------------

_rows_metadata = MetaData(schema="rowrules")
RULED = Table(
    "items",
    _rows_metadata,
    Column("item_id", Integer, primary_key=True),
    Column("public", Boolean, nullable=False),
    Column("group_id", Integer),
)
RULE = f"public OR {caller_groups_include('group_id')}"
ROWS_SCHEMA = PublishedSchema("rowrules", "Rows with owners")
#: Item 1 is public, 2 belongs to group 7, 3 to group 8.
ITEMS = [(1, True, None), (2, False, 7), (3, False, 8)]


def ruled_tables(rule: str | None) -> tuple:
    columns = {"item_id": vo("Item"), "public": vo("Public"), "group_id": vo("Owner")}
    return published_tables(ROWS_SCHEMA, [TableDeclaration(RULED, columns, rows_visible=rule)])


@pytest.fixture
def rows_schema(engine):
    """``rowrules.items`` holding ITEMS, owned by the test's role; unpublished afterwards."""
    with engine.begin() as connection:
        connection.execute(text("CREATE SCHEMA rowrules"))
        _rows_metadata.create_all(connection)
        connection.execute(
            RULED.insert(), [dict(zip(RULED.columns.keys(), item, strict=True)) for item in ITEMS]
        )
    yield
    with engine.begin() as connection:
        publish(connection, [], schemas=["rowrules"])
        connection.execute(text("DROP SCHEMA rowrules CASCADE"))


def publish_rows(engine, rule: str | None) -> None:
    with engine.begin() as connection:
        publish(connection, ruled_tables(rule))


def row_security(engine) -> tuple:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT c.relrowsecurity, c.relforcerowsecurity,"
                " (SELECT array_agg((o.oid, p.policyname, p.cmd, p.roles)::text)"
                "  FROM pg_policy o JOIN pg_policies p ON p.policyname = o.polname"
                "  AND p.schemaname = 'rowrules' AND p.tablename = 'items'"
                "  WHERE o.polrelid = c.oid)"
                " FROM pg_class c WHERE c.oid = 'rowrules.items'::regclass"
            )
        ).one()


def visible_items(url: str, groups: str | None = None) -> list[int]:
    """The item ids the TAP reader sees, with the caller's groups set as the TAP server does."""
    with raw_connection(url) as connection:
        connection.execute(f"SET ROLE {TAP_READER_ROLE}")
        with connection.transaction():
            if groups is not None:
                connection.execute(
                    "SELECT set_config(%s, %s, true)", [CALLER_GROUPS_SETTING, groups]
                )
            return [row[0] for row in connection.execute("SELECT item_id FROM rowrules.items")]


def test_a_row_rule_gets_row_level_security_and_one_policy_for_the_reader(engine, rows_schema):
    publish_rows(engine, RULE)
    enabled, forced, policies = row_security(engine)
    assert enabled and not forced  # the owning service still reads every row
    assert len(policies) == 1 and f",{ROW_POLICY},SELECT,{{{TAP_READER_ROLE}}})" in policies[0]
    with engine.connect() as connection:
        assert disagreements(connection, ruled_tables(RULE)) == []
        # The same table without its rule is not what the database holds.
        assert disagreements(connection, ruled_tables(None)) == [
            f"rowrules.items: row-level security is not as declared (rows_visible None,"
            f" policy {RULE!r}, enabled True)"
        ]


def test_publishing_a_row_rule_again_changes_nothing(engine, rows_schema):
    publish_rows(engine, RULE)
    before = row_security(engine)
    publish_rows(engine, RULE)
    assert row_security(engine) == before  # same policy (same oid): not even re-created
    with engine.connect() as connection:
        assert disagreements(connection, ruled_tables(RULE)) == []


def test_the_reader_sees_public_rows_and_those_of_the_callers_groups(engine, rows_schema, migrated):
    publish_rows(engine, RULE)
    assert visible_items(migrated) == [1]
    assert visible_items(migrated, "{}") == [1]
    assert visible_items(migrated, "{7}") == [1, 2]
    assert sorted(visible_items(migrated, "{7,8}")) == [1, 2, 3]
    # The setting is the transaction's: once it ends, the same connection sees public rows.
    with raw_connection(migrated) as connection:
        connection.execute(f"SET ROLE {TAP_READER_ROLE}")
        with connection.transaction():
            connection.execute("SELECT set_config(%s, '{7,8}', true)", [CALLER_GROUPS_SETTING])
        assert connection.execute("SELECT count(*) FROM rowrules.items").fetchone()[0] == 1
    with engine.connect() as connection:  # the owner is not subject to the rule
        assert connection.execute(text("SELECT count(*) FROM rowrules.items")).scalar_one() == 3


def test_removing_the_row_rule_drops_the_policy_and_row_level_security(
    engine, rows_schema, migrated
):
    publish_rows(engine, RULE)
    publish_rows(engine, None)
    assert row_security(engine) == (False, False, None)
    assert sorted(visible_items(migrated)) == [1, 2, 3]
    with engine.connect() as connection:
        assert disagreements(connection, ruled_tables(None)) == []


def test_a_rule_reaches_postgresql_as_written(engine, rows_schema, migrated):
    """Casts, percent signs and colons are SQL, not placeholders of a driver or of SQLAlchemy."""
    rule = f"{RULE} OR group_id::text LIKE '8%' OR 'a:b' = ':c'"
    publish_rows(engine, rule)
    assert visible_items(migrated) == [1, 3]
    with engine.connect() as connection:
        assert disagreements(connection, ruled_tables(rule)) == []


def test_a_rule_that_is_not_sql_over_the_table_fails_the_publication(engine, rows_schema):
    with pytest.raises(ProgrammingError, match="no_such_column"):
        publish_rows(engine, "no_such_column")
    assert row_security(engine) == (False, False, None)  # the transaction rolled back


def test_a_view_cannot_have_a_row_rule():
    with pytest.raises(ValueError, match="a view has no rows of its own"):
        TableDeclaration(RULED, {}, table_type="view", rows_visible=RULE)

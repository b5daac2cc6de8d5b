"""The TAP publishing contract, against a real PostgreSQL migrated by the services' own CLI.

A declaration and the database must agree (tables, columns, types, every TAP_SCHEMA row);
``migrate`` publishes idempotently; the read-only TAP role reads exactly the published tables.
"""

import dataclasses
import threading
import time

import psycopg
import pytest
from astropy import units
from astropy.io.votable.ucd import parse_ucd
from sqlalchemy import create_engine, make_url, text

from jmmc_core.database import TAP_READER_ROLE
from jmmc_core.tap_publishing import (
    PUBLISH_LOCK_KEY,
    TAP_SCHEMA,
    TAP_SCHEMA_TABLES,
    current_rows,
    disagreements,
    publish,
    tap_schema_rows,
)
from jmmc_devtools.registry import service_names
from obsportal.schema.published import TABLES

from .test_migrations import cli

SERVICES = service_names()

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


@pytest.mark.parametrize("table", [*TABLES, *TAP_SCHEMA_TABLES], ids=lambda t: t.qualified_name)
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
                "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s)",
                [[*SERVICES, "tap_schema"]],
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
    published = {table.database_name.replace('"', "") for table in [*TABLES, *TAP_SCHEMA_TABLES]}
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

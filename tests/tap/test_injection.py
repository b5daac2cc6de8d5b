"""Injection probes through ``/tap/sync`` on a real server: each is refused with a clear ERROR
(or, where the text is harmless ADQL, runs bounded) and changes nothing in the database."""

import httpx
import pytest
from lxml import etree

from tap.main import create_app
from tap.services.query import parse_query_request, stream_query
from tap.services.rights import Caller

from .conftest import Server, connect
from .test_sync import statuses

EXPOSURES = "obsportal.exposures"

#: Each refused with a 400 naming the QUERY parameter, with these words in its message.
REFUSED = {
    "stacked statements": (f"SELECT exp_id FROM {EXPOSURES}; DELETE FROM {EXPOSURES}", "statement"),
    "trailing semicolon": (f"SELECT exp_id FROM {EXPOSURES};", "statement"),
    "stacked after a string": (
        f"SELECT exp_id FROM {EXPOSURES} WHERE exp_id = 'a'; DROP TABLE x",
        "statement",
    ),
    "block comment": (f"SELECT exp_id /* hidden */ FROM {EXPOSURES}", "comment"),
    "line comment hiding a statement": (
        f"SELECT exp_id FROM {EXPOSURES} --\n; DELETE FROM TAP_SCHEMA.columns",
        "statement",
    ),
    "dollar quoting": (f"SELECT $$x$$ AS x FROM {EXPOSURES}", "$"),
    "tagged dollar quoting": (
        f"SELECT exp_id FROM {EXPOSURES} WHERE exp_id = $q$'; DROP TABLE x; --$q$",
        "syntax",
    ),
    "unicode escape string": (f"SELECT U&'\\0041' AS x FROM {EXPOSURES}", "not ADQL"),
    "unicode escape identifier": (
        f'SELECT U&"\\0070g_sleep"(1) AS x FROM {EXPOSURES}',
        "unsupported function",
    ),
    "escape string": (f"SELECT E'\\x41' AS x FROM {EXPOSURES}", "not ADQL"),
    "system catalog": ("SELECT * FROM pg_catalog.pg_authid", "unknown table"),
    "unqualified system catalog": ("SELECT rolname FROM pg_roles", "unknown table"),
    "information schema": ("SELECT * FROM information_schema.tables", "unknown table"),
    "delimited system catalog": ('SELECT * FROM "pg_catalog"."pg_shadow"', "unknown table"),
    "another service's schema": ("SELECT * FROM accounts.users", "unknown table"),
    "TAP's own jobs": ("SELECT * FROM tap.jobs", "unknown table"),
    "system catalog in a subquery": (
        f"SELECT exp_id FROM {EXPOSURES} WHERE exp_id IN (SELECT rolname FROM pg_roles)",
        "unknown table",
    ),
    "pg_sleep": (f"SELECT pg_sleep(30) AS x FROM {EXPOSURES}", "unsupported function"),
    "delimited pg_sleep": (f'SELECT "pg_sleep"(30) AS x FROM {EXPOSURES}', "unsupported function"),
    "set_config": (
        "SELECT set_config('statement_timeout', '0', false) AS x FROM TAP_SCHEMA.schemas",
        "unsupported function",
    ),
    "set_config of the caller's groups": (
        "SELECT set_config('jmmc.caller_groups', '{1,2,3}', true) AS x FROM TAP_SCHEMA.schemas",
        "unsupported function",
    ),
    "current_setting": (
        "SELECT current_setting('data_directory') AS x FROM TAP_SCHEMA.schemas",
        "unsupported function",
    ),
    "pg_read_file": (
        "SELECT pg_read_file('/etc/passwd') AS x FROM TAP_SCHEMA.schemas",
        "unsupported function",
    ),
    "lo_import": (
        "SELECT lo_import('/etc/passwd') AS x FROM TAP_SCHEMA.schemas",
        "unsupported function",
    ),
    "version": ("SELECT version() AS x FROM TAP_SCHEMA.schemas", "unsupported function"),
    "cast to regclass": (
        "SELECT CAST('pg_authid' AS regclass) AS x FROM TAP_SCHEMA.schemas",
        "regclass",
    ),
    "postgresql cast operator": (
        "SELECT 'pg_authid'::regclass AS x FROM TAP_SCHEMA.schemas",
        "CAST",
    ),
    "delete from TAP_SCHEMA": ("DELETE FROM TAP_SCHEMA.columns", "only SELECT"),
    "update TAP_SCHEMA": ("UPDATE TAP_SCHEMA.tables SET description = 'owned'", "only SELECT"),
    "insert into TAP_SCHEMA": (
        "INSERT INTO TAP_SCHEMA.schemas VALUES ('evil', NULL, NULL, 0)",
        "only SELECT",
    ),
    "drop TAP_SCHEMA": ("DROP TABLE TAP_SCHEMA.keys", "only SELECT"),
    "truncate": (f"TRUNCATE {EXPOSURES}", "only SELECT"),
    "select into": ("SELECT * INTO evil FROM TAP_SCHEMA.tables", "SELECT INTO"),
    "create table as": ("CREATE TABLE evil AS SELECT * FROM TAP_SCHEMA.tables", "only SELECT"),
    "writing common table expression": (
        "WITH gone AS (DELETE FROM TAP_SCHEMA.columns RETURNING *) SELECT * FROM gone",
        "only SELECT",
    ),
    "copy to a file": ("COPY TAP_SCHEMA.tables TO '/tmp/evil'", "only SELECT"),
    "set statement": ("SET statement_timeout = 0", "only SELECT"),
    "grant": ("GRANT tap_reader TO PUBLIC", "only SELECT"),
    "locking read": (f"SELECT exp_id FROM {EXPOSURES} FOR UPDATE", "FOR UPDATE"),
    "quote-closing delimited identifier": (
        f'SELECT "exp_id"" FROM pg_authid --" FROM {EXPOSURES}',
        "unknown column",
    ),
}

#: Harmless ADQL that looks like an attack: it runs, bounded by MAXREC, and changes nothing.
BOUNDED = {
    "quote inside a string literal": (
        f"SELECT exp_id FROM {EXPOSURES} WHERE exp_id = 'a''; DROP TABLE x; --'"
    ),
    "line comment": f"SELECT exp_id FROM {EXPOSURES} -- ; DELETE FROM TAP_SCHEMA.columns",
    "huge TOP": f"SELECT TOP 999999999999 exp_id FROM {EXPOSURES}",
    "cartesian join": (
        f"SELECT a.exp_id, b.exp_id AS b_id, c.exp_id AS c_id"
        f" FROM {EXPOSURES} AS a, {EXPOSURES} AS b, {EXPOSURES} AS c"
    ),
}
BOUND = 25


def sync(server: Server, query: str, **parameters: str) -> httpx.Response:
    return httpx.post(
        f"{server.tap_url}/sync", data={"LANG": "ADQL", "QUERY": query, **parameters}, timeout=120
    )


def rows_of(response: httpx.Response) -> int:
    document = etree.fromstring(response.content)
    return len(list(document.iter("{*}TR")))


@pytest.fixture(scope="module")
def state(tap_database):
    """Row counts of what a successful injection would change, as the database owner sees them."""

    def counts() -> dict[str, int]:
        with connect(tap_database, autocommit=True) as connection:
            return {
                table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in (
                    "tap_schema.schemas",
                    "tap_schema.tables",
                    "tap_schema.columns",
                    "tap_schema.keys",
                    "tap_schema.key_columns",
                    "obsportal.exposures",
                )
            } | {
                "relations": connection.execute("SELECT count(*) FROM pg_class").fetchone()[0],
            }

    return counts


@pytest.fixture(scope="module")
def before(state) -> dict[str, int]:
    return state()


@pytest.mark.parametrize(("query", "words"), REFUSED.values(), ids=REFUSED.keys())
def test_probe_is_refused_and_changes_nothing(tap_server, state, before, query, words):
    response = sync(tap_server, query)
    assert response.status_code == 400, response.text
    [(status, message)] = statuses(response)
    assert status == "ERROR"
    assert message.startswith("QUERY: ") and words.lower() in message.lower(), message
    assert "psycopg" not in message and "Traceback" not in message
    assert state() == before


@pytest.mark.parametrize("query", BOUNDED.values(), ids=BOUNDED.keys())
def test_harmless_lookalike_runs_bounded_and_changes_nothing(tap_server, state, before, query):
    response = sync(tap_server, query, MAXREC=str(BOUND), RESPONSEFORMAT="votable/td")
    assert response.status_code == 200, response.text
    assert rows_of(response) <= BOUND
    assert statuses(response)[-1][0] in ("OK", "OVERFLOW")
    assert state() == before


def test_nul_character_is_refused(tap_server):
    response = sync(tap_server, f"SELECT exp_id FROM {EXPOSURES}\x00; DROP TABLE x")
    assert response.status_code == 400
    assert statuses(response)[0][0] == "ERROR"


def test_unbounded_cartesian_aggregate_is_stopped_by_the_timeout(strict_tap_server, state):
    before = state()
    query = (
        f"SELECT COUNT(*) AS n FROM {EXPOSURES} AS a, {EXPOSURES} AS b,"
        f" {EXPOSURES} AS c, {EXPOSURES} AS d"
    )
    response = sync(strict_tap_server, query)
    assert response.status_code == 400
    [(status, message)] = statuses(response)
    assert status == "ERROR"
    assert "longer than 1 s" in message
    assert state() == before


def test_the_pool_hands_out_a_clean_connection_after_a_query(tap_settings):
    """What one query set (timeout, rights, temporary tables) never reaches the next one."""
    runtime = create_app(tap_settings).state.tap
    engine = runtime.query_engine
    try:
        with engine.connect() as connection:
            default_timeout = connection.exec_driver_sql("SHOW statement_timeout").scalar()
            connection.rollback()
        request = parse_query_request(
            {"QUERY": f"SELECT TOP 3 exp_id FROM {EXPOSURES}"}, {}, tap_settings
        )
        caller = Caller(None, "address:127.0.0.1", (1, 2))
        assert b"".join(stream_query(runtime, request, caller, {}, 7).chunks)
        assert engine.pool.checkedout() == 0
        with engine.connect() as connection:
            settings = connection.exec_driver_sql(
                "SELECT current_setting('statement_timeout'),"
                " current_setting('jmmc.caller_groups', true),"
                " current_setting('default_transaction_read_only'), current_user,"
                " current_setting('search_path')"
            ).one()
        assert settings[0] == default_timeout != "7s"
        assert settings[1] in (None, "")
        assert settings[2] == "on"
        assert settings[3] == "tap_reader"
        assert settings[4] == "pg_catalog, public"
    finally:
        engine.dispose()

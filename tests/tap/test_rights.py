"""Queries with the caller's rights: a published table with a row rule, through a real server.

A service-like table ``rightstest.items`` is published with ``public OR`` the owning group is
one of the caller's, by jmmc_core's own ``publish()``; users, groups and tokens are made with
``jmmc-accounts``. Anonymous queries see the public rows; a member's token adds the rows of
the member's groups; nobody can state other groups from ADQL.
"""

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import pyvo
import requests
from astropy.io.votable import parse as parse_votable
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, create_engine, text

from jmmc_core.accounts import services
from jmmc_core.database import Database
from jmmc_core.tap_publishing import (
    PublishedSchema,
    TableDeclaration,
    caller_groups_include,
    publish,
    published_tables,
    vo,
)
from jmmc_devtools.processes import serving
from tap.services.rights import apply_caller, caller_of
from tap.storage.query_engine import create_query_engine

from ..accounts.test_migrations import accounts_cli
from .conftest import BIN, Server, running_tap

_metadata = MetaData(schema="rightstest")
ITEMS = Table(
    "items",
    _metadata,
    Column("item_id", Integer, primary_key=True),
    Column("label", String, nullable=False),
    Column("public", Boolean, nullable=False),
    Column("group_id", Integer),
)
ITEMS_TABLE = published_tables(
    PublishedSchema("rightstest", "A service's rows with owners"),
    [
        TableDeclaration(
            ITEMS,
            {
                "item_id": vo("Item identifier", ucd="meta.id;meta.main"),
                "label": vo("What the item is"),
                "public": vo("Whether everyone may read the item"),
                "group_id": vo("The group owning a private item"),
            },
            "Items, some public, some private to a group",
            rows_visible=f"public OR {caller_groups_include('group_id')}",
        )
    ],
)
MEMBERS, OTHERS = "rights-members", "rights-others"
#: Items 1-3 are public, 11-12 belong to MEMBERS, 21 to OTHERS.
PUBLIC_ITEMS = [1, 2, 3]
MEMBERS_ITEMS = [11, 12]
OTHERS_ITEMS = [21]
ALL_ITEMS_QUERY = "SELECT item_id FROM rightstest.items ORDER BY item_id"


@dataclass(frozen=True)
class Published:
    """``rightstest.items`` published in the TAP database, and who may read what."""

    database_url: str
    group_ids: dict[str, int]
    #: Bearer tokens: of a MEMBERS member, and of a member of OTHERS only.
    member_token: str
    outsider_token: str


@dataclass(frozen=True)
class Rights:
    published: Published
    server: Server

    @property
    def member_token(self) -> str:
        return self.published.member_token

    @property
    def outsider_token(self) -> str:
        return self.published.outsider_token


def accounts(url: str, *args: str) -> str:
    result = accounts_cli(url, *args)
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout.strip()


def make_accounts(url: str) -> tuple[dict[str, int], str, str]:
    """The two groups (name -> id) and a token for each of their users."""
    accounts(url, "migrate")  # the services' migrations leave the accounts schema to its command
    for group, user in ((MEMBERS, "rights-member"), (OTHERS, "rights-outsider")):
        accounts(url, "create-group", group, "--if-missing")
        accounts(url, "create-user", user, "--if-missing")
        accounts(url, "add-member", group, user)
    engine = create_engine(url)
    with engine.connect() as connection:
        group_ids = dict(
            connection.execute(
                text("SELECT name, id FROM accounts.groups WHERE name = ANY(:names)"),
                {"names": [MEMBERS, OTHERS]},
            ).all()
        )
    engine.dispose()
    member = accounts(url, "create-token", "rights-member", "tap")
    outsider = accounts(url, "create-token", "rights-outsider", "tap")
    return group_ids, member, outsider


def publish_items(url: str, group_ids: dict[str, int]) -> None:
    """``rightstest.items``, owned by the test's role, published with its row rule."""
    private = [(i, MEMBERS) for i in MEMBERS_ITEMS] + [(i, OTHERS) for i in OTHERS_ITEMS]
    rows = [
        {"item_id": i, "label": f"public {i}", "public": True, "group_id": None}
        for i in PUBLIC_ITEMS
    ] + [
        {"item_id": i, "label": f"{group} {i}", "public": False, "group_id": group_ids[group]}
        for i, group in private
    ]
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE SCHEMA rightstest"))
        _metadata.create_all(connection)
        connection.execute(ITEMS.insert(), rows)
        publish(connection, ITEMS_TABLE)
    engine.dispose()


def unpublish_items(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        publish(connection, [], schemas=["rightstest"])
        connection.execute(text("DROP SCHEMA rightstest CASCADE"))
    engine.dispose()


@pytest.fixture(scope="module")
def published(tap_database) -> Iterator[Published]:
    group_ids, member_token, outsider_token = make_accounts(tap_database)
    publish_items(tap_database, group_ids)
    try:
        yield Published(tap_database, group_ids, member_token, outsider_token)
    finally:
        unpublish_items(tap_database)


@pytest.fixture(scope="module")
def rights(published, tap_environment) -> Iterator[Rights]:
    """A server of its own, started once the table is published, so its TAP_SCHEMA is
    current (a running server keeps TAP_SCHEMA for a few seconds)."""
    with running_tap(tap_environment) as server:
        yield Rights(published, server)


def sync(rights: Rights, query: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        f"{rights.server.tap_url}/sync",
        data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": "csv"},
        headers=headers,
        timeout=60,
    )


def column(rights: Rights, query: str, token: str | None = None) -> list[int]:
    """The first column of the query's result, as integers."""
    response = sync(rights, query, token)
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.text)))
    return [int(row[0]) for row in rows[1:]]


def error_message(response: httpx.Response) -> str:
    """The DALI error document's message (status 400, QUERY_STATUS=ERROR)."""
    assert response.status_code == 400, response.text
    document = parse_votable(io.BytesIO(response.content))
    status = next(info for info in document.resources[0].infos if info.name == "QUERY_STATUS")
    assert status.value == "ERROR"
    return status.content


def test_the_query_engine_runs_with_the_callers_groups_and_forgets_them(published, tap_settings):
    """What the query runner does: the caller's groups, set in the query's transaction, open
    the group's rows to that query only; the pooled connection's next query sees none."""
    database = Database(tap_settings)
    engine = create_query_engine(tap_settings)
    try:
        with database.session() as session:
            member = services.resolve_token(session, published.member_token)
        caller = caller_of(database, member, f"user:{member.id}")
        assert caller.group_ids == (published.group_ids[MEMBERS],)
        assert caller_of(database, None, "address:127.0.0.1").group_ids == ()
        with engine.connect() as connection, connection.begin():
            apply_caller(connection, caller)
            member_sees = connection.execute(text(ALL_ITEMS_QUERY)).scalars().all()
            member_backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as connection, connection.begin():
            next_sees = connection.execute(text(ALL_ITEMS_QUERY)).scalars().all()
            next_backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    finally:
        engine.dispose()
        database.dispose()
    assert member_sees == sorted(PUBLIC_ITEMS + MEMBERS_ITEMS)
    assert next_backend == member_backend  # the same pooled connection...
    assert next_sees == PUBLIC_ITEMS  # ...and the caller's groups are gone


def test_a_deactivated_account_has_no_groups(published, tap_settings):
    """An account deactivated after its user was resolved (the owner of a queued job)."""
    database = Database(tap_settings)
    try:
        with database.session() as session:
            member = services.resolve_token(session, published.member_token)
        accounts(published.database_url, "deactivate-user", "rights-member")
        try:
            assert caller_of(database, member, f"user:{member.id}").group_ids == ()
        finally:
            accounts(published.database_url, "activate-user", "rights-member")
        assert caller_of(database, member, f"user:{member.id}").group_ids != ()
    finally:
        database.dispose()


def test_anonymous_queries_see_the_public_rows_only(rights):
    assert column(rights, ALL_ITEMS_QUERY) == PUBLIC_ITEMS
    assert column(rights, "SELECT COUNT(*) AS n FROM rightstest.items") == [len(PUBLIC_ITEMS)]


def test_a_members_token_adds_the_rows_of_the_members_groups(rights):
    visible = sorted(PUBLIC_ITEMS + MEMBERS_ITEMS)
    assert column(rights, ALL_ITEMS_QUERY, rights.member_token) == visible
    count = "SELECT COUNT(*) AS n FROM rightstest.items"
    assert column(rights, count, rights.member_token) == [len(visible)]
    # A query naming the private rows finds them for the member only.
    private = "SELECT item_id FROM rightstest.items WHERE group_id IS NOT NULL ORDER BY item_id"
    assert column(rights, private, rights.member_token) == MEMBERS_ITEMS
    assert column(rights, private) == []


def test_a_non_member_sees_only_the_rows_of_its_own_groups(rights):
    visible = sorted(PUBLIC_ITEMS + OTHERS_ITEMS)
    assert column(rights, ALL_ITEMS_QUERY, rights.outsider_token) == visible
    filtered = f"SELECT item_id FROM rightstest.items WHERE item_id IN ({MEMBERS_ITEMS[0]})"
    assert column(rights, filtered, rights.outsider_token) == []


def test_a_membership_ended_counts_at_the_next_query(rights):
    url = rights.published.database_url
    accounts(url, "remove-member", MEMBERS, "rights-member")
    try:
        assert column(rights, ALL_ITEMS_QUERY, rights.member_token) == PUBLIC_ITEMS
    finally:
        accounts(url, "add-member", MEMBERS, "rights-member")
    assert column(rights, ALL_ITEMS_QUERY, rights.member_token)[-1] == MEMBERS_ITEMS[-1]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT set_config('jmmc.caller_groups', '{1,2,3}', true) FROM rightstest.items",
        "SELECT item_id FROM rightstest.items"
        " WHERE set_config('jmmc.caller_groups', '{1,2,3}', false) IS NOT NULL",
        "SELECT current_setting('jmmc.caller_groups') FROM rightstest.items",
        "SELECT item_id FROM rightstest.items WHERE group_id = ANY(tap_schema.caller_groups())",
    ],
    ids=["set_config-local", "set_config-in-where", "current_setting", "caller_groups"],
)
def test_adql_cannot_state_or_read_the_callers_groups(rights, query):
    assert error_message(sync(rights, query))
    # Nothing it tried stays: an anonymous query still sees the public rows only.
    assert column(rights, ALL_ITEMS_QUERY) == PUBLIC_ITEMS


@pytest.mark.parametrize("scheme", ["bearer", "basic"])
def test_pyvo_with_a_members_token_finds_the_private_rows(rights, scheme):
    """What a script does: pyvo with a session carrying the token (Basic is what TOPCAT and
    pyvo's own authentication send, with the token as password)."""
    session = requests.Session()
    if scheme == "bearer":
        session.headers["Authorization"] = f"Bearer {rights.member_token}"
    else:
        session.auth = ("rights-member", rights.member_token)
    service = pyvo.dal.TAPService(rights.server.tap_url, session=session)
    member = service.run_sync(ALL_ITEMS_QUERY).to_table()
    anonymous = pyvo.dal.TAPService(rights.server.tap_url).run_sync(ALL_ITEMS_QUERY).to_table()
    assert list(member["item_id"]) == sorted(PUBLIC_ITEMS + MEMBERS_ITEMS)
    assert list(anonymous["item_id"]) == PUBLIC_ITEMS


@pytest.fixture(scope="module")
def worker(rights, tap_environment) -> Iterator[None]:
    """A ``tap worker`` started once the table is published (so its TAP_SCHEMA is current)."""
    with serving([str(BIN / "tap"), "worker"], env={**os.environ, **tap_environment}):
        yield


def test_an_async_job_runs_with_its_owners_groups(rights, worker):
    """A job runs later, in a worker: with the groups its owner has then. (Last in this module:
    the table was published well before, so any worker's TAP_SCHEMA is current.)"""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {rights.member_token}"
    member = pyvo.dal.TAPService(rights.server.tap_url, session=session)
    anonymous = pyvo.dal.TAPService(rights.server.tap_url)
    assert list(member.run_async(ALL_ITEMS_QUERY).to_table()["item_id"]) == sorted(
        PUBLIC_ITEMS + MEMBERS_ITEMS
    )
    assert list(anonymous.run_async(ALL_ITEMS_QUERY).to_table()["item_id"]) == PUBLIC_ITEMS

"""The accounts' domain layer against a real PostgreSQL: users, groups, roles, sign-in limits,
sessions, tokens and rights on data."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import column, select, text, values
from sqlalchemy import types as sql

from jmmc_core.accounts import readable_by, services, storage
from jmmc_core.accounts.config import AccountsSettings
from jmmc_core.accounts.services import (
    MAX_CLIENT_SIGNIN_FAILURES,
    MAX_SIGNIN_FAILURES,
    SIGNIN_WINDOW,
)
from jmmc_core.database import Database
from jmmc_core.errors import Conflict, InvalidParameter, NotFound, TooManyRequests, Unauthorized

PASSWORD = "correct horse battery"


def make_user(database, username, **options):
    with database.session() as session:
        return services.create_user(session, username, password=PASSWORD, **options)


def test_user_with_roles_and_groups(database, unique):
    name, group = unique("alice"), unique("team")
    make_user(database, name.upper(), email="a@example.org", roles=("submitter", "curator"))
    with database.session() as session:
        services.create_group(session, group)
        services.add_member(session, group, name)
        services.add_member(session, group, name)  # twice changes nothing
        user = services.find_user(session, name)
    assert user.username == name  # names are case-insensitive, kept in lower case
    assert user.has_role("curator") and not user.has_role("admin")
    assert user.in_group(group) and not user.in_group("other")
    with database.session() as session:
        services.revoke_role(session, name, "curator")
        services.remove_member(session, group, name)
        user = services.find_user(session, name)
    assert user.roles == {"submitter"} and user.groups == frozenset()


def test_password_is_stored_as_argon2_hash(database, unique):
    name = unique("bob")
    make_user(database, name)
    with database.session() as session:
        stored = session.execute(
            text("SELECT password_hash FROM accounts.users WHERE username = :name"),
            {"name": name},
        ).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_bad_or_duplicate_accounts_are_refused(database, unique):
    name = unique("carol")
    make_user(database, name)
    with pytest.raises(Conflict):
        make_user(database, name)
    assert make_user(database, name, if_missing=True).username == name
    cases = [
        ({"username": "no spaces"}, "username"),
        ({"username": unique("dave"), "roles": ("emperor",)}, "role"),
        ({"username": unique("erin"), "password": "short"}, "password"),
    ]
    for arguments, parameter in cases:
        with pytest.raises(InvalidParameter) as refused, database.session() as session:
            services.create_user(session, **{"password": PASSWORD, **arguments})
        assert refused.value.parameter == parameter
    with pytest.raises(NotFound), database.session() as session:
        services.add_member(session, "no-such-group", name)


def test_authenticate(database, unique):
    name = unique("frank")
    make_user(database, name, roles=("moderator",))
    user = services.authenticate(database, name.upper(), PASSWORD, "192.0.2.1")
    assert user.username == name and user.has_role("moderator")
    for username, password in [(name, "wrong password"), (unique("nobody"), PASSWORD)]:
        with pytest.raises(Unauthorized):
            services.authenticate(database, username, password, "192.0.2.1")


def test_a_deactivated_account_stops_at_once(database, unique):
    name = unique("grace")
    user = make_user(database, name)
    with database.session() as session:
        session_id, _ = services.open_session(session, user, timedelta(hours=1))
        token, _ = services.create_token(session, user, "script")
        services.set_active(session, name, False)
    with pytest.raises(Unauthorized):
        services.authenticate(database, name, PASSWORD, "192.0.2.1")
    with database.session() as session:
        assert services.resolve_session(session, session_id) is None
        assert services.resolve_token(session, token) is None
        services.set_active(session, name, True)
    with database.session() as session:
        assert services.resolve_token(session, token) == user


def test_failed_sign_ins_are_rate_limited_per_username_and_client(database, unique):
    name = unique("heidi")
    make_user(database, name)
    for _ in range(MAX_SIGNIN_FAILURES):
        with pytest.raises(Unauthorized):
            services.authenticate(database, name, "wrong password", "192.0.2.2")
    with pytest.raises(TooManyRequests) as limited:
        services.authenticate(database, name, PASSWORD, "192.0.2.2")  # even the right one
    assert 0 < limited.value.retry_after <= SIGNIN_WINDOW.total_seconds()
    assert limited.value.headers["Retry-After"] == str(limited.value.retry_after)
    # Another client is not locked out by someone guessing elsewhere.
    assert services.authenticate(database, name, PASSWORD, "192.0.2.3").username == name


def test_one_client_guessing_many_usernames_is_limited_too(database, unique):
    with database.session() as session:  # as many failures as authenticate records them
        for _ in range(MAX_CLIENT_SIGNIN_FAILURES):
            storage.record_attempt(session, unique("nobody"), "192.0.2.9", success=False)
    name = unique("ursula")
    make_user(database, name)
    with pytest.raises(TooManyRequests):
        services.authenticate(database, name, PASSWORD, "192.0.2.9")
    assert services.authenticate(database, name, PASSWORD, "192.0.2.10").username == name


def test_rate_limit_is_shared_by_every_replica(database, accounts_url, unique):
    """Attempts live in the database: failures through two connection pools add up."""
    name = unique("ivan")
    make_user(database, name)
    other_replica = Database(AccountsSettings(database_url=accounts_url, environment="test"))
    try:
        for attempt in range(MAX_SIGNIN_FAILURES):
            replica = database if attempt % 2 else other_replica
            with pytest.raises(Unauthorized):
                services.authenticate(replica, name, "wrong password", "192.0.2.4")
        with pytest.raises(TooManyRequests):
            services.authenticate(other_replica, name, PASSWORD, "192.0.2.4")
    finally:
        other_replica.dispose()


def test_a_success_clears_earlier_failures(database, unique):
    name = unique("judy")
    make_user(database, name)
    for _ in range(2):
        for _ in range(MAX_SIGNIN_FAILURES - 1):
            with pytest.raises(Unauthorized):
                services.authenticate(database, name, "wrong password", "192.0.2.5")
        services.authenticate(database, name, PASSWORD, "192.0.2.5")


def test_sessions_end_when_closed_or_expired(database, unique):
    user = make_user(database, unique("ken"))
    with database.session() as session:
        session_id, opened = services.open_session(session, user, timedelta(hours=1))
        expired_id, _ = services.open_session(session, user, timedelta(hours=1))
        session.execute(
            text(
                "UPDATE accounts.sessions SET expires_at = now() - interval '1 second'"
                " WHERE session_hash = :hash"
            ),
            {"hash": services.credentials.digest(expired_id)},
        )
    with database.session() as session:
        found = services.resolve_session(session, session_id)
        assert found is not None and found.user == user
        assert found.csrf_secret == opened.csrf_secret
        assert services.resolve_session(session, expired_id) is None
        assert services.resolve_session(session, session_id[:-1] + "x") is None
        services.close_session(session, session_id)
    with database.session() as session:
        assert services.resolve_session(session, session_id) is None
        stored = session.execute(text("SELECT session_hash FROM accounts.sessions")).scalars()
        assert session_id not in set(stored)


def test_tokens_belong_to_their_owner(database, unique):
    owner = make_user(database, unique("leo"))
    other = make_user(database, unique("mallory"))
    with database.session() as session:
        token, record = services.create_token(session, owner, "laptop")
        other_token, _ = services.create_token(session, other, "theirs")
    assert token.startswith("jmmc_") and record.prefix == token[: len(record.prefix)]
    with database.session() as session:
        assert services.resolve_token(session, token) == owner
        assert [t.name for t in services.list_tokens(session, owner)] == ["laptop"]
        stored = set(session.execute(text("SELECT token_hash FROM accounts.api_tokens")).scalars())
    assert token not in stored and services.credentials.digest(token) in stored
    with pytest.raises(NotFound), database.session() as session:
        services.revoke_token(session, other, record.id)  # not theirs: as if it did not exist
    with database.session() as session:
        assert services.resolve_token(session, token) == owner
        assert services.list_tokens(session, owner)[0].last_used_at is not None
        services.revoke_token(session, owner, record.id)
    with database.session() as session:
        assert services.resolve_token(session, token) is None
        assert services.resolve_token(session, other_token) == other
        assert services.list_tokens(session, owner)[0].active is False
    with pytest.raises(NotFound), database.session() as session:
        services.revoke_token(session, owner, record.id)  # already revoked


def test_expired_and_forged_tokens_are_nobody(database, unique):
    owner = make_user(database, unique("nina"))
    soon = datetime.now(UTC) + timedelta(seconds=30)
    with database.session() as session:
        token, record = services.create_token(session, owner, "short-lived", soon)
        session.execute(
            text(
                "UPDATE accounts.api_tokens SET expires_at = now() - interval '1 second'"
                " WHERE id = :id"
            ),
            {"id": record.id},
        )
    with database.session() as session:
        assert services.resolve_token(session, token) is None
        assert services.resolve_token(session, token[:-2] + "AA") is None
        assert services.resolve_token(session, "not-a-token") is None
    for name, expires_at in [("", None), ("x" * 101, None), ("past", datetime.now(UTC))]:
        with pytest.raises(InvalidParameter), database.session() as session:
            services.create_token(session, owner, name, expires_at)


def test_readable_by_filters_rows_in_the_database(database, unique):
    reader, outsider = make_user(database, unique("olga")), make_user(database, unique("pat"))
    mine, theirs = unique("olgas-team"), unique("other-team")
    with database.session() as session:
        for group in (mine, theirs):
            services.create_group(session, group)
        services.add_member(session, mine, reader.username)
        group_ids = dict(
            session.execute(
                text("SELECT name, id FROM accounts.groups WHERE name IN (:a, :b)"),
                {"a": mine, "b": theirs},
            ).all()
        )
    collections = values(
        column("name", sql.Text), column("group_id", sql.BigInteger), name="collections"
    ).data([("ours", group_ids[mine]), ("not ours", group_ids[theirs]), ("no group", None)])

    def readable(user):
        query = select(collections.c.name).where(readable_by(user, collections.c.group_id))
        with database.session() as session:
            return set(session.scalars(query))

    assert readable(reader) == {"ours"}
    assert readable(outsider) == set()
    assert readable(None) == set()
    with database.session() as session:
        services.remove_member(session, mine, reader.username)
    assert readable(reader) == set()  # a revoked membership counts at once

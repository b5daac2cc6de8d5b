"""``jmmc-accounts migrate`` builds the accounts schema, which matches the models and which
every service's database role can use through ``accounts_user``."""

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import ProgrammingError

from jmmc_core.accounts.config import AccountsSettings
from jmmc_core.accounts.migrations import MIGRATIONS
from jmmc_core.migrations import schema_differences

COMMAND = str(Path(sys.executable).parent / "jmmc-accounts")


def accounts_cli(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [COMMAND, *args],
        env={"ACCOUNTS_DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def migrated(new_database) -> str:
    url = new_database("accounts_migrations")
    for _ in range(2):  # the second run must be a no-op
        result = accounts_cli(url, "migrate")
        assert result.returncode == 0, result.stderr
        assert "schema accounts is at head" in result.stdout
    return url


def test_models_match_migrations(migrated):
    differences = schema_differences(AccountsSettings(database_url=migrated), MIGRATIONS)
    assert differences == [], f"accounts: models and migrations disagree: {differences}"


def test_a_service_role_granted_accounts_user_can_use_the_tables(migrated):
    """What production does: each service logs in with its own role, member of accounts_user."""
    engine = create_engine(migrated)
    with engine.begin() as connection:
        connection.execute(text("DROP ROLE IF EXISTS some_service"))
        connection.execute(text("CREATE ROLE some_service LOGIN IN ROLE accounts_user"))
    engine.dispose()
    as_service = create_engine(make_url(migrated).set(username="some_service"))
    try:
        with as_service.begin() as connection:
            user_id = connection.execute(
                text("INSERT INTO accounts.users (username) VALUES ('svc-check') RETURNING id")
            ).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO accounts.sessions (session_hash, user_id, csrf_secret, expires_at)"
                    " VALUES ('h', :id, 's', now() + interval '1 hour')"
                ),
                {"id": user_id},
            )
            connection.execute(
                text(
                    "INSERT INTO accounts.signin_attempts (username, client_address, success)"
                    " VALUES ('svc-check', '::1', false)"
                )
            )
            connection.execute(text("DELETE FROM accounts.users WHERE id = :id"), {"id": user_id})
            with pytest.raises(ProgrammingError, match="must be owner"):
                connection.execute(text("DROP TABLE accounts.sessions"))
    finally:
        as_service.dispose()


def test_tap_reader_cannot_read_the_accounts(migrated):
    """Password hashes and token hashes are never published: the TAP role has no way in."""
    engine = create_engine(migrated)
    with engine.begin() as connection:
        connection.execute(
            text(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tap_reader')"
                " THEN CREATE ROLE tap_reader NOLOGIN; END IF; END $$"
            )
        )
        usage = connection.execute(
            text("SELECT has_schema_privilege('tap_reader', 'accounts', 'USAGE')")
        ).scalar()
    engine.dispose()
    assert usage is False

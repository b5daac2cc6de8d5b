"""``jmmc-accounts``: what an administrator types, and what they read back."""

from sqlalchemy import create_engine, text

from jmmc_core.accounts import services
from jmmc_core.accounts.config import AccountsSettings
from jmmc_core.database import Database

from .test_migrations import accounts_cli


def test_create_user_group_roles_and_token(accounts_url, unique):
    name, group = unique("quinn"), unique("observers")
    created = accounts_cli(
        accounts_url,
        "create-user", name, "--email", "q@example.org", "--password-stdin",
        "--role", "submitter",
        stdin="a good password\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    again = accounts_cli(accounts_url, "create-user", name, "--if-missing")
    assert again.returncode == 0, again.stderr
    for args in (
        ("create-group", group, "--if-missing"),
        ("create-group", group, "--if-missing"),
        ("add-member", group, name),
        ("grant-role", name, "curator"),
        ("revoke-role", name, "submitter"),
    ):
        result = accounts_cli(accounts_url, *args)
        assert result.returncode == 0, (args, result.stderr)
    listed = accounts_cli(accounts_url, "list-users").stdout.splitlines()
    line = next(line for line in listed if line.startswith(name + " "))
    assert "roles=curator " in line and f"groups={group}" in line

    token = accounts_cli(accounts_url, "create-token", name, "laptop", "--days", "7").stdout.strip()
    database = Database(AccountsSettings(database_url=accounts_url))
    try:
        assert services.authenticate(database, name, "a good password", "::1").username == name
        with database.session() as session:
            assert services.resolve_token(session, token).username == name
    finally:
        database.dispose()


def test_refusals_are_one_line_and_exit_1(accounts_url, unique):
    name = unique("rita")
    assert accounts_cli(accounts_url, "create-user", name).returncode == 0
    cases = [
        (("create-user", name), "already exists"),
        (("add-member", "no-such-group", name), "no group 'no-such-group'"),
        (("create-user", "Not Valid!"), "username"),
        (("create-user", unique("sam"), "--password-stdin"), "password"),
        (("create-token", "no-such-user", "x"), "no user"),
    ]
    for args, message in cases:
        result = accounts_cli(accounts_url, *args, stdin="\n")
        assert result.returncode == 1, args
        assert result.stderr.startswith("Error: ") and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    unreachable = accounts_cli("postgresql+psycopg://nobody@127.0.0.1:1/none", "list-users")
    assert unreachable.returncode == 1
    assert len(unreachable.stderr.strip().splitlines()) == 1


def test_user_without_password_cannot_sign_in_but_can_use_tokens(accounts_url, unique):
    name = unique("tom")
    assert accounts_cli(accounts_url, "create-user", name).returncode == 0
    engine = create_engine(accounts_url)
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT password_hash FROM accounts.users WHERE username = :name"),
            {"name": name},
        ).scalar_one()
    engine.dispose()
    assert stored is None
    token = accounts_cli(accounts_url, "create-token", name, "robot").stdout.strip()
    assert token.startswith("jmmc_")

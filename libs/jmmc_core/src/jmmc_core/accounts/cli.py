"""``jmmc-accounts``: the administrators' command for the accounts schema.

Reads ``ACCOUNTS_DATABASE_URL`` and ``ACCOUNTS_DATABASE_PASSWORD``. Every failure is one
readable line on stderr and exit status 1.
"""

import functools
import sys
from datetime import UTC, datetime, timedelta

import click

from jmmc_core.cli import one_line_errors
from jmmc_core.database import Database
from jmmc_core.errors import ServiceError
from jmmc_core.migrations import upgrade_to_head

from . import services
from .config import AccountsSettings
from .migrations import MIGRATIONS
from .schema import ROLES


def _database() -> Database:
    return Database(AccountsSettings())


def _errors(function):
    """Domain refusals (unknown user, taken name, bad value) as one line, like other errors."""

    @functools.wraps(function)
    @one_line_errors
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


@click.group(name="jmmc-accounts", help="Users, groups, roles and API tokens of the platform.")
def main() -> None:
    pass


@main.command(help="Upgrade the accounts schema to the newest migration.")
@_errors
def migrate() -> None:
    settings = AccountsSettings()
    upgrade_to_head(settings, MIGRATIONS)
    click.echo(f"accounts: schema {settings.schema_name} is at head")


role_option = click.option(
    "--role", "roles", multiple=True, type=click.Choice(ROLES), help="Grant this role (repeat)."
)


@main.command("create-user", help="Create an account.")
@click.argument("username")
@click.option("--email")
@click.option("--display-name")
@click.option("--password", help="The password (visible in the process list: prefer stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@role_option
@click.option("--if-missing", is_flag=True, help="Do nothing if the user already exists.")
@_errors
def create_user(
    username: str,
    email: str | None,
    display_name: str | None,
    password: str | None,
    password_stdin: bool,
    roles: tuple[str, ...],
    if_missing: bool,
) -> None:
    if password_stdin:
        if password is not None:
            raise click.UsageError("give --password or --password-stdin, not both")
        password = sys.stdin.readline().rstrip("\r\n")
    with _database().session() as session:
        user = services.create_user(
            session,
            username,
            password=password,
            email=email,
            display_name=display_name,
            roles=roles,
            if_missing=if_missing,
        )
    click.echo(f"user {user.username} ready")


@main.command("set-password", help="Set a user's password, read from standard input.")
@click.argument("username")
@_errors
def set_password(username: str) -> None:
    with _database().session() as session:
        services.set_password(session, username, sys.stdin.readline().rstrip("\r\n"))
    click.echo(f"password of {username} set")


@main.command("deactivate-user", help="Stop an account: no sign-in, its sessions and tokens end.")
@click.argument("username")
@_errors
def deactivate_user(username: str) -> None:
    with _database().session() as session:
        services.set_active(session, username, False)
    click.echo(f"{username} is deactivated")


@main.command("activate-user", help="Let a deactivated account work again.")
@click.argument("username")
@_errors
def activate_user(username: str) -> None:
    with _database().session() as session:
        services.set_active(session, username, True)
    click.echo(f"{username} is active")


@main.command("create-group", help="Create a group.")
@click.argument("name")
@click.option("--description")
@click.option("--if-missing", is_flag=True, help="Do nothing if the group already exists.")
@_errors
def create_group(name: str, description: str | None, if_missing: bool) -> None:
    with _database().session() as session:
        services.create_group(session, name, description, if_missing=if_missing)
    click.echo(f"group {name} ready")


@main.command("add-member", help="Put a user in a group (no change if already there).")
@click.argument("group")
@click.argument("username")
@_errors
def add_member(group: str, username: str) -> None:
    with _database().session() as session:
        services.add_member(session, group, username)
    click.echo(f"{username} is in {group}")


@main.command("remove-member", help="Take a user out of a group.")
@click.argument("group")
@click.argument("username")
@_errors
def remove_member(group: str, username: str) -> None:
    with _database().session() as session:
        services.remove_member(session, group, username)
    click.echo(f"{username} is not in {group}")


@main.command("grant-role", help="Give a user a role (no change if held already).")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@_errors
def grant_role(username: str, role: str) -> None:
    with _database().session() as session:
        services.grant_role(session, username, role)
    click.echo(f"{username} has the role {role}")


@main.command("revoke-role", help="Take a role from a user.")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@_errors
def revoke_role(username: str, role: str) -> None:
    with _database().session() as session:
        services.revoke_role(session, username, role)
    click.echo(f"{username} no longer has the role {role}")


@main.command("create-token", help="Create an API token for a user and print it (once).")
@click.argument("username")
@click.argument("name")
@click.option("--days", type=click.IntRange(1, 3650), help="Expire after this many days.")
@_errors
def create_token(username: str, name: str, days: int | None) -> None:
    with _database().session() as session:
        owner = services.find_user(session, username)
        expires_at = None if days is None else datetime.now(UTC) + timedelta(days=days)
        token, _ = services.create_token(session, owner, name, expires_at)
    click.echo(token)


@main.command("list-users", help="Every account with its roles and groups.")
@_errors
def list_users() -> None:
    with _database().session() as session:
        users = services.list_users(session)
    for user in users:
        roles = ",".join(sorted(user.roles)) or "-"
        groups = ",".join(sorted(user.groups)) or "-"
        click.echo(f"{user.username:<24} roles={roles:<32} groups={groups}")


@main.command(help="Forget sign-in attempts and ended sessions older than some days.")
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True)
@_errors
def purge(days: int) -> None:
    with _database().session() as session:
        attempts, sessions = services.purge(session, timedelta(days=days))
    click.echo(f"forgot {attempts} sign-in attempts and {sessions} sessions")

"""Who is querying, and the rights their queries run with.

The database, not this service, decides which rows a query sees: a published table declared
with a row rule has row-level security, and its policy for the TAP reader compares each row's
owning group with the caller's groups (``jmmc_core.tap_publishing``); a rule may also let the
row's owner or an admin read it. This module states the groups, the account id and the admin
flag, in transaction-local settings the runner makes before the user's SQL. A user cannot
forge them: the ADQL allowlist refuses ``set_config`` and ``current_setting``; the runner sets the
value itself in every query's transaction, and a local setting ends with the transaction; a
connection going back to the pool is reset with ``DISCARD ALL``. A user's ADQL text is never
rewritten to filter rows.
"""

from dataclasses import dataclass

from sqlalchemy import Connection, select, text

from jmmc_core.accounts import User
from jmmc_core.accounts.rights import group_ids_of
from jmmc_core.accounts.schema import UserRow
from jmmc_core.database import Database
from jmmc_core.tap_publishing import (
    CALLER_ADMIN_SETTING,
    CALLER_GROUPS_SETTING,
    CALLER_USER_SETTING,
)

__all__ = ["CALLER_GROUPS_SETTING", "Caller", "apply_caller", "caller_of"]


@dataclass(frozen=True)
class Caller:
    user: User | None
    #: Whom per-client limits count against: ``user:<id>`` or ``address:<ip>``.
    client: str
    group_ids: tuple[int, ...] = ()
    #: The account row rules know (an owner reads their rows): None when anonymous or
    #: deactivated.
    account_id: int | None = None
    #: An active account holding the admin role.
    admin: bool = False


def apply_caller(connection: Connection, caller: Caller) -> None:
    """Inside the query's transaction, before the user's SQL."""
    settings = {
        CALLER_GROUPS_SETTING: "{" + ",".join(str(group) for group in caller.group_ids) + "}",
        CALLER_USER_SETTING: "" if caller.account_id is None else str(caller.account_id),
        CALLER_ADMIN_SETTING: "true" if caller.admin else "false",
    }
    connection.execute(
        text(
            "SELECT set_config(:groups_name, :groups, true), set_config(:user_name, :user, true),"
            " set_config(:admin_name, :admin, true)"
        ),
        {
            "groups_name": CALLER_GROUPS_SETTING,
            "groups": settings[CALLER_GROUPS_SETTING],
            "user_name": CALLER_USER_SETTING,
            "user": settings[CALLER_USER_SETTING],
            "admin_name": CALLER_ADMIN_SETTING,
            "admin": settings[CALLER_ADMIN_SETTING],
        },
    )


def caller_of(database: Database, user: User | None, client: str) -> Caller:
    """The caller with the ids of the groups holding ``user`` (none when anonymous), read now,
    so a membership granted or revoked a moment ago counts. An account deactivated since
    ``user`` was resolved (the owner of a queued job) has no group."""
    if user is None:
        return Caller(None, client)
    with database.session() as session:
        active = session.scalar(select(UserRow.active).where(UserRow.id == user.id))
        group_ids = session.scalars(group_ids_of(user)).all() if active else ()
    if not active:
        return Caller(user, client)
    return Caller(
        user, client, tuple(sorted(group_ids)), account_id=user.id, admin=user.has_role("admin")
    )

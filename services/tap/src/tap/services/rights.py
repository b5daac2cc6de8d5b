"""Who is querying, and the rights their queries run with.

The database, not this service, decides which rows a query sees: a published table declared
with a row rule has row-level security, and its policy for the TAP reader compares each row's
owning group with the caller's groups (``jmmc_core.tap_publishing``). This module states those
groups, in a transaction-local setting the runner makes before the user's SQL. A user cannot
forge it: the ADQL allowlist refuses ``set_config`` and ``current_setting``; the runner sets the
value itself in every query's transaction, and a local setting ends with the transaction; a
connection going back to the pool is reset with ``DISCARD ALL``. A user's ADQL text is never
rewritten to filter rows.
"""

from dataclasses import dataclass

from sqlalchemy import Connection, exists, text

from jmmc_core.accounts import User
from jmmc_core.accounts.rights import group_ids_of
from jmmc_core.accounts.schema import UserRow
from jmmc_core.database import Database
from jmmc_core.tap_publishing import CALLER_GROUPS_SETTING

__all__ = ["CALLER_GROUPS_SETTING", "Caller", "apply_caller", "caller_of"]


@dataclass(frozen=True)
class Caller:
    user: User | None
    #: Whom per-client limits count against: ``user:<id>`` or ``address:<ip>``.
    client: str
    group_ids: tuple[int, ...] = ()


def apply_caller(connection: Connection, caller: Caller) -> None:
    """Inside the query's transaction, before the user's SQL."""
    groups = "{" + ",".join(str(group) for group in caller.group_ids) + "}"
    connection.execute(
        text("SELECT set_config(:name, :groups, true)"),
        {"name": CALLER_GROUPS_SETTING, "groups": groups},
    )


def caller_of(database: Database, user: User | None, client: str) -> Caller:
    """The caller with the ids of the groups holding ``user`` (none when anonymous), read now,
    so a membership granted or revoked a moment ago counts. An account deactivated since
    ``user`` was resolved (the owner of a queued job) has no group."""
    if user is None:
        return Caller(None, client)
    still_active = exists().where(UserRow.id == user.id, UserRow.active)
    with database.session() as session:
        group_ids = session.scalars(group_ids_of(user).where(still_active)).all()
    return Caller(user, client, tuple(sorted(group_ids)))

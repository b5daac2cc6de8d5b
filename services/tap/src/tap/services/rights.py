"""Who is querying, and the rights their queries run with.

The server states the caller's groups in a transaction-local setting before the user's SQL
runs; row-level policies on the published tables read it (see
``jmmc_core.tap_publishing``). The ADQL allowlist keeps ``set_config`` out of user queries, so
only the server sets it.
"""

from dataclasses import dataclass

from sqlalchemy import Connection, text

from jmmc_core.accounts import User
from jmmc_core.database import Database

#: Transaction-local setting naming the caller's group ids (``{1,5}``), read by row policies.
CALLER_GROUPS_SETTING = "jmmc.caller_groups"


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
    """The caller with the ids of the groups holding ``user`` (none when anonymous)."""
    return Caller(user, client)

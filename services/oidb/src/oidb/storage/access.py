"""The caller's rights as the database sees them: the reader role and the caller's settings.

Row-level security (migration ``row_rights``) hides private collections, their files and
granules from ``oidb_reader`` unless the caller's groups (``jmmc.caller_groups``, the setting
TAP's reader is keyed on) hold a right on them or the caller is an admin
(``jmmc.caller_admin``). Both settings are transaction-local, so they end with the request's
transaction, like the role switch.
"""

from collections.abc import Iterable

from sqlalchemy import ColumnElement, exists, func, or_, select, text
from sqlalchemy.orm import Session

from jmmc_core.accounts.rights import group_ids_of
from jmmc_core.accounts.schema import UserRow
from jmmc_core.accounts.services import User
from jmmc_core.tap_publishing import (
    CALLER_ADMIN_SETTING,
    CALLER_GROUPS_SETTING,
    CALLER_USER_SETTING,
)

from ..schema.catalogue import Collection, CollectionGroup

#: The role a request's reads run as; the policies are written for it.
READER_ROLE = "oidb_reader"


def group_ids(session: Session, user: User) -> list[int]:
    """The ids of the groups holding ``user`` now; none once the account is deactivated."""
    still_active = exists().where(UserRow.id == user.id, UserRow.active)
    return list(session.scalars(group_ids_of(user).where(still_active)))


def state_caller(session: Session, user_id: int | None, groups: Iterable[int], admin: bool) -> None:
    """State the caller for the rest of the transaction."""
    settings = {
        CALLER_USER_SETTING: "" if user_id is None else str(user_id),
        CALLER_GROUPS_SETTING: "{" + ",".join(str(group) for group in sorted(groups)) + "}",
        CALLER_ADMIN_SETTING: "true" if admin else "false",
    }
    for name, value in settings.items():
        session.execute(
            text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value}
        )


def become_reader(session: Session) -> None:
    """Run the rest of the transaction as the reader, to which the row rules apply."""
    session.execute(text(f"SET LOCAL ROLE {READER_ROLE}"))


def collection_readable() -> ColumnElement[bool]:
    """The collections' row rule as a condition, for sessions the rules do not apply to
    (writes); state_caller() must have run in the transaction."""
    return or_(~Collection.private, func.oidb.caller_reads(Collection.id))


def visible_collection(session: Session, collection_id: str) -> Collection | None:
    return session.scalar(
        select(Collection).where(Collection.id == collection_id, collection_readable())
    )


def rights_of_groups(session: Session, collection_id: str) -> dict[int, bool]:
    """``{group id: can_write}`` of the groups holding a right on the collection."""
    rows = session.execute(
        select(CollectionGroup.group_id, CollectionGroup.can_write).where(
            CollectionGroup.collection_id == collection_id
        )
    )
    return {group_id: can_write for group_id, can_write in rows}

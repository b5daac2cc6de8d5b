"""Who is asking, and what they may read, download and write.

Visibility is enforced by the database: every read made for a request goes through
:func:`reading`, a transaction run as the reader role with the caller's groups stated, in which
row-level security hides the private collections (their files and granules with them) from
anyone but their owner and groups; admins see everything. TAP's reader applies the same rule, keyed
on the same setting, to ``ivoa.obscore``.

The reader role makes the rule hold for every query the service writes, including one that
forgets it; it is no sandbox for foreign SQL (the session could reset its role), and the
service runs none: TAP's users run theirs as a login role that is only a TAP reader.

Metadata of an embargoed granule stay visible; its file, previews and DataLink ``#this`` need
:func:`downloadable`: the granule released (:mod:`.embargo`), or the caller an admin, the
collection's owner or a member of one of its groups.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jmmc_core.accounts.services import User
from jmmc_core.database import Database
from jmmc_core.errors import Forbidden, NotFound, Unauthorized

from ..schema.catalogue import Collection, Granule
from ..storage import access as storage
from .embargo import is_released

ADMIN_ROLE = "admin"


@dataclass(frozen=True)
class Caller:
    user: User | None
    group_ids: frozenset[int] = frozenset()
    admin: bool = False

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None


ANONYMOUS = Caller(None)


def caller_of(database: Database, user: User | None) -> Caller:
    """The caller with the groups holding ``user`` now (a membership revoked a moment ago no
    longer counts); anonymous when ``user`` is None."""
    if user is None:
        return ANONYMOUS
    with database.session() as session:
        groups = storage.group_ids(session, user)
    return Caller(user, frozenset(groups), user.has_role(ADMIN_ROLE))


@contextmanager
def reading(database: Database, caller: Caller) -> Iterator[Session]:
    """A read-only transaction seeing only what ``caller`` may see."""
    with database.session() as session:
        storage.state_caller(session, caller.user_id, caller.group_ids, caller.admin)
        storage.become_reader(session)
        yield session


@contextmanager
def writing(database: Database, caller: Caller) -> Iterator[Session]:
    """A transaction that may write; rights are checked by the caller of this function
    (:func:`require_write`), with the caller stated for the rules it uses."""
    with database.session() as session:
        storage.state_caller(session, caller.user_id, caller.group_ids, caller.admin)
        yield session


def _holds_right(caller: Caller, collection: Collection, groups: dict[int, bool]) -> bool:
    return (
        caller.admin
        or (collection.owner_id is not None and collection.owner_id == caller.user_id)
        or not caller.group_ids.isdisjoint(groups)
    )


def can_download(caller: Caller, granule: Granule, collection: Collection) -> bool:
    """For pages choosing whether to show links: released, or the caller holds a right.
    ``collection`` must come from a session of the same caller (its groups are read)."""
    if is_released(granule.data_rights, granule.obs_release_date):
        return True
    session = Session.object_session(collection)
    groups = storage.rights_of_groups(session, collection.id) if session is not None else {}
    return _holds_right(caller, collection, groups)


def downloadable(session: Session, caller: Caller, granule_id: int) -> Granule:
    """The granule whose file (previews, ``#this``) ``caller`` may fetch.

    NotFound when unknown or invisible; Unauthorized (anonymous) or Forbidden (signed in)
    while it is embargoed and the caller holds no right on its collection."""
    found = session.execute(
        select(Granule, Collection)
        .join(Collection, Collection.id == Granule.obs_collection)
        .where(Granule.id == granule_id, storage.collection_readable())
    ).first()
    if found is None:
        raise NotFound(f"no granule {granule_id}")
    granule, collection = found
    if can_download(caller, granule, collection):
        return granule
    if caller.user is None:
        raise Unauthorized(f"granule {granule_id} is under embargo: sign in")
    raise Forbidden(f"granule {granule_id} is under embargo for the collection's groups")


def require_write(session: Session, caller: Caller, collection_id: str) -> Collection:
    """The collection ``caller`` may write: NotFound when invisible, Forbidden unless the
    caller owns it, is in one of its groups with the write right, or is an admin."""
    collection = storage.visible_collection(session, collection_id)
    if collection is None:
        raise NotFound(f"no collection {collection_id!r}")
    groups = storage.rights_of_groups(session, collection_id)
    writers = {group: True for group, can_write in groups.items() if can_write}
    if not _holds_right(caller, collection, writers):
        if caller.user is None:
            raise Unauthorized("sign in to write into a collection")
        raise Forbidden(f"you may not write into collection {collection_id!r}")
    return collection

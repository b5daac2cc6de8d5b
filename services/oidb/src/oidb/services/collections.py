"""Collections: create, change, list, and say which groups may read or write them.

Reads go through :func:`.access.reading` (a private collection is invisible to anyone but its
owner, its groups and admins); changes through :func:`.access.writing`. Signed-in submitters
and admins create collections and own what they create; the owner and admins change them and
their groups. A change of type or release date recomputes the release date of every file
granule of the collection in the same transaction.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from jmmc_core.database import Database
from jmmc_core.errors import Conflict, Forbidden, InvalidParameter, NotFound

from ..models.collections import CollectionChanges, GroupRights, NewCollection
from ..schema.catalogue import Collection
from ..storage import access as access_storage
from ..storage import collections as storage
from .access import Caller, reading, writing
from .embargo import granule_rights

#: Roles that may create collections.
CREATOR_ROLES = ("submitter", "admin")

#: Changes after which the granules' release dates are recomputed.
EMBARGO_TERMS = ("coltype", "release_date")


def list_collections(database: Database, caller: Caller) -> list[dict[str, Any]]:
    with reading(database, caller) as session:
        rows = storage.collections_with_counts(session)
        rights = storage.rights_of(session, [collection.id for collection, _ in rows])
    return _described(database, rows, rights)


def get_collection(database: Database, caller: Caller, collection_id: str) -> dict[str, Any]:
    with reading(database, caller) as session:
        rows = storage.collections_with_counts(session, collection_id)
        if not rows:
            raise NotFound(f"no collection {collection_id!r}")
        rights = storage.rights_of(session, [collection_id])
    return _described(database, rows, rights)[0]


def create_collection(database: Database, caller: Caller, new: NewCollection) -> dict[str, Any]:
    if caller.user is None or not any(caller.user.has_role(role) for role in CREATOR_ROLES):
        raise Forbidden("creating a collection needs the submitter role")
    values = _checked(new.model_dump()) | {"owner_id": caller.user.id}
    with writing(database, caller) as session:
        if not storage.insert_if_absent(session, values):
            raise Conflict(f"id: a collection {new.id!r} already exists")
    return get_collection(database, caller, new.id)


def update_collection(
    database: Database, caller: Caller, collection_id: str, changes: CollectionChanges
) -> dict[str, Any]:
    values = _checked(changes.model_dump(exclude_unset=True))
    with writing(database, caller) as session:
        _owned(session, caller, collection_id)
        if values:
            storage.update_collection(session, collection_id, values)
            if any(term in values for term in EMBARGO_TERMS):
                recompute_releases(session, session.get(Collection, collection_id))
    return get_collection(database, caller, collection_id)


def set_groups(
    database: Database, caller: Caller, collection_id: str, rights: GroupRights
) -> dict[str, Any]:
    wanted = {right.group: right.can_write for right in rights.groups}
    with writing(database, caller) as session:
        _owned(session, caller, collection_id)
        ids = storage.group_ids_by_name(session, wanted)
        unknown = sorted(set(wanted) - set(ids))
        if unknown:
            raise InvalidParameter("groups", f"no such group: {', '.join(unknown)}")
        storage.replace_rights(session, collection_id, {ids[name]: w for name, w in wanted.items()})
        storage.update_collection(session, collection_id, {})
    return get_collection(database, caller, collection_id)


def ensure_collection(
    session: Session,
    collection_id: str,
    title: str,
    coltype: str,
    private: bool = False,
    *,
    description: str | None = None,
    owner_id: int | None = None,
    release_date: datetime | None = None,
    datapi: str | None = None,
    groups: dict[int, bool] | None = None,
) -> Collection:
    """The collection, created as described when absent (an existing one is left as it is):
    for the demo data and the level-0 import. ``groups``: ``{group id: can_write}``."""
    values = {
        "id": collection_id,
        "title": title,
        "coltype": coltype,
        "private": private,
        "description": description,
        "owner_id": owner_id,
        "release_date": release_date,
        "datapi": datapi,
    }
    if storage.insert_if_absent(session, values) and groups:
        storage.replace_rights(session, collection_id, groups)
    return session.get(Collection, collection_id)


def recompute_releases(session: Session, collection: Collection) -> int:
    """Recompute the release date and rights of the collection's file granules; their count."""
    releases = [
        (granule_id, *granule_rights(collection, t_max, category, submitted=submitted))
        for granule_id, t_max, category, submitted in storage.file_granules(session, collection.id)
    ]
    storage.set_release(session, releases)
    return len(releases)


def _owned(session: Session, caller: Caller, collection_id: str) -> Collection:
    collection = access_storage.visible_collection(session, collection_id)
    if collection is None:
        raise NotFound(f"no collection {collection_id!r}")
    owner = collection.owner_id is not None and collection.owner_id == caller.user_id
    if not (owner or caller.admin):
        raise Forbidden(f"only the owner of collection {collection_id!r} may change it")
    return collection


#: Fields a collection always has: a change may not empty them.
REQUIRED = ("title", "coltype", "private")


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    """A release date without a time zone is taken as UTC."""
    for field in REQUIRED:
        if field in values and values[field] is None:
            raise InvalidParameter(field, "may not be null")
    release = values.get("release_date")
    if release is not None and release.tzinfo is None:
        values["release_date"] = release.replace(tzinfo=UTC)
    return values


def _described(
    database: Database,
    rows: Sequence[Row[tuple[Collection, int]]],
    rights: dict[str, dict[int, bool]],
) -> list[dict[str, Any]]:
    """The API's view of collections, with user and group names (read from the accounts,
    which the reader role cannot read)."""
    group_ids = {group for held in rights.values() for group in held}
    owner_ids = {collection.owner_id for collection, _ in rows if collection.owner_id}
    with database.session() as session:
        group_names = storage.group_names(session, group_ids)
        owners = storage.user_names(session, owner_ids)
    return [
        {
            "id": collection.id,
            "title": collection.title,
            "description": collection.description,
            "coltype": collection.coltype,
            "private": collection.private,
            "release_date": collection.release_date,
            "datapi": collection.datapi,
            "owner": owners.get(collection.owner_id),
            "groups": [
                {"group": group_names[group], "can_write": can_write}
                for group, can_write in sorted(rights.get(collection.id, {}).items())
                if group in group_names
            ],
            "granules": granules,
            "created": collection.created,
            "updated": collection.updated,
        }
        for collection, granules in rows
    ]

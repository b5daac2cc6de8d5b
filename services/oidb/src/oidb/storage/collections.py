"""SQL of the collections: rows, their groups' rights, and the inputs of the embargo."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.orm import Session

from jmmc_core.accounts.schema import GroupRow, UserRow

from ..schema.catalogue import Collection, CollectionGroup, Granule


def collections_with_counts(
    session: Session, collection_id: str | None = None
) -> Sequence[Row[tuple[Collection, int]]]:
    """Collections (one, or all) with their number of granules, as the session sees them."""
    counts = (
        select(Granule.obs_collection, func.count().label("granules"))
        .group_by(Granule.obs_collection)
        .subquery()
    )
    query = (
        select(Collection, func.coalesce(counts.c.granules, 0))
        .outerjoin(counts, counts.c.obs_collection == Collection.id)
        .order_by(Collection.id)
    )
    if collection_id is not None:
        query = query.where(Collection.id == collection_id)
    return session.execute(query).all()


def rights_of(session: Session, collection_ids: Iterable[str]) -> dict[str, dict[int, bool]]:
    """``{collection id: {group id: can_write}}``."""
    rights: dict[str, dict[int, bool]] = {}
    rows = session.execute(
        select(CollectionGroup).where(CollectionGroup.collection_id.in_(list(collection_ids)))
    ).scalars()
    for row in rows:
        rights.setdefault(row.collection_id, {})[row.group_id] = row.can_write
    return rights


def insert_if_absent(session: Session, values: Mapping[str, Any]) -> bool:
    """Whether the collection was inserted (False: the id is taken)."""
    inserted = session.execute(
        upsert(Collection).values(**values).on_conflict_do_nothing().returning(Collection.id)
    ).scalar()
    return inserted is not None


def update_collection(session: Session, collection_id: str, values: Mapping[str, Any]) -> None:
    session.execute(
        update(Collection)
        .where(Collection.id == collection_id)
        .values(**values, updated=func.now())
    )
    session.expire_all()


def replace_rights(session: Session, collection_id: str, rights: Mapping[int, bool]) -> None:
    session.execute(delete(CollectionGroup).where(CollectionGroup.collection_id == collection_id))
    if rights:
        session.execute(
            insert(CollectionGroup),
            [
                {"collection_id": collection_id, "group_id": group, "can_write": can_write}
                for group, can_write in rights.items()
            ],
        )


def group_ids_by_name(session: Session, names: Iterable[str]) -> dict[str, int]:
    rows = session.execute(select(GroupRow.name, GroupRow.id).where(GroupRow.name.in_(list(names))))
    return {name: group_id for name, group_id in rows}


def group_names(session: Session, group_ids: Iterable[int]) -> dict[int, str]:
    rows = session.execute(
        select(GroupRow.id, GroupRow.name).where(GroupRow.id.in_(list(group_ids)))
    )
    return {group_id: name for group_id, name in rows}


def user_names(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    rows = session.execute(
        select(UserRow.id, UserRow.username).where(UserRow.id.in_(list(user_ids)))
    )
    return {user_id: name for user_id, name in rows}


def file_granules(session: Session, collection_id: str) -> Sequence[Row]:
    """What the embargo of the collection's file granules (levels 1-3) is computed from."""
    return session.execute(
        select(Granule.id, Granule.t_max, Granule.dataproduct_category, Granule.subdate).where(
            Granule.obs_collection == collection_id, Granule.calib_level > 0
        )
    ).all()


def set_release(session: Session, releases: Sequence[tuple[int, datetime | None, str]]) -> None:
    """``(granule id, obs_release_date, data_rights)`` for each granule."""
    if releases:
        session.execute(
            update(Granule),
            [
                {"id": granule_id, "obs_release_date": date, "data_rights": rights}
                for granule_id, date, rights in releases
            ],
        )

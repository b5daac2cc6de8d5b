"""Granule writes: the granules of an OIFITS file, and the level-0 upsert of the ObsPortal import.

Ids come from the table's sequence before the insert, so each row carries its identifier
(``obs_publisher_did``) and its DataLink URL from the start, with no second pass.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, literal_column, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..schema import Granule

#: What identifies a level-0 granule (the unique index the import upserts on).
_LEVEL0_KEY = ("obs_id", "obs_collection", "instrument_mode")


def reserve_granule_ids(session: Session, count: int) -> list[int]:
    """``count`` new granule ids from the table's sequence."""
    if count == 0:
        return []
    sequence = func.pg_get_serial_sequence("oidb.granules", "id")
    return list(
        session.scalars(select(func.nextval(sequence)).select_from(func.generate_series(1, count)))
    )


def insert_granules(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Granule), list(rows))


def granule_ids_of_file(session: Session, file_id: int) -> list[int]:
    return list(
        session.scalars(select(Granule.id).where(Granule.file_id == file_id).order_by(Granule.id))
    )


def delete_file_granules(session: Session, file_id: int) -> None:
    session.execute(delete(Granule).where(Granule.file_id == file_id))


def upsert_level0(session: Session, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """Insert new level-0 granules, update those whose values changed; answer (inserted,
    updated). A row equal to the stored one is left alone (its ``subdate`` too), so a re-run
    changes nothing. Rows must carry ``id`` and ``obs_publisher_did``, kept only on insert."""
    if not rows:
        return 0, 0
    statement = insert(Granule)
    changing = [name for name in rows[0] if name not in ("id", "obs_publisher_did", *_LEVEL0_KEY)]
    stored = tuple_(*(getattr(Granule, name) for name in changing))
    incoming = tuple_(*(getattr(statement.excluded, name) for name in changing))
    statement = statement.on_conflict_do_update(
        index_elements=list(_LEVEL0_KEY),
        index_where=text("calib_level = 0"),
        set_={
            **{name: getattr(statement.excluded, name) for name in changing},
            "subdate": func.now(),
        },
        where=stored.is_distinct_from(incoming),
    ).returning(literal_column("xmax = 0"))
    inserted = updated = 0
    for was_inserted in session.scalars(statement, list(rows)):
        if was_inserted:
            inserted += 1
        else:
            updated += 1
    return inserted, updated

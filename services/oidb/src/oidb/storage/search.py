"""SQL of the granule search: one WHERE clause for the page, the JSON API and the VOTable.

Every function takes the session of the caller's reading context, in which PostgreSQL shows
only the rows the caller may see; nothing here filters by rights.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    false,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Session

from jmmc_core.accounts.schema import UserRow
from jmmc_core.spherical import Cone, position

from ..schema.catalogue import Collection, CollectionGroup, Granule, OifitsFile

#: pg_sphere points from degrees, as the GiST index ``ix_granules_position`` is built.
_POSITION = position(Granule.s_ra, Granule.s_dec)


@dataclass(frozen=True)
class TextMatch:
    """A text criterion: ``exact`` (case-insensitive), ``prefix`` or ``contains``; ``negated``
    keeps the rows that do not match (and those without a value)."""

    value: str
    how: str = "exact"
    negated: bool = False


@dataclass(frozen=True)
class SearchCriteria:
    """What a search asks for; a criterion left empty matches everything."""

    target: TextMatch | None = None
    instrument: TextMatch | None = None
    facility: TextMatch | None = None
    collection: TextMatch | None = None
    progid: TextMatch | None = None
    datapi: TextMatch | None = None
    proposal_subid: TextMatch | None = None
    obs_id: TextMatch | None = None
    calib_levels: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()
    cone: Cone | None = None
    #: MJD bounds of the observation (granules overlapping [from, to]).
    mjd_from: float | None = None
    mjd_to: float | None = None
    #: Wavelength ranges in metres; a granule overlapping any of them matches.
    wavelength_ranges: tuple[tuple[float, float], ...] = ()
    #: True: only data anyone may download now; False: only embargoed data.
    public: bool | None = None
    #: Granule ids (the granules an upload made).
    ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Ordering:
    """Sort keys (column names of :data:`SORTABLE`) and whether each is descending."""

    keys: tuple[tuple[str, bool], ...] = field(default_factory=tuple)


#: Columns a search may sort on.
SORTABLE: dict[str, ColumnElement] = {
    name: getattr(Granule, name)
    for name in (
        "id",
        "target_name",
        "s_ra",
        "s_dec",
        "instrument_name",
        "instrument_mode",
        "facility_name",
        "t_min",
        "t_max",
        "em_min",
        "em_max",
        "calib_level",
        "dataproduct_category",
        "obs_collection",
        "progid",
        "datapi",
        "nb_vis2",
        "nb_t3",
        "obs_release_date",
        "subdate",
    )
}


def is_public() -> ColumnElement[bool]:
    """Anyone may download the granule now (the original's public test)."""
    return or_(
        Granule.data_rights == "public",
        func.coalesce(Granule.obs_release_date <= func.now(), false()),
    )


#: What the listings show of each granule.
SUMMARY_COLUMNS: tuple[ColumnElement, ...] = (
    Granule.id,
    Granule.obs_collection,
    Collection.title.label("collection_title"),
    Granule.target_name,
    Granule.s_ra,
    Granule.s_dec,
    Granule.instrument_name,
    Granule.instrument_mode,
    Granule.facility_name,
    Granule.interferometer_stations,
    Granule.t_min,
    Granule.t_max,
    Granule.em_min,
    Granule.em_max,
    Granule.calib_level,
    Granule.dataproduct_category,
    Granule.progid,
    Granule.datapi,
    Granule.nb_channels,
    Granule.nb_vis,
    Granule.nb_vis2,
    Granule.nb_t3,
    Granule.data_rights,
    Granule.obs_release_date,
    not_(is_public()).label("embargoed"),
)


def _values(row: Any) -> dict[str, Any]:
    """A row as a dict, NaN (possible in measured values) as None, which JSON can carry."""
    return {
        key: None if isinstance(value, float) and math.isnan(value) else value
        for key, value in row._mapping.items()
    }


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _text_condition(column: ColumnElement, match: TextMatch) -> ColumnElement[bool]:
    escaped = _like_escaped(match.value)
    pattern = {"exact": escaped, "prefix": f"{escaped}%", "contains": f"%{escaped}%"}[match.how]
    condition = column.ilike(pattern, escape="\\")
    if match.negated:
        return or_(column.is_(None), not_(condition))
    return condition


def conditions(criteria: SearchCriteria) -> list[ColumnElement[bool]]:
    """The WHERE conditions selecting the granules that meet ``criteria``."""
    found: list[ColumnElement[bool]] = []
    for name, column in (
        ("target", Granule.target_name),
        ("instrument", Granule.instrument_name),
        ("facility", Granule.facility_name),
        ("collection", Granule.obs_collection),
        ("progid", Granule.progid),
        ("datapi", Granule.datapi),
        ("proposal_subid", Granule.proposal_subid),
        ("obs_id", Granule.obs_id),
    ):
        if (match := getattr(criteria, name)) is not None:
            found.append(_text_condition(column, match))
    if criteria.calib_levels:
        found.append(Granule.calib_level.in_(criteria.calib_levels))
    if criteria.categories:
        # An empty category counts as SCIENCE, as for the embargo.
        category = func.coalesce(func.upper(Granule.dataproduct_category), "SCIENCE")
        found.append(category.in_(criteria.categories))
    if criteria.cone is not None:
        found.append(criteria.cone.contains(_POSITION))
    if criteria.mjd_from is not None:
        found.append(Granule.t_max >= criteria.mjd_from)
    if criteria.mjd_to is not None:
        found.append(Granule.t_min <= criteria.mjd_to)
    if criteria.wavelength_ranges:
        found.append(
            or_(
                *(
                    and_(Granule.em_min <= high, Granule.em_max >= low)
                    for low, high in criteria.wavelength_ranges
                )
            )
        )
    if criteria.public is not None:
        found.append(is_public() if criteria.public else not_(is_public()))
    if criteria.ids:
        found.append(Granule.id.in_(criteria.ids))
    return found


def _ordered(query: Select, ordering: Ordering) -> Select:
    clauses = []
    for name, descending in ordering.keys:
        column = SORTABLE[name]
        clauses.append(column.desc().nulls_last() if descending else column.asc().nulls_last())
    return query.order_by(*clauses, Granule.id)


def summary_query(criteria: SearchCriteria) -> Select:
    """The SELECT of :data:`SUMMARY_COLUMNS` of matching granules, unordered."""
    return (
        select(*SUMMARY_COLUMNS)
        .join(Collection, Collection.id == Granule.obs_collection)
        .where(*conditions(criteria))
    )


def search_page(
    session: Session, criteria: SearchCriteria, ordering: Ordering, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of matching granules (as dicts of :data:`SUMMARY_COLUMNS`) and their total."""
    total = session.scalar(select(func.count()).select_from(Granule).where(*conditions(criteria)))
    rows = session.execute(_ordered(summary_query(criteria), ordering).limit(limit).offset(offset))
    return [_values(row) for row in rows], total or 0


def search_rows(
    session: Session, columns: Sequence[ColumnElement], criteria: SearchCriteria, ordering: Ordering
) -> Iterator[tuple]:
    """Every matching granule as a tuple of ``columns``, read in batches."""
    query = _ordered(
        select(*columns)
        .join(Collection, Collection.id == Granule.obs_collection)
        .where(*conditions(criteria)),
        ordering,
    )
    result = session.execute(query.execution_options(yield_per=2000))
    try:
        yield from (tuple(row) for row in result)
    finally:
        result.close()


def instrument_summary(session: Session, criteria: SearchCriteria) -> list[dict[str, Any]]:
    """Distinct instruments, facilities and stations of a search, with their first night."""
    rows = session.execute(
        select(
            Granule.instrument_name,
            Granule.facility_name,
            Granule.interferometer_stations,
            func.min(Granule.t_min).label("t_min"),
        )
        .where(*conditions(criteria))
        .group_by(Granule.instrument_name, Granule.facility_name, Granule.interferometer_stations)
        .order_by(Granule.interferometer_stations)
    )
    return [_values(row) for row in rows]


def granule(session: Session, granule_id: int) -> dict[str, Any] | None:
    """Every column of one granule, its collection's title and type, ``embargoed``."""
    row = session.execute(
        select(
            Granule.__table__,
            Collection.title.label("collection_title"),
            Collection.coltype.label("collection_type"),
            not_(is_public()).label("embargoed"),
        )
        .join(Collection, Collection.id == Granule.obs_collection)
        .where(Granule.id == granule_id)
    ).first()
    return None if row is None else _values(row)


def oifits_file(session: Session, file_id: int) -> dict[str, Any] | None:
    """The file a granule comes from: name, size, state, report."""
    row = session.execute(
        select(
            OifitsFile.id,
            OifitsFile.filename,
            OifitsFile.md5,
            OifitsFile.size_bytes,
            OifitsFile.state,
            OifitsFile.report,
            OifitsFile.header,
            OifitsFile.submitted,
        ).where(OifitsFile.id == file_id)
    ).first()
    return None if row is None else _values(row)


def collections(session: Session) -> list[dict[str, Any]]:
    """Every visible collection with its granule count, by title."""
    counts = (
        select(Granule.obs_collection, func.count().label("granule_count"))
        .group_by(Granule.obs_collection)
        .subquery()
    )
    rows = session.execute(
        select(
            Collection.id,
            Collection.title,
            Collection.coltype,
            Collection.private,
            Collection.datapi,
            Collection.release_date,
            func.coalesce(counts.c.granule_count, 0).label("granule_count"),
        )
        .outerjoin(counts, counts.c.obs_collection == Collection.id)
        .order_by(Collection.title, Collection.id)
    )
    return [_values(row) for row in rows]


def collection(session: Session, collection_id: str) -> dict[str, Any] | None:
    """One collection's columns and its granule count."""
    row = session.execute(
        select(
            Collection.__table__,
            select(func.count())
            .where(Granule.obs_collection == Collection.id)
            .scalar_subquery()
            .label("granule_count"),
        ).where(Collection.id == collection_id)
    ).first()
    return None if row is None else _values(row)


def distinct_values(session: Session, column_name: str) -> list[str]:
    """The distinct non-empty values of a granule column (the form's choices)."""
    column = getattr(Granule, column_name)
    rows = session.scalars(select(column).where(column.is_not(None)).distinct().order_by(column))
    return list(rows)


def username(session: Session, user_id: int) -> str | None:
    """The account name of a collection's owner."""
    return session.scalar(select(UserRow.username).where(UserRow.id == user_id))


def writable_collections(
    session: Session, user_id: int | None, group_ids: frozenset[int], admin: bool
) -> list[dict[str, Any]]:
    """The collections a caller may add files to: owned, written by one of their groups, or
    any visible one for an admin."""
    query = select(Collection.id, Collection.title, Collection.coltype).order_by(
        Collection.title, Collection.id
    )
    if not admin:
        query = query.where(
            or_(
                Collection.owner_id == user_id,
                Collection.id.in_(
                    select(CollectionGroup.collection_id).where(
                        CollectionGroup.can_write, CollectionGroup.group_id.in_(group_ids)
                    )
                ),
            )
        )
    return [_values(row) for row in session.execute(query)]

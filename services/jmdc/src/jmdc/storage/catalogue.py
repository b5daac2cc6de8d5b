"""SQL of the catalogue: searches over the current measurements or one release's entries.

One query builder serves both: a release entry has the same value columns as a measurement
(:class:`jmdc.schema.MeasurementValues`) plus its position, so a search of release ``n`` is
the same WHERE clause over ``release_entries`` restricted to ``release_number = n``.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from jmmc_core.spherical import Cone, position

from ..schema import Measurement, ReleaseEntry
from ..schema.catalogue import name_key

#: Value columns every search returns, in the published order, then the position.
VALUE_COLUMNS = (
    "id1", "id2", "ud_diameter", "e_ud_diameter", "ld_diameter", "e_ld_diameter", "band",
    "mu_lambda", "method", "band_code", "notes", "bibcode", "sinpe", "ra", "dec",
)  # fmt: skip
#: What listings may sort on.
SORTABLE = ("id1", "ud_diameter", "ld_diameter", "band", "method", "band_code", "bibcode", "id")


@dataclass(frozen=True)
class Filters:
    """Checked search conditions; ``None`` matches everything."""

    name_key: str | None = None
    cone: Cone | None = None
    band_code: int | None = None
    band: str | None = None
    method: int | None = None
    bibcode: str | None = None
    release: int | None = None


def _source(release: int | None) -> tuple[Any, ColumnElement, list[ColumnElement]]:
    """The table searched, its measurement identifier and the conditions choosing its rows."""
    if release is None:
        return Measurement, Measurement.id, [Measurement.withdrawn.is_(None)]
    return ReleaseEntry, ReleaseEntry.measurement_id, [ReleaseEntry.release_number == release]


def _conditions(table: Any, filters: Filters) -> list[ColumnElement]:
    conditions: list[ColumnElement] = []
    if filters.name_key is not None:
        conditions.append(
            or_(name_key(table.id1) == filters.name_key, name_key(table.id2) == filters.name_key)
        )
    if filters.cone is not None:
        conditions.append(filters.cone.contains(position(table.ra, table.dec)))
    if filters.band_code is not None:
        conditions.append(table.band_code == filters.band_code)
    if filters.band is not None:
        conditions.append(func.lower(table.band) == filters.band.lower())
    if filters.method is not None:
        conditions.append(table.method == filters.method)
    if filters.bibcode is not None:
        conditions.append(table.bibcode == filters.bibcode)
    return conditions


def _select(filters: Filters) -> tuple[Select, dict[str, ColumnElement]]:
    table, identifier, conditions = _source(filters.release)
    columns = {"id": identifier} | {name: getattr(table, name) for name in VALUE_COLUMNS}
    statement = select(*(column.label(name) for name, column in columns.items())).where(
        *conditions, *_conditions(table, filters)
    )
    return statement, columns


def _ordered(
    statement: Select, columns: dict[str, ColumnElement], sort: Sequence[tuple[str, bool]]
) -> Select:
    keys = [columns[name].desc() if descending else columns[name] for name, descending in sort]
    if not any(name == "id" for name, _ in sort):
        keys.append(columns["id"])  # a stable order across pages
    return statement.order_by(*(key.nulls_last() for key in keys))


def search_page(
    session: Session, filters: Filters, sort: Sequence[tuple[str, bool]], offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of matching rows, and how many rows match in all."""
    statement, columns = _select(filters)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    page = session.execute(_ordered(statement, columns, sort).offset(offset).limit(limit))
    return [dict(row._mapping) for row in page], total


def search_rows(
    session: Session, filters: Filters, sort: Sequence[tuple[str, bool]], batch: int = 2000
) -> Iterator[Mapping[str, Any]]:
    """Every matching row (a read-only mapping by column name), read from a server-side cursor
    in batches: constant memory, no copy per row."""
    statement, columns = _select(filters)
    result = session.execute(
        _ordered(statement, columns, sort), execution_options={"yield_per": batch}
    )
    return (row._mapping for row in result)


def star_names(session: Session, key: str) -> list[str]:
    """The ID1 spellings of the star whose name key is ``key`` (any measurement, current)."""
    statement = (
        select(Measurement.id1)
        .where(name_key(Measurement.id1) == key, Measurement.withdrawn.is_(None))
        .distinct()
        .order_by(Measurement.id1)
    )
    return list(session.scalars(statement))

"""SQL of the JSON API and the web pages: paged, sorted listings and single records.

Each resource is a :class:`Listing`: its FROM clause, its output columns and the columns a
caller may sort on. Sorting is only ever by a whitelisted name, never by caller text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from jmmc_core.paging import Page

from .search import COLUMNS as EXPOSURE_COLUMNS
from .search import Query, fetch_all


@dataclass(frozen=True)
class Listing:
    from_sql: str
    columns: dict[str, str]
    sortable: dict[str, str]
    key: str

    def select(self, names: Sequence[str] | None = None) -> str:
        names = names or list(self.columns)
        return ", ".join(f"{self.columns[name]} AS {name}" for name in names)


EXPOSURES = Listing(
    from_sql=(
        " FROM exposures e JOIN observations o ON o.id = e.observation_id"
        " LEFT JOIN programs p ON p.id = e.program_id"
    ),
    columns={
        "exp_id": "e.exp_id",
        "header_id": "e.header_id",
        "obs_id": "e.observation_id",
        "obs_type": "o.obs_type",
        "program_id": "e.program_id",
        "program_title": "p.title",
        "program_pi_coi": "p.pi_coi",
        "target_id": "o.target_id",
        "target_name": "e.target_name",
        "target_ra": "e.target_ra",
        "target_dec": "e.target_dec",
        "interferometer_name": "e.interferometer_name",
        "interferometer_stations": "e.interferometer_stations",
        "instrument_name": "e.instrument_name",
        "instrument_mode": "e.instrument_mode",
        "instrument_submode": "e.instrument_submode",
        "mjd_start": "e.mjd_start",
        "mjd_end": "e.mjd_end",
        "exposure_time": "e.exposure_time",
        "seeing": "e.seeing",
        "tau0": "e.tau0",
        "temperature": "e.temperature",
        "em_min": "e.em_min",
        "em_max": "e.em_max",
        "em_res_power": "e.em_res_power",
        "validation_level": "e.validation_level",
        "validation_log": "e.validation_log",
        "projected_baselines": "e.projected_baselines",
        "projected_baselines_text": EXPOSURE_COLUMNS["exp_projected_baselines"],
        "classification_rule": "e.classification_rule",
        "date_updated": "e.date_updated",
        "date_release": "e.date_release",
        "ingestion_run_id": "e.ingestion_run_id",
    },
    sortable={
        "exp_id": "e.exp_id",
        "mjd_start": "e.mjd_start",
        "target_name": "e.target_name",
        "instrument_name": "e.instrument_name",
        "instrument_mode": "e.instrument_mode",
        "obs_type": "o.obs_type",
        "program_id": "e.program_id",
        "seeing": "e.seeing",
        "tau0": "e.tau0",
        "date_updated": "e.date_updated",
    },
    key="e.exp_id",
)

OBSERVATIONS = Listing(
    from_sql=" FROM observations o JOIN targets t ON t.id = o.target_id",
    columns={
        "id": "o.id",
        "obs_type": "o.obs_type",
        "program_id": "o.program_id",
        "target_id": "o.target_id",
        "target_name": "t.name",
        "instrument_name": "o.instrument_name",
        "instrument_mode": "o.instrument_mode",
        "instrument_submode": "o.instrument_submode",
        "interferometer_name": "o.interferometer_name",
        "interferometer_stations": "o.interferometer_stations",
        "ob_id": "o.ob_id",
        "exposure_count": "(SELECT count(*) FROM exposures e WHERE e.observation_id = o.id)",
    },
    sortable={
        "id": "o.id",
        "target_name": "t.name",
        "instrument_name": "o.instrument_name",
        "program_id": "o.program_id",
    },
    key="o.id",
)

TARGETS = Listing(
    from_sql=" FROM targets t",
    columns={
        "id": "t.id",
        "name": "t.name",
        "ra": "t.ra",
        "dec": "t.dec",
        "identifier": "t.identifier",
        "identifier_ra": "t.identifier_ra",
        "identifier_dec": "t.identifier_dec",
        "resolution": "t.resolution",
        "exposure_count": (
            "(SELECT count(*) FROM exposures e JOIN observations o ON o.id = e.observation_id"
            " WHERE o.target_id = t.id)"
        ),
    },
    sortable={"id": "t.id", "name": "t.name", "ra": "t.ra", "dec": "t.dec"},
    key="t.id",
)

PROGRAMS = Listing(
    from_sql=" FROM programs p",
    columns={
        "id": "p.id",
        "title": "p.title",
        "pi_coi": "p.pi_coi",
        "exposure_count": "(SELECT count(*) FROM exposures e WHERE e.program_id = p.id)",
    },
    sortable={"id": "p.id", "title": "p.title"},
    key="p.id",
)

INGESTION_RUNS = Listing(
    from_sql=" FROM ingestion_runs r",
    columns={
        "id": "r.id",
        "source": "r.source",
        "status": "r.status",
        "started_at": "r.started_at",
        "finished_at": "r.finished_at",
        "read_count": "r.read_count",
        "accepted_count": "r.accepted_count",
        "changed_count": "r.changed_count",
        "excluded_count": "r.excluded_count",
        "rejected_count": "r.rejected_count",
        "excluded_by_rule": "r.excluded_by_rule",
        "rejected_by_reason": "r.rejected_by_reason",
        "error": "r.error",
    },
    sortable={"id": "r.id", "started_at": "r.started_at", "status": "r.status"},
    key="r.id",
)

REJECTS = Listing(
    from_sql=" FROM rejects j",
    columns={
        "id": "j.id",
        "run_id": "j.run_id",
        "header_id": "j.header_id",
        "source_name": "j.source_name",
        "reason": "j.reason",
        "detail": "j.detail",
    },
    sortable={"id": "j.id", "reason": "j.reason"},
    key="j.id",
)


def _as_dicts(names: Sequence[str], rows: list[tuple]) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in rows]


def list_page(
    engine: Engine,
    listing: Listing,
    where: Query,
    sort: Sequence[tuple[str, bool]],
    limit: int,
    offset: int,
    names: Sequence[str] | None = None,
) -> Page:
    """One page of ``listing`` rows meeting ``where`` (a possibly empty WHERE clause)."""
    names = list(names or listing.columns)
    order = [
        f"{listing.sortable[name]} {'DESC' if desc else 'ASC'} NULLS LAST" for name, desc in sort
    ]
    order.append(f"{listing.key} ASC")
    sql = (
        f"SELECT {listing.select(names)}, count(*) OVER () AS total"
        f"{listing.from_sql}{where.sql} ORDER BY {', '.join(order)}"
        " LIMIT %(limit)s OFFSET %(offset)s"
    )
    rows = fetch_all(engine, Query(sql, {**where.parameters, "limit": limit, "offset": offset}))
    if rows:
        total = rows[0][-1]
    elif offset:
        # A page past the end still reports how many there are.
        count_sql = f"SELECT count(*){listing.from_sql}{where.sql}"
        total = fetch_all(engine, Query(count_sql, where.parameters))[0][0]
    else:
        total = 0
    return Page(rows=_as_dicts(names, [row[:-1] for row in rows]), total=total)


def get_one(engine: Engine, listing: Listing, key: Any) -> dict[str, Any] | None:
    names = list(listing.columns)
    sql = f"SELECT {listing.select(names)}{listing.from_sql} WHERE {listing.key} = %(key)s"
    rows = fetch_all(engine, Query(sql, {"key": key}))
    return _as_dicts(names, rows)[0] if rows else None


def equal_filters(listing_columns: dict[str, str], filters: dict[str, Any]) -> Query:
    """``column = value`` for every filter given (not None)."""
    conditions, parameters = [], {}
    for name, value in filters.items():
        if value is None:
            continue
        conditions.append(f"{listing_columns[name]} = %({name})s")
        parameters[name] = value
    return Query(f" WHERE {' AND '.join(conditions)}" if conditions else "", parameters)


def instrument_names(engine: Engine) -> list[str]:
    rows = fetch_all(
        engine, Query("SELECT DISTINCT instrument_name FROM observations ORDER BY 1", {})
    )
    return [row[0] for row in rows]

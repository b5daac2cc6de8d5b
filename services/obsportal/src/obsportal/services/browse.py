"""Browsing the catalogue (JSON API, web pages): pages of exposures, observations, targets,
programmes and ingestion runs, and single records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from ..storage import browse
from ..storage.browse import Listing, Page
from ..storage.search import Query, SearchCriteria, where_clause
from .search import InvalidParameter

MAX_PAGE_SIZE = 1000


class NotFound(LookupError):
    """No record with that key."""

    def __init__(self, kind: str, key: Any) -> None:
        super().__init__(f"no {kind} {key!r}")
        self.kind = kind
        self.key = key


@dataclass(frozen=True)
class Paging:
    page: int = 1
    page_size: int = 50
    sort: str | None = None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def parse_sort(text: str | None, listing: Listing) -> list[tuple[str, bool]]:
    """``name`` or ``-name`` (descending), comma-separated, each a sortable column."""
    if not text:
        return []
    keys = []
    for item in text.split(","):
        item = item.strip()
        name, descending = (item[1:], True) if item.startswith("-") else (item, False)
        if name not in listing.sortable:
            raise InvalidParameter(
                "sort", f"cannot sort on {name!r}; sortable: {', '.join(listing.sortable)}"
            )
        keys.append((name, descending))
    return keys


def _page(engine: Engine, listing: Listing, where, paging: Paging, names=None) -> Page:
    if not 1 <= paging.page_size <= MAX_PAGE_SIZE:
        raise InvalidParameter("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    if paging.page < 1:
        raise InvalidParameter("page", "must be 1 or more")
    sort = parse_sort(paging.sort, listing)
    return browse.list_page(
        engine, listing, where, sort, paging.page_size, paging.offset, names=names
    )


#: What an exposure listing shows; the detail adds baselines, validation log and dates.
EXPOSURE_SUMMARY = (
    "exp_id",
    "obs_id",
    "obs_type",
    "program_id",
    "target_id",
    "target_name",
    "target_ra",
    "target_dec",
    "interferometer_name",
    "interferometer_stations",
    "instrument_name",
    "instrument_mode",
    "instrument_submode",
    "mjd_start",
    "mjd_end",
    "seeing",
    "tau0",
    "temperature",
    "validation_level",
    "date_updated",
)


def exposures(engine: Engine, criteria: SearchCriteria, paging: Paging) -> Page:
    return _page(engine, browse.EXPOSURES, where_clause(criteria), paging, EXPOSURE_SUMMARY)


def exposure(engine: Engine, exp_id: str) -> dict[str, Any]:
    return _one(engine, browse.EXPOSURES, "exposure", exp_id)


def observations(engine: Engine, filters: dict[str, Any], paging: Paging) -> Page:
    where = browse.equal_filters(browse.OBSERVATIONS.columns, filters)
    return _page(engine, browse.OBSERVATIONS, where, paging)


def observation(engine: Engine, obs_id: int) -> dict[str, Any]:
    return _one(engine, browse.OBSERVATIONS, "observation", obs_id)


def targets(engine: Engine, name: str | None, paging: Paging) -> Page:
    where = Query("", {})
    if name:
        where = Query(" WHERE t.name ILIKE %(name)s", {"name": f"%{name}%"})
    return _page(engine, browse.TARGETS, where, paging)


def target(engine: Engine, target_id: int) -> dict[str, Any]:
    return _one(engine, browse.TARGETS, "target", target_id)


def programs(engine: Engine, paging: Paging) -> Page:
    return _page(engine, browse.PROGRAMS, Query("", {}), paging)


def program(engine: Engine, program_id: str) -> dict[str, Any]:
    return _one(engine, browse.PROGRAMS, "programme", program_id)


def ingestion_runs(engine: Engine, paging: Paging) -> Page:
    return _page(engine, browse.INGESTION_RUNS, Query("", {}), paging)


def ingestion_run(engine: Engine, run_id: int) -> dict[str, Any]:
    return _one(engine, browse.INGESTION_RUNS, "ingestion run", run_id)


def rejects(engine: Engine, run_id: int, paging: Paging) -> Page:
    where = browse.equal_filters(browse.REJECTS.columns, {"run_id": run_id})
    return _page(engine, browse.REJECTS, where, paging)


def _one(engine: Engine, listing: Listing, kind: str, key: Any) -> dict[str, Any]:
    record = browse.get_one(engine, listing, key)
    if record is None:
        raise NotFound(kind, key)
    return record


def instrument_names(engine: Engine) -> list[str]:
    return browse.instrument_names(engine)

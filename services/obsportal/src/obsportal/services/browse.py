"""Browsing the catalogue (JSON API, web pages): pages of exposures, observations, targets,
programmes and ingestion runs, and single records."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine

from jmmc_core.errors import DATABASE_UNAVAILABLE, InvalidParameter, NotFound
from jmmc_core.paging import Page, Paging

from ..storage import browse
from ..storage.browse import Listing
from ..storage.search import TARGET_PATTERN, Query, SearchCriteria, where_clause

logger = logging.getLogger(__name__)


def _page(engine: Engine, listing: Listing, where, paging: Paging, names=None) -> Page:
    sort = paging.sort_keys(listing.sortable)
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


def check_page_exists(page: Page, paging: Paging) -> None:
    """A page number past the last page names no page: the first page always exists."""
    last = paging.pages(page.total)
    if paging.page > last:
        raise NotFound(
            f"there is no page {paging.page}: {page.total} exposures fill {last}"
            f" page{'' if last == 1 else 's'} of {paging.page_size}"
        )


def exposures(engine: Engine, criteria: SearchCriteria, paging: Paging) -> Page:
    """Oldest first unless asked otherwise, as the VOTables and exports answer."""
    paging = paging if paging.sort else replace(paging, sort="mjd_start")
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
        where = Query(f" WHERE t.name_key LIKE {TARGET_PATTERN}", {"target": name})
    return _page(engine, browse.TARGETS, where, paging)


def target(engine: Engine, target_id: int) -> dict[str, Any]:
    return _one(engine, browse.TARGETS, "target", target_id)


def programs(engine: Engine, paging: Paging) -> Page:
    return _page(engine, browse.PROGRAMS, Query("", {}), paging)


def program(engine: Engine, program_id: str) -> dict[str, Any]:
    return _one(engine, browse.PROGRAMS, "programme", program_id)


def ingestion_runs(engine: Engine, paging: Paging) -> Page:
    """Newest first unless asked otherwise."""
    paging = paging if paging.sort else replace(paging, sort="-id")
    return _page(engine, browse.INGESTION_RUNS, Query("", {}), paging)


def ingestion_run(engine: Engine, run_id: int) -> dict[str, Any]:
    return _one(engine, browse.INGESTION_RUNS, "ingestion run", run_id)


def rejects(engine: Engine, run_id: int, paging: Paging) -> Page:
    where = browse.equal_filters(browse.REJECTS.columns, {"run_id": run_id})
    return _page(engine, browse.REJECTS, where, paging)


def _one(engine: Engine, listing: Listing, kind: str, key: Any) -> dict[str, Any]:
    record = browse.get_one(engine, listing, key)
    if record is None:
        raise NotFound(f"no {kind} {key!r}")
    return record


def instrument_names(engine: Engine) -> list[str]:
    return browse.instrument_names(engine)


@dataclass(frozen=True)
class SearchPage:
    """What the search page shows besides its form: the instruments to choose from and, when
    a search was asked, its criteria and page of results, or why the form could not be read."""

    instruments: list[str]
    criteria: SearchCriteria | None = None
    results: Page | None = None
    error: InvalidParameter | None = None


def search_page(
    engine: Engine, read_form: Callable[[], SearchCriteria] | None, paging: Paging
) -> SearchPage | None:
    """The search page's data; None for the bare form while the database does not answer
    (the page then says so: the home page stays up), whereas a search asked then is a 503.

    A form that cannot be read is shown again with the reason beside it, the user's input
    kept, rather than left for an error page.
    """
    if read_form is None:
        try:
            return SearchPage(instrument_names(engine))
        except DATABASE_UNAVAILABLE:
            logger.warning("search form without choices: the database does not answer")
            return None
    instruments = instrument_names(engine)
    try:
        criteria = read_form()
    except InvalidParameter as error:
        return SearchPage(instruments, error=error)
    return SearchPage(instruments, criteria, exposures(engine, criteria, paging))

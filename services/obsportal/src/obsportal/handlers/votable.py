"""VOTable and CSV endpoints: ``search.votable`` (ASPRO2, OiDB), the exports and the cone search.

Parameters are declared in :mod:`obsportal.models.parameters` (names case-insensitive) and all
checked before the database is touched; errors are VOTable documents (an SCS ``Error`` INFO on
the cone search) answered by the app-wide handlers. Large answers stream as PostgreSQL
produces them.
"""

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from jmmc_core.dependencies import EngineDep, SettingsDep
from jmmc_core.errors import JsonRoute, ScsRoute, VOTableRoute
from jmmc_core.streaming import document_response
from jmmc_core.votable import VOTABLE_MEDIA_TYPE

from ..config import Settings
from ..models.parameters import ConeSearchParameters, ExportParameters, SearchParameters
from ..services.search import parse_bool, parse_choice, parse_criteria
from ..services.search_scs import parse_cone_search
from ..services.search_votable import (
    SERIALIZATIONS,
    columns_for,
    csv_document,
    votable_document,
)
from ..services.targets import resolved

router = APIRouter(tags=["VOTable"], route_class=VOTableRoute)
scs_router = APIRouter(tags=["VOTable"], route_class=ScsRoute)
csv_router = APIRouter(tags=["CSV"], route_class=JsonRoute)

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
_SEARCH_SUMMARY = "Exposures around a position or matching filters, as a TABLEDATA VOTable"


async def _criteria_and_columns(
    settings: Settings, engine: Engine, parameters: SearchParameters, all_fields: str
):
    """The search criteria (a name to resolve made a cone) and the columns asked for
    (``all_fields`` defaulting as given)."""
    given = parameters.model_dump(exclude_none=True)
    columns = columns_for(parse_bool("all_fields", given.get("all_fields", all_fields)))
    criteria = await run_in_threadpool(resolved, settings, engine, parse_criteria(given))
    return criteria, columns


async def _search_votable(
    settings: Settings, engine: Engine, parameters: SearchParameters
) -> Response:
    criteria, columns = await _criteria_and_columns(settings, engine, parameters, "false")
    document = votable_document(engine, criteria, columns)
    return await document_response(document, media_type=VOTABLE_MEDIA_TYPE)


@router.get(
    "/search.votable",
    summary=_SEARCH_SUMMARY,
    operation_id="search_votable_get",
    response_class=StreamingResponse,
)
async def search_votable(
    settings: SettingsDep, engine: EngineDep, parameters: Annotated[SearchParameters, Query()]
) -> Response:
    """ASPRO2 sends ``ra``, ``dec`` (degrees), ``radius`` (arcsec, default 30) and
    ``all_fields``; OiDB harvests with ``interferometer``, ``instrument`` and
    ``date_updated_from``/``date_updated_to`` (ISO 8601). ``resolve`` (a star name) searches
    the cone of ``radius`` around SIMBAD's position of that star instead of ``ra``/``dec``."""
    return await _search_votable(settings, engine, parameters)


@router.post(
    "/search.votable",
    summary=_SEARCH_SUMMARY,
    operation_id="search_votable_post",
    response_class=StreamingResponse,
)
async def search_votable_form(
    settings: SettingsDep, engine: EngineDep, parameters: Annotated[SearchParameters, Form()]
) -> Response:
    """The same search posted as a form, as ASPRO2 does."""
    return await _search_votable(settings, engine, parameters)


@router.get(
    "/export.votable",
    summary="The whole catalogue or a filtered part, streamed (TABLEDATA or BINARY2)",
    response_class=StreamingResponse,
)
async def export_votable(
    settings: SettingsDep, engine: EngineDep, parameters: Annotated[ExportParameters, Query()]
) -> Response:
    criteria, columns = await _criteria_and_columns(settings, engine, parameters, "true")
    serialization = parse_choice(
        "serialization", parameters.serialization or "tabledata", SERIALIZATIONS
    )
    return await document_response(
        votable_document(engine, criteria, columns, serialization),
        media_type=VOTABLE_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="obsportal-exposures.vot"'},
    )


@csv_router.get(
    "/export.csv",
    summary="The whole catalogue or a filtered part as CSV, streamed",
    response_class=StreamingResponse,
)
async def export_csv(
    settings: SettingsDep, engine: EngineDep, parameters: Annotated[SearchParameters, Query()]
) -> Response:
    criteria, columns = await _criteria_and_columns(settings, engine, parameters, "true")
    return await document_response(
        csv_document(engine, criteria, columns),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="obsportal-exposures.csv"'},
    )


@scs_router.get(
    "/scs",
    summary="Simple Cone Search 1.03 (RA, DEC, SR in degrees; VERB 1, 2 or 3)",
    response_class=StreamingResponse,
)
async def cone_search(
    engine: EngineDep, parameters: Annotated[ConeSearchParameters, Query()]
) -> Response:
    search = parse_cone_search(parameters.model_dump(exclude_none=True))
    document = votable_document(
        engine,
        search.criteria,
        search.columns,
        metadata_only=search.metadata_only,
        with_portal_params=False,
    )
    return await document_response(document, media_type=VOTABLE_MEDIA_TYPE)

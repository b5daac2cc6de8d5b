"""The granule search for scripts: ``/api/granules`` (JSON, paged) and ``search.votable``.

Both take the parameters of the search page (:class:`oidb.models.search.SearchParameters`)
and see what the caller may see; errors are JSON on the API, VOTable documents on
``search.votable`` (whose parameter names are case-insensitive).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response, StreamingResponse

from jmmc_core.errors import JsonRoute, VOTableRoute
from jmmc_core.streaming import document_response
from jmmc_core.votable import VOTABLE_MEDIA_TYPE

from ..dependencies import CallerDep, RuntimeDep
from ..models.search import GranuleList, SearchParameters
from ..services import search
from ..services.search_votable import votable_document

# A bad token is refused (401) even where anonymous callers are served.
api = APIRouter(
    prefix="/api", tags=["search"], route_class=JsonRoute, responses=JsonRoute.errors(401)
)
documents = APIRouter(tags=["search"], route_class=VOTableRoute, responses=VOTableRoute.errors(401))

#: Granule ids are PostgreSQL bigints: a larger number can only be unknown.
GranuleId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@api.get("/granules", response_model=GranuleList, summary="Search granules (paged, sorted)")
def list_granules(
    runtime: RuntimeDep, caller: CallerDep, parameters: Annotated[SearchParameters, Query()]
) -> dict[str, Any]:
    wanted = search.parse_search(parameters)
    return search.search(runtime.database, caller, wanted).as_json()


@api.get("/granules/{granule_id}", summary="Every column of one granule")
def get_granule(runtime: RuntimeDep, caller: CallerDep, granule_id: GranuleId) -> dict[str, Any]:
    return search.granule_json(runtime.database, caller, granule_id)


@documents.get(
    "/search.votable",
    response_class=StreamingResponse,
    summary="The granules of a search as a VOTable (every page), with ASPRO2's PARAMs",
)
async def search_votable(
    runtime: RuntimeDep, caller: CallerDep, parameters: Annotated[SearchParameters, Query()]
) -> Response:
    wanted = search.parse_search(parameters)
    return await document_response(
        votable_document(runtime.database, caller, wanted),
        media_type=VOTABLE_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="oidb-granules.vot"'},
    )


router = APIRouter()
router.include_router(api)
router.include_router(documents)

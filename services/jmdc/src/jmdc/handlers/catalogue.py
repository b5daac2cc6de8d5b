"""HTTP routes of JMDC: the catalogue page, per-star pages, the JSON search and the exports.

Criteria are the same everywhere (:class:`CatalogueParameters`), checked by the service layer
before any SQL; errors are pages, JSON or VOTable documents according to the route.
"""

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse

from jmmc_core.accounts.dependencies import optional_user
from jmmc_core.errors import HtmlRoute, JsonRoute, VOTableRoute
from jmmc_core.paging import MAX_PAGE, MAX_PAGE_SIZE, Page, Paging, PagingDep
from jmmc_core.streaming import document_response
from jmmc_core.web import add_template_folder, render

from .. import __version__
from ..dependencies import RuntimeDep
from ..models.catalogue import CatalogueParameters, MeasurementPage
from ..services import catalogue, exports

PACKAGE = Path(__file__).resolve().parents[1]
add_template_folder(PACKAGE / "templates")

router = APIRouter()
#: The home page: errors follow the client's Accept header (scripts read it as JSON).
home = APIRouter(include_in_schema=False)
pages = APIRouter(
    route_class=HtmlRoute, include_in_schema=False, dependencies=[Depends(optional_user)]
)
api = APIRouter(prefix="/api", tags=["Catalogue"], route_class=JsonRoute)
files = APIRouter(tags=["Exports"], route_class=JsonRoute)
votables = APIRouter(tags=["Exports"], route_class=VOTableRoute)

PAGE_SIZE = 50
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Sort = Annotated[str | None, Query(max_length=200)]
Criteria = Annotated[CatalogueParameters, Query()]
StarName = Annotated[str, PathParameter(max_length=200, description="ID1 of the star")]
Format = Annotated[str, Query(max_length=20, description="csv, xlsx, pdf or votable")]
#: Columns of the results tables: (sort key or None, heading).
RESULT_COLUMNS = (
    ("id1", "Star (ID1)"),
    (None, "ID2"),
    ("ud_diameter", "UD (mas)"),
    ("ld_diameter", "LD (mas)"),
    (None, "e_LD (mas)"),
    ("band", "Band"),
    ("method", "Method"),
    ("bibcode", "Bibcode"),
)


def _criteria(parameters: CatalogueParameters) -> catalogue.CatalogueCriteria:
    return catalogue.criteria_from_parameters(parameters.model_dump(exclude_none=True))


def results_context(
    request: Request, found: Page, paging: Paging, criteria: catalogue.CatalogueCriteria
) -> dict[str, Any]:
    """What the results table (``_measurements.html``) needs."""

    def link(**changes: Any) -> str:
        parameters = {**request.query_params, **changes}
        return "?" + urlencode({k: v for k, v in parameters.items() if v not in (None, "")})

    return {
        "found": found,
        "paging": paging,
        "pages": paging.pages(found.total),
        "columns": RESULT_COLUMNS,
        "link": link,
        "sort": paging.sort,
        "downloads": urlencode(criteria.parameters()),
    }


@home.get("/", response_class=HTMLResponse)
def catalogue_page(
    request: Request,
    runtime: RuntimeDep,
    parameters: Criteria,
    page: PageNumber = 1,
    sort: Sort = None,
) -> Response:
    """The catalogue for a browser; the service's facts as JSON for scripts and monitoring."""
    prefix = runtime.settings.public_prefix
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(
            {
                "service": runtime.settings.service_name,
                "version": __version__,
                "health": f"{prefix}/health",
                "docs": f"{prefix}/docs",
                "catalogue": f"{prefix}/api/measurements",
            }
        )
    criteria = _criteria(parameters)
    paging = Paging(page, PAGE_SIZE, sort or catalogue.DEFAULT_SORT)
    found = catalogue.search_if_reachable(runtime.database, criteria, paging)
    return render(
        request,
        "catalogue.html",
        form=parameters.model_dump(),
        described=criteria.describe(),
        export_base=f"{prefix}/export",
        methods=catalogue.METHODS,
        unavailable=found is None,
        **(results_context(request, found, paging, criteria) if found is not None else {}),
    )


@pages.get("/stars/{name}", response_class=HTMLResponse)
def star_page(request: Request, runtime: RuntimeDep, name: StarName) -> HTMLResponse:
    """Every measurement of one star, oldest publication first."""
    paging = Paging(1, MAX_PAGE_SIZE, "bibcode")
    with runtime.database.session() as session:
        spellings, found = catalogue.star(session, name, paging)
    return render(
        request,
        "star.html",
        name=spellings[0],
        spellings=spellings,
        found=found,
        position=next((row for row in found.rows if row["ra"] is not None), None),
        downloads=urlencode({"name": spellings[0]}),
        export_base=f"{runtime.settings.public_prefix}/export",
        methods=catalogue.METHODS,
    )


@pages.get("/static/jmdc.css")
def stylesheet() -> FileResponse:
    return FileResponse(PACKAGE / "static" / "jmdc.css", media_type="text/css")


@api.get("/measurements", response_model=MeasurementPage, summary="Search the catalogue")
def list_measurements(
    runtime: RuntimeDep, paging: PagingDep, parameters: Criteria
) -> dict[str, Any]:
    """Measurements of the current catalogue meeting the criteria, paged and sorted
    (``sort``: id1, ud_diameter, ld_diameter, band, method, band_code, bibcode, id)."""
    with runtime.database.session() as session:
        return catalogue.search(session, _criteria(parameters), paging).as_json(paging)


async def _export(
    runtime: RuntimeDep, parameters: CatalogueParameters, format: str, sort: str | None
) -> Response:
    criteria = _criteria(parameters)
    media_type, chunks = exports.search_export(runtime.database, criteria, format, sort)
    filename = f"jmdc-measurements.{exports.EXTENSIONS[format]}"
    return await document_response(
        chunks,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _documented(*formats: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI's 200 answer: the media types of ``formats``."""
    return {200: {"content": {exports.MEDIA_TYPES[f].split(";")[0]: {} for f in formats}}}


@files.get(
    "/export",
    summary="A search of the catalogue as CSV, xlsx, PDF or VOTable (format=...)",
    response_class=StreamingResponse,
    responses=_documented(*exports.FORMATS),
)
async def export_any(
    runtime: RuntimeDep, parameters: Criteria, format: Format = "csv", sort: Sort = None
) -> Response:
    return await _export(runtime, parameters, format.lower(), sort)


def _file_route(format: str, router: APIRouter, summary: str) -> None:
    @router.get(f"/export.{format}", summary=summary, response_class=StreamingResponse,
                operation_id=f"export_{format}", responses=_documented(format))  # fmt: skip
    async def export_file(runtime: RuntimeDep, parameters: Criteria, sort: Sort = None) -> Response:
        return await _export(runtime, parameters, format, sort)


_file_route("csv", files, "A search as CSV, the original portal's columns (bibcode second-to-last)")
_file_route("xlsx", files, "A search as an Excel workbook")
_file_route("pdf", files, "A search as a PDF table")
_file_route("votable", votables, "A search as a VOTable with units and UCDs")

for module_router in (home, pages, api, files, votables):
    router.include_router(module_router)

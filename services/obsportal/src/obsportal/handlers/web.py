"""Server-rendered pages: search (the home page), exposure detail (UV coverage, weather),
target, ingestion runs.

Pages extend the platform's layout (``jmmc/base.html``). An unknown record, a page number past
the end or a bad parameter is raised, and the app-wide handlers answer it as a page in the same
layout. Result tables and exposure pages offer their VOTable to SAMP clients (TOPCAT, Aladin)
through the platform's ``samp-send`` script.
"""

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from jmmc_core.accounts.dependencies import optional_user
from jmmc_core.dependencies import EngineDep, SettingsDep
from jmmc_core.errors import HtmlRoute
from jmmc_core.paging import MAX_PAGE, MAX_PAGE_SIZE, Page, Paging
from jmmc_core.web import add_template_folder, render

from ..services import browse
from ..services.search import SearchCriteria
from ..services.search_form import FORM_FIELDS, download_parameters, form_criteria
from ..services.targets import resolved
from ..services.uv_plot import uv_png, uv_tracks
from .api import IntegerKey, service_description

PACKAGE = Path(__file__).resolve().parents[1]
add_template_folder(PACKAGE / "templates")
router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
#: The home page: errors follow the client's Accept header (scripts read it as JSON), and it
#: does not look the user up itself (the platform's middleware does, even without a database).
home = APIRouter(include_in_schema=False)
#: The pages; their header shows who is signed in, so each looks the user up.
pages = APIRouter(
    route_class=HtmlRoute, include_in_schema=False, dependencies=[Depends(optional_user)]
)

PAGE_SIZE = 25
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Sort = Annotated[str, Query(max_length=200)]
#: Result columns of the search and target pages: (sort key, heading).
RESULT_COLUMNS = (
    ("exp_id", "Exposure"),
    ("target_name", "Target"),
    ("instrument_name", "Instrument"),
    ("instrument_mode", "Mode"),
    ("mjd_start", "MJD start"),
    ("obs_type", "Type"),
    ("program_id", "Programme"),
    ("seeing", "Seeing (\u2033)"),
)


def _link(request: Request, **changes: Any) -> str:
    parameters = {**request.query_params, **changes}
    return "?" + urlencode({k: v for k, v in parameters.items() if v not in (None, "")})


def _results(request: Request, page: Page, paging: Paging) -> dict[str, Any]:
    """What the results table of the search and target pages needs."""
    browse.check_page_exists(page, paging)
    return {
        "page": page,
        "paging": paging,
        "pages": paging.pages(page.total),
        "columns": RESULT_COLUMNS,
        "link": lambda **changes: _link(request, **changes),
        "sort": paging.sort,
    }


@home.get("/")
def home_page(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    page: PageNumber = 1,
    sort: Sort = "mjd_start",
) -> Response:
    """The search page for a browser; the service's description as JSON for scripts."""
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(service_description(request))
    return search_page(request, settings, engine, page, sort)


@pages.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    page: PageNumber = 1,
    sort: Sort = "mjd_start",
) -> HTMLResponse:
    form = {name: request.query_params.get(name, "") for name in FORM_FIELDS}
    paging = Paging(page, PAGE_SIZE, sort)
    asked = any(form.values()) or "page" in request.query_params
    found = browse.search_page(
        engine, (lambda: resolved(settings, engine, form_criteria(form))) if asked else None, paging
    )
    context: dict[str, Any] = {
        "form": form,
        "sort": sort,
        "unavailable": found is None,
        "instruments": found.instruments if found else [],
        "error": found.error if found else None,
    }
    if found is not None and found.results is not None:
        context |= _results(request, found.results, paging)
        context["downloads"] = urlencode(download_parameters(found.criteria))
    status = 400 if context["error"] else 200
    return render(request, "search.html", status=status, **context)


@pages.get("/detail/exposure/{exp_id}", response_class=HTMLResponse)
def exposure_page(request: Request, engine: EngineDep, exp_id: str) -> HTMLResponse:
    exposure = browse.exposure(engine, exp_id)
    return render(
        request,
        "exposure.html",
        exposure=exposure,
        baselines=sorted((exposure["projected_baselines"] or {}).items()),
        has_uv=bool(uv_tracks(exposure["projected_baselines"])),
        votable=urlencode({"exp_id": exp_id, "all_fields": "true"}),
    )


@router.get("/detail/exposure/{exp_id}/uv.png")
def exposure_uv_png(engine: EngineDep, exp_id: str) -> Response:
    return Response(uv_png(browse.exposure(engine, exp_id)), media_type="image/png")


@pages.get("/target/{target_id}", response_class=HTMLResponse)
def target_page(
    request: Request,
    engine: EngineDep,
    target_id: IntegerKey,
    page: PageNumber = 1,
    sort: Sort = "mjd_start",
) -> HTMLResponse:
    target = browse.target(engine, target_id)
    paging = Paging(page, PAGE_SIZE, sort)
    results = browse.exposures(engine, SearchCriteria(target_id=target_id), paging)
    return render(
        request,
        "target.html",
        target=target,
        downloads=urlencode({"target_id": target_id}),
        **_results(request, results, paging),
    )


@pages.get("/ingestion", response_class=HTMLResponse)
def ingestion_page(request: Request, engine: EngineDep) -> HTMLResponse:
    runs = browse.ingestion_runs(engine, Paging(1, 100))
    return render(request, "ingestion.html", runs=runs.rows)


@pages.get("/ingestion/{run_id}", response_class=HTMLResponse)
def ingestion_run_page(request: Request, engine: EngineDep, run_id: IntegerKey) -> HTMLResponse:
    run = browse.ingestion_run(engine, run_id)
    rejects = browse.rejects(engine, run_id, Paging(1, MAX_PAGE_SIZE, "id"))
    return render(request, "ingestion_run.html", run=run, rejects=rejects)


@router.get("/static/obsportal.css")
def stylesheet() -> FileResponse:
    return FileResponse(PACKAGE / "static" / "obsportal.css", media_type="text/css")


router.include_router(home)
router.include_router(pages)

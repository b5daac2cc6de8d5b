"""Server-rendered pages: search, exposure detail (UV coverage, weather), target, ingestion runs."""

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from ..services import browse
from ..services.browse import NotFound, Paging
from ..services.search import InvalidParameter, SearchCriteria
from ..services.search_form import FORM_FIELDS, download_parameters, form_criteria
from ..services.uv_plot import max_baseline, uv_png, uv_tracks

PACKAGE = Path(__file__).resolve().parents[1]
templates = Jinja2Templates(directory=PACKAGE / "templates")
router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
#: Result columns of the search and target pages: (sort key or None, heading).
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


def _engine(request: Request):
    return request.app.state.database.engine


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    prefix = request.app.state.settings.public_prefix
    return templates.TemplateResponse(
        request, name, {"prefix": prefix, **context}, status_code=status
    )


def _not_found(request: Request, error: NotFound) -> HTMLResponse:
    return _render(request, "not_found.html", status=404, message=str(error))


def _paging(request: Request, default_sort: str) -> Paging:
    page = request.query_params.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        raise InvalidParameter("page", f"{page!r} is not a page number")
    return Paging(int(page), PAGE_SIZE, request.query_params.get("sort") or default_sort)


def _link(request: Request, **changes: Any) -> str:
    parameters = {**request.query_params, **changes}
    return "?" + urlencode({k: v for k, v in parameters.items() if v not in (None, "")})


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request) -> HTMLResponse:
    form = {name: request.query_params.get(name, "") for name in FORM_FIELDS}
    context: dict[str, Any] = {
        "form": form,
        "instruments": browse.instrument_names(_engine(request)),
        "columns": RESULT_COLUMNS,
        "link": lambda **changes: _link(request, **changes),
        "sort": request.query_params.get("sort", "mjd_start"),
    }
    if not any(form.values()) and "page" not in request.query_params:
        return _render(request, "search.html", **context)
    try:
        criteria = form_criteria(form)
        paging = _paging(request, "mjd_start")
        page = browse.exposures(_engine(request), criteria, paging)
    except InvalidParameter as error:
        return _render(request, "search.html", status=400, error=error, **context)
    context.update(
        page=page,
        paging=paging,
        pages=max(1, -(-page.total // paging.page_size)),
        downloads=urlencode(download_parameters(criteria)),
    )
    return _render(request, "search.html", **context)


@router.get("/detail/exposure/{exp_id}", response_class=HTMLResponse)
def exposure_page(request: Request, exp_id: str) -> HTMLResponse:
    try:
        exposure = browse.exposure(_engine(request), exp_id)
    except NotFound as error:
        return _not_found(request, error)
    tracks = uv_tracks(exposure["projected_baselines"])
    return _render(
        request,
        "exposure.html",
        exposure=exposure,
        baselines=sorted((exposure["projected_baselines"] or {}).items()),
        uv_extent=max_baseline(tracks) * 1.1,
        has_uv=bool(tracks),
        votable=urlencode({"exp_id": exp_id, "all_fields": "true"}),
    )


@router.get("/detail/exposure/{exp_id}/uv.png")
def exposure_uv_png(request: Request, exp_id: str) -> Response:
    try:
        exposure = browse.exposure(_engine(request), exp_id)
    except NotFound as error:
        return _not_found(request, error)
    return Response(uv_png(exposure["projected_baselines"]), media_type="image/png")


@router.get("/target/{target_id}", response_class=HTMLResponse)
def target_page(request: Request, target_id: int) -> HTMLResponse:
    engine = _engine(request)
    try:
        target = browse.target(engine, target_id)
        paging = _paging(request, "mjd_start")
        page = browse.exposures(engine, SearchCriteria(target_id=target_id), paging)
    except NotFound as error:
        return _not_found(request, error)
    except InvalidParameter as error:
        return _render(request, "not_found.html", status=400, message=str(error))
    return _render(
        request,
        "target.html",
        target=target,
        page=page,
        paging=paging,
        pages=max(1, -(-page.total // paging.page_size)),
        columns=RESULT_COLUMNS,
        link=lambda **changes: _link(request, **changes),
        sort=paging.sort,
        downloads=urlencode({"target_id": target_id}),
    )


@router.get("/ingestion", response_class=HTMLResponse)
def ingestion_page(request: Request) -> HTMLResponse:
    runs = browse.ingestion_runs(_engine(request), Paging(1, 100, "-id"))
    return _render(request, "ingestion.html", runs=runs.rows)


@router.get("/ingestion/{run_id}", response_class=HTMLResponse)
def ingestion_run_page(request: Request, run_id: int) -> HTMLResponse:
    engine = _engine(request)
    try:
        run = browse.ingestion_run(engine, run_id)
    except NotFound as error:
        return _not_found(request, error)
    rejects = browse.rejects(engine, run_id, Paging(1, browse.MAX_PAGE_SIZE, "id"))
    return _render(request, "ingestion_run.html", run=run, rejects=rejects)


@router.get("/static/obsportal.css")
def stylesheet() -> FileResponse:
    return FileResponse(PACKAGE / "static" / "obsportal.css", media_type="text/css")

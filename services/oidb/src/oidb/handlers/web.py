"""OiDB's pages: the search (home), a granule, the collections, and the upload form.

Pages extend the platform's layout; a bad parameter or an unknown record is raised and
answered as a page in the same layout, and the upload page sends anonymous visitors to the
sign-in page. Scripts asking for ``/oidb/`` without ``text/html`` get the service's facts.
"""

from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from jmmc_core.accounts.dependencies import SignedInBrowser, check_csrf
from jmmc_core.errors import HtmlRoute
from jmmc_core.web import add_template_folder, render, templates

from .. import __version__
from ..dependencies import CallerDep, OidbRuntime, RuntimeDep
from ..models.search import SearchParameters
from ..services import search, uploads
from ..services.datalink import Urls
from ..services.presentation import FILTERS, RESULT_COLUMNS
from .search import GranuleId

PACKAGE = FilePath(__file__).resolve().parents[1]
add_template_folder(PACKAGE / "templates")
templates.env.filters.update(FILTERS)
router = APIRouter(route_class=HtmlRoute, include_in_schema=False)
#: The home page serves browsers and scripts: its errors follow the client's Accept header.
home = APIRouter(include_in_schema=False)

CollectionId = Annotated[str, Path(max_length=64)]
FormText = Annotated[str, Form(max_length=200)]


def _link(request: Request, **changes: Any) -> str:
    """This page's URL with some parameters changed (empty ones left out)."""
    parameters = {**request.query_params, **changes}
    return "?" + urlencode({k: v for k, v in parameters.items() if v not in (None, "")})


def _results(request: Request, result: search.SearchResult) -> dict[str, Any]:
    """What the results table needs (search page and collection page)."""
    return {
        "result": result,
        "pages": result.search.pages(result.total),
        "columns": RESULT_COLUMNS,
        "link": lambda **changes: _link(request, **changes),
    }


def _urls(runtime: OidbRuntime) -> Urls:
    """Links relative to this host, so pages work behind any front end."""
    return Urls(runtime.settings.public_prefix)


@home.get("/")
def search_page(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    parameters: Annotated[SearchParameters, Query()],
) -> Response:
    if "text/html" not in request.headers.get("accept", ""):
        prefix = runtime.settings.public_prefix
        return JSONResponse(
            {
                "service": runtime.settings.service_name,
                "version": __version__,
                "health": f"{prefix}/health",
                "docs": f"{prefix}/docs",
            }
        )
    wanted = search.parse_search(parameters)
    found = search.search_page(runtime.database, caller, wanted)
    exported = {
        name: value
        for name, value in parameters.model_dump(exclude_none=True).items()
        if value and name not in ("page", "perpage")
    }
    return render(
        request,
        "oidb/search.html",
        form=parameters.model_dump(),
        found=found,
        bands=search.BANDS,
        export=urlencode(exported),
        **(_results(request, found.result) if found else {}),
    )


@router.get("/granules/{granule_id}", response_class=HTMLResponse)
def granule_page(
    request: Request, runtime: RuntimeDep, caller: CallerDep, granule_id: GranuleId
) -> HTMLResponse:
    view = search.granule_view(runtime.database, caller, granule_id)
    return render(request, "oidb/granule.html", view=view, urls=_urls(runtime))


@router.get("/collections", response_class=HTMLResponse)
def collections_page(request: Request, runtime: RuntimeDep, caller: CallerDep) -> HTMLResponse:
    return render(
        request,
        "oidb/collections.html",
        collections=search.collections(runtime.database, caller),
    )


@router.get("/collections/{collection_id}", response_class=HTMLResponse)
def collection_page(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    collection_id: CollectionId,
    page: Annotated[str | None, Query(max_length=20)] = None,
    order: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    found = search.collection(runtime.database, caller, collection_id)
    wanted = search.parse_search(SearchParameters(collection=collection_id, page=page, order=order))
    return render(
        request,
        "oidb/collection.html",
        collection=found,
        **_results(request, search.search(runtime.database, caller, wanted)),
    )


def _upload_form(
    request: Request, runtime: RuntimeDep, caller: CallerDep, found: SignedInBrowser, **context
) -> HTMLResponse:
    return render(
        request,
        "oidb/upload.html",
        collections=uploads.writable_collections(runtime.database, caller),
        csrf_token=found.web_session.csrf_secret,
        max_bytes=runtime.settings.max_file_bytes,
        **context,
    )


@router.get("/upload", response_class=HTMLResponse)
def upload_page(
    request: Request, runtime: RuntimeDep, caller: CallerDep, found: SignedInBrowser
) -> HTMLResponse:
    return _upload_form(request, runtime, caller, found)


@router.post("/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    found: SignedInBrowser,
    file: Annotated[UploadFile, File(description="An OIFITS file")],
    collection: FormText = "",
    csrf_token: FormText = "",
) -> HTMLResponse:
    check_csrf(found, csrf_token)
    outcome = uploads.upload(
        runtime.database,
        runtime.settings,
        caller,
        collection_id=collection,
        filename=file.filename or "",
        stream=file.file,
    )
    return _upload_form(request, runtime, caller, found, outcome=outcome, chosen=collection)


@home.get("/static/oidb.css")
def stylesheet() -> FileResponse:
    return FileResponse(PACKAGE / "static" / "oidb.css", media_type="text/css")


router.include_router(home)

"""TAP routes for people: the service's page (tables, examples, a query form) and ``/examples``.

The page runs its query as ``/tap/sync`` does and shows the first rows; scripts asking for the
page without ``text/html`` get the service's facts as JSON.
"""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from jmmc_core.accounts.dependencies import optional_user
from jmmc_core.errors import DaliRoute
from jmmc_core.web import add_template_folder, render

from .. import __version__
from ..dependencies import CallerDep, RuntimeDep
from ..models.parameters import MAX_QUERY
from ..services.examples import EXAMPLES
from ..services.preview import preview
from ..services.vosi import service_facts
from .vosi import public_base_url

PACKAGE = Path(__file__).resolve().parents[1]
add_template_folder(PACKAGE / "templates")
STATIC = PACKAGE / "static"

#: The page shows who is signed in (and queries with their rights). Its errors follow the
#: client's Accept header, like the page itself: an error page for browsers, JSON for scripts.
pages = APIRouter(include_in_schema=False, dependencies=[Depends(optional_user)])
documents = APIRouter(route_class=DaliRoute)

QueryText = Annotated[str, Query(max_length=MAX_QUERY)]


@pages.get("/")
def service_page(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    query: QueryText = "",
    maxrec: Annotated[str, Query(max_length=20, description="MAXREC, checked as /sync does")] = "",
    example: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    base_url = public_base_url(request, runtime)
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(service_facts(base_url, __version__))
    chosen = next((item for item in EXAMPLES if item.id == example), None)
    result = None
    if query.strip():
        result = preview(runtime, caller, query, maxrec, f"{base_url}/sync")
    return render(
        request,
        "tap/index.html",
        base_url=base_url,
        catalog=runtime.catalog.get_if_reachable(),
        examples=EXAMPLES,
        query=chosen.query if chosen else query,
        maxrec=maxrec,
        default_maxrec=runtime.settings.default_maxrec,
        result=result,
    )


@pages.get("/static/tap/page.js")
def page_script() -> FileResponse:
    return FileResponse(STATIC / "page.js", media_type="text/javascript")


@documents.get(
    "/examples",
    response_class=HTMLResponse,
    summary="DALI examples: ADQL queries on the published tables",
)
def examples(request: Request, runtime: RuntimeDep) -> Response:
    return render(
        request,
        "tap/examples.html",
        examples=EXAMPLES,
        base_url=public_base_url(request, runtime),
    )


router = APIRouter()
router.include_router(pages)
router.include_router(documents)

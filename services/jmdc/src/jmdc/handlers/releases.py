"""HTTP routes of JMDC: releases, their files and their differences.

Pages: ``/releases`` (every release; curators freeze a new one there), ``/releases/{n}`` (a
release as it was, searchable), ``/releases/{a}/diff/{b}``. Files: ``/releases/{n}/ReadMe``,
``/releases/{n}/jmdc.dat``, ``/releases/{n}/vizier.tar.gz`` and the exports
``/releases/{n}/export.{csv,xlsx,pdf,votable}``. JSON: ``/api/releases...`` and
``/api/measurements/{id}/withdraw``. Writes made with the session cookie carry its CSRF secret.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, Query, Request
from fastapi import Path as PathParameter
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from jmmc_core.accounts.dependencies import (
    Authenticated,
    Authentication,
    AuthenticationDep,
    check_csrf,
    optional_user,
)
from jmmc_core.errors import ErrorBody, Forbidden, HtmlRoute, JsonRoute, VOTableRoute
from jmmc_core.paging import MAX_PAGE, Paging, PagingDep
from jmmc_core.streaming import document_response
from jmmc_core.web import render

from ..dependencies import RuntimeDep
from ..models.catalogue import (
    CatalogueParameters,
    MeasurementPage,
    measurement_columns,
    position_columns,
)
from ..models.releases import (
    MAX_NOTE,
    MAX_REASON,
    MAX_TITLE,
    NewRelease,
    ReleaseChange,
    ReleaseDiffOut,
    ReleaseOut,
    Withdrawal,
)
from ..schema import Release
from ..services import catalogue, exports, releases
from ..services.vizier import DATA_FILE, README_FILE
from .catalogue import PAGE_SIZE, results_context

router = APIRouter()
pages = APIRouter(
    route_class=HtmlRoute, include_in_schema=False, dependencies=[Depends(optional_user)]
)
files = APIRouter(tags=["Releases"], route_class=JsonRoute)
votables = APIRouter(tags=["Releases"], route_class=VOTableRoute)
api = APIRouter(
    prefix="/api",
    tags=["Releases"],
    route_class=JsonRoute,
    responses=JsonRoute.errors(401, 403),
)

#: Who may freeze a release, and who may withdraw a measurement.
CURATOR = "curator"
WITHDRAWERS = ("moderator", "curator")

#: How the diff page names a changed field: its VizieR label and unit.
FIELD_LABELS = {
    column.name: f"{column.label} ({column.unit})" if column.unit else column.label
    for column in (*measurement_columns, *position_columns)
}

Number = Annotated[int, PathParameter(ge=1, le=2**31 - 1, description="Release number")]
MeasurementId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Sort = Annotated[str | None, Query(max_length=200)]
Criteria = Annotated[CatalogueParameters, Query()]
CsrfHeader = Annotated[
    str | None,
    Header(alias="X-CSRF-Token", description="The session's CSRF secret; only with the cookie"),
]
FormText = Annotated[str, Form(max_length=MAX_NOTE)]


def _with_role(found: Authentication, roles: tuple[str, ...], csrf: str | None) -> int:
    """The id of a user holding one of ``roles`` whose write is not forged (403 otherwise)."""
    if not any(found.user.has_role(role) for role in roles):
        raise Forbidden(f"this needs the {' or '.join(roles)} role")
    check_csrf(found, csrf)
    return found.user.id


def _links(prefix: str, number: int) -> dict[str, str]:
    base = f"{prefix}/releases/{number}"
    return {
        "page": base,
        "readme": f"{base}/{README_FILE}",
        "data": f"{base}/{DATA_FILE}",
        "vizier_archive": f"{base}/vizier.tar.gz",
        **{format: f"{base}/export.{format}" for format in exports.FORMATS},
    }


def _release_out(prefix: str, release: Release) -> ReleaseOut:
    return ReleaseOut.model_validate(release).model_copy(
        update={"files": _links(prefix, release.number)}
    )


# Pages


def _releases_page(
    request: Request,
    runtime: RuntimeDep,
    found: Authentication | None,
    withdrawn: int | None = None,
) -> HTMLResponse:
    with runtime.database.session() as session:
        listed = releases.list_releases(session)
    roles = found.user.roles if found else set()
    return render(
        request,
        "releases.html",
        releases=listed,
        curator=CURATOR in roles,
        withdrawer=any(role in roles for role in WITHDRAWERS),
        withdrawn=withdrawn,
        csrf_token=found.web_session.csrf_secret if found and found.web_session else "",
        max_title=MAX_TITLE,
        max_note=MAX_NOTE,
        max_reason=MAX_REASON,
    )


@pages.get("/releases", response_class=HTMLResponse)
def releases_page(request: Request, runtime: RuntimeDep, found: AuthenticationDep) -> Response:
    """Every release, newest first; curators get the form freezing the next one, moderators
    and curators the one withdrawing a measurement."""
    return _releases_page(request, runtime, found)


@pages.post("/withdrawals", response_class=HTMLResponse)
def withdraw_from_page(
    request: Request,
    runtime: RuntimeDep,
    found: Authenticated,
    measurement_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
    csrf_token: FormText = "",
) -> HTMLResponse:
    _with_role(found, WITHDRAWERS, csrf_token)
    with runtime.database.session() as session:
        releases.withdraw(session, measurement_id, reason)
    return _releases_page(request, runtime, found, withdrawn=measurement_id)


@pages.post("/releases")
def create_release_from_page(
    runtime: RuntimeDep,
    found: Authenticated,
    title: Annotated[str, Form(max_length=MAX_TITLE)] = "",
    note: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    user_id = _with_role(found, (CURATOR,), csrf_token)
    with runtime.database.session() as session:
        number = releases.create_release(session, title, note, user_id).number
    return RedirectResponse(f"{runtime.settings.public_prefix}/releases/{number}", 303)


@pages.get("/releases/{number}", response_class=HTMLResponse)
def release_page(
    request: Request,
    runtime: RuntimeDep,
    number: Number,
    parameters: Criteria,
    page: PageNumber = 1,
    sort: Sort = None,
) -> HTMLResponse:
    """A release as it was frozen, searchable like the catalogue."""
    criteria = catalogue.criteria_from_parameters(
        parameters.model_dump(exclude_none=True), release=number
    )
    paging = Paging(page, PAGE_SIZE, sort or catalogue.DEFAULT_SORT)
    with runtime.database.session() as session:
        release = releases.get_release(session, number)
        earlier = [r.number for r in releases.list_releases(session) if r.number < number]
        found = catalogue.search(session, criteria, paging)
    prefix = runtime.settings.public_prefix
    return render(
        request,
        "release.html",
        release=release,
        links=_links(prefix, number),
        previous=earlier[0] if earlier else None,
        form=parameters.model_dump(),
        described=criteria.describe(),
        export_base=f"{prefix}/releases/{number}/export",
        methods=catalogue.METHODS,
        **results_context(request, found, paging, criteria),
    )


@pages.get("/releases/{old}/diff/{new}", response_class=HTMLResponse)
def diff_page(request: Request, runtime: RuntimeDep, old: Number, new: Number) -> HTMLResponse:
    with runtime.database.session() as session:
        difference = releases.diff(session, old, new)
    return render(
        request,
        "release_diff.html",
        diff=difference,
        methods=catalogue.METHODS,
        labels=FIELD_LABELS,
    )


# Files

_TEXT: dict[int | str, dict[str, Any]] = {200: {"content": {"text/plain": {}}}}


@files.get(
    f"/releases/{{number}}/{README_FILE}",
    summary="The release's VizieR ReadMe (byte-by-byte description)",
    response_class=Response,
    responses=_TEXT,
)
def readme_file(runtime: RuntimeDep, number: Number) -> PlainTextResponse:
    with runtime.database.session() as session:
        content = releases.release_files(session, number).readme
    return PlainTextResponse(content)


@files.get(
    f"/releases/{{number}}/{DATA_FILE}",
    summary="The release's fixed-width VizieR data file",
    response_class=Response,
    responses=_TEXT,
)
def data_file(runtime: RuntimeDep, number: Number) -> PlainTextResponse:
    with runtime.database.session() as session:
        content = releases.release_files(session, number).data
    return PlainTextResponse(content)


@files.get(
    "/releases/{number}/vizier.tar.gz",
    summary="The release's ReadMe and jmdc.dat in one gzipped tar",
    response_class=Response,
    responses={200: {"content": {"application/gzip": {}}}},
)
def vizier_archive(runtime: RuntimeDep, number: Number) -> Response:
    with runtime.database.session() as session:
        content = releases.release_archive(session, number)
    disposition = f'attachment; filename="jmdc-release-{number}.tar.gz"'
    return Response(
        content, media_type="application/gzip", headers={"Content-Disposition": disposition}
    )


async def _export(
    runtime: RuntimeDep, number: int, parameters: CatalogueParameters, format: str, sort: str | None
) -> Response:
    with runtime.database.session() as session:
        releases.get_release(session, number)
    criteria = catalogue.criteria_from_parameters(
        parameters.model_dump(exclude_none=True), release=number
    )
    media_type, chunks = exports.search_export(runtime.database, criteria, format, sort)
    filename = f"jmdc-release-{number}.{exports.EXTENSIONS[format]}"
    return await document_response(
        chunks,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _export_route(format: str, router: APIRouter) -> None:
    @router.get(
        f"/releases/{{number}}/export.{format}",
        summary=f"A search of a release as {format}",
        operation_id=f"release_export_{format}",
        response_class=Response,
        responses={200: {"content": {exports.MEDIA_TYPES[format].split(";")[0]: {}}}},
    )
    async def export_file(
        runtime: RuntimeDep, number: Number, parameters: Criteria, sort: Sort = None
    ) -> Response:
        return await _export(runtime, number, parameters, format, sort)


for _format in exports.FORMATS:
    _export_route(_format, votables if _format == "votable" else files)


# JSON API


@api.get("/releases", summary="Every release, newest first")
def list_releases(runtime: RuntimeDep) -> list[ReleaseOut]:
    prefix = runtime.settings.public_prefix
    with runtime.database.session() as session:
        return [_release_out(prefix, release) for release in releases.list_releases(session)]


@api.post(
    "/releases",
    status_code=201,
    summary="Freeze the catalogue into the next release (curators)",
    responses={409: {"model": ErrorBody, "description": "Nothing changed since the last release"}},
)
def create_release(
    runtime: RuntimeDep, found: Authenticated, body: NewRelease, csrf: CsrfHeader = None
) -> ReleaseOut:
    user_id = _with_role(found, (CURATOR,), csrf)
    with runtime.database.session() as session:
        release = releases.create_release(session, body.title, body.note, user_id)
        return _release_out(runtime.settings.public_prefix, release)


@api.get("/releases/{number}", summary="One release")
def get_release(runtime: RuntimeDep, number: Number) -> ReleaseOut:
    with runtime.database.session() as session:
        return _release_out(runtime.settings.public_prefix, releases.get_release(session, number))


_IMMUTABLE: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "A release can never be changed once made"}
}


@api.patch("/releases/{number}", summary="Refused: releases never change", responses=_IMMUTABLE)
def change_release(
    runtime: RuntimeDep,
    found: Authenticated,
    number: Number,
    body: ReleaseChange,
    csrf: CsrfHeader = None,
) -> ReleaseOut:
    _with_role(found, (CURATOR,), csrf)
    with runtime.database.session() as session:
        releases.change_release(session, number, body.model_dump(exclude_none=True))
        return _release_out(runtime.settings.public_prefix, releases.get_release(session, number))


@api.delete(
    "/releases/{number}",
    status_code=204,
    summary="Refused: releases are never deleted",
    responses=_IMMUTABLE,
)
def delete_release(
    runtime: RuntimeDep, found: Authenticated, number: Number, csrf: CsrfHeader = None
) -> None:
    _with_role(found, (CURATOR,), csrf)
    with runtime.database.session() as session:
        releases.delete_release(session, number)


@api.get(
    "/releases/{number}/measurements",
    response_model=MeasurementPage,
    summary="Search one release, as it was frozen",
)
def release_measurements(
    runtime: RuntimeDep, number: Number, paging: PagingDep, parameters: Criteria
) -> dict[str, Any]:
    criteria = catalogue.criteria_from_parameters(
        parameters.model_dump(exclude_none=True), release=number
    )
    with runtime.database.session() as session:
        releases.get_release(session, number)
        return catalogue.search(session, criteria, paging).as_json(paging)


@api.get(
    "/releases/{old}/diff/{new}",
    summary="What changed between two releases: added, changed (fields), withdrawn (reasons)",
)
def release_diff(runtime: RuntimeDep, old: Number, new: Number) -> ReleaseDiffOut:
    prefix = runtime.settings.public_prefix
    with runtime.database.session() as session:
        difference = releases.diff(session, old, new)
        return ReleaseDiffOut(
            old=_release_out(prefix, difference.old),
            new=_release_out(prefix, difference.new),
            added=difference.added,
            changed=difference.changed,
            withdrawn=difference.withdrawn,
        )


@api.post(
    "/measurements/{measurement_id}/withdraw",
    status_code=204,
    summary="Withdraw a measurement from the next releases, with a reason (moderators, curators)",
    responses={409: {"model": ErrorBody, "description": "Already withdrawn"}},
)
def withdraw_measurement(
    runtime: RuntimeDep,
    found: Authenticated,
    measurement_id: MeasurementId,
    body: Withdrawal,
    csrf: CsrfHeader = None,
) -> None:
    _with_role(found, WITHDRAWERS, csrf)
    with runtime.database.session() as session:
        releases.withdraw(session, measurement_id, body.reason)


for module_router in (pages, files, votables, api):
    router.include_router(module_router)

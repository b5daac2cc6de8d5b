"""HTTP routes of OiDB: DataLink, file downloads and quick-look previews.

DataLink's links point at the host the client used (as TAP's capabilities do), so they work
however the service is reached; ObsCore rows carry the configured public URL.
"""

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import FileResponse, Response

from jmmc_core.errors import DaliRoute, JsonRoute

from ..dependencies import CallerDep, RuntimeDep
from ..models.datalink import DatalinkParameters
from ..services import datalink
from ..services.previews import PREVIEW_KINDS

router = APIRouter()
vo_router = APIRouter(route_class=DaliRoute, tags=["DataLink"])
files_router = APIRouter(
    route_class=JsonRoute, tags=["Files"], responses=JsonRoute.errors(401, 403)
)

GranuleId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The granule's id")]


class DatalinkResponse(Response):
    media_type = datalink.DATALINK_MEDIA_TYPE


class XmlResponse(Response):
    media_type = "application/xml"


def _answer(media_type: str, description: str) -> dict[int | str, dict]:
    """OpenAPI's 200 of a binary answer (errors stay documented as JSON)."""
    return {200: {"content": {media_type: {}}, "description": description}}


FITS_ANSWER = _answer(datalink.FITS_MEDIA_TYPE, "The OIFITS file as submitted")
PNG_ANSWER = _answer("image/png", "The quick-look")


def _urls(request: Request, runtime: RuntimeDep) -> datalink.Urls:
    return datalink.Urls(
        f"{request.url.scheme}://{request.url.netloc}{runtime.settings.public_prefix}"
    )


def _links(
    request: Request, runtime: RuntimeDep, caller: CallerDep, parameters: DatalinkParameters
) -> Response:
    datalink.parse_response_format(parameters.RESPONSEFORMAT)
    identifiers = datalink.parse_identifiers(parameters.ID)
    urls = _urls(request, runtime)
    document = datalink.links_document(
        runtime.database, runtime.settings, caller, identifiers, urls
    )
    return DatalinkResponse(document)


_LINKS_SUMMARY = "DataLink 1.1 links of granules: OIFITS file, quick-looks, validation report"


@vo_router.get(
    "/datalink",
    response_class=DatalinkResponse,
    responses=DaliRoute.errors(401),
    summary=_LINKS_SUMMARY,
)
def links(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    parameters: Annotated[DatalinkParameters, Query()],
) -> Response:
    return _links(request, runtime, caller, parameters)


@vo_router.post(
    "/datalink",
    response_class=DatalinkResponse,
    responses=DaliRoute.errors(401),
    summary=_LINKS_SUMMARY,
)
def links_form(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    parameters: Annotated[DatalinkParameters, Form()],
) -> Response:
    return _links(request, runtime, caller, parameters)


@vo_router.get("/datalink/capabilities", response_class=XmlResponse, summary="VOSI capabilities")
def capabilities(request: Request, runtime: RuntimeDep) -> Response:
    return XmlResponse(datalink.capabilities_document(_urls(request, runtime).base))


@vo_router.get("/datalink/availability", response_class=XmlResponse, summary="VOSI availability")
def availability(runtime: RuntimeDep) -> Response:
    return XmlResponse(datalink.availability_document(runtime.database))


def _download(
    runtime: RuntimeDep, caller: CallerDep, granule_id: int, filename: str | None
) -> Response:
    stored = datalink.stored_file(runtime.database, runtime.settings, caller, granule_id, filename)
    return FileResponse(
        stored.path,
        media_type=datalink.FITS_MEDIA_TYPE,
        headers={
            "Content-Disposition": datalink.attachment(stored.filename),
            "ETag": f'"{stored.md5}"',
            "Cache-Control": "private, no-cache",
        },
    )


_DOWNLOAD_SUMMARY = "The OIFITS file of a granule (401/403 while embargoed for the caller)"
_HEAD_SUMMARY = "The headers of a download (size, name, MD5) without the file"


@files_router.get(
    "/files/{granule_id}",
    response_class=Response,
    responses=FITS_ANSWER,
    summary=_DOWNLOAD_SUMMARY,
)
@files_router.head(
    "/files/{granule_id}",
    response_class=Response,
    responses=FITS_ANSWER,
    summary=_HEAD_SUMMARY,
    operation_id="download_head",
)
def download(runtime: RuntimeDep, caller: CallerDep, granule_id: GranuleId) -> Response:
    return _download(runtime, caller, granule_id, None)


@files_router.get(
    "/files/{granule_id}/{filename}",
    response_class=Response,
    responses=FITS_ANSWER,
    summary=_DOWNLOAD_SUMMARY,
)
@files_router.head(
    "/files/{granule_id}/{filename}",
    response_class=Response,
    responses=FITS_ANSWER,
    summary=_HEAD_SUMMARY,
    operation_id="download_named_head",
)
def download_named(
    runtime: RuntimeDep,
    caller: CallerDep,
    granule_id: GranuleId,
    filename: Annotated[str, Path(max_length=400, description="The file's name")],
) -> Response:
    return _download(runtime, caller, granule_id, filename)


@files_router.get(
    "/previews/{granule_id}/{kind}.png",
    response_class=Response,
    responses=PNG_ANSWER,
    summary="A quick-look PNG of a granule (same rights as its file)",
)
def preview(
    runtime: RuntimeDep,
    caller: CallerDep,
    granule_id: GranuleId,
    kind: Annotated[str, Path(max_length=20, description=", ".join(PREVIEW_KINDS))],
) -> Response:
    png = datalink.preview(runtime.database, runtime.settings, caller, granule_id, kind)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


router.include_router(vo_router)
router.include_router(files_router)

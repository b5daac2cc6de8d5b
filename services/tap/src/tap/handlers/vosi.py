"""TAP routes: VOSI ``/capabilities``, ``/availability``, ``/tables`` and ``/tables/{name}``."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from jmmc_core.errors import DaliRoute

from ..dependencies import RuntimeDep
from ..services import vosi

router = APIRouter(route_class=DaliRoute, tags=["VOSI"])


class XmlResponse(Response):
    """A VOSI document (documented in OpenAPI with this media type)."""

    media_type = "application/xml"


def public_base_url(request: Request, runtime: RuntimeDep) -> str:
    """The service's base URL as the client sees it (behind HAProxy: its forwarded headers)."""
    return f"{request.url.scheme}://{request.url.netloc}{runtime.settings.public_prefix}"


@router.get("/capabilities", response_class=XmlResponse, summary="VOSI capabilities (TAPRegExt)")
def capabilities(request: Request, runtime: RuntimeDep) -> Response:
    base_url = public_base_url(request, runtime)
    return XmlResponse(
        vosi.capabilities_document(base_url, runtime.settings, runtime.catalog.get())
    )


@router.get("/availability", response_class=XmlResponse, summary="VOSI availability")
def availability(runtime: RuntimeDep) -> Response:
    return XmlResponse(vosi.availability_document(vosi.service_availability(runtime)))


@router.get(
    "/tables",
    response_class=XmlResponse,
    summary="VOSI tableset: the published schemas, tables and columns",
)
def tables(
    runtime: RuntimeDep,
    detail: Annotated[Literal["min", "max"] | None, Query(description="min: no columns")] = None,
) -> Response:
    return XmlResponse(vosi.tableset_document(runtime.catalog.get(), with_columns=detail != "min"))


@router.get(
    "/tables/{name}",
    response_class=XmlResponse,
    summary="VOSI table: one published table with its columns",
)
def table(runtime: RuntimeDep, name: str) -> Response:
    return XmlResponse(vosi.table_document(vosi.published_table(runtime.catalog.get(), name)))

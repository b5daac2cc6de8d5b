"""TAP routes: ``/sync`` (GET, and POST as form or multipart with upload parts)."""

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from jmmc_core.errors import DaliRoute
from jmmc_core.streaming import document_response

from ..dependencies import CallerDep, RuntimeDep
from ..models.parameters import QueryParameters, upload_parts
from ..services.query import parse_query_request, stream_query
from .documented import CALLER_ERRORS, FORM_ERRORS, QUERY_RESULT

router = APIRouter(route_class=DaliRoute)


async def _sync(runtime, caller, parameters: QueryParameters, files) -> Response:
    settings = runtime.settings
    request = parse_query_request(parameters.upper_cased(), files, settings)
    result = stream_query(runtime, request, caller, files, settings.sync_timeout_seconds)
    return await document_response(result.chunks, media_type=result.media_type)


@router.get(
    "/sync",
    summary="Run an ADQL query and answer its result",
    responses={**QUERY_RESULT, **CALLER_ERRORS},
)
async def sync_get(
    runtime: RuntimeDep, caller: CallerDep, parameters: Annotated[QueryParameters, Query()]
) -> Response:
    return await _sync(runtime, caller, parameters, {})


@router.post(
    "/sync",
    summary="Run an ADQL query and answer its result (form or multipart)",
    responses={**QUERY_RESULT, **FORM_ERRORS},
)
async def sync_post(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    parameters: Annotated[QueryParameters, Form()],
) -> Response:
    return await _sync(runtime, caller, parameters, await upload_parts(request, runtime.settings))

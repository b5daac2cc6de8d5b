"""TAP routes: ``/async`` and its jobs (UWS 1.1). Every state change answers 303."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from jmmc_core.errors import DaliRoute, InvalidParameter
from jmmc_core.votable import VOTABLE_MEDIA_TYPE, error_document

from ..dependencies import CallerDep, RuntimeDep
from ..models.parameters import QueryParameters
from ..models.uws import (
    UWS_MEDIA_TYPE,
    DestructionChange,
    ExecutionDurationChange,
    JobAction,
    JobCreation,
    JobListFilter,
    JobWait,
    PhaseChange,
    job_document,
    jobs_document,
    parameters_document,
    results_document,
)
from ..services import jobs
from .documented import (
    CALLER_ERRORS,
    FORM_ERRORS,
    QUERY_RESULT,
    SEE_JOB,
    SEE_JOB_LIST,
    UwsResponse,
)

router = APIRouter(route_class=DaliRoute, responses=CALLER_ERRORS)


async def upload_parts(request: Request, runtime: RuntimeDep) -> dict[str, bytes]:
    """The file parts of a multipart POST (inline uploads), each within the upload limit."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return {}
    limit = runtime.settings.upload_limit_bytes
    parts = {}
    for name, part in (await request.form()).multi_items():
        if isinstance(part, UploadFile):
            content = await part.read(limit + 1)
            if len(content) > limit:
                raise InvalidParameter("UPLOAD", f"part {name!r} is larger than {limit} bytes")
            parts[name] = content
    return parts


PartsDep = Annotated[dict[str, bytes], Depends(upload_parts)]


def _xml(document: bytes) -> Response:
    return Response(document, media_type=UWS_MEDIA_TYPE)


def _text(value: object) -> PlainTextResponse:
    return PlainTextResponse("" if value is None else str(value))


def _to_job(request: Request, job_id: str) -> RedirectResponse:
    return RedirectResponse(str(request.url_for("uws_job", job_id=job_id)), status_code=303)


def _result_url(request: Request, job_id: str) -> str:
    return str(request.url_for("uws_result", job_id=job_id))


@router.get("/async", response_class=UwsResponse, summary="The caller's async jobs (UWS job list)")
def list_jobs(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    filters: Annotated[JobListFilter, Query()],
) -> Response:
    found = jobs.list_jobs(runtime, caller, filters.PHASE, filters.AFTER, filters.LAST)
    return _xml(jobs_document(found, lambda job_id: str(request.url_for("uws_job", job_id=job_id))))


@router.post(
    "/async",
    summary="Create an async job (PENDING; PHASE=RUN queues it)",
    status_code=303,
    response_class=RedirectResponse,
    responses={**SEE_JOB, **FORM_ERRORS, **DaliRoute.errors(429)},
)
def create_job(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    parameters: Annotated[JobCreation, Form()],
    parts: PartsDep,
) -> Response:
    job = jobs.create_job(runtime, caller, parameters.upper_cased(), parts)
    return _to_job(request, job.id)


@router.get(
    "/async/{job_id}",
    name="uws_job",
    response_class=UwsResponse,
    summary="A job (WAIT=n blocks while it runs)",
)
async def get_job(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    job_id: str,
    wait: Annotated[JobWait, Query()],
) -> Response:
    job = await jobs.wait_for_change(runtime, caller, job_id, wait.WAIT or 0, wait.PHASE)
    return _xml(job_document(job, _result_url(request, job.id)))


@router.delete(
    "/async/{job_id}",
    summary="Delete a job (aborted if it runs) and its result",
    status_code=303,
    response_class=RedirectResponse,
    responses=SEE_JOB_LIST,
)
def delete_job(request: Request, runtime: RuntimeDep, caller: CallerDep, job_id: str) -> Response:
    jobs.delete_job(runtime, caller, job_id)
    return RedirectResponse(str(request.url_for("list_jobs")), status_code=303)


@router.post(
    "/async/{job_id}",
    summary="ACTION=DELETE: delete a job",
    status_code=303,
    response_class=RedirectResponse,
    responses=SEE_JOB_LIST,
)
def post_job(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    job_id: str,
    action: Annotated[JobAction, Form()],
) -> Response:
    if action.ACTION.strip().upper() != "DELETE":
        raise InvalidParameter("ACTION", "the only action on a job is DELETE")
    return delete_job(request, runtime, caller, job_id)


@router.get("/async/{job_id}/phase", response_class=PlainTextResponse, summary="The job's phase")
def get_phase(runtime: RuntimeDep, caller: CallerDep, job_id: str) -> Response:
    return _text(jobs.get_job(runtime, caller, job_id).phase)


@router.post(
    "/async/{job_id}/phase",
    summary="PHASE=RUN queues the job, PHASE=ABORT stops it",
    status_code=303,
    response_class=RedirectResponse,
    responses={**SEE_JOB, **DaliRoute.errors(409, 429)},
)
def post_phase(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    job_id: str,
    change: Annotated[PhaseChange, Form()],
) -> Response:
    jobs.change_phase(runtime, caller, job_id, change.PHASE)
    return _to_job(request, job_id)


@router.get(
    "/async/{job_id}/parameters", response_class=UwsResponse, summary="The job's parameters"
)
def get_parameters(runtime: RuntimeDep, caller: CallerDep, job_id: str) -> Response:
    return _xml(parameters_document(jobs.get_job(runtime, caller, job_id)))


@router.post(
    "/async/{job_id}/parameters",
    summary="Change parameters of a PENDING job",
    status_code=303,
    response_class=RedirectResponse,
    responses={**SEE_JOB, **FORM_ERRORS, **DaliRoute.errors(409)},
)
def post_parameters(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    job_id: str,
    parameters: Annotated[QueryParameters, Form()],
    parts: PartsDep,
) -> Response:
    jobs.update_parameters(runtime, caller, job_id, parameters.upper_cased(), parts)
    return _to_job(request, job_id)


@router.get("/async/{job_id}/results", response_class=UwsResponse, summary="The job's results")
def get_results(request: Request, runtime: RuntimeDep, caller: CallerDep, job_id: str) -> Response:
    job = jobs.get_job(runtime, caller, job_id)
    return _xml(results_document(job, _result_url(request, job.id)))


@router.get(
    "/async/{job_id}/results/result",
    name="uws_result",
    summary="The query's result",
    responses=QUERY_RESULT,
)
def get_result(runtime: RuntimeDep, caller: CallerDep, job_id: str) -> Response:
    path, media_type = jobs.result_file(runtime, caller, job_id)
    return FileResponse(path, media_type=media_type)


@router.get(
    "/async/{job_id}/error",
    summary="Why the job failed (DALI error VOTable)",
    responses={200: {"description": "The error document", "content": {VOTABLE_MEDIA_TYPE: {}}}},
)
def get_error(runtime: RuntimeDep, caller: CallerDep, job_id: str) -> Response:
    message = jobs.error_message(runtime, caller, job_id)
    return Response(error_document(message), media_type=VOTABLE_MEDIA_TYPE)


@router.get(
    "/async/{job_id}/executionduration",
    response_class=PlainTextResponse,
    summary="The job's time limit in seconds",
)
def get_execution_duration(runtime: RuntimeDep, caller: CallerDep, job_id: str) -> Response:
    return _text(jobs.get_job(runtime, caller, job_id).execution_duration)


@router.post(
    "/async/{job_id}/executionduration",
    summary="Change the time limit (PENDING)",
    status_code=303,
    response_class=RedirectResponse,
    responses={**SEE_JOB, **DaliRoute.errors(409)},
)
def post_execution_duration(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    job_id: str,
    change: Annotated[ExecutionDurationChange, Form()],
) -> Response:
    jobs.set_execution_duration(runtime, caller, job_id, change.EXECUTIONDURATION)
    return _to_job(request, job_id)


@router.get(
    "/async/{job_id}/destruction",
    response_class=PlainTextResponse,
    summary="When the job and its result are deleted",
)
def get_destruction(runtime: RuntimeDep, caller: CallerDep, job_id: str) -> Response:
    return _text(jobs.iso(jobs.get_job(runtime, caller, job_id).destruction_time))


@router.post(
    "/async/{job_id}/destruction",
    summary="Delete the job earlier",
    status_code=303,
    response_class=RedirectResponse,
    responses={**SEE_JOB, **DaliRoute.errors(409)},
)
def post_destruction(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    job_id: str,
    change: Annotated[DestructionChange, Form()],
) -> Response:
    jobs.set_destruction(runtime, caller, job_id, change.DESTRUCTION)
    return _to_job(request, job_id)


@router.get(
    "/async/{job_id}/quote",
    response_class=PlainTextResponse,
    summary="When the job is expected to end (none given)",
)
def get_quote(runtime: RuntimeDep, caller: CallerDep, job_id: str) -> Response:
    jobs.get_job(runtime, caller, job_id)
    return _text(None)


@router.get(
    "/async/{job_id}/owner",
    response_class=PlainTextResponse,
    summary="Who created the job (empty: anonymous)",
)
def get_owner(runtime: RuntimeDep, caller: CallerDep, job_id: str) -> Response:
    return _text(jobs.get_job(runtime, caller, job_id).owner_name)

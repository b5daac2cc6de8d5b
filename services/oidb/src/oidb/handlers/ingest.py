"""HTTP routes of OiDB: OIFITS submissions through the API (a Bearer token or a session).

``POST /api/collections/{id}/files`` takes the file as the multipart part ``file`` or as the
raw body with ``?filename=``. The body is counted while it arrives, so a file over the limit
is refused (413) without being spooled whole (``jmmc_core.request_size`` in the application).
"""

from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from jmmc_core.accounts import CurrentUser
from jmmc_core.errors import InvalidParameter, JsonRoute

from ..dependencies import CallerDep, RuntimeDep
from ..models.ingest import FileAnswer, IngestAnswer
from ..services.ingestion import MAX_FILENAME, file_record, ingest_file

router = APIRouter(tags=["Ingestion"], route_class=JsonRoute)

#: Room for the multipart framing around the file.
MULTIPART_ALLOWANCE_BYTES = 64 * 1024

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/api/collections/{collection_id}/files",
    summary="Add an OIFITS file to a collection (multipart `file`, or the raw body)",
    status_code=201,
    response_model=IngestAnswer,
    responses={
        200: {"model": IngestAnswer, "description": "These bytes were already in"},
        **JsonRoute.errors(401, 403, 413),
    },
    openapi_extra=_UPLOAD_BODY,
)
async def add_file(
    request: Request,
    runtime: RuntimeDep,
    caller: CallerDep,
    _: CurrentUser,
    collection_id: Annotated[str, Path(max_length=64)],
    filename: Annotated[
        str | None, Query(max_length=MAX_FILENAME, description="Name of a raw-body file")
    ] = None,
) -> JSONResponse:
    name, content = await _upload(request, runtime.settings.max_file_bytes, filename)
    result = await run_in_threadpool(
        ingest_file, runtime.database, runtime.settings, caller,
        collection_id=collection_id, filename=name, content=content,
    )  # fmt: skip
    answer = IngestAnswer(
        file_id=result.file_id,
        collection_id=collection_id,
        filename=name,
        state=result.state,
        granule_ids=result.granule_ids,
        reject_reason=result.reject_reason,
        report=result.report,
        detail=result.reject_reason and f"file: {result.reject_reason}",
        parameter="file" if result.state == "rejected" else None,
    )
    status = {"accepted": 201, "unchanged": 200, "rejected": 400}[result.state]
    return JSONResponse(answer.model_dump(mode="json"), status_code=status)


@router.get(
    "/api/files/{file_id}",
    summary="A submitted file: state, report, granules",
    responses=JsonRoute.errors(401),
)
def get_file(
    runtime: RuntimeDep, caller: CallerDep, file_id: Annotated[int, Path(ge=1, lt=2**63)]
) -> FileAnswer:
    record = file_record(runtime.database, caller, file_id)
    row = record.file
    return FileAnswer(
        id=row.id,
        collection_id=row.collection_id,
        filename=row.filename,
        md5=row.md5,
        size_bytes=row.size_bytes,
        state=row.state,
        reject_reason=row.reject_reason,
        report=row.report,
        submitted=row.submitted,
        granule_ids=record.granule_ids,
    )


async def _upload(request: Request, limit: int, filename: str | None) -> tuple[str, bytes]:
    """The file's name and bytes, from a multipart part ``file`` or from the raw body (the
    application bounds the body while it arrives)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        upload = (await request.form()).get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidParameter("file", "send the OIFITS file as the multipart part 'file'")
        content = await upload.read()
        # A browser may send a client-side path: only its last part names the file.
        name = filename or PurePosixPath((upload.filename or "").replace("\\", "/")).name
    else:
        if filename is None:
            raise InvalidParameter("filename", "required with a raw body")
        content, name = await request.body(), filename
    if len(content) > limit:
        raise HTTPException(413, too_large_message(limit))
    return name, content


def too_large_message(limit: int) -> str:
    return f"file: larger than the limit of {limit:,} bytes"

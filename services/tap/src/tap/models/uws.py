"""UWS 1.1 documents of async TAP jobs (vo-models) and the parameters of the UWS routes.

Job documents are written with ``skip_empty=False``: the UWS schema wants ``ownerId``,
``quote``, ``startTime``... present, nil when empty (``xsi:nil``).
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, Field
from pydantic_xml import element
from vo_models.uws.models import (
    ErrorSummary,
    Job,
    Jobs,
    Parameter,
    Parameters,
    ResultReference,
    Results,
    ShortJobDescription,
)
from vo_models.uws.types import ErrorType, ExecutionPhase

from ..schema import JobRow
from .parameters import MAX_TEXT, QueryParameters

UWS_MEDIA_TYPE = "text/xml"
RESULT_ID = "result"

Text = Annotated[str | None, Field(None, max_length=MAX_TEXT)]


class JobCreation(QueryParameters):
    """POST /async: the query's parameters, plus ``PHASE=RUN`` to queue it at once."""

    PHASE: Text = Field(None, max_length=MAX_TEXT, description="RUN: queue the job at once")


class JobListFilter(BaseModel):
    PHASE: list[str] = Field([], description="Only jobs in these phases (repeatable)")
    AFTER: Text = Field(None, max_length=MAX_TEXT, description="Only jobs created after (ISO)")
    LAST: int | None = Field(None, ge=1, le=10_000, description="The newest n jobs, newest first")


class JobWait(BaseModel):
    WAIT: int | None = Field(
        None, ge=-1, le=2**31 - 1, description="Seconds to block while the phase is unchanged"
    )
    PHASE: Text = Field(None, max_length=MAX_TEXT, description="Block while in this phase")


class JobAction(BaseModel):
    ACTION: str = Field(max_length=MAX_TEXT, description="DELETE")


class PhaseChange(BaseModel):
    PHASE: str = Field(max_length=MAX_TEXT, description="RUN or ABORT")


class ExecutionDurationChange(BaseModel):
    EXECUTIONDURATION: str = Field(max_length=MAX_TEXT, description="Seconds")


class DestructionChange(BaseModel):
    DESTRUCTION: str = Field(max_length=MAX_TEXT, description="ISO-8601 instant")


def _parameter(alias: str):
    return element(tag="parameter", default=None, alias=alias)


class TapJobParameters(Parameters):
    """The TAP parameters a job shows (UWS matches them to fields by their ``id``)."""

    request: Parameter | None = _parameter("REQUEST")
    version: Parameter | None = _parameter("VERSION")
    lang: Parameter | None = _parameter("LANG")
    query: Parameter | None = _parameter("QUERY")
    maxrec: Parameter | None = _parameter("MAXREC")
    responseformat: Parameter | None = _parameter("RESPONSEFORMAT")
    format: Parameter | None = _parameter("FORMAT")
    upload: Parameter | None = _parameter("UPLOAD")
    runid: Parameter | None = _parameter("RUNID")


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def parameters_of(job: JobRow) -> TapJobParameters:
    shown = set(TapJobParameters.model_fields[name].alias for name in TapJobParameters.model_fields)
    return TapJobParameters(
        **{
            name: Parameter(id=name, value=value)
            for name, value in job.parameters.items()
            if name in shown
        }
    )


def results_of(job: JobRow, result_url: str) -> Results:
    if job.phase != "COMPLETED":
        return Results()
    return Results(
        results=[ResultReference(id=RESULT_ID, href=result_url, mime_type=job.result_media_type)]
    )


def job_document(job: JobRow, result_url: str) -> bytes:
    error = None
    if job.phase == "ERROR":
        error = ErrorSummary(message=job.error_message or "", type=ErrorType.FATAL, has_detail=True)
    document = Job[TapJobParameters](
        job_id=job.id,
        run_id=job.run_id,
        owner_id=job.owner_name,
        phase=ExecutionPhase(job.phase),
        creation_time=_utc(job.creation_time),
        start_time=_utc(job.start_time),
        end_time=_utc(job.end_time),
        execution_duration=job.execution_duration,
        destruction=_utc(job.destruction_time),
        parameters=parameters_of(job),
        results=results_of(job, result_url),
        error_summary=error,
    )
    return document.to_xml(skip_empty=False, encoding="UTF-8", xml_declaration=True)


def parameters_document(job: JobRow) -> bytes:
    return parameters_of(job).to_xml(encoding="UTF-8", xml_declaration=True)


def results_document(job: JobRow, result_url: str) -> bytes:
    return results_of(job, result_url).to_xml(encoding="UTF-8", xml_declaration=True)


def jobs_document(jobs: Sequence[JobRow], job_url: Callable[[str], str]) -> bytes:
    document = Jobs(
        jobref=[
            ShortJobDescription(
                job_id=job.id,
                href=job_url(job.id),
                phase=ExecutionPhase(job.phase),
                run_id=job.run_id,
                owner_id=job.owner_name,
                creation_time=_utc(job.creation_time),
            )
            for job in jobs
        ]
    )
    return document.to_xml(skip_empty=True, encoding="UTF-8", xml_declaration=True)

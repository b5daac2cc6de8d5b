"""Async TAP jobs (UWS 1.1): creation, phases, parameters, results, execution and cleanup.

Every state is a row of ``tap.jobs``, so a web process or a worker can restart without losing
a job. A job runs in a worker (``tap worker``, procrastinate): the web process queues it in
the transaction that makes it QUEUED, the worker moves it to EXECUTING, writes the result into
the job's folder under ``settings.results_dir`` and ends it COMPLETED or ERROR.

Who sees a job: the signed-in user who created it (platform token or session), and nobody
else; an anonymous job is seen by anyone who knows its id (ids are random, 96 bits), and the
job list of an anonymous client shows the anonymous jobs created from its address.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from vo_models.uws.types import ExecutionPhase

from jmmc_core.accounts.services import find_user
from jmmc_core.errors import (
    Conflict,
    InvalidParameter,
    NotFound,
    ServiceError,
    TooManyRequests,
)

from ..config import Settings
from ..schema import JobRow
from ..storage import jobs as storage
from .query import execute_to_file, parse_query_request
from .rights import Caller, caller_of

if TYPE_CHECKING:
    from ..dependencies import TapRuntime

_log = logging.getLogger(__name__)

WAITING_PHASES = ("PENDING", "QUEUED", "EXECUTING")
#: Every phase UWS 1.1 names (a filter may ask for those this service never uses).
UWS_PHASES = tuple(phase.value for phase in ExecutionPhase)
#: The longest a client may block on ``?WAIT=`` (also what ``WAIT=-1`` means).
MAX_WAIT_SECONDS = 60
#: Parameters that drive the job instead of describing its query.
CONTROL_PARAMETERS = ("PHASE", "EXECUTIONDURATION", "DESTRUCTION", "ACTION")
WORKER_STOPPED = "the worker running this job stopped; please resubmit"
INTERNAL_FAILURE = "internal error while running the job; it has been logged"
RESULT_FILE = "result"
UPLOADS_FOLDER = "uploads"
PART_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def now() -> datetime:
    """The current instant, to the millisecond (what the job documents show)."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC with ``Z``, as in the job document."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(parameter: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidParameter(
            parameter, f"must be an ISO-8601 date such as 2030-01-31T12:00:00Z, not {value!r}"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def job_folder(settings: Settings, job_id: str) -> Path:
    return Path(settings.results_dir) / job_id


def result_path(settings: Settings, job_id: str) -> Path:
    return job_folder(settings, job_id) / RESULT_FILE


def _phase_value(value: str) -> str:
    return value.strip().upper()


def _visible(job: JobRow | None, caller: Caller) -> JobRow:
    """The job if ``caller`` may see it; a job of someone else is as unknown as a missing one."""
    owner = caller.user.id if caller.user is not None else None
    if job is None or (job.owner_id is not None and job.owner_id != owner):
        raise NotFound("no such job (it may have been deleted or have expired)")
    return job


def _query_parameters(parameters: Mapping[str, str]) -> dict[str, str]:
    return {
        name.upper(): value
        for name, value in parameters.items()
        if name.upper() not in CONTROL_PARAMETERS
    }


def _save_parts(runtime: TapRuntime, job_id: str, parts: Mapping[str, bytes]) -> list[str]:
    if not parts:
        return []
    for name in parts:
        if not PART_NAME.fullmatch(name):
            raise InvalidParameter(
                "UPLOAD", f"upload part name {name!r}: use letters, digits, '_', '.', '-'"
            )
    folder = job_folder(runtime.settings, job_id) / UPLOADS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in parts.items():
        (folder / name).write_bytes(content)
    return sorted(parts)


def _queue(runtime: TapRuntime, session, job: JobRow) -> None:
    """PENDING → QUEUED, within the caller's limit of active jobs."""
    storage.lock_client(session, job.client)
    limit = runtime.settings.max_active_jobs_per_client
    if storage.active_count(session, job.client) >= limit:
        raise TooManyRequests(
            f"you already have {limit} queued or running jobs; wait for one to finish "
            "(or abort one) before starting another",
            retry_after=30,
        )
    job.queue_job_id = storage.enqueue(session, job.id)
    job.phase = "QUEUED"


def create_job(
    runtime: TapRuntime,
    caller: Caller,
    parameters: Mapping[str, str],
    parts: Mapping[str, bytes],
) -> JobRow:
    """A new job (PENDING; queued at once with ``PHASE=RUN``).

    Its query parameters are checked when it runs: a bad one (LANG, MAXREC, RESPONSEFORMAT,
    QUERY...) ends the job in ERROR naming it, as TAP clients expect (TOPCAT's validator
    requires a job even for an unknown query language).
    """
    settings = runtime.settings
    phase = _phase_value(parameters.get("PHASE", ""))
    if phase not in ("", "RUN"):
        raise InvalidParameter("PHASE", "at creation PHASE may only be RUN")
    query_parameters = _query_parameters(parameters)
    created = now()
    job = JobRow(
        id=secrets.token_urlsafe(12),
        run_id=query_parameters.get("RUNID"),
        owner_id=caller.user.id if caller.user is not None else None,
        owner_name=caller.user.username if caller.user is not None else None,
        client=caller.client,
        phase="PENDING",
        parameters=query_parameters,
        upload_parts=[],
        execution_duration=settings.async_timeout_seconds,
        creation_time=created,
        destruction_time=created + timedelta(hours=settings.job_retention_hours),
    )
    try:
        job.upload_parts = _save_parts(runtime, job.id, parts)
        with runtime.database.session() as session:
            storage.add(session, job)
            if phase == "RUN":
                _queue(runtime, session, job)
    except Exception:
        shutil.rmtree(job_folder(settings, job.id), ignore_errors=True)
        raise
    return job


def get_job(runtime: TapRuntime, caller: Caller, job_id: str) -> JobRow:
    with runtime.database.session() as session:
        return _visible(storage.get(session, job_id), caller)


def list_jobs(
    runtime: TapRuntime, caller: Caller, phases: Sequence[str], after: str | None, last: int | None
) -> list[JobRow]:
    wanted = [_phase_value(phase) for phase in phases if phase.strip()]
    unknown = [phase for phase in wanted if phase not in UWS_PHASES]
    if unknown:
        raise InvalidParameter(
            "PHASE", f"unknown phase {unknown[0]!r}; one of {', '.join(UWS_PHASES)}"
        )
    if last is not None and last < 1:
        raise InvalidParameter("LAST", "must be a positive integer")
    with runtime.database.session() as session:
        return list(
            storage.listed(
                session,
                owner_id=caller.user.id if caller.user is not None else None,
                client=caller.client,
                phases=wanted,
                after=parse_iso("AFTER", after) if after else None,
                last=last,
            )
        )


def change_phase(runtime: TapRuntime, caller: Caller, job_id: str, value: str) -> None:
    """``PHASE=RUN`` or ``PHASE=ABORT``."""
    phase = _phase_value(value)
    if phase not in ("RUN", "ABORT"):
        raise InvalidParameter("PHASE", f"must be RUN or ABORT, not {value!r}")
    with runtime.database.session() as session:
        job = _visible(storage.get(session, job_id, for_update=True), caller)
        if phase == "RUN":
            if job.phase in ("QUEUED", "EXECUTING"):
                return
            if job.phase != "PENDING":
                raise InvalidParameter("PHASE", f"a {job.phase} job cannot be run again")
            _queue(runtime, session, job)
        else:
            if job.phase == "ABORTED":
                return
            if job.phase in ("COMPLETED", "ERROR"):
                raise InvalidParameter("PHASE", f"a {job.phase} job cannot be aborted")
            _abort(session, job)


def _abort(session, job: JobRow) -> None:
    if job.queue_job_id is not None:
        storage.cancel_queued(session, job.queue_job_id)
    job.phase = "ABORTED"
    job.end_time = now()


def delete_job(runtime: TapRuntime, caller: Caller, job_id: str) -> None:
    """Abort the job if it runs, then forget it and its files."""
    with runtime.database.session() as session:
        job = _visible(storage.get(session, job_id, for_update=True), caller)
        if job.phase in WAITING_PHASES:
            _abort(session, job)
        storage.remove(session, job.id)
    shutil.rmtree(job_folder(runtime.settings, job_id), ignore_errors=True)


def _pending(session, caller: Caller, job_id: str) -> JobRow:
    job = _visible(storage.get(session, job_id, for_update=True), caller)
    if job.phase != "PENDING":
        raise Conflict(f"the job is {job.phase}: only a PENDING job can be changed")
    return job


def update_parameters(
    runtime: TapRuntime,
    caller: Caller,
    job_id: str,
    parameters: Mapping[str, str],
    parts: Mapping[str, bytes],
) -> None:
    with runtime.database.session() as session:
        job = _pending(session, caller, job_id)
        merged = {**job.parameters, **_query_parameters(parameters)}
        job.parameters = merged
        job.run_id = merged.get("RUNID")
        job.upload_parts = sorted({*job.upload_parts, *_save_parts(runtime, job.id, parts)})


def set_execution_duration(runtime: TapRuntime, caller: Caller, job_id: str, value: str) -> None:
    """Seconds; 0 (unlimited in UWS) and anything longer are capped at the service's limit."""
    try:
        seconds = int(value.strip())
    except ValueError:
        raise InvalidParameter(
            "EXECUTIONDURATION", f"must be a whole number of seconds, not {value!r}"
        ) from None
    if seconds < 0:
        raise InvalidParameter("EXECUTIONDURATION", "must not be negative")
    limit = runtime.settings.async_max_timeout_seconds
    with runtime.database.session() as session:
        job = _pending(session, caller, job_id)
        job.execution_duration = limit if seconds == 0 else min(seconds, limit)


def set_destruction(runtime: TapRuntime, caller: Caller, job_id: str, value: str) -> None:
    """A time before the service's retention limit (later times are brought back to it)."""
    moment = parse_iso("DESTRUCTION", value)
    with runtime.database.session() as session:
        job = _visible(storage.get(session, job_id, for_update=True), caller)
        latest = job.creation_time + timedelta(hours=runtime.settings.job_retention_hours)
        chosen = min(moment, latest)
        job.destruction_time = chosen.replace(microsecond=chosen.microsecond // 1000 * 1000)


def result_file(runtime: TapRuntime, caller: Caller, job_id: str) -> tuple[Path, str]:
    """The result of a COMPLETED job and its media type."""
    job = get_job(runtime, caller, job_id)
    path = result_path(runtime.settings, job.id)
    if job.phase != "COMPLETED" or not path.exists():
        raise NotFound(f"the job is {job.phase}: it has no result")
    return path, job.result_media_type or "application/octet-stream"


def error_message(runtime: TapRuntime, caller: Caller, job_id: str) -> str:
    job = get_job(runtime, caller, job_id)
    if job.phase != "ERROR":
        raise NotFound(f"the job is {job.phase}: it has no error")
    return job.error_message or INTERNAL_FAILURE


async def wait_for_change(
    runtime: TapRuntime, caller: Caller, job_id: str, seconds: int, phase: str | None
) -> JobRow:
    """The job once its phase leaves ``phase`` (default: its current phase, if PENDING,
    QUEUED or EXECUTING) or after ``seconds`` (-1: the longest wait allowed).

    Polls with a growing interval: no connection nor thread is held while sleeping.
    """
    job = await asyncio.to_thread(get_job, runtime, caller, job_id)
    watched = _phase_value(phase) if phase else job.phase
    limit = MAX_WAIT_SECONDS if seconds < 0 else min(seconds, MAX_WAIT_SECONDS)
    if watched not in WAITING_PHASES or job.phase != watched or limit == 0:
        return job
    deadline = asyncio.get_running_loop().time() + limit
    interval = 0.01
    while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
        await asyncio.sleep(min(interval, remaining))
        interval = min(interval * 1.3, 0.5)
        current = await asyncio.to_thread(_current_phase, runtime, job_id)
        if current != watched:
            break
    return await asyncio.to_thread(get_job, runtime, caller, job_id)


def _current_phase(runtime: TapRuntime, job_id: str) -> str | None:
    with runtime.database.session() as session:
        return storage.phase_of(session, job_id)


# --------------------------------------------------------------------------------------
# In the worker


def start_execution(runtime: TapRuntime, job_id: str) -> JobRow | None:
    """QUEUED → EXECUTING; None if the job was aborted or deleted before a worker took it."""
    with runtime.database.session() as session:
        return storage.start(session, job_id, now())


def _caller_of_job(runtime: TapRuntime, job: JobRow) -> Caller:
    user = None
    if job.owner_name is not None:
        with runtime.database.session() as session:
            try:
                user = find_user(session, job.owner_name)
            except NotFound:
                raise ServiceError("the account that created this job no longer exists") from None
    return caller_of(runtime.database, user, job.client)


def execute(runtime: TapRuntime, job: JobRow) -> None:
    """Run an EXECUTING job to its end: COMPLETED with its result, or ERROR with the reason."""
    folder = job_folder(runtime.settings, job.id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        parts = {name: folder / UPLOADS_FOLDER / name for name in job.upload_parts}
        request = parse_query_request(job.parameters, parts, runtime.settings)
        summary = execute_to_file(
            runtime,
            request,
            _caller_of_job(runtime, job),
            parts,
            folder / RESULT_FILE,
            job.execution_duration,
        )
    except ServiceError as error:
        _end(runtime, job.id, "ERROR", error_message=str(error))
        return
    except Exception:
        _log.exception("async job %s failed", job.id)
        _end(runtime, job.id, "ERROR", error_message=INTERNAL_FAILURE)
        return
    _end(
        runtime,
        job.id,
        "COMPLETED",
        result_media_type=summary.media_type,
        result_rows=summary.rows,
        result_overflow=summary.overflow,
    )


def _end(runtime: TapRuntime, job_id: str, phase: str, **values: object) -> None:
    with runtime.database.session() as session:
        if storage.finish(session, job_id, phase, now(), **values):
            return
        still_there = storage.get(session, job_id) is not None
    # Aborted meanwhile: its result is not wanted; deleted meanwhile: neither is its folder.
    if still_there:
        result_path(runtime.settings, job_id).unlink(missing_ok=True)
    else:
        shutil.rmtree(job_folder(runtime.settings, job_id), ignore_errors=True)


def interrupt(runtime: TapRuntime, job_id: str) -> None:
    """ERROR for a job its worker stops running (the worker is shutting down)."""
    with runtime.database.session() as session:
        storage.finish(session, job_id, "ERROR", now(), error_message=WORKER_STOPPED)


def fail_stopped(runtime: TapRuntime, queue_job_ids: Sequence[int]) -> list[str]:
    """ERROR for the jobs whose worker stopped while running them."""
    with runtime.database.session() as session:
        return storage.fail_queue_entries(session, queue_job_ids, WORKER_STOPPED, now())


def cleanup(runtime: TapRuntime) -> int:
    """Delete the jobs past their destruction time and their files; how many."""
    with runtime.database.session() as session:
        expired = storage.expired(session, now())
        for job in expired:
            if job.phase in WAITING_PHASES:
                _abort(session, job)
            storage.remove(session, job.id)
        removed = [job.id for job in expired]
    for job_id in removed:
        shutil.rmtree(job_folder(runtime.settings, job_id), ignore_errors=True)
    return len(removed)

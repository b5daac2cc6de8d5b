"""SQL of async jobs: the ``tap.jobs`` rows and their entries in procrastinate's queue.

A job is queued in the same transaction that moves it to QUEUED, through procrastinate's own
SQL function (the one its ``defer`` calls), so a job is never QUEUED without a queue entry.
"""

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from ..schema import JobRow

#: Procrastinate's queue and task of an async job (the worker registers the same names).
QUEUE = "tap"
RUN_JOB_TASK = "tap.run_job"
ACTIVE_PHASES = ("QUEUED", "EXECUTING")


def add(session: Session, job: JobRow) -> None:
    session.add(job)
    session.flush()


def get(session: Session, job_id: str, *, for_update: bool = False) -> JobRow | None:
    statement = select(JobRow).where(JobRow.id == job_id)
    if for_update:
        statement = statement.with_for_update()
    return session.scalars(statement).one_or_none()


def phase_of(session: Session, job_id: str) -> str | None:
    return session.scalar(select(JobRow.phase).where(JobRow.id == job_id))


def listed(
    session: Session,
    *,
    owner_id: int | None,
    client: str,
    phases: Sequence[str],
    after: datetime | None,
    last: int | None,
) -> Sequence[JobRow]:
    """A signed-in owner's jobs, or the anonymous jobs created from ``client``."""
    statement = select(JobRow)
    if owner_id is None:
        statement = statement.where(JobRow.owner_id.is_(None), JobRow.client == client)
    else:
        statement = statement.where(JobRow.owner_id == owner_id)
    if phases:
        statement = statement.where(JobRow.phase.in_(phases))
    if after is not None:
        statement = statement.where(JobRow.creation_time > after)
    if last is not None:
        statement = statement.order_by(JobRow.creation_time.desc()).limit(last)
    else:
        statement = statement.order_by(JobRow.creation_time)
    return session.scalars(statement).all()


def lock_client(session: Session, client: str) -> None:
    """Serialise the start of one client's jobs until the end of the transaction, so two
    concurrent requests cannot both pass the per-client limit."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:client))"), {"client": client})


def active_count(session: Session, client: str) -> int:
    return session.scalar(
        select(func.count())
        .select_from(JobRow)
        .where(JobRow.client == client, JobRow.phase.in_(ACTIVE_PHASES))
    )


def enqueue(session: Session, job_id: str) -> int:
    """Queue ``run_job(job_id)``; the id of the queue entry."""
    return session.scalar(
        text(
            "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, NULL,"
            " CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1]))"
        ),
        {"queue": QUEUE, "task": RUN_JOB_TASK, "args": json.dumps({"job_id": job_id})},
    )


def cancel_queued(session: Session, queue_job_id: int) -> None:
    """Take a job off the queue, or ask the worker running it to abort it."""
    session.execute(
        text("SELECT procrastinate_cancel_job_v1(:id, true, false)"), {"id": queue_job_id}
    )


def remove(session: Session, job_id: str) -> None:
    session.execute(delete(JobRow).where(JobRow.id == job_id))


def start(session: Session, job_id: str, now: datetime) -> JobRow | None:
    """QUEUED → EXECUTING; None when the job is gone or no longer queued (aborted)."""
    return session.scalars(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.phase == "QUEUED")
        .values(phase="EXECUTING", start_time=now)
        .returning(JobRow)
    ).one_or_none()


def finish(session: Session, job_id: str, phase: str, now: datetime, **values: object) -> bool:
    """EXECUTING → ``phase``; False when the job was aborted or deleted meanwhile."""
    finished = session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.phase == "EXECUTING")
        .values(phase=phase, end_time=now, **values)
        .returning(JobRow.id)
    )
    return finished.first() is not None


def fail_queue_entries(
    session: Session, queue_job_ids: Sequence[int], message: str, now: datetime
) -> list[str]:
    """ERROR for the running or queued jobs of these queue entries; their ids."""
    if not queue_job_ids:
        return []
    failed = session.scalars(
        update(JobRow)
        .where(JobRow.queue_job_id.in_(queue_job_ids), JobRow.phase.in_(ACTIVE_PHASES))
        .values(phase="ERROR", end_time=now, error_message=message)
        .returning(JobRow.id)
    )
    return list(failed)


def expired(session: Session, now: datetime) -> Sequence[JobRow]:
    """Jobs past their destruction time, locked (other cleaners skip them)."""
    return session.scalars(
        select(JobRow).where(JobRow.destruction_time <= now).with_for_update(skip_locked=True)
    ).all()


def existing_ids(session: Session, job_ids: Sequence[str]) -> set[str]:
    return set(session.scalars(select(JobRow.id).where(JobRow.id.in_(job_ids))))

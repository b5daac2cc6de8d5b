"""``tap worker``: runs the queued async jobs with procrastinate (scale out by starting more).

Each worker runs up to ``settings.worker_concurrency`` jobs at once: a job's query blocks, so
it runs in a thread while the event loop keeps the worker's heartbeat, its queue listener and
abort requests going. Aborting a job (UWS ``PHASE=ABORT`` or DELETE) asks procrastinate to
abort its task; the worker then cancels the job's running statement on the database.

A worker that dies (killed, machine lost) stops sending heartbeats. Every worker looks, at
start and then every few heartbeats, for queue entries held by a worker whose heartbeat is
stale, and ends their jobs in ERROR ("the worker running this job stopped; please resubmit").
They are not retried: a query that brought a worker down would likely do it again.
"""

import asyncio
import logging
import math
import threading
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Status
from sqlalchemy import Engine, event

from jmmc_core.database import Database, database_url

from .config import Settings
from .dependencies import TapRuntime
from .services import jobs
from .services.catalog import CatalogCache
from .storage.jobs import QUEUE, RUN_JOB_TASK
from .storage.query_engine import create_query_engine

_log = logging.getLogger(__name__)

CLEANUP_TASK = "tap.cleanup"
#: Heartbeats a worker may miss before other workers take it as stopped.
MISSED_HEARTBEATS = 3
#: On SIGTERM, how long running jobs may still finish before they are stopped (in ERROR).
SHUTDOWN_GRACE_SECONDS = 20.0
CLIENT_CHECK_MILLISECONDS = 2000


class JobStatements:
    """The query connection each job thread holds, so an abort can cancel its statement.

    Job connections also check every few seconds, while a statement runs, that their worker
    is still there (``client_connection_check_interval``): the statements of a killed worker
    end at once instead of running until their timeout.
    """

    def __init__(self, engine: Engine) -> None:
        #: Connections checked out by each thread (a query may hold more than one at a time).
        self._connections: dict[int, list[Any]] = {}
        self._lock = threading.Lock()
        event.listen(engine, "checkout", self._checked_out)
        event.listen(engine, "checkin", self._checked_in)

    def _checked_out(self, dbapi_connection, _record, _proxy) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            dbapi_connection.execute(
                f"SET client_connection_check_interval = {CLIENT_CHECK_MILLISECONDS}"
            )
        finally:
            dbapi_connection.autocommit = autocommit
        with self._lock:
            self._connections.setdefault(threading.get_ident(), []).append(dbapi_connection)

    def _checked_in(self, dbapi_connection, _record) -> None:
        with self._lock:
            for thread, held in list(self._connections.items()):
                if dbapi_connection in held:
                    held.remove(dbapi_connection)
                if not held:
                    del self._connections[thread]

    def cancel(self, thread: int) -> None:
        with self._lock:
            held = list(self._connections.get(thread, ()))
        for connection in held:
            connection.cancel_safe()


def _runtime(context: JobContext) -> TapRuntime:
    return context.additional_context["runtime"]


async def run_job(context: JobContext, job_id: str) -> None:
    runtime = _runtime(context)
    thread: list[int] = []

    def execute() -> None:
        thread.append(threading.get_ident())
        job = jobs.start_execution(runtime, job_id)
        if job is not None:  # None: aborted or deleted before a worker took it
            jobs.execute(runtime, job)

    running = asyncio.ensure_future(asyncio.to_thread(execute))
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        # Aborted by the client (the job is ABORTED already) or the worker is stopping (the
        # job ends in ERROR): stop the statement; the thread then finds the job ended.
        if context.abort_reason() is AbortReason.SHUTDOWN:
            await asyncio.to_thread(jobs.interrupt, runtime, job_id)
        if thread:
            context.additional_context["statements"].cancel(thread[0])
        await running
        raise


async def cleanup_expired(context: JobContext, timestamp: int) -> None:
    """Expired jobs and their files; the queue's ended entries once their jobs have expired."""
    runtime = _runtime(context)
    removed = await asyncio.to_thread(jobs.cleanup, runtime)
    if removed:
        _log.info("deleted %d expired async jobs", removed)
    await context.app.job_manager.delete_old_jobs(
        nb_hours=math.ceil(runtime.settings.job_retention_hours),
        queue=QUEUE,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )


def create_queue_app(settings: Settings) -> App:
    """Procrastinate's app on the service's database; its tables are in the ``tap`` schema."""
    url = database_url(settings).set(drivername="postgresql")
    connector = PsycopgConnector(
        conninfo=url.render_as_string(hide_password=False),
        kwargs={
            "options": f"-c search_path={settings.schema_name}",
            "application_name": "tap-worker",
        },
    )
    app = App(connector=connector)
    app.task(name=RUN_JOB_TASK, queue=QUEUE, pass_context=True)(run_job)
    cleanup_task = app.task(name=CLEANUP_TASK, queue=QUEUE, pass_context=True)(cleanup_expired)
    app.periodic(cron="*/15 * * * *", periodic_id="cleanup")(cleanup_task)
    return app


async def fail_stopped_jobs(app: App, runtime: TapRuntime, stalled_after: float) -> None:
    """ERROR for the jobs of workers whose heartbeat is older than ``stalled_after``."""
    stalled = await app.job_manager.get_stalled_jobs(
        task_name=RUN_JOB_TASK, seconds_since_heartbeat=stalled_after
    )
    entries = [job.id for job in stalled if job.id is not None]
    failed = await asyncio.to_thread(jobs.fail_stopped, runtime, entries)
    for job in stalled:
        await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
    if failed:
        _log.warning("jobs whose worker stopped, now in ERROR: %s", ", ".join(failed))


async def _watch_stopped_workers(app: App, runtime: TapRuntime, heartbeat: float) -> None:
    stalled_after = heartbeat * MISSED_HEARTBEATS
    while True:
        await fail_stopped_jobs(app, runtime, stalled_after)
        await asyncio.sleep(stalled_after)


def create_runtime(settings: Settings) -> TapRuntime:
    query_engine = create_query_engine(settings)
    return TapRuntime(settings, Database(settings), query_engine, CatalogCache(query_engine))


async def run_worker(settings: Settings, concurrency: int, heartbeat: float) -> None:
    runtime = create_runtime(settings)
    statements = JobStatements(runtime.query_engine)
    app = create_queue_app(settings)
    try:
        async with app.open_async():
            watcher = asyncio.create_task(_watch_stopped_workers(app, runtime, heartbeat))
            try:
                await app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=concurrency,
                    name="tap-worker",
                    additional_context={"runtime": runtime, "statements": statements},
                    update_heartbeat_interval=heartbeat,
                    stalled_worker_timeout=heartbeat * MISSED_HEARTBEATS,
                    abort_job_polling_interval=1.0,
                    shutdown_graceful_timeout=SHUTDOWN_GRACE_SECONDS,
                    delete_jobs="successful",
                )
            finally:
                watcher.cancel()
    finally:
        runtime.query_engine.dispose()
        runtime.database.dispose()

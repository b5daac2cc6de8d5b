"""One ingestion run: read a source, process headers in worker processes, load in batches.

Headers are parsed, classified, extracted and validated in a pool of processes (that part is
pure Python and CPU-bound); the parent only deduplicates header ids and streams outcome
batches into PostgreSQL. Order is preserved end to end, which keeps target and observation
numbering independent of how the work was split.
"""

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult, Pool

from jmmc_core.settings import ServiceSettings

from ...storage import ingestion as storage
from ...storage.ingestion_records import Accepted, Excluded, Rejected
from .extract import Outcome, process
from .sources import Chunk, Source

BATCH_SIZE = 5000

#: Called after each stored batch with (headers read so far, seconds elapsed).
ProgressCallback = Callable[[int, float], None]


def process_chunk(chunk: Chunk) -> list[Outcome]:
    return [process(raw) for raw in chunk.headers()]


class NothingRead(Exception):
    """The source had input but yielded no header: a silent loss, so the run fails."""


@dataclass
class Batch:
    accepted: list[Accepted]
    excluded: list[Excluded]
    rejected: list[Rejected]

    @classmethod
    def empty(cls) -> "Batch":
        return cls([], [], [])

    def __len__(self) -> int:
        return len(self.accepted) + len(self.excluded) + len(self.rejected)


class Deduplicator:
    """A header id seen twice in one run is rejected the second time (counts stay exact)."""

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def check(self, outcome: Outcome) -> Outcome:
        header_id = outcome.header_id
        if header_id is None or isinstance(outcome, Rejected):
            return outcome
        key = hash(header_id)
        if key in self._seen:
            return Rejected(
                header_id,
                header_id,
                "duplicate_header",
                "the header id was already read in this run",
            )
        self._seen.add(key)
        return outcome


@contextmanager
def _outcomes(source: Source, workers: int) -> Iterator[Iterator[list[Outcome]]]:
    if workers <= 1:
        yield map(process_chunk, source.chunks())
        return
    # Fork before any database connection exists, so children inherit none.
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield _ordered_window(pool, source.chunks(), window=3 * workers)


def _ordered_window(pool: Pool, chunks: Iterator[Chunk], window: int) -> Iterator[list[Outcome]]:
    """Results in source order, with at most ``window`` chunks in flight.

    ``Pool.imap`` would read the whole source ahead and pile up results whenever the database
    is slower than the workers; a window keeps memory flat at any scale.
    """
    pending: deque[AsyncResult] = deque()
    for chunk in chunks:
        pending.append(pool.apply_async(process_chunk, (chunk,)))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def ingest(
    settings: ServiceSettings,
    source: Source,
    *,
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    progress: ProgressCallback | None = None,
) -> storage.RunRecord:
    """Run one ingestion to the end and return its record (status succeeded or failed).

    A failure (database error, unreadable source) rolls back the current batch, marks the
    run failed with the error and returns; what earlier batches stored stays, and the next
    run picks up from there because loading is idempotent.
    """
    workers = workers or os.cpu_count() or 1
    started = time.monotonic()
    with _outcomes(source, workers) as outcomes, storage.connect(settings) as connection:
        storage.acquire_run_lock(connection)
        run_id = storage.start_run(connection, source.description)
        deduplicator = Deduplicator()
        batch, read = Batch.empty(), 0
        try:
            for chunk_outcomes in outcomes:
                for outcome in map(deduplicator.check, chunk_outcomes):
                    _add(batch, outcome)
                if len(batch) >= batch_size:
                    read += _store(connection, run_id, batch)
                    batch = Batch.empty()
                    if progress:
                        progress(read, time.monotonic() - started)
            read += _store(connection, run_id, batch)
            if progress:
                progress(read, time.monotonic() - started)
            if read == 0 and getattr(source, "has_input", False):
                raise NothingRead(f"0 headers read from {source.description}, which is not empty")
        except Exception as error:  # any failure ends the run as failed, with the reason
            storage.finish_run(connection, run_id, error=_one_line(error))
        else:
            storage.finish_run(connection, run_id, watermark=getattr(source, "watermark", None))
        return storage.get_run(connection, run_id)


def _add(batch: Batch, outcome: Outcome) -> None:
    if isinstance(outcome, Accepted):
        batch.accepted.append(outcome)
    elif isinstance(outcome, Excluded):
        batch.excluded.append(outcome)
    else:
        batch.rejected.append(outcome)


def _store(connection, run_id: int, batch: Batch) -> int:
    if len(batch):
        storage.load_batch(connection, run_id, batch.accepted, batch.excluded, batch.rejected)
    return len(batch)


def _one_line(error: BaseException) -> str:
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0] if message else ''}"

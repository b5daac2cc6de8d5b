"""Benchmark of ObsPortal ingestion: synthetic ESO headers through the whole pipeline.

Prints headers/s per stage (generate, parse, classify + extract + validate, database load),
the end-to-end time and rate, peak memory, and astropy's ``Header.fromstring`` on a sample
as the reference the targeted card reader is compared with. Run:

    .venv/bin/python bench/ingest.py                  # 1,000,000 headers (~70% excluded)
    .venv/bin/python bench/ingest.py --headers 20000  # quick

A private PostgreSQL is started in a temporary folder unless ``--database-url`` is given.
"""

import argparse
import contextlib
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from astropy.io.fits import Header

from jmmc_core.migrations import upgrade_to_head
from jmmc_devtools.pgcluster import PostgresCluster, free_port
from obsportal.cli import MIGRATIONS
from obsportal.config import Settings
from obsportal.services.ingestion import run as ingestion_run
from obsportal.services.ingestion.cards import parse_header
from obsportal.services.ingestion.extract import RawHeader, process
from obsportal.services.ingestion.synthetic import SyntheticSource, synthetic_header
from obsportal.storage import ingestion as storage

SEED = 1
TARGET_SECONDS = 180


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f} headers/s"


def stage_rates(sample: int) -> float:
    """Single-core rates of the CPU stages; returns the card reader's headers/s."""
    started = time.perf_counter()
    headers = [synthetic_header(SEED, index) for index in range(sample)]
    generated = time.perf_counter() - started
    started = time.perf_counter()
    for data in headers:
        with contextlib.suppress(ValueError):  # the few deliberately damaged headers
            parse_header(data)
    parsed = time.perf_counter() - started
    started = time.perf_counter()
    for data in headers:
        process(RawHeader("bench", data))
    processed = time.perf_counter() - started
    astropy_sample = headers[: max(50, sample // 40)]
    started = time.perf_counter()
    for data in astropy_sample:
        with contextlib.suppress(ValueError, KeyError):
            Header.fromstring(data.decode("ascii", "replace"), sep="\n")
    astropy_rate = len(astropy_sample) / (time.perf_counter() - started)
    card_rate = sample / parsed
    print(f"single core, {sample:,} headers, {sum(map(len, headers)) / sample:,.0f} bytes each:")
    print(f"  generate (synthetic)               {rate(sample, generated)}")
    print(f"  parse (targeted card reader)       {rate(sample, parsed)}")
    print(f"  parse+classify+extract+validate    {rate(sample, processed)}")
    print(f"  astropy Header.fromstring          {astropy_rate:>10,.0f} headers/s "
          f"(on {len(astropy_sample):,})")  # fmt: skip
    print(f"  card reader / astropy              {card_rate / astropy_rate:>10,.1f} x")
    return card_rate


def end_to_end(settings: Settings, count: int, workers: int) -> None:
    load_seconds = 0.0
    original = storage.load_batch

    def timed_load(*args, **kwargs):
        nonlocal load_seconds
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            load_seconds += time.perf_counter() - started

    storage.load_batch = timed_load
    last_report = [0.0]

    def progress(read: int, elapsed: float) -> None:
        if elapsed - last_report[0] >= 10:
            last_report[0] = elapsed
            print(f"  ... {read:,} headers, {read / elapsed:,.0f} headers/s", flush=True)

    started = time.perf_counter()
    run = ingestion_run.ingest(
        settings, SyntheticSource(count, seed=SEED), workers=workers, progress=progress
    )
    total = time.perf_counter() - started
    storage.load_batch = original
    assert run.status == "succeeded", run.error
    assert run.read_count == run.accepted_count + run.excluded_count + run.rejected_count
    print(f"end to end, {count:,} headers, {workers} worker processes:")
    share = run.excluded_count / run.read_count
    print(f"  accepted {run.accepted_count:,}  excluded {run.excluded_count:,} ({share:.0%})"
          f"  rejected {run.rejected_count:,}")  # fmt: skip
    print(f"  database load (COPY + upserts)     {rate(count, load_seconds)}  "
          f"({load_seconds:.1f} s in the parent)")  # fmt: skip
    print(f"  total                              {rate(count, total)}  ({total:.1f} s)")
    projected = total * 1_000_000 / count
    print(
        f"  projected for 1,000,000 headers    {projected:>10.0f} s "
        f"(target {TARGET_SECONDS} s: {'met' if projected <= TARGET_SECONDS else 'missed'})"
    )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  peak memory: parent {own:,.0f} MiB, largest worker {children:,.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headers", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="headers per CPU stage")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--database-url", help="an empty database (default: a private one)")
    arguments = parser.parse_args()
    stage_rates(min(arguments.sample, arguments.headers))
    directory = None
    cluster = None
    url = arguments.database_url
    if url is None:
        directory = Path(tempfile.mkdtemp(prefix="jmmc-bench-pg-"))
        cluster = PostgresCluster(directory, free_port())
        cluster.start()
        cluster.ensure_database("bench", "jmmc")
        url = cluster.url("bench", "jmmc")
    try:
        settings = Settings(database_url=url, environment="test")
        upgrade_to_head(settings, MIGRATIONS)
        end_to_end(settings, arguments.headers, arguments.workers)
    finally:
        if cluster is not None:
            cluster.stop()
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()

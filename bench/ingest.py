"""Benchmark of ObsPortal ingestion: real-size synthetic ESO headers through ``obsportal ingest``.

Prints the synthetic headers' size distribution next to the real headers' (shared data), the
single-core rates of each stage (generate, parse, classify + extract + validate) with
astropy's ``Header.fromstring`` on the same headers as the reference measured in the same
run, then the end-to-end rate of the CLI (``obsportal ingest --synthetic``, worker processes
and PostgreSQL included) against the target, and peak memory. Run:

    .venv/bin/python bench/ingest.py                    # 100,000 headers (~70% excluded)
    .venv/bin/python bench/ingest.py --count 1000000    # the target's size

A private PostgreSQL is started in a temporary folder unless ``--database-url`` is given.

Measured on the 2-CPU development machine, nothing else running: 1,000,000 headers in 128.9 s
(7,756 headers/s against the target's 5,556; load 2.7, the run's own), 216 us of CPU per
header in the CLI and its workers, peak memory 243 MiB; single core ~19,000 generated, ~17,600
read and ~10,200 read+classified+extracted headers/s. On the same machine, 100,000 headers with
the code before the card reader's hash table and the baselines text rounded on each number's
shortest text: 6,634 against 7,096 headers/s, 251 against 229 us of CPU per header.
"""

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from astropy.io.fits import Header

from jmmc_core.migrations import upgrade_to_head
from jmmc_devtools.pgcluster import PostgresCluster, free_port
from obsportal.cli import MIGRATIONS
from obsportal.config import Settings
from obsportal.services.ingestion.cards import parse_header
from obsportal.services.ingestion.demo import shared_dir
from obsportal.services.ingestion.extract import RawHeader, process
from obsportal.services.ingestion.synthetic import CARD_COUNTS, synthetic_header

SEED = 1
TARGET_SECONDS = 180
TARGET_COUNT = 1_000_000
CARD = 81  # an 80-character card and its newline
OBSPORTAL = str(Path(sys.executable).parent / "obsportal")


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f} headers/s"


def instrument_of(data: bytes) -> str:
    start = data.find(b"\nINSTRUME= '") + 12
    return data[start : data.index(b"'", start)].decode().strip() if start > 11 else "?"


def size_distribution(headers: list[bytes]) -> None:
    """Cards per header by instrument, synthetic against the real headers (when present)."""
    real_dir = shared_dir() / "data" / "eso_headers"
    real = [path.read_bytes() for path in sorted(real_dir.glob("*.hdr"))]
    print("header size, cards per header (min / median / max) and mean KB:")
    for label, sample in (("synthetic", headers), ("real", real)):
        if not sample:
            print(f"  {label:<10} (no real headers found in {real_dir})")
            continue
        by_instrument = defaultdict(list)
        for data in sample:
            by_instrument[instrument_of(data)].append(len(data) // CARD)
        columns = "  ".join(
            f"{name} {min(cards)}/{statistics.median(cards):.0f}/{max(cards)}"
            for name, cards in sorted(by_instrument.items())
            if name in CARD_COUNTS  # not the deliberately damaged headers
        )
        mean_kb = statistics.mean(map(len, sample)) / 1024
        print(f"  {label:<10} {mean_kb:5.1f} KB  {columns}")


def stage_rates(sample: int) -> None:
    """Single-core CPU time of the stages on the same headers, astropy included."""
    started = time.process_time()
    for index in range(sample):
        synthetic_header(SEED, index)  # dropped at once, as a worker drops each header it read
    generated = time.process_time() - started
    headers = [synthetic_header(SEED, index) for index in range(sample)]
    size_distribution(headers)
    started = time.process_time()
    for data in headers:
        with contextlib.suppress(ValueError):  # the few deliberately damaged headers
            parse_header(data)
    parsed = time.process_time() - started
    started = time.process_time()
    for data in headers:
        process(RawHeader("bench", data))
    processed = time.process_time() - started
    astropy_sample = headers[: max(50, sample // 20)]
    started = time.process_time()
    for data in astropy_sample:
        with contextlib.suppress(ValueError, KeyError):
            Header.fromstring(data.decode("ascii", "replace"), sep="\n")
    astropy_rate = len(astropy_sample) / (time.process_time() - started)
    card_rate = sample / parsed
    print(f"single core (CPU time), {sample:,} headers:")
    print(f"  generate (synthetic)               {rate(sample, generated)}")
    print(f"  parse (targeted card reader)       {rate(sample, parsed)}")
    print(f"  parse+classify+extract+validate    {rate(sample, processed)}")
    print(f"  astropy Header.fromstring          {astropy_rate:>10,.0f} headers/s "
          f"(on {len(astropy_sample):,})")  # fmt: skip
    print(f"  card reader / astropy              {card_rate / astropy_rate:>10,.1f} x")


def end_to_end(url: str, count: int, workers: int) -> None:
    command = [OBSPORTAL, "ingest", "--synthetic", str(count), "--seed", str(SEED), "--json"]
    if workers:
        command += ["--workers", str(workers)]
    environment = {**os.environ, "OBSPORTAL_DATABASE_URL": url}
    cpu_before = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    total = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if result.returncode != 0:
        raise SystemExit(f"obsportal ingest failed:\n{result.stdout}{result.stderr}")
    run = json.loads(result.stdout.splitlines()[-1])
    assert run["read"] == run["accepted"] + run["excluded"] + run["rejected"] == count
    processes = workers or "one per CPU"
    print(f"end to end, obsportal ingest --synthetic {count:,} ({processes} workers):")
    share = run["excluded"] / run["read"]
    print(f"  accepted {run['accepted']:,}  excluded {run['excluded']:,} ({share:.0%})"
          f"  rejected {run['rejected']:,}")  # fmt: skip
    target_rate = TARGET_COUNT / TARGET_SECONDS
    print(f"  total                              {rate(count, total)}  ({total:.1f} s;"
          f" target {target_rate:,.0f} headers/s)")  # fmt: skip
    projected = total * TARGET_COUNT / count
    verdict = "met" if projected <= TARGET_SECONDS else "missed"
    print(f"  projected for 1,000,000 headers    {projected:>10.0f} s "
          f"(target {TARGET_SECONDS} s: {verdict})")  # fmt: skip
    cpus = os.cpu_count() or 1
    print(f"  CPU time of the CLI and its workers {cpu / count * 1e6:>8,.0f} us per header"
          f" (on {cpus} idle CPUs: at most {cpus * count / cpu:,.0f} headers/s"
          " before PostgreSQL's share)")  # fmt: skip
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  peak memory: largest process of the run {children:,.0f} MiB")
    print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", "--headers", type=int, default=100_000, dest="count")
    parser.add_argument("--sample", type=int, default=5_000, help="headers per CPU stage")
    parser.add_argument("--workers", type=int, default=0, help="0: the CLI's default")
    parser.add_argument("--database-url", help="an empty database (default: a private one)")
    arguments = parser.parse_args()
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
        upgrade_to_head(Settings(database_url=url, environment="test"), MIGRATIONS)
        # First, so that the run's peak memory is its own (a child starts as a copy of this
        # process, which the stage rates fill with headers).
        end_to_end(url, arguments.count, arguments.workers)
        stage_rates(min(arguments.sample, arguments.count))
    finally:
        if cluster is not None:
            cluster.stop()
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()

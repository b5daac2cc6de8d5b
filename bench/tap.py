"""Benchmark of the TAP service, everything real, on loopback and through HAProxy.

    python bench/tap.py [--rows 300000] [--servers 2] [--duration 10] [--runs 30] [--quick]

(a) A sync ``SELECT * FROM obsportal.exposures`` in VOTable BINARY2 (MAXREC = every row)
    against ObsPortal's own ``export.votable`` of the same rows in BINARY2: seconds of each
    (best of two downloads with curl) and the ratio TAP / ObsPortal.
(b) An ADQL 30" cone (``CONTAINS(POINT, CIRCLE) = 1``, centred on catalogue targets) on
    ``/tap/sync`` with wrk at concurrency 1, 4 and 16: requests/s, latency p50 and p95.
(c) Async: submit a 1-row query with PHASE=RUN, wait for it (``?WAIT``), fetch the result;
    p50 of the whole round trip over ``--runs`` jobs (a ``tap worker`` runs them).
(d) ADQL translation (``tap.services.adql.translate``) of the cone and of a join: p50 over
    1000 runs each, in this process.

A private PostgreSQL cluster, every service's schema (migrated by its own CLI, so TAP_SCHEMA
holds what obsportal publishes), the TAP query role, ``obsportal serve``, ``tap serve``,
``tap worker`` and HAProxy (the platform's template) are started in a temporary folder on free
ports and removed at the end. Targets (issue 10): TAP <= 1.2x ObsPortal's export; cone p50
<= 5 ms and >= 500 requests/s; async p50 <= 150 ms; translation p50 <= 1 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote, urljoin

import httpx
from harness import (
    MB,
    Backend,
    catalogue_targets,
    haproxy_config,
    http_download,
    load_exposures,
    log,
    wrk,
)
from sqlalchemy import create_engine

from jmmc_devtools.pgcluster import PostgresCluster, free_port
from jmmc_devtools.platform import ensure_tap_query_role
from jmmc_devtools.processes import serving
from jmmc_devtools.registry import service_names

# This script is named like the service's package: `import tap` must not find the script.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH]

from tap.services.adql import translate  # noqa: E402
from tap.services.catalog import Catalog  # noqa: E402

DATABASE = "bench_tap"
OWNER = "jmmc"
BIN = Path(sys.executable).parent
CONE = (
    "SELECT * FROM obsportal.exposures WHERE "
    "CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', {ra:.6f}, {dec:.6f}, 30/3600.))"
    " = 1"
)
JOIN = (
    "SELECT TOP 100 e.exp_id, e.mjd_start, o.obs_type, t.name, p.title "
    "FROM obsportal.exposures AS e "
    "JOIN obsportal.observations AS o ON o.id = e.observation_id "
    "JOIN obsportal.targets AS t ON t.id = o.target_id "
    "JOIN obsportal.programs AS p ON p.id = o.program_id "
    "WHERE e.instrument_name = 'GRAVITY' AND e.mjd_start > 59000 ORDER BY e.mjd_start DESC"
)
ONE_ROW = "SELECT TOP 1 exp_id, target_name FROM obsportal.exposures"
FINAL_PHASES = {"COMPLETED", "ERROR", "ABORTED"}


class Verdicts:
    """Every figure with its target, printed again together at the end."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def check(self, label: str, value: float, unit: str, target: float, at_most: bool) -> None:
        met = value <= target if at_most else value >= target
        bound = "<=" if at_most else ">="
        line = (
            f"{label:<42}{value:>9.2f} {unit:<6} target {bound} {f'{target:g} {unit}':<10}"
            f" {'PASS' if met else 'MISS'}"
        )
        self.lines.append(line)
        log(line)


def tap_sync_path(query: str, **parameters: str | int) -> str:
    fields = {"REQUEST": "doQuery", "LANG": "ADQL", **parameters, "QUERY": query}
    return "/tap/sync?" + "&".join(f"{name}={quote(str(value))}" for name, value in fields.items())


def run_cli(command: list[str], environment: dict[str, str]) -> None:
    result = subprocess.run(command, env=environment, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"`{' '.join(command)}` failed:\n{result.stderr or result.stdout}")


def prepare_database(cluster: PostgresCluster, rows: int) -> str:
    """Every service migrated by its CLI (TAP_SCHEMA filled), the exposures, the query role."""
    cluster.ensure_database(DATABASE, OWNER)
    url = cluster.url(DATABASE, OWNER)
    run_cli([str(BIN / "jmmc-accounts"), "migrate"], {**os.environ, "ACCOUNTS_DATABASE_URL": url})
    for service in service_names():
        prefix = service.upper()
        environment = {
            **os.environ,
            f"{prefix}_DATABASE_URL": url,
            f"{prefix}_ENVIRONMENT": "test",
        }
        run_cli([str(BIN / service), "migrate"], environment)
    load_exposures(cluster, DATABASE, OWNER, rows)
    ensure_tap_query_role(cluster, DATABASE)
    return url


def best_download(url: str, output: Path, repeat: int) -> dict:
    """The fastest of ``repeat`` downloads (the machine is shared: the best is the least
    disturbed), written to ``output`` so that its end can be checked."""
    return min((http_download(url, output) for _ in range(repeat)), key=lambda r: r["seconds"])


def complete_votable(path: Path) -> bool:
    tail = path.read_bytes()[-4096:]
    return tail.rstrip().endswith(b"</VOTABLE>") and b'value="ERROR"' not in tail


def export_benchmark(public: str, rows: int, folder: Path, verdicts: Verdicts) -> None:
    log("\n(a) every exposure in VOTable BINARY2 through HAProxy: TAP sync vs ObsPortal export")
    log(f"{'download':<40}{'seconds':>9}{'1st byte':>10}{'MB':>9}{'MB/s':>8}")
    downloads = {
        "obsportal export.votable BINARY2": "/obsportal/export.votable?serialization=binary2",
        "tap sync SELECT * BINARY2": tap_sync_path(
            "SELECT * FROM obsportal.exposures", RESPONSEFORMAT="votable/b2", MAXREC=rows
        ),
    }
    results = {}
    for label, path in downloads.items():
        output = folder / "download.xml"
        result = results[label] = best_download(public + path, output, repeat=2)
        if not complete_votable(output):
            sys.exit(f"{label}: the answer is not a complete VOTable (see {path})")
        log(
            f"{label:<40}{result['seconds']:>9.2f}{result['first'] * 1000:>8.0f}ms"
            f"{result['bytes'] / MB:>9.1f}{result['bytes'] / MB / result['seconds']:>8.1f}"
        )
    tap, obsportal = (
        results["tap sync SELECT * BINARY2"],
        results["obsportal export.votable BINARY2"],
    )
    # The export carries more columns than TAP publishes: the time per MB says what each costs.
    per_megabyte = (tap["seconds"] / tap["bytes"]) / (obsportal["seconds"] / obsportal["bytes"])
    log(f"time per MB, TAP / ObsPortal: {per_megabyte:.2f}x (the two column sets differ)")
    ratio = tap["seconds"] / obsportal["seconds"]
    verdicts.check("(a) TAP / ObsPortal export time", ratio, "x", 1.2, at_most=True)


def cone_benchmark(
    public: str,
    cluster: PostgresCluster,
    folder: Path,
    levels: list[int],
    seconds: int,
    verdicts: Verdicts,
) -> None:
    log(f'\n(b) ADQL 30" cone (CONTAINS) on /tap/sync through HAProxy, {seconds} s each')
    cones = [CONE.format(ra=ra, dec=dec) for ra, dec in catalogue_targets(cluster, DATABASE, OWNER)]
    paths = [tap_sync_path(cone) for cone in cones]
    sample = []
    for cone in cones[:50]:
        path = tap_sync_path(cone, RESPONSEFORMAT="votable/td")  # rows countable as <TR>
        answer = httpx.get(public + path, timeout=30)
        if answer.status_code != 200 or 'value="ERROR"' in answer.text:
            sys.exit(f"the cone query fails ({answer.status_code}): {answer.text[:2000]}")
        sample.append(answer.text.count("<TR>"))
    log(f"rows per answer: {statistics.mean(sample):.1f} (first 50 cones)")
    log(f"{'conc.':>6}{'req/s':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'errors':>8}")
    results = {}
    for connections in levels:
        result = results[connections] = wrk(public, paths, connections, seconds, folder)
        log(
            f"{connections:>6}{result['rate']:>9.0f}{result['p50']:>8.2f}{result['p95']:>8.2f}"
            f"{result['p99']:>8.2f}{result['errors']:>8}"
        )
    verdicts.check(
        f"(b) cone p50 at concurrency {levels[0]}", results[levels[0]]["p50"], "ms", 5, True
    )
    peak = max(result["rate"] for result in results.values())
    verdicts.check("(b) cone peak requests/s", peak, "req/s", 500, at_most=False)


def async_round_trip(client: httpx.Client, public: str) -> float:
    """Seconds from the submission of a 1-row job to the end of its result's download."""
    started = time.perf_counter()
    created = client.post(
        f"{public}/tap/async",
        data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": ONE_ROW, "PHASE": "RUN"},
    )
    if created.status_code != 303:
        sys.exit(f"job creation answered {created.status_code}: {created.text[:2000]}")
    job = urljoin(f"{public}/tap/async", created.headers["location"])
    phase = ""
    while phase not in FINAL_PHASES:
        document = client.get(job, params={"WAIT": 10}).text
        match = re.search(r"<uws:phase>(\w+)</uws:phase>", document)
        phase = match[1] if match else "?"
    if phase != "COMPLETED":
        sys.exit(f"the job ended {phase}: {document[:2000]}")
    result = client.get(f"{job}/results/result")
    elapsed = time.perf_counter() - started
    if result.status_code != 200 or "<TABLE" not in result.text:
        sys.exit(f"the job's result answered {result.status_code}: {result.text[:2000]}")
    client.delete(job)  # not timed: keeps the client under its limit of active jobs
    return elapsed


def async_benchmark(public: str, runs: int, verdicts: Verdicts) -> None:
    log(f"\n(c) async submit -> WAIT -> result of a 1-row query, {runs} jobs one after another")
    with httpx.Client(timeout=60) as client:
        async_round_trip(client, public)  # the first job also opens the worker's connections
        times = [async_round_trip(client, public) * 1000 for _ in range(runs)]
    log(
        f"p50 {statistics.median(times):.1f} ms, p95 {percentile(times, 95):.1f} ms,"
        f" min {min(times):.1f} ms, max {max(times):.1f} ms"
    )
    verdicts.check("(c) async round trip p50", statistics.median(times), "ms", 150, True)


def translation_benchmark(url: str, verdicts: Verdicts) -> None:
    log("\n(d) ADQL translation (tap.services.adql.translate), 1000 runs each")
    engine = create_engine(url)
    with engine.connect() as connection:
        catalog = Catalog.load(connection)
    engine.dispose()
    for label, query in (("cone", CONE.format(ra=83.633, dec=22.0145)), ("4-table join", JOIN)):
        translate(query, catalog)  # the first call also builds caches
        times = []
        for _ in range(1000):
            started = time.perf_counter()
            translate(query, catalog)
            times.append((time.perf_counter() - started) * 1000)
        log(f"{label}: p50 {statistics.median(times):.3f} ms, p95 {percentile(times, 95):.3f} ms")
        verdicts.check(f"(d) translation p50, {label}", statistics.median(times), "ms", 1, True)


def percentile(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100)[percent - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--servers", type=int, default=2, help="processes of each service")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--runs", type=int, default=30, help="async jobs")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 rows, 2 s runs")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.duration, args.runs = 20_000, 2, 10
    levels = [int(level) for level in args.concurrency.split(",")]
    for tool in ("wrk", "haproxy", "curl"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: run ci/bootstrap.sh (make venv)")

    folder = Path(tempfile.mkdtemp(prefix="jmmc-bench-tap-"))
    verdicts = Verdicts()
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, True)
        cluster = PostgresCluster(folder / "pg", free_port())
        cluster.start()
        stack.callback(cluster.stop)
        url = prepare_database(cluster, args.rows)

        environment = {
            **os.environ,
            "OBSPORTAL_DATABASE_URL": url,
            "OBSPORTAL_ENVIRONMENT": "test",
            "OBSPORTAL_LOG_LEVEL": "WARNING",
            "OBSPORTAL_DATABASE_POOL_SIZE": "20",
            "TAP_DATABASE_URL": url,
            "TAP_QUERY_DATABASE_URL": cluster.url(DATABASE, "tap_query"),
            "TAP_ENVIRONMENT": "test",
            "TAP_LOG_LEVEL": "WARNING",
            "TAP_QUERY_POOL_SIZE": "20",
            "TAP_RESULTS_DIR": str(folder / "tap-results"),
        }
        # Single-process servers behind HAProxy, as the platform deploys them.
        backends = []
        for service in ("obsportal", "tap"):
            ports = [free_port() for _ in range(args.servers)]
            for port in ports:
                stack.enter_context(
                    serving(
                        [str(BIN / service), "serve", "--port", str(port)],
                        env=environment,
                        stdout=subprocess.DEVNULL,
                        health_url=f"http://127.0.0.1:{port}/health",
                    )
                )
            backends.append(Backend(service, f"/{service}", ports))
        stack.enter_context(
            serving([str(BIN / "tap"), "worker"], env=environment, stdout=subprocess.DEVNULL)
        )
        public_port = free_port()
        config = haproxy_config(folder, public_port, free_port(), backends)
        public = f"http://127.0.0.1:{public_port}"
        stack.enter_context(
            serving(
                ["haproxy", "-db", "-f", str(config)],
                stdout=subprocess.DEVNULL,
                health_url=f"{public}/tap/health",
            )
        )
        log(f"{args.servers} x obsportal serve, {args.servers} x tap serve, 1 x tap worker,")
        log(f"HAProxy on {public}; {args.rows} exposures; {os.cpu_count()} CPUs")

        export_benchmark(public, args.rows, folder, verdicts)
        cone_benchmark(public, cluster, folder, levels, args.duration, verdicts)
        async_benchmark(public, args.runs, verdicts)
        translation_benchmark(url, verdicts)

    log("\nSummary")
    for line in verdicts.lines:
        log(line)


if __name__ == "__main__":
    main()

"""What the serving benchmarks share: an exposure catalogue in a private cluster, HAProxy from
the platform's template, downloads with curl and load with wrk (``bench/serve.py``,
``bench/tap.py``).

The tools are external programs so that the client takes next to no CPU from the servers
measured on the same machine.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import yaml

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from jmmc_devtools.pgcluster import PostgresCluster  # noqa: E402
from jmmc_devtools.platform import HAPROXY_ROLE, render_haproxy_config  # noqa: E402
from tests.obsportal import catalogue_factory  # noqa: E402

MB = 1024 * 1024
WRK_SCRIPT = """
local paths = {%(paths)s}
local index = 0
request = function()
  index = index %% #paths + 1
  return wrk.format("GET", paths[index])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%.1f %%.1f %%.1f %%d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
"""


def log(message: str) -> None:
    print(message, flush=True)


def load_exposures(cluster: PostgresCluster, database: str, owner: str, rows: int) -> None:
    """``rows`` synthetic exposures (fixed seed) into a migrated obsportal schema, analysed."""
    positions = catalogue_factory.uniform_positions(rows, random.Random(42))
    started = time.perf_counter()
    with psycopg.connect(host="127.0.0.1", port=cluster.port, user=owner, dbname=database) as db:
        catalogue_factory.load(db, catalogue_factory.synthetic_rows(positions))
        db.autocommit = True
        db.execute("VACUUM ANALYZE obsportal.exposures")
    log(f"loaded {rows} exposures in {time.perf_counter() - started:.1f} s")


def catalogue_targets(
    cluster: PostgresCluster, database: str, owner: str, count: int = 500
) -> list[tuple[float, float]]:
    """``count`` positions of real targets of the catalogue, a fixed sample."""
    with psycopg.connect(host="127.0.0.1", port=cluster.port, user=owner, dbname=database) as db:
        targets = db.execute(
            "SELECT ra, dec FROM obsportal.targets ORDER BY id LIMIT %s", [count * 7]
        ).fetchall()
    return random.Random(1).sample(targets, min(count, len(targets)))


def http_download(url: str, output: Path | str = "/dev/null") -> dict:
    """Download with curl into ``output``: seconds to the first byte and in all, bytes."""
    completed = subprocess.run(
        [
            "curl",
            "--silent",
            "--show-error",
            "--fail",
            "--output",
            str(output),
            "--write-out",
            "%{time_starttransfer} %{time_total} %{size_download}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    first, total, size = completed.stdout.split()
    return {"seconds": float(total), "first": float(first), "bytes": int(size)}


@dataclass(frozen=True)
class Backend:
    """A service behind HAProxy: its public path prefix and the ports of its servers."""

    name: str
    path: str
    ports: list[int]


def haproxy_config(folder: Path, port: int, stats_port: int, backends: list[Backend]) -> Path:
    """The platform's HAProxy template rendered for ``backends``, checked by HAProxy."""
    variables = yaml.safe_load((HAPROXY_ROLE / "defaults" / "main.yml").read_text())
    variables.update(
        haproxy_port=port,
        haproxy_stats_port=stats_port,
        haproxy_stats_socket=str(folder / "haproxy.sock"),
        haproxy_services=[
            {
                "name": backend.name,
                "path": backend.path,
                "servers": [
                    {"name": f"{backend.name}{index}", "address": "127.0.0.1", "port": port}
                    for index, port in enumerate(backend.ports, 1)
                ],
            }
            for backend in backends
        ],
    )
    config = folder / "haproxy.cfg"
    config.write_text(render_haproxy_config(variables))
    subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], check=True)
    return config


def wrk(base: str, paths: list[str], connections: int, seconds: int, folder: Path) -> dict:
    """GET ``paths`` in turn for ``seconds``: requests/s, latency percentiles (ms), errors."""
    script = folder / "paths.lua"
    script.write_text(WRK_SCRIPT % {"paths": ", ".join(f'"{path}"' for path in paths)})
    threads = max(1, min(2, connections))
    completed = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", completed.stdout)
    if match is None:
        raise RuntimeError(f"wrk printed no result: {completed.stdout}{completed.stderr}")
    requests, micros, p50, p95, p99, errors = match.groups()
    return {
        "rate": int(requests) / (int(micros) / 1e6),
        "p50": float(p50) / 1000,
        "p95": float(p95) / 1000,
        "p99": float(p99) / 1000,
        "errors": int(errors),
    }

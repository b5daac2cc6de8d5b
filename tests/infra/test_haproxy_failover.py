"""Load with a fault: two obsportal replicas behind HAProxy (the shared template, retry-on +
redispatch), one SIGKILLed mid-run, and not a single request may fail.

Bounded: 4 clients x 500 keep-alive requests on loopback, each with a 10 s timeout.
"""

import os
import signal
import statistics
import subprocess
import threading
import time

import httpx

from jmmc_devtools import platform
from jmmc_devtools.pgcluster import free_port

from .conftest import FIGURES

CLIENTS = 4
REQUESTS_PER_CLIENT = 500
KILL_AFTER = 500  # requests completed in total


def test_killing_one_of_two_replicas_mid_run_fails_no_request(local_platform, tmp_path) -> None:
    layout = local_platform.layout
    obsportal = local_platform.service("obsportal")
    replica_port = free_port()
    log = (tmp_path / "replica.log").open("wb")
    process = subprocess.Popen(
        [str(layout.bin_dir / "obsportal"), "serve", "--port", str(replica_port)],
        env=platform.service_environment(layout, obsportal),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    haproxy_port, pidfile = free_port(), tmp_path / "haproxy.pid"
    variables = platform.haproxy_variables(layout)
    variables.update(
        haproxy_port=haproxy_port,
        haproxy_stats_port=free_port(),
        haproxy_stats_socket=str(tmp_path / "haproxy.sock"),
        haproxy_services=[
            {
                "name": "obsportal",
                "path": obsportal.path,
                "servers": [
                    {"name": "obsportal1", "address": "127.0.0.1", "port": obsportal.port},
                    {"name": "obsportal2", "address": "127.0.0.1", "port": replica_port},
                ],
            }
        ],
    )
    config = tmp_path / "haproxy.cfg"
    config.write_text(platform.render_haproxy_config(variables))
    try:
        platform.wait_for(f"http://127.0.0.1:{replica_port}/health", 30, "second replica")
        subprocess.run(["haproxy", "-D", "-p", str(pidfile), "-f", str(config)], check=True)
        url = f"http://127.0.0.1:{haproxy_port}/obsportal/health"
        platform.wait_for(url, 10, "HAProxy with two replicas")
        time.sleep(1.5)  # both servers pass their first health checks (rise 2 x 500 ms)

        latencies: list[float] = []
        failures: list[str] = []
        done = threading.Semaphore(0)
        lock = threading.Lock()

        def client() -> None:
            with httpx.Client(timeout=10) as session:
                for _ in range(REQUESTS_PER_CLIENT):
                    started = time.perf_counter()
                    try:
                        response = session.get(url)
                        if response.status_code != 200:
                            failures.append(f"HTTP {response.status_code}")
                    except httpx.HTTPError as exc:
                        failures.append(type(exc).__name__)
                    with lock:
                        latencies.append(time.perf_counter() - started)
                    done.release()

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for _ in range(KILL_AFTER):
            done.acquire()
        os.killpg(process.pid, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=120)
        elapsed = time.perf_counter() - began
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        platform.stop_pid(pidfile)

    total = CLIENTS * REQUESTS_PER_CLIENT
    ordered = sorted(latencies)
    p50, p99 = statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99)] * 1000
    FIGURES["load with a fault"] = (
        f"{len(latencies)}/{total} requests in {elapsed:.1f} s, {len(failures)} failed, "
        f"replica killed after {KILL_AFTER}; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms"
    )
    assert len(latencies) == total
    assert failures == [], f"{len(failures)} failed requests: {sorted(set(failures))}"

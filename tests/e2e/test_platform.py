"""The README's `make up` / `make status` / `make down`, for real, on free ports."""

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from jmmc_devtools.pgcluster import free_port, port_in_use
from jmmc_devtools.registry import registered_services

REPO = Path(__file__).resolve().parents[2]
SERVICES = registered_services()
#: Long-running workers next to the services (`tap-worker`), as `status` names them.
WORKERS = [
    "-".join((service.name, *command)) for service in SERVICES for command in service.workers
]

pytestmark = pytest.mark.e2e


def free_port_block(size: int) -> int:
    """A base port whose next ``size`` ports are all free."""
    for _ in range(50):
        base = free_port()
        if base + size < 65000 and not any(port_in_use(base + i) for i in range(1, size + 1)):
            return base
    raise RuntimeError("no free block of ports")


def processes_started_by(run_dir: Path) -> list[str]:
    """The command lines of the processes whose environment names this platform's run folder:
    everything `make up` starts, and their children, inherit it."""
    marker = f"JMMC_RUN_DIR={run_dir}".encode()
    found = []
    for process in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (process / "environ").read_bytes().split(b"\0"):
                found.append((process / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:  # ended meanwhile
            continue
    return found


def make(target: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), target],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    env = {
        **os.environ,
        "JMMC_RUN_DIR": str(tmp_path_factory.mktemp("platform") / "run"),
        "JMMC_HAPROXY_PORT": str(free_port()),
        "JMMC_HAPROXY_STATS_PORT": str(free_port()),
        "JMMC_PG_PORT": str(free_port()),
        "JMMC_PORT_BASE": str(free_port_block(max(s.port_offset for s in SERVICES))),
    }
    started = make("up", env)
    try:
        yield env, started
    finally:
        make("down", env)


def test_up_prints_the_urls_and_every_service_is_healthy_through_haproxy(platform):
    env, started = platform
    assert started.returncode == 0, started.stdout + started.stderr
    public = f"http://127.0.0.1:{env['JMMC_HAPROXY_PORT']}"
    for service in SERVICES:
        assert f"{public}{service.path}/" in started.stdout
        response = httpx.get(f"{public}{service.path}/health", timeout=10)
        assert response.status_code == 200
        assert response.json()["service"] == service.name
        assert response.json()["checks"]["database"]["status"] == "ok"
    assert httpx.get(f"{public}/nowhere", timeout=10).status_code == 404


def test_every_service_shows_its_demo_data(platform):
    env, _ = platform
    public = f"http://127.0.0.1:{env['JMMC_HAPROXY_PORT']}"
    assert httpx.get(f"{public}/jmdc/api/measurements", timeout=10).json()["total"] > 0
    assert len(httpx.get(f"{public}/jmdc/api/releases", timeout=10).json()) >= 1
    assert httpx.get(f"{public}/oidb/api/granules", timeout=10).json()["total"] > 0
    for table in ("ivoa.obscore", "obsportal.exposures", "jmdc.measurements"):
        answer = httpx.get(
            f"{public}/tap/sync",
            params={"LANG": "ADQL", "FORMAT": "csv", "QUERY": f"SELECT COUNT(*) FROM {table}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert int(answer.text.splitlines()[1]) > 0, table


def test_haproxy_checks_every_backend(platform):
    env, _ = platform
    stats = httpx.get(f"http://127.0.0.1:{env['JMMC_HAPROXY_STATS_PORT']}/stats;csv", timeout=10)
    rows = [line.split(",") for line in stats.text.splitlines() if line and line[0] != "#"]
    servers = {row[1]: row[17] for row in rows if row[0].startswith("be_") and row[1] != "BACKEND"}
    assert servers == {f"{service.name}1": "UP" for service in SERVICES}


def test_second_up_is_idempotent(platform):
    env, _ = platform
    again = make("up", env)
    assert again.returncode == 0, again.stderr
    for service in SERVICES:
        assert f"{service.name:<12}already running" in again.stdout
    assert "haproxy     already running" in again.stdout


def test_status_lists_every_component_running(platform):
    env, _ = platform
    status = make("status", env)
    assert status.returncode == 0, status.stdout
    lines = {line.split()[0]: line.split()[1] for line in status.stdout.splitlines()[2:]}
    names = ["postgresql", *(service.name for service in SERVICES), *WORKERS, "haproxy"]
    assert lines == dict.fromkeys(names, "running")


def test_port_in_use_gives_a_clear_error(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        env = {
            **os.environ,
            "JMMC_RUN_DIR": str(tmp_path / "run"),
            "JMMC_PG_PORT": str(taken),
        }
        try:
            result = make("up", env)
        finally:
            make("down", env)
    assert result.returncode != 0
    assert f"port {taken} is already in use" in result.stderr


def test_down_stops_everything_it_started(tmp_path_factory, platform):
    env, _ = platform
    run_dir = Path(env["JMMC_RUN_DIR"])
    pids = [int(path.read_text()) for path in (run_dir / "pids").glob("*.pid")]
    assert len(pids) == len(SERVICES) + len(WORKERS) + 1  # and HAProxy
    stopped = make("down", env)
    assert stopped.returncode == 0, stopped.stderr
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()
    # Children (PostgreSQL's backends, HAProxy's worker, uvicorn's) may outlive their parent a
    # moment. The ports themselves are not checked: once freed, another program may take them.
    deadline = time.monotonic() + 15
    while (left := processes_started_by(run_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"still running after make down: {left}"

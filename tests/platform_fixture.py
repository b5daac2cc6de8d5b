"""The whole local platform (``jmmc-platform up``) and a real Zabbix (monitoring/zabbix-local.sh),
each on free ports in a temporary folder.

Imported by the conftest files of tests/infra and tests/monitoring. Both register the fixtures,
so each resource is kept here once per test session and stopped after its last user.
"""

import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyzabbix import ZabbixAPI

from jmmc_devtools import platform
from jmmc_devtools.pgcluster import free_port, port_in_use

PLATFORM_COMMAND = Path(sys.executable).parent / "jmmc-platform"
REPO = Path(__file__).resolve().parents[1]
ZABBIX_LOCAL = REPO / "monitoring" / "zabbix-local.sh"


@dataclass
class LocalPlatform:
    layout: platform.Layout
    environment: dict[str, str]

    @property
    def public_url(self) -> str:
        return self.layout.public_url

    @property
    def stats_socket(self) -> Path:
        return self.layout.run_dir / "haproxy" / "haproxy.sock"

    def service(self, name: str) -> platform.Service:
        return next(service for service in self.layout.services if service.name == name)

    def stop_service(self, name: str) -> None:
        platform.stop_pid(self.layout.pidfile(name))

    def start_service(self, name: str) -> None:
        platform.start_service(self.layout, self.service(name))

    def run(self, action: str) -> None:
        result = subprocess.run(
            [str(PLATFORM_COMMAND), action],
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"jmmc-platform {action} failed:\n{result.stdout}{result.stderr}")


_shared: dict[str, list] = {}  # resource name -> [instance, number of users]


def _shared_resource(name: str, start, stop):
    """Yield one instance of a resource however many conftest files register the fixture."""
    entry = _shared.setdefault(name, [None, 0])
    if isinstance(entry[0], Exception):
        raise entry[0]  # one failed start per session, not one per test
    if entry[0] is None:
        try:
            entry[0] = start()
        except Exception as exc:
            entry[0] = exc
            raise
    entry[1] += 1
    try:
        yield entry[0]
    finally:
        entry[1] -= 1
        if entry[1] == 0:
            instance, entry[0] = entry[0], None
            stop(instance)


def _start() -> LocalPlatform:
    run_dir = Path(tempfile.mkdtemp(prefix="jmmc-platform-"))
    overrides = {
        "JMMC_RUN_DIR": str(run_dir),
        "JMMC_HAPROXY_PORT": str(free_port()),
        "JMMC_HAPROXY_STATS_PORT": str(free_port()),
        "JMMC_PG_PORT": str(free_port()),
        "JMMC_PORT_BASE": str(_free_block(4)),
        "JMMC_ENVIRONMENT": "test",
    }
    environment = {**os.environ, **overrides}
    previous = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        layout = platform.Layout.from_environment()
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    local = LocalPlatform(layout, environment)
    try:
        local.run("up")
    except Exception:
        local.run("down")
        raise
    return local


def _free_block(size: int) -> int:
    """A base port whose next ``size`` ports are free, below the ephemeral range (32768+) so
    that no outgoing connection takes one of them between this check and the bind."""
    for _ in range(200):
        base = random.randrange(20000, 32000 - size)
        if not any(platform.port_in_use(base + offset) for offset in range(1, size + 1)):
            return base
    raise RuntimeError("no block of free ports found")


def _stop(local: LocalPlatform) -> None:
    local.run("down")
    shutil.rmtree(local.layout.run_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def local_platform() -> Iterator[LocalPlatform]:
    """The platform up on loopback; shared by every tier of the session, stopped afterwards."""
    yield from _shared_resource("platform", _start, _stop)


@dataclass
class LocalZabbix:
    state: Path
    environment: dict[str, str]
    api_url: str = ""
    server_port: int = 0
    server_conf: Path = Path()

    def describe(self, started_output: str) -> None:
        """Take the addresses printed by ``zabbix-local.sh start``."""
        values = dict(line.split("=", 1) for line in started_output.split())
        self.api_url = values["ZABBIX_API_URL"]
        self.server_port = int(values["ZABBIX_SERVER_PORT"])
        self.server_conf = Path(values["ZABBIX_SERVER_CONF"])

    def api(self) -> ZabbixAPI:
        api = ZabbixAPI(self.api_url, timeout=10)
        api.login("Admin", "zabbix")
        return api

    def reload_configuration(self) -> None:
        """Make new objects live now rather than at the next cache update."""
        subprocess.run(
            ["zabbix_server", "-c", str(self.server_conf), "-R", "config_cache_reload"],
            check=True,
            capture_output=True,
        )


def _free_low_port() -> int:
    """A free port below 32768: zabbix_server refuses a ListenPort in the ephemeral range."""
    while True:
        port = random.randrange(20000, 32000)
        if not port_in_use(port):
            return port


def _start_zabbix() -> LocalZabbix:
    state = Path(tempfile.mkdtemp(prefix="jmmc-zabbix-"))
    environment = {
        **os.environ,
        "ZBX_STATE_DIR": str(state),
        "ZBX_PGPORT": str(free_port()),
        "ZBX_PORT": str(_free_low_port()),
        "ZBX_WEB_PORT": str(free_port()),
    }
    started = subprocess.run(
        [str(ZABBIX_LOCAL), "start"], env=environment, capture_output=True, text=True, timeout=300
    )
    zabbix = LocalZabbix(state, environment)
    if started.returncode != 0:
        _stop_zabbix(zabbix)
        raise RuntimeError(f"zabbix-local.sh start failed:\n{started.stdout}{started.stderr}")
    zabbix.describe(started.stdout)
    return zabbix


def _stop_zabbix(zabbix: LocalZabbix) -> None:
    subprocess.run([str(ZABBIX_LOCAL), "stop"], env=zabbix.environment, capture_output=True)
    shutil.rmtree(zabbix.state, ignore_errors=True)


@pytest.fixture(scope="session")
def zabbix() -> Iterator[LocalZabbix]:
    """A Zabbix 6.0 server + API on loopback with its own database (Admin/zabbix)."""
    yield from _shared_resource("zabbix", _start_zabbix, _stop_zabbix)

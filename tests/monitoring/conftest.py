"""A real Zabbix server + API (monitoring/zabbix-local.sh) provisioned from the repository."""

import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyzabbix import ZabbixAPI

from jmmc_devtools.pgcluster import free_port, port_in_use
from tests.platform_fixture import local_platform  # noqa: F401  (the shared session fixture)

REPO = Path(__file__).resolve().parents[2]
ZABBIX_LOCAL = REPO / "monitoring" / "zabbix-local.sh"

#: Delays measured by the tests, printed at the end of the run.
MEASURED: dict[str, str] = {}


@dataclass(frozen=True)
class LocalZabbix:
    api_url: str
    server_port: int
    server_conf: Path

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


def free_low_port() -> int:
    """A free port below 32768: zabbix_server refuses a ListenPort in the ephemeral range."""
    while True:
        port = random.randrange(20000, 32000)
        if not port_in_use(port):
            return port


@pytest.fixture(scope="session")
def zabbix() -> Iterator[LocalZabbix]:
    state = Path(tempfile.mkdtemp(prefix="jmmc-zabbix-"))
    environment = {
        **os.environ,
        "ZBX_STATE_DIR": str(state),
        "ZBX_PGPORT": str(free_port()),
        "ZBX_PORT": str(free_low_port()),
        "ZBX_WEB_PORT": str(free_port()),
    }
    try:
        started = subprocess.run(
            [str(ZABBIX_LOCAL), "start"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert started.returncode == 0, started.stdout + started.stderr
        values = dict(line.split("=", 1) for line in started.stdout.split())
        yield LocalZabbix(
            values["ZABBIX_API_URL"],
            int(values["ZABBIX_SERVER_PORT"]),
            Path(values["ZABBIX_SERVER_CONF"]),
        )
    finally:
        subprocess.run([str(ZABBIX_LOCAL), "stop"], env=environment, capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


def pytest_terminal_summary(terminalreporter) -> None:
    if MEASURED:
        terminalreporter.write_sep("-", "monitoring: measured detection delays")
        for what, value in MEASURED.items():
            terminalreporter.write_line(f"{what}: {value}")

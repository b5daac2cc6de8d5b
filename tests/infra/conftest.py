"""testinfra checks of a running platform.

Locally (no ``--hosts``) the checks start the platform and a Zabbix of their own on free ports.
Against production: ``pytest tests/infra/test_platform.py --hosts=ansible://loadbalancers
--ansible-inventory=ansible/inventories/production/hosts.yml``; the paths, ports and URLs then
come from that inventory's variables.
"""

from dataclasses import dataclass
from pathlib import Path

import pytest

from jmmc_devtools.registry import service_names
from tests.platform_fixture import local_platform, zabbix  # noqa: F401  (shared session fixtures)


@dataclass(frozen=True)
class Target:
    """What the checks look at, whichever inventory it comes from."""

    public_url: str
    haproxy_config: str
    haproxy_pidfile: str
    stats_socket: str
    listening: tuple[str, ...]
    #: service name -> (pidfile or None when it runs elsewhere, local port or None)
    services: dict[str, tuple[str | None, int | None]]
    zabbix_api_url: str | None
    zabbix_pidfile: str | None


@pytest.fixture(scope="module")  # as testinfra's host fixture
def target(request, pytestconfig) -> Target:
    if pytestconfig.getoption("hosts", None):
        host = request.getfixturevalue("host")
        variables = host.ansible.get_variables()
        scheme = "https" if variables.get("haproxy_tls_certificate") else "http"
        return Target(
            public_url=variables["monitoring_base_url"]
            if "monitoring_base_url" in variables
            else f"{scheme}://{variables['inventory_hostname']}:{variables['haproxy_port']}",
            haproxy_config=variables["haproxy_config_path"],
            haproxy_pidfile=variables["haproxy_pidfile"],
            stats_socket=variables["haproxy_stats_socket"],
            listening=(f"tcp://{variables['haproxy_bind_address']}:{variables['haproxy_port']}",),
            services=dict.fromkeys(service_names(), (None, None)),
            zabbix_api_url=variables.get("monitoring_zabbix_url"),
            zabbix_pidfile=None,
        )
    platform = request.getfixturevalue("local_platform")
    local_zabbix = request.getfixturevalue("zabbix")
    layout = platform.layout
    return Target(
        public_url=platform.public_url,
        haproxy_config=str(layout.haproxy_config),
        haproxy_pidfile=str(layout.pidfile("haproxy")),
        stats_socket=str(platform.stats_socket),
        listening=(
            f"tcp://127.0.0.1:{layout.haproxy_port}",
            f"tcp://127.0.0.1:{layout.stats_port}",
        ),
        services={s.name: (str(layout.pidfile(s.name)), s.port) for s in layout.services},
        zabbix_api_url=local_zabbix.api_url,
        zabbix_pidfile=str(Path(local_zabbix.state) / "run" / "zabbix_server.pid"),
    )


#: Figures measured by the load test, printed at the end of the run.
FIGURES: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter) -> None:
    for what, value in FIGURES.items():
        terminalreporter.write_line(f"{what}: {value}")

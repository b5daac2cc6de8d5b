"""The running platform as ops checks it: HAProxy, every service, every public endpoint, the
last ingestion run and Zabbix. Processes are found by pidfile (there is no systemd here)."""

import csv
import io

import httpx
import pytest
from astropy.io.votable import parse_single_table

from jmmc_devtools.registry import service_names
from zbxsync.cli import DEFAULT_DEFINITIONS
from zbxsync.spec import Definitions

DEFINITIONS = Definitions(DEFAULT_DEFINITIONS)
#: Every public endpoint of monitoring/templates: the Zabbix web scenarios check the same list.
ENDPOINTS = [
    pytest.param(template, endpoint, id=f"{template.service}-{endpoint.name}")
    for template in DEFINITIONS.templates
    for endpoint in template.endpoints
]


def running_pid(host, pidfile: str) -> int:
    assert host.file(pidfile).exists, f"no pidfile {pidfile}"
    pid = int(host.file(pidfile).content_string.strip())
    assert host.process.filter(pid=pid), f"pid {pid} from {pidfile} is not running"
    return pid


def test_haproxy_configuration_is_valid(host, target) -> None:
    check = host.run("haproxy -c -q -f %s", target.haproxy_config)
    assert check.rc == 0, check.stderr


def test_haproxy_runs_from_its_pidfile(host, target) -> None:
    pid = running_pid(host, target.haproxy_pidfile)
    assert host.process.get(pid=pid).comm == "haproxy"


def test_haproxy_listens(host, target) -> None:
    for address in target.listening:
        assert host.socket(address).is_listening, address
    assert host.file(target.stats_socket).is_socket


def test_every_backend_server_is_up(host, target) -> None:
    stats = host.run("echo 'show stat' | socat stdio unix-connect:%s", target.stats_socket)
    assert stats.rc == 0, stats.stderr
    rows = list(csv.DictReader(io.StringIO(stats.stdout.lstrip("# "))))
    servers = {
        (row["pxname"], row["svname"]): row["status"]
        for row in rows
        if row["svname"] not in ("FRONTEND", "BACKEND")
        and row["pxname"].startswith("be_")
        and row["pxname"] != "be_unknown_path"
    }
    assert {backend for backend, _ in servers} == {f"be_{name}" for name in target.services}
    assert all(status == "UP" for status in servers.values()), servers


@pytest.mark.parametrize("service", service_names())
def test_service_process_and_port(host, target, service: str) -> None:
    pidfile, port = target.services[service]
    if pidfile is None:
        pytest.skip(f"{service} runs on the cluster: checked through HAProxy only")
    pid = running_pid(host, pidfile)
    assert "serve" in host.process.get(pid=pid).args
    assert host.socket(f"tcp://127.0.0.1:{port}").is_listening


@pytest.mark.parametrize(("template", "endpoint"), ENDPOINTS)
def test_public_endpoint_answers_with_valid_content(target, template, endpoint) -> None:
    response = httpx.get(f"{target.public_url}{endpoint.path}", timeout=30)
    assert response.status_code == 200, f"{endpoint.path}: HTTP {response.status_code}"
    if endpoint.kind == "json":
        document = response.json()
        assert set(endpoint.keys) <= set(document), f"{endpoint.path}: keys {sorted(document)}"
    elif endpoint.kind == "votable":
        table = parse_single_table(io.BytesIO(response.content))
        assert len(table.fields) > 0
    else:
        assert "<html" in response.text.lower()


def test_last_ingestion_run_is_recent_and_successful(target) -> None:
    ingestion = httpx.get(f"{target.public_url}/obsportal/health", timeout=30).json()["checks"][
        "ingestion"
    ]
    assert ingestion["last_run_status"] == "succeeded", ingestion
    assert ingestion["age_seconds"] <= ingestion["max_age_seconds"], ingestion
    assert ingestion["status"] == "ok", ingestion


def test_zabbix_server_and_api_are_up(host, target) -> None:
    if target.zabbix_pidfile:
        running_pid(host, target.zabbix_pidfile)
    answer = httpx.post(
        target.zabbix_api_url,
        timeout=30,
        json={"jsonrpc": "2.0", "method": "apiinfo.version", "params": {}, "id": 1},
    )
    assert answer.json()["result"].startswith("6.")

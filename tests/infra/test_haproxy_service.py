"""HAProxy as the role installs it: the systemd unit as rendered passes ``systemd-analyze
verify``, and HAProxy run from the rendered configuration as an unprivileged user (there is no
systemd here) serves TLS with HSTS, redirects plain HTTP, writes access logs, limits the request
rate of a client with a clear 429, retries a GET a server dropped and never replays a POST.

The configuration and the unit are rendered by Ansible itself (the role's templates, its
defaults, a few test values), once for the module.
"""

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

from jmmc_devtools import platform
from jmmc_devtools.pgcluster import free_port

ROLE = Path(__file__).resolve().parents[2] / "ansible" / "roles" / "haproxy"
BIN = Path(sys.executable).parent
#: The unprivileged account HAProxy runs as when the tests run as root.
UNPRIVILEGED = "nobody"
RATE_LIMIT = 20
#: A second loopback address, so the rate-limit test counts its own requests only.
RATE_LIMITED_CLIENT = "127.0.0.2"


class Backend(BaseHTTPRequestHandler):
    """A service behind HAProxy: /health answers; /flaky drops the connection it received a
    request on (no byte of answer) every other time; every request is counted by method."""

    seen: Counter = Counter()
    drops: Counter = Counter()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.path == "/health":
            self._answer(b'{"status":"ok"}')
            return
        Backend.seen[self.command, self.path] += 1
        if self.path.endswith("/flaky") and Backend.drops[self.command] % 2 == 0:
            Backend.drops[self.command] += 1
            self.close_connection = True  # the request was read; no answer at all
            return
        Backend.drops[self.command] = 0
        self._answer(b'{"served":true}')

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _handle

    def log_message(self, *args) -> None:
        pass


@dataclass
class RunningHAProxy:
    https_url: str
    http_url: str
    access_log: Path
    pid: int


def ansible_render(folder: Path, variables: dict) -> None:
    """Render the role's two templates with its defaults, as the role's tasks do."""
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": {
                **yaml.safe_load((ROLE / "defaults" / "main.yml").read_text()),
                "role_path": str(ROLE),
                "ansible_python_interpreter": sys.executable,
                **variables,
            },
            "tasks": [
                {
                    "ansible.builtin.template": {
                        "src": str(ROLE / "templates" / source),
                        "dest": str(folder / target),
                        "mode": "0644",
                    }
                }
                for source, target in (
                    ("haproxy.cfg.j2", "haproxy.cfg"),
                    ("jmmc-haproxy.service.j2", "jmmc-haproxy.service"),
                )
            ],
        }
    ]
    (folder / "render.yml").write_text(yaml.safe_dump(play))
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", str(folder / "render.yml")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "PATH": f"{BIN}:{os.environ['PATH']}"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def rendered() -> Iterator[Path]:
    # Readable by the unprivileged account (pytest's own temp folders are private to root).
    folder = Path(tempfile.mkdtemp(prefix="jmmc-haproxy-"))
    folder.chmod(0o755)
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=localhost", "-keyout", str(folder / "key.pem"),
             "-out", str(folder / "cert.pem")],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        bundle = folder / "bundle.pem"
        bundle.write_bytes((folder / "cert.pem").read_bytes() + (folder / "key.pem").read_bytes())
        bundle.chmod(0o644)
        backend = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
        threading.Thread(target=backend.serve_forever, daemon=True).start()
        runtime = folder / "run"
        runtime.mkdir()
        if os.geteuid() == 0:
            shutil.chown(runtime, UNPRIVILEGED)
        ports = {name: free_port() for name in ("https", "http", "stats")}
        ansible_render(
            folder,
            {
                "haproxy_port": ports["https"],
                "haproxy_http_port": ports["http"],
                "haproxy_stats_port": ports["stats"],
                "haproxy_tls_certificate": str(bundle),
                "haproxy_rate_limit_requests": RATE_LIMIT,
                "haproxy_config_path": "/etc/jmmc-haproxy/haproxy.cfg",
                "haproxy_pidfile": "/run/jmmc-haproxy/haproxy.pid",
                "haproxy_stats_socket": str(runtime / "admin.sock"),
                "haproxy_services": [
                    {
                        "name": "demo",
                        "path": "/demo",
                        "servers": [
                            {"name": "demo1", "address": "127.0.0.1", "port": backend.server_port}
                        ],
                    }
                ],
            },
        )
        (folder / "ports.json").write_text(json.dumps(ports))
        yield folder
        backend.shutdown()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def haproxy(rendered: Path) -> Iterator[RunningHAProxy]:
    ports = json.loads((rendered / "ports.json").read_text())
    as_user = ["runuser", "-u", UNPRIVILEGED, "--"] if os.geteuid() == 0 else []
    access_log = rendered / "access.log"
    with access_log.open("wb") as log:
        # Master-worker in the foreground, as the unit runs it (-Ws without systemd's notify).
        process = subprocess.Popen(
            [*as_user, "haproxy", "-W", "-f", str(rendered / "haproxy.cfg")],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = RunningHAProxy(
        https_url=f"https://127.0.0.1:{ports['https']}",
        http_url=f"http://127.0.0.1:{ports['http']}",
        access_log=access_log,
        pid=process.pid,
    )
    try:
        deadline = time.monotonic() + 20
        while not _backend_up(running):
            assert process.poll() is None, access_log.read_text()
            assert time.monotonic() < deadline, "the backend never came up behind HAProxy"
            time.sleep(0.1)
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
        process.wait(timeout=20)


def _backend_up(running: RunningHAProxy) -> bool:
    try:
        return httpx.get(f"{running.https_url}/demo/health", verify=False).status_code == 200
    except httpx.HTTPError:
        return False


def test_unit_passes_systemd_analyze_verify(rendered: Path) -> None:
    unit = rendered / "jmmc-haproxy.service"
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0, verify.stderr
    assert verify.stderr == "", verify.stderr  # warnings (unknown key, bad value) included
    text = unit.read_text()
    assert "User=jmmc-haproxy" in text
    assert "ExecStart=/usr/sbin/haproxy -Ws -f /etc/jmmc-haproxy/haproxy.cfg" in text
    assert "RuntimeDirectory=jmmc-haproxy" in text
    assert " -D" not in text


def test_haproxy_runs_unprivileged_and_logs_each_request(haproxy: RunningHAProxy) -> None:
    if os.geteuid() == 0:
        workers = subprocess.run(
            ["pgrep", "-s", str(haproxy.pid), "-x", "haproxy"], capture_output=True, text=True
        ).stdout.split()
        assert workers
        for pid in workers:
            status = Path(f"/proc/{pid}/status").read_text()
            uid = next(line for line in status.splitlines() if line.startswith("Uid:"))
            assert uid.split()[1:] == ["65534"] * 4, uid
    httpx.get(f"{haproxy.https_url}/demo/logged", verify=False)
    deadline = time.monotonic() + 10
    while "GET /demo/logged" not in haproxy.access_log.read_text():
        assert time.monotonic() < deadline, haproxy.access_log.read_text()
        time.sleep(0.1)


def test_tls_answers_carry_hsts_and_plain_http_is_redirected(haproxy: RunningHAProxy) -> None:
    secure = httpx.get(f"{haproxy.https_url}/demo/page?x=1", verify=False)
    assert secure.status_code == 200
    assert secure.headers["strict-transport-security"].startswith("max-age=31536000")
    plain = httpx.get(f"{haproxy.http_url}/demo/page?x=1")
    assert plain.status_code == 301
    # The client's own Host, now over HTTPS.
    assert plain.headers["location"] == f"https://{haproxy.http_url[7:]}/demo/page?x=1"
    assert "strict-transport-security" not in plain.headers


def test_a_dropped_get_is_retried(haproxy: RunningHAProxy) -> None:
    answer = httpx.get(f"{haproxy.https_url}/demo/flaky", verify=False)
    assert answer.status_code == 200
    assert Backend.seen["GET", "/demo/flaky"] == 2


def test_a_dropped_post_is_never_replayed(haproxy: RunningHAProxy) -> None:
    # Headers and body in one write, so HAProxy holds the whole request and could replay it.
    request = (
        b"POST /demo/flaky HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 3\r\nConnection: close\r\n\r\nx=1"
    )
    host, port = haproxy.https_url[8:].split(":")
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    raw = socket.create_connection((host, int(port)), timeout=10)
    with context.wrap_socket(raw) as connection:
        connection.sendall(request)
        answer = b"".join(iter(lambda: connection.recv(4096), b""))
    assert answer.startswith(b"HTTP/1.1 502"), answer[:100]
    time.sleep(0.5)  # a replay would have reached the backend by now
    assert Backend.seen["POST", "/demo/flaky"] == 1


def test_a_client_above_the_rate_limit_gets_429(haproxy: RunningHAProxy) -> None:
    transport = httpx.HTTPTransport(local_address=RATE_LIMITED_CLIENT, verify=False)
    with httpx.Client(transport=transport) as client:
        statuses = [
            client.get(f"{haproxy.https_url}/demo/page").status_code for _ in range(RATE_LIMIT)
        ]
        refused = client.get(f"{haproxy.https_url}/demo/page")
    assert statuses == [200] * RATE_LIMIT
    assert refused.status_code == 429
    assert "Too many requests from your address" in refused.text
    assert refused.headers["retry-after"] == "10"
    # Another client is not affected.
    assert httpx.get(f"{haproxy.https_url}/demo/page", verify=False).status_code == 200


def test_make_up_renders_the_same_template_without_tls_or_limit() -> None:
    variables = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update(haproxy_services=[], haproxy_stats_socket="/tmp/unused.sock")
    config = platform.render_haproxy_config(variables)
    assert "ssl crt" not in config and "track-sc0" not in config
    assert "retry-on conn-failure empty-response\n" in config

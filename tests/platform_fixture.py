"""The whole local platform (``jmmc-platform up``) on free ports in a temporary folder.

Imported by the conftest files of tests/infra and tests/monitoring (and the load test). Both
register the fixture, so the platform itself is kept here once per test session and stopped
(``jmmc-platform down``) after the last user.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jmmc_devtools import platform
from jmmc_devtools.pgcluster import free_port

PLATFORM_COMMAND = Path(sys.executable).parent / "jmmc-platform"


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


_shared: dict[str, object] = {"platform": None, "users": 0}


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
    """A base port whose next ``size`` ports are free (services listen on base+1..base+size)."""
    for _ in range(50):
        base = free_port()
        if base + size < 65535 and not any(
            platform.port_in_use(base + offset) for offset in range(1, size + 1)
        ):
            return base
    raise RuntimeError("no block of free ports found")


@pytest.fixture(scope="session")
def local_platform() -> Iterator[LocalPlatform]:
    """The platform up on loopback; shared by every tier of the session, stopped afterwards."""
    if _shared["platform"] is None:
        _shared["platform"] = _start()
    _shared["users"] += 1
    local: LocalPlatform = _shared["platform"]
    try:
        yield local
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            _shared["platform"] = None
            local.run("down")
            shutil.rmtree(local.layout.run_dir, ignore_errors=True)

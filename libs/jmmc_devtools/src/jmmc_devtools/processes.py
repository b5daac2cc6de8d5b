"""Servers started for a test or a benchmark: up once healthy, always stopped afterwards."""

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


class NotHealthy(RuntimeError):
    pass


def wait_until_healthy(
    url: str, timeout: float = 30, process: subprocess.Popen | None = None
) -> None:
    """Return once ``url`` answers 200; fail early if ``process`` exits before that."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        if process is not None and process.poll() is not None:
            raise NotHealthy(f"{url}: the process exited with status {process.returncode}")
        time.sleep(0.1)
    raise NotHealthy(f"{url} did not become healthy within {timeout:.0f} s ({last})")


def stop(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL if the process is still there after ``grace`` seconds."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serving(
    command: list[str],
    *,
    health_url: str | None = None,
    env: dict[str, str] | None = None,
    stdout: int | None = None,
) -> Iterator[subprocess.Popen]:
    """Run ``command``; yield it (once ``health_url`` answers, if given); stop it at the end."""
    process = subprocess.Popen(command, env=env, stdout=stdout)
    try:
        if health_url is not None:
            wait_until_healthy(health_url, process=process)
        yield process
    finally:
        stop(process)

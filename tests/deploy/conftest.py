"""Fixtures of the deployment tier: the tools from ci/tools.sh and the repository's scripts."""

import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from jmmc_devtools.registry import service_names

REPO = Path(__file__).resolve().parents[2]
SERVICES = service_names()

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def tools_bin() -> Path:
    """helm, checkov, kubernetes-validate, check-jsonschema, gitlab-ci-local (installed once)."""
    result = subprocess.run(
        [REPO / "ci" / "tools.sh"], capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def run(tools_bin: Path) -> Run:
    """Run a command from the repository root with the tools first on PATH."""

    def run_command(
        argv: Sequence[str | Path], *, env: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "PATH": f"{tools_bin}:{os.environ['PATH']}", **(env or {})}
        return subprocess.run(
            [str(part) for part in argv],
            cwd=REPO,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run_command

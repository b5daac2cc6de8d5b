"""API fuzzing: schemathesis over the OpenAPI of every service, through HAProxy.

Every operation a service publishes in ``/<service>/openapi.json`` is called with generated
valid and invalid input on the running platform (``local_platform``), and every answer must
keep the contract that document states: no server error (5xx), a documented status code, the
documented content type and a body matching the documented schema. Requests carry an API token
of a demo user, so the account API is fuzzed past its authentication (hooks.py).

Stateless and bounded (schemathesis.toml) so that it runs in every test run; a failure shows
the request as a curl command. Other cases: ``JMMC_FUZZ_SEED=<n>``; fewer or more cases per
operation: ``JMMC_FUZZ_MAX_EXAMPLES=<n>`` (5 for a quick look, 1000 to dig).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jmmc_devtools.registry import RegisteredService, registered_services

CONFIG = Path(__file__).with_name("schemathesis.toml")
HOOKS = Path(__file__).with_name("hooks.py")
SEED = os.environ.get("JMMC_FUZZ_SEED", "20261203")
MAX_EXAMPLES = os.environ.get("JMMC_FUZZ_MAX_EXAMPLES")
SERVICES = registered_services()


def schemathesis_command(public_url: str, service: RegisteredService) -> list[str]:
    command = [
        *(sys.executable, "-m", "schemathesis.cli"),
        *("--config-file", str(CONFIG), "--no-color", "run"),
        f"{public_url}{service.path}/openapi.json",
        # The documented paths carry the service's prefix: they start at HAProxy's origin.
        *("--origin", public_url),
        *("--seed", SEED),
    ]
    if MAX_EXAMPLES:
        command += ["--max-examples", MAX_EXAMPLES]
    return command


def failures_only(report: str) -> str:
    """Schemathesis's report from its failures on (each with a curl reproduction)."""
    start = report.find("\n====")
    return report[start:] if start >= 0 else report


@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.name)
def test_every_operation_keeps_its_documented_contract(local_platform, service, tmp_path):
    command = schemathesis_command(local_platform.public_url, service)
    environment = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HOOKS),
        "ACCOUNTS_DATABASE_URL": local_platform.layout.database_url,
    }
    result = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, (
        f"{service.name}'s API breaks its OpenAPI contract (schemathesis, seed {SEED}):\n"
        f"{failures_only(result.stdout)}{result.stderr}"
    )

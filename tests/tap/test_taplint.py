"""STILTS taplint (TOPCAT's TAP client code, the community's validator) against TAP as `make up`
runs it: through HAProxy, with its worker, query role and results folder.

Every stage runs but LOC, which checks an ObsLocTAP ``ivoa.obsplan`` table and fails outright
on a service that publishes no observation plans.
"""

import re
import subprocess

from tests.platform_fixture import local_platform  # noqa: F401  (session fixture)

STAGES = "-LOC"
TOTALS = re.compile(r"^Totals: Errors: (\d+); Warnings: (\d+); Failures: (\d+)", re.MULTILINE)


def test_taplint_finds_no_error_and_no_failure(local_platform):  # noqa: F811
    result = subprocess.run(
        [
            "stilts",
            "taplint",
            f"tapurl={local_platform.public_url}/tap",
            f"stages={STAGES}",
            "report=EWF",
            "maxrepeat=3",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = result.stdout
    totals = TOTALS.search(report)
    assert totals is not None, f"taplint did not finish:\n{report}\n{result.stderr}"
    errors, _warnings, failures = map(int, totals.groups())
    problems = "\n".join(line for line in report.splitlines() if line[:2] in ("E-", "F-"))
    assert (errors, failures) == (0, 0), f"taplint:\n{problems}\n{totals.group(0)}"

"""The ingestion hook: report each run of a job to its Zabbix trapper items.

``zbxsync run-job --host jmmc-obsportal --job obsportal-ingest -- obsportal ingest ...`` runs the
job, then sends its result (1/0), the time of success, its duration and, when the job's last
output line is a JSON object with ``accepted``/``rejected`` counts, those counts. A failure to
reach Zabbix is reported on stderr but never changes the job's own exit code.
"""

import json
import subprocess
import sys
import time
from dataclasses import dataclass

from zabbix_utils import ItemValue, Sender

from .render import ingestion_keys


@dataclass(frozen=True)
class Run:
    succeeded: bool
    finished_at: int
    duration_s: float | None = None
    accepted: int | None = None
    rejected: int | None = None


def values(host: str, job: str, run: Run) -> list[ItemValue]:
    keys = ingestion_keys(job)
    items = [ItemValue(host, keys["result"], int(run.succeeded), run.finished_at)]
    if run.succeeded:
        items.append(ItemValue(host, keys["success"], run.finished_at, run.finished_at))
    for role, value in (
        ("duration", run.duration_s),
        ("accepted", run.accepted),
        ("rejected", run.rejected),
    ):
        if value is not None:
            items.append(ItemValue(host, keys[role], value, run.finished_at))
    return items


def send(server: str, port: int, host: str, job: str, run: Run) -> str:
    """Send one run; returns Zabbix's summary. Raises OSError/RuntimeError when unreachable."""
    response = Sender(server=server, port=port, timeout=10).send(values(host, job, run))
    if response.failed:
        raise RuntimeError(
            f"Zabbix refused {response.failed} value(s) for {host} "
            f"(unknown host or item, or this address is not an allowed sender)"
        )
    return f"processed {response.processed}, failed {response.failed}"


def counts(output: str) -> tuple[int | None, int | None]:
    lines = output.strip().splitlines()
    try:
        document = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None, None
    if not isinstance(document, dict):
        return None, None
    return document.get("accepted"), document.get("rejected")


def run_job(command: list[str]) -> tuple[int, Run]:
    """Run the job with its output passed through; returns its exit code and the run."""
    started = time.monotonic()
    process = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    sys.stdout.write(process.stdout)
    accepted, rejected = counts(process.stdout)
    run = Run(
        succeeded=process.returncode == 0,
        finished_at=int(time.time()),
        duration_s=round(time.monotonic() - started, 3),
        accepted=accepted,
        rejected=rejected,
    )
    return process.returncode, run

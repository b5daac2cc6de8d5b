"""Ingestion jobs report each run to their Zabbix trapper items, wherever they run.

A job wraps its work in :func:`job_report`; when ``ZABBIX_SERVER`` is set (the host's crontab,
the Kubernetes CronJob's environment), the run's result, the time of its success, its duration
and its accepted/rejected counts go to the host ``jmmc-<service>``. The item keys are defined
here once: the monitoring templates (zbxsync) use the same functions. An unreachable Zabbix is
reported on stderr and never changes the job's own outcome.
"""

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from zabbix_utils import ItemValue, Sender
from zabbix_utils.exceptions import ModuleBaseException


class ZabbixSettings(BaseSettings):
    """Where runs are reported; shared by every service (no service prefix)."""

    model_config = SettingsConfigDict(env_prefix="ZABBIX_", extra="ignore")

    server: str = Field("", title="Zabbix server or proxy receiving trapper values (empty: off)")
    port: int = Field(10051, ge=1, le=65535, title="Its trapper port")
    timeout: int = Field(10, ge=1, title="Seconds to wait for Zabbix")


def host_name(service: str) -> str:
    """The Zabbix host of a service (monitoring/templates/<service>.yaml)."""
    return f"jmmc-{service}"


def ingestion_keys(job: str) -> dict[str, str]:
    """Trapper item keys of one job, by role."""
    return {
        "result": f"jmmc.ingestion.result[{job}]",
        "success": f"jmmc.ingestion.last_success[{job}]",
        "accepted": f"jmmc.ingestion.accepted[{job}]",
        "rejected": f"jmmc.ingestion.rejected[{job}]",
        "duration": f"jmmc.ingestion.duration[{job}]",
    }


@dataclass
class Run:
    succeeded: bool = True
    finished_at: int = 0
    duration_s: float | None = None
    accepted: int | None = None
    rejected: int | None = None

    def count(self, accepted: int, rejected: int) -> None:
        """Add the records of one part of the run (a job may have several sources)."""
        self.accepted = (self.accepted or 0) + accepted
        self.rejected = (self.rejected or 0) + rejected


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


def send(settings: ZabbixSettings, host: str, job: str, run: Run) -> str:
    """Send one run; returns Zabbix's summary. Raises RuntimeError when it fails."""
    sender = Sender(server=settings.server, port=settings.port, timeout=settings.timeout)
    try:
        response = sender.send(values(host, job, run))
    except (OSError, ModuleBaseException) as exc:
        raise RuntimeError(f"{settings.server}:{settings.port}: {exc}") from exc
    if response.failed:
        raise RuntimeError(
            f"Zabbix refused {response.failed} value(s) for {host} "
            "(unknown host or item, or this address is not an allowed sender)"
        )
    return f"processed {response.processed}, failed {response.failed}"


@contextmanager
def job_report(service: str, job: str, settings: ZabbixSettings | None = None) -> Iterator[Run]:
    """Report the run of the enclosed block: failed when it raises, with the counts it adds."""
    settings = settings or ZabbixSettings()
    run, started = Run(), time.monotonic()
    try:
        yield run
    except BaseException:
        run.succeeded = False
        raise
    finally:
        if settings.server:
            run.finished_at = int(time.time())
            run.duration_s = round(time.monotonic() - started, 3)
            try:
                summary = send(settings, host_name(service), job, run)
                print(f"reported to Zabbix: {summary}", file=sys.stderr)
            except RuntimeError as exc:
                print(f"could not report to Zabbix: {exc}", file=sys.stderr)

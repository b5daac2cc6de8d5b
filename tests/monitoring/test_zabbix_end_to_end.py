"""Zabbix provisioned from monitoring/ sees the local platform: an endpoint going down and up,
an ingestion failing and going stale, all observed through the Zabbix API.

The tests run in file order and share one provisioned server (a module fixture). Probe rhythm
is shortened with host macros, as ops would do for a test host: endpoints every 1 s, ingestion
period 30 s (the smallest Zabbix recommends for nodata()).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.platform_fixture import LocalZabbix

from .conftest import MEASURED

ZBXSYNC = Path(sys.executable).parent / "zbxsync"
OBSPORTAL = Path(sys.executable).parent / "obsportal"
HOST = "jmmc-obsportal"
JOB = "obsportal-ingest"
STALE_PERIOD_S = 30
TEST_MACROS = {
    "{$JMMC.WEB.DELAY}": "1s",
    "{$JMMC.WEB.TIMEOUT}": "3s",
    "{$JMMC.HEALTH.DELAY}": "5s",
    f'{{$JMMC.INGESTION.PERIOD:"{JOB}"}}': f"{STALE_PERIOD_S}s",
}
TRIGGERS = {
    "down": "ObsPortal: health endpoint is down",
    "failed": f"ObsPortal: ingestion {JOB} failed",
    "stale": f"ObsPortal: ingestion {JOB} is stale",
    "rejected": f"ObsPortal: ingestion {JOB} rejected too many records",
}


def zbxsync(*args: str) -> str:
    result = subprocess.run([str(ZBXSYNC), *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


class Observer:
    """Reads trigger states of the obsportal host through the API."""

    def __init__(self, zabbix: LocalZabbix, apply_arguments: list[str]):
        self.zabbix = zabbix
        self.arguments = apply_arguments
        self.last_success = 0.0
        self.api = zabbix.api()
        triggers = self.api.trigger.get(host=HOST, output=["triggerid", "description"])
        by_name = {trigger["description"]: trigger["triggerid"] for trigger in triggers}
        self.ids = {role: by_name[name] for role, name in TRIGGERS.items()}

    def value(self, role: str) -> int:
        trigger = self.api.trigger.get(triggerids=[self.ids[role]], output=["value"])[0]
        return int(trigger["value"])

    def has_data(self, role: str) -> bool:
        """Whether every item of the trigger has received a value (a fresh trigger reads OK)."""
        (trigger,) = self.api.trigger.get(triggerids=[self.ids[role]], selectItems=["itemid"])
        items = self.api.item.get(
            itemids=[item["itemid"] for item in trigger["items"]],
            webitems=True,
            output=["lastclock"],
        )
        return all(int(item["lastclock"]) > 0 for item in items)

    def wait_for(self, role: str, value: int, timeout: float) -> float:
        """Seconds until the trigger has ``value`` (1 PROBLEM, 0 OK), polling every 0.25 s."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.value(role) == value:
                return time.monotonic() - started
            time.sleep(0.25)
        state = "PROBLEM" if value else "OK"
        pytest.fail(f"trigger {TRIGGERS[role]!r} not {state} within {timeout:.0f} s")

    def event_clock(self, role: str, value: int) -> int:
        events = self.api.event.get(
            objectids=[self.ids[role]],
            value=value,
            output=["clock"],
            sortfield=["clock", "eventid"],
            sortorder="DESC",
            limit=1,
        )
        return int(events[0]["clock"])

    def report(self, *args: str) -> None:
        zbxsync(
            "report", "--port", str(self.zabbix.server_port), "--host", HOST, "--job", JOB, *args
        )


@pytest.fixture(scope="module")
def observer(zabbix: LocalZabbix, local_platform) -> Observer:
    macros = {"{$JMMC.BASE_URL}": local_platform.public_url, **TEST_MACROS}
    arguments = [f"--macro={name}={value}" for name, value in macros.items()]
    zbxsync("apply", "--url", zabbix.api_url, *arguments)
    zabbix.reload_configuration()
    observer = Observer(zabbix, arguments)
    # Zabbix must have checked the platform before a change can be noticed: a trigger whose
    # web scenario has not run yet also reads OK.
    deadline = time.monotonic() + 60
    while not observer.has_data("down"):
        assert time.monotonic() < deadline, "the health web scenario never ran"
        time.sleep(0.25)
    observer.wait_for("down", 0, timeout=30)
    observer.report("--status", "succeeded", "--accepted", "100", "--rejected", "0")
    observer.last_success = time.monotonic()
    return observer


def test_second_apply_changes_nothing(zabbix: LocalZabbix, observer: Observer) -> None:
    assert zbxsync("apply", "--url", zabbix.api_url, "--dry-run", *observer.arguments) == (
        "no changes\n"
    )
    assert zbxsync("apply", "--url", zabbix.api_url, *observer.arguments) == "no changes\n"


def test_stopped_service_raises_a_problem_and_its_restart_resolves_it(
    observer: Observer, local_platform
) -> None:
    stopped_at, stopped_clock = time.monotonic(), time.time()
    local_platform.stop_service("obsportal")
    observer.wait_for("down", 1, timeout=30)
    seen = time.monotonic() - stopped_at
    event = observer.event_clock("down", 1) - stopped_clock
    MEASURED["service stopped -> PROBLEM"] = (
        f"seen via API {seen:.1f} s after the stop began (event clock {event:+.0f} s)"
    )
    local_platform.start_service("obsportal")  # returns once the service answers /health
    back_at = time.time()
    resolved = observer.wait_for("down", 0, timeout=30)
    MEASURED["service back -> RESOLVED"] = f"seen via API after {resolved:.1f} s"
    assert seen <= 10, f"PROBLEM took {seen:.1f} s (target 10 s)"
    assert observer.event_clock("down", 0) >= int(back_at) - 1


def test_failed_ingestion_raises_problems(observer: Observer, zabbix: LocalZabbix) -> None:
    # A real ingestion run through the real hook, failing because its database is unreachable.
    unreachable = {
        **os.environ,
        "OBSPORTAL_DATABASE_URL": "postgresql+psycopg://jmmc@127.0.0.1:1/jmmc",
    }
    run = subprocess.run(
        [
            str(ZBXSYNC),
            "run-job",
            "--port",
            str(zabbix.server_port),
            "--host",
            HOST,
            "--job",
            JOB,
            "--",
            str(OBSPORTAL),
            "ingest",
            "--synthetic",
            "50",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=unreachable,
    )
    assert run.returncode != 0, "the hook must keep the job's failing exit code"
    assert "processed 2" in run.stderr or "processed 1" in run.stderr, run.stderr
    seen = observer.wait_for("failed", 1, timeout=15)
    MEASURED["ingestion failed -> PROBLEM"] = f"seen via API after {seen:.1f} s"
    observer.report("--status", "failed", "--accepted", "10", "--rejected", "5")
    observer.wait_for("rejected", 1, timeout=15)


def test_stale_ingestion_raises_a_problem(observer: Observer) -> None:
    # Failed runs report no success, so the last success is still the one sent at provisioning.
    remaining = STALE_PERIOD_S + 60 - (time.monotonic() - observer.last_success)
    observer.wait_for("stale", 1, timeout=max(remaining, 5))
    delay = time.monotonic() - observer.last_success
    MEASURED[f"ingestion stale (period {STALE_PERIOD_S} s) -> PROBLEM"] = (
        f"{delay:.1f} s after the last success"
    )


def test_successful_run_resolves_the_ingestion_problems(observer: Observer) -> None:
    observer.report("--status", "succeeded", "--accepted", "100", "--rejected", "1")
    for role in ("failed", "stale", "rejected"):
        observer.wait_for(role, 0, timeout=15)

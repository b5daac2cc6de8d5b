"""Zabbix provisioned from monitoring/ sees the local platform: HAProxy stopped raises one
problem and not one per endpoint, an endpoint going down and up, an ingestion run as the
Kubernetes CronJob runs it reporting by itself, an ingestion failing and going stale, all
observed through the Zabbix API.

The tests run in file order and share one provisioned server (a module fixture). Probe rhythm
is shortened with host macros, as ops would do for a test host: endpoints and HAProxy every
1 s, ingestion period 30 s (the smallest Zabbix recommends for nodata()).
"""

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from jmmc_core.zabbix import ingestion_keys
from jmmc_devtools import platform
from tests.platform_fixture import REPO, LocalZabbix
from zbxsync.render import WEB_FAILURES

from .conftest import MEASURED

ZBXSYNC = Path(sys.executable).parent / "zbxsync"
OBSPORTAL = Path(sys.executable).parent / "obsportal"
HOST = "jmmc-obsportal"
JOB = "obsportal-ingest"
HAPROXY_DOWN = "HAProxy: public frontend is down"
STALE_PERIOD_S = 30
TEST_MACROS = {
    "{$JMMC.WEB.DELAY}": "1s",
    "{$JMMC.HAPROXY.DELAY}": "1s",
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
        return self.trigger_value(self.ids[role])

    def trigger_value(self, triggerid: str) -> int:
        trigger = self.api.trigger.get(triggerids=[triggerid], output=["value"])[0]
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
        return self.wait_for_trigger(self.ids[role], TRIGGERS[role], value, timeout)

    def wait_for_trigger(self, triggerid: str, name: str, value: int, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.trigger_value(triggerid) == value:
                return time.monotonic() - started
            time.sleep(0.25)
        state = "PROBLEM" if value else "OK"
        pytest.fail(f"trigger {name!r} not {state} within {timeout:.0f} s")

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
            "report", "--port", str(self.zabbix.server_port), "--service", "obsportal",
            "--job", JOB, *args,
        )  # fmt: skip

    def zabbix_environment(self) -> dict[str, str]:
        """What the chart's global.zabbix gives a CronJob, pointing at the test's Zabbix."""
        return {"ZABBIX_SERVER": "127.0.0.1", "ZABBIX_PORT": str(self.zabbix.server_port)}


@pytest.fixture(scope="module")
def observer(zabbix: LocalZabbix, local_platform) -> Observer:
    layout = local_platform.layout
    macros = {
        "{$JMMC.BASE_URL}": local_platform.public_url,
        "{$JMMC.HAPROXY.PORT}": str(layout.haproxy_port),
        "{$HAPROXY.STATS.PORT}": str(layout.stats_port),
        **TEST_MACROS,
    }
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


def test_stopped_haproxy_raises_one_problem_not_one_per_endpoint(
    observer: Observer, local_platform
) -> None:
    api = observer.api
    (group,) = api.hostgroup.get(filter={"name": ["JMMC services"]}, output=["groupid"])
    (root,) = api.trigger.get(
        host="jmmc-haproxy", filter={"description": HAPROXY_DOWN}, output=["triggerid"]
    )
    probes = api.item.get(
        groupids=[group["groupid"]], webitems=True, search={"key_": "web.test.fail["},
        output=["itemid", "key_"],
    )  # fmt: skip
    stopped_clock, stopped_at = int(time.time()), time.monotonic()
    platform.stop_pid(local_platform.layout.pidfile("haproxy"))
    try:
        observer.wait_for_trigger(root["triggerid"], HAPROXY_DOWN, 1, timeout=30)
        seen = time.monotonic() - stopped_at
        MEASURED["HAProxy stopped -> PROBLEM"] = f"seen via API {seen:.1f} s after the stop began"
        # Wait until every endpoint has failed as often as its own "down" trigger needs.
        deadline = time.monotonic() + 90
        while True:
            failures = api.history.get(
                itemids=[probe["itemid"] for probe in probes], history=3, time_from=stopped_clock,
                output=["itemid", "value"],
            )  # fmt: skip
            counts = Counter(row["itemid"] for row in failures if row["value"] != "0")
            if all(counts[probe["itemid"]] >= WEB_FAILURES for probe in probes):
                break
            failed = {probe["key_"]: counts[probe["itemid"]] for probe in probes}
            assert time.monotonic() < deadline, f"probes did not fail enough: {failed}"
            time.sleep(0.25)
        opened = api.problem.get(
            groupids=[group["groupid"]],
            time_from=stopped_clock,
            output=["name"],
            selectTags=["tag", "value"],
        )
        # Ingestion results do not pass through HAProxy (a job may go stale meanwhile).
        through_haproxy = [
            problem["name"]
            for problem in opened
            if {"tag": "via", "value": "trapper"} not in problem["tags"]
        ]
        assert through_haproxy == [HAPROXY_DOWN]
    finally:
        platform.start_haproxy(local_platform.layout)
    observer.wait_for_trigger(root["triggerid"], HAPROXY_DOWN, 0, timeout=30)
    observer.wait_for("down", 0, timeout=30)


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


def rendered_cronjob(name: str) -> dict:
    """The CronJob as the production values render it (ci/helm.sh, the deploy's own renderer)."""
    tools = subprocess.run(
        [str(REPO / "ci" / "tools.sh")], capture_output=True, text=True, timeout=900, check=True
    ).stdout.split()[-1]
    rendered = subprocess.run(
        [str(REPO / "ci" / "helm.sh"), "render", "platform", "production"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        env={**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"},
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    for document in yaml.safe_load_all(rendered.stdout):
        if (
            document
            and document["kind"] == "CronJob"
            and document["metadata"]["name"].endswith(name)
        ):
            return document
    raise AssertionError(f"no CronJob {name} in the production rendering")


def test_cronjob_run_reports_to_zabbix_by_itself(observer: Observer, local_platform) -> None:
    cronjob = rendered_cronjob("oidb-sync-obsportal")
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    environment = {variable["name"]: variable.get("value") for variable in container["env"]}
    assert environment["ZABBIX_SERVER"] and environment["ZABBIX_PORT"] == "10051"
    # The image's entrypoint is the service's command; the Zabbix address is the test's own.
    layout = local_platform.layout
    run = subprocess.run(
        [str(layout.bin_dir / "oidb"), *container["args"]],
        env={
            **platform.service_environment(layout, local_platform.service("oidb")),
            **observer.zabbix_environment(),
        },
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "reported to Zabbix: processed" in run.stderr, run.stderr
    # The trapper has taken the value; the API shows it once the history syncer has stored
    # it (about a second later).
    deadline = time.monotonic() + 15
    while True:
        (item,) = observer.api.item.get(
            host="jmmc-oidb",
            filter={"key_": ingestion_keys("oidb-sync-obsportal")["success"]},
            output=["lastvalue"],
        )
        if abs(int(item["lastvalue"]) - time.time()) < 120 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert abs(int(item["lastvalue"]) - time.time()) < 120


def test_failed_ingestion_raises_problems(observer: Observer) -> None:
    # A real ingestion run reporting by itself, failing because its database is unreachable.
    unreachable = {
        **os.environ,
        **observer.zabbix_environment(),
        "OBSPORTAL_DATABASE_URL": "postgresql+psycopg://jmmc@127.0.0.1:1/jmmc",
    }
    run = subprocess.run(
        [str(OBSPORTAL), "ingest", "--synthetic", "50", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=unreachable,
    )
    assert run.returncode != 0, "the report must keep the job's failing exit code"
    assert "reported to Zabbix: processed" in run.stderr, run.stderr
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

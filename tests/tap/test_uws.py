"""Async TAP (UWS 1.1) with a real ``tap serve`` and real ``tap worker`` processes.

Most tests share the session's server and worker (``tap_service``), as pyvo and TOPCAT use
them. Tests that stop, restart or kill processes, or that need no worker at all, run on a
database of their own (``own``) with processes they start and stop themselves.
"""

import io
import os
import re
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pyvo
from pyvo.io.uws import parse_job, parse_job_list
from sqlalchemy import make_url

from jmmc_devtools.processes import serving, stop

from ..accounts.test_migrations import accounts_cli
from ..core.test_migrations import cli
from .conftest import BIN, QUERY_ROLE, Server, ensure_query_role, running_tap

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
VOTABLE = "{http://www.ivoa.net/xml/VOTable/v1.3}"
QUERY = "SELECT TOP 5 exp_id FROM obsportal.exposures ORDER BY exp_id"
#: Minutes of work for PostgreSQL (a five-fold self-join of TAP_SCHEMA's columns).
SLOW_QUERY = (
    "SELECT COUNT(*) AS n FROM TAP_SCHEMA.columns AS a"
    " JOIN TAP_SCHEMA.columns AS b ON a.column_name <> b.column_name"
    " JOIN TAP_SCHEMA.columns AS c ON b.column_name <> c.column_name"
    " JOIN TAP_SCHEMA.columns AS d ON c.column_name <> d.column_name"
    " JOIN TAP_SCHEMA.columns AS e ON d.column_name <> e.column_name"
)
FINAL = ("COMPLETED", "ERROR", "ABORTED")


# --------------------------------------------------------------------------------------
# Helpers


def create(client: httpx.Client, **parameters: str) -> str:
    """Create a job; its URL."""
    response = client.post("/async", data={"LANG": "ADQL", **parameters})
    assert response.status_code == 303, response.text
    return response.headers["location"]


def job_of(client: httpx.Client, url: str, **query: str):
    response = client.get(url, params=query)
    assert response.status_code == 200, response.text
    return parse_job(io.BytesIO(response.content))


def finished(client: httpx.Client, url: str):
    """The job once it has ended (WAIT blocks at most a minute at a time)."""
    job = job_of(client, url, WAIT="-1")
    while job.phase not in FINAL:
        job = job_of(client, url, WAIT="-1")
    return job


def executing(client: httpx.Client, url: str):
    job = job_of(client, url)
    while job.phase in ("PENDING", "QUEUED"):
        job = job_of(client, url, WAIT="10")
    assert job.phase == "EXECUTING", job.phase
    return job


def post(client: httpx.Client, url: str, **form: str) -> httpx.Response:
    return client.post(url, data=form)


def error_text(response: httpx.Response) -> str:
    """The message of a DALI error document."""
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    root = ElementTree.fromstring(response.content)
    statuses = [info for info in root.iter(f"{VOTABLE}INFO") if info.get("name") == "QUERY_STATUS"]
    assert statuses and statuses[-1].get("value") == "ERROR", response.text
    return statuses[-1].text or ""


def job_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def listed(client: httpx.Client, **filters) -> list[str]:
    response = client.get("/async", params=filters)
    assert response.status_code == 200, response.text
    return [job.jobid for job in parse_job_list(io.BytesIO(response.content))]


# --------------------------------------------------------------------------------------
# On the session's server and worker


@pytest.fixture(scope="module")
def tap(tap_service) -> str:
    return tap_service.tap_url


@pytest.fixture
def client(tap) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=tap, timeout=90) as session:
        yield session


def test_pyvo_runs_an_async_query(tap):
    result = pyvo.dal.TAPService(tap).run_async(QUERY)
    assert len(result) == 5
    assert result.to_table().colnames == ["exp_id"]


def test_pyvo_submits_waits_fetches_and_deletes(tap, client):
    job = pyvo.dal.TAPService(tap).submit_job(QUERY, maxrec=2)
    assert job.phase == "PENDING"
    job.run()
    job.wait(phases=list(FINAL), timeout=600)
    assert job.phase == "COMPLETED"
    assert len(job.fetch_result()) == 2
    url = job.url
    job.delete()
    assert client.get(url).status_code == 404


def test_the_job_document_is_uws_1_1(client, tap_settings):
    url = create(client, QUERY=QUERY, RUNID="my-run")
    response = client.get(url)
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{UWS}job"
    assert root.get("version") == "1.1"
    children = [child.tag.removeprefix(UWS) for child in root]
    assert children[:11] == [
        "jobId", "runId", "ownerId", "phase", "quote", "creationTime", "startTime", "endTime",
        "executionDuration", "destruction", "parameters",
    ]  # fmt: skip
    job = parse_job(io.BytesIO(response.content))
    assert (job.jobid, job.runid, job.phase) == (job_id(url), "my-run", "PENDING")
    assert job.ownerid is None
    assert job.executionduration.to_value("sec") == tap_settings.async_timeout_seconds
    created = root.find(f"{UWS}creationTime").text
    destruction = root.find(f"{UWS}destruction").text
    assert created.endswith("Z") and destruction.endswith("Z")
    retention = datetime.fromisoformat(destruction) - datetime.fromisoformat(created)
    assert retention == timedelta(hours=tap_settings.job_retention_hours)
    parameters = {parameter.id_: parameter.content for parameter in job.parameters}
    assert parameters == {"LANG": "ADQL", "QUERY": QUERY, "RUNID": "my-run"}


def test_every_child_of_a_pending_job(client, tap_settings):
    url = create(client, QUERY=QUERY)
    assert client.get(f"{url}/phase").text == "PENDING"
    assert client.get(f"{url}/quote").status_code == 200
    assert client.get(f"{url}/owner").text == ""
    assert client.get(f"{url}/results").status_code == 200
    assert list(ElementTree.fromstring(client.get(f"{url}/results").content)) == []
    assert client.get(f"{url}/results/result").status_code == 404
    assert client.get(f"{url}/error").status_code == 404

    assert client.get(f"{url}/executionduration").text == str(tap_settings.async_timeout_seconds)
    answer = post(client, f"{url}/executionduration", EXECUTIONDURATION="120")
    assert (answer.status_code, answer.headers["location"]) == (303, url)
    assert client.get(f"{url}/executionduration").text == "120"
    post(client, f"{url}/executionduration", EXECUTIONDURATION="0")
    limit = str(tap_settings.async_max_timeout_seconds)
    assert client.get(f"{url}/executionduration").text == limit
    refused = post(client, f"{url}/executionduration", EXECUTIONDURATION="soon")
    assert refused.status_code == 400
    assert "EXECUTIONDURATION" in error_text(refused)

    destruction = client.get(f"{url}/destruction").text
    document = ElementTree.fromstring(client.get(url).content)
    assert destruction == document.find(f"{UWS}destruction").text
    earlier = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    answer = post(client, f"{url}/destruction", DESTRUCTION=earlier.isoformat())
    assert answer.status_code == 303
    assert client.get(f"{url}/destruction").text == earlier.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert post(client, f"{url}/destruction", DESTRUCTION="tomorrow").status_code == 400

    other = "SELECT TOP 1 exp_id FROM obsportal.exposures"
    answer = post(client, f"{url}/parameters", QUERY=other, MAXREC="1")
    assert answer.status_code == 303
    parameters = ElementTree.fromstring(client.get(f"{url}/parameters").content)
    values = {parameter.get("id"): parameter.text for parameter in parameters}
    assert values["QUERY"] == other and values["MAXREC"] == "1"


def test_wait_returns_at_once_for_a_job_that_does_not_run(client):
    url = create(client, QUERY=QUERY)
    assert job_of(client, url, WAIT="1").phase == "PENDING"
    assert client.get(url, params={"WAIT": "soon"}).status_code == 400


def test_a_completed_job_has_its_result(client):
    url = create(client, QUERY=QUERY, PHASE="RUN", RESPONSEFORMAT="csv")
    job = finished(client, url)
    assert job.phase == "COMPLETED", job.errorsummary
    assert [result.id_ for result in job.results] == ["result"]
    assert job.results[0].href == f"{url}/results/result"
    result = client.get(f"{url}/results/result")
    assert result.headers["content-type"].startswith("text/csv")
    assert len(result.text.strip().splitlines()) == 6
    assert client.get(f"{url}/phase").text == "COMPLETED"
    assert job.starttime is not None and job.endtime >= job.starttime


def test_an_adql_error_ends_the_job_in_error(client):
    url = create(client, QUERY="DUFF QUERY", PHASE="RUN")
    job = finished(client, url)
    assert job.phase == "ERROR"
    message = job.errorsummary.message.content
    assert message
    error = client.get(f"{url}/error")
    assert error.status_code == 200
    assert error_text(error) == message
    assert client.get(f"{url}/results/result").status_code == 404


def test_illegal_phase_changes_are_refused_naming_phase(client):
    url = create(client, QUERY="DUFF QUERY", PHASE="RUN")
    assert finished(client, url).phase == "ERROR"
    for phase in ("RUN", "ABORT", "SUSPEND"):
        refused = post(client, f"{url}/phase", PHASE=phase)
        assert refused.status_code == 400, phase
        assert "PHASE" in error_text(refused)
    changed = post(client, f"{url}/parameters", QUERY=QUERY)
    assert changed.status_code == 409
    assert "PENDING" in error_text(changed)

    pending = create(client, QUERY=QUERY)
    assert post(client, f"{pending}/phase", PHASE="ABORT").status_code == 303
    assert client.get(f"{pending}/phase").text == "ABORTED"
    assert post(client, f"{pending}/phase", PHASE="RUN").status_code == 400


def test_bad_parameters_end_the_job_in_error_naming_them(client):
    for name, value in (("LANG", "PQL"), ("MAXREC", "many"), ("RESPONSEFORMAT", "image/png")):
        job = finished(client, create(client, QUERY=QUERY, PHASE="RUN", **{name: value}))
        assert job.phase == "ERROR", name
        assert name in job.errorsummary.message.content
    refused = client.post("/async", data={"QUERY": QUERY, "PHASE": "ABORT"})
    assert refused.status_code == 400
    assert "PHASE" in error_text(refused)


def test_delete_and_action_delete_remove_the_job(client, tap):
    for remove in (
        lambda url: client.delete(url),
        lambda url: post(client, url, ACTION="DELETE"),
    ):
        url = create(client, QUERY=QUERY)
        answer = remove(url)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"{tap}/async"
        missing = client.get(url)
        assert missing.status_code == 404
        assert "no such job" in error_text(missing)
    url = create(client, QUERY=QUERY)
    assert post(client, url, ACTION="ARCHIVE").status_code == 400
    assert client.get("/async/no-such-job/phase").status_code == 404


def test_the_job_list_and_its_filters(client):
    failed = create(client, QUERY="DUFF QUERY", PHASE="RUN")
    finished(client, failed)
    first = create(client, QUERY=QUERY)
    second = create(client, QUERY=QUERY)
    ids = [job_id(url) for url in (failed, first, second)]

    everything = listed(client)
    assert set(ids) <= set(everything)
    assert listed(client, LAST="2") == [ids[2], ids[1]]
    errors = listed(client, PHASE="ERROR")
    assert ids[0] in errors and ids[1] not in errors
    both = listed(client, PHASE=["ERROR", "PENDING"])
    assert set(ids) <= set(both)
    created = ElementTree.fromstring(client.get(first).content).find(f"{UWS}creationTime").text
    assert ids[2] in listed(client, AFTER=created)
    assert ids[0] not in listed(client, AFTER=created)
    assert client.get("/async", params={"PHASE": "SLEEPING"}).status_code == 400
    assert client.get("/async", params={"AFTER": "yesterday"}).status_code == 400


def test_a_signed_in_users_jobs_are_theirs_only(client, tap_database):
    for args in (("migrate",), ("create-user", "uws-owner", "--if-missing")):
        assert accounts_cli(tap_database, *args).returncode == 0
    token = accounts_cli(tap_database, "create-token", "uws-owner", "uws").stdout.strip()
    owner = {"Authorization": f"Bearer {token}"}
    response = client.post("/async", data={"QUERY": QUERY}, headers=owner)
    url = response.headers["location"]
    assert client.get(f"{url}/owner", headers=owner).text == "uws-owner"
    assert parse_job(io.BytesIO(client.get(url, headers=owner).content)).ownerid == "uws-owner"
    assert listed(client) and job_id(url) not in listed(client)
    assert job_id(url) in [
        job.jobid for job in parse_job_list(io.BytesIO(client.get("/async", headers=owner).content))
    ]
    assert client.get(url).status_code == 404  # anonymous
    assert client.delete(url).status_code == 404
    assert client.delete(url, headers=owner).status_code == 303


# --------------------------------------------------------------------------------------
# On a database of their own, with processes the tests start, stop and kill


@pytest.fixture(scope="module")
def own(new_database, tmp_path_factory) -> dict[str, str]:
    """TAP's and ObsPortal's schemas (TAP_SCHEMA filled, no exposures), and TAP's settings."""
    url = new_database("uws")
    for service in ("obsportal", "tap"):
        result = cli(service, url, "migrate")
        assert result.returncode == 0, result.stderr
    ensure_query_role(url)
    return {
        "TAP_DATABASE_URL": url,
        "TAP_QUERY_DATABASE_URL": make_url(url)
        .set(username=QUERY_ROLE)
        .render_as_string(hide_password=False),
        "TAP_ENVIRONMENT": "test",
        "TAP_LOG_LEVEL": "WARNING",
        "TAP_RESULTS_DIR": str(tmp_path_factory.mktemp("uws-results")),
        "TAP_MAX_ACTIVE_JOBS_PER_CLIENT": "2",
    }


def worker(environment: dict[str, str]) -> subprocess.Popen:
    """A ``tap worker`` beating every half second (taken as stopped after 1.5 s of silence)."""
    return subprocess.Popen(
        [str(BIN / "tap"), "worker", "--heartbeat", "0.5"], env={**os.environ, **environment}
    )


@pytest.fixture(scope="module")
def own_server(own) -> Iterator[Server]:
    with running_tap(own) as server:
        yield server


@pytest.fixture
def own_client(own_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=own_server.tap_url, timeout=90) as session:
        yield session


def test_a_job_whose_worker_is_killed_ends_in_error(own, own_client):
    client = own_client
    first = worker(own)
    try:
        url = create(client, QUERY=SLOW_QUERY)
        post(client, f"{url}/executionduration", EXECUTIONDURATION="600")
        post(client, f"{url}/phase", PHASE="RUN")
        executing(client, url)
    finally:
        first.kill()
        first.wait()
    with serving([str(BIN / "tap"), "worker", "--heartbeat", "0.5"], env={**os.environ, **own}):
        job = finished(client, url)
    assert job.phase == "ERROR"
    assert job.errorsummary.message.content == (
        "the worker running this job stopped; please resubmit"
    )


def test_an_aborted_job_stops_running(own, own_client):
    client = own_client
    with serving([str(BIN / "tap"), "worker"], env={**os.environ, **own}):
        url = create(client, QUERY=SLOW_QUERY)
        post(client, f"{url}/phase", PHASE="RUN")
        executing(client, url)
        assert post(client, f"{url}/phase", PHASE="ABORT").status_code == 303
        assert job_of(client, url).phase == "ABORTED"
        # The worker is free again: a quick job runs to its end.
        quick = create(client, QUERY="SELECT TOP 1 table_name FROM TAP_SCHEMA.tables", PHASE="RUN")
        assert finished(client, quick).phase == "COMPLETED"
    assert job_of(client, url).phase == "ABORTED"
    assert not (Path(own["TAP_RESULTS_DIR"]) / job_id(url) / "result").exists()


def test_jobs_outlive_the_web_process_that_created_them(own, own_client):
    """State is in PostgreSQL only: a web process started afterwards serves the job."""
    url = create(own_client, QUERY=QUERY, RUNID="kept")
    with running_tap(own) as restarted, httpx.Client(base_url=restarted.tap_url) as client:
        job = job_of(client, f"/async/{job_id(url)}")
    assert (job.phase, job.runid) == ("PENDING", "kept")


def test_the_per_client_limit_of_active_jobs(own_client):
    # No worker runs: queued jobs stay QUEUED.
    client = own_client
    queued = [create(client, QUERY=QUERY, PHASE="RUN") for _ in range(2)]
    assert [client.get(f"{url}/phase").text for url in queued] == ["QUEUED", "QUEUED"]
    refused = client.post("/async", data={"QUERY": QUERY, "PHASE": "RUN"})
    assert refused.status_code == 429
    assert "2 queued or running jobs" in error_text(refused)
    pending = create(client, QUERY=QUERY)
    assert post(client, f"{pending}/phase", PHASE="RUN").status_code == 429
    assert post(client, f"{queued[0]}/phase", PHASE="ABORT").status_code == 303
    assert post(client, f"{pending}/phase", PHASE="RUN").status_code == 303
    for url in (*queued, pending):
        assert client.delete(url).status_code == 303


def test_cleanup_deletes_expired_jobs_and_their_files(own, own_client):
    client = own_client
    votable = (
        '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>'
        '<FIELD name="x" datatype="int"/><DATA><TABLEDATA><TR><TD>1</TD></TR></TABLEDATA></DATA>'
        "</TABLE></RESOURCE></VOTABLE>"
    )
    response = client.post(
        "/async",
        data={"QUERY": "SELECT x FROM TAP_UPLOAD.mine", "UPLOAD": "mine,param:part"},
        files={"part": ("mine.xml", votable, "application/x-votable+xml")},
    )
    assert response.status_code == 303, response.text
    url = response.headers["location"]
    kept = create(client, QUERY=QUERY)
    folder = Path(own["TAP_RESULTS_DIR"]) / job_id(url)
    assert (folder / "uploads" / "part").read_text() == votable
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert post(client, f"{url}/destruction", DESTRUCTION=past).status_code == 303

    environment = {**os.environ, **own}
    cleanup = [str(BIN / "tap"), "cleanup"]
    first = subprocess.run(cleanup, env=environment, capture_output=True, text=True, check=True)
    assert re.fullmatch(r"tap: deleted [1-9]\d* expired jobs\n", first.stdout)
    assert client.get(url).status_code == 404
    assert not folder.exists()
    assert client.get(kept).status_code == 200
    again = subprocess.run(cleanup, env=environment, capture_output=True, text=True, check=True)
    assert again.stdout == "tap: deleted 0 expired jobs\n"


def test_a_stopped_worker_process_leaves_no_job_executing(own, own_client):
    """SIGTERM: the worker lets running jobs finish for a while, then ends them in ERROR."""
    client = own_client
    process = worker(own)
    url = create(client, QUERY=SLOW_QUERY, PHASE="RUN")
    executing(client, url)
    stop(process, grace=60)
    job = job_of(client, url)
    assert job.phase == "ERROR"
    assert "worker" in job.errorsummary.message.content

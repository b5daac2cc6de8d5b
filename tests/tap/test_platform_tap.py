"""TAP as `make up` runs it: behind HAProxy, with its worker, its query role and results folder."""

import subprocess

import pyvo

from jmmc_devtools.platform import DATABASE_NAME, TAP_QUERY_ROLE, TAP_READER_ROLE
from tests.platform_fixture import PLATFORM_COMMAND, local_platform  # noqa: F401  (fixture)

QUERY = "SELECT TOP 3 exp_id, target_name FROM obsportal.exposures ORDER BY exp_id"


def test_status_lists_the_tap_worker_running(local_platform):  # noqa: F811
    status = subprocess.run(
        [str(PLATFORM_COMMAND), "status"],
        env=local_platform.environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    (worker,) = [line for line in status.stdout.splitlines() if line.startswith("tap-worker")]
    assert worker.split()[1] == "running", status.stdout


def test_queries_run_as_a_login_role_that_is_only_a_reader(local_platform):  # noqa: F811
    with local_platform.layout.cluster.connect(DATABASE_NAME) as connection:
        groups = connection.execute(
            "SELECT pg_get_userbyid(roleid) FROM pg_auth_members"
            " WHERE member = (SELECT oid FROM pg_roles WHERE rolname = %s AND rolcanlogin)",
            [TAP_QUERY_ROLE],
        ).fetchall()
    assert groups == [(TAP_READER_ROLE,)]


def test_sync_and_async_queries_through_haproxy(local_platform):  # noqa: F811
    service = pyvo.dal.TAPService(f"{local_platform.public_url}/tap")
    synchronous = service.run_sync(QUERY).to_table()
    assert len(synchronous) == 3

    job = service.submit_job(QUERY)
    try:
        job.run().wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=60)
        job.raise_if_error()
        assert job.phase == "COMPLETED"
        asynchronous = job.fetch_result().to_table()
        assert list(asynchronous["exp_id"]) == list(synchronous["exp_id"])
        # The worker wrote the result where the web process serves it from: the run folder.
        assert any((local_platform.layout.run_dir / "tap-results").iterdir())
    finally:
        job.delete()

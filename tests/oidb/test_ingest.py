"""OIFITS ingestion as its users meet it: ``oidb ingest`` on folders, the upload API, the demo.

Each test makes its own collections in the shared test database; the demo runs in a database
of its own (it creates fixed collection names).
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest
from sqlalchemy import make_url

from jmmc_core.errors import InvalidParameter
from jmmc_devtools.registry import service_names
from oidb.storage.files import file_path, md5_of

from ..service_fixture import migrate_platform, running_service
from .oifits_factory import make_oifits

OIDB = [sys.executable, "-c", "from oidb.cli import main; main()"]


def run_oidb(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*OIDB, *args],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=300,
    )


def query(url: str, sql: str, *parameters) -> list[tuple]:
    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database
    ) as connection:
        cursor = connection.execute(sql, parameters)
        return cursor.fetchall() if cursor.description else []


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def collection_counter():
    return iter(range(1, 1000))


@pytest.fixture
def new_collection(oidb_environment, collection_counter):
    """A new public collection made by ``oidb ingest --create-collection``; its id."""

    def make(coltype: str = "public", private_to: int | None = None) -> str:
        collection_id = f"ingest-test-{os.getpid()}-{next(collection_counter)}"
        result = run_oidb(
            oidb_environment, "ingest", "--collection", collection_id,
            "--create-collection", "--coltype", coltype,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        if private_to is not None:
            url = oidb_environment["OIDB_DATABASE_URL"]
            query(url, "UPDATE oidb.collections SET private = true WHERE id = %s", collection_id)
            query(
                url,
                "INSERT INTO oidb.collection_groups (collection_id, group_id) VALUES (%s, %s)",
                collection_id, private_to,
            )  # fmt: skip
        return collection_id

    return make


def test_a_folder_is_ingested_with_a_summary_and_a_rerun_changes_nothing(
    oidb_environment, new_collection, tmp_path
):
    collection = new_collection()
    (tmp_path / "night1").mkdir()
    (tmp_path / ".git").mkdir()
    make_oifits(tmp_path / "first.fits", targets=("HD 1", "HD 2"))
    make_oifits(tmp_path / "night1" / "second.fits", targets=("HD 3",), seed=1)
    (tmp_path / "notes.txt").write_text("not a FITS file")
    make_oifits(tmp_path / ".git" / "hidden.fits", seed=2)

    first = run_oidb(oidb_environment, "ingest", str(tmp_path), "--collection", collection)
    assert first.returncode == 0, first.stderr
    assert "accepted" in first.stdout and "rejected" in first.stdout
    again = run_oidb(
        oidb_environment, "ingest", str(tmp_path), "--collection", collection, "--json"
    )
    assert again.returncode == 0, again.stderr
    summary = last_json(again.stdout)
    assert (summary["files"], summary["accepted"], summary["unchanged"]) == (3, 0, 2)
    assert summary["rejected"] == 1 and summary["granules"] == 3
    [reason] = summary["rejected_by_reason"]
    assert "FITS" in reason

    rows = query(
        oidb_environment["OIDB_DATABASE_URL"],
        "SELECT filename, state, reject_reason IS NOT NULL FROM oidb.oifits_files"
        " WHERE collection_id = %s ORDER BY filename",
        collection,
    )
    assert rows == [
        ("first.fits", "accepted", False),
        ("night1/second.fits", "accepted", False),
        ("notes.txt", "rejected", True),
    ]
    granules = query(
        oidb_environment["OIDB_DATABASE_URL"],
        "SELECT target_name, access_url, access_format, obs_publisher_did, access_md5,"
        " access_estsize, data_rights FROM oidb.granules WHERE obs_collection = %s"
        " ORDER BY target_name",
        collection,
    )
    assert [granule[0] for granule in granules] == ["HD 1", "HD 2", "HD 3"]
    for _, url, media_type, did, md5, size, rights in granules:
        assert did.startswith("ivo://jmmc.fr/oidb?") and url.endswith(did.split("?")[1])
        assert "/datalink?ID=" in url and "content=datalink" in media_type
        assert len(md5) == 32 and size > 0 and rights == "public"


def test_nothing_readable_fails_the_run(oidb_environment, new_collection, tmp_path):
    collection = new_collection()
    (tmp_path / "a.fits").write_bytes(b"SIMPLE  = nonsense")
    result = run_oidb(oidb_environment, "ingest", str(tmp_path), "--collection", collection)
    assert result.returncode != 0
    assert "no file could be ingested" in result.stderr


def test_an_unknown_collection_is_named(oidb_environment, tmp_path):
    make_oifits(tmp_path / "a.fits")
    result = run_oidb(oidb_environment, "ingest", str(tmp_path), "--collection", "no-such-one")
    assert result.returncode != 0 and "no-such-one" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_new_version_replaces_the_granules_of_the_old_one(
    oidb_environment, new_collection, tmp_path
):
    collection = new_collection()
    make_oifits(tmp_path / "data.fits", targets=("HD 10", "HD 11"))
    run = run_oidb(oidb_environment, "ingest", str(tmp_path), "--collection", collection, "--json")
    assert last_json(run.stdout)["accepted"] == 1
    make_oifits(tmp_path / "data.fits", targets=("HD 12",), seed=5)
    run = run_oidb(oidb_environment, "ingest", str(tmp_path), "--collection", collection, "--json")
    assert last_json(run.stdout)["accepted"] == 1

    url = oidb_environment["OIDB_DATABASE_URL"]
    states = query(
        url,
        "SELECT state FROM oidb.oifits_files WHERE collection_id = %s ORDER BY id",
        collection,
    )
    assert states == [("replaced",), ("accepted",)]
    targets = query(
        url, "SELECT target_name FROM oidb.granules WHERE obs_collection = %s", collection
    )
    assert targets == [("HD 12",)]


# ----------------------------------------------------------------------------------------
# The API


def upload(server, collection: str, account, content: bytes, name: str = "upload.fits"):
    return httpx.post(
        f"{server.service_url}/api/collections/{collection}/files",
        files={"file": (name, content, "application/fits")},
        headers=account.headers if account else {},
        timeout=120,
    )


def test_the_api_accepts_a_file_once_and_reports_it(oidb_server, oidb_accounts, new_collection):
    collection = new_collection()
    admin = oidb_accounts.new(roles=("admin",))
    content = make_oifits(targets=("HD 20", "HD 21"), seed=7)

    first = upload(oidb_server, collection, admin, content)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["state"] == "accepted" and len(answer["granule_ids"]) == 2
    assert answer["report"]["oifits_version"] == 2

    again = upload(oidb_server, collection, admin, content, name="same-bytes.fits")
    assert again.status_code == 200
    assert again.json()["state"] == "unchanged"
    assert again.json()["granule_ids"] == answer["granule_ids"]

    report = httpx.get(f"{oidb_server.service_url}/api/files/{answer['file_id']}")
    assert report.status_code == 200
    assert report.json()["state"] == "accepted" and report.json()["filename"] == "upload.fits"
    assert report.json()["granule_ids"] == answer["granule_ids"]


def test_a_raw_body_needs_a_file_name(oidb_server, oidb_accounts, new_collection):
    collection = new_collection()
    admin = oidb_accounts.new(roles=("admin",))
    url = f"{oidb_server.service_url}/api/collections/{collection}/files"
    content = make_oifits(targets=("HD 30",), seed=8)
    nameless = httpx.post(url, content=content, headers=admin.headers)
    assert nameless.status_code == 400 and nameless.json()["parameter"] == "filename"
    named = httpx.post(url, params={"filename": "raw.fits"}, content=content, headers=admin.headers)
    assert named.status_code == 201 and named.json()["filename"] == "raw.fits"


def test_a_file_that_is_not_oifits_is_refused_with_its_reason_kept(
    oidb_server, oidb_accounts, new_collection
):
    collection = new_collection()
    admin = oidb_accounts.new(roles=("admin",))
    refused = upload(oidb_server, collection, admin, make_oifits(without=("OI_WAVELENGTH",)))
    assert refused.status_code == 400
    answer = refused.json()
    assert answer["state"] == "rejected" and answer["parameter"] == "file"
    assert "OI_WAVELENGTH" in answer["reject_reason"]
    assert any(message["severity"] == "error" for message in answer["report"]["messages"])
    kept = httpx.get(f"{oidb_server.service_url}/api/files/{answer['file_id']}")
    assert kept.json()["state"] == "rejected"
    assert kept.json()["reject_reason"] == answer["reject_reason"]


def test_rights_decide_who_may_upload(oidb_server, oidb_environment, oidb_accounts, new_collection):
    group, group_id = oidb_accounts.group()
    member = oidb_accounts.new(groups=(group,))
    outsider = oidb_accounts.new()
    public = new_collection()
    private = new_collection(private_to=group_id)
    content = make_oifits(seed=9)

    assert upload(oidb_server, public, None, content).status_code == 401
    assert upload(oidb_server, public, outsider, content).status_code == 403
    hidden = upload(oidb_server, private, outsider, content)
    assert hidden.status_code == 404 and private in hidden.json()["detail"]
    # A reader of the private collection still may not write it.
    assert upload(oidb_server, private, member, content).status_code == 403
    assert query(
        oidb_environment["OIDB_DATABASE_URL"],
        "SELECT count(*) FROM oidb.oifits_files WHERE collection_id IN (%s, %s)",
        public, private,
    ) == [(0,)]  # fmt: skip


@pytest.fixture(scope="module")
def small_limit_server(oidb_environment, tmp_path_factory):
    """A second OiDB process accepting files of 20 kB at most."""
    environment = {**oidb_environment, "OIDB_MAX_FILE_BYTES": "20000"}
    environment["OIDB_FILES_DIR"] = str(tmp_path_factory.mktemp("small-limit-files"))
    with running_service("oidb", environment) as server:
        yield server


def test_a_file_over_the_limit_is_refused_while_it_arrives(
    small_limit_server, oidb_accounts, new_collection
):
    collection = new_collection()
    admin = oidb_accounts.new(roles=("admin",))
    large = make_oifits(records=40, nwave=40)
    assert len(large) > 20000
    refused = upload(small_limit_server, collection, admin, large)
    assert refused.status_code == 413 and "20,000" in refused.json()["detail"]
    raw = httpx.post(
        f"{small_limit_server.service_url}/api/collections/{collection}/files",
        params={"filename": "large.fits"},
        content=iter([large[:10000], large[10000:]]),  # chunked: no length announced
        headers=admin.headers,
    )
    assert raw.status_code == 413


# ----------------------------------------------------------------------------------------
# The demo


@pytest.fixture(scope="module")
def demo_environment(new_database, tmp_path_factory) -> dict[str, str]:
    """A database of its own for the demo, without the shared files (generated ones)."""
    url = migrate_platform(new_database("oidb_demo"), *service_names())
    return {
        "OIDB_DATABASE_URL": url,
        "OIDB_ENVIRONMENT": "test",
        "OIDB_FILES_DIR": str(tmp_path_factory.mktemp("demo-files")),
        "JMMC_SHARED_DIR": str(tmp_path_factory.mktemp("no-shared-data")),
    }


def test_the_demo_loads_public_embargoed_and_private_data_once(demo_environment):
    first = run_oidb(demo_environment, "ingest", "--demo", "--json")
    assert first.returncode == 0, first.stderr
    second = run_oidb(demo_environment, "ingest", "--demo", "--json")
    assert second.returncode == 0, second.stderr
    for line in second.stdout.strip().splitlines():
        run = json.loads(line)
        assert run["accepted"] == 0 and run["rejected"] == 0 and run["unchanged"] > 0

    url = demo_environment["OIDB_DATABASE_URL"]
    collections = query(
        url,
        "SELECT c.id, c.coltype, c.private, count(g.id), bool_and(g.data_rights = 'secure'),"
        " bool_and(g.obs_release_date > now())"
        " FROM oidb.collections c JOIN oidb.granules g ON g.obs_collection = c.id"
        " GROUP BY c.id ORDER BY c.id",
    )
    by_id = {row[0]: row[1:] for row in collections}
    assert by_id["demo-public"][:2] == ("public", False)
    assert by_id["demo-pionier"][0] == "pionier" and by_id["demo-pionier"][3:] == (True, True)
    assert by_id["demo-private"][1] is True
    groups = query(
        url,
        "SELECT g.name FROM oidb.collection_groups c JOIN accounts.groups g ON g.id = c.group_id"
        " WHERE c.collection_id = 'demo-private'",
    )
    assert groups == [("oidb-demo",)]


# ----------------------------------------------------------------------------------------
# One file, in process


def test_versions_submitted_at_once_end_with_one_accepted_and_stored_whole(
    oidb_collection, oidb_ingest, oidb_settings, oidb_environment
):
    collection = oidb_collection()
    versions = [make_oifits(targets=(f"HD {100 + seed}",), seed=seed) for seed in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda data: oidb_ingest(collection, "v.fits", data), versions))
    assert {result.state for result in results} == {"accepted"}

    states = query(
        oidb_environment["OIDB_DATABASE_URL"],
        "SELECT state, md5 FROM oidb.oifits_files WHERE collection_id = %s ORDER BY id",
        collection,
    )
    assert [state for state, _ in states] == ["replaced"] * 3 + ["accepted"]
    granules = query(
        oidb_environment["OIDB_DATABASE_URL"],
        "SELECT count(*) FROM oidb.granules WHERE obs_collection = %s",
        collection,
    )
    assert granules == [(1,)]
    for content in versions:
        stored = file_path(oidb_settings, md5_of(content))
        assert stored.read_bytes() == content
        assert not list(stored.parent.glob("*.part"))


def test_a_refused_new_version_leaves_the_accepted_one(oidb_collection, oidb_ingest):
    collection = oidb_collection()
    accepted = oidb_ingest(collection, "kept.fits", make_oifits(seed=11))
    refused = oidb_ingest(collection, "kept.fits", b"not FITS at all")
    assert refused.state == "rejected" and refused.reject_reason
    again = oidb_ingest(collection, "kept.fits", b"not FITS at all")
    assert (again.state, again.file_id) == ("rejected", refused.file_id)
    same = oidb_ingest(collection, "kept.fits", make_oifits(seed=11))
    assert (same.state, same.granule_ids) == ("unchanged", accepted.granule_ids)


def test_a_bad_file_name_is_refused_before_anything_is_written(oidb_collection, oidb_ingest):
    collection = oidb_collection()
    for name, problem in (("", "required"), ("a\nb.fits", "control"), ("x" * 300, "255")):
        with pytest.raises(InvalidParameter) as refused:
            oidb_ingest(collection, name, make_oifits())
        assert refused.value.parameter == "filename" and problem in str(refused.value)

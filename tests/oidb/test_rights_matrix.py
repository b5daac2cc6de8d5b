"""The rights matrix: every caller against every kind of data through every way in.

Callers: anonymous, a member of the collections' group, another signed-in user, an admin.
Data: a public collection; an embargoed granule (PIONIER, observed last week); a released one
(the same, its embargo ended since it was ingested, its stored ``data_rights`` still
``secure``); a private collection. Ways in: the granule page, the JSON API, TAP
(``ivoa.obscore``), DataLink (``#this``), the file and a quick-look.

Each cell states what the caller must get; a cell getting more is a leak, one getting less a
refusal too many. Metadata are visible to all but in a private collection (its group and
admins only); files and quick-looks of an embargoed granule go to its group and admins only,
the others getting 401 (anonymous) or 403 (signed in).
"""

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from astropy.io.votable import parse as parse_votable
from sqlalchemy import update

from oidb.schema.catalogue import Granule
from oidb.services.embargo import datetime_to_mjd

from .oifits_factory import make_oifits

CALLERS = ("anonymous", "member", "other", "admin")
DATA = ("public", "embargoed", "released", "private")


def visible(caller: str, data: str) -> bool:
    return data != "private" or caller in ("member", "admin")


def file_status(caller: str, data: str) -> int:
    if not visible(caller, data):
        return 404
    if data == "embargoed" and caller not in ("member", "admin"):
        return 401 if caller == "anonymous" else 403
    return 200


@dataclass(frozen=True)
class Matrix:
    granules: dict[str, int]
    headers: dict[str, dict[str, str]]


def _mjd_days_ago(days: float) -> float:
    return datetime_to_mjd(datetime.now(UTC) - timedelta(days=days))


@pytest.fixture(scope="module")
def matrix(oidb_accounts, oidb_collection, oidb_ingest, oidb_service_database) -> Matrix:
    group, group_id = oidb_accounts.group()
    collections = {
        "public": oidb_collection("public"),
        "embargoed": oidb_collection("pionier", groups=(group_id,)),
        "released": oidb_collection("pionier", groups=(group_id,)),
        "private": oidb_collection("public", private=True, groups=(group_id,)),
    }
    granules = {}
    for seed, (data, collection) in enumerate(collections.items(), start=10):
        content = make_oifits(targets=(f"MATRIX {data}",), first_mjd=_mjd_days_ago(7), seed=seed)
        result = oidb_ingest(collection, f"{data}.fits", content)
        assert result.state == "accepted", result.reject_reason
        granules[data] = result.granule_ids[0]
    with oidb_service_database.session() as session:
        session.execute(
            update(Granule)
            .where(Granule.id == granules["released"])
            .values(obs_release_date=datetime.now(UTC) - timedelta(days=1))
        )
    accounts = {
        "member": oidb_accounts.new(groups=(group,)),
        "other": oidb_accounts.new(roles=("submitter",)),
        "admin": oidb_accounts.new(roles=("admin",)),
    }
    headers = {"anonymous": {}} | {name: account.headers for name, account in accounts.items()}
    return Matrix(granules, headers)


def test_the_data_are_as_the_matrix_needs(matrix, oidb_service_database):
    with oidb_service_database.session() as session:
        rights = {
            data: session.get(Granule, granule_id).data_rights
            for data, granule_id in matrix.granules.items()
        }
    stored = {"public": "public", "embargoed": "secure", "released": "secure", "private": "public"}
    assert rights == stored


CELLS = [(caller, data) for caller in CALLERS for data in DATA]


@pytest.mark.parametrize(("caller", "data"), CELLS)
def test_page(oidb_server, matrix, caller, data):
    granule = matrix.granules[data]
    page = httpx.get(
        f"{oidb_server.service_url}/granules/{granule}", headers=matrix.headers[caller]
    )
    assert page.status_code == (200 if visible(caller, data) else 404)
    assert (f"MATRIX {data}" in page.text) == visible(caller, data)


@pytest.mark.parametrize(("caller", "data"), CELLS)
def test_api(oidb_server, matrix, caller, data):
    granule = matrix.granules[data]
    one = httpx.get(
        f"{oidb_server.service_url}/api/granules/{granule}", headers=matrix.headers[caller]
    )
    assert one.status_code == (200 if visible(caller, data) else 404)
    found = httpx.get(
        f"{oidb_server.service_url}/api/granules",
        params={"target": f"MATRIX {data}"},
        headers=matrix.headers[caller],
    )
    assert found.status_code == 200
    assert (f"MATRIX {data}" in found.text) == visible(caller, data)


@pytest.mark.parametrize(("caller", "data"), CELLS)
def test_tap(oidb_tap, matrix, caller, data):
    granule = matrix.granules[data]
    answer = httpx.post(
        f"{oidb_tap.tap_url}/sync",
        data={"LANG": "ADQL", "FORMAT": "votable",
              "QUERY": f"SELECT id, target_name FROM ivoa.obscore WHERE id = {granule}"},
        headers=matrix.headers[caller],
        timeout=60,
    )  # fmt: skip
    assert answer.status_code == 200
    rows = parse_votable(io.BytesIO(answer.content)).get_first_table().array
    expected = visible(caller, data)
    assert len(rows) == (1 if expected else 0)


@pytest.mark.parametrize(("caller", "data"), CELLS)
def test_datalink(oidb_server, matrix, caller, data):
    granule = matrix.granules[data]
    answer = httpx.get(
        f"{oidb_server.service_url}/datalink",
        params={"ID": f"ivo://jmmc.fr/oidb?{granule}"},
        headers=matrix.headers[caller],
    )
    assert answer.status_code == 200
    rows = parse_votable(io.BytesIO(answer.content)).get_first_table().to_table()
    this = [row for row in rows if row["semantics"] == "#this"]
    assert len(this) == 1
    expected = file_status(caller, data)
    fault = str(this[0]["error_message"] or "")
    if expected == 200:
        assert fault == "" and str(this[0]["access_url"]).endswith(".fits")
    else:
        prefix = {401: "AuthenticationFault", 403: "AuthorizationFault", 404: "NotFoundFault"}
        assert fault.startswith(prefix[expected])
        assert not str(this[0]["access_url"] or "")
    if not visible(caller, data):
        assert all(not str(row["access_url"] or "") for row in rows)
        assert f"MATRIX {data}" not in answer.text


@pytest.mark.parametrize(("caller", "data"), CELLS)
def test_file(oidb_server, matrix, caller, data):
    granule = matrix.granules[data]
    answer = httpx.get(f"{oidb_server.service_url}/files/{granule}", headers=matrix.headers[caller])
    assert answer.status_code == file_status(caller, data)
    assert answer.content.startswith(b"SIMPLE") == (file_status(caller, data) == 200)


@pytest.mark.parametrize(("caller", "data"), CELLS)
def test_preview(oidb_server, matrix, caller, data):
    granule = matrix.granules[data]
    answer = httpx.get(
        f"{oidb_server.service_url}/previews/{granule}/vis2.png",
        headers=matrix.headers[caller],
        timeout=60,
    )
    assert answer.status_code == file_status(caller, data)
    assert answer.content.startswith(b"\x89PNG") == (file_status(caller, data) == 200)

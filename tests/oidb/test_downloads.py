"""Downloads of OIFITS files: the stored bytes with their type, size, name and MD5, refused
while the caller may not have them."""

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from oidb.schema.catalogue import Granule

from .oifits_factory import make_oifits


@pytest.fixture(scope="module")
def group(oidb_accounts) -> tuple[str, int]:
    return oidb_accounts.group()


@pytest.fixture(scope="module")
def files(oidb_collection, oidb_ingest, group):
    public = make_oifits(targets=("HD 11", "HD 12"), seed=11)
    private = make_oifits(targets=("HD 13",), seed=12)
    collection = oidb_collection("public")
    hidden = oidb_collection("public", private=True, groups=(group[1],))
    return {
        "public": (public, oidb_ingest(collection, "public file.fits", public).granule_ids),
        "private": (private, oidb_ingest(hidden, "private.fits", private).granule_ids),
    }


def test_a_public_file_downloads_with_its_type_size_name_and_md5(oidb_server, files):
    content, (granule, _) = files["public"]
    response = httpx.get(f"{oidb_server.service_url}/files/{granule}")
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"] == "application/fits"
    assert int(response.headers["content-length"]) == len(content)
    disposition = response.headers["content-disposition"]
    assert 'filename="public file.fits"' in disposition and "''public%20file.fits" in disposition
    assert response.headers["etag"] == f'"{hashlib.md5(content).hexdigest()}"'
    named = httpx.get(f"{oidb_server.service_url}/files/{granule}/public%20file.fits")
    assert named.status_code == 200 and named.content == content
    head = httpx.head(f"{oidb_server.service_url}/files/{granule}")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(content)


@pytest.mark.parametrize(
    ("path", "status", "parameter"),
    [
        ("/files/999999999", 404, None),
        ("/files/{granule}/another-name.fits", 404, None),
        ("/files/abc", 400, "granule_id"),
        ("/files/99999999999999999999", 400, "granule_id"),
        ("/files/0", 400, "granule_id"),
    ],
)
def test_an_unknown_file_is_a_json_error(oidb_server, files, path, status, parameter):
    _, (granule, _) = files["public"]
    response = httpx.get(oidb_server.service_url + path.format(granule=granule))
    assert response.status_code == status
    assert response.json().get("parameter") == parameter


def test_a_private_file_is_unknown_outside_its_groups(oidb_server, oidb_accounts, files, group):
    content, (granule,) = files["private"]
    url = f"{oidb_server.service_url}/files/{granule}"
    assert httpx.get(url).status_code == 404
    assert httpx.get(url, headers=oidb_accounts.new().headers).status_code == 404
    member = oidb_accounts.new(groups=(group[0],))
    assert httpx.get(url, headers=member.headers).content == content


def test_a_file_opens_only_when_every_granule_of_it_may(
    oidb_server, oidb_collection, oidb_ingest, oidb_service_database, oidb_accounts
):
    content = make_oifits(targets=("HD 14", "HD 15"), seed=13)
    released, embargoed = oidb_ingest(oidb_collection(), "mixed.fits", content).granule_ids
    with oidb_service_database.session() as session:
        session.execute(
            update(Granule)
            .where(Granule.id == embargoed)
            .values(data_rights="secure", obs_release_date=datetime.now(UTC) + timedelta(days=9))
        )
    url = f"{oidb_server.service_url}/files/{released}"
    refused = httpx.get(url)
    assert refused.status_code == 401 and refused.headers["www-authenticate"]
    assert httpx.get(url, headers=oidb_accounts.new().headers).status_code == 403
    admin = oidb_accounts.new(roles=("admin",))
    assert httpx.get(url, headers=admin.headers).content == content

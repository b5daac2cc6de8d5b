"""The collections API: who may create, change and see a collection, and what bad input gets."""

import httpx
import pytest


@pytest.fixture(scope="module")
def api(oidb_server) -> str:
    return f"{oidb_server.service_url}/api/collections"


@pytest.fixture(scope="module")
def submitter(oidb_accounts):
    return oidb_accounts.new(roles=("submitter",))


def create(api: str, account, **fields) -> httpx.Response:
    body = {"id": fields.pop("id", None) or account.username + "-col", "title": "A title", **fields}
    return httpx.post(api, json=body, headers=account.headers)


def ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200
    return {collection["id"] for collection in response.json()}


def test_a_submitter_creates_and_owns_a_collection(api, submitter):
    created = create(api, submitter, id=f"{submitter.username}-pionier", coltype="pionier")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["owner"] == submitter.username
    assert (body["coltype"], body["private"], body["granules"], body["groups"]) == (
        "pionier",
        False,
        0,
        [],
    )
    assert body["id"] in ids(httpx.get(api))
    assert httpx.get(f"{api}/{body['id']}").json()["title"] == "A title"


def test_only_submitters_and_admins_create(api, oidb_accounts):
    assert create(api, oidb_accounts.new()).status_code == 403
    assert httpx.post(api, json={"id": "anonymous-col", "title": "t"}).status_code == 401
    assert create(api, oidb_accounts.new(roles=("admin",))).status_code == 201


@pytest.mark.parametrize(
    ("fields", "parameter"),
    [
        ({"id": "Upper Case"}, "id"),
        ({"id": "x" * 65}, "id"),
        ({"coltype": "secret"}, "coltype"),
        ({"title": ""}, "title"),
        ({"release_date": "tomorrow"}, "release_date"),
        ({"owner_id": 1}, "owner_id"),
    ],
)
def test_bad_fields_are_refused_by_name(api, submitter, fields, parameter):
    refused = create(api, submitter, **fields)
    assert refused.status_code == 400
    assert parameter in refused.json()["detail"]


def test_an_id_is_taken_once(api, submitter, oidb_accounts):
    assert create(api, submitter, id=f"{submitter.username}-twice").status_code == 201
    again = create(api, oidb_accounts.new(roles=("submitter",)), id=f"{submitter.username}-twice")
    assert again.status_code == 409


def test_a_private_collection_is_seen_by_its_owner_groups_and_admins_only(api, oidb_accounts):
    group, _ = oidb_accounts.group()
    owner = oidb_accounts.new(roles=("submitter",))
    member = oidb_accounts.new(groups=(group,))
    other = oidb_accounts.new(roles=("submitter",))
    admin = oidb_accounts.new(roles=("admin",))
    collection = f"{owner.username}-private"
    assert create(api, owner, id=collection, private=True).status_code == 201
    url = f"{api}/{collection}"

    assert httpx.get(url, headers=member.headers).status_code == 404
    granted = httpx.put(f"{url}/groups", json={"groups": [{"group": group}]}, headers=owner.headers)
    assert granted.status_code == 200
    assert granted.json()["groups"] == [{"group": group, "can_write": False}]

    for reader in (owner, member, admin):
        assert collection in ids(httpx.get(api, headers=reader.headers))
        assert httpx.get(url, headers=reader.headers).status_code == 200
    assert collection not in ids(httpx.get(api))
    assert collection not in ids(httpx.get(api, headers=other.headers))
    assert httpx.get(url).status_code == 404
    assert httpx.get(url, headers=other.headers).status_code == 404
    # Invisible means unknown, for changes too.
    assert httpx.patch(url, json={"title": "x"}, headers=other.headers).status_code == 404


def test_only_the_owner_and_admins_change_a_collection(api, submitter, oidb_accounts):
    collection = f"{submitter.username}-changes"
    assert create(api, submitter, id=collection).status_code == 201
    url = f"{api}/{collection}"
    assert httpx.patch(url, json={"title": "t"}).status_code == 401
    stranger = oidb_accounts.new(roles=("submitter",))
    assert httpx.patch(url, json={"title": "t"}, headers=stranger.headers).status_code == 403
    assert (
        httpx.put(f"{url}/groups", json={"groups": []}, headers=stranger.headers).status_code == 403
    )
    changed = httpx.patch(url, json={"title": "New", "coltype": "eso"}, headers=submitter.headers)
    assert changed.status_code == 200
    assert (changed.json()["title"], changed.json()["coltype"]) == ("New", "eso")
    admin = oidb_accounts.new(roles=("admin",))
    assert httpx.patch(url, json={"datapi": "Someone"}, headers=admin.headers).status_code == 200
    assert httpx.get(url).json()["datapi"] == "Someone"


@pytest.mark.parametrize(
    ("change", "parameter"),
    [({"title": None}, "title"), ({"coltype": "none"}, "coltype"), ({"colour": "red"}, "colour")],
)
def test_bad_changes_are_refused_by_name(api, submitter, change, parameter):
    collection = f"{submitter.username}-col"
    create(api, submitter, id=collection)
    refused = httpx.patch(f"{api}/{collection}", json=change, headers=submitter.headers)
    assert refused.status_code == 400
    assert parameter in refused.json()["detail"]


def test_unknown_groups_are_named(api, submitter):
    collection = f"{submitter.username}-groups"
    create(api, submitter, id=collection)
    refused = httpx.put(
        f"{api}/{collection}/groups",
        json={"groups": [{"group": "no-such-group-anywhere"}]},
        headers=submitter.headers,
    )
    assert refused.status_code == 400
    assert refused.json()["parameter"] == "groups"
    assert "no-such-group-anywhere" in refused.json()["detail"]


def test_an_unknown_collection_is_404(api):
    assert httpx.get(f"{api}/no-such-collection").status_code == 404
    assert httpx.get(f"{api}/{'x' * 100}").status_code == 400

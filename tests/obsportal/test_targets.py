"""Target identification: ``obsportal resolve-targets`` attaches SIMBAD's identifier and
position (recorded answers offline, a loopback Sesame online), a search by any spelling finds
every exposure of the star, and a name can be resolved into a cone (API, VOTable, web form).
"""

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from astropy.io.votable import parse_single_table

from jmmc_devtools.pgcluster import free_port

from ..sesame_replay import SIMBAD_RECORDINGS, sesame_replay
from . import catalogue_factory
from .conftest import connect, migrated_database, running_service

OBSPORTAL = str(Path(sys.executable).parent / "obsportal")
#: Two exposures per target; HD 58647 under two spellings, about where SIMBAD puts it.
TARGETS = {
    1: ("HD_58647", 111.48300, -14.17900),
    2: ("HD58647", 111.48380, -14.17870),
    3: ("DelSco", 240.08348, -22.62180),
    4: ("HD 100007", 10.0, 10.0),
    5: ("HD 100014", 20.0, 10.0),
}


@pytest.fixture(scope="module")
def database(new_database) -> str:
    url = migrated_database(new_database, "targets")
    positions = catalogue_factory.uniform_positions(2 * len(TARGETS), random.Random(3))
    rows = list(catalogue_factory.synthetic_rows(positions, exposures_per_target=2))
    for row in rows:
        row["target_name"], row["target_ra"], row["target_dec"] = TARGETS[row["target_id"]]
    with connect(url) as connection:
        catalogue_factory.load(connection, rows)
        connection.commit()
    return url


def resolve_targets(database: str, **settings: str) -> list[str]:
    environment = {
        "PATH": "/usr/bin:/bin",
        "OBSPORTAL_DATABASE_URL": database,
        "OBSPORTAL_RESOLVER_RECORDINGS": str(SIMBAD_RECORDINGS),
        **settings,
    }
    result = subprocess.run(
        [OBSPORTAL, "resolve-targets"], env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def targets(database: str) -> dict[str, tuple]:
    with connect(database) as connection:
        rows = connection.execute(
            "SELECT name, resolution, identifier, identifier_ra, identifier_dec"
            " FROM obsportal.targets"
        )
        return {name: tuple(rest) for name, *rest in rows}


@pytest.fixture(scope="module")
def resolved_database(database) -> str:
    """Targets resolved offline then, for what was left, online: what each run said."""
    offline = resolve_targets(database)
    assert offline == [
        "not checked: HD 100007: resolver offline",
        "not checked: HD 100014: resolver offline",
        "targets resolved: 2 found, 1 unknown to SIMBAD, 2 not checked",
    ]
    assert targets(database)["HD 100007"][0] is None  # left for a later run
    assert resolve_targets(database)[-1] == (
        "targets resolved: 0 found, 0 unknown to SIMBAD, 2 not checked"
    )
    unreachable = resolve_targets(
        database,
        OBSPORTAL_RESOLVER_OFFLINE="false",
        OBSPORTAL_RESOLVER_URL=f"http://127.0.0.1:{free_port()}/sesame",
    )
    assert unreachable == [  # the first target that waited in vain stops the run
        "not checked: HD 100007: the name resolver did not answer",
        "not checked: HD 100014: the name resolver did not answer",
        "targets resolved: 0 found, 0 unknown to SIMBAD, 2 not checked",
    ]
    with sesame_replay() as url:
        online = resolve_targets(
            database, OBSPORTAL_RESOLVER_OFFLINE="false", OBSPORTAL_RESOLVER_URL=url
        )
    assert online == ["targets resolved: 0 found, 2 unknown to SIMBAD, 0 not checked"]
    return database


@pytest.fixture(scope="module")
def service(resolved_database) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(os.environ, "OBSPORTAL_RESOLVER_RECORDINGS", str(SIMBAD_RECORDINGS))
        with running_service(resolved_database) as server:
            yield f"{server.url}/obsportal"


def test_targets_get_simbad_identifier_and_position(resolved_database):
    resolved = targets(resolved_database)
    for spelling in ("HD_58647", "HD58647"):
        status, identifier, ra, dec = resolved[spelling]
        assert (status, identifier) == ("found", "HD 58647")
        assert (ra, dec) == pytest.approx((111.48374, -14.17876), abs=1e-5)
    assert resolved["DelSco"] == ("not_found", None, None, None)
    assert resolved["HD 100007"][:2] == ("not_found", None)


def search_targets(service: str, **parameters: str) -> set[str]:
    response = httpx.get(
        f"{service}/search.votable", params={**parameters, "all_fields": "true"}, timeout=30
    )
    assert response.status_code == 200, response.text
    table = parse_single_table(BytesIO(response.content)).to_table()
    return set(table["target_name"])


@pytest.mark.parametrize("spelling", ["HD 58647", "HD58647", "hd 58647", "HD_58647", "58647"])
def test_any_spelling_finds_every_exposure_of_the_star(service, spelling):
    assert search_targets(service, target=spelling) == {"HD_58647", "HD58647"}


def test_a_name_resolved_into_a_cone(service):
    assert search_targets(service, resolve="hd 58647") == {"HD_58647", "HD58647"}
    response = httpx.get(f"{service}/api/exposures", params={"resolve": "HD 58647"})
    assert response.status_code == 200
    assert {row["target_name"] for row in response.json()["items"]} == {"HD_58647", "HD58647"}
    # 1 arcsecond around SIMBAD's position: the first spelling's pointing is 2.7" off.
    assert search_targets(service, resolve="HD 58647", radius="1") == {"HD58647"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("DelSco", "resolve: 'DelSco' is unknown to SIMBAD"),
        ("HD 424242", "resolve: 'HD 424242' could not be resolved: resolver offline"),
    ],
)
def test_a_name_that_does_not_resolve_is_refused_naming_it(service, name, message):
    response = httpx.get(f"{service}/search.votable", params={"resolve": name})
    assert response.status_code == 400
    assert message.encode() in response.content
    response = httpx.get(f"{service}/api/exposures", params={"resolve": name})
    assert (response.status_code, response.json()["detail"]) == (400, message)


def test_the_web_search_box_resolves_a_name(service):
    page = httpx.get(f"{service}/search", params={"q": "hd 58647", "resolve": "1"})
    assert page.status_code == 200
    assert "HD_58647" in page.text and "HD58647" in page.text
    assert "DelSco" not in page.text
    refused = httpx.get(f"{service}/search", params={"q": "DelSco", "resolve": "1"})
    assert refused.status_code == 400
    assert "unknown to SIMBAD" in refused.text


def test_targets_show_what_simbad_said(service):
    listing = httpx.get(f"{service}/api/targets", params={"name": "hd 58647"}).json()
    found = {item["name"]: item for item in listing["items"]}
    assert set(found) == {"HD_58647", "HD58647"}
    assert {item["identifier"] for item in found.values()} == {"HD 58647"}
    assert found["HD_58647"]["identifier_ra"] == pytest.approx(111.48374, abs=1e-5)
    page = httpx.get(f"{service}/target/{found['HD_58647']['id']}")
    assert "SIMBAD: HD 58647, RA 111.483744°" in page.text
    unknown = httpx.get(f"{service}/api/targets", params={"name": "delsco"}).json()["items"]
    assert [(item["name"], item["resolution"]) for item in unknown] == [("DelSco", "not_found")]

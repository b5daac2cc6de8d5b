"""``conesearch`` around a star name: the platform's resolver gives SIMBAD's position (here
from its cache, as a previous answer left it), and a name it cannot place is refused."""

import httpx
import pytest
from sqlalchemy import insert

from jmmc_core.database import Database
from jmmc_core.name_resolver import normalised
from oidb.schema import NameResolution


@pytest.fixture(scope="module")
def star(oidb_settings, search_catalogue) -> str:
    """A star name SIMBAD placed (a previous answer in the cache) on the catalogue's alpha."""
    name, unknown = search_catalogue.target("star"), search_catalogue.target("nostar")
    database = Database(oidb_settings)
    try:
        with database.session() as session:
            session.execute(
                insert(NameResolution),
                [
                    dict(
                        name=normalised(name),
                        found=True,
                        identifier=name,
                        ra=10.0,
                        dec=-20.0,
                        source="simbad",
                    ),
                    dict(name=normalised(unknown), found=False, source="simbad"),
                ],
            )
    finally:
        database.dispose()
    return name


def test_a_cone_around_a_star_name(oidb_server, search_catalogue, star):
    url = f"{oidb_server.service_url}/api/granules"
    parameters = {"target": search_catalogue.tag, "conesearch": f"{star.lower()},J2000,10,arcsec"}
    response = httpx.get(url, params=parameters)
    assert response.status_code == 200, response.text
    assert sorted(search_catalogue.names(response.json()["items"])) == ["alpha", "alpha-raw"]
    votable = httpx.get(f"{oidb_server.service_url}/search.votable", params=parameters)
    assert votable.status_code == 200
    assert votable.text.count("<TR>") == 2


@pytest.mark.parametrize(
    ("position", "reason"),
    [("nostar", "is unknown to SIMBAD"), ("elsewhere", "could not be resolved: resolver offline")],
)
def test_a_name_that_does_not_resolve_is_refused(oidb_server, search_catalogue, position, reason):
    name = search_catalogue.target(position)
    response = httpx.get(
        f"{oidb_server.service_url}/api/granules", params={"conesearch": f"{name},J2000,1,deg"}
    )
    assert response.status_code == 400
    assert (response.json()["parameter"], response.json()["detail"]) == (
        "conesearch",
        f"conesearch: {name!r} {reason}",
    )

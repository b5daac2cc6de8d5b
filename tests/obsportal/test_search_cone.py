"""The pg_sphere cone search against a brute-force angular distance, on 300,000 exposures.

Positions are uniform on the sphere plus dense patches across RA 0/360 and around both
poles, where a naive RA/Dec box goes wrong. Every cone's answer must equal the set of
exposures whose great-circle distance is within the radius (points within 1e-7 degree of
the edge, where float rounding decides, are left out of the comparison).
"""

import random
from itertools import islice

import httpx
import numpy as np
import pytest
from sqlalchemy import create_engine

from obsportal.storage.search import COLUMNS, Cone, SearchCriteria, fetch_all, select_exposures

from . import catalogue_factory
from .conftest import connect, migrated_database, running_service

ROWS = 300_000
EDGE = 1e-7  # degrees


def _patches(rand: random.Random, count: int):
    """Dense positions across RA 0/360 near the equator and near both poles."""
    for _ in range(count):
        kind = rand.randrange(3)
        if kind == 0:
            yield (rand.uniform(-0.2, 0.2) % 360.0, rand.uniform(-0.2, 0.2))
        elif kind == 1:
            yield (rand.uniform(0.0, 360.0), rand.uniform(89.0, 90.0))
        else:
            yield (rand.uniform(0.0, 360.0), rand.uniform(-90.0, -89.0))


@pytest.fixture(scope="module")
def cone_catalogue(new_database):
    url = migrated_database(new_database, "search_cone")
    rand = random.Random(20261124)
    patches = 30_000
    positions = [*islice(catalogue_factory.uniform_positions(ROWS, rand), ROWS - patches)]
    positions += _patches(rand, patches)
    with connect(url) as connection:
        catalogue_factory.load(
            connection, catalogue_factory.synthetic_rows(positions, exposures_per_target=1)
        )
        stored = connection.execute(
            "SELECT exp_id, target_ra, target_dec FROM obsportal.exposures"
        ).fetchall()
    engine = create_engine(
        url, connect_args={"options": "-c search_path=obsportal,public"}, pool_size=2
    )
    ids = np.array([row[0] for row in stored])
    ra = np.radians(np.array([row[1] for row in stored]))
    dec = np.radians(np.array([row[2] for row in stored]))
    yield url, engine, ids, ra, dec
    engine.dispose()


def _distances(ra, dec, cone: Cone) -> np.ndarray:
    """Great-circle distances in degrees (haversine, accurate for small angles)."""
    ra0, dec0 = np.radians(cone.ra), np.radians(cone.dec)
    haversine = (
        np.sin((dec - dec0) / 2) ** 2 + np.cos(dec) * np.cos(dec0) * np.sin((ra - ra0) / 2) ** 2
    )
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(haversine, 0.0, 1.0))))


def _cones() -> list[Cone]:
    cones = [
        Cone(0.0, 0.0, 0.05),
        Cone(359.99, 0.01, 0.08),
        Cone(0.01, -0.02, 0.15),
        Cone(360.0, 0.1, 0.1),
        Cone(0.0, 90.0, 0.3),
        Cone(123.0, 89.8, 0.5),
        Cone(300.0, 89.95, 0.1),
        Cone(0.0, -90.0, 0.2),
        Cone(200.0, -89.7, 0.4),
        Cone(45.0, -89.99, 0.02),
        Cone(180.0, 30.0, 5.0),
    ]
    rand = random.Random(5)
    for _ in range(20):
        for radius in (30 / 3600, 10 / 60):
            ra, dec = next(catalogue_factory.uniform_positions(1, rand))
            cones.append(Cone(ra, dec, radius))
    return cones


def test_cones_equal_brute_force_across_ra_wrap_and_poles(cone_catalogue):
    _, engine, ids, ra, dec = cone_catalogue
    assert len(ids) == ROWS
    found_total = 0
    for cone in _cones():
        distances = _distances(ra, dec, cone)
        rows = fetch_all(engine, select_exposures([COLUMNS["exp_id"]], SearchCriteria(cone=cone)))
        found = {row[0] for row in rows}
        ambiguous = set(ids[np.abs(distances - cone.radius) < EDGE])
        expected = set(ids[distances <= cone.radius])
        assert found - ambiguous == expected - ambiguous, cone
        found_total += len(found)
    assert found_total > 10_000  # the patches make the wrap and pole cones crowded


def test_plan_uses_the_gist_index(cone_catalogue):
    _, engine, *_ = cone_catalogue
    for radius in (30 / 3600, 10 / 60):
        criteria = SearchCriteria(cone=Cone(10.0, -20.0, radius))
        query = select_exposures([COLUMNS["exp_id"]], criteria)
        plan = fetch_all(engine, type(query)(f"EXPLAIN {query.sql}", query.parameters))
        text = "\n".join(row[0] for row in plan)
        assert "ix_exposures_position" in text, text


def test_http_cone_matches_brute_force(cone_catalogue):
    url, _, ids, ra, dec = cone_catalogue
    cone = Cone(359.995, 0.0, 0.1)
    expected = set(ids[_distances(ra, dec, cone) <= cone.radius])
    with running_service(url) as service:
        response = httpx.get(
            f"{service.url}/obsportal/scs",
            params={"RA": cone.ra, "DEC": cone.dec, "SR": cone.radius, "VERB": 1},
        )
    assert response.status_code == 200
    found = set(
        line.split("<TD>")[1].split("</TD>")[0]
        for line in response.text.splitlines()
        if line.startswith("<TR>")
    )
    assert found == expected and len(found) > 10

"""ASPRO2's request against the demo data (``obsportal ingest --demo``), as ``make up`` loads it."""

import ast
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import httpx
import pytest

from .catalogue_factory import GOLDEN
from .conftest import connect, running_service

BASELINE_VALUE = re.compile(r"^-?\d+\.\d{4}$")


def _fields(document: bytes) -> list[tuple]:
    return [
        (f.get("name"), f.get("datatype"), f.get("arraysize"), f.get("ucd"))
        for f in ElementTree.fromstring(document).iter()
        if f.tag.endswith("FIELD")
    ]


@pytest.fixture(scope="module")
def demo_service(new_database):
    url = new_database("search_demo")
    environment = {
        **os.environ,
        "OBSPORTAL_DATABASE_URL": url,
        "OBSPORTAL_ENVIRONMENT": "test",
        "OBSPORTAL_LOG_LEVEL": "WARNING",
    }
    command = str(Path(sys.executable).parent / "obsportal")
    for job in (["migrate"], ["ingest", "--demo"]):
        subprocess.run([command, *job], env=environment, check=True, capture_output=True)
    with connect(url) as connection:
        gravity = connection.execute(
            "SELECT target_ra, target_dec FROM obsportal.exposures"
            " WHERE instrument_name = 'GRAVITY' AND projected_baselines <> '{}'"
            " ORDER BY exp_id LIMIT 1"
        ).fetchone()
    with running_service(url) as server:
        yield server.url, gravity


def test_aspro2_request_on_demo_data_is_structured_like_the_original(demo_service):
    service, (ra, dec) = demo_service
    response = httpx.post(
        f"{service}/obsportal/search.votable",
        data={"ra": repr(ra), "dec": repr(dec), "radius": "30.0", "all_fields": "false"},
    )
    assert response.status_code == 200
    assert _fields(response.content) == _fields((GOLDEN / "search.votable.xml").read_bytes())
    root = ElementTree.fromstring(response.content)
    assert [e for e in root.iter() if e.tag.endswith("TABLEDATA")]
    rows = [[td.text or "" for td in tr] for tr in root.iter() if tr.tag.endswith("TR")]
    assert rows
    names = [field[0] for field in _fields(response.content)]
    for row in rows:
        record = dict(zip(names, row, strict=True))
        assert record["exp_id"] and record["obs_type"] in ("science", "calibrator")
        baselines = ast.literal_eval(record["exp_projected_baselines"])
        for baseline in baselines.values():
            for part in ("length", "angle"):
                for value in baseline[part].values():
                    assert value is None or BASELINE_VALUE.match(value), value


def test_all_fields_on_demo_data(demo_service):
    service, _ = demo_service
    response = httpx.get(
        f"{service}/obsportal/search.votable",
        params={"interferometer": "VLTI", "all_fields": "true", "date_updated_from": "2000-01-01"},
    )
    golden = (GOLDEN / "obsportal-dev-spica.votable.xml").read_bytes()
    assert _fields(response.content) == _fields(golden)
    assert response.content.count(b"<TR>") > 100

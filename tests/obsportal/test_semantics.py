"""The original's meaning where users see it: validation level, row order, missing doubles, numbers
as measured, and demo exposures on the stations their instrument can use."""

import csv
import io
import math
import re
import xml.etree.ElementTree as ElementTree
from collections import Counter

import pytest
from alembic import command
from fastapi.testclient import TestClient

from jmmc_core.migrations import alembic_config
from obsportal.cli import MIGRATIONS
from obsportal.main import create_app
from obsportal.services.ingestion.run import ingest
from obsportal.services.ingestion.sources import DirectorySource
from obsportal.services.ingestion.synthetic import STATION_POSITIONS, SyntheticSource
from obsportal.storage.ingestion import connect

from .ingestion_support import REAL_HEADERS, fresh_settings, query

#: Binary floating-point noise as Python prints it: 0.41500000000000004, 1.4249999999999998.
FLOAT_NOISE = re.compile(r"\.\d*(?:000000|999999)\d*[1-9]")
BEFORE_THIS_MEANING = "7e4c2a9d1b63"
VLTI_STATION = re.compile(r"U[1-4]|[A-M][0-9]")
BASELINE = re.compile(r"'(\w\d)-(\w\d)': \{'length': \{'start': '([\d.]+)'")
#: The real AMBER headers of the shared data (their stations are the archive's own).
REAL_AMBER = ("AMBER.2010-04-15T07:12:11.258", "AMBER.2013-04-15T01:49:24.803")


@pytest.fixture(scope="module")
def catalogue(new_database):
    """A catalogue ingested from synthetic and real headers, and a client of its service."""
    settings = fresh_settings(new_database, "semantics")
    for source in (SyntheticSource(600, seed=7), DirectorySource(REAL_HEADERS)):
        assert ingest(settings, source, workers=1).status == "succeeded"
    with TestClient(create_app(settings)) as client:
        yield settings, client


def _votable_rows(document: bytes) -> list[dict[str, str]]:
    root = ElementTree.fromstring(document)
    names = [e.get("name") for e in root.iter() if e.tag.endswith("FIELD")]
    rows = [[td.text or "" for td in tr] for tr in root.iter() if tr.tag.endswith("TR")]
    return [dict(zip(names, row, strict=True)) for row in rows]


def _search(client, **parameters) -> list[dict[str, str]]:
    response = client.get("/obsportal/search.votable", params=parameters)
    assert response.status_code == 200
    return _votable_rows(response.content)


def test_validation_level_is_one_when_complete_zero_when_keys_are_missing(catalogue):
    _, client = catalogue
    rows = _search(client, all_fields="true")
    levels = Counter(
        (row["exp_validation_level"], row["exp_validation_log"] == "[]") for row in rows
    )
    assert set(levels) == {("1", True), ("0", False)}
    assert levels["0", False] >= 3  # weather station down, invalid seeing, a late MJD-OBS
    # The API documents what the level means, and TAP's description says the same.
    schema = client.get("/obsportal/openapi.json").json()["components"]["schemas"]
    described = schema["ExposureSummary"]["properties"]["validation_level"]["description"]
    assert described.startswith("Completeness of the exposure's metadata")
    assert "1 every expected header keyword was present" in described
    votable = client.get("/obsportal/search.votable", params={"instrument": "MIDI"}).content
    field = next(
        element
        for element in ElementTree.fromstring(votable).iter()
        if element.tag.endswith("FIELD") and element.get("name") == "exp_validation_level"
    )
    assert [child.text for child in field if child.tag.endswith("DESCRIPTION")] == [described]


def test_rows_come_oldest_first_in_every_format(catalogue):
    _, client = catalogue
    short = _search(client, instrument="GRAVITY")
    full = _search(client, instrument="GRAVITY", all_fields="true")
    ids = [row["exp_id"] for row in full]
    assert len(ids) > 20
    assert [row["exp_id"] for row in short] == ids
    starts = [float(row["exp_mjd_start"]) for row in full]
    assert starts == sorted(starts)
    exported = client.get("/obsportal/export.csv", params={"instrument": "GRAVITY"})
    assert [row["exp_id"] for row in csv.DictReader(io.StringIO(exported.text))] == ids
    listed = client.get("/obsportal/api/exposures", params={"instrument": "GRAVITY"}).json()
    assert [item["exp_id"] for item in listed["items"]] == ids[: len(listed["items"])]
    # The cone search around one demo target, against search.votable's same cone.
    first = full[0]
    cone = {"RA": first["target_ra"], "DEC": first["target_dec"], "SR": "0.001", "VERB": "3"}
    scs = _votable_rows(client.get("/obsportal/scs", params=cone).content)
    around = _search(client, ra=cone["RA"], dec=cone["DEC"], radius="3.6", all_fields="true")
    assert [row["exp_id"] for row in scs] == [row["exp_id"] for row in around]
    assert len(scs) > 1


def test_missing_doubles_are_nan_in_votables_and_empty_in_csv(catalogue):
    _, client = catalogue
    rows = _search(client, all_fields="true")
    missing = "Missing 'HIERARCH ISS AMBI TEMP'"
    without_weather = [row for row in rows if missing in row["exp_validation_log"]]
    assert without_weather
    assert {row["exp_temperature"] for row in without_weather} == {"NaN"}
    exp_id = without_weather[0]["exp_id"]
    exported = client.get("/obsportal/export.csv", params={"exp_id": exp_id}).text
    assert next(csv.DictReader(io.StringIO(exported)))["exp_temperature"] == ""


def test_numbers_read_as_measured_in_exports_and_pages(catalogue):
    settings, client = catalogue
    for path in ("search.votable?all_fields=true", "export.csv", "export.votable"):
        text = client.get(f"/obsportal/{path}").text
        assert not FLOAT_NOISE.search(text), (path, FLOAT_NOISE.search(text).group())
    # Means of two readings keep one decimal more than the readings; nothing else appears.
    seeing, tau0, em_max = query(
        settings,
        "SELECT seeing, tau0, em_max FROM exposures WHERE header_id = %s",
        "PIONI.2016-10-13T06:03:48.523",
    )[0]
    assert (repr(seeing), repr(em_max)) == ("1.335", "1.8e-06")  # (1.44 + 1.23) / 2, H band
    assert not FLOAT_NOISE.search(repr(tau0))
    for exp_id in [row["exp_id"] for row in _search(client, instrument="AMBER")][:5]:
        page = client.get(f"/obsportal/detail/exposure/{exp_id}").text
        assert not FLOAT_NOISE.search(page), exp_id


def test_midi_and_amber_exposures_use_stations_their_instrument_can(catalogue):
    _, client = catalogue
    for instrument, telescopes in (("MIDI", 2), ("AMBER", 3)):
        rows = _search(client, instrument=instrument, all_fields="true")
        demo = [row for row in rows if not row["exp_id"].startswith(REAL_AMBER)]
        assert demo, instrument
        for row in demo:
            stations = row["interferometer_stations"].split()
            assert len(set(stations)) == telescopes, row["exp_id"]
            assert all(VLTI_STATION.fullmatch(name) for name in stations), stations
            # Unit telescopes and auxiliary telescopes are never combined.
            assert len({name.startswith("U") for name in stations}) == 1, stations
            baselines = BASELINE.findall(row["exp_projected_baselines"])
            assert len(baselines) == telescopes * (telescopes - 1) // 2, row["exp_id"]
            for first, second, length in baselines:
                assert {first, second} <= set(stations)
                (p1, q1), (p2, q2) = STATION_POSITIONS[first], STATION_POSITIONS[second]
                # Projected on the sky, a baseline is never longer than on the ground.
                assert 0 < float(length) <= math.hypot(p2 - p1, q2 - q1) + 0.001


def test_migration_gives_stored_rows_the_original_meaning(new_database):
    settings = fresh_settings(new_database, "semanticsmigration")
    assert ingest(settings, DirectorySource(REAL_HEADERS), workers=1).status == "succeeded"
    config = alembic_config(settings, MIGRATIONS)
    command.downgrade(config, BEFORE_THIS_MEANING)
    # Rows as the previous release stored them: 0 when complete, float noise in a mean.
    complete = "validation_log = '[]'"
    assert query(settings, f"SELECT DISTINCT validation_level FROM exposures WHERE {complete}") == [
        (0,)
    ]
    with connect(settings) as connection:
        connection.execute(f"UPDATE exposures SET seeing = 0.41500000000000004 WHERE {complete}")
    command.upgrade(config, "head")
    assert query(
        settings, f"SELECT DISTINCT validation_level, seeing FROM exposures WHERE {complete}"
    ) == [(1, 0.415)]
    assert query(
        settings, f"SELECT DISTINCT validation_level FROM exposures WHERE NOT {complete}"
    ) == [(0,)]

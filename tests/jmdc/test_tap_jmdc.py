"""JMDC through a real ``tap serve``: the catalogue (not withdrawn) and the releases' entries,
with units and UCDs, and an ADQL cone search on ``jmdc.measurements``."""

import io
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from astropy.io.votable import parse_single_table
from sqlalchemy import make_url

from jmmc_devtools.registry import service_names

from ..core.test_migrations import cli
from ..service_fixture import migrate_platform
from ..tap.conftest import QUERY_ROLE, Server, ensure_query_role, running_tap
from .jmdc_files import write_fits

STARS = [
    {"ID1": "HD 700001", "UD_MEAS": 2.5, "LD_MEAS": 2.6, "E_LD_MEAS": 0.05, "BAND": "H",
     "BANDCODE": 7, "RAJ2000": "10 00 00.0", "DEJ2000": "+20 00 00"},
    {"ID1": "HD 700002", "UD_MEAS": 1.1, "RAJ2000": "10 00 01.0", "DEJ2000": "+20 00 05"},
    {"ID1": "HD 700003", "UD_MEAS": 3.3, "RAJ2000": "15 00 00.0", "DEJ2000": "-30 00 00"},
    {"ID1": "HD 700004", "UD_MEAS": 0.9, "RAJ2000": "10 00 00.5", "DEJ2000": "+20 00 01"},
]  # fmt: skip


@pytest.fixture(scope="module")
def tap_with_jmdc(new_database, tmp_path_factory) -> Iterator[Server]:
    """Every service migrated (so JMDC's tables are in TAP_SCHEMA), four measurements
    imported, the last one withdrawn, and a TAP server reading them as ``tap_query``."""
    url = migrate_platform(new_database("jmdc_tap"), *service_names())
    path = write_fits(tmp_path_factory.mktemp("jmdc-tap") / "tap.fits", STARS)
    result = cli("jmdc", url, "import", str(path))
    assert result.returncode == 0, result.stderr
    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                         dbname=parsed.database) as connection:  # fmt: skip
        connection.execute(
            "UPDATE jmdc.measurements SET withdrawn = now(), withdrawn_reason = 'duplicate'"
            " WHERE id1 = 'HD 700004'"
        )
    ensure_query_role(url)
    environment = {
        "TAP_DATABASE_URL": url,
        "TAP_QUERY_DATABASE_URL": parsed.set(username=QUERY_ROLE).render_as_string(False),
        "TAP_ENVIRONMENT": "test",
        "TAP_LOG_LEVEL": "WARNING",
        "TAP_RESULTS_DIR": str(tmp_path_factory.mktemp("tap-results")),
    }
    with running_tap(environment) as server:
        yield server


def sync(server: Server, query: str):
    parameters = {"LANG": "ADQL", "REQUEST": "doQuery", "QUERY": query}
    answer = httpx.post(f"{server.tap_url}/sync", data=parameters, timeout=60)
    assert answer.status_code == 200, answer.text
    return parse_single_table(io.BytesIO(answer.content))


def test_an_adql_cone_on_the_catalogue(tap_with_jmdc):
    table = sync(tap_with_jmdc, "SELECT id1, ud_diameter, ld_diameter, band, ra, dec"
                 " FROM jmdc.measurements WHERE 1 = CONTAINS(POINT('ICRS', ra, dec),"
                 " CIRCLE('ICRS', 150.0, 20.0, 0.01)) ORDER BY id1")  # fmt: skip
    values = table.to_table()
    # HD 700004 is in the cone too, but withdrawn: TAP shows the current catalogue only.
    assert list(values["id1"]) == ["HD 700001", "HD 700002"]
    assert values["ld_diameter"][0] == pytest.approx(2.6)
    fields = {field.name: field for field in table.fields}
    assert (
        str(fields["ud_diameter"].unit) == "mas" and fields["ud_diameter"].ucd == "phys.angSize;src"
    )
    assert str(fields["ra"].unit) == "deg" and fields["ra"].ucd == "pos.eq.ra;meta.main"
    assert fields["band"].ucd == "instr.bandpass"


def test_withdrawn_measurements_are_not_published(tap_with_jmdc):
    table = sync(tap_with_jmdc, "SELECT COUNT(*) AS n FROM jmdc.measurements")
    assert table.array["n"][0] == 3


def test_tap_schema_describes_the_catalogue_and_the_releases(tap_with_jmdc):
    table = sync(tap_with_jmdc, "SELECT table_name, column_name, unit, ucd FROM"
                 " TAP_SCHEMA.columns WHERE table_name LIKE 'jmdc.%'")  # fmt: skip
    columns = {(row["table_name"], row["column_name"]): row for row in table.array}
    for name in ("jmdc.measurements", "jmdc.release_entries"):
        assert columns[(name, "ld_diameter")]["unit"] == "mas"
        assert columns[(name, "bibcode")]["ucd"] == "meta.bib.bibcode"
    assert ("jmdc.release_entries", "release_number") in columns
    assert not [key for key in columns if key[1] in ("withdrawn_reason", "submitted_by")]
    entries = sync(tap_with_jmdc, "SELECT COUNT(*) AS n FROM jmdc.release_entries")
    assert entries.array["n"][0] == 0

"""obsportal's target identification through TAP: after ``obsportal resolve-targets`` (the
recorded SIMBAD answers), an ADQL query joining exposures to their targets returns SIMBAD's
identifier and position, typed and described as TAP_SCHEMA publishes them."""

import subprocess
import sys
from pathlib import Path

import pytest
from pyvo.dal import TAPService

from obsportal.schema.catalogue import RESOLUTIONS
from obsportal.schema.published import RESOLUTION_MEANING

from ..sesame_replay import SIMBAD_RECORDINGS
from .conftest import connect

OBSPORTAL = str(Path(sys.executable).parent / "obsportal")
#: A real ESO header of the demo set names its target so; SIMBAD's answer is recorded.
OBSERVED_NAME = "HD_58647"

EXPOSURES_WITH_IDENTIFIERS = """
SELECT e.exp_id, t.name, t.identifier, t.identifier_ra, t.identifier_dec, t.resolution,
       t.resolved_at
FROM obsportal.exposures AS e
JOIN obsportal.observations AS o ON e.observation_id = o.id
JOIN obsportal.targets AS t ON o.target_id = t.id
WHERE t.identifier = 'HD 58647'
ORDER BY e.exp_id
"""


@pytest.fixture(scope="module")
def resolved(tap_database) -> str:
    """The demo targets resolved offline from the recordings (names without one stay unchecked,
    so the other tests' data only gains identifiers)."""
    with connect(tap_database) as connection:
        observed = connection.execute(
            "SELECT count(*) FROM obsportal.targets WHERE name = %s", [OBSERVED_NAME]
        ).fetchone()[0]
    if not observed:
        pytest.skip("the shared real ESO headers are absent from the demo data")
    result = subprocess.run(
        [OBSPORTAL, "resolve-targets"],
        env={
            "PATH": "/usr/bin:/bin",
            "OBSPORTAL_DATABASE_URL": tap_database,
            "OBSPORTAL_RESOLVER_RECORDINGS": str(SIMBAD_RECORDINGS),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return tap_database


def test_a_join_from_exposures_returns_the_simbad_identifier(tap_server, resolved):
    service = TAPService(tap_server.tap_url)
    table = service.run_sync(EXPOSURES_WITH_IDENTIFIERS).to_table()
    assert len(table) > 0
    assert set(table["name"]) == {OBSERVED_NAME}
    assert set(table["resolution"]) == {"found"}
    assert all(table["resolved_at"])
    assert list(table["identifier_ra"]) == pytest.approx([111.48374] * len(table), abs=1e-5)
    assert list(table["identifier_dec"]) == pytest.approx([-14.17876] * len(table), abs=1e-5)
    assert str(table["identifier_ra"].unit) == "deg"
    assert table["identifier"].meta["ucd"] == "meta.id"
    assert table["identifier_dec"].meta["ucd"] == "pos.eq.dec"
    # What TOPCAT shows for the column explains each value it can hold.
    assert table["resolution"].description == RESOLUTION_MEANING
    assert all(value in RESOLUTION_MEANING for value in RESOLUTIONS)

"""``jmdc import``: every row imported or rejected with its reason, sentinels as nulls, re-runs
importing nothing twice; the 2017 FITS, a VizieR release and a generated catalogue."""

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

from jmdc.services import vizier
from jmdc.services.catalogue import measurement_columns

from ..core.test_migrations import cli
from ..service_fixture import migrate_platform
from .conftest import CATALOGUE_2017
from .jmdc_files import write_fits


@pytest.fixture(scope="module")
def database(new_database) -> str:
    """A JMDC database of its own: the tests count every measurement in it."""
    return migrate_platform(new_database("jmdc_import"), "jmdc")


def query(url: str, sql: str, *parameters) -> list[tuple]:
    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                         dbname=parsed.database) as connection:  # fmt: skip
        return connection.execute(sql, parameters or None).fetchall()


def import_json(url: str, *args: str) -> dict:
    result = cli("jmdc", url, "import", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_the_2017_catalogue_imports_whole_once(database):
    first = import_json(database, str(CATALOGUE_2017))
    assert (first["read"], first["imported"], first["skipped"], first["rejected"]) == (
        1239,
        1239,
        0,
        0,
    )
    assert first["origin"] == "import:JMDC_final_lddUpdated.fits"

    again = import_json(database, str(CATALOGUE_2017))
    assert (again["read"], again["imported"], again["skipped"]) == (1239, 0, 1239)
    assert query(database, "SELECT count(*) FROM jmdc.measurements")[0][0] == 1239

    # The first row of the file: an LD of -1.0 and a blank band are nulls; the position is
    # the sexagesimal RAJ2000/DEJ2000 in degrees.
    (row,) = query(database, "SELECT id1, id2, ud_diameter, ld_diameter, e_ld_diameter, band,"
                   " band_code, method, bibcode, ra, dec FROM jmdc.measurements"
                   " WHERE id1 = 'HD18884' ORDER BY id LIMIT 1")  # fmt: skip
    id1, id2, ud, ld, e_ld, band, band_code, method, bibcode, ra, dec = row
    assert (id1, id2, ud, ld, e_ld, band, band_code, method) == (
        "HD18884", "ALF CET", 9.4, None, None, None, None, 1)  # fmt: skip
    assert bibcode is None  # "................... Carnegie Year Books..." names no bibcode
    assert ra == pytest.approx(45.5698879, abs=1e-6) and dec == pytest.approx(4.0897389, abs=1e-6)

    # No sentinel survives, and the text of a reference without bibcode is kept in the notes.
    assert query(database, "SELECT count(*) FROM jmdc.measurements WHERE ud_diameter = -1"
                 " OR ld_diameter = -1 OR e_ld_diameter = -1 OR band = '--' OR band = ''"
                 " OR band_code < 1")[0][0] == 0  # fmt: skip
    assert query(database, "SELECT count(*) FROM jmdc.measurements WHERE notes LIKE"
                 " 'Reference: Carnegie Year Books%'")[0][0] == 6  # fmt: skip
    # Bibcodes are the 19 characters of the ADS format.
    assert query(database, "SELECT DISTINCT length(bibcode) FROM jmdc.measurements"
                 " WHERE bibcode IS NOT NULL") == [(19,)]  # fmt: skip
    runs = query(database, "SELECT read_count, imported_count, skipped_count, rejected_count"
                 " FROM jmdc.import_runs ORDER BY id")  # fmt: skip
    assert runs[-2:] == [(1239, 1239, 0, 0), (1239, 0, 1239, 0)]


def test_bad_rows_are_rejected_with_their_row_and_reason(database, tmp_path):
    path = write_fits(tmp_path / "batch.fits", [
        {"ID1": "HD 900001", "UD_MEAS": 2.5, "LD_MEAS": 2.6, "E_LD_MEAS": 0.1, "BANDCODE": -1,
         "RAJ2000": "12 30 00.0", "DEJ2000": "-45 30 00.0", "NOTES": "kept"},
        {"ID1": "", "UD_MEAS": 2.0},
        {"ID1": "HD 900003", "UD_MEAS": -1.0, "LD_MEAS": -1.0},
        {"ID1": "HD 900004", "UD_MEAS": -3.0},
        {"ID1": "HD 900005", "METHOD": 7},
        {"ID1": "HD 900006", "BANDCODE": 13},
        {"ID1": "HD 900007", "RAJ2000": "not a position", "DEJ2000": "+10 00 00"},
        {"ID1": "HD 900008", "UD_MEAS": 3.1, "BANDCODE": -32768},
    ])  # fmt: skip
    report = import_json(database, str(path))
    assert (report["read"], report["imported"], report["skipped"], report["rejected"]) == (
        8,
        2,
        0,
        6,
    )
    assert report["origin"] == "import:batch.fits"
    reasons = {reject["row"]: reject["reason"] for reject in report["rejects"]}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7]
    assert "ID1" in reasons[2]
    assert "no diameter" in reasons[3]
    assert "not positive" in reasons[4]
    assert "method" in reasons[5]
    assert "band code" in reasons[6]
    assert "RAJ2000" in reasons[7]
    rows = query(database, "SELECT id1, band_code, ra, dec, notes, origin FROM jmdc.measurements"
                 " WHERE id1 LIKE 'HD 9000%' ORDER BY id1")  # fmt: skip
    assert rows == [
        ("HD 900001", None, 187.5, -45.5, "kept", "import:batch.fits"),
        ("HD 900008", None, None, None, None, "import:batch.fits"),
    ]
    (stored,) = query(database, "SELECT rejects FROM jmdc.import_runs ORDER BY id DESC LIMIT 1")
    assert stored[0] == report["rejects"]


def test_the_summary_lists_rejected_rows(database, tmp_path):
    path = write_fits(tmp_path / "one-bad.fits", [{"ID1": "HD 900101", "METHOD": 0}])
    result = cli("jmdc", database, "import", str(path))
    assert result.returncode == 0, result.stderr
    assert "rejected         1" in result.stdout
    assert "row 1: method: 0 is not 1, 2 or 3" in result.stdout


def test_a_file_that_is_no_catalogue_is_refused_in_one_line(database, tmp_path):
    before = query(database, "SELECT count(*) FROM jmdc.measurements")[0][0]
    path = tmp_path / "notes.fits"
    path.write_text("not a FITS file")
    result = cli("jmdc", database, "import", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert query(database, "SELECT count(*) FROM jmdc.measurements")[0][0] == before


def test_a_vizier_release_of_the_catalogue_is_the_same_measurements(
    database, new_database, tmp_path
):
    """The catalogue written as VizieR files imports whole into an empty database, and
    adds nothing to the catalogue it was written from."""
    names = [column.name for column in measurement_columns]
    rows = [dict(zip(names, row, strict=True)) for row in query(
        database, f"SELECT {', '.join(names)} FROM jmdc.measurements ORDER BY id")]  # fmt: skip
    about = vizier.ReleaseDescription(
        title="JMDC test release", authors=["JMMC"], abstract="Test.", description="Test.",
        released=date(2026, 1, 1),
    )  # fmt: skip
    files = vizier.write(rows, about)
    (tmp_path / vizier.README_FILE).write_text(files.readme)
    (tmp_path / vizier.DATA_FILE).write_text(files.data)

    again = import_json(database, str(tmp_path), "--format", "vizier")
    assert (again["read"], again["imported"], again["skipped"]) == (len(rows), 0, len(rows))

    empty = migrate_platform(new_database("jmdc_vizier"), "jmdc")
    fresh = import_json(empty, str(tmp_path / vizier.README_FILE))
    assert (fresh["imported"], fresh["rejected"], fresh["format"]) == (len(rows), 0, "vizier")
    assert query(empty, "SELECT count(*) FROM jmdc.measurements WHERE id1 = 'HD29139'") == [(18,)]


def test_a_generated_catalogue(new_database):
    url = migrate_platform(new_database("jmdc_generated"), "jmdc")
    report = import_json(url, "--generate", "500", "--seed", "7")
    assert (report["read"], report["imported"], report["rejected"]) == (500, 500, 0)
    assert import_json(url, "--generate", "500", "--seed", "7")["imported"] == 0
    (counts,) = query(url, "SELECT count(*), count(DISTINCT method), min(ud_diameter) > 0,"
                      " count(ra) FROM jmdc.measurements")  # fmt: skip
    assert counts == (500, 3, True, 500)


def demo(url: str, shared: Path) -> dict:
    """``jmdc import --demo`` with the shared data folder at ``shared``."""
    environment = {
        "JMDC_DATABASE_URL": url,
        "JMMC_SHARED_DIR": str(shared),
        "PATH": "/usr/bin:/bin",
    }
    command = [
        sys.executable,
        "-c",
        "from jmdc.cli import main; main()",
        "import",
        "--demo",
        "--json",
    ]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_the_demo_is_the_2017_catalogue_when_shared_data_is_there(new_database):
    url = migrate_platform(new_database("jmdc_demo_shared"), "jmdc")
    report = demo(url, CATALOGUE_2017.parents[2])
    assert (report["origin"], report["imported"]) == ("import:JMDC_final_lddUpdated.fits", 1239)


def test_the_demo_is_generated_without_shared_data(new_database, tmp_path):
    url = migrate_platform(new_database("jmdc_demo_alone"), "jmdc")
    report = demo(url, tmp_path)
    assert (report["format"], report["imported"], report["rejected"]) == ("generated", 2000, 0)
    assert demo(url, tmp_path)["imported"] == 0

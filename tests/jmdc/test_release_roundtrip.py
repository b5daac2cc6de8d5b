"""The 2017 catalogue through a release and back: imported from the FITS file, released as
VizieR files, those files imported into an empty catalogue and released again give the same
``jmdc.dat`` and the same byte-by-byte description (the commands an operator runs)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from jmdc.config import Settings
from jmdc.services import releases
from jmmc_core.database import Database

from ..service_fixture import migrate_platform
from .conftest import SHARED_JMDC


def jmdc(url: str, *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "from jmdc.cli import main; main()", *arguments],
        env={**os.environ, "JMDC_DATABASE_URL": url, "JMDC_ENVIRONMENT": "test"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def release_files(url: str, folder: Path) -> Path:
    """Release 1 of the catalogue at ``url``, its VizieR files written in ``folder``."""
    jmdc(url, "release", "--title", "round trip")
    database = Database(Settings(database_url=url))
    try:
        with database.session() as session:
            files = releases.release_files(session, 1)
    finally:
        database.dispose()
    folder.mkdir()
    (folder / "ReadMe").write_text(files.readme)
    (folder / "jmdc.dat").write_text(files.data)
    return folder


def byte_by_byte(readme: str) -> str:
    start = readme.index("Byte-by-byte Description")
    return readme[start : readme.index("\nHistory:")]


def test_a_release_imported_and_released_again_is_the_same(new_database, tmp_path):
    first = migrate_platform(new_database("roundtrip"), "jmdc")
    second = migrate_platform(new_database("roundtrip"), "jmdc")
    jmdc(first, "import", str(SHARED_JMDC / "JMDC_final_lddUpdated.fits"))
    released = release_files(first, tmp_path / "first")

    imported = json.loads(jmdc(second, "import", str(released), "--format", "vizier", "--json"))
    again = release_files(second, tmp_path / "second")

    data = (released / "jmdc.dat").read_text()
    assert len(data.splitlines()) == 1239
    assert (imported["imported"], imported["rejected"]) == (1239, 0)
    assert (again / "jmdc.dat").read_text() == data
    assert byte_by_byte((again / "ReadMe").read_text()) == byte_by_byte(
        (released / "ReadMe").read_text()
    )

"""The input files people have: compressed FITS from the ESO archive, damaged files, folders
given by relative paths or under hidden folders, long-string cards. Every file read ends
accepted, excluded or rejected with its reason, and a run that reads nothing fails."""

import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import ncompress
import numpy
import pytest
from astropy.io import fits

from obsportal.services.ingestion.extract import RawHeader, process
from obsportal.services.ingestion.run import ingest
from obsportal.services.ingestion.sources import DirectorySource
from obsportal.services.ingestion.synthetic import synthetic_header
from obsportal.storage.ingestion_records import Accepted, Excluded

from .ingestion_support import fresh_settings, query

OBSPORTAL = str(Path(sys.executable).parent / "obsportal")
SEED = 3
LONG_NAME = "a target name far too long for one eighty-character card, continued on the next"


def headers_of(kind: type, count: int) -> list[bytes]:
    """The first ``count`` synthetic headers that end as ``kind`` (Accepted or Excluded)."""
    found = []
    for index in range(10_000):
        data = synthetic_header(SEED, index)
        if isinstance(process(RawHeader("probe", data)), kind):
            found.append(data)
            if len(found) == count:
                return found
    raise AssertionError("the synthetic set has too few such headers")


def fits_bytes(dump: bytes, compressed_image: bool = False) -> bytes:
    header = fits.Header.fromstring(dump.decode("ascii"), sep="\n")
    hdus = [fits.PrimaryHDU(header=header)]
    if compressed_image:  # fpack keeps an empty primary header as is and compresses images
        hdus.append(fits.CompImageHDU(numpy.zeros((8, 8), dtype=numpy.int16)))
    buffer = io.BytesIO()
    fits.HDUList(hdus).writeto(buffer)
    return buffer.getvalue()


def with_long_target_name(dump: bytes) -> bytes:
    lines = dump.decode("ascii").split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("HIERARCH ESO OBS TARG"))
    first, rest = LONG_NAME[:40], LONG_NAME[40:]
    lines[index : index + 1] = [
        f"HIERARCH ESO OBS TARG NAME = '{first}&'".ljust(80),
        f"CONTINUE  '{rest}' / OB target name".ljust(80),
    ]
    return "\n".join(lines).encode("ascii")


def header_id(dump: bytes) -> str:
    outcome = process(RawHeader("probe", dump))
    return outcome.header_id


@pytest.fixture(scope="module")
def accepted() -> list[bytes]:
    return headers_of(Accepted, 7)


def run_cli(settings, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "OBSPORTAL_DATABASE_URL": settings.database_url}
    return subprocess.run(
        [OBSPORTAL, "ingest", *args],
        env=environment,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_input_file_ends_accepted_excluded_or_rejected(new_database, tmp_path, accepted):
    settings = fresh_settings(new_database, "inputs")
    # A hidden parent folder, given by a relative path that climbs out of the working folder.
    folder = tmp_path / ".cache" / "eso" / "2026-12-03"
    (folder / "night").mkdir(parents=True)
    (tmp_path / "work").mkdir()
    dump, fits_plain, fits_gz, fits_z, fits_fz, long_string, in_tar = accepted
    (folder / "a.hdr").write_bytes(dump)
    (folder / "b.fits").write_bytes(fits_bytes(fits_plain))
    (folder / "c.fits.gz").write_bytes(gzip.compress(fits_bytes(fits_gz)))
    (folder / "night" / "d.fits.Z").write_bytes(ncompress.compress(fits_bytes(fits_z)))
    (folder / "night" / "e.fits.fz").write_bytes(fits_bytes(fits_fz, compressed_image=True))
    (folder / "f.hdr").write_bytes(with_long_target_name(long_string))
    (folder / "g.hdr").write_bytes(headers_of(Excluded, 1)[0])
    (folder / "broken.fits.gz").write_bytes(gzip.compress(fits_bytes(dump))[:300])
    (folder / "broken.fits.Z").write_bytes(b"\x1f\x9d\x90 not LZW data")
    (folder / ".notes.txt").write_text("Downloaded from the ESO archive on 2026-12-03.\n")
    (folder / "truncated.fits").write_bytes(fits_bytes(dump)[:2880])

    result = run_cli(settings, "--from-dir", "../.cache/eso/2026-12-03", "--json",
                     cwd=tmp_path / "work")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert (summary["read"], summary["accepted"], summary["excluded"]) == (11, 6, 1)
    assert summary["rejected_by_reason"] == {
        "unreadable_file": 2,
        "not_a_header": 1,
        "truncated_header": 1,
    }
    ids = [header_id(data) for data in (dump, fits_plain, fits_gz, fits_z, fits_fz, long_string)]
    stored = dict(query(settings, "SELECT header_id, target_name FROM exposures"))
    assert sorted(stored) == sorted(ids)
    assert stored[header_id(long_string)] == LONG_NAME
    reasons = dict(query(settings, "SELECT source_name, detail FROM rejects"))
    broken = next(detail for name, detail in reasons.items() if name.endswith("broken.fits.gz"))
    assert "EOFError" in broken  # the reason says what is wrong with the file

    # A tar of compressed FITS (an archive download as is): one damaged member, the rest read.
    archive = tmp_path / "download.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(folder / "night" / "d.fits.Z", "d.fits.Z")
        tar.add(folder / "broken.fits.gz", "broken.fits.gz")
        member = tmp_path / "h.fits.gz"
        member.write_bytes(gzip.compress(fits_bytes(in_tar)))
        tar.add(member, "h.fits.gz")
    run = ingest(settings, DirectorySource(archive), workers=1)
    assert (run.status, run.read_count, run.accepted_count, run.rejected_count) == (
        "succeeded", 3, 2, 1)  # fmt: skip
    assert run.rejected_by_reason == {"unreadable_file": 1}


def test_a_run_that_reads_nothing_from_a_non_empty_folder_fails(new_database, tmp_path):
    settings = fresh_settings(new_database, "nothingread")
    (tmp_path / "export" / "empty-night").mkdir(parents=True)
    result = run_cli(settings, "--from-dir", "export", cwd=tmp_path)
    assert result.returncode == 1
    assert "0 headers read from dir:export, which is not empty" in result.stdout


def test_a_dump_with_trimmed_lines_reads_like_the_padded_one():
    """Cards padded to 80 characters are read from the card grid, trimmed ones card by card:
    both readings give the same outcome (accepted, excluded or rejected) for every header."""
    headers = [synthetic_header(SEED + 1, index) for index in range(300)]
    for padded in headers:
        trimmed = b"\n".join(line.rstrip() for line in padded.split(b"\n"))
        assert process(RawHeader("h", padded)) == process(RawHeader("h", trimmed))

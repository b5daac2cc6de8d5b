"""Loading is idempotent, resumable and exact: counts add up, re-runs change nothing."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from obsportal.services.ingestion.extract import process
from obsportal.services.ingestion.run import ingest
from obsportal.services.ingestion.sources import DirectorySource
from obsportal.services.ingestion.synthetic import SyntheticChunk, SyntheticSource, card
from obsportal.storage.ingestion import connect
from obsportal.storage.ingestion_records import Accepted

from .ingestion_support import counts_add_up, fresh_settings, query, scalar, snapshot

SYNTHETIC = SyntheticSource(4000, seed=7, chunk_size=250)


def test_reingesting_the_same_headers_changes_nothing(new_database):
    settings = fresh_settings(new_database, "reingest")
    first = ingest(settings, SYNTHETIC, workers=2, batch_size=700)
    assert first.status == "succeeded"
    assert first.read_count == 4000
    assert first.read_count == first.accepted_count + first.excluded_count + first.rejected_count
    assert first.changed_count == first.accepted_count > 800
    assert first.excluded_count > 0.6 * first.read_count
    before = snapshot(settings)
    updated = query(settings, "SELECT exp_id, date_updated, ingestion_run_id FROM exposures")
    again = ingest(settings, SYNTHETIC, workers=1, batch_size=1000)
    assert again.status == "succeeded"
    assert again.changed_count == 0
    assert (again.accepted_count, again.excluded_count) == (
        first.accepted_count,
        first.excluded_count,
    )
    assert snapshot(settings) == before
    assert query(settings, "SELECT exp_id, date_updated, ingestion_run_id FROM exposures") == (
        updated
    )
    # Positions are pg_sphere points, indexed for cone search.
    assert scalar(settings, "SELECT count(*) FROM exposures WHERE position IS NOT NULL") > 0


def test_a_killed_run_rerun_ends_in_the_same_database(new_database):
    reference = fresh_settings(new_database, "uninterrupted")
    assert ingest(reference, SYNTHETIC, workers=1, batch_size=300).status == "succeeded"

    killed = fresh_settings(new_database, "killed")
    environment = {
        **os.environ,
        "OBSPORTAL_DATABASE_URL": killed.database_url,
        "OBSPORTAL_INGESTION_BATCH_SIZE": "300",
    }
    command = [str(Path(sys.executable).parent / "obsportal"), "ingest", "--synthetic", "4000",
               "--seed", "7", "--workers", "1"]  # fmt: skip
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    while scalar(killed, "SELECT coalesce(max(read_count), 0) FROM ingestion_runs") < 900:
        assert time.monotonic() < deadline, "the ingestion never got going"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = scalar(killed, "SELECT read_count FROM ingestion_runs")
    assert 900 <= partial < 4000, "the kill must land mid-run"
    stored = scalar(
        killed,
        "SELECT (SELECT count(*) FROM exposures) + (SELECT count(*) FROM excluded_headers)"
        " + (SELECT count(*) FROM rejects)",
    )
    assert stored == partial, "only whole batches, with their counts, are ever stored"

    rerun = ingest(killed, SYNTHETIC, workers=2, batch_size=1000)
    assert rerun.status == "succeeded"
    assert snapshot(killed) == snapshot(reference)
    statuses = query(killed, "SELECT status, error FROM ingestion_runs ORDER BY id")
    assert statuses[0][0] == "failed" and "interrupted" in statuses[0][1]
    assert statuses[1] == ("succeeded", None)


def test_a_database_error_aborts_the_batch_cleanly_and_the_next_run_resumes(new_database):
    settings = fresh_settings(new_database, "dberror")
    late = next(
        outcome.header_id
        for outcome in map(process, SyntheticChunk(7, 3000, 1000).headers())
        if isinstance(outcome, Accepted)
    )
    with connect(settings) as connection:
        # A stand-in for any database failure in the middle of a run.
        connection.execute(
            f"ALTER TABLE exposures ADD CONSTRAINT failing_row CHECK (header_id <> '{late}')"
        )
    failed = ingest(settings, SYNTHETIC, workers=1, batch_size=500)
    assert failed.status == "failed"
    assert "failing_row" in failed.error
    assert 0 < failed.read_count < 4000  # the batches committed before the failure
    assert scalar(settings, "SELECT count(*) FROM exposures") == (
        scalar(settings, "SELECT accepted_count FROM ingestion_runs")
    )
    with connect(settings) as connection:
        connection.execute("ALTER TABLE exposures DROP CONSTRAINT failing_row")
        assert counts_add_up(connection)
    resumed = ingest(settings, SYNTHETIC, workers=1, batch_size=500)
    assert resumed.status == "succeeded"
    reference = fresh_settings(new_database, "dberror_reference")
    ingest(reference, SYNTHETIC, workers=1, batch_size=500)
    assert snapshot(settings) == snapshot(reference)


def header(**overrides: str | float) -> bytes:
    values = {
        "INSTRUME": "PIONIER", "OBJECT": "HD 1", "RA": 10.0, "DEC": -20.0,
        "MJD-OBS": 57000.1, "ARCFILE": "PIONI.2014-12-09T02:24:00.000.fits",
        "DPR CATG": "SCIENCE", "DPR TYPE": "FRINGE,OBJECT", "DPR TECH": "INTERFEROMETRY",
        "OBS TARG NAME": "HD 1", "OBS PROG ID": "094.D-0001(A)", "INS OPTI2 NAME": "FREE",
        "INS FILT1 NAME": "H", "EXPTIME": 60.0,
    }  # fmt: skip
    values.update(overrides)
    cards = [card("SIMPLE", True)] + [card(k, v) for k, v in values.items() if v != ""]
    return ("\n".join(cards) + "\n" + "END".ljust(80) + "\n").encode()


BAD_INPUTS = {
    "truncated_card.hdr": (
        header().replace(b"'HD 1    ' ", b"'HD 1 ", 1).replace(b"\nEND", b"\nEND", 1),
        "truncated_card",
    ),
    "non_ascii.hdr": (
        header(OBJECT="HD 1").replace(b"HD 1", "HD \u00e91".encode(), 1),
        "non_ascii",
    ),
    "duplicate.hdr": (
        header().replace(b"END ", card("RA", 11.0).encode() + b"\nEND ", 1),
        "duplicate_keyword",
    ),
    "no_arcfile.hdr": (header(ARCFILE=""), "missing_arcfile"),
    "unknown_instrument.hdr": (header(INSTRUME="ESPRESSO"), "unknown_instrument"),
    "notes.txt": (b"Observing notes, not a FITS header.\n", "not_a_header"),
    "cut_short.hdr": (header()[:800], "truncated_header"),
}


def test_bad_inputs_are_rejected_with_reasons_and_the_run_goes_on(new_database, tmp_path):
    for name, (data, _reason) in BAD_INPUTS.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "good.hdr").write_bytes(header())
    (tmp_path / "calibration.hdr").write_bytes(
        header(**{"DPR TYPE": "DARK", "ARCFILE": "PIONI.2014-12-09T02:30:00.000.fits"})
    )
    settings = fresh_settings(new_database, "badinput")
    run = ingest(settings, DirectorySource(tmp_path), workers=1)
    assert run.status == "succeeded"
    assert (run.read_count, run.accepted_count, run.excluded_count) == (9, 1, 1)
    assert run.excluded_by_rule == {"pionier.dark": 1}
    expected = sorted(reason for _data, reason in BAD_INPUTS.values())
    assert sorted(run.rejected_by_reason) == expected
    rejects = dict(query(settings, "SELECT source_name, reason FROM rejects"))
    for name, (_data, reason) in BAD_INPUTS.items():
        assert rejects[str(tmp_path / name)] == reason
    assert scalar(settings, "SELECT header_id FROM exposures") == "PIONI.2014-12-09T02:24:00.000"


def test_missing_weather_and_zero_position_are_logged_not_dropped(new_database, tmp_path):
    (tmp_path / "a.hdr").write_bytes(header(RA=0.0, DEC=0.0))
    settings = fresh_settings(new_database, "validation")
    assert ingest(settings, DirectorySource(tmp_path), workers=1).accepted_count == 1
    level, log, position = query(
        settings, "SELECT validation_level, validation_log, position FROM exposures"
    )[0]
    assert level == 0 and position is None
    assert "RA/DEC are 0/0 (no pointing recorded)" in log
    assert "Missing 'HIERARCH ISS AMBI TAU0 START'" in log


def test_two_runs_never_interleave(new_database):
    settings = fresh_settings(new_database, "lock")
    with connect(settings) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [0x0B5_1A6E57])
        with pytest.raises(Exception, match="another ingestion run"):
            ingest(settings, SyntheticSource(10), workers=1)


def test_counts_match_rows_for_every_run(new_database):
    settings = fresh_settings(new_database, "counts")
    ingest(settings, SyntheticSource(3000, seed=3), workers=2, batch_size=400)
    with connect(settings) as connection:
        assert counts_add_up(connection)
    assert scalar(settings, "SELECT count(*) FROM rejects") == scalar(
        settings, "SELECT rejected_count FROM ingestion_runs"
    )
    assert scalar(settings, "SELECT count(*) FROM excluded_headers") == scalar(
        settings, "SELECT excluded_count FROM ingestion_runs"
    )

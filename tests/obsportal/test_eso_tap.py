"""``obsportal ingest --from-eso-tap``: the real pyvo client against ESO's answers on loopback.

The archive is a small HTTP server on a free loopback port serving what ESO serves: TAP sync
answers on ``dbo.raw`` (``recordings/eso/dbo_raw.votable.xml``, filtered by the instruments,
modification date and TOP of the query it receives) and header pages (``hdr?DpId=``, the shared
real headers in ESO's HTML page).
"""

import gzip
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from jmmc_devtools.pgcluster import free_port
from obsportal.cli import main
from obsportal.config import Settings
from obsportal.services.ingestion.eso_tap import FIRST_HARVEST, EsoTapSource

from .ingestion_support import fresh_settings, query

RECORDINGS = Path(__file__).parent / "recordings" / "eso"
ROW = re.compile(r"<TR>.*?</TR>\n", re.DOTALL)
CELL = re.compile(r"<TD>(.*?)</TD>", re.DOTALL)
ALL_FRAMES = 9  # in the recording, one of them a header without ARCFILE


class EsoArchive:
    """What ESO's TAP and header services answer, from the recordings."""

    def __init__(self) -> None:
        recorded = (RECORDINGS / "dbo_raw.votable.xml").read_text()
        self.rows = ROW.findall(recorded)
        self.head = recorded[: recorded.index(self.rows[0])]
        self.tail = recorded[recorded.index(self.rows[-1]) + len(self.rows[-1]) :]
        self.columns = re.findall(r'<FIELD name="([^"]+)"', self.head)
        self.queries: list[str] = []
        self.garbage = False

    def tap_answer(self, adql: str) -> bytes:
        self.queries.append(adql)
        if self.garbage:
            return b"<html><body>The archive is under maintenance.</body></html>"
        selected = re.match(r"SELECT TOP (\d+) (.*?) FROM dbo\.raw WHERE", adql)
        assert selected, adql
        assert selected.group(2).split(", ") == self.columns, adql
        instruments = re.search(r"instrument IN \(([^)]*)\)", adql).group(1)
        operator, since = re.search(r"last_mod_date (>=|>) '([^']+)'", adql).groups()
        rows = []
        for row in self.rows:
            cells = dict(zip(self.columns, CELL.findall(row), strict=True))
            changed = cells["last_mod_date"]
            if f"'{cells['instrument']}'" in instruments and (
                changed > since if operator == ">" else changed >= since
            ):
                rows.append(row)
        rows = rows[: int(selected.group(1))]
        return (self.head + "".join(rows) + self.tail).encode()

    def header_page(self, dp_id: str) -> bytes | None:
        instrument = next(
            (cells[1] for cells in map(CELL.findall, self.rows) if cells[0] == dp_id), None
        )
        if instrument is None:
            return None
        stamp = dp_id.split(".", 1)[1].replace(":", "-")
        return gzip.decompress(
            (RECORDINGS / "headers" / f"{instrument}_{stamp}.html.gz").read_bytes()
        )


@pytest.fixture(scope="module")
def archive():
    """ESO on loopback: ``(archive, tap_url, header_url)``."""
    recorded = EsoArchive()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            parameters = {key.upper(): values[0] for key, values in parse_qs(url.query).items()}
            self._answer(url.path, parameters)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = parse_qs(self.rfile.read(length).decode())
            self._answer(urlsplit(self.path).path, {k.upper(): v[0] for k, v in form.items()})

        def _answer(self, path: str, parameters: dict[str, str]) -> None:
            if path == "/tap_obs/sync":
                body, kind = recorded.tap_answer(parameters["QUERY"]), "application/x-votable+xml"
            elif path == "/hdr":
                body, kind = recorded.header_page(parameters.get("DPID", "")), "text/html"
            else:
                body, kind = None, "text/plain"
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield recorded, f"{base}/tap_obs", f"{base}/hdr"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def harvest(settings, tap_url: str, header_url: str, *options: str):
    environment = {
        "OBSPORTAL_DATABASE_URL": settings.database_url,
        "OBSPORTAL_ESO_TAP_URL": tap_url,
        "OBSPORTAL_ESO_HEADER_URL": header_url,
    }
    return CliRunner().invoke(
        main, ["ingest", "--from-eso-tap", "--workers", "1", *options], env=environment
    )


def summary(result) -> dict[str, str]:
    lines = result.stdout.splitlines()
    return {line.split()[0]: line.split()[-1] for line in lines[1:] if line.strip()}


def runs(settings) -> list[tuple]:
    return query(settings, "SELECT source, status, read_count, watermark FROM ingestion_runs")


def test_first_harvest_then_a_rerun_that_finds_nothing_new(new_database, archive):
    recorded, tap_url, header_url = archive
    settings = fresh_settings(new_database, "esotap")

    first = harvest(settings, tap_url, header_url)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[0].endswith(
        "(eso-tap:AMBER,GRAVITY,MATISSE,MIDI,PIONIER): succeeded"
    )
    counts = summary(first)
    assert (counts["read"], counts["accepted"], counts["rejected"]) == ("9", "8", "1")
    assert counts["missing_arcfile"] == "1"  # the 2016 GRAVITY header has no ARCFILE
    # The query asked for interferometric frames of every VLTI instrument, from the start.
    assert "dp_tech LIKE 'INTERFEROMETRY%'" in recorded.queries[-1]
    assert "last_mod_date >= '2001-01-01T00:00:00.000'" in recorded.queries[-1]
    # What the TAP row says about the programme and release reaches the catalogue.
    title, pi_coi, release = query(
        settings,
        "SELECT p.title, p.pi_coi, e.date_release::date::text FROM exposures e"
        " JOIN programs p ON p.id = e.program_id WHERE e.header_id = %s",
        "GRAVI.2020-01-27T03:39:22.003",
    )[0]
    assert (title, pi_coi, release) == (
        "Stellar surfaces and envelopes with GRAVITY",
        "Kervella/ Lagadec",
        "2021-01-27",
    )
    assert query(settings, "SELECT count(*) FROM exposures")[0][0] == 8

    again = harvest(settings, tap_url, header_url)
    assert again.exit_code == 0, again.output
    assert summary(again)["read"] == "0"
    # It resumed after the newest modification the first run read.
    assert "last_mod_date > '2025-02-28T22:15:09.333'" in recorded.queries[-1]
    assert query(settings, "SELECT count(*) FROM exposures")[0][0] == 8
    (_, status, read, watermark), *_ = runs(settings)
    assert (status, read, watermark.isoformat()) == (
        "succeeded",
        9,
        "2025-02-28T22:15:09.333000+00:00",
    )


def test_since_and_instrument_narrow_the_harvest(new_database, archive):
    recorded, tap_url, header_url = archive
    settings = fresh_settings(new_database, "esotapsince")

    gravity = harvest(settings, tap_url, header_url, "--instrument", "gravity")
    assert gravity.exit_code == 0, gravity.output
    assert "instrument IN ('GRAVITY')" in recorded.queries[-1]
    assert summary(gravity)["read"] == "3"
    instruments = query(settings, "SELECT DISTINCT instrument_name FROM exposures")
    assert instruments == [("GRAVITY",)]

    recent = harvest(settings, tap_url, header_url, "--since", "2024-01-01")
    assert recent.exit_code == 0, recent.output
    assert "last_mod_date >= '2024-01-01T00:00:00.000'" in recorded.queries[-1]
    # GRAVITY 2021 (again, unchanged), the two MATISSE frames and the 2016 PIONIER frame.
    assert summary(recent)["read"] == "4"
    assert summary(recent)["new"] == "3"
    assert query(settings, "SELECT count(*) FROM exposures")[0][0] == 5


@pytest.mark.parametrize("trouble", ["down", "garbage", "header_service_down"])
def test_an_archive_in_trouble_fails_the_run_in_one_line(new_database, archive, trouble):
    recorded, tap_url, header_url = archive
    settings = fresh_settings(new_database, f"esotap{trouble.replace('_', '')}")
    nowhere = f"http://127.0.0.1:{free_port()}"
    if trouble == "down":
        tap_url = f"{nowhere}/tap_obs"
    elif trouble == "header_service_down":
        header_url = f"{nowhere}/hdr"
    recorded.garbage = trouble == "garbage"
    try:
        result = harvest(settings, tap_url, header_url)
    finally:
        recorded.garbage = False
    assert result.exit_code == 1
    assert "succeeded" not in result.stdout
    error = next(line for line in result.stdout.splitlines() if "error:" in line)
    expected = {
        "down": f"ESO TAP {tap_url} did not answer",
        "garbage": f"ESO TAP {tap_url} sent an answer that is not a VOTable",
        "header_service_down": f"ESO header service {header_url} did not answer",
    }[trouble]
    assert error.strip().startswith(f"error: ArchiveError: {expected}"), error
    assert "Traceback" not in result.output
    assert result.output.rstrip().endswith("Error: ingestion failed")
    (_, status, _, watermark), *_ = runs(settings)
    assert (status, watermark) == ("failed", None)
    assert query(settings, "SELECT count(*) FROM exposures")[0][0] == 0


def test_pages_of_the_archive_list_every_frame_once_oldest_change_first(archive):
    recorded, tap_url, header_url = archive
    settings = Settings(eso_tap_url=tap_url, eso_header_url=header_url)
    source = EsoTapSource(
        settings, ["GRAVITY", "pionier", "AMBER", "MATISSE"], FIRST_HARVEST, page_size=2
    )
    asked_before = len(recorded.queries)
    listed = [row for chunk in source.chunks() for row in chunk.rows]
    changes = [row.last_mod_date for row in listed]
    assert len({row.dp_id for row in listed}) == len(listed) == ALL_FRAMES
    assert changes == sorted(changes)
    assert source.watermark == changes[-1]
    pages = recorded.queries[asked_before:]
    assert len(pages) > ALL_FRAMES // 2 and all("SELECT TOP 2 " in adql for adql in pages)

"""The ESO archive source, replaying recorded archive answers (never the network)."""

import csv
from datetime import UTC, datetime

from astroquery.eso import Eso
from astroquery.utils.mocks import MockResponse

from obsportal.services.ingestion.eso import EsoArchiveSource, eso_source
from obsportal.services.ingestion.run import ingest

from .ingestion_support import REAL_HEADERS, SHARED, fresh_settings

RECORDED = SHARED / "data" / "astroquery_eso"
AMBER_HEADER = (REAL_HEADERS / "AMBER_2010-04-15T07-12-11.258_primary.hdr").read_text()


def header_page(dp_id: str, dpr_type: str) -> bytes:
    """The archive's header page for one frame: a real AMBER header under another id."""
    text = AMBER_HEADER.replace("AMBER.2010-04-15T07:12:11.258", dp_id).replace(
        "DPR TYPE = 'OBJECT  '", f"DPR TYPE = '{dpr_type}'"
    )
    return f"<html><body><pre>{text}</pre></body></html>".encode()


def replaying_eso() -> Eso:
    lines = (RECORDED / "v0.4.11_amber_sgra_query.tbl").read_text().splitlines()
    rows = csv.DictReader(line for line in lines if line and not line.startswith("#"))
    types = {row["DP.ID"]: row["DPR.TYPE"] for row in rows}
    assert len(types) == 50

    def request(method, url, **_kwargs):
        if url.endswith("/amber/form"):
            return MockResponse((RECORDED / "v0.4.11_amber_query_form.html").read_bytes(), url=url)
        if url.endswith("/amber/query"):
            return MockResponse((RECORDED / "v0.4.11_amber_sgra_query.tbl").read_bytes(), url=url)
        if "/hdr?DpId=" in url:
            dp_id = url.split("DpId=")[1]
            return MockResponse(header_page(dp_id, types[dp_id]), url=url)
        raise AssertionError(f"unexpected archive request {method} {url}")

    eso = Eso()
    eso._request = request
    return eso


def test_amber_fringe_search_frames_tagged_science_are_excluded(new_database):
    settings = fresh_settings(new_database, "eso")
    since = datetime(2006, 3, 1, tzinfo=UTC)
    source = EsoArchiveSource(["AMBER"], since, eso=replaying_eso())
    run = ingest(settings, source, workers=1)
    assert run.status == "succeeded", run.error
    assert run.read_count == 50 and run.accepted_count == 0
    assert run.excluded_by_rule == {"amber.fringe_search": 48, "amber.piston": 2}
    assert run.watermark.date().isoformat() == "2006-03-14"
    # The next harvest resumes from the watermark (minus a day of overlap).
    resumed = eso_source(settings, ["AMBER"], since=None)
    assert resumed.since.date().isoformat() == "2006-03-13"

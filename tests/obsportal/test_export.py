"""``export.votable`` (TABLEDATA, BINARY2) and ``export.csv``: content, streaming, memory."""

import csv
import io
import random
import time

import httpx
import pytest
from astropy.io.votable import parse_single_table

from obsportal.services.search_votable import ALL_COLUMNS

from . import catalogue_factory
from .conftest import connect, migrated_database, running_service

STREAM_ROWS = 60_000


def _table(content: bytes):
    return parse_single_table(io.BytesIO(content)).to_table()


def test_tabledata_and_binary2_exports_hold_the_same_rows(golden_service):
    tables = {}
    for serialization in ("tabledata", "binary2"):
        response = httpx.get(
            f"{golden_service}/obsportal/export.votable", params={"serialization": serialization}
        )
        assert response.status_code == 200
        assert "attachment" in response.headers["content-disposition"]
        assert f"<{serialization.upper()}>".encode() in response.content
        tables[serialization] = _table(response.content)
    text, binary = tables["tabledata"], tables["binary2"]
    assert len(text) == len(binary) == 42
    assert text.colnames == binary.colnames == [column.field.name for column in ALL_COLUMNS]
    for name in text.colnames:
        assert list(text[name]) == list(binary[name]), name


def test_export_filters_like_search(golden_service):
    response = httpx.get(
        f"{golden_service}/obsportal/export.votable",
        params={"instrument": "SPICA", "serialization": "BINARY2"},
    )
    table = _table(response.content)
    assert sorted(table["target_name"]) == ["eps Per", "eps Per", "hd79929"]


def test_csv_export(golden_service):
    response = httpx.get(f"{golden_service}/obsportal/export.csv", params={"target": "IRS9A"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 31
    assert list(rows[0]) == [column.field.name for column in ALL_COLUMNS]
    first = next(row for row in rows if row["exp_id"] == "GRAVI.2019-02-16T04:26:53.206_1")
    assert first["exp_projected_baselines"].startswith(
        "{'U1-U2': {'length': {'start': '50.1590', 'end': '50.0840'}"
    )
    assert first["target_ra"] == "168.790967"


@pytest.mark.parametrize(
    ("path", "parameters", "parameter"),
    [
        ("export.votable", {"serialization": "fits"}, "serialization"),
        ("export.votable", {"ra": "1", "dec": "100"}, "dec"),
        ("export.csv", {"mjd_to": "soon"}, "mjd_to"),
    ],
)
def test_bad_export_parameters_are_400(golden_service, path, parameters, parameter):
    response = httpx.get(f"{golden_service}/obsportal/{path}", params=parameters)
    assert response.status_code == 400
    assert not response.headers["content-type"].startswith("text/plain")
    assert parameter in response.text


@pytest.fixture(scope="module")
def large_service(new_database):
    url = migrated_database(new_database, "search_export")
    positions = catalogue_factory.uniform_positions(STREAM_ROWS, random.Random(3))
    with connect(url) as connection:
        catalogue_factory.load(connection, catalogue_factory.synthetic_rows(positions))
    with running_service(url) as server:
        yield url, server


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1])


def _open_transactions(url: str) -> int:
    with connect(url) as connection:
        return connection.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND xact_start IS NOT NULL"
            " AND pid <> pg_backend_pid()"
        ).fetchone()[0]


def test_export_streams_in_constant_memory(large_service):
    _, server = large_service
    before = _rss_kib(server.pid)
    peak = before
    size = 0
    with httpx.stream("GET", f"{server.url}/obsportal/export.votable", timeout=120) as response:
        assert "content-length" not in response.headers  # chunked: sent while produced
        for chunk in response.iter_bytes():
            size += len(chunk)
            peak = max(peak, _rss_kib(server.pid))
    assert size > 50_000_000
    assert peak - before < 60_000, f"server grew by {(peak - before) // 1024} MiB"


def test_first_bytes_leave_before_the_query_is_read(large_service):
    """The header and first rows arrive while the server-side cursor still holds the rest."""
    url, server = large_service
    with httpx.stream("GET", f"{server.url}/obsportal/export.votable", timeout=60) as response:
        chunks = response.iter_bytes()  # dropping this iterator would close the response
        first = next(chunks)
        assert first.startswith(b"<?xml") and b"<FIELD" in first
        time.sleep(0.5)
        # At least the export's cursor (a previous test's connection may still be closing).
        assert _open_transactions(url) >= 1
        chunks.close()
    # The client went away mid-stream: the cursor is closed and its connection returned.
    deadline = time.monotonic() + 10
    while _open_transactions(url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _open_transactions(url) == 0
    assert httpx.get(f"{server.url}/health").status_code == 200


def test_binary2_sends_ascii_texts_as_char(golden_service):
    # Ids, header values, baselines and dates are ASCII by construction: one byte per character
    # in BINARY2 (unicodeChar would be UTF-16); free texts such as target names stay Unicode.
    response = httpx.get(
        f"{golden_service}/obsportal/export.votable", params={"serialization": "binary2"}
    )
    table = parse_single_table(io.BytesIO(response.content))
    datatypes = {field.name: field.datatype for field in table.fields}

    assert datatypes["exp_projected_baselines"] == datatypes["exp_date_updated"] == "char"
    assert datatypes["exp_id"] == datatypes["instrument_name"] == "char"
    assert datatypes["target_name"] == datatypes["obs_program_title"] == "unicodeChar"
    tabledata = httpx.get(f"{golden_service}/obsportal/export.votable").content
    assert len(response.content) < 1.5 * len(tabledata)

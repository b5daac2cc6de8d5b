"""TAP uploads: the UPLOAD parameter, VOTables as temporary tables, uploads by URL.

Unit-level tests call ``tap.services.uploads`` on the real query engine (read-only role, pooled
connections); the service-level ones send what pyvo and TOPCAT send to a real ``tap serve``.
URL uploads come from a real HTTP server on a free loopback port.
"""

import http.client
import io
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest
import pyvo
import uvicorn
from astropy.io.votable import parse as parse_votable
from astropy.io.votable.tree import VOTableFile
from astropy.table import MaskedColumn, Table
from sqlalchemy import text

from jmmc_core.errors import InvalidParameter
from jmmc_devtools.pgcluster import free_port
from tap.main import create_app
from tap.services.uploads import (
    UploadSpec,
    checked_address,
    fetch_upload_url,
    load_uploads,
    parse_upload_parameter,
)
from tap.storage.query_engine import create_query_engine

from .conftest import connect

# -- Documents -----------------------------------------------------------------------------------


def votable_bytes(table: Table, serialization: str = "tabledata", **xtypes: str) -> bytes:
    """``table`` as a VOTable document; astropy cannot set a FIELD's xtype from a Table."""
    document = VOTableFile.from_table(table)
    for field in document.get_first_table().fields:
        field.xtype = xtypes.get(field.name)
        if field.datatype in ("short", "int", "long"):
            field.values.null = -1  # BINARY needs one for masked integers
    buffer = io.BytesIO()
    document.to_xml(buffer, tabledata_format=serialization)
    return buffer.getvalue()


def targets_table() -> Table:
    """Three targets: two masked cells, a position column (DALI point) and an array."""
    table = Table()
    table["name"] = ["alpha", "beta", "gamma"]
    table["ra"] = np.array([10.5, 200.25, 359.0])
    table["ra"].unit = "deg"
    table["ra"].meta["ucd"] = "pos.eq.ra"
    table["dec"] = np.array([-20.0, 45.125, 0.0])
    table["dec"].unit = "deg"
    table["magnitude"] = MaskedColumn([1.5, 2.5, 3.5], mask=[False, True, False], dtype="f4")
    table["count"] = MaskedColumn([1, 2, 3], mask=[False, False, True], dtype="i8")
    table["flag"] = np.array([True, False, True])
    table["pos"] = np.array([[10.5, -20.0], [200.25, 45.125], [359.0, 0.0]])
    table["weights"] = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype="i2")
    return table


def targets_votable(serialization: str = "tabledata") -> bytes:
    return votable_bytes(targets_table(), serialization, pos="point")


# -- The UPLOAD parameter ------------------------------------------------------------------------


def test_upload_parameter_lists_tables_and_sources():
    specs = parse_upload_parameter(" t1,param:part1 ; Cat,https://example.org/x.vot?a=1;")
    assert specs == (
        UploadSpec("t1", "param:part1"),
        UploadSpec("Cat", "https://example.org/x.vot?a=1"),
    )
    assert specs[0].part == "part1" and specs[1].part is None
    assert specs[1].table_name == "cat"
    assert parse_upload_parameter(None) == () and parse_upload_parameter(" ") == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("t1", "is not of the form table_name,param:part_name"),
        ("t1,", "is not of the form"),
        (",param:x", "is not of the form"),
        ("1t,param:x", "'1t' is not a valid table name"),
        ("my table,param:x", "not a valid table name"),
        ('"t",param:x', "not a valid table name"),
        ("select,param:x", "'select' is an ADQL reserved word"),
        ("t,param:a;T,param:b", "the table name 'T' is given twice"),
        ("t,param:", "'param:' must be followed by the name of a part"),
        ("t,ftp://example.org/x.vot", "neither param:<part> nor an http or https URL"),
        ("t,file:///etc/passwd", "neither param:<part> nor an http or https URL"),
        ("t,x.vot", "neither param:<part> nor an http or https URL"),
        ("t,http://", "neither param:<part> nor an http or https URL"),
        ("t,http://[::1/x.vot", "'http://\\[::1/x.vot' is not a valid URL"),
        ("t,http://example.org:99999/x.vot", "is not a valid URL"),
        ("t,http://example.org:port/x.vot", "is not a valid URL"),
    ],
)
def test_malformed_upload_parameter_is_refused(value, message):
    with pytest.raises(InvalidParameter, match=message) as refused:
        parse_upload_parameter(value)
    assert refused.value.parameter == "UPLOAD"


# -- Loading into temporary tables ---------------------------------------------------------------


@pytest.fixture(scope="module")
def query_engine(tap_settings):
    """The service's query engine with one pooled connection, so its reuse is observable."""
    engine = create_query_engine(tap_settings.model_copy(update={"query_pool_size": 1}))
    yield engine
    engine.dispose()


def load(engine, settings, specs, files):
    connection = engine.connect()
    return connection, load_uploads(connection, specs, files, settings)


@pytest.mark.parametrize("serialization", ["tabledata", "binary", "binary2"])
def test_an_uploaded_votable_becomes_a_typed_temporary_table(
    query_engine, tap_settings, serialization
):
    specs = parse_upload_parameter("Targets,param:part")
    with query_engine.connect() as connection:
        (table,) = load_uploads(
            connection, specs, {"part": targets_votable(serialization)}, tap_settings
        )
        assert table.schema_name == "TAP_UPLOAD" and table.name == "TAP_UPLOAD.Targets"
        assert [column.name for column in table.columns] == [
            "name", "ra", "dec", "magnitude", '"count"', "flag", "pos", "weights",
        ]  # fmt: skip
        ra, pos = table.column("RA"), table.column("pos")
        assert (ra.datatype, ra.unit, ra.ucd) == ("double", "deg", "pos.eq.ra")
        assert (pos.datatype, pos.arraysize, pos.xtype) == ("double", "2", "point")
        assert table.column('"count"').datatype == "long"
        rows = connection.execute(
            text(
                'SELECT name, ra, magnitude, "count", flag, weights,'
                " degrees(long(pos)), degrees(lat(pos)) FROM pg_temp.targets ORDER BY ra"
            )
        ).all()
        types = connection.execute(
            text(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = 'pg_temp.targets'::regclass AND attnum > 0 ORDER BY attnum"
            )
        ).all()
    assert rows[0] == ("alpha", 10.5, 1.5, 1, True, [1, 2, 3], pytest.approx(10.5), -20.0)
    assert rows[1][2] is None  # masked float
    assert rows[2][3] is None  # masked long
    assert rows[1][6:] == (pytest.approx(200.25), pytest.approx(45.125))
    assert dict(types) == {
        "name": "text", "ra": "double precision", "dec": "double precision",
        "magnitude": "real", "count": "bigint", "flag": "boolean", "pos": "spoint",
        "weights": "smallint[]",
    }  # fmt: skip


def test_geometry_columns_work_with_pg_sphere_operators(query_engine, tap_settings):
    table = Table()
    table["id"] = [1, 2]
    table["circ"] = np.array([[10.0, 20.0, 1.0], [100.0, -30.0, 0.5]])
    table["poly"] = np.array([[9.0, 19.0, 11.0, 19.0, 10.0, 21.0], [0.0, 0.0, 1.0, 0.0, 1.0, 1.0]])
    content = votable_bytes(table, circ="circle", poly="polygon")
    with query_engine.connect() as connection:
        load_uploads(connection, parse_upload_parameter("g,param:g"), {"g": content}, tap_settings)
        inside = connection.execute(
            text(
                "SELECT id, spoint(radians(10.0), radians(20.0)) <@ circ,"
                " spoint(radians(10.0), radians(20.0)) <@ poly, degrees(radius(circ))"
                " FROM pg_temp.g ORDER BY id"
            )
        ).all()
    assert inside == [(1, True, True, pytest.approx(1.0)), (2, False, False, pytest.approx(0.5))]


VARIABLE_ARRAYS = b"""<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="id" datatype="int"/>
<FIELD name="counts" datatype="int" arraysize="*"><VALUES null="-1"/></FIELD>
<FIELD name="region" datatype="double" arraysize="*" xtype="polygon" unit="deg"/>
<FIELD name="grade" datatype="char" arraysize="1"/>
<DATA><TABLEDATA>
<TR><TD>1</TD><TD>1 -1 3</TD><TD>9 19 11 19 10 21</TD><TD>A</TD></TR>
<TR><TD>2</TD><TD></TD><TD></TD><TD></TD></TR>
<TR><TD>3</TD><TD>4</TD><TD>0 0 1 0 1 1 0 1</TD><TD>C</TD></TR>
</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"""


def test_variable_length_arrays_and_polygons(query_engine, tap_settings):
    with query_engine.connect() as connection:
        (table,) = load_uploads(
            connection, parse_upload_parameter("v,param:v"), {"v": VARIABLE_ARRAYS}, tap_settings
        )
        rows = connection.execute(
            text("SELECT id, counts, npoints(region), grade FROM pg_temp.v ORDER BY id")
        ).all()
    assert rows == [(1, [1, None, 3], 3, "A"), (2, None, None, ""), (3, [4], 4, "C")]
    # arraysize="1" is deprecated (VOTable 1.3 erratum 3): no arraysize says the same.
    assert table.column("grade").arraysize is None
    region = table.column("region")
    assert (region.datatype, region.arraysize, region.xtype, region.unit) == (
        "double", "*", "polygon", "deg",
    )  # fmt: skip


def test_the_temporary_table_is_gone_when_the_connection_returns_to_the_pool(
    query_engine, tap_settings
):
    with query_engine.connect() as connection:
        load_uploads(
            connection, parse_upload_parameter("t,param:p"), {"p": targets_votable()}, tap_settings
        )
        first_backend = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        assert connection.execute(text("SELECT to_regclass('pg_temp.t')")).scalar() is not None
    with query_engine.connect() as connection:
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar() == first_backend
        assert connection.execute(text("SELECT to_regclass('pg_temp.t')")).scalar() is None
        # And the connection is back to read-only.
        assert connection.execute(text("SHOW transaction_read_only")).scalar() == "on"


def test_an_upload_saved_to_a_file_loads_like_an_inline_one(query_engine, tap_settings, tmp_path):
    saved = tmp_path / "t.vot"
    saved.write_bytes(targets_votable("binary2"))
    with query_engine.connect() as connection:
        load_uploads(connection, parse_upload_parameter("t,param:p"), {"p": saved}, tap_settings)
        assert connection.execute(text("SELECT count(*) FROM pg_temp.t")).scalar() == 3


STREAM_TO_A_FILE = b"""<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="x" datatype="int"/><DATA><BINARY><STREAM href="file:///etc/passwd"/></BINARY></DATA>
</TABLE></RESOURCE></VOTABLE>"""

NO_TABLE = b"""<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE/></VOTABLE>"""

COMPLEX_COLUMN = b"""<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="z" datatype="doubleComplex"/><DATA><TABLEDATA><TR><TD>1 2</TD></TR></TABLEDATA>
</DATA></TABLE></RESOURCE></VOTABLE>"""

BAD_POLYGON = b"""<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="p" datatype="double" arraysize="*" xtype="polygon"/><DATA><TABLEDATA>
<TR><TD>0 0 1 0 1 1</TD></TR><TR><TD>0 0 1</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE>
</VOTABLE>"""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ra,dec\n1,2\n", r"table 't': the upload is not a readable VOTable \(.+\)"),
        (b"<html><body>Not found</body></html>", "the upload is not a readable VOTable"),
        (b"", "the upload is not a readable VOTable"),
        (NO_TABLE, r"not a readable VOTable \(it holds no TABLE\)"),
        (STREAM_TO_A_FILE, "data streams pointing outside the document are not supported"),
        (COMPLEX_COLUMN, "column 'z' has the datatype doubleComplex, which this service cannot"),
        (BAD_POLYGON, "table 't': row 2, column p holds a value that does not fit"),
    ],
)
def test_a_part_that_is_not_a_usable_votable_is_refused(
    query_engine, tap_settings, content, message
):
    with query_engine.connect() as connection:
        with pytest.raises(InvalidParameter, match=message) as refused:
            load_uploads(connection, parse_upload_parameter("t,param:p"), {"p": content},
                         tap_settings)  # fmt: skip
        assert refused.value.parameter == "UPLOAD"
        # Nothing was left behind, and the connection is usable.
        assert connection.execute(text("SELECT to_regclass('pg_temp.t')")).scalar() is None


def test_a_missing_part_is_named(query_engine, tap_settings):
    missing = "table 't': the request has no part named 'p'"
    with query_engine.connect() as connection, pytest.raises(InvalidParameter, match=missing):
        load_uploads(connection, parse_upload_parameter("t,param:p"), {}, tap_settings)


def test_an_upload_over_the_limit_is_refused(query_engine, tap_settings, tmp_path):
    content = targets_votable()
    small = tap_settings.model_copy(update={"upload_limit_bytes": len(content) - 1})
    saved = tmp_path / "t.vot"
    saved.write_bytes(content)
    with query_engine.connect() as connection:
        for source in (content, saved):
            with pytest.raises(InvalidParameter, match="larger than this service's upload limit"):
                load_uploads(connection, parse_upload_parameter("t,param:p"), {"p": source}, small)


# -- A loopback HTTP server serving VOTables -----------------------------------------------------


@dataclass
class FileServer:
    url: str
    #: path -> body served with 200 (paths under /redirect/, /chunked/, /hang/ behave specially)
    files: dict[str, bytes]


_REDIRECTS = {
    "/loop": "/loop",
    "/to-ftp": "ftp://example.org/x.vot",
    "/to-nowhere": "http://example.org:99999/x.vot",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        files = self.server.files
        if self.path.startswith(("/redirect/", *_REDIRECTS)):
            self.send_response(302)
            self.send_header(
                "Location", _REDIRECTS.get(self.path, self.path.removeprefix("/redirect"))
            )
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/hang/"):
            self.server.release.wait()  # until the test is over: the client must give up
        elif self.path.startswith("/chunked/") and self.path.removeprefix("/chunked") in files:
            # No Content-Length: the size is only known by reading.
            body = files[self.path.removeprefix("/chunked")]
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 1000):
                piece = body[start : start + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path in files:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-votable+xml")
            self.send_header("Content-Length", str(len(files[self.path])))
            self.end_headers()
            self.wfile.write(files[self.path])
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def file_server() -> Iterator[FileServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.files = {"/targets.vot": targets_votable(), "/not-a-votable": b"plain text"}
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FileServer(f"http://127.0.0.1:{server.server_port}", server.files)
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


# -- Uploads by URL ------------------------------------------------------------------------------


def test_an_upload_by_url_is_fetched_and_loaded(query_engine, tap_settings, file_server):
    assert tap_settings.upload_allow_private_urls  # loopback allowed in tests only
    specs = parse_upload_parameter(
        f"a,{file_server.url}/targets.vot;b,{file_server.url}/redirect/targets.vot;"
        f"c,{file_server.url}/chunked/targets.vot"
    )
    with query_engine.connect() as connection:
        tables = load_uploads(connection, specs, {}, tap_settings)
        counts = [
            connection.execute(text(f"SELECT count(*) FROM pg_temp.{name}")).scalar()
            for name in "abc"
        ]
    assert [table.name for table in tables] == ["TAP_UPLOAD.a", "TAP_UPLOAD.b", "TAP_UPLOAD.c"]
    assert counts == [3, 3, 3]


def test_an_upload_by_url_that_fails_is_explained(tap_settings, file_server):
    quick = tap_settings.model_copy(update={"upload_url_timeout_seconds": 0.5})
    cases = {
        "/missing.vot": "answered HTTP status 404",
        "/hang/x": "did not answer within 0.5 s",
        "/not-a-votable": "the upload is not a readable VOTable",
        "/loop": "redirects more than 5 times",
        "/to-ftp": "redirects to ftp://example.org/x.vot; only http and https URLs are fetched",
        "/to-nowhere": "/to-nowhere redirects to an invalid URL",
    }
    for path, message in cases.items():
        (spec,) = parse_upload_parameter(f"t,{file_server.url}{path}")
        engine = create_query_engine(quick)
        with engine.connect() as connection, pytest.raises(InvalidParameter, match=message):
            load_uploads(connection, [spec], {}, quick)
        engine.dispose()


def test_an_upload_by_url_over_the_limit_is_refused_while_reading(tap_settings, file_server):
    size = len(file_server.files["/targets.vot"])
    small = tap_settings.model_copy(update={"upload_limit_bytes": size - 1})
    for path in ("/targets.vot", "/chunked/targets.vot"):
        (spec,) = parse_upload_parameter(f"t,{file_server.url}{path}")
        with pytest.raises(InvalidParameter, match="larger than this service's upload limit"):
            fetch_upload_url(spec, small)


def test_a_closed_port_is_unreachable(tap_settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (spec,) = parse_upload_parameter(f"t,http://127.0.0.1:{port}/x.vot")
    with pytest.raises(InvalidParameter, match=f"127.0.0.1:{port}/x.vot could not be reached"):
        fetch_upload_url(spec, tap_settings)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.vot",
        "http://127.1.2.3:8080/x.vot",
        "http://10.0.0.1/x.vot",
        "http://172.16.5.4/x.vot",
        "http://192.168.1.1/x.vot",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/x.vot",
        "http://100.64.0.1/x.vot",
        "http://224.0.0.1/x.vot",
        "http://[::1]/x.vot",
        "http://[::ffff:127.0.0.1]/x.vot",
        "http://[::ffff:10.0.0.1]/x.vot",
        "http://[fe80::1]/x.vot",
        "http://[fd00::1]/x.vot",
        "http://[::]/x.vot",
        "https://localhost/x.vot",
        "http://LOCALHOST:9/x.vot",
        "http://2130706433/x.vot",  # 127.0.0.1 written as a number
        "http://0x7f000001/x.vot",
    ],
)
def test_private_addresses_are_refused_unless_allowed(tap_settings, url):
    public_only = tap_settings.model_copy(update={"upload_allow_private_urls": False})
    (spec,) = parse_upload_parameter(f"cat,{url}")
    message = "table 'cat': .* is on a private or loopback address; this service does not fetch"
    with pytest.raises(InvalidParameter, match=message):
        checked_address(spec, url)
    with pytest.raises(InvalidParameter, match=message):
        fetch_upload_url(spec, public_only)


def test_a_name_that_does_not_resolve_is_explained(tap_settings):
    public_only = tap_settings.model_copy(update={"upload_allow_private_urls": False})
    (spec,) = parse_upload_parameter("t,http://no-such-host.invalid/x.vot")
    with pytest.raises(InvalidParameter, match="has a host name that does not resolve"):
        fetch_upload_url(spec, public_only)


def test_a_private_upload_url_is_refused_before_any_request(tap_settings, file_server):
    public_only = tap_settings.model_copy(update={"upload_allow_private_urls": False})
    (spec,) = parse_upload_parameter(f"t,{file_server.url}/targets.vot")
    with pytest.raises(InvalidParameter, match="private or loopback address"):
        fetch_upload_url(spec, public_only)


# -- Through the service -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def known_targets(tap_database) -> list[tuple[str, float, float, int]]:
    """Two demo targets with their exposure counts within 1 arcsec, and a position far from all."""
    with connect(tap_database) as connection:
        rows = connection.execute(
            "SELECT target_ra, target_dec, count(*) FROM obsportal.exposures"
            " GROUP BY target_ra, target_dec ORDER BY count(*) DESC, target_ra LIMIT 2"
        ).fetchall()
        far = connection.execute(
            "SELECT count(*) FROM obsportal.exposures"
            " WHERE position <@ scircle(spoint(radians(1.0), radians(-89.0)), radians(1.0/3600))"
        ).fetchone()[0]
    assert far == 0
    return [("first", *rows[0]), ("second", *rows[1]), ("nowhere", 1.0, -89.0, 0)]


def crossmatch_table(targets) -> Table:
    table = Table()
    table["name"] = [name for name, *_ in targets]
    table["ra"] = [ra for _, ra, _, _ in targets]
    table["dec"] = [dec for _, _, dec, _ in targets]
    return table


CROSSMATCH = (
    "SELECT t.name, COUNT(*) AS n FROM TAP_UPLOAD.mine AS t JOIN obsportal.exposures AS e"
    " ON 1 = CONTAINS(POINT('ICRS', e.target_ra, e.target_dec),"
    " CIRCLE('ICRS', t.ra, t.dec, 1.0/3600)) GROUP BY t.name ORDER BY t.name"
)


def expected_counts(targets) -> dict[str, int]:
    return {name: count for name, _, _, count in targets if count}


def test_pyvo_crossmatches_an_uploaded_table_with_the_exposures(tap_server, known_targets):
    service = pyvo.dal.TAPService(tap_server.tap_url)
    result = service.run_sync(CROSSMATCH, uploads={"mine": crossmatch_table(known_targets)})
    assert dict(zip(result["name"], result["n"], strict=True)) == expected_counts(known_targets)


def test_pyvo_uploads_a_position_column_for_contains(tap_server, known_targets):
    """A DALI point column (xtype point) becomes a pg_sphere point CONTAINS can use."""
    table = crossmatch_table(known_targets)
    table["pos"] = np.array([[ra, dec] for _, ra, dec, _ in known_targets])
    content = votable_bytes(table, "binary2", pos="point")
    query = (
        "SELECT t.name, COUNT(*) AS n FROM TAP_UPLOAD.mine AS t JOIN obsportal.exposures AS e"
        ' ON 1 = CONTAINS(e."position", CIRCLE(t.pos, 1.0/3600)) GROUP BY t.name ORDER BY t.name'
    )
    service = pyvo.dal.TAPService(tap_server.tap_url)
    result = service.run_sync(query, uploads={"mine": io.BytesIO(content)})
    assert dict(zip(result["name"], result["n"], strict=True)) == expected_counts(known_targets)
    echoed = service.run_sync(
        "SELECT pos FROM TAP_UPLOAD.mine WHERE name = 'first'",
        uploads={"mine": io.BytesIO(content)},
    )
    _, ra, dec, _ = known_targets[0]
    assert [field.xtype for field in echoed.fielddescs] == ["point"]
    assert list(echoed["pos"][0]) == [pytest.approx(ra), pytest.approx(dec)]


def test_pyvo_runs_an_async_query_with_an_upload(tap_service, known_targets):
    service = pyvo.dal.TAPService(tap_service.tap_url)
    result = service.run_async(CROSSMATCH, uploads={"mine": crossmatch_table(known_targets)})
    assert dict(zip(result["name"], result["n"], strict=True)) == expected_counts(known_targets)


TOPCAT_BOUNDARY = "<<<--------------MULTIPART-BOUNDARY------->>>"


def topcat_body(parameters: dict[str, str], tables: dict[str, bytes]) -> bytes:
    """A multipart form as TOPCAT writes it (STIL's UwsJob): CRLF before every boundary."""
    body = bytearray()
    for name, value in parameters.items():
        body += f"\r\n--{TOPCAT_BOUNDARY}\r\n".encode()
        body += b"Content-Type: text/plain; charset=UTF-8\r\n"
        body += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        body += value.encode()
    for name, content in tables.items():
        body += f"\r\n--{TOPCAT_BOUNDARY}\r\n".encode()
        body += f'Content-Disposition: form-data; name="{name}"; filename="{name}"\r\n'.encode()
        body += b"Content-Type: application/x-votable+xml\r\n\r\n"
        body += content
    body += f"\r\n--{TOPCAT_BOUNDARY}--\r\n".encode()
    return bytes(body)


def post_chunked(url: str, path: str, body: bytes, chunk_size: int) -> tuple[int, bytes]:
    """POST ``body`` with ``Transfer-Encoding: chunked`` through a raw socket, as Java does."""
    host, port = url.removeprefix("http://").split("/", 1)[0].split(":")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: STIL/4.3\r\n"
        f'Content-Type: multipart/form-data; boundary="{TOPCAT_BOUNDARY}"\r\n'
        "Transfer-Encoding: chunked\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(head.encode())
        for start in range(0, len(body), chunk_size):
            chunk = body[start : start + chunk_size]
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        connection.sendall(b"0\r\n\r\n")
        answer = bytearray()
        while data := connection.recv(65536):
            answer += data
    return read_answer(bytes(answer))


class _ReceivedAnswer:
    """What ``http.client`` needs to read an answer already received."""

    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    def makefile(self, *_args) -> io.BytesIO:
        return io.BytesIO(self._raw)


def read_answer(raw: bytes) -> tuple[int, bytes]:
    """The status and (de-chunked) body of a raw HTTP/1.1 answer."""
    response = http.client.HTTPResponse(_ReceivedAnswer(raw))
    response.begin()
    return response.status, response.read()


def test_topcat_chunked_upload_with_its_odd_boundary_is_parsed(tap_server, known_targets):
    parameters = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": CROSSMATCH,
                  "UPLOAD": "mine,param:upload1"}  # fmt: skip
    body = topcat_body(parameters, {"upload1": votable_bytes(crossmatch_table(known_targets))})
    # Chunk boundaries fall anywhere, even inside the multipart boundary.
    status, answer = post_chunked(tap_server.url, "/tap/sync", body, chunk_size=37)
    assert status == 200, answer[:2000]
    result = parse_votable(io.BytesIO(answer), verify="exception")
    rows = result.get_first_table().to_table()
    assert dict(zip(rows["name"], rows["n"], strict=True)) == expected_counts(known_targets)
    assert result.resources[0].infos[0].name == "QUERY_STATUS"
    assert result.resources[0].infos[0].value == "OK"


def test_an_upload_by_url_through_the_service(tap_server, file_server):
    response = httpx.post(
        f"{tap_server.tap_url}/sync",
        data={
            "REQUEST": "doQuery", "LANG": "ADQL",
            "QUERY": "SELECT name, pos FROM TAP_UPLOAD.cat ORDER BY name",
            "UPLOAD": f"cat,{file_server.url}/targets.vot",
        },
    )  # fmt: skip
    assert response.status_code == 200, response.text
    rows = parse_votable(io.BytesIO(response.content)).get_first_table().to_table()
    assert list(rows["name"]) == ["alpha", "beta", "gamma"]
    assert list(rows["pos"][1]) == [pytest.approx(200.25), pytest.approx(45.125)]


def dali_error(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith(("application/x-votable+xml", "text/xml"))
    document = parse_votable(io.BytesIO(response.content))
    status = next(info for info in document.resources[0].infos if info.name == "QUERY_STATUS")
    assert status.value == "ERROR"
    return status.content


@pytest.mark.parametrize(
    ("upload", "files", "message"),
    [
        ("mine", {}, "UPLOAD: 'mine' is not of the form table_name,param:part_name"),
        ("1mine,param:p", {"p": b"x"}, "UPLOAD: '1mine' is not a valid table name"),
        ("mine,ftp://example.org/x", {}, "neither param:<part> nor an http or https URL"),
        ("mine,param:p", {}, "UPLOAD: table 'mine': the request has no part named 'p'"),
        ("mine,param:p", {"p": b"name,ra\nx,1\n"}, "table 'mine': the upload is not a readable"),
    ],
)
def test_a_bad_upload_is_a_dali_error(tap_server, upload, files, message):
    response = httpx.post(
        f"{tap_server.tap_url}/sync",
        data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.mine",
              "UPLOAD": upload},
        files={name: (name, content, "application/x-votable+xml")
               for name, content in files.items()} or None,
    )  # fmt: skip
    assert response.status_code == 400
    assert message in dali_error(response)


def test_an_uploaded_table_is_gone_for_the_next_query(tap_server, known_targets):
    service = pyvo.dal.TAPService(tap_server.tap_url)
    service.run_sync(CROSSMATCH, uploads={"mine": crossmatch_table(known_targets)})
    response = httpx.post(
        f"{tap_server.tap_url}/sync",
        data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.mine"},
    )
    assert response.status_code == 400
    assert "unknown table" in dali_error(response)


# -- The bound on request bodies -----------------------------------------------------------------


@pytest.fixture(scope="module")
def small_upload_server(tap_settings) -> Iterator[str]:
    """The TAP app with a 10 kB upload limit behind its request bound, served by uvicorn."""
    settings = tap_settings.model_copy(update={"upload_limit_bytes": 10_000})
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the TAP app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join()


def test_a_request_body_over_the_limit_is_refused_while_streaming(small_upload_server):
    parameters = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t",
                  "UPLOAD": "t,param:t"}  # fmt: skip
    message = "UPLOAD: the request is larger than this service accepts: uploaded tables may total"
    declared = httpx.post(
        f"{small_upload_server}/tap/sync", data=parameters,
        files={"t": ("t", b"x" * (2 * 1024 * 1024), "application/x-votable+xml")},
    )  # fmt: skip
    assert declared.status_code == 413
    assert message in dali_error(declared)
    # Chunked, as TOPCAT sends: the size is only known by reading.
    body = topcat_body(parameters, {"t": b"x" * (2 * 1024 * 1024)})
    streamed = httpx.post(
        f"{small_upload_server}/tap/sync",
        content=(body[start : start + 65536] for start in range(0, len(body), 65536)),
        headers={"Content-Type": f'multipart/form-data; boundary="{TOPCAT_BOUNDARY}"'},
    )
    assert streamed.status_code == 413
    assert message in dali_error(streamed)


def test_an_upload_within_the_limit_passes_the_bound(small_upload_server, known_targets):
    body = topcat_body(
        {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": CROSSMATCH, "UPLOAD": "mine,param:m"},
        {"m": votable_bytes(crossmatch_table(known_targets))},
    )
    status, answer = post_chunked(small_upload_server, "/tap/sync", body, chunk_size=1000)
    assert status == 200, answer[:2000]
    rows = parse_votable(io.BytesIO(answer)).get_first_table().to_table()
    assert dict(zip(rows["name"], rows["n"], strict=True)) == expected_counts(known_targets)

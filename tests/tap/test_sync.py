"""TAP ``/sync`` on a real ``tap serve``: parameters, MAXREC and OVERFLOW, every format, typed
FIELDs, geometry in degrees, errors a person can read, the statement timeout."""

import csv
import io
import subprocess
import time

import httpx
import pytest
from astropy.io.votable import parse
from lxml import etree

from .conftest import Server, connect

EXPOSURES = "obsportal.exposures"
#: Rows of a query whose row count the tests know.
FIVE = f"SELECT TOP 5 exp_id, target_ra FROM {EXPOSURES} ORDER BY exp_id"
NAMESPACES = {"v": "http://www.ivoa.net/xml/VOTable/v1.3"}
#: What a message must not show: driver text, translated SQL, roles, PostgreSQL's error position.
LEAKS = ("psycopg", "traceback", '"obsportal".', "pg_catalog", "tap_reader", "line 1", "^")


def sync(server: Server, method: str = "POST", **parameters: str) -> httpx.Response:
    url = f"{server.tap_url}/sync"
    if method == "GET":
        return httpx.get(url, params=parameters, timeout=120)
    return httpx.post(url, data=parameters, timeout=120)


def table_of(response: httpx.Response):
    """The first table of a VOTable answer, checked strictly against the standard."""
    return parse(io.BytesIO(response.content), verify="exception").get_first_table()


def statuses(response: httpx.Response) -> list[tuple[str, str]]:
    """Every ``QUERY_STATUS`` INFO in document order, with its text."""
    document = etree.fromstring(response.content)
    return [
        (info.get("value"), (info.text or "").strip())
        for info in document.iter("{*}INFO")
        if info.get("name") == "QUERY_STATUS"
    ]


def votlint(document: bytes, tmp_path) -> subprocess.CompletedProcess[str]:
    """STILTS votlint, validating against the VOTable schema, on ``document``."""
    path = tmp_path / "result.xml"
    path.write_bytes(document)
    return subprocess.run(
        ["stilts", "votlint", f"votable={path}", "validate=true"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def error_message(response: httpx.Response) -> str:
    """The message of a DALI error answer, after checking what pyvo checks."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    [(status, message)] = statuses(response)
    assert status == "ERROR"
    assert message
    return message


def assert_readable(message: str) -> None:
    assert not any(leak in message.lower() for leak in LEAKS), message


# -- Parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_get_and_post_answer_the_same_votable(tap_server, method):
    response = sync(tap_server, method, LANG="ADQL", QUERY=FIVE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    table = table_of(response)
    assert len(table.array) == 5
    assert list(table.array["exp_id"]) == sorted(table.array["exp_id"])
    assert statuses(response) == [("OK", "")]


def test_request_is_optional_and_names_are_case_insensitive(tap_server):
    without = sync(tap_server, LANG="ADQL", QUERY=FIVE)
    with_request = sync(tap_server, REQUEST="doQuery", LANG="ADQL", QUERY=FIVE)
    lower = sync(tap_server, "GET", request="doQuery", lang="adql", query=FIVE, maxrec="5")
    mixed = httpx.post(
        f"{tap_server.tap_url}/sync", data={"Query": FIVE, "Lang": "ADQL"}, timeout=60
    )
    assert without.status_code == with_request.status_code == lower.status_code == 200
    assert mixed.status_code == 200
    rows = [list(table_of(r).array["exp_id"]) for r in (without, with_request, lower, mixed)]
    assert rows[0] == rows[1] == rows[2] == rows[3]


def test_multipart_post_is_a_query_too(tap_server):
    response = httpx.post(
        f"{tap_server.tap_url}/sync",
        files={"QUERY": (None, FIVE), "LANG": (None, "ADQL")},
        timeout=60,
    )
    assert response.status_code == 200
    assert len(table_of(response).array) == 5


@pytest.mark.parametrize("lang", ["ADQL", "ADQL-2.0", "ADQL-2.1", "adql"])
def test_adql_versions_are_accepted(tap_server, lang):
    assert sync(tap_server, LANG=lang, QUERY=FIVE).status_code == 200


def test_lang_defaults_to_adql(tap_server):
    assert len(table_of(sync(tap_server, QUERY=FIVE)).array) == 5


def test_tap_versions_1_0_and_1_1_are_accepted(tap_server):
    for version in ("1.0", "1.1"):
        assert sync(tap_server, LANG="ADQL", QUERY=FIVE, VERSION=version).status_code == 200


# -- MAXREC and OVERFLOW --------------------------------------------------------------------------


def test_maxrec_zero_answers_the_columns_only(tap_server):
    response = sync(tap_server, LANG="ADQL", QUERY=f"SELECT * FROM {EXPOSURES}", MAXREC="0")
    table = table_of(response)
    assert len(table.array) == 0
    assert "exp_id" in [field.name for field in table.fields]
    assert ("ERROR", "") not in statuses(response)


def test_exactly_maxrec_rows_is_no_overflow(tap_server):
    response = sync(tap_server, LANG="ADQL", QUERY=FIVE, MAXREC="5")
    assert len(table_of(response).array) == 5
    assert statuses(response) == [("OK", "")]


def test_more_rows_than_maxrec_is_an_overflow_after_the_table(tap_server):
    response = sync(tap_server, LANG="ADQL", QUERY=FIVE, MAXREC="4")
    assert len(table_of(response).array) == 4
    assert statuses(response) == [("OK", ""), ("OVERFLOW", "")]
    document = etree.fromstring(response.content)
    [resource] = document.findall("v:RESOURCE", NAMESPACES)
    children = [child.get("value") or etree.QName(child).localname for child in resource]
    assert children.index("OVERFLOW") > children.index("TABLE")


def test_default_maxrec_applies_without_maxrec(tap_server, tap_settings):
    response = sync(tap_server, LANG="ADQL", QUERY=f"SELECT exp_id FROM {EXPOSURES}")
    rows = len(table_of(response).array)
    assert rows == min(879, tap_settings.default_maxrec)


# -- Formats --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "serialization"),
    [
        (None, "BINARY2"),
        ("votable", "BINARY2"),
        ("votable/td", "TABLEDATA"),
        ("votable/b", "BINARY"),
        ("votable/b2", "BINARY2"),
        ("application/x-votable+xml", "BINARY2"),
        ("application/x-votable+xml;serialization=TABLEDATA", "TABLEDATA"),
        ("text/xml", "BINARY2"),
        ("votable/td1.2", "TABLEDATA"),
    ],
)
def test_every_votable_alias_reads_back(tap_server, value, serialization):
    parameters = {"LANG": "ADQL", "QUERY": FIVE}
    if value is not None:
        parameters["RESPONSEFORMAT"] = value
    response = sync(tap_server, **parameters)
    assert response.status_code == 200
    assert serialization.encode() in response.content
    table = table_of(response)
    assert len(table.array) == 5
    assert all(isinstance(ra, float) for ra in table.array["target_ra"].tolist())


@pytest.mark.parametrize(
    ("value", "delimiter", "media_type"),
    [
        ("csv", ",", "text/csv"),
        ("text/csv", ",", "text/csv"),
        ("tsv", "\t", "text/tab-separated-values"),
        ("text/tab-separated-values", "\t", "text/tab-separated-values"),
    ],
)
def test_csv_and_tsv_read_back(tap_server, value, delimiter, media_type):
    response = sync(tap_server, LANG="ADQL", QUERY=FIVE, RESPONSEFORMAT=value)
    assert response.headers["content-type"].startswith(media_type)
    rows = list(csv.reader(io.StringIO(response.text), delimiter=delimiter))
    assert rows[0] == ["exp_id", "target_ra"]
    assert len(rows) == 6
    assert all(float(row[1]) >= 0 for row in rows[1:])


def test_format_is_an_alias_of_responseformat(tap_server):
    response = sync(tap_server, LANG="ADQL", QUERY=FIVE, FORMAT="csv")
    assert response.headers["content-type"].startswith("text/csv")


# -- Typed FIELDs and geometry ------------------------------------------------------------------


def test_published_columns_carry_their_tap_schema_metadata(tap_server):
    response = sync(
        tap_server,
        LANG="ADQL",
        QUERY=f"SELECT TOP 1 target_ra, exposure_time, exp_id FROM {EXPOSURES}",
        RESPONSEFORMAT="votable/td",
    )
    fields = {field.name: field for field in table_of(response).fields}
    assert fields["target_ra"].unit == "deg"
    assert fields["target_ra"].ucd == "pos.eq.ra;meta.main"
    assert fields["target_ra"].datatype == "double"
    assert fields["exposure_time"].unit == "s"
    assert fields["exp_id"].ucd == "meta.id;meta.main"
    assert fields["exp_id"].description


def test_expressions_are_typed_from_postgresql(tap_server):
    query = (
        f"SELECT TOP 1 COUNT(*) AS n, AVG(target_ra) AS mean_ra, MAX(exp_id) AS last_id,"
        f" 1 + 1 AS two FROM {EXPOSURES}"
    )
    response = sync(tap_server, LANG="ADQL", QUERY=query, RESPONSEFORMAT="votable/td")
    table = table_of(response)
    types = {field.name: field.datatype for field in table.fields}
    assert types["n"] == "long"
    assert types["mean_ra"] == "double"
    assert types["last_id"] in ("char", "unicodeChar")
    assert types["two"] in ("int", "long")
    assert table.array["n"][0] == 879


def test_geometry_leaves_as_dali_values_in_degrees(tap_server):
    query = (
        "SELECT TOP 1 \"position\", POINT('ICRS', target_ra, target_dec) AS point,"
        " CIRCLE('ICRS', target_ra, target_dec, 0.5) AS circle,"
        " POLYGON('ICRS', 10, 20, 11, 20, 11, 21) AS triangle, target_ra, target_dec"
        f" FROM {EXPOSURES} ORDER BY exp_id"
    )
    for serialization in ("votable/td", "votable/b2"):
        response = sync(tap_server, LANG="ADQL", QUERY=query, RESPONSEFORMAT=serialization)
        table = table_of(response)
        fields = {field.name: field for field in table.fields}
        assert fields["position"].xtype == "point"
        assert fields["point"].xtype == "point"
        assert fields["circle"].xtype == "circle"
        assert fields["triangle"].xtype == "polygon"
        row = table.array[0]
        ra, dec = float(row["target_ra"]), float(row["target_dec"])
        assert list(row["position"]) == pytest.approx([ra, dec], abs=1e-9)
        assert list(row["point"]) == pytest.approx([ra, dec], abs=1e-9)
        assert list(row["circle"]) == pytest.approx([ra, dec, 0.5], abs=1e-9)
        assert list(row["triangle"]) == pytest.approx([10, 20, 11, 20, 11, 21], abs=1e-9)


def test_a_result_passes_votlint(tap_server, tmp_path):
    query = (
        f'SELECT TOP 20 exp_id, "position", target_ra, date_updated, observation_id'
        f" FROM {EXPOSURES}"
    )
    for serialization in ("votable/td", "votable/b2"):
        response = sync(tap_server, LANG="ADQL", QUERY=query, RESPONSEFORMAT=serialization)
        lint = votlint(response.content, tmp_path)
        assert lint.returncode == 0, lint.stderr
        assert "ERROR" not in lint.stdout + lint.stderr, lint.stdout + lint.stderr


def test_uploaded_table_can_be_queried(tap_server):
    upload = b"""<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="id" datatype="int"/><FIELD name="ra" datatype="double" unit="deg"/>
<DATA><TABLEDATA><TR><TD>1</TD><TD>10.5</TD></TR><TR><TD>2</TD><TD>20.5</TD></TR></TABLEDATA>
</DATA></TABLE></RESOURCE></VOTABLE>"""
    response = httpx.post(
        f"{tap_server.tap_url}/sync",
        data={"LANG": "ADQL", "QUERY": "SELECT id, ra FROM TAP_UPLOAD.mine ORDER BY id",
              "UPLOAD": "mine,param:table1"},
        files={"table1": ("mine.xml", upload, "application/x-votable+xml")},
        timeout=60,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    table = table_of(response)
    assert table.array["ra"].tolist() == [10.5, 20.5]


# -- Errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"QUERY": "DUFF QUERY"}, "QUERY"),
        ({"QUERY": "SELECT * FROM obsportal.nowhere"}, "QUERY"),
        ({"QUERY": f"SELECT no_such_column FROM {EXPOSURES}"}, "QUERY"),
        ({"QUERY": f"SELECT frobnicate(target_ra) FROM {EXPOSURES}"}, "QUERY"),
        ({"QUERY": FIVE, "RESPONSEFORMAT": "image/png"}, "RESPONSEFORMAT"),
        ({"QUERY": FIVE, "MAXREC": "-1"}, "MAXREC"),
        ({"QUERY": FIVE, "MAXREC": "many"}, "MAXREC"),
        ({"QUERY": FIVE, "MAXREC": "99999999999999999999"}, "MAXREC"),
        ({"QUERY": FIVE, "VERSION": "2.0"}, "VERSION"),
        ({"QUERY": FIVE, "LANG": "SQL"}, "LANG"),
        ({"QUERY": FIVE, "REQUEST": "getTables"}, "REQUEST"),
        ({}, "QUERY"),
        ({"QUERY": "   "}, "QUERY"),
        ({"QUERY": FIVE, "UPLOAD": "t,param:missing"}, "UPLOAD"),
        ({"QUERY": FIVE, "UPLOAD": "t,file:///etc/passwd"}, "UPLOAD"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(tap_server, parameters, named):
    for method in ("GET", "POST"):
        message = error_message(sync(tap_server, method, **{"LANG": "ADQL", **parameters}))
        assert message.startswith(f"{named}:"), message
        assert_readable(message)


def test_unknown_table_and_column_are_named_in_the_message(tap_server):
    table = error_message(sync(tap_server, QUERY="SELECT * FROM obsportal.nowhere"))
    column = error_message(sync(tap_server, QUERY=f"SELECT no_such_column FROM {EXPOSURES}"))
    assert "nowhere" in table
    assert "no_such_column" in column


@pytest.mark.parametrize(
    ("query", "words"),
    [
        (f"SELECT TOP 1 1/0 AS x FROM {EXPOSURES}", "division by zero"),
        (f"SELECT TOP 1 CAST('abc' AS INTEGER) AS x FROM {EXPOSURES}", "invalid input"),
        (f"SELECT exp_id, COUNT(*) AS n FROM {EXPOSURES}", "GROUP BY"),
        (f"SELECT TOP 1 exp_id FROM {EXPOSURES} WHERE exp_id = 3", "text = integer"),
    ],
)
def test_database_errors_are_told_in_words(tap_server, query, words):
    message = error_message(sync(tap_server, QUERY=query))
    assert words in message
    assert_readable(message)


# -- The statement timeout ---------------------------------------------------------------------


def test_a_query_longer_than_the_sync_limit_is_stopped_with_advice(strict_tap_server):
    query = f"SELECT COUNT(*) AS n FROM {EXPOSURES} AS a, {EXPOSURES} AS b, {EXPOSURES} AS c"
    message = error_message(sync(strict_tap_server, QUERY=query))
    assert "longer than 1 s" in message
    assert "/tap/async" in message
    assert_readable(message)
    # The server goes on answering (the connection went back to the pool, reset).
    assert len(table_of(sync(strict_tap_server, QUERY=FIVE)).array) == 5


def test_a_client_going_away_ends_its_query(tap_server, tap_database):
    query = f"SELECT a.* FROM {EXPOSURES} AS a, {EXPOSURES} AS b"
    parameters = {"QUERY": query, "MAXREC": "500000", "RESPONSEFORMAT": "votable/td"}
    with httpx.stream("POST", f"{tap_server.tap_url}/sync", data=parameters, timeout=120) as r:
        assert r.status_code == 200
        assert next(r.iter_bytes()).startswith(b"<?xml")
    # The server notices when it next writes: the cursor is closed, the connection pooled.
    with connect(tap_database, autocommit=True) as connection:
        for _ in range(300):
            busy = connection.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = 'tap-query' AND state <> 'idle'"
            ).fetchone()[0]
            if busy == 0:
                break
            time.sleep(0.1)
        assert busy == 0

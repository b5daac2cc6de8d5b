"""TAP output formats: RESPONSEFORMAT/FORMAT values, the declared formats, and the same result
in every VOTable version and serialization, CSV and TSV, from a real ``tap serve``."""

from __future__ import annotations

import csv
import io
import math

import httpx
import numpy as np
import pytest
from astropy.io.votable import parse
from lxml import etree

from jmmc_core.errors import InvalidParameter
from tap.services.formats import DECLARED_FORMATS, DEFAULT_FORMAT, output_format

from .conftest import Server
from .test_sync import votlint

EXPOSURES = "obsportal.exposures"
#: Expressions null in a third of the rows, by column name.
SOMETIMES_NULL = {
    "int_or_null": "validation_level",
    "short_or_null": "CAST(validation_level AS SMALLINT)",
    "long_or_null": "CAST(observation_id AS BIGINT)",
    "float_or_null": "CAST(seeing AS REAL)",
    "text_or_null": "target_name",
    "time_or_null": "date_updated",
    "point_or_null": '"position"',
    "circle_or_null": "CIRCLE('ICRS', target_ra, target_dec, 0.5)",
    "polygon_or_null": "POLYGON('ICRS', 1, 2, 3, 4, 5, 6)",
}
#: Text, doubles with nulls (the null seeings first), every integer type, a float, timestamps,
#: a published point and computed geometries, and nulls of each.
QUERY = (
    "SELECT TOP 60 exp_id, target_name, target_ra, target_dec, seeing, tau0, exposure_time,"
    ' validation_level, observation_id, date_updated, date_release, "position",'
    " CIRCLE('ICRS', target_ra, target_dec, 0.01) AS field_of_view,"
    " POLYGON('ICRS', 10, 20, 11, 20, 11, 21) AS triangle, "
    + ", ".join(
        f"CASE WHEN MOD(observation_id, 3) = 0 THEN NULL ELSE {expression} END AS {name}"
        for name, expression in SOMETIMES_NULL.items()
    )
    + f" FROM {EXPOSURES} ORDER BY seeing DESC, exp_id"
)
VOTABLE_COMBINATIONS = [
    (version, serialization)
    for version in ("1.1", "1.2", "1.3", "1.4")
    for serialization in ("TABLEDATA", "BINARY", "BINARY2")
    if not (serialization == "BINARY2" and version in ("1.1", "1.2"))
]
STANDARD_IDS = {
    "ivo://ivoa.net/std/TAPRegExt#output-votable-td",
    "ivo://ivoa.net/std/TAPRegExt#output-votable-binary",
    "ivo://ivoa.net/std/TAPRegExt#output-votable-binary2",
}
TSV_UNESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def sync(server: Server, **parameters: str) -> httpx.Response:
    return httpx.post(f"{server.tap_url}/sync", data={"LANG": "ADQL", **parameters}, timeout=120)


def votable(response: httpx.Response):
    assert response.status_code == 200, response.text
    return parse(io.BytesIO(response.content), verify="exception")


def error_message(response: httpx.Response) -> str:
    assert response.status_code == 400
    document = etree.fromstring(response.content)
    (status,) = [info for info in document.iter("{*}INFO") if info.get("name") == "QUERY_STATUS"]
    assert status.get("value") == "ERROR"
    return (status.text or "").strip()


def cell_values(table) -> dict[str, list]:
    """Every column as plain Python values, nulls as None however the serialization wrote them
    (a masked value, NaN, an empty string or array)."""
    columns = {}
    for field in table.fields:
        values = []
        for value in table.array[field.ID or field.name]:
            if value is np.ma.masked:
                values.append(None)
            elif isinstance(value, np.ndarray):
                # A null array: empty (variable length), all NaN (TABLEDATA, BINARY) or masked.
                elements = np.ma.getdata(value).astype(float)
                null = np.ma.getmaskarray(value) | np.isnan(elements)
                values.append(None if null.all() else elements.tolist())
            elif isinstance(value, str | bytes):
                values.append(value or None)
            else:
                number = value.item()
                values.append(None if isinstance(number, float) and math.isnan(number) else number)
        columns[field.name] = values
    return columns


@pytest.fixture(scope="module")
def reference(tap_server):
    """The query's columns in VOTable 1.4 TABLEDATA, the most readable serialization."""
    response = sync(tap_server, QUERY=QUERY, RESPONSEFORMAT="votable/td")
    columns = cell_values(votable(response).get_first_table())
    assert len(columns["exp_id"]) == 60
    # The comparison means something only with nulls and values of every type in the rows.
    for name, values in columns.items():
        if name.endswith("_or_null") or name == "seeing":
            assert None in values and {type(value) for value in values} - {type(None)}, name
    return columns


# -- Values of RESPONSEFORMAT ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "serialization", "version", "media_type"),
    [
        (None, "binary2", "1.4", "application/x-votable+xml;serialization=BINARY2"),
        ("", "binary2", "1.4", "application/x-votable+xml;serialization=BINARY2"),
        ("votable", "binary2", "1.4", "application/x-votable+xml;serialization=BINARY2"),
        ("VOTable/TD", "tabledata", "1.4", "application/x-votable+xml;serialization=TABLEDATA"),
        ("votable/b", "binary", "1.4", "application/x-votable+xml;serialization=BINARY"),
        ("votable/b2", "binary2", "1.4", "application/x-votable+xml;serialization=BINARY2"),
        ("votable/td1.1", "tabledata", "1.1", "application/x-votable+xml;serialization=TABLEDATA"),
        ("votable/b1.2", "binary", "1.2", "application/x-votable+xml;serialization=BINARY"),
        ("votable/b21.3", "binary2", "1.3", "application/x-votable+xml;serialization=BINARY2"),
        ("application/x-votable+xml", "binary2", "1.4", None),
        ("application/x-votable+xml;version=1.2", "binary", "1.2", None),
        (
            'Application/X-VOTable+XML; serialization="TableData"; version=1.3',
            "tabledata",
            "1.3",
            "application/x-votable+xml;serialization=TABLEDATA",
        ),
        ("votable/td;version=1.1", "tabledata", "1.1", None),
        ("text/xml", "binary2", "1.4", "text/xml"),
        ("text/xml;serialization=binary;version=1.1", "binary", "1.1", "text/xml"),
        ("csv", "csv", None, "text/csv;header=present"),
        ("text/csv", "csv", None, "text/csv;header=present"),
        ("text/csv;header=present;charset=UTF-8", "csv", None, "text/csv;header=present"),
        ("tsv", "tsv", None, "text/tab-separated-values"),
        ("text/tab-separated-values", "tsv", None, "text/tab-separated-values"),
    ],
)
def test_accepted_values(value, serialization, version, media_type):
    output = output_format(value)

    assert (output.serialization, output.version) == (serialization, version)
    if media_type is not None:
        assert output.media_type == media_type
    assert output.extension == ("vot" if version else serialization)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("fits", "unknown output format 'fits'; accepted: votable"),
        ("image/png", "unknown output format"),
        ("votable/b2;version=1.2", "BINARY2 needs VOTable 1.3 or later"),
        ("votable/b21.1", "BINARY2 needs VOTable 1.3 or later"),
        ("application/x-votable+xml;serialization=binary2;version=1.1", "BINARY2 needs"),
        ("votable/td1.5", "VOTable version 1.5 is not offered"),
        ("application/x-votable+xml;version=2.0", "version='2.0' is not offered"),
        ("application/x-votable+xml;serialization=fits", "serialization='fits' is not offered"),
        ("votable/td;serialization=binary", "'votable/td' is TABLEDATA, not BINARY"),
        ("csv;header=absent", "header='absent' is not offered"),
        ("tsv;delimiter=comma", "unknown media-type parameter 'delimiter'"),
        ("text/csv;header", "is not a name=value media-type parameter"),
        ("votable;version=1.3;version=1.4", "given twice"),
    ],
)
def test_refused_values_name_the_parameter_and_say_why(value, words):
    with pytest.raises(InvalidParameter) as raised:
        output_format(value)

    assert raised.value.parameter == "RESPONSEFORMAT"
    assert words in str(raised.value)
    with pytest.raises(InvalidParameter, match=r"^FORMAT: "):
        output_format(value, "FORMAT")


def test_declared_formats_are_the_accepted_ones():
    assert DEFAULT_FORMAT.media_type == DECLARED_FORMATS[0].mime
    for declared in DECLARED_FORMATS:
        for value in (declared.mime, *declared.aliases):
            assert output_format(value).media_type == declared.mime, value
        # taplint rejects identifiers under TAPRegExt's prefix that TAPRegExt does not define.
        assert declared.ivo_id is None or declared.ivo_id in STANDARD_IDS
    assert {declared.ivo_id for declared in DECLARED_FORMATS} - {None} == STANDARD_IDS


# -- The same result in every format -----------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "serialization"),
    VOTABLE_COMBINATIONS,
    ids=[f"{version}-{serialization}" for version, serialization in VOTABLE_COMBINATIONS],
)
def test_every_version_and_serialization_holds_the_same_values(
    tap_server, reference, version, serialization
):
    value = f"application/x-votable+xml;serialization={serialization};version={version}"

    response = sync(tap_server, QUERY=QUERY, RESPONSEFORMAT=value)

    assert response.headers["content-type"].startswith(
        f"application/x-votable+xml;serialization={serialization}"
    )
    document = votable(response)
    assert document.version == version
    assert f"<{serialization}>".encode() in response.content
    columns = cell_values(document.get_first_table())
    assert list(columns) == list(reference)
    for name, values in reference.items():
        assert columns[name] == values, name


def test_binary_output_passes_votlint(tap_server, tmp_path):
    # Geometry with a polygon left out: votlint 3.4.7 loses its place in binary streams holding
    # DALI polygons (see tests/core/test_votable.py); the writer's tests check those with astropy.
    query = QUERY.replace(" POLYGON(", " POINT(")
    for value in ("votable/b1.2", "votable/b", "votable/b2"):
        response = sync(tap_server, QUERY=query, RESPONSEFORMAT=value)
        lint = votlint(response.content, tmp_path)
        output = lint.stdout + lint.stderr
        assert lint.returncode == 0 and "ERROR" not in output and "WARNING" not in output, output


@pytest.mark.parametrize(("value", "delimiter"), [("csv", ","), ("tsv", "\t")])
def test_csv_and_tsv_hold_the_same_values(tap_server, reference, value, delimiter):
    response = sync(tap_server, QUERY=QUERY, RESPONSEFORMAT=value)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(output_format(value).media_type)
    quoting = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
    lines = list(
        csv.reader(io.StringIO(response.text, newline=""), delimiter=delimiter, quoting=quoting)
    )
    assert lines[0] == list(reference)
    assert len(lines) == 61
    for index, name in enumerate(reference):
        for row, expected in zip(lines[1:], reference[name], strict=True):
            cell = row[index]
            if delimiter == "\t":
                for escaped, character in TSV_UNESCAPES.items():
                    cell = cell.replace(escaped, character)
            if expected is None:
                assert cell == "", name
            elif isinstance(expected, list):
                assert [float(number) for number in cell.split(" ")] == expected, name
            elif name == "float_or_null":  # float32: astropy widens it to a double
                assert np.float32(float(cell)) == np.float32(expected), name
            elif isinstance(expected, float):
                assert float(cell) == expected, name
            else:
                assert cell == str(expected), name


def test_maxrec_overflow_in_binary_and_csv(tap_server):
    query = f"SELECT exp_id, seeing FROM {EXPOSURES} ORDER BY exp_id"

    binary = sync(tap_server, QUERY=query, MAXREC="7", RESPONSEFORMAT="votable/b")
    text = sync(tap_server, QUERY=query, MAXREC="7", RESPONSEFORMAT="csv")

    document = votable(binary)
    assert len(document.get_first_table().array) == 7
    statuses = [info.value for info in document.resources[0].infos if info.name == "QUERY_STATUS"]
    assert statuses == ["OK", "OVERFLOW"]
    assert len(text.text.splitlines()) == 1 + 7


@pytest.mark.parametrize(
    ("parameters", "named", "words"),
    [
        ({"RESPONSEFORMAT": "application/fits"}, "RESPONSEFORMAT", "accepted: votable"),
        ({"FORMAT": "fits"}, "FORMAT", "accepted: votable"),
        ({"RESPONSEFORMAT": "votable/b2;version=1.1"}, "RESPONSEFORMAT", "BINARY2 needs"),
    ],
)
def test_a_refused_format_is_a_dali_400(tap_server, parameters, named, words):
    for method in ("GET", "POST"):
        parameters = {
            "LANG": "ADQL",
            "QUERY": f"SELECT TOP 1 exp_id FROM {EXPOSURES}",
            **parameters,
        }
        url = f"{tap_server.tap_url}/sync"
        if method == "GET":
            response = httpx.get(url, params=parameters, timeout=60)
        else:
            response = httpx.post(url, data=parameters, timeout=60)

        message = error_message(response)

        assert message.startswith(f"{named}: ") and words in message, message


@pytest.mark.parametrize("value", ["votable/b1.2", "votable/b", "tsv"])
def test_async_results_are_written_in_the_asked_format(tap_service, reference, value):
    with httpx.Client(base_url=tap_service.tap_url, timeout=120) as client:
        created = client.post(
            "/async",
            data={"LANG": "ADQL", "QUERY": QUERY, "RESPONSEFORMAT": value, "PHASE": "RUN"},
        )
        assert created.status_code == 303
        job_url = created.headers["location"]
        phase = "QUEUED"
        while phase not in ("COMPLETED", "ERROR", "ABORTED"):
            client.get(job_url, params={"WAIT": "30"})
            phase = client.get(f"{job_url}/phase").text.strip()
        assert phase == "COMPLETED"
        result = client.get(f"{job_url}/results/result")
        client.delete(job_url)

    assert result.headers["content-type"].startswith(output_format(value).media_type)
    if value == "tsv":
        lines = result.text.splitlines()
        assert lines[0].split("\t") == list(reference) and len(lines) == 61
    else:
        columns = cell_values(votable(result).get_first_table())
        assert columns == reference

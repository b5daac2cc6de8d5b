"""VOSI (capabilities, availability, tables) and DALI examples as pyvo reads them."""

import io
from urllib.parse import urlsplit

import httpx
import pytest
from astropy.table import Table
from lxml import etree
from pyvo.dal import TAPService
from pyvo.io.vosi import endpoint
from sqlalchemy import make_url

from jmmc_devtools.pgcluster import free_port
from tap.services.catalog import Catalog, CatalogSchema, CatalogTable
from tap.services.examples import EXAMPLES
from tap.services.formats import DECLARED_FORMATS
from tap.services.vosi import capabilities_document

from .conftest import running_tap

TAPREGEXT = "ivo://ivoa.net/std/TAPRegExt"


@pytest.fixture(scope="module")
def service(tap_server) -> TAPService:
    return TAPService(tap_server.tap_url)


def _capabilities(url: str, **headers: str):
    response = httpx.get(f"{url}/capabilities", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    return endpoint.parse_capabilities(io.BytesIO(response.content))


def _table_access(capabilities):
    return next(cap for cap in capabilities if cap.standardid == "ivo://ivoa.net/std/TAP")


def test_pyvo_reads_the_limits_and_upload_methods(service, tap_settings):
    assert service.maxrec == tap_settings.default_maxrec
    assert service.hardlimit == tap_settings.hard_maxrec
    assert {method.ivo_id for method in service.upload_methods} == {
        f"{TAPREGEXT}#upload-inline",
        f"{TAPREGEXT}#upload-http",
        f"{TAPREGEXT}#upload-https",
    }


def test_capabilities_declare_the_service(tap_server, tap_settings):
    capabilities = _capabilities(tap_server.tap_url)
    tap = _table_access(capabilities)
    interface = tap.interfaces[0]
    assert (interface.role, interface.version) == ("std", "1.1")
    assert interface.accessurls[0].use == "base"
    assert interface.accessurls[0].content == tap_server.tap_url

    (adql,) = tap.languages
    assert [version.ivo_id for version in adql.versions] == [
        "ivo://ivoa.net/std/ADQL#v2.0",
        "ivo://ivoa.net/std/ADQL#v2.1",
    ]
    features = {
        feature_list.type: {feature.form for feature in feature_list}
        for feature_list in adql.languagefeaturelists
    }
    assert {"CONTAINS", "POINT", "CIRCLE", "DISTANCE"} <= features[f"{TAPREGEXT}#features-adqlgeo"]
    assert features[f"{TAPREGEXT}#features-adql-offset"] == {"OFFSET"}

    assert [output.mime for output in tap.outputformats] == [f.mime for f in DECLARED_FORMATS]
    assert tap.retentionperiod.default == round(tap_settings.job_retention_hours * 3600)
    assert tap.executionduration.default == tap_settings.async_timeout_seconds
    assert tap.executionduration.hard == tap_settings.async_max_timeout_seconds
    assert tap.uploadlimit.hard.content == tap_settings.upload_limit_bytes
    # OiDB publishes ivoa.obscore: the ObsCore data model is declared.
    assert [model.ivo_id for model in tap.datamodels] == ["ivo://ivoa.net/std/ObsCore#core-1.1"]

    endpoints = {cap.standardid: cap.interfaces[0] for cap in capabilities}
    for standard_id, path in [
        ("ivo://ivoa.net/std/VOSI#capabilities", "capabilities"),
        ("ivo://ivoa.net/std/VOSI#availability", "availability"),
        ("ivo://ivoa.net/std/VOSI#tables-1.1", "tables"),
        ("ivo://ivoa.net/std/DALI#examples", "examples"),
    ]:
        assert endpoints[standard_id].accessurls[0].content == f"{tap_server.tap_url}/{path}"
    assert type(endpoints["ivo://ivoa.net/std/DALI#examples"]).__name__ == "WebBrowser"


def test_access_url_is_the_one_the_client_used(tap_server):
    """Behind a proxy the service is reached by another name: the capabilities say that one."""
    port = urlsplit(tap_server.url).port
    tap = _table_access(_capabilities(tap_server.tap_url, host=f"tap.example.org:{port}"))
    assert tap.interfaces[0].accessurls[0].content == f"http://tap.example.org:{port}/tap"


def test_availability(tap_server):
    response = httpx.get(f"{tap_server.tap_url}/availability")
    assert response.status_code == 200
    availability = endpoint.parse_availability(io.BytesIO(response.content))
    assert availability.available is True
    assert availability.upsince is not None
    assert "queries" in availability.notes[0]


def test_unavailable_when_the_query_database_does_not_answer(tap_environment):
    closed = make_url(tap_environment["TAP_QUERY_DATABASE_URL"]).set(port=free_port())
    environment = {
        **tap_environment,
        "TAP_QUERY_DATABASE_URL": closed.render_as_string(hide_password=False),
    }
    with running_tap(environment) as server:
        response = httpx.get(f"{server.tap_url}/availability")
    assert response.status_code == 200
    availability = endpoint.parse_availability(io.BytesIO(response.content))
    assert availability.available is False
    assert "database does not answer" in availability.notes[0]


def test_pyvo_reads_the_tables_and_fetches_each(service):
    tables = service.tables
    names = set(tables.keys())
    assert {
        "obsportal.exposures",
        "obsportal.observations",
        "TAP_SCHEMA.schemas",
        "TAP_SCHEMA.columns",
    } <= names
    exposures = tables["obsportal.exposures"]
    columns = {column.name: column for column in exposures.columns}  # fetched per table
    assert columns["target_ra"].unit == "deg"
    assert columns["target_ra"].ucd == "pos.eq.ra;meta.main"
    assert columns["target_ra"].datatype.content == "double"
    position = columns['"position"']
    assert position.datatype.arraysize == "2"
    assert "indexed" in position.flags
    assert "principal" in columns["exp_id"].flags
    assert columns["exp_id"].datatype.arraysize == "*"
    assert '"size"' in {column.name for column in tables["TAP_SCHEMA.columns"].columns}
    targets = {key.targettable for key in exposures.foreignkeys}
    assert "obsportal.observations" in targets


def test_tables_detail_min_has_no_columns(tap_server):
    full = httpx.get(f"{tap_server.tap_url}/tables")
    brief = httpx.get(f"{tap_server.tap_url}/tables", params={"detail": "min"})
    assert full.status_code == brief.status_code == 200
    assert b"<column>" in full.content
    assert b"<column>" not in brief.content
    tableset = endpoint.parse_tables(io.BytesIO(brief.content))
    assert "obsportal.exposures" in {table.name for table in tableset.iter_tables()}


def test_geometry_columns_carry_their_xtype(tap_server):
    """VODataService 1.1 (VOSI tables) writes a column's xtype as its type's extendedType."""
    response = httpx.get(f"{tap_server.tap_url}/tables/obsportal.exposures")
    document = etree.fromstring(response.content)
    (datatype,) = document.xpath("column[name='\"position\"']/dataType")
    assert (datatype.text, datatype.get("arraysize"), datatype.get("extendedType")) == (
        "double",
        "2",
        "point",
    )


def test_one_table(tap_server):
    response = httpx.get(f"{tap_server.tap_url}/tables/obsportal.observations")
    assert response.status_code == 200
    (table,) = endpoint.parse_tables(io.BytesIO(response.content)).iter_tables()
    assert table.name == "obsportal.observations"
    assert "obs_type" in {column.name for column in table.columns}


def test_unknown_table_is_a_404_error_document(tap_server):
    response = httpx.get(f"{tap_server.tap_url}/tables/obsportal.nothing")
    assert response.status_code == 404
    assert b'name="QUERY_STATUS" value="ERROR"' in response.content
    assert b"obsportal.nothing" in response.content


def test_pyvo_reads_the_examples(service):
    examples = service.examples
    assert [example["QUERY"] for example in examples] == [item.query for item in EXAMPLES]


def _positions() -> Table:
    """A demo target and a position far from any, as a client uploads them."""
    return Table(
        {"name": ["HD 114315", "nowhere"], "ra": [323.8712, 0.0], "dec": [-38.5383, -89.0]}
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_every_example_runs(service, example):
    uploads = {"mine": _positions()} if "TAP_UPLOAD.mine" in example.query else None
    result = service.run_sync(example.query, uploads=uploads).to_table()
    assert len(result) > 0
    if uploads:
        assert set(result["name"]) == {"HD 114315"}


def test_examples_document_is_xhtml_with_rdfa(tap_server):
    response = httpx.get(f"{tap_server.tap_url}/examples")
    assert response.status_code == 200
    document = etree.fromstring(response.content)
    namespaces = {"h": "http://www.w3.org/1999/xhtml"}
    (body,) = document.xpath("//h:body", namespaces=namespaces)
    assert body.get("vocab") == "ivo://ivoa.net/std/DALI-examples"
    examples = document.xpath("//*[@typeof='example']", namespaces=namespaces)
    assert [element.get("resource") for element in examples] == [f"#{e.id}" for e in EXAMPLES]
    assert all(element.get("id") == element.get("resource")[1:] for element in examples)


#: A query using each optional ADQL form, to check that what the capabilities declare works.
FEATURE_PROBES = {
    "POINT": "SELECT TOP 1 POINT('ICRS', 10, 20) FROM obsportal.exposures",
    "CIRCLE": "SELECT TOP 1 CIRCLE('ICRS', 10, 20, 1) FROM obsportal.exposures",
    "BOX": "SELECT TOP 1 exp_id FROM obsportal.exposures"
    " WHERE CONTAINS(\"position\", BOX('ICRS', 323.87, -38.54, 1, 1)) = 1",
    "POLYGON": "SELECT TOP 1 POLYGON('ICRS', 10, 20, 11, 20, 11, 21) FROM obsportal.exposures",
    "REGION": "SELECT TOP 1 exp_id FROM obsportal.exposures"
    " WHERE CONTAINS(\"position\", REGION('Circle ICRS 323.87 -38.54 1')) = 1",
    "CONTAINS": "SELECT TOP 1 exp_id FROM obsportal.exposures"
    " WHERE CONTAINS(\"position\", CIRCLE('ICRS', 323.87, -38.54, 1)) = 1",
    "INTERSECTS": "SELECT TOP 1 exp_id FROM obsportal.exposures WHERE INTERSECTS("
    "CIRCLE('ICRS', 323.87, -38.54, 1), CIRCLE('ICRS', target_ra, target_dec, 0.1)) = 1",
    "DISTANCE": "SELECT TOP 1 DISTANCE(\"position\", POINT('ICRS', 0, 0)) FROM obsportal.exposures",
    "AREA": "SELECT TOP 1 AREA(CIRCLE('ICRS', 10, 20, 1)) FROM obsportal.exposures",
    "CENTROID": "SELECT TOP 1 CENTROID(CIRCLE('ICRS', 10, 20, 1)) FROM obsportal.exposures",
    "COORD1": 'SELECT TOP 1 COORD1("position") FROM obsportal.exposures',
    "COORD2": 'SELECT TOP 1 COORD2("position") FROM obsportal.exposures',
    "COORDSYS": 'SELECT TOP 1 COORDSYS("position") FROM obsportal.exposures',
    "LOWER": "SELECT TOP 1 LOWER(instrument_name) FROM obsportal.exposures",
    "UPPER": "SELECT TOP 1 UPPER(target_name) FROM obsportal.exposures",
    "ILIKE": "SELECT TOP 1 exp_id FROM obsportal.exposures WHERE target_name ILIKE 'hd%'",
    "OFFSET": "SELECT exp_id FROM obsportal.exposures ORDER BY exp_id OFFSET 5",
    "CAST": "SELECT TOP 1 CAST(mjd_start AS INTEGER) FROM obsportal.exposures",
    "IN_UNIT": "SELECT TOP 1 IN_UNIT(exposure_time, 'min') FROM obsportal.exposures",
    "WITH": "WITH x AS (SELECT exp_id FROM obsportal.exposures) SELECT TOP 1 * FROM x",
    "UNION": "SELECT exp_id FROM obsportal.exposures UNION SELECT exp_id FROM obsportal.exposures",
    "EXCEPT": "SELECT exp_id FROM obsportal.exposures"
    " EXCEPT SELECT exp_id FROM obsportal.exposures WHERE mjd_start < 55000",
    "INTERSECT": "SELECT exp_id FROM obsportal.exposures"
    " INTERSECT SELECT exp_id FROM obsportal.exposures",
    "BITWISE_AND": "SELECT TOP 1 BITWISE_AND(validation_level, 1) FROM obsportal.exposures",
    "BITWISE_OR": "SELECT TOP 1 BITWISE_OR(validation_level, 1) FROM obsportal.exposures",
    "BITWISE_XOR": "SELECT TOP 1 BITWISE_XOR(validation_level, 3) FROM obsportal.exposures",
    "BITWISE_NOT": "SELECT TOP 1 BITWISE_NOT(validation_level) FROM obsportal.exposures",
}


def test_every_declared_language_feature_works(tap_server, service):
    (adql,) = _table_access(_capabilities(tap_server.tap_url)).languages
    declared = {feature.form for features in adql.languagefeaturelists for feature in features}
    assert declared == set(FEATURE_PROBES)
    for form in sorted(declared):
        assert len(service.run_sync(FEATURE_PROBES[form])) > 0, form


def test_obscore_is_declared_once_published(tap_settings):
    """oidb publishes ivoa.obscore: the capabilities then name the ObsCore 1.1 data model."""
    catalog = Catalog(
        schemas=(CatalogSchema("ivoa"),),
        tables=(CatalogTable(schema_name="ivoa", name="ivoa.ObsCore", columns=()),),
    )
    document = capabilities_document("http://tap.example.org/tap", tap_settings, catalog)
    tap = _table_access(endpoint.parse_capabilities(io.BytesIO(document)))
    assert [model.ivo_id for model in tap.datamodels] == ["ivo://ivoa.net/std/ObsCore#core-1.1"]

"""The VOSI documents of TAP: capabilities (TAPRegExt), availability and the tableset.

Built with vo-models (the IVOA XML schemas as pydantic models), so every document follows
its XSD; the content comes from the settings, the declared output formats and TAP_SCHEMA.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic_xml import attr, element
from sqlalchemy import text
from vo_models.tapregext.models import (
    DataLimit,
    DataLimits,
    DataModelType,
    Language,
    LanguageFeature,
    LanguageFeatureList,
    OutputFormat,
    TableAccess,
    TimeLimits,
    UploadMethod,
    Version,
)
from vo_models.vodataservice.models import (
    DataType,
    FKColumn,
    ForeignKey,
    ParamHTTP,
    Table,
    TableParam,
    TableSchema,
)
from vo_models.voresource.models import AccessURL, Capability, WebBrowser
from vo_models.vosi.availability.models import Availability
from vo_models.vosi.capabilities.models import VOSICapabilities
from vo_models.vosi.tables.models import VOSITable, VOSITableSet

from jmmc_core.errors import NotFound

from ..config import Settings
from .catalog import Catalog, CatalogTable
from .formats import DECLARED_FORMATS

if TYPE_CHECKING:
    from ..dependencies import TapRuntime

#: When this process started serving: VOSI's upSince.
STARTED_AT = datetime.now(UTC)

TAPREGEXT = "ivo://ivoa.net/std/TAPRegExt"
#: ADQL versions the translator accepts.
ADQL_VERSIONS = (("2.0", "ivo://ivoa.net/std/ADQL#v2.0"), ("2.1", "ivo://ivoa.net/std/ADQL#v2.1"))
#: The optional ADQL features the translator implements (test_vosi.py runs a query with each),
#: by TAPRegExt feature type.
ADQL_FEATURES: dict[str, tuple[str, ...]] = {
    f"{TAPREGEXT}#features-adqlgeo": (
        "POINT", "CIRCLE", "BOX", "POLYGON", "REGION", "CONTAINS", "INTERSECTS",
        "DISTANCE", "AREA", "CENTROID", "COORD1", "COORD2", "COORDSYS",
    ),
    f"{TAPREGEXT}#features-adql-string": ("LOWER", "UPPER", "ILIKE"),
    f"{TAPREGEXT}#features-adql-offset": ("OFFSET",),
    f"{TAPREGEXT}#features-adql-type": ("CAST",),
    f"{TAPREGEXT}#features-adql-unit": ("IN_UNIT",),
    f"{TAPREGEXT}#features-adql-common-table": ("WITH",),
    f"{TAPREGEXT}#features-adql-sets": ("UNION", "EXCEPT", "INTERSECT"),
    f"{TAPREGEXT}#features-adql-bitwise": (
        "BITWISE_AND", "BITWISE_OR", "BITWISE_XOR", "BITWISE_NOT",
    ),
}  # fmt: skip
UPLOAD_METHODS = ("upload-inline", "upload-http", "upload-https")
OBSCORE_TABLE = "ivoa.obscore"
OBSCORE_MODEL = ("ObsCore-1.1", "ivo://ivoa.net/std/ObsCore#core-1.1")
#: The VOSI and DALI endpoints beside the TAP base, with their standard ids.
ENDPOINTS = (
    ("capabilities", "ivo://ivoa.net/std/VOSI#capabilities"),
    ("availability", "ivo://ivoa.net/std/VOSI#availability"),
    ("tables", "ivo://ivoa.net/std/VOSI#tables-1.1"),
)
#: TAP 1.1 names the examples capability so (taplint looks for exactly this id).
EXAMPLES = ("examples", "ivo://ivoa.net/std/DALI#examples")


class VOTableType(DataType):
    """A column's type; VODataService 1.1 (which VOSI tables use) puts the xtype here."""

    extended_type: str | None = attr(name="extendedType", default=None)


# The containers re-declared down to the column, as pydantic writes a field by its declared type.
class Column(TableParam, tag="column"):
    datatype: VOTableType | None = element(tag="dataType", default=None)


class SchemaTable(Table, tag="table", ns="", nsmap={"": ""}, skip_empty=True):
    column: list[Column] = element(tag="column", default_factory=list, ns="")


class SingleTable(VOSITable, tag="table", ns="vosi"):
    column: list[Column] = element(tag="column", default_factory=list, ns="")


class Schema(TableSchema, tag="schema", ns="", nsmap={"": ""}, skip_empty=True):
    table: list[SchemaTable] = element(tag="table", default_factory=list)


class TableSet(VOSITableSet, tag="tableset", ns="vosi"):
    tableset_schema: list[Schema] = element(tag="schema")


def _xml(model) -> bytes:
    return model.to_xml(encoding="UTF-8", xml_declaration=True, skip_empty=True)


def _adql() -> Language:
    return Language(
        name="ADQL",
        version=[Version(value=number, ivo_id=ivo_id) for number, ivo_id in ADQL_VERSIONS],
        description="ADQL 2.0 and 2.1, translated to PostgreSQL with pg_sphere",
        language_features=[
            LanguageFeatureList(type=kind, feature=[LanguageFeature(form=form) for form in forms])
            for kind, forms in ADQL_FEATURES.items()
        ],
    )


def _table_access(base_url: str, settings: Settings, catalog: Catalog) -> TableAccess:
    data_models = []
    if catalog.table(OBSCORE_TABLE) is not None:
        name, ivo_id = OBSCORE_MODEL
        data_models.append(DataModelType(value=name, ivo_id=ivo_id))
    return TableAccess(
        interface=[
            ParamHTTP(role="std", version="1.1", access_url=[AccessURL(value=base_url, use="base")])
        ],
        data_model=data_models,
        language=[_adql()],
        output_format=[
            OutputFormat(mime=declared.mime, alias=list(declared.aliases), ivo_id=declared.ivo_id)
            for declared in DECLARED_FORMATS
        ],
        upload_method=[UploadMethod(ivo_id=f"{TAPREGEXT}#{method}") for method in UPLOAD_METHODS],
        retention_period=TimeLimits(default=round(settings.job_retention_hours * 3600)),
        execution_duration=TimeLimits(
            default=settings.async_timeout_seconds, hard=settings.async_max_timeout_seconds
        ),
        output_limit=DataLimits(
            default=DataLimit(value=settings.default_maxrec, unit="row"),
            hard=DataLimit(value=settings.hard_maxrec, unit="row"),
        ),
        upload_limit=DataLimits(hard=DataLimit(value=settings.upload_limit_bytes, unit="byte")),
    )


def service_facts(base_url: str, version: str) -> dict[str, str]:
    """What a script asking for the service's page gets: where everything is."""
    return {
        "service": "tap",
        "version": version,
        "tap_url": base_url,
        **{path: f"{base_url}/{path}" for path, _ in (*ENDPOINTS, EXAMPLES)},
        # As every service's index gives them: paths on the same host.
        "docs": f"{urlsplit(base_url).path}/docs",
        "health": f"{urlsplit(base_url).path}/health",
    }


def capabilities_document(base_url: str, settings: Settings, catalog: Catalog) -> bytes:
    """The VOSI capabilities of the service whose public base URL is ``base_url``."""
    endpoints = [
        Capability(
            standard_id=standard_id,
            interface=[ParamHTTP(access_url=[AccessURL(value=f"{base_url}/{path}", use="full")])],
        )
        for path, standard_id in ENDPOINTS
    ]
    path, standard_id = EXAMPLES
    examples = Capability(
        standard_id=standard_id,
        interface=[WebBrowser(access_url=[AccessURL(value=f"{base_url}/{path}", use="full")])],
    )
    return _xml(
        VOSICapabilities(
            capability=[_table_access(base_url, settings, catalog), *endpoints, examples]
        )
    )


@dataclass(frozen=True)
class ServiceAvailability:
    available: bool
    up_since: datetime
    note: str


def service_availability(runtime: TapRuntime) -> ServiceAvailability:
    """Available when both databases answer: the query role's (queries, TAP_SCHEMA) and the
    service's own (async jobs)."""
    try:
        with runtime.query_engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        queries = True
    except Exception:  # whatever the failure, the service cannot run queries
        queries = False
    jobs = runtime.database.status().reachable
    if queries and jobs:
        note = "The service accepts synchronous and asynchronous queries."
    elif queries:
        note = "Synchronous queries work; asynchronous jobs are unavailable (database down)."
    else:
        note = "Queries are unavailable: the database does not answer."
    return ServiceAvailability(queries and jobs, STARTED_AT, note)


def availability_document(availability: ServiceAvailability) -> bytes:
    return _xml(
        Availability(
            available=availability.available,
            up_since=availability.up_since,
            note=[availability.note],
        )
    )


def published_table(catalog: Catalog, name: str) -> CatalogTable:
    table = catalog.table(name)
    if table is None:
        raise NotFound(f"no published table is named {name!r}; /tap/tables lists them")
    return table


def _flags(column) -> list[str]:
    return [
        flag
        for flag, present in (
            ("indexed", column.indexed),
            ("principal", column.principal),
            ("std", column.std),
        )
        if present
    ]


def _table(table: CatalogTable, with_columns: bool, model: type = SingleTable):
    columns = [
        Column(
            column_name=column.name,
            description=column.description,
            unit=column.unit,
            ucd=column.ucd,
            utype=column.utype,
            datatype=VOTableType(
                value=column.datatype, arraysize=column.arraysize, extended_type=column.xtype
            ),
            flag=_flags(column),
        )
        for column in table.columns
    ]
    keys = [
        ForeignKey(
            target_table=key.target_table,
            fk_column=[
                FKColumn(from_column=source, target_column=target) for source, target in key.columns
            ],
            description=key.description,
            utype=key.utype,
        )
        for key in table.keys
    ]
    return model(
        table_type=table.table_type,
        table_name=table.name,
        description=table.description,
        utype=table.utype,
        column=columns if with_columns else [],
        foreign_key=keys if with_columns else [],
    )


def tableset_document(catalog: Catalog, with_columns: bool = True) -> bytes:
    """Every published schema with its tables (and their columns unless ``detail=min``)."""
    schemas: Iterable = (
        Schema(
            schema_name=schema.name,
            description=schema.description,
            utype=schema.utype,
            table=[
                _table(table, with_columns, SchemaTable) for table in catalog.tables_of(schema.name)
            ],
        )
        for schema in catalog.schemas
    )
    return _xml(TableSet(tableset_schema=list(schemas)))


def table_document(table: CatalogTable) -> bytes:
    """One table as ``/tables/{name}`` answers it: a ``vosi:table`` with its columns."""
    return _xml(_table(table, with_columns=True))

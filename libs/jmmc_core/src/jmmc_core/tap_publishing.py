"""Publishing tables to TAP: the contract between the services and the TAP service.

A service declares the tables it publishes once, in its own package, derived from its
SQLAlchemy models: names and types come from the ``Table``, and one compact mapping per table
gives the published columns, in order, with what the model cannot say (:func:`vo`: description,
unit, UCD…; a column's ``comment`` is its default description). :func:`publish` writes them into
``TAP_SCHEMA`` (TAP 1.1) and lets the read-only role :data:`TAP_READER_ROLE` read exactly the
declared tables; every service's ``migrate`` runs it.

A declaration may also say which rows TAP callers see (``rows_visible``, a SQL condition over
the table's columns): :func:`publish` then enables row-level security on the table with one
policy for the reader, keyed on the caller's groups (:func:`caller_groups_include`), a value only
the TAP server sets (:data:`CALLER_GROUPS_SETTING`). The owning service is not subject to it.

Published names are what ADQL queries write: the database object's name, delimited when it is
an ADQL reserved word (``"position"``); TAP_SCHEMA itself is the schema ``tap_schema``, as
PostgreSQL folds the unquoted name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    create_engine,
    text,
)
from sqlalchemy import ForeignKey as ForeignKeyReference
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeEngine

from .database import TAP_READER_ROLE, database_url
from .settings import ServiceSettings
from .spherical import SCircle, SPoint

#: The schema TAP clients query for the metadata of every published table.
TAP_SCHEMA = "TAP_SCHEMA"

#: Transaction-local setting in which the TAP server states the caller's group ids (``{1,5}``)
#: before the user's SQL runs; row rules read it through :data:`CALLER_GROUPS_FUNCTION`.
CALLER_GROUPS_SETTING = "jmmc.caller_groups"

#: Transaction-local settings stated next to the groups, for row rules that also let an owner
#: (the caller's account id) or an admin (``true``) read a row.
CALLER_USER_SETTING = "jmmc.caller_user"
CALLER_ADMIN_SETTING = "jmmc.caller_admin"

#: ``int[]`` of the caller's group ids, empty when the setting is unset (anonymous, or any
#: connection but a TAP query's). STABLE (constant within a statement), so an index on a
#: table's owning-group column can serve a rule.
CALLER_GROUPS_FUNCTION = "tap_schema.caller_groups"

#: The functions of a cone on an indexed position (``spoint(radians(ra), radians(dec)) <@
#: scircle(...)``). Under a row rule or a security-barrier view, PostgreSQL lets a condition
#: reach the index only when its functions are LEAKPROOF; pg_sphere does not declare them so, and
#: only a superuser may, where the cluster is set up (``make up``, the postgres chart).
#: ``radians`` can still fail on a subnormal input: a contrived signal, accepted for the index.
CONE_FUNCTIONS = (
    "spoint_contained_by_circle(spoint, scircle)",
    "spoint(float8, float8)",
    "radians(float8)",
)

#: The one policy :func:`publish` keeps on a table declared with ``rows_visible``.
ROW_POLICY = "tap_reader_rows"

#: Key of the transaction-level advisory lock that serialises publications: services migrate
#: concurrently, and ``CREATE ... IF NOT EXISTS`` alone races.
PUBLISH_LOCK_KEY = 0x7461705F736368  # "tap_sch"


#: ADQL 2.1's reserved words (SQL's and ADQL's own): a column named so is published delimited
#: (``"size"``, ``"position"``), as ADQL queries must name it.
ADQL_RESERVED_WORDS = frozenset(
    """
    ABSOLUTE ACTION ADD ALL ALLOCATE ALTER AND ANY ARE AS ASC ASSERTION AT AUTHORIZATION AVG
    BEGIN BETWEEN BIT BIT_LENGTH BOTH BY CASCADE CASCADED CASE CAST CATALOG CHAR CHARACTER
    CHAR_LENGTH CHARACTER_LENGTH CHECK CLOSE COALESCE COLLATE COLLATION COLUMN COMMIT CONNECT
    CONNECTION CONSTRAINT CONSTRAINTS CONTINUE CONVERT CORRESPONDING COUNT CREATE CROSS CURRENT
    CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATE DAY DEALLOCATE DECIMAL
    DECLARE DEFAULT DEFERRABLE DEFERRED DELETE DESC DESCRIBE DESCRIPTOR DIAGNOSTICS DISCONNECT
    DISTINCT DOMAIN DOUBLE DROP ELSE END END-EXEC ESCAPE EXCEPT EXCEPTION EXEC EXECUTE EXISTS
    EXTERNAL EXTRACT FALSE FETCH FIRST FLOAT FOR FOREIGN FOUND FROM FULL GET GLOBAL GO GOTO
    GRANT GROUP HAVING HOUR IDENTITY IMMEDIATE IN INDICATOR INITIALLY INNER INPUT INSENSITIVE
    INSERT INT INTEGER INTERSECT INTERVAL INTO IS ISOLATION JOIN KEY LANGUAGE LAST LEADING LEFT
    LEVEL LIKE LOCAL LOWER MATCH MAX MIN MINUTE MODULE MONTH NAMES NATIONAL NATURAL NCHAR NEXT
    NO NOT NULL NULLIF NUMERIC OCTET_LENGTH OF ON ONLY OPEN OPTION OR ORDER OUTER OUTPUT
    OVERLAPS PAD PARTIAL POSITION PRECISION PREPARE PRESERVE PRIMARY PRIOR PRIVILEGES PROCEDURE
    PUBLIC READ REAL REFERENCES RELATIVE RESTRICT REVOKE RIGHT ROLLBACK ROWS SCHEMA SCROLL
    SECOND SECTION SELECT SESSION SESSION_USER SET SIZE SMALLINT SOME SPACE SQL SQLCODE SQLERROR
    SQLSTATE SUBSTRING SUM SYSTEM_USER TABLE TEMPORARY THEN TIME TIMESTAMP TIMEZONE_HOUR
    TIMEZONE_MINUTE TO TRAILING TRANSACTION TRANSLATE TRANSLATION TRIM TRUE UNION UNIQUE UNKNOWN
    UPDATE UPPER USAGE USER USING VALUE VALUES VARCHAR VARYING VIEW WHEN WHENEVER WHERE WITH
    WORK WRITE YEAR ZONE
    ABS ACOS AREA ASIN ATAN ATAN2 BOX CEILING CENTROID CIRCLE CONTAINS COORD1 COORD2 COORDSYS
    COS COT DEGREES DISTANCE EXP FLOOR INTERSECTS LOG LOG10 MOD PI POINT POLYGON POWER RADIANS
    REGION RAND ROUND SIN SQRT TOP TAN TRUNCATE
    BIGINT BITWISE_AND BITWISE_NOT BITWISE_OR BITWISE_XOR ILIKE IN_UNIT OFFSET
    """.split()  # noqa: SIM905 - the standard's list, laid out as it prints it
)


def adql_name(name: str) -> str:
    """``name`` as an ADQL query must write it: delimited when it is a reserved word."""
    return f'"{name}"' if name.upper() in ADQL_RESERVED_WORDS else name


@dataclass(frozen=True)
class ColumnMetadata:
    """What the model cannot say about a published column."""

    description: str | None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    principal: bool = False
    std: bool = False
    #: Overrides of what the column's SQL type implies.
    datatype: str | None = None
    arraysize: str | None = None
    xtype: str | None = None


def vo(description: str | None = None, **metadata: Any) -> ColumnMetadata:
    """``vo("Start of the exposure", unit="d", ucd="time.start;obs.exposure")``."""
    return ColumnMetadata(description, **metadata)


@dataclass(frozen=True)
class PublishedSchema:
    name: str
    description: str | None = None
    utype: str | None = None
    schema_index: int | None = None

    @property
    def database_name(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class PublishedColumn:
    name: str
    description: str | None
    #: VOTable datatype (``char``, ``int``, ``double``…), as TAP 1.1 asks.
    datatype: str
    arraysize: str | None = None
    xtype: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    principal: bool = False
    indexed: bool = False
    std: bool = False
    column_index: int | None = None

    @property
    def database_name(self) -> str:
        return self.name.strip('"').lower()

    @property
    def size(self) -> int | None:
        """TAP 1.0's integer ``size``: the arraysize when it is one fixed length."""
        return int(self.arraysize) if self.arraysize and self.arraysize.isdigit() else None


@dataclass(frozen=True)
class ForeignKey:
    key_id: str
    target_table: str
    #: ``(from_column, target_column)`` pairs.
    columns: tuple[tuple[str, str], ...]
    description: str | None = None
    utype: str | None = None


@dataclass(frozen=True)
class PublishedTable:
    schema: PublishedSchema
    name: str
    description: str | None
    columns: tuple[PublishedColumn, ...]
    utype: str | None = None
    foreign_keys: tuple[ForeignKey, ...] = ()
    table_index: int | None = None
    table_type: str = "table"
    #: SQL condition over the table's columns: the rows the TAP reader may see (all when None).
    rows_visible: str | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.schema.name}.{self.name}"

    @property
    def database_name(self) -> str:
        return f'"{self.schema.database_name}"."{self.name.lower()}"'


#: SQL types and what TAP 1.1 publishes for them: (datatype, arraysize, xtype). Subclasses
#: come before their bases.
_TYPES: tuple[tuple[type[TypeEngine], tuple[str, str | None, str | None]], ...] = (
    (SPoint, ("double", "2", "point")),
    (SCircle, ("double", "3", "circle")),
    (Boolean, ("boolean", None, None)),
    (SmallInteger, ("short", None, None)),
    (BigInteger, ("long", None, None)),
    (Integer, ("int", None, None)),
    (REAL, ("float", None, None)),
    (Float, ("double", None, None)),  # Double too
    (Numeric, ("double", None, None)),
    (DateTime, ("char", "*", "timestamp")),
    (Date, ("char", "*", "timestamp")),
    (String, ("char", "*", None)),  # Text too
)


def _published_type(column: Column) -> tuple[str, str | None, str | None]:
    for sql_type, published in _TYPES:
        if isinstance(column.type, sql_type):
            return published
    raise ValueError(f"{column.table.name}.{column.name}: no TAP type for {column.type}")


def _indexed(column: Column) -> bool:
    """Whether a query on the column alone can use an index (its first column)."""
    table = column.table
    leading = [next(iter(index.columns)) for index in table.indexes if index.columns]
    return column.primary_key or column.unique is True or column in leading


def published_column(
    column: Column, metadata: ColumnMetadata, column_index: int
) -> PublishedColumn:
    datatype, arraysize, xtype = _published_type(column)
    return PublishedColumn(
        name=adql_name(column.name),
        description=metadata.description or column.comment,
        datatype=metadata.datatype or datatype,
        arraysize=metadata.arraysize or arraysize,
        xtype=metadata.xtype or xtype,
        unit=metadata.unit,
        ucd=metadata.ucd,
        utype=metadata.utype,
        principal=metadata.principal,
        indexed=_indexed(column),
        std=metadata.std,
        column_index=column_index,
    )


@dataclass(frozen=True)
class TableDeclaration:
    """One table to publish: the model's ``Table`` and its published columns, in order."""

    table: Table
    columns: Mapping[str, ColumnMetadata]
    description: str | None = None
    utype: str | None = None
    #: ``view`` for a view made for TAP (described to SQLAlchemy as a ``Table``).
    table_type: str = "table"
    #: The rows TAP callers may see, as a SQL condition over the table's columns, e.g.
    #: ``f"public OR {caller_groups_include('group_id')}"``; every row when None.
    rows_visible: str | None = None

    def __post_init__(self) -> None:
        if self.rows_visible is not None and self.table_type != "table":
            raise ValueError(
                f"{self.table.name}: a view has no rows of its own; declare rows_visible on a table"
            )


def caller_groups_include(group_id_column: str) -> str:
    """SQL condition of a row rule: the row's owning group is one of the caller's groups."""
    return f'"{group_id_column}" = ANY ({CALLER_GROUPS_FUNCTION}())'


Declarations = Sequence[PublishedTable] | Callable[[], Sequence[PublishedTable]]


def published_tables(
    schema: PublishedSchema, declarations: Sequence[TableDeclaration]
) -> tuple[PublishedTable, ...]:
    """The declarations of one schema, with the foreign keys between its published columns."""
    published_columns = {d.table: d.columns for d in declarations}
    return tuple(
        PublishedTable(
            schema=schema,
            name=declaration.table.name,
            description=declaration.description or declaration.table.comment,
            utype=declaration.utype,
            columns=tuple(
                published_column(_column(declaration.table, name), metadata, index)
                for index, (name, metadata) in enumerate(declaration.columns.items(), start=1)
            ),
            foreign_keys=_foreign_keys(schema, declaration.table, published_columns),
            table_index=table_index,
            table_type=declaration.table_type,
            rows_visible=declaration.rows_visible,
        )
        for table_index, declaration in enumerate(declarations, start=1)
    )


def _column(table: Table, name: str) -> Column:
    if name not in table.columns:
        raise ValueError(f"{table.name}: the model has no column {name!r} to publish")
    return table.columns[name]


def _foreign_keys(
    schema: PublishedSchema, table: Table, published_columns: Mapping[Table, Mapping[str, Any]]
) -> tuple[ForeignKey, ...]:
    """The table's foreign keys whose columns, on both sides, are published."""
    keys = []
    for constraint in sorted(table.foreign_key_constraints, key=lambda c: c.column_keys):
        target = constraint.referred_table
        pairs = [(element.parent.name, element.column.name) for element in constraint.elements]
        if target in published_columns and all(
            a in published_columns[table] and b in published_columns[target] for a, b in pairs
        ):
            from_columns = ",".join(adql_name(a) for a, _ in pairs)
            keys.append(
                ForeignKey(
                    key_id=f"{schema.name}.{table.name}({from_columns})",
                    target_table=f"{schema.name}.{target.name}",
                    columns=tuple((adql_name(a), adql_name(b)) for a, b in pairs),
                )
            )
    return tuple(keys)


# --- TAP_SCHEMA itself: TAP 1.1's five tables, declared like any published table -----------

_tap_metadata = MetaData(schema=TAP_SCHEMA.lower())


def _tap_table(name: str, description: str, *columns: tuple[Column, str]) -> TableDeclaration:
    """A TAP_SCHEMA table: every column is standard and principal."""
    return TableDeclaration(
        Table(name, _tap_metadata, *(column for column, _ in columns)),
        {column.name: vo(meaning, std=True, principal=True) for column, meaning in columns},
        description,
    )


def _reference(target: str) -> ForeignKeyReference:
    return ForeignKeyReference(f"{TAP_SCHEMA.lower()}.{target}")


_TAP_TABLES = (
    _tap_table(
        "schemas", "the schemas published by this service",
        (Column("schema_name", String, primary_key=True), "schema name, for reference"),
        (Column("utype", String), "utype of the schema"),
        (Column("description", String), "what the schema holds"),
        (Column("schema_index", Integer), "recommended sort order when listing schemas"),
    ),
    _tap_table(
        "tables", "the tables published by this service",
        (Column("schema_name", String, _reference("schemas.schema_name"), nullable=False),
         "the schema the table belongs to"),
        (Column("table_name", String, primary_key=True), "the fully qualified table name"),
        (Column("table_type", String, nullable=False), "one of: table, view"),
        (Column("utype", String), "utype of the table"),
        (Column("description", String), "what the table holds"),
        (Column("table_index", Integer), "recommended sort order when listing tables"),
    ),
    _tap_table(
        "columns", "the columns of the published tables",
        (Column("table_name", String, _reference("tables.table_name"), primary_key=True),
         "the table this column belongs to"),
        (Column("column_name", String, primary_key=True), "the column name"),
        (Column("datatype", String, nullable=False), "VOTable datatype of the column"),
        (Column("arraysize", String), "VOTable arraysize of the column"),
        (Column("xtype", String), "VOTable xtype (DALI) of the column"),
        (Column("size", Integer), "length of fixed-length columns (deprecated by arraysize)"),
        (Column("description", String), "what the column holds"),
        (Column("utype", String), "utype of the column"),
        (Column("unit", String), "unit in VOUnit format"),
        (Column("ucd", String), "UCD of the column"),
        (Column("indexed", Integer, nullable=False), "1 when an index serves the column"),
        (Column("principal", Integer, nullable=False), "1 when the column is of main interest"),
        (Column("std", Integer, nullable=False), "1 when a standard defines the column"),
        (Column("column_index", Integer), "recommended sort order when listing columns"),
    ),
    _tap_table(
        "keys", "foreign keys between the published tables",
        (Column("key_id", String, primary_key=True), "unique key identifier"),
        (Column("from_table", String, _reference("tables.table_name"), nullable=False),
         "fully qualified name of the referencing table"),
        (Column("target_table", String, _reference("tables.table_name"), nullable=False),
         "fully qualified name of the referenced table"),
        (Column("description", String), "what the key means"),
        (Column("utype", String), "utype of the key"),
    ),
    _tap_table(
        "key_columns", "the columns of the foreign keys",
        (Column("key_id", String, _reference("keys.key_id"), primary_key=True),
         "the key this column pair belongs to"),
        (Column("from_column", String, primary_key=True), "column of the referencing table"),
        (Column("target_column", String, nullable=False), "column of the referenced table"),
    ),
)  # fmt: skip

#: TAP_SCHEMA describes itself too.
TAP_SCHEMA_TABLES = published_tables(
    PublishedSchema(TAP_SCHEMA, "The tables, columns and keys this TAP service publishes."),
    _TAP_TABLES,
)


# --- Rows --------------------------------------------------------------------------------

Rows = dict[str, set[tuple]]


def _flag(value: bool) -> int:
    return 1 if value else 0


def tap_schema_rows(tables: Iterable[PublishedTable]) -> Rows:
    """The rows of each TAP_SCHEMA table that describe ``tables``, in column order."""
    rows: Rows = {table.name: set() for table in _tap_metadata.sorted_tables}
    for table in tables:
        schema = table.schema
        rows["schemas"].add((schema.name, schema.utype, schema.description, schema.schema_index))
        rows["tables"].add(
            (schema.name, table.qualified_name, table.table_type, table.utype,
             table.description, table.table_index)
        )  # fmt: skip
        for column in table.columns:
            rows["columns"].add(
                (table.qualified_name, column.name, column.datatype, column.arraysize,
                 column.xtype, column.size, column.description, column.utype, column.unit,
                 column.ucd, _flag(column.indexed), _flag(column.principal), _flag(column.std),
                 column.column_index)
            )  # fmt: skip
        for key in table.foreign_keys:
            rows["keys"].add(
                (key.key_id, table.qualified_name, key.target_table, key.description, key.utype)
            )
            rows["key_columns"].update((key.key_id, *pair) for pair in key.columns)
    return rows


#: Which rows of each TAP_SCHEMA table belong to the schemas ``:schemas`` (lower-case names).
_BELONGING = {
    "schemas": "lower(schema_name) = ANY(:schemas)",
    "tables": "lower(schema_name) = ANY(:schemas)",
    "columns": "table_name IN (SELECT table_name FROM tap_schema.tables"
    " WHERE lower(schema_name) = ANY(:schemas))",
    "keys": "from_table IN (SELECT table_name FROM tap_schema.tables"
    " WHERE lower(schema_name) = ANY(:schemas))",
    "key_columns": "key_id IN (SELECT key_id FROM tap_schema.keys WHERE from_table IN"
    " (SELECT table_name FROM tap_schema.tables WHERE lower(schema_name) = ANY(:schemas)))",
}


def _schema_names(tables: Iterable[PublishedTable], schemas: Iterable[str] = ()) -> list[str]:
    return sorted({table.schema.database_name for table in tables} | {s.lower() for s in schemas})


def current_rows(connection: Connection, schemas: Iterable[str]) -> Rows:
    """The rows TAP_SCHEMA holds today for ``schemas`` (empty when it does not exist)."""
    names = sorted({schema.lower() for schema in schemas})
    if not _tap_schema_exists(connection):
        return {table.name: set() for table in _tap_metadata.sorted_tables}
    return {
        table.name: {
            tuple(row)
            for row in connection.execute(
                table.select().where(text(_BELONGING[table.name])), {"schemas": names}
            )
        }
        for table in _tap_metadata.sorted_tables
    }


def _tap_schema_exists(connection: Connection) -> bool:
    # The catalogue, not to_regclass: looking a name up needs USAGE on its schema.
    return connection.execute(
        text(
            "SELECT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'tap_schema' AND c.relname = 'key_columns')"
        )
    ).scalar_one()


# --- Publishing ----------------------------------------------------------------------------


def publish(
    connection: Connection,
    tables: Sequence[PublishedTable],
    *,
    schemas: Iterable[str] = (),
    reader: str = TAP_READER_ROLE,
) -> None:
    """Make TAP_SCHEMA, the reader's rights and its row rules say exactly what ``tables``
    declare.

    ``schemas`` names the caller's schemas besides those of ``tables``: their rows are removed
    and the reader loses every right on their tables but the declared ones; a table there
    keeps row-level security only while it is declared with ``rows_visible``. Runs in the
    caller's transaction (commit it to publish); safe to run from several services at once.
    ``reader`` is the read-only role TAP queries run as.
    """
    own = _schema_names(tables, schemas)
    if TAP_SCHEMA.lower() in own:
        raise ValueError("TAP_SCHEMA is written by publish() only")
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUBLISH_LOCK_KEY})
    for schema in own:
        published = [t for t in tables if t.schema.database_name == schema]
        _grant_exactly(connection, schema, published, reader)
    if tables or any(current_rows(connection, own).values()):
        # A service that publishes nothing needs no TAP_SCHEMA rights.
        _write_tap_schema(connection, own, tables, reader)
    for schema in own:
        published = [t for t in tables if t.schema.database_name == schema]
        _keep_row_rules(connection, schema, published, reader)


def _write_tap_schema(
    connection: Connection, own: Sequence[str], tables: Sequence[PublishedTable], reader: str
) -> None:
    with _as_tap_schema_owner(connection):
        _tap_metadata.create_all(connection)
        connection.execute(text(f'GRANT USAGE ON SCHEMA tap_schema TO "{reader}"'))
        connection.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA tap_schema TO "{reader}"'))
        _create_caller_groups_function(connection, reader)
        self_described = [*own, TAP_SCHEMA.lower()]
        for table in reversed(_tap_metadata.sorted_tables):
            connection.execute(
                table.delete().where(text(_BELONGING[table.name])), {"schemas": self_described}
            )
        rows = tap_schema_rows([*TAP_SCHEMA_TABLES, *tables])
        for table in _tap_metadata.sorted_tables:
            names = [column.name for column in table.columns]
            if rows[table.name]:
                connection.execute(
                    table.insert(), [dict(zip(names, row, strict=True)) for row in rows[table.name]]
                )


def _grant_exactly(
    connection: Connection, schema: str, tables: Sequence[PublishedTable], reader: str
) -> None:
    """The reader may read the declared tables of ``schema`` and nothing else there, now or
    later (the default privilege the first migrations granted is withdrawn)."""
    for statement in (
        f'REVOKE SELECT ON ALL TABLES IN SCHEMA "{schema}" FROM "{reader}"',
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" REVOKE SELECT ON TABLES FROM "{reader}"',
    ):
        connection.execute(text(statement))
    if tables:
        connection.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{reader}"'))
        names = ", ".join(table.database_name for table in tables)
        connection.execute(text(f'GRANT SELECT ON {names} TO "{reader}"'))


def _create_caller_groups_function(connection: Connection, reader: str) -> None:
    """:data:`CALLER_GROUPS_FUNCTION`: plain SQL (no SET clause), so the planner inlines it.

    ``current_setting(..., true)`` is NULL before the setting was ever made on the connection
    and ``''`` after a transaction that set it locally ended: both mean no group.
    """
    connection.execute(
        text(
            f"CREATE OR REPLACE FUNCTION {CALLER_GROUPS_FUNCTION}() RETURNS integer[]"
            " LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT coalesce(nullif("
            f"pg_catalog.current_setting('{CALLER_GROUPS_SETTING}', true), ''),"
            " '{}')::integer[] $$"
        )
    )
    connection.execute(text(f'GRANT EXECUTE ON FUNCTION {CALLER_GROUPS_FUNCTION}() TO "{reader}"'))


@dataclass(frozen=True)
class _RowRuleState:
    """A table's row-level security as :func:`publish` left it."""

    enabled: bool
    #: The declared rule the policy was made from (kept as the policy's comment); None when
    #: the table has no :data:`ROW_POLICY`.
    rule: str | None
    for_reader_only: bool
    other_policies: int

    def matches(self, rule: str | None) -> bool:
        if rule is None:
            return self.rule is None
        return self.enabled and self.for_reader_only and self.rule == rule


def _row_rule_states(connection: Connection, schema: str, reader: str) -> dict[str, _RowRuleState]:
    """Per table of ``schema`` (lower-case name): its row-level security."""
    rows = connection.execute(
        text(
            "SELECT c.relname, c.relrowsecurity,"
            " coalesce(obj_description(p.oid, 'pg_policy'), ''),"
            " p.oid IS NOT NULL, coalesce(p.polroles = ARRAY[to_regrole(:reader)::oid]"
            "  AND p.polcmd = 'r' AND p.polpermissive, false),"
            " (SELECT count(*) FROM pg_policy o WHERE o.polrelid = c.oid AND o.polname <> :policy)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " LEFT JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = :policy"
            " WHERE n.nspname = :schema AND c.relkind IN ('r', 'p')"
        ),
        {"schema": schema, "policy": ROW_POLICY, "reader": reader},
    )
    return {
        name: _RowRuleState(enabled, rule if has_policy else None, for_reader, others)
        for name, enabled, rule, has_policy, for_reader, others in rows
    }


def _keep_row_rules(
    connection: Connection, schema: str, tables: Sequence[PublishedTable], reader: str
) -> None:
    """Row-level security on exactly the tables of ``schema`` declared with a rule: one policy
    for the reader each. Unforced, so the owning service reads every row. A table already as
    declared is left alone, since altering it waits for the queries reading it."""
    states = _row_rule_states(connection, schema, reader)
    ruled = {table.name.lower(): table for table in tables if table.rows_visible}
    for name, state in states.items():
        relation = f'"{schema}"."{name}"'
        if name in ruled or state.rule is None:
            continue
        connection.execute(text(f'DROP POLICY "{ROW_POLICY}" ON {relation}'))
        if not state.other_policies:
            connection.execute(text(f"ALTER TABLE {relation} DISABLE ROW LEVEL SECURITY"))
    for name, table in ruled.items():
        state = states.get(name)
        if state is not None and state.matches(table.rows_visible):
            continue
        relation = table.database_name
        connection.execute(text(f"ALTER TABLE {relation} ENABLE ROW LEVEL SECURITY"))
        connection.execute(text(f'DROP POLICY IF EXISTS "{ROW_POLICY}" ON {relation}'))
        _execute_as_written(
            connection,
            f'CREATE POLICY "{ROW_POLICY}" ON {relation} FOR SELECT TO "{reader}"'
            f" USING ({table.rows_visible})",
        )
        # The comment keeps the rule as declared: PostgreSQL stores it rewritten. Utility
        # statements take no parameters, hence the quoting by the server.
        quoted = connection.execute(
            text("SELECT quote_literal(:rule)"), {"rule": table.rows_visible}
        ).scalar_one()
        _execute_as_written(
            connection, f'COMMENT ON POLICY "{ROW_POLICY}" ON {relation} IS {quoted}'
        )


def _execute_as_written(connection: Connection, statement: str) -> None:
    """A statement holding a declared rule, whose ``:name`` and ``%`` are SQL: past
    SQLAlchemy's bind parameters, with ``%`` doubled since psycopg reads ``%s`` placeholders
    even in a statement sent without parameters."""
    connection.exec_driver_sql(statement.replace("%", "%%"))


@contextmanager
def _as_tap_schema_owner(connection: Connection) -> Iterator[None]:
    """Write TAP_SCHEMA as the role owning it, so the tables every service writes belong to
    one role (in production, a group role the service roles are members of)."""
    user, owner, member = connection.execute(
        text(
            "SELECT current_user, pg_get_userbyid(owner),"
            " pg_has_role(current_user, owner, 'MEMBER')"
            " FROM (SELECT (SELECT nspowner FROM pg_namespace WHERE nspname = 'tap_schema')"
            " AS owner) AS tap_schema"
        )
    ).one()
    if owner is None:
        connection.execute(text("CREATE SCHEMA tap_schema"))
    elif owner != user and not member:
        raise PermissionError(
            f"role {user} cannot publish to TAP: TAP_SCHEMA belongs to {owner},"
            f" of which {user} is not a member"
        )
    switched = owner not in (None, user)
    if switched:
        connection.execute(text(f'SET LOCAL ROLE "{owner}"'))
    yield
    # After an error the transaction rolls back, and the role with it.
    if switched:
        connection.execute(text("RESET ROLE"))


def publish_service(settings: ServiceSettings, published: Declarations) -> list[str]:
    """What ``<service> migrate`` runs after the upgrade: one transaction, then commit.
    Returns the names of the tables published."""
    tables = published() if callable(published) else published
    engine = create_engine(
        database_url(settings),
        poolclass=NullPool,
        connect_args={"application_name": "tap-publishing"},
    )
    try:
        with engine.begin() as connection:
            publish(connection, tables, schemas=(settings.schema_name,))
    finally:
        engine.dispose()
    return [table.qualified_name for table in tables]


# --- Checking -----------------------------------------------------------------------------

#: PostgreSQL types (``format_type`` without modifiers) that hold each VOTable datatype.
_STORAGE = {
    "boolean": {"boolean"},
    "short": {"smallint"},
    "int": {"integer", "smallint"},
    "long": {"bigint", "integer", "smallint"},
    "float": {"real"},
    "double": {"double precision", "real", "numeric"},
    "char": {"text", "character varying", "character"},
    "unicodeChar": {"text", "character varying", "character"},
}
_STORAGE_BY_XTYPE = {
    "point": {"spoint"},
    "circle": {"scircle"},
    # An ADQL region leaves the TAP service as STC-S text, written from the pg_sphere value.
    "adql:REGION": {"scircle", "spoint"},
    "timestamp": {"timestamp with time zone", "timestamp without time zone", "date"},
}


def disagreements(connection: Connection, tables: Sequence[PublishedTable]) -> list[str]:
    """How the database differs from the declarations (empty when they agree): missing
    tables or columns, columns whose type cannot hold the declared datatype, and TAP_SCHEMA
    rows missing or left over."""
    problems = []
    for table in tables:
        types = dict(
            connection.execute(
                text(
                    "SELECT attname,"
                    " regexp_replace(format_type(atttypid, atttypmod), '\\(.*\\)', '')"
                    " FROM pg_attribute WHERE attrelid = to_regclass(:table)"
                    " AND attnum > 0 AND NOT attisdropped"
                ),
                {"table": table.database_name},
            ).all()
        )
        if not types:
            problems.append(f"{table.qualified_name}: no such table")
            continue
        for column in table.columns:
            stored = types.get(column.database_name)
            allowed = _STORAGE_BY_XTYPE.get(
                column.xtype or "", _STORAGE.get(column.datatype, set())
            )
            if stored is None:
                problems.append(f"{table.qualified_name}.{column.name}: no such column")
            elif stored not in allowed:
                problems.append(
                    f"{table.qualified_name}.{column.name}: {stored} cannot be published as"
                    f" {column.datatype} ({column.xtype or 'no xtype'})"
                )
    problems += _row_rule_disagreements(connection, tables)
    expected = tap_schema_rows([*TAP_SCHEMA_TABLES, *tables])
    actual = current_rows(connection, [*_schema_names(tables), TAP_SCHEMA])
    for name in expected:
        problems += [
            f"TAP_SCHEMA.{name}: missing row {row}" for row in expected[name] - actual[name]
        ]
        problems += [
            f"TAP_SCHEMA.{name}: unexpected row {row}" for row in actual[name] - expected[name]
        ]
    return problems


def _row_rule_disagreements(connection: Connection, tables: Sequence[PublishedTable]) -> list[str]:
    problems = []
    for schema in _schema_names(tables):
        states = _row_rule_states(connection, schema, TAP_READER_ROLE)
        for table in tables:
            state = states.get(table.name.lower())
            if table.schema.database_name != schema or state is None:
                continue
            if not state.matches(table.rows_visible):
                problems.append(
                    f"{table.qualified_name}: row-level security is not as declared"
                    f" (rows_visible {table.rows_visible!r}, policy {state.rule!r},"
                    f" enabled {state.enabled})"
                )
    return problems

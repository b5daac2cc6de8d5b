"""What TAP_SCHEMA says is queryable: the one source of the allowlists, VOSI tables and pages.

Read through the query role (which can read TAP_SCHEMA and the published tables only) and
kept for a few seconds, since every query consults it and a publication is rare.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from jmmc_core.tap_publishing import PublishedColumn, PublishedSchema

_log = logging.getLogger(__name__)


def _folded(name: str) -> str:
    """How ADQL compares names: delimited ones as written, regular ones case-insensitively."""
    return name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()


#: A column as TAP_SCHEMA.columns holds it: the publishing contract's own column type.
CatalogColumn = PublishedColumn

#: A schema as TAP_SCHEMA.schemas holds it.
CatalogSchema = PublishedSchema


@dataclass(frozen=True)
class CatalogKey:
    key_id: str
    from_table: str
    target_table: str
    #: ``(from_column, target_column)`` pairs.
    columns: tuple[tuple[str, str], ...]
    description: str | None = None
    utype: str | None = None


@dataclass(frozen=True)
class CatalogTable:
    schema_name: str
    #: Qualified, as published: ``obsportal.exposures``, ``TAP_SCHEMA.columns``.
    name: str
    columns: tuple[CatalogColumn, ...]
    table_type: str = "table"
    description: str | None = None
    utype: str | None = None
    table_index: int | None = None
    keys: tuple[CatalogKey, ...] = ()
    _by_name: dict[str, CatalogColumn] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({_folded(column.name): column for column in self.columns})

    @property
    def unqualified_name(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def database_name(self) -> str:
        """The SQL name, quoted: ``"obsportal"."exposures"``."""
        schema, table = self.name.split(".", 1)
        return f'"{schema.strip(chr(34)).lower()}"."{table.strip(chr(34)).lower()}"'

    def column(self, name: str) -> CatalogColumn | None:
        """The column an ADQL identifier (regular or delimited) names, if published."""
        return self._by_name.get(_folded(name)) or self._by_name.get(name.lower())


@dataclass(frozen=True)
class Catalog:
    schemas: tuple[CatalogSchema, ...]
    tables: tuple[CatalogTable, ...]

    def table(self, name: str) -> CatalogTable | None:
        """The table a (qualified) ADQL name designates; case-insensitive like PostgreSQL."""
        wanted = name.replace('"', "").lower()
        return next((table for table in self.tables if table.name.lower() == wanted), None)

    def tables_of(self, schema: str) -> list[CatalogTable]:
        return [table for table in self.tables if table.schema_name == schema]

    @classmethod
    def load(cls, connection: Connection) -> Catalog:
        def rows(sql: str) -> Iterable:
            return connection.execute(text(sql)).mappings()

        columns: dict[str, list[CatalogColumn]] = {}
        for row in rows(
            "SELECT table_name, column_name, datatype, arraysize, xtype, unit, ucd, utype,"
            " description, principal, indexed, std, column_index FROM tap_schema.columns"
            " ORDER BY table_name, column_index NULLS LAST, column_name"
        ):
            columns.setdefault(row["table_name"], []).append(
                CatalogColumn(
                    name=row["column_name"], datatype=row["datatype"],
                    arraysize=row["arraysize"], xtype=row["xtype"], unit=row["unit"],
                    ucd=row["ucd"], utype=row["utype"], description=row["description"],
                    principal=bool(row["principal"]), indexed=bool(row["indexed"]),
                    std=bool(row["std"]), column_index=row["column_index"],
                )
            )  # fmt: skip
        key_columns: dict[str, list[tuple[str, str]]] = {}
        for row in rows("SELECT key_id, from_column, target_column FROM tap_schema.key_columns"):
            key_columns.setdefault(row["key_id"], []).append(
                (row["from_column"], row["target_column"])
            )
        keys: dict[str, list[CatalogKey]] = {}
        for row in rows(
            "SELECT key_id, from_table, target_table, description, utype FROM tap_schema.keys"
            " ORDER BY key_id"
        ):
            keys.setdefault(row["from_table"], []).append(
                CatalogKey(
                    row["key_id"], row["from_table"], row["target_table"],
                    tuple(key_columns.get(row["key_id"], ())), row["description"], row["utype"],
                )
            )  # fmt: skip
        tables = tuple(
            CatalogTable(
                schema_name=row["schema_name"], name=row["table_name"],
                columns=tuple(columns.get(row["table_name"], ())),
                table_type=row["table_type"], description=row["description"],
                utype=row["utype"], table_index=row["table_index"],
                keys=tuple(keys.get(row["table_name"], ())),
            )
            for row in rows(
                "SELECT schema_name, table_name, table_type, utype, description, table_index"
                " FROM tap_schema.tables ORDER BY table_index NULLS LAST, table_name"
            )
        )  # fmt: skip
        schemas = tuple(
            CatalogSchema(row["schema_name"], row["description"], row["utype"], row["schema_index"])
            for row in rows(
                "SELECT schema_name, utype, description, schema_index FROM tap_schema.schemas"
                " ORDER BY schema_index NULLS LAST, schema_name"
            )
        )
        return cls(schemas, tables)


class CatalogCache:
    """The catalog, re-read at most every ``max_age`` seconds (publications are rare)."""

    def __init__(self, engine: Engine, max_age: float = 10.0) -> None:
        self._engine = engine
        self._max_age = max_age
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._loaded_at = 0.0

    def get(self) -> Catalog:
        with self._lock:
            if self._catalog is None or time.monotonic() - self._loaded_at > self._max_age:
                with self._engine.connect() as connection:
                    self._catalog = Catalog.load(connection)
                self._loaded_at = time.monotonic()
            return self._catalog

    def get_if_reachable(self) -> Catalog | None:
        """The catalog, or None while the database does not answer: a page still renders."""
        try:
            return self.get()
        except OperationalError:
            _log.warning("TAP_SCHEMA cannot be read: the database does not answer")
            return None

"""What a query may name: its tables (catalog, uploads, WITH, subqueries) and their columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from tap.services.catalog import Catalog, CatalogColumn, CatalogTable

from .geometry import CIRCLE, POINT, POLYGON, REGION
from .model import AdqlError

UPLOAD_SCHEMA = "tap_upload"
#: Where the runner creates uploaded tables.
UPLOAD_SQL_SCHEMA = "pg_temp"
_INTEGRAL_DATATYPES = {"short", "int", "long", "unsignedByte"}
_KINDS = {
    "point": POINT, "adql:point": POINT, "circle": CIRCLE, "adql:circle": CIRCLE,
    "polygon": POLYGON, "adql:polygon": POLYGON, "adql:region": REGION, "region": REGION,
}  # fmt: skip


def folded(identifier: exp.Identifier) -> str:
    """How ADQL compares names: delimited ones as written, regular ones case-insensitively."""
    return identifier.this if identifier.quoted else identifier.this.lower()


def written(identifier: exp.Identifier) -> str:
    return f'"{identifier.this}"' if identifier.quoted else identifier.this


def quoted(name: str) -> exp.Identifier:
    return exp.Identifier(this=name, quoted=True)


def sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def reference(name: str, qualifier: str = "") -> exp.Var:
    """A checked name (after its quoted qualifier, ``"e".``), rendered once as SQL text.

    One node rather than a Column of up to three Identifiers: building and generating those
    cost more than the rest of the translation of a SELECT * on a wide table. Every part is
    a name from the catalog or a folded alias, quoted here.
    """
    return exp.Var(this=qualifier + sql_name(name))


@dataclass(slots=True)  # not frozen: a frozen dataclass is five times slower to build
class Field:
    """A column a query can name, and what the translation needs to know of it."""

    name: str
    sql_name: str
    source: CatalogColumn | None = None
    kind: str | None = None
    integral: bool = False

    @classmethod
    def of(cls, column: CatalogColumn) -> Field:
        name, xtype = column.name.strip('"'), column.xtype
        return cls(
            name,
            name.lower(),  # CatalogColumn.database_name, without a second strip
            column,
            _KINDS.get(xtype.lower()) if xtype else None,
            column.datatype in _INTEGRAL_DATATYPES,
        )


@dataclass
class Source:
    """One item of a FROM clause."""

    #: The SQL qualifier of its columns: (schema, table), (alias,) or (CTE name,).
    qualifier: tuple[str, ...]
    alias: str | None = None
    table: CatalogTable | None = None
    derived: list[Field] | None = None
    _fields: list[Field] | None = None
    #: Fields of the catalog table met so far, by published name.
    _known: dict[str, Field] = field(default_factory=dict)
    #: The qualifier as SQL, with its trailing dot.
    _prefix: str | None = None

    def matches(self, table: exp.Identifier, schema: exp.Identifier | None) -> bool:
        if self.alias is not None or self.table is None:
            return schema is None and folded(table) == self.qualifier[-1]
        wanted_schema, wanted_table = self.table.name.lower().split(".", 1)
        return table.this.lower() == wanted_table.strip('"') and (
            schema is None or schema.this.lower() == wanted_schema.strip('"')
        )

    def field(self, identifier: exp.Identifier) -> Field | None:
        if self.table is None:
            name = folded(identifier)
            return next((f for f in self.derived or () if f.name == name), None)
        column = self.table.column(written(identifier))
        if column is None:
            return None
        if column.name.startswith('"') and not identifier.quoted:
            raise AdqlError(
                f"column {identifier.this} must be written {column.name} (an ADQL reserved word)"
            )
        known = self._known.get(column.name)
        if known is None:
            known = self._known[column.name] = Field.of(column)
        return known

    def fields(self) -> list[Field]:
        if self._fields is None:
            self._fields = (
                list(self.derived or ())
                if self.table is None
                else [Field.of(column) for column in self.table.columns]
            )
        return self._fields

    def reference(self, name: str) -> exp.Var:
        if self._prefix is None:
            self._prefix = "".join(sql_name(part) + "." for part in self.qualifier)
        return reference(name, self._prefix)


@dataclass
class Scope:
    """The FROM items of one SELECT, inside those of the queries enclosing it."""

    parent: Scope | None
    ctes: dict[str, list[Field]]
    sources: list[Source] = field(default_factory=list)
    #: Columns a USING or NATURAL join merged: named unqualified.
    merged: dict[str, Field] = field(default_factory=dict)

    def add(self, source: Source) -> None:
        if any(other.qualifier == source.qualifier for other in self.sources):
            name = ".".join(source.qualifier)
            raise AdqlError(f"table '{name}' appears twice in FROM; give each an alias")
        self.sources.append(source)

    def resolve(self, column: exp.Column) -> tuple[exp.Expr, Field]:
        """The SQL reference and the field of an ADQL column reference, or ``AdqlError``."""
        identifier, table = column.this, column.args.get("table")
        schema, catalog = column.args.get("db"), column.args.get("catalog")
        scope: Scope | None = self
        while scope is not None and catalog is None:
            found = scope._resolve_here(identifier, table, schema)
            if found is not None:
                return found
            scope = scope.parent
        shown = ".".join(written(p) for p in (catalog, schema, table, identifier) if p)
        raise AdqlError(f"unknown column '{shown}'")

    def _resolve_here(self, identifier, table, schema) -> tuple[exp.Expr, Field] | None:
        if table is None:
            name = folded(identifier)
            if name in self.merged:
                return reference(self.merged[name].sql_name), self.merged[name]
            found = [(s, f) for s in self.sources if (f := s.field(identifier)) is not None]
            if len(found) > 1:
                raise AdqlError(
                    f"column '{written(identifier)}' is ambiguous; qualify it with its table"
                )
        else:
            found = [(s, s.field(identifier)) for s in self.sources if s.matches(table, schema)]
            if found and found[0][1] is None:
                shown = ".".join(written(p) for p in (schema, table, identifier) if p)
                raise AdqlError(f"unknown column '{shown}'")
        if not found:
            return None
        source, found_field = found[0]
        return source.reference(found_field.sql_name), found_field

    def sources_named(self, table: exp.Identifier, schema: exp.Identifier | None) -> list[Source]:
        return [source for source in self.sources if source.matches(table, schema)]


class Tables:
    """The catalog's tables and the uploads, as FROM may name them."""

    def __init__(self, catalog: Catalog, uploads: Sequence[CatalogTable]) -> None:
        self._by_name: dict[str, list[tuple[str, CatalogTable]]] = {}
        for table in (*catalog.tables, *uploads):
            schema, name = table.name.replace('"', "").lower().split(".", 1)
            self._by_name.setdefault(name, []).append((schema, table))

    def find(self, table: exp.Table) -> tuple[CatalogTable, tuple[str, str]]:
        """The table and its SQL (schema, name) for a FROM item, or ``AdqlError``."""
        name, schema = table.args["this"], table.args.get("db")
        shown = ".".join(written(p) for p in (table.args.get("catalog"), schema, name) if p)
        if table.args.get("catalog") is not None:
            raise AdqlError(f"unknown table '{shown}'")
        candidates = [
            candidate
            for candidate_schema, candidate in self._by_name.get(name.this.lower(), ())
            if schema is None or candidate_schema == schema.this.lower()
        ]
        if not candidates:
            raise AdqlError(f"unknown table '{shown}'")
        if len(candidates) > 1:
            raise AdqlError(f"table '{shown}' is ambiguous; qualify it with its schema")
        found = candidates[0]
        sql_schema = found.schema_name.strip('"').lower()
        if sql_schema == UPLOAD_SCHEMA:
            sql_schema = UPLOAD_SQL_SCHEMA
        return found, (sql_schema, found.unqualified_name.strip('"').lower())

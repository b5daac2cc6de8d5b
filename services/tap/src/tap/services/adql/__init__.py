"""ADQL 2.0/2.1 → PostgreSQL + pg_sphere, with the safety layer in front of it.

``translate`` parses strictly (any lexer or parser error is an ``AdqlError``), checks every node
of the tree against an allowlist (expression classes, tables and columns from TAP_SCHEMA and
the uploads, functions from ADQL), then rewrites geometry and the ADQL functions PostgreSQL
lacks with the semantics of DaCHS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tap.services.catalog import Catalog, CatalogColumn, CatalogTable


class AdqlError(Exception):
    """A query the service refuses; ``message`` is one sentence for the person who wrote it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class OutputColumn:
    #: Unique in the result: the alias, the column name or a generated one (``col3``).
    name: str
    #: The published column a plain column reference (or an alias of one) selects.
    source: CatalogColumn | None


@dataclass(frozen=True)
class Translation:
    #: One PostgreSQL query (SELECT, WITH … SELECT or a set operation), no trailing ``;``.
    sql: str
    #: In select order; ``SELECT *`` expanded from the catalog.
    columns: tuple[OutputColumn, ...]


def translate(query: str, catalog: Catalog, uploads: Sequence[CatalogTable] = ()) -> Translation:
    """The PostgreSQL query for an ADQL one, or ``AdqlError`` saying what is wrong with it."""
    raise AdqlError("ADQL queries are not supported yet")


__all__ = ["AdqlError", "OutputColumn", "Translation", "translate"]

"""ADQL 2.0/2.1 → PostgreSQL + pg_sphere, with the safety layer in front of it.

``translate`` parses strictly (any lexer or parser error is an ``AdqlError``), checks every node
of the tree against an allowlist (node classes, tables and columns from TAP_SCHEMA and the
uploads, functions from ADQL), then rewrites geometry and the ADQL functions PostgreSQL lacks
with the semantics of DaCHS. Nothing that depends on the catalog is kept across calls (it
may change between two).

Cartesian joins are allowed, as ADQL allows them: the runner's statement timeout and MAXREC
bound what they cost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlglot.dialects.postgres import Postgres

from tap.services.catalog import Catalog, CatalogTable

from . import allowlist
from .model import AdqlError, OutputColumn, Translation
from .parsing import parse
from .scope import Tables
from .translator import Translator

_POSTGRES = Postgres()
_log = logging.getLogger(__name__)


def translate(query: str, catalog: Catalog, uploads: Sequence[CatalogTable] = ()) -> Translation:
    """The PostgreSQL query for an ADQL one, or ``AdqlError`` saying what is wrong with it."""
    tree = parse(query)
    allowlist.check(tree)
    try:
        fields = Translator(Tables(catalog, uploads)).query(tree, None, {})
    except AdqlError:
        raise
    except Exception as error:
        # A tree shape the translator does not expect is a refused query, not a server error.
        _log.exception("ADQL translation failed")
        raise AdqlError("this query could not be translated; please simplify it") from error
    # Every identifier quoted (the translation folded them), comments dropped: nothing the
    # user wrote reaches PostgreSQL but checked names and literals.
    sql = _POSTGRES.generator(identify=True, comments=False).generate(tree, copy=False)
    return Translation(sql, tuple(OutputColumn(f.name, f.source) for f in fields))


__all__ = ["AdqlError", "OutputColumn", "Translation", "translate"]

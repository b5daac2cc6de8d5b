"""What the translator returns, and the one error it raises."""

from __future__ import annotations

from dataclasses import dataclass

from tap.services.catalog import CatalogColumn


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

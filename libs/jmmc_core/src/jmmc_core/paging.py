"""Paging and sorting of listings, the same for every service's JSON API and pages.

``page``, ``page_size`` and ``sort`` are bounded before any SQL is built: a page number whose
offset would overflow PostgreSQL's ``bigint`` is a 400, not a database error.
"""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from .errors import InvalidParameter

MAX_PAGE_SIZE = 1000
#: Far beyond any listing, and (MAX_PAGE - 1) * MAX_PAGE_SIZE fits PostgreSQL's bigint OFFSET.
MAX_PAGE = 1_000_000_000


@dataclass(frozen=True)
class Paging:
    page: int = 1
    page_size: int = 50
    sort: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.page <= MAX_PAGE:
            raise InvalidParameter("page", f"must be between 1 and {MAX_PAGE}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise InvalidParameter("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def pages(self, total: int) -> int:
        """How many pages ``total`` rows fill (at least one, the empty page)."""
        return max(1, -(-total // self.page_size))

    def sort_keys(self, sortable: Collection[str]) -> list[tuple[str, bool]]:
        """``name`` or ``-name`` (descending), comma-separated, each one of ``sortable``."""
        if not self.sort:
            return []
        keys = []
        for item in self.sort.split(","):
            item = item.strip()
            name, descending = (item[1:], True) if item.startswith("-") else (item, False)
            if name not in sortable:
                raise InvalidParameter(
                    "sort", f"cannot sort on {name!r}; sortable: {', '.join(sortable)}"
                )
            keys.append((name, descending))
        return keys


@dataclass(frozen=True)
class Page:
    """One page of a listing and the size of the whole listing."""

    rows: list[dict[str, Any]]
    total: int

    def as_json(self, paging: Paging) -> dict[str, Any]:
        return {
            "total": self.total,
            "page": paging.page,
            "page_size": paging.page_size,
            "items": self.rows,
        }


def paging_parameters(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1")] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Records per page")] = 50,
    sort: Annotated[
        str | None,
        Query(max_length=200, description="Sort keys, comma-separated; '-' sorts descending"),
    ] = None,
) -> Paging:
    return Paging(page, page_size, sort)


PagingDep = Annotated[Paging, Depends(paging_parameters)]

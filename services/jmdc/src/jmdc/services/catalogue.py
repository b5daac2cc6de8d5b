"""Searching the catalogue (or a release): criteria read from request parameters, pages, rows.

Every parameter is checked here, so bad input becomes one :class:`InvalidParameter` naming it
(a 400) before any SQL. Star names compare without case and spaces (``HD 1234`` finds
``hd1234``), against both identifiers (the normalised one and the publication's).
"""

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from jmmc_core.database import Database
from jmmc_core.errors import DATABASE_UNAVAILABLE, InvalidParameter, NotFound
from jmmc_core.paging import Page, Paging
from jmmc_core.spherical import Cone

from ..models.catalogue import MAX_TEXT, measurement_columns, position_columns
from ..schema.catalogue import BAND_CODES, METHODS
from ..storage import catalogue as storage
from ..storage.catalogue import SORTABLE

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SORT",
    "METHODS",
    "SORTABLE",
    "CatalogueCriteria",
    "Cone",
    "criteria_from_parameters",
    "measurement_columns",
    "position_columns",
    "rows",
    "search",
    "star",
]

#: Default cone radius (arcsec) when only a position is given.
DEFAULT_RADIUS_ARCSEC = 10.0
#: pg_sphere's largest circle is a hemisphere.
MAX_RADIUS_ARCSEC = 90.0 * 3600.0
#: Method names a search accepts, besides the codes 1, 2, 3.
METHOD_CODES = {name: code for code, name in METHODS.items()} | {
    "oi": 1,
    "interferometry": 1,
    "lo": 2,
    "occultation": 2,
    "ii": 3,
    "intensity": 3,
}


@dataclass(frozen=True)
class CatalogueCriteria:
    """What a search asks for; ``release=None`` searches the current catalogue."""

    name: str | None = None
    cone: Cone | None = None
    #: A band letter (U ... Q, by band code) or a band as published (``2.2``, ``800nm``).
    band: str | None = None
    #: 1 optical interferometry, 2 lunar occultation, 3 intensity interferometry.
    method: int | None = None
    bibcode: str | None = None
    release: int | None = None

    def but(self, **changes: Any) -> "CatalogueCriteria":
        return replace(self, **changes)

    def describe(self) -> str:
        """The criteria in words (the PDF export's subtitle)."""
        parts = []
        if self.name:
            parts.append(f"star {self.name}")
        if self.cone:
            parts.append(
                f"within {self.cone.radius * 3600:g} arcsec of"
                f" RA {self.cone.ra:g} deg, Dec {self.cone.dec:g} deg"
            )
        if self.band:
            parts.append(f"band {self.band}")
        if self.method:
            parts.append(METHODS[self.method])
        if self.bibcode:
            parts.append(f"bibcode {self.bibcode}")
        scope = f"release {self.release}" if self.release is not None else "current catalogue"
        return f"{scope}: {', '.join(parts) if parts else 'all measurements'}"

    def parameters(self) -> dict[str, str]:
        """The request parameters giving these criteria back (links, export buttons)."""
        values: dict[str, Any] = {
            "name": self.name,
            "band": self.band,
            "method": self.method,
            "bibcode": self.bibcode,
        }
        if self.cone:
            values |= {"ra": self.cone.ra, "dec": self.cone.dec, "radius": self.cone.radius * 3600}
        return {key: f"{value:g}" if isinstance(value, float) else str(value)
                for key, value in values.items() if value is not None}  # fmt: skip


def normalised_name(name: str) -> str:
    """``HD 1234`` and ``hd1234`` alike: lower case, no spaces (as the indexes store them)."""
    return "".join(name.split()).lower()


def _text(parameters: Mapping[str, str], name: str) -> str | None:
    value = parameters.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > MAX_TEXT:
        raise InvalidParameter(name, f"longer than {MAX_TEXT} characters")
    return value.strip()


def _float(name: str, text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidParameter(name, f"{text!r} is not a number") from None
    if not low <= value <= high:  # NaN fails too
        raise InvalidParameter(name, f"{text!r} is out of range [{low:g}, {high:g}]")
    return value


def _cone(parameters: Mapping[str, str]) -> Cone | None:
    ra, dec, radius = (_text(parameters, name) for name in ("ra", "dec", "radius"))
    if ra is None and dec is None:
        if radius is not None:
            raise InvalidParameter("radius", "given without ra and dec")
        return None
    if ra is None:
        raise InvalidParameter("ra", "missing; a cone needs both ra and dec")
    if dec is None:
        raise InvalidParameter("dec", "missing; a cone needs both ra and dec")
    arcsec = (
        DEFAULT_RADIUS_ARCSEC if radius is None else _float("radius", radius, 0, MAX_RADIUS_ARCSEC)
    )
    return Cone(_float("ra", ra, 0, 360), _float("dec", dec, -90, 90), arcsec / 3600)


def _method(text: str | None) -> int | None:
    if text is None:
        return None
    code = METHOD_CODES.get(text.lower()) or (int(text) if text in ("1", "2", "3") else None)
    if code is None:
        raise InvalidParameter(
            "method", f"{text!r} is not 1, 2, 3 or one of {', '.join(METHODS.values())}"
        )
    return code


def criteria_from_parameters(
    parameters: Mapping[str, str], release: int | None = None
) -> CatalogueCriteria:
    """Criteria from request parameters: ``name``, ``ra``/``dec`` (deg) with ``radius``
    (arcsec, default 10), ``band``, ``method`` and ``bibcode``."""
    return CatalogueCriteria(
        name=_text(parameters, "name"),
        cone=_cone(parameters),
        band=_text(parameters, "band"),
        method=_method(_text(parameters, "method")),
        bibcode=_text(parameters, "bibcode"),
        release=release,
    )


def _filters(criteria: CatalogueCriteria) -> storage.Filters:
    band_code = band = None
    if criteria.band is not None:
        if criteria.band.upper() in BAND_CODES:
            band_code = BAND_CODES.index(criteria.band.upper()) + 1
        else:
            band = criteria.band
    return storage.Filters(
        name_key=normalised_name(criteria.name) if criteria.name else None,
        cone=criteria.cone,
        band_code=band_code,
        band=band,
        method=criteria.method,
        bibcode=criteria.bibcode,
        release=criteria.release,
    )


DEFAULT_SORT = "id1"


def search(session: Session, criteria: CatalogueCriteria, page: Paging) -> Page:
    """One page of the measurements meeting ``criteria`` (``page.sort``: keys of :data:`SORTABLE`,
    ``-`` for descending; by star name when not given). Rows are dicts: ``id`` (the measurement's),
    the published values and ``ra``/``dec``."""
    sort = Paging(page.page, page.page_size, page.sort or DEFAULT_SORT).sort_keys(SORTABLE)
    found, total = storage.search_page(
        session, _filters(criteria), sort, page.offset, page.page_size
    )
    return Page(found, total)


def search_if_reachable(
    database: Database, criteria: CatalogueCriteria, page: Paging
) -> Page | None:
    """A page of results, or None while the database does not answer (the page says so)."""
    try:
        with database.session() as session:
            return search(session, criteria, page)
    except DATABASE_UNAVAILABLE:
        logger.warning("catalogue page without results: the database does not answer")
        return None


def rows(
    session: Session, criteria: CatalogueCriteria, sort: str | None = None
) -> Iterator[Mapping[str, Any]]:
    """Every measurement meeting ``criteria``, streamed (the exports): read-only mappings."""
    keys = Paging(sort=sort or DEFAULT_SORT).sort_keys(SORTABLE)
    return storage.search_rows(session, _filters(criteria), keys)


def star(session: Session, name: str, page: Paging) -> tuple[list[str], Page]:
    """The spellings of a star's normalised name and a page of its measurements."""
    names = storage.star_names(session, normalised_name(name))
    if not names:
        raise NotFound(f"no measurement of a star named {name!r}")
    return names, search(session, CatalogueCriteria(name=name), page)

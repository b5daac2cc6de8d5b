"""The granule search: the original OiDB's filters read from request parameters, run with the
caller's rights, for the search page, the JSON API and the VOTable export alike.

Every parameter is checked here, so bad input becomes one :class:`InvalidParameter` naming the
parameter (a 400 in the format of the route) before any SQL runs.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from jmmc_core.database import Database
from jmmc_core.errors import (
    DATABASE_UNAVAILABLE,
    Forbidden,
    InvalidParameter,
    NotFound,
    Unauthorized,
)
from jmmc_core.name_resolver import Resolver
from jmmc_core.paging import MAX_PAGE, MAX_PAGE_SIZE
from jmmc_core.spherical import Cone

from ..models.search import SearchParameters
from ..schema.catalogue import Collection, Granule, NameResolution
from ..storage import search as storage
from ..storage.search import SORTABLE, Ordering, SearchCriteria, TextMatch
from .access import Caller, can_download, reading
from .datalink import downloadable_file
from .embargo import EMBARGO
from .previews import PREVIEW_KINDS, preview_kinds_of

logger = logging.getLogger(__name__)

DEFAULT_PERPAGE = 25
DEFAULT_ORDER = "-t_min"
#: pg_sphere's largest circle is a hemisphere.
MAX_RADIUS_DEGREES = 90.0
RADIUS_UNITS = {"deg": 1.0, "arcmin": 1 / 60, "arcsec": 1 / 3600}
EQUINOXES = ("J2000", "ICRS")
CATEGORIES = ("SCIENCE", "CALIB")
#: Photometric bands: centre and full width in micrometres (JMMC's band table).
BANDS: dict[str, tuple[float, float]] = {
    "U": (0.334, 0.066),
    "B": (0.461875, 0.08175),
    "V": (0.556, 0.1105),
    "R": (0.6625, 0.10651),
    "I": (0.869625, 0.31176),
    "J": (1.2365, 0.426),
    "H": (1.679625, 0.46425),
    "K": (2.365625, 0.912),
    "L": (3.5, 1.4),
    "M": (6.0, 3.6),
    "N": (10.5, 5.2),
    "Q": (16.575, 4.05),
}
_MJD_EPOCH = date(1858, 11, 17)
_YES = ("yes", "true", "1")
_NO = ("no", "false", "0")


@dataclass(frozen=True)
class NamedCone:
    """A cone around a star given by name, until the name resolver gives its position."""

    name: str
    #: Degrees.
    radius: float


@dataclass(frozen=True)
class Search:
    """A checked search: criteria, order and the page asked for."""

    criteria: SearchCriteria
    ordering: Ordering
    order: str
    page: int = 1
    perpage: int = DEFAULT_PERPAGE
    #: ``conesearch`` around a star name: :func:`resolved` makes it ``criteria.cone``.
    named_cone: NamedCone | None = None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.perpage

    def pages(self, total: int) -> int:
        return max(1, -(-total // self.perpage))


@dataclass(frozen=True)
class SearchResult:
    search: Search
    rows: list[dict[str, Any]]
    total: int

    def as_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "page": self.search.page,
            "perpage": self.search.perpage,
            "order": self.search.order,
            "items": self.rows,
        }


def _text_match(name: str, text: str, default: str) -> TextMatch:
    """The original's text syntax: ``~x`` contains x, ``!x`` excludes, ``!~x`` excludes any
    value containing x; a bare value matches as ``default`` says."""
    negated = text.startswith("!")
    rest = text[1:] if negated else text
    how = default
    if rest.startswith("~"):
        how, rest = "contains", rest[1:]
    rest = rest.strip()
    if not rest:
        raise InvalidParameter(name, f"{text!r} names nothing to match")
    return TextMatch(rest, how, negated)


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _integer(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidParameter(name, f"{text!r} is not an integer") from None
    if not low <= value <= high:
        raise InvalidParameter(name, f"{text!r} is out of range [{low}, {high}]")
    return value


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidParameter(name, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidParameter(name, f"{text!r} is not a finite number")
    return value


def parse_position(name: str, text: str) -> tuple[float, float]:
    """RA and Dec in degrees from ``101.287 -16.716`` or ``06:45:08.9 -16:42:58``."""
    tokens = [token for token in re.split(r"[\s:]+", text.strip()) if token]
    try:
        if len(tokens) == 2:
            ra, dec = float(tokens[0]), float(tokens[1])
        elif len(tokens) == 6:
            hours, minutes, seconds = (float(token) for token in tokens[:3])
            degrees, arcmin, arcsec = (abs(float(token)) for token in tokens[3:])
            ra = 15.0 * (hours + minutes / 60 + seconds / 3600)
            dec = degrees + arcmin / 60 + arcsec / 3600
            dec = -dec if tokens[3].startswith("-") else dec
        else:
            raise ValueError
    except ValueError:
        raise InvalidParameter(
            name,
            f"{text!r} is not a position: give 'ra dec' in degrees or sexagesimal"
            " ('06:45:08.9 -16:42:58')",
        ) from None
    if not (math.isfinite(ra) and 0.0 <= ra <= 360.0):
        raise InvalidParameter(name, f"right ascension {ra:g} is out of range [0, 360]")
    if not (math.isfinite(dec) and -90.0 <= dec <= 90.0):
        raise InvalidParameter(name, f"declination {dec:g} is out of range [-90, 90]")
    return ra, dec


def parse_cone(name: str, text: str) -> Cone | NamedCone:
    """``<position>,J2000,<radius>,<unit>`` (the equinox may be left out); the position may be a
    star name (``HD 58647,J2000,30,arcsec``), which SIMBAD resolves before the search runs."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) == 4:
        if parts[1].upper() not in EQUINOXES:
            raise InvalidParameter(name, f"equinox {parts[1]!r} is not one of J2000, ICRS")
        del parts[1]
    if len(parts) != 3:
        raise InvalidParameter(name, "expected '<ra> <dec>,J2000,<radius>,<deg|arcmin|arcsec>'")
    try:
        position = parse_position(name, parts[0])
    except InvalidParameter:
        if not any(character.isalpha() for character in parts[0]):
            raise
        position = None  # a star name
    unit = parts[2].lower()
    if unit not in RADIUS_UNITS:
        raise InvalidParameter(name, f"radius unit {parts[2]!r} is not one of deg, arcmin, arcsec")
    radius = _number(name, parts[1]) * RADIUS_UNITS[unit]
    if not 0.0 < radius <= MAX_RADIUS_DEGREES:
        raise InvalidParameter(name, f"radius {parts[1]} {unit} is out of range (0, 90 deg]")
    if position is None:
        return NamedCone(parts[0], radius)
    return Cone(*position, radius)


def _mjd(name: str, text: str) -> float:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidParameter(name, f"{text!r} is not a date (YYYY-MM-DD)") from None
    return float((day - _MJD_EPOCH).days)


def parse_dates(name: str, text: str) -> tuple[float | None, float | None]:
    """MJD bounds of ``from..to`` (whole days, UTC); a single date is the first night."""
    start, _, end = text.partition("..")
    mjd_from = _mjd(name, start) if start.strip() else None
    mjd_to = _mjd(name, end) + 1.0 if end.strip() else None
    if mjd_from is None and mjd_to is None:
        raise InvalidParameter(name, f"{text!r} holds no date; use YYYY-MM-DD..YYYY-MM-DD")
    if mjd_from is not None and mjd_to is not None and mjd_from >= mjd_to:
        raise InvalidParameter(name, "the first date is after the last one")
    return mjd_from, mjd_to


def band_range(band: str) -> tuple[float, float]:
    """The wavelength range of a photometric band, in metres."""
    centre, width = BANDS[band]
    return (centre - width / 2) * 1e-6, (centre + width / 2) * 1e-6


def parse_ordering(name: str, text: str) -> Ordering:
    keys = []
    for item in _items(text):
        key, descending = (item[1:], True) if item.startswith("-") else (item, False)
        if key not in SORTABLE:
            raise InvalidParameter(name, f"cannot sort on {key!r}; sortable: {', '.join(SORTABLE)}")
        keys.append((key, descending))
    return Ordering(tuple(keys))


def _choices(name: str, text: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = tuple(item.upper() for item in _items(text))
    for value in values:
        if value not in allowed:
            raise InvalidParameter(name, f"{value!r} is not one of {', '.join(allowed)}")
    if not values:
        raise InvalidParameter(name, f"expected one or more of {', '.join(allowed)}")
    return values


def parse_search(parameters: SearchParameters) -> Search:
    """The search the parameters describe; empty values are left out."""
    given = {
        name: value.strip()
        for name, value in parameters.model_dump(exclude_none=True).items()
        if value.strip()
    }
    criteria: dict[str, Any] = {}
    for name, default in (
        ("target", "contains"),
        ("instrument", "prefix"),
        ("facility", "exact"),
        ("collection", "exact"),
        ("progid", "exact"),
        ("datapi", "exact"),
        ("proposal_subid", "exact"),
        ("obs_id", "exact"),
    ):
        if name in given:
            criteria[name] = _text_match(name, given[name], default)
    if "caliblevel" in given:
        criteria["calib_levels"] = tuple(
            sorted({_integer("caliblevel", item, 0, 3) for item in _items(given["caliblevel"])})
        )
        if not criteria["calib_levels"]:
            raise InvalidParameter("caliblevel", "expected levels among 0, 1, 2, 3")
    if "category" in given:
        criteria["categories"] = _choices("category", given["category"], CATEGORIES)
    named_cone = None
    if "conesearch" in given:
        cone = parse_cone("conesearch", given["conesearch"])
        if isinstance(cone, NamedCone):
            named_cone = cone
        else:
            criteria["cone"] = cone
    if "observationdate" in given:
        criteria["mjd_from"], criteria["mjd_to"] = parse_dates(
            "observationdate", given["observationdate"]
        )
    if "wavelengthband" in given:
        bands = _choices("wavelengthband", given["wavelengthband"], tuple(BANDS))
        criteria["wavelength_ranges"] = tuple(band_range(band) for band in bands)
    if "public" in given:
        answer = given["public"].lower()
        if answer not in _YES + _NO:
            raise InvalidParameter("public", f"{given['public']!r} is not yes or no")
        criteria["public"] = answer in _YES
    order = given.get("order", DEFAULT_ORDER)
    return Search(
        criteria=SearchCriteria(**criteria),
        ordering=parse_ordering("order", order),
        order=order,
        page=_integer("page", given.get("page", "1"), 1, MAX_PAGE),
        perpage=_integer("perpage", given.get("perpage", str(DEFAULT_PERPAGE)), 1, MAX_PAGE_SIZE),
        named_cone=named_cone,
    )


def resolved(database: Database, wanted: Search) -> Search:
    """``wanted`` with its cone around a star name centred on SIMBAD's position of the star
    (the platform's resolver, its answers cached in ``oidb.name_resolutions``)."""
    if wanted.named_cone is None:
        return wanted
    name, radius = wanted.named_cone.name, wanted.named_cone.radius
    with database.session() as session:
        answer = Resolver(database.settings, NameResolution).resolve(session, name)
    ra, dec = answer.position_for("conesearch", name)
    cone = Cone(ra, dec, radius)
    return replace(wanted, criteria=replace(wanted.criteria, cone=cone), named_cone=None)


def _result(session: Session, wanted: Search) -> SearchResult:
    rows, total = storage.search_page(
        session, wanted.criteria, wanted.ordering, wanted.perpage, wanted.offset
    )
    return SearchResult(wanted, rows, total)


def search(database: Database, caller: Caller, wanted: Search) -> SearchResult:
    """One page of the granules ``caller`` may see that meet the search."""
    wanted = resolved(database, wanted)
    with reading(database, caller) as session:
        return _result(session, wanted)


@dataclass(frozen=True)
class SearchPage:
    """The search page's content: the results and the form's choices."""

    result: SearchResult
    instruments: list[str]
    facilities: list[str]
    collections: list[dict[str, Any]]


def search_page(database: Database, caller: Caller, wanted: Search) -> SearchPage | None:
    """Results and form choices in one reading, or None while the database does not answer
    (the page then shows its form and says so)."""
    try:
        wanted = resolved(database, wanted)
        with reading(database, caller) as session:
            return SearchPage(
                _result(session, wanted),
                instruments=storage.distinct_values(session, "instrument_name"),
                facilities=storage.distinct_values(session, "facility_name"),
                collections=storage.collections(session),
            )
    except DATABASE_UNAVAILABLE:
        logger.warning("search page without results: the database does not answer")
        return None


def granule_json(database: Database, caller: Caller, granule_id: int) -> dict[str, Any]:
    """Every column of a granule the caller may see, with its collection's title."""
    with reading(database, caller) as session:
        found = storage.granule(session, granule_id)
    if found is None:
        raise NotFound(f"no granule {granule_id}")
    return found


@dataclass(frozen=True)
class GranuleView:
    """What the granule page shows: the columns, the file, and what the caller may fetch."""

    granule: dict[str, Any]
    file: dict[str, Any] | None
    #: ``(kind, description)`` of the quick-looks the caller may see (none while embargoed).
    previews: list[tuple[str, str]]
    may_download: bool

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The file's validation messages (warnings and notes of an accepted file)."""
        return list((self.file or {}).get("report", {}).get("messages", []))


def granule_view(database: Database, caller: Caller, granule_id: int) -> GranuleView:
    with reading(database, caller) as session:
        found = storage.granule(session, granule_id)
        if found is None:
            raise NotFound(f"no granule {granule_id}")
        file = storage.oifits_file(session, found["file_id"]) if found["file_id"] else None
        previews: list[tuple[str, str]] = []
        may_download = False
        if file is not None:
            record = session.get(Granule, granule_id)
            if can_download(caller, record, session.get(Collection, found["obs_collection"])):
                previews = [(kind, PREVIEW_KINDS[kind]) for kind in preview_kinds_of(record)]
            may_download = _file_downloadable(session, caller, granule_id)
    return GranuleView(found, file, previews, may_download)


def _file_downloadable(session: Session, caller: Caller, granule_id: int) -> bool:
    """Whether the file's download would be allowed (every granule of a file must be)."""
    try:
        downloadable_file(session, caller, granule_id)
    except (Unauthorized, Forbidden):
        return False
    return True


def collections(database: Database, caller: Caller) -> list[dict[str, Any]]:
    with reading(database, caller) as session:
        return storage.collections(session)


def collection(database: Database, caller: Caller, collection_id: str) -> dict[str, Any]:
    """A collection the caller may see, its granule count, owner's name and embargo."""
    with reading(database, caller) as session:
        found = storage.collection(session, collection_id)
    if found is None:
        raise NotFound(f"no collection {collection_id!r}")
    with database.session() as session:
        found["owner"] = storage.username(session, found["owner_id"]) if found["owner_id"] else None
    found["embargo"] = embargo_text(found["coltype"])
    return found


def embargo_text(coltype: str) -> str:
    """``2 years``, ``1 year 6 months``, or ``none`` for a collection type."""
    embargo = EMBARGO.get(coltype)
    if embargo is None:
        return "none"
    parts = [
        f"{count} {unit}{'s' if count > 1 else ''}"
        for count, unit in ((embargo.years, "year"), (embargo.months, "month"))
        if count
    ]
    return " ".join(parts)

"""Search criteria of ``search.votable``, the exports and the web search, read from raw parameters.

Every parameter is checked here, so bad input becomes one :class:`InvalidParameter` naming the
parameter (an HTTP 400 in the handlers) instead of a database error. The original service
answered 500 on dates with fractional seconds or without a time zone; those are accepted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from jmmc_core.errors import InvalidParameter
from jmmc_core.spherical import Cone

from ..storage.search import NameCone, SearchCriteria

#: ASPRO2's cone: 30 arcseconds around its target. It is also the cone around a resolved name:
#: observing blocks point within arcseconds of SIMBAD's position, and 30" still holds a star
#: whose proper motion moved it by a few arcseconds over the archive's decades.
DEFAULT_RADIUS_ARCSEC = 30.0
#: pg_sphere's largest circle: a hemisphere (a larger radius is refused, not a server error).
MAX_RADIUS_ARCSEC = 90.0 * 3600.0

OBSERVATION_TYPES = ("science", "calibrator")
_TRUE = ("true", "1", "yes", "on", "t", "y")
_FALSE = ("false", "0", "no", "off", "f", "n", "")

#: An offset that lost its ``+`` to form encoding: ``2020-06-12T10:00:00 00:00``.
_OFFSET_WITHOUT_PLUS = re.compile(r"^(.*\d)\s(\d{2}:?\d{2})$")
#: Fractions longer than microseconds, which ``datetime.fromisoformat`` refuses before 3.11.
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_float(name: str, text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidParameter(name, f"{text!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidParameter(name, f"{text!r} is out of range [{low:g}, {high:g}]")
    return value


def parse_int(name: str, text: str, low: int = 0, high: int = 2**31 - 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidParameter(name, f"{text!r} is not an integer") from None
    if not low <= value <= high:
        raise InvalidParameter(name, f"{text!r} is out of range [{low}, {high}]")
    return value


def parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidParameter(name, f"{text!r} is not a boolean (true or false)")


def parse_choice(name: str, text: str, choices: tuple[str, ...]) -> str:
    lowered = text.strip().lower()
    if lowered not in choices:
        raise InvalidParameter(name, f"{text!r} is not one of {', '.join(choices)}")
    return lowered


def parse_datetime(name: str, text: str) -> datetime:
    """ISO 8601 with or without time zone and fractional seconds; no zone means UTC."""
    cleaned = text.strip()
    if match := _OFFSET_WITHOUT_PLUS.match(cleaned):
        cleaned = f"{match.group(1)}+{match.group(2)}"
    cleaned = _LONG_FRACTION.sub(r"\1", cleaned)
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise InvalidParameter(
            name, f"{text!r} is not an ISO 8601 date, e.g. 2020-06-12T10:00:00+00:00"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _text(parameters: Mapping[str, str], name: str) -> str | None:
    value = parameters.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def parse_criteria(parameters: Mapping[str, str]) -> SearchCriteria:
    """Criteria from request parameters (``ra``/``dec`` in degrees, ``radius`` in arcsec).

    ``resolve`` names a star whose SIMBAD position is the cone's centre: the caller resolves
    it (:func:`obsportal.services.targets.resolved`) before searching.
    """
    ra_text, dec_text = _text(parameters, "ra"), _text(parameters, "dec")
    radius_text, resolve = _text(parameters, "radius"), _text(parameters, "resolve")
    radius = DEFAULT_RADIUS_ARCSEC
    if radius_text is not None:
        if ra_text is None and dec_text is None and resolve is None:
            raise InvalidParameter("radius", "given without ra and dec or resolve")
        radius = parse_float("radius", radius_text, 0.0, MAX_RADIUS_ARCSEC)
    cone = name_cone = None
    if ra_text is not None or dec_text is not None:
        if resolve is not None:
            raise InvalidParameter("resolve", "give a name to resolve or ra and dec, not both")
        if ra_text is None:
            raise InvalidParameter("ra", "missing; a cone needs both ra and dec")
        if dec_text is None:
            raise InvalidParameter("dec", "missing; a cone needs both ra and dec")
        cone = Cone(
            ra=parse_float("ra", ra_text, 0.0, 360.0),
            dec=parse_float("dec", dec_text, -90.0, 90.0),
            radius=radius / 3600.0,
        )
    elif resolve is not None:
        _check_name("resolve", resolve)
        name_cone = NameCone(resolve, radius / 3600.0)

    criteria = SearchCriteria(
        cone=cone,
        resolve=name_cone,
        exp_id=_text(parameters, "exp_id"),
        instrument=_text(parameters, "instrument"),
        instrument_mode=_text(parameters, "instrument_mode"),
        interferometer=_text(parameters, "interferometer"),
        target=_text(parameters, "target"),
        program=_text(parameters, "program"),
    )
    if (target_id := _text(parameters, "target_id")) is not None:
        criteria = criteria.but(target_id=parse_int("target_id", target_id))
    if (obs_type := _text(parameters, "obs_type")) is not None:
        criteria = criteria.but(obs_type=parse_choice("obs_type", obs_type, OBSERVATION_TYPES))
    for name in ("mjd_from", "mjd_to"):
        if (value := _text(parameters, name)) is not None:
            criteria = criteria.but(**{name: parse_float(name, value, 0.0, 1e6)})
    for name in ("date_updated_from", "date_updated_to"):
        if (value := _text(parameters, name)) is not None:
            criteria = criteria.but(**{name: parse_datetime(name, value)})
    if criteria.target is not None:
        _check_name("target", criteria.target)
    _check_ranges(criteria)
    return criteria


def _check_name(parameter: str, name: str) -> None:
    """Names are matched on their letters and digits: one without any would match anything."""
    if not any(character.isalnum() for character in name):
        raise InvalidParameter(parameter, f"{name!r} has no letter or digit")


def _check_ranges(criteria: SearchCriteria) -> None:
    if (
        criteria.mjd_from is not None
        and criteria.mjd_to is not None
        and criteria.mjd_from > criteria.mjd_to
    ):
        raise InvalidParameter("mjd_to", "is before mjd_from")
    if (
        criteria.date_updated_from is not None
        and criteria.date_updated_to is not None
        and criteria.date_updated_from > criteria.date_updated_to
    ):
        raise InvalidParameter("date_updated_to", "is before date_updated_from")

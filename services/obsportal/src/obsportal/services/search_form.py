"""The web search form: one box for a target name or coordinates, plus filters, into criteria.

A name searches the targets so named (every spelling of the star); with ``resolve`` ticked it
is resolved by SIMBAD and the cone of ``radius`` around the star is searched instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from jmmc_core.errors import InvalidParameter

from ..storage.search import SearchCriteria
from .search import parse_criteria

FORM_FIELDS = ("q", "resolve", "radius", "instrument", "mode", "date_from", "date_to")
_MJD_EPOCH = date(1858, 11, 17)
_SEXAGESIMAL = re.compile(
    r"^\s*(\d{1,2})[:h ](\d{1,2})[:m ](\d{1,2}(?:\.\d*)?)s?\s*[ ,]\s*"
    r"([+-]?)(\d{1,2})[:d° ](\d{1,2})[:m' ](\d{1,2}(?:\.\d*)?)[s\"]?\s*$"
)
_DECIMAL = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?)\s*[ ,]\s*([+-]?\d+(?:\.\d*)?)\s*$")


def parse_position(text: str) -> tuple[float, float] | None:
    """Degrees from ``168.79 -61.28`` or ``11:15:09.8 -61:16:49``; None for a name."""
    if match := _DECIMAL.match(text):
        return float(match.group(1)), float(match.group(2))
    if match := _SEXAGESIMAL.match(text):
        hours, minutes, seconds, sign, degrees, arcmin, arcsec = match.groups()
        ra = 15.0 * (int(hours) + int(minutes) / 60 + float(seconds) / 3600)
        dec = int(degrees) + int(arcmin) / 60 + float(arcsec) / 3600
        return ra, -dec if sign == "-" else dec
    return None


def _mjd(name: str, text: str) -> str:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidParameter(name, f"{text!r} is not a date (YYYY-MM-DD)") from None
    return str((day - _MJD_EPOCH).days)


def form_criteria(form: Mapping[str, str]) -> SearchCriteria:
    """Criteria from the form; the date range covers whole days (UTC)."""
    parameters: dict[str, str] = {}
    query = (form.get("q") or "").strip()
    if query:
        position = parse_position(query)
        if position is not None:
            parameters.update(ra=str(position[0]), dec=str(position[1]))
        elif form.get("resolve"):
            parameters["resolve"] = query
        else:
            parameters["target"] = query
        radius = (form.get("radius") or "").strip()
        if radius and (position is not None or "resolve" in parameters):
            parameters["radius"] = radius
    for field, parameter in (("instrument", "instrument"), ("mode", "instrument_mode")):
        if value := (form.get(field) or "").strip():
            parameters[parameter] = value
    if value := (form.get("date_from") or "").strip():
        parameters["mjd_from"] = _mjd("date_from", value)
    if value := (form.get("date_to") or "").strip():
        parameters["mjd_to"] = str(float(_mjd("date_to", value)) + 1)
    try:
        return parse_criteria(parameters)
    except InvalidParameter as error:
        # Name the form field the user typed into, not the parameter it became.
        fields = {"ra": "q", "dec": "q", "resolve": "q", "target": "q", "mjd_to": "date_to"}
        field = fields.get(error.parameter, error.parameter)
        raise InvalidParameter(field, error.message) from None


def download_parameters(criteria: SearchCriteria) -> dict[str, str]:
    """The same search as ``search.votable``/export parameters, for download links."""
    parameters: dict[str, str] = {}
    if criteria.cone is not None:
        parameters.update(
            ra=repr(criteria.cone.ra),
            dec=repr(criteria.cone.dec),
            radius=repr(criteria.cone.radius * 3600.0),
        )
    for name in ("instrument", "instrument_mode", "target", "exp_id", "program", "obs_type"):
        if (value := getattr(criteria, name)) is not None:
            parameters[name] = value
    if criteria.target_id is not None:
        parameters["target_id"] = str(criteria.target_id)
    for name in ("mjd_from", "mjd_to"):
        if (value := getattr(criteria, name)) is not None:
            parameters[name] = repr(value)
    return parameters

"""How the pages write values for reading: dates in ISO (not MJD only), wavelengths in µm,
counts with thousands separators, the rights state in words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .embargo import mjd_to_datetime

#: Result columns of the search and collection pages: (sort key, heading).
RESULT_COLUMNS = (
    ("target_name", "Target"),
    ("instrument_name", "Instrument"),
    ("instrument_mode", "Mode"),
    ("facility_name", "Facility"),
    ("t_min", "Observed (UTC)"),
    ("em_min", "Wavelengths (µm)"),
    ("calib_level", "Level"),
    ("dataproduct_category", "Category"),
    ("obs_collection", "Collection"),
    ("obs_release_date", "Rights"),
)


def mjd_iso(mjd: float | None) -> str:
    """``2017-09-04 03:00`` (UTC) for a modified Julian date; empty for none."""
    if mjd is None:
        return ""
    return f"{mjd_to_datetime(mjd):%Y-%m-%d %H:%M}"


def observed(row: dict[str, Any]) -> str:
    """The observation's span (``2017-09-04 02:24`` to ``04:48``, en dash between); the end's
    date only when it differs."""
    start, end = mjd_iso(row["t_min"]), mjd_iso(row["t_max"])
    if not end or end == start:
        return start
    if end[:10] == start[:10]:
        end = end[11:]
    return f"{start}\u2013{end}"


def microns(metres: float | None) -> str:
    """A wavelength in µm with three decimals (``1.650``)."""
    return "" if metres is None else f"{metres * 1e6:.3f}"


def count(value: int | None) -> str:
    """``12,345``; empty for none."""
    return "" if value is None else f"{value:,}"


def rights(row: dict[str, Any]) -> str:
    """``public``, ``embargoed until 2027-09-04`` or ``proprietary`` (no release date)."""
    if not row["embargoed"]:
        return "public"
    release = row["obs_release_date"]
    return "proprietary" if release is None else f"embargoed until {release:%Y-%m-%d}"


def timestamp(moment: datetime | None) -> str:
    """``2026-12-03 15:42 UTC``; empty for none."""
    return "" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


FILTERS: dict[str, Callable[..., str]] = {
    "oidb_mjd": mjd_iso,
    "oidb_observed": observed,
    "oidb_microns": microns,
    "oidb_count": count,
    "oidb_rights": rights,
    "oidb_time": timestamp,
}

"""Simple Cone Search 1.03: RA, DEC, SR in degrees, VERB 1/2/3, UCD1 names on the main columns.

pyvo finds the id and position through the UCD1 names ``ID_MAIN``, ``POS_EQ_RA_MAIN`` and
``POS_EQ_DEC_MAIN``, and an error only through an INFO named ``Error``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from jmmc_core.errors import InvalidParameter
from jmmc_core.spherical import Cone
from jmmc_core.votable import Field

from ..storage.search import SearchCriteria
from .search import parse_float, parse_int
from .search_votable import ALL_COLUMNS, Column, columns_for

_MAIN_UCDS = {"exp_id": "ID_MAIN", "target_ra": "POS_EQ_RA_MAIN", "target_dec": "POS_EQ_DEC_MAIN"}
_VERB_2 = (
    "exp_id",
    "target_ra",
    "target_dec",
    "target_name",
    "exp_mjd_start",
    "exp_mjd_end",
    "obs_type",
    "obs_program",
    "interferometer_name",
    "interferometer_stations",
    "instrument_name",
    "instrument_mode",
    "instrument_submode",
)


def _scs_column(column: Column) -> Column:
    ucd = _MAIN_UCDS.get(column.field.name)
    if ucd is None:
        return column
    field = replace(column.field, ucd=ucd)
    if column.field.name == "exp_id":
        field = Field.text("exp_id", ucd=ucd, id="exp_id")  # SCS wants ID_MAIN as char
    return replace(column, field=field)


_BY_NAME = {column.field.name: _scs_column(column) for column in ALL_COLUMNS}
_VERB_COLUMNS = {
    1: tuple(_BY_NAME[name] for name in ("exp_id", "target_ra", "target_dec")),
    2: tuple(_BY_NAME[name] for name in _VERB_2),
    3: tuple(_BY_NAME[column.field.name] for column in columns_for(all_fields=True)),
}


@dataclass(frozen=True)
class ConeSearch:
    criteria: SearchCriteria
    columns: tuple[Column, ...]
    metadata_only: bool


def parse_cone_search(values: Mapping[str, str]) -> ConeSearch:
    """A cone search from its parameters, keyed by their SCS names (``RA``, ``DEC``, ...)."""
    for name in ("RA", "DEC", "SR"):
        if not values.get(name, "").strip():
            raise InvalidParameter(name, "missing; a cone search needs RA, DEC and SR")
    ra = parse_float("RA", values["RA"], 0.0, 360.0)
    dec = parse_float("DEC", values["DEC"], -90.0, 90.0)
    # pg_sphere's largest circle is a hemisphere.
    radius = parse_float("SR", values["SR"], 0.0, 90.0)
    verb = 2
    if values.get("VERB", "").strip():
        verb = parse_int("VERB", values["VERB"], 1, 3)
    format_ = values.get("RESPONSEFORMAT", "").strip().lower()
    if format_ not in ("", "votable", "application/x-votable+xml", "text/xml"):
        raise InvalidParameter("RESPONSEFORMAT", f"{format_!r} is not offered; use votable")
    return ConeSearch(
        criteria=SearchCriteria(cone=Cone(ra, dec, radius)),
        columns=_VERB_COLUMNS[verb],
        metadata_only=radius == 0.0,
    )

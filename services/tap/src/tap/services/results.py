"""Typing a result: VOTable FIELDs for the columns of a query, and values as DALI wants them.

A column that selects a published one carries its TAP_SCHEMA metadata; an expression gets a
type from its PostgreSQL type. pg_sphere geometries leave as DALI values in degrees: loaders
registered on the connection turn pg_sphere's text output (radians) into lists of degrees.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from psycopg import Column as CursorColumn
from psycopg.adapt import Loader
from psycopg.types import TypeInfo
from psycopg.types.numeric import FloatLoader
from sqlalchemy import Connection

from jmmc_core.votable import Field

from .adql import OutputColumn

#: VOTable datatype and arraysize of PostgreSQL types, by name (``_x`` is an array of ``x``).
_PG_TYPES: dict[str, tuple[str, str | None, str | None]] = {
    "bool": ("boolean", None, None),
    "int2": ("short", None, None),
    "int4": ("int", None, None),
    "int8": ("long", None, None),
    "float4": ("float", None, None),
    "float8": ("double", None, None),
    "numeric": ("double", None, None),
    "timestamp": ("char", "*", "timestamp"),
    "timestamptz": ("char", "*", "timestamp"),
    "date": ("char", "*", "timestamp"),
    "spoint": ("double", "2", "point"),
    "scircle": ("double", "3", "circle"),
    "spoly": ("double", "*", "polygon"),
    "sbox": ("double", "*", "polygon"),
}
_NUMBER = re.compile(r"[-+0-9.eE]+(?:[eE][-+]?[0-9]+)?|NaN|-?Infinity")
_SPHERE_TYPES = ("spoint", "scircle", "spoly", "sbox")
_LOADERS_REGISTERED = "tap_result_loaders"


def _degrees(text: str) -> list[float]:
    """Every number of a pg_sphere value, radians, as degrees.

    pg_sphere writes 15 significant digits: rounding the degrees to 14 drops the noise of the
    conversion (10.5 rather than 10.500000000000023), far below any astrometric precision.
    """
    return [float(f"{math.degrees(float(number)):.14g}") for number in _NUMBER.findall(text)]


def _longitude(value: float) -> float:
    """pg_sphere longitudes are in [0, 2π); keep degrees in [0, 360) after rounding."""
    return 0.0 if value >= 360.0 else value


class _SphereLoader(Loader):
    def load(self, data) -> list[float]:
        numbers = _degrees(bytes(data).decode("ascii"))
        numbers[0::2] = map(_longitude, numbers[0::2])
        return numbers


class SpointLoader(_SphereLoader):
    """``(lon , lat)`` → ``[ra, dec]``."""


class ScircleLoader(Loader):
    """``<(lon , lat) , radius>`` → ``[ra, dec, radius]``."""

    def load(self, data) -> list[float]:
        ra, dec, radius = _degrees(bytes(data).decode("ascii"))
        return [_longitude(ra), dec, radius]


class SpolyLoader(_SphereLoader):
    """``{(lon , lat),...}`` → ``[ra1, dec1, ra2, dec2, ...]``."""


class SboxLoader(Loader):
    """``((lon1 , lat1), (lon2 , lat2))`` (south-west, north-east) → its polygon's corners."""

    def load(self, data) -> list[float]:
        west, south, east, north = _degrees(bytes(data).decode("ascii"))
        corners = [west, south, east, south, east, north, west, north]
        corners[0::2] = map(_longitude, corners[0::2])
        return corners


_SPHERE_LOADERS = {
    "spoint": SpointLoader,
    "scircle": ScircleLoader,
    "spoly": SpolyLoader,
    "sbox": SboxLoader,
}


def register_loaders(connection: Connection) -> None:
    """DALI geometry values and floats for ``numeric``, once per database connection."""
    record = connection.connection
    if record.info.get(_LOADERS_REGISTERED):
        return
    driver = record.driver_connection
    for name, loader in _SPHERE_LOADERS.items():
        info = TypeInfo.fetch(driver, name)
        if info is not None:
            driver.adapters.register_loader(info.oid, loader)
            info.register(driver)
    driver.adapters.register_loader("numeric", FloatLoader)
    # Reading the types opened a transaction on the read-only connection: end it.
    driver.rollback()
    record.info[_LOADERS_REGISTERED] = True


def _type_name(connection_types, oid: int) -> str | None:
    info = connection_types.get(oid)
    return info.name if info is not None else None


def _expression_field(name: str, type_name: str | None) -> Field:
    if type_name is not None and type_name.startswith("_"):
        element = _PG_TYPES.get(type_name[1:])
        if element is not None and element[1] is None:
            return Field(name, element[0], "*")
        return Field.unicode_text(name)
    datatype, arraysize, xtype = _PG_TYPES.get(type_name or "", ("unicodeChar", "*", None))
    return Field(name, datatype, arraysize, xtype=xtype)


def result_fields(
    columns: Sequence[OutputColumn], description: Sequence[CursorColumn] | None, adapters
) -> list[Field]:
    """One FIELD per output column, typed from TAP_SCHEMA or from PostgreSQL."""
    fields = []
    for column, cursor_column in zip(columns, description or (), strict=False):
        source = column.source
        if source is not None:
            fields.append(
                Field(
                    column.name,
                    source.datatype,
                    source.arraysize,
                    unit=source.unit,
                    ucd=source.ucd,
                    utype=source.utype,
                    xtype=source.xtype,
                    description=source.description,
                )
            )
        else:
            fields.append(
                _expression_field(column.name, _type_name(adapters.types, cursor_column.type_code))
            )
    return fields

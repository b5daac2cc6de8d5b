"""Typing a result: VOTable FIELDs for the columns of a query, and values as DALI wants them.

A column that selects a published one carries its TAP_SCHEMA metadata; an expression gets a
type from its PostgreSQL type. pg_sphere geometries leave as DALI values in degrees.

Results are read in binary whenever every column allows it (:func:`binary_query` has PostgreSQL
turn points, circles and boxes into arrays of degrees, instants into UTC, numerics into
doubles). pg_sphere 1.2 has no binary output, so a result holding a polygon is read as text:
loaders registered on the connection turn pg_sphere's text (radians) into lists of degrees.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Sequence

from psycopg import Column as CursorColumn
from psycopg.adapt import Loader
from psycopg.types import TypeInfo
from psycopg.types.datetime import TimestamptzLoader
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
_LOADERS_REGISTERED = "tap_result_loaders"
#: pg_sphere writes 15 significant digits: rounding degrees to 12 decimals (4 µas) drops the
#: noise of the conversion (10.5 rather than 10.500000000000023).
_DECIMALS = 12
_NUMBERS = re.compile(rb"[^-+0-9.eE]+")


def _degrees(radians: bytes) -> float:
    return round(math.degrees(float(radians)), _DECIMALS)


def _longitude(radians: bytes) -> float:
    """pg_sphere longitudes are in [0, 2π); keep degrees in [0, 360) after rounding."""
    degrees = _degrees(radians)
    return 0.0 if degrees >= 360.0 else degrees


def _coordinates(data) -> list[float]:
    """Every ``(lon , lat)`` pair of a pg_sphere value as degrees, in order."""
    numbers = _NUMBERS.split(bytes(data).strip(b"{}()<> "))
    return [
        converter(number)
        for converter, number in zip(
            [_longitude, _degrees] * (len(numbers) // 2 + 1), numbers, strict=False
        )
    ]


class SpointLoader(Loader):
    """``(lon , lat)`` → ``[ra, dec]``: split without a regular expression, the hot path."""

    def load(self, data) -> list[float]:
        longitude, latitude = bytes(data)[1:-1].split(b" , ")
        return [_longitude(longitude), _degrees(latitude)]


class ScircleLoader(Loader):
    """``<(lon , lat) , radius>`` → ``[ra, dec, radius]``."""

    def load(self, data) -> list[float]:
        return _coordinates(data)


class SpolyLoader(Loader):
    """``{(lon , lat),...}`` → ``[ra1, dec1, ra2, dec2, ...]``."""

    def load(self, data) -> list[float]:
        return _coordinates(data)


class SboxLoader(Loader):
    """``((lon1 , lat1), (lon2 , lat2))`` (south-west, north-east) → its polygon's corners."""

    def load(self, data) -> list[float]:
        west, south, east, north = _coordinates(data)
        return [west, south, east, south, east, north, west, north]


class UtcTimestampLoader(TimestamptzLoader):
    """An instant as a naive UTC date and time: DALI timestamps carry no UTC offset."""

    def load(self, data) -> datetime.datetime:
        return super().load(data).astimezone(datetime.UTC).replace(tzinfo=None)


_SPHERE_LOADERS = {
    "spoint": SpointLoader,
    "scircle": ScircleLoader,
    "spoly": SpolyLoader,
    "sbox": SboxLoader,
}


def register_loaders(connection: Connection) -> None:
    """DALI geometry values, floats for ``numeric``, UTC instants: once per database connection."""
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
    driver.adapters.register_loader("timestamptz", UtcTimestampLoader)
    # Reading the types opened a transaction on the read-only connection: end it.
    driver.rollback()
    record.info[_LOADERS_REGISTERED] = True


#: PostgreSQL types psycopg reads in binary, which costs less than parsing text.
_BINARY_TYPES = frozenset(
    {"bool", "int2", "int4", "int8", "float4", "float8", "text", "varchar", "bpchar", "name"}
    | {"timestamp", "date", "_bool", "_int2", "_int4", "_int8", "_float4", "_float8", "_text"}
)
#: Expressions turning a column of another type into a binary one PostgreSQL computes: pg_sphere
#: values as arrays of degrees (full double precision), instants as UTC, numbers as doubles.
_AS_BINARY = {
    "spoint": "ARRAY[degrees(long({0})), degrees(lat({0}))]",
    "scircle": "ARRAY[degrees(long(center({0}))), degrees(lat(center({0}))), degrees(radius({0}))]",
    "sbox": (
        "ARRAY[degrees(long(sw({0}))), degrees(lat(sw({0}))), degrees(long(ne({0}))),"
        " degrees(lat(sw({0}))), degrees(long(ne({0}))), degrees(lat(ne({0}))),"
        " degrees(long(sw({0}))), degrees(lat(ne({0})))]"
    ),
    "timestamptz": "{0} AT TIME ZONE 'UTC'",
    "numeric": "{0}::float8",
}


#: Columns declared as ADQL regions (TAP_SCHEMA xtype ``adql:REGION``, as ObsCore's
#: ``s_region``) leave as STC-S strings, which PostgreSQL writes from the pg_sphere value.
_DEGREES_TEXT = "round(degrees({0})::numeric, 12)::float8::text"
_AS_STC_S = {
    "scircle": "'CIRCLE ICRS ' || {ra} || ' ' || {dec} || ' ' || {radius}".format(
        ra=_DEGREES_TEXT.format("long(center({0}))"),
        dec=_DEGREES_TEXT.format("lat(center({0}))"),
        radius=_DEGREES_TEXT.format("radius({0})"),
    ),
    "spoint": "'POSITION ICRS ' || {ra} || ' ' || {dec}".format(
        ra=_DEGREES_TEXT.format("long({0})"), dec=_DEGREES_TEXT.format("lat({0})")
    ),
}
_REGION_XTYPES = frozenset({"adql:region", "region"})


def region_columns(columns: Sequence[OutputColumn]) -> frozenset[int]:
    """Positions of the output columns that select a column published as an ADQL region."""
    return frozenset(
        index
        for index, column in enumerate(columns)
        if column.source is not None and (column.source.xtype or "").lower() in _REGION_XTYPES
    )


def binary_query(
    sql: str,
    description: Sequence[CursorColumn],
    adapters,
    regions: frozenset[int] = frozenset(),
) -> tuple[str, bool]:
    """``sql`` as it must be read, and whether in binary.

    Columns of ``regions`` become STC-S text. Every other column of a type with a binary form
    is converted to one; when one has none (a polygon), the result is read as text.
    """
    names = [_type_name(adapters.types, column.type_code) for column in description]
    as_text = {index: _AS_STC_S[names[index]] for index in regions if names[index] in _AS_STC_S}
    others = [name for index, name in enumerate(names) if index not in as_text]
    if not as_text and all(name in _BINARY_TYPES for name in others):
        return sql, True
    binary = all(name in _BINARY_TYPES or name in _AS_BINARY for name in others)
    # Columns renamed by position: the query's own names may repeat or need quoting.
    columns = [f"c{index}" for index in range(len(names))]

    def converted(index: int, column: str, name: str | None) -> str:
        expression = as_text.get(index) or (binary and _AS_BINARY.get(name or ""))
        if not expression:
            return column
        return f"CASE WHEN {column} IS NULL THEN NULL ELSE {expression.format(column)} END"

    selected = ", ".join(
        converted(index, column, name)
        for index, (column, name) in enumerate(zip(columns, names, strict=True))
    )
    return f"SELECT {selected} FROM ({sql}) AS result({', '.join(columns)})", binary


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
    for column, cursor_column in zip(columns, description or (), strict=True):
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

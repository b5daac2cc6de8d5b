"""pg_sphere's ``spoint`` and ``scircle`` as SQLAlchemy column types, shared by the services.

Python code deals in ``(ra_deg, dec_deg)`` tuples; they cross the wire as pg_sphere's text
form in degrees (psycopg sends strings untyped, so PostgreSQL parses them as ``spoint``).
Bulk loaders build positions in SQL with ``spoint(radians(ra), radians(dec))`` instead.
"""

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Text, cast, func, literal, type_coerce
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.types import UserDefinedType

_DEGREES = re.compile(r"\(\s*([-+0-9.eE]+)d\s*,\s*([-+0-9.eE]+)d\s*\)")


class SPoint(UserDefinedType):
    """A point on the sphere (pg_sphere ``spoint``), exchanged as ``(ra_deg, dec_deg)``."""

    cache_ok = True

    def get_col_spec(self, **_kw: object) -> str:
        return "spoint"

    def bind_processor(self, dialect):
        def process(value: tuple[float, float] | None) -> str | None:
            if value is None:
                return None
            ra, dec = value
            return f"({ra}d, {dec}d)"

        return process

    def column_expression(self, column):
        # Degrees on the way out, whatever the session's sphere output mode is; ``||`` (unlike
        # concat) keeps NULL positions NULL.
        ra = cast(func.degrees(func.long(column)), Text)
        dec = cast(func.degrees(func.lat(column)), Text)
        text_form = (
            literal("(").op("||")(ra).op("||")(literal("d, ")).op("||")(dec).op("||")(literal("d)"))
        )
        return type_coerce(text_form, self)

    def result_processor(self, dialect, coltype):
        def process(value: str | None) -> tuple[float, float] | None:
            if value is None:
                return None
            match = _DEGREES.fullmatch(value.strip())
            if match is None:
                raise ValueError(f"not an spoint in degrees: {value!r}")
            return float(match.group(1)), float(match.group(2))

        return process


class SCircle(UserDefinedType):
    """A circle on the sphere (pg_sphere ``scircle``), e.g. an ObsCore ``s_region``; published
    to TAP as a DALI circle. Its values are read through TAP, which writes them in degrees."""

    cache_ok = True

    def get_col_spec(self, **_kw: object) -> str:
        return "scircle"


# Reflection (Alembic's autogenerate) must recognise the types rather than warn about them.
ischema_names["spoint"] = SPoint
ischema_names["scircle"] = SCircle


def position(ra: ColumnElement, dec: ColumnElement) -> ColumnElement:
    """``spoint(radians(ra), radians(dec))`` of two columns in degrees: the expression the
    services' GiST indexes are built on, so a cone written with it is served by them."""
    return func.spoint(func.radians(ra), func.radians(dec))


@dataclass(frozen=True)
class Cone:
    """A circle on the sky, all in degrees."""

    ra: float
    dec: float
    radius: float

    def contains(self, point: ColumnElement) -> ColumnElement[bool]:
        """``point <@ scircle(...)``: pg_sphere's containment, which a GiST index on ``point``
        (a column or :func:`position`) serves."""
        circle = func.scircle(
            position(literal(self.ra), literal(self.dec)), func.radians(literal(self.radius))
        )
        return point.op("<@")(circle)


__all__ = ["Cone", "SCircle", "SPoint", "position"]

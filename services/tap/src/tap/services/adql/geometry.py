"""ADQL geometry as pg_sphere expressions, with the semantics DaCHS gives them.

Coordinates are degrees in ADQL and radians in pg_sphere; only ICRS (or no frame) is
accepted, since every published position is ICRS and a silent frame mix-up gives wrong rows.
"""

from __future__ import annotations

import math

from sqlglot import exp

from .model import AdqlError

POINT, CIRCLE, POLYGON, REGION = "point", "circle", "polygon", "region"
SHAPES = (CIRCLE, POLYGON, REGION)
#: Steradians to square degrees.
SQUARE_DEGREES = (180 / math.pi) ** 2
#: pg_sphere's largest circle radius: a bigger DISTANCE bound keeps the plain comparison.
_MAX_CONE_RADIUS = 90.0
_SUPPORTED_FRAMES = {"", "ICRS"}
#: STC-S words that may stand between a shape and its numbers (reference position, flavor).
_STCS_QUALIFIERS = {
    "GEOCENTER", "BARYCENTER", "HELIOCENTER", "TOPOCENTER", "UNKNOWNREFPOS", "SPHERICAL2",
}  # fmt: skip


def call(name: str, *arguments: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(arguments))


def grouped(node: exp.Expr) -> exp.Expr:
    """``node`` safe to use as an operand whatever the operator's precedence."""
    atomic = (exp.Var, exp.Literal, exp.Func, exp.Paren, exp.Subquery, exp.Null)
    return node if isinstance(node, atomic) else exp.Paren(this=node)


def number(value: float) -> exp.Expr:
    literal = exp.Literal.number(repr(abs(value)))
    return exp.Neg(this=literal) if value < 0 else literal


def check_frame(name: str) -> None:
    if name.strip().upper() not in _SUPPORTED_FRAMES:
        raise AdqlError(f"coordinate system '{name.strip()}' is not supported; use ICRS")


def without_frame(function: str, arguments: list[exp.Expr]) -> list[exp.Expr]:
    """The arguments after the optional coordinate system (ADQL 2.1 made it optional)."""
    if arguments and isinstance(arguments[0], exp.Literal) and arguments[0].is_string:
        check_frame(arguments[0].this)
        return arguments[1:]
    return arguments


def point(ra: exp.Expr, dec: exp.Expr) -> exp.Expr:
    return call("spoint", call("radians", ra), call("radians", dec))


def circle(center: exp.Expr, radius: exp.Expr) -> exp.Expr:
    return call("scircle", center, call("radians", radius))


def polygon(vertices: list[exp.Expr]) -> exp.Expr:
    """An spoly from its vertices (pg_sphere 1.2 builds one only with its aggregate)."""
    rows = [
        exp.Tuple(expressions=[exp.Literal.number(index), vertex])
        for index, vertex in enumerate(vertices, 1)
    ]
    ordered_points = exp.Order(
        this=exp.column("p", "v"), expressions=[exp.Ordered(this=exp.column("n", "v"))]
    )
    values = exp.Values(
        expressions=rows,
        alias=exp.TableAlias(this=exp.to_identifier("v"), columns=[exp.to_identifier("n"),
                                                                     exp.to_identifier("p")]),
    )  # fmt: skip
    select = exp.Select(expressions=[call("spoly", ordered_points)]).from_(values)
    return exp.Subquery(this=select)


def box(ra: exp.Expr, dec: exp.Expr, width: exp.Expr, height: exp.Expr) -> exp.Expr:
    """DaCHS's BOX: the polygon of the corners at ±width/2, ±height/2 around the centre."""

    def shifted(centre: exp.Expr, size: exp.Expr, sign: type[exp.Binary]) -> exp.Expr:
        half = exp.Div(this=grouped(size.copy()), expression=exp.Literal.number("2.0"), typed=True)
        return sign(this=grouped(centre.copy()), expression=half)

    corners = [
        (exp.Sub, exp.Sub), (exp.Sub, exp.Add), (exp.Add, exp.Add), (exp.Add, exp.Sub),
    ]  # fmt: skip
    return polygon([point(shifted(ra, width, x), shifted(dec, height, y)) for x, y in corners])


def region(text: str) -> tuple[exp.Expr, str]:
    """An STC-S string (``CIRCLE ICRS 10 20 1``, ``POLYGON ...``, ``BOX ...``, ``POSITION``)."""
    words = text.split()
    if not words:
        raise AdqlError("REGION needs an STC-S shape such as 'CIRCLE ICRS 10 20 1'")
    shape, rest = words[0].upper(), words[1:]
    while rest and not _is_number(rest[0]):
        qualifier = rest.pop(0)
        if qualifier.upper() not in _STCS_QUALIFIERS:
            check_frame(qualifier)
    if not all(_is_number(word) for word in rest):
        raise AdqlError(f"REGION: '{text}' is not an STC-S shape this service reads")
    values = [number(float(word)) for word in rest]
    if shape == "POSITION" and len(values) == 2:
        return point(*values), POINT
    if shape == "CIRCLE" and len(values) == 3:
        return circle(point(*values[:2]), values[2]), CIRCLE
    if shape == "BOX" and len(values) == 4:
        return box(*values), POLYGON
    if shape == "POLYGON" and len(values) >= 6 and len(values) % 2 == 0:
        return polygon([point(*values[i : i + 2]) for i in range(0, len(values), 2)]), POLYGON
    raise AdqlError(f"REGION: '{text}' is not an STC-S shape this service reads")


def _is_number(word: str) -> bool:
    try:
        return math.isfinite(float(word))
    except ValueError:
        return False


def contains(inner: exp.Expr, inner_kind: str | None, outer: exp.Expr, outer_kind: str | None):
    if inner_kind is None or outer_kind not in SHAPES:
        raise AdqlError("CONTAINS needs a geometry and a circle, box or polygon containing it")
    return exp.Paren(this=exp.ArrayContainedBy(this=grouped(inner), expression=grouped(outer)))


def intersects(first: exp.Expr, first_kind: str | None, second: exp.Expr, second_kind):
    if first_kind is None or second_kind is None:
        raise AdqlError("INTERSECTS needs two geometries")
    if first_kind == POINT and second_kind == POINT:
        return exp.Paren(this=exp.EQ(this=first, expression=second))
    # pg_sphere has no && for points: a point intersects a shape when the shape contains it.
    if first_kind == POINT:
        return contains(first, first_kind, second, second_kind)
    if second_kind == POINT:
        return contains(second, second_kind, first, first_kind)
    return exp.Paren(this=exp.ArrayOverlaps(this=grouped(first), expression=grouped(second)))


def distance(first: exp.Expr, second: exp.Expr) -> exp.Expr:
    return call("degrees", exp.Distance(this=grouped(first), expression=grouped(second)))


def within(first: exp.Expr, second: exp.Expr, radius: float) -> exp.Expr | None:
    """``DISTANCE(first, second) < radius`` as a cone test an index can serve, if it can be."""
    if not 0 <= radius <= _MAX_CONE_RADIUS:
        return None
    if not _has_column(first) and _has_column(second):
        first, second = second, first
    cone = circle(second, number(radius))
    return exp.Paren(this=exp.ArrayContainedBy(this=grouped(first), expression=cone))


def _has_column(node: exp.Expr) -> bool:
    return any(isinstance(part, exp.Var) for part in node.walk())  # column references


def area(shape: exp.Expr, kind: str | None) -> exp.Expr:
    if kind not in SHAPES:
        raise AdqlError("AREA needs a circle, box or polygon")
    return exp.Mul(this=call("area", shape), expression=number(SQUARE_DEGREES))


def centroid(shape: exp.Expr, kind: str | None) -> exp.Expr:
    if kind == POINT:
        return shape
    if kind != CIRCLE:
        raise AdqlError("CENTROID is supported for circles only")
    return call("center", shape)


def coordinate(position: exp.Expr, kind: str | None, which: int) -> exp.Expr:
    if kind != POINT:
        raise AdqlError(f"COORD{which} needs a point")
    return call("degrees", call("long" if which == 1 else "lat", position))

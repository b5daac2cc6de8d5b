"""Projected baselines as the original ObsPortal printed them in its VOTables.

The original wrote Python's ``str(dict)`` of its baselines: quoted 4-decimal strings, ``None``
for a missing value. The text is made once, at ingestion, and stored next to the jsonb
(``exposures.projected_baselines_text``), so exports read it instead of formatting every row.
"""

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

_FOUR_PLACES = Decimal("0.0001")
_BASELINE = "'%s': {'length': {'start': %s, 'end': %s}, 'angle': {'start': %s, 'end': %s}}"


def _number(value: Any) -> str:
    """A value as ``'50.1590'``, rounded to 4 decimals, or ``None``.

    A float written without exponent (every header value) is rounded on the digits of its
    shortest text, which gives :func:`_decimal_number`'s text without building Decimals
    (measured: an accepted header's baselines text in ~23 us instead of ~38).
    """
    if type(value) is not float:
        return "None" if value is None else _decimal_number(value)
    text = repr(value)
    whole, dot, fraction = text.partition(".")
    if not dot or "e" in fraction:  # nan, inf, exponents: rare, the general path
        return _decimal_number(value)
    if len(fraction) <= 4:
        if whole == "-0" and fraction.count("0") == len(fraction):
            return "'0.0000'"
        return f"'{whole}.{fraction:0<4}'"
    negative = whole.startswith("-")
    # Half away from zero: the fifth decimal decides, whatever follows it.
    units = int(whole.lstrip("-") + fraction[:4]) + (fraction[4] >= "5")
    if not units:
        return "'0.0000'"
    return f"'{'-' if negative else ''}{units // 10000}.{units % 10000:04d}'"


def _decimal_number(value: Any) -> str:
    # From the value's shortest text, as a JSON number is stored, rounded half away from
    # zero; a zero that rounding leaves is unsigned.
    rounded = Decimal(str(value)).quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP)
    return f"'{rounded.copy_abs() if rounded.is_zero() else rounded}'"


def _range(baseline: Any, part: str) -> tuple[str, str]:
    values = baseline.get(part) if _is_mapping(baseline) else None
    if not _is_mapping(values):
        return "None", "None"
    return _number(values.get("start")), _number(values.get("end"))


def _is_mapping(value: Any) -> bool:
    # A dict is told apart without the abstract class's slower check.
    return type(value) is dict or isinstance(value, Mapping)


def _baseline(name: str, value: Any) -> str:
    return _BASELINE % (name, *_range(value, "length"), *_range(value, "angle"))


def _stored_key_order(name: str) -> tuple[int, bytes]:
    # jsonb's order (shorter names first, then bytewise), which the original answers follow.
    encoded = name.encode()
    return len(encoded), encoded


def format_baselines(baselines: Mapping[str, Any] | None) -> str | None:
    """``{'U1-U2': {'length': {'start': '50.1590', 'end': '50.0840'}, 'angle': {...}}}``;
    ``None`` (an empty cell) when there are no baselines."""
    if not baselines:
        return None
    names = sorted(baselines, key=_stored_key_order)
    return "{" + ", ".join(_baseline(name, baselines[name]) for name in names) + "}"

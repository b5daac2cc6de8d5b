"""Projected baselines as the original ObsPortal printed them in its VOTables.

The original wrote Python's ``str(dict)`` of its baselines: quoted 4-decimal strings, ``None``
for a missing value. The text is made once, at ingestion, and stored next to the jsonb
(``exposures.projected_baselines_text``), so exports read it instead of formatting every row.
"""

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

_FOUR_PLACES = Decimal("0.0001")


def _number(value: Any) -> str:
    if value is None:
        return "None"
    # From the value's shortest text, as a JSON number is stored, rounded half away from
    # zero; a zero that rounding leaves is unsigned.
    rounded = Decimal(str(value)).quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP)
    return f"'{rounded.copy_abs() if rounded.is_zero() else rounded}'"


def _part(baseline: Any, part: str, end: str) -> str:
    values = baseline.get(part) if isinstance(baseline, Mapping) else None
    return _number(values.get(end) if isinstance(values, Mapping) else None)


def _range(baseline: Any, part: str) -> str:
    return f"{{'start': {_part(baseline, part, 'start')}, 'end': {_part(baseline, part, 'end')}}}"


def _baseline(name: str, value: Any) -> str:
    return f"'{name}': {{'length': {_range(value, 'length')}, 'angle': {_range(value, 'angle')}}}"


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

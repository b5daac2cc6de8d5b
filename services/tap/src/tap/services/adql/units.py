"""IN_UNIT: the factor from a column's published unit to the one asked for (astropy.units)."""

from __future__ import annotations

from functools import lru_cache

from astropy import units

from .model import AdqlError


def _unit(text: str) -> units.UnitBase:
    if not text.strip():
        raise AdqlError("IN_UNIT needs a unit, such as 'um'")
    try:
        return units.Unit(text, format="vounit")
    except ValueError:
        try:
            return units.Unit(text)
        except ValueError:
            raise AdqlError(f"unknown unit '{text}'") from None


@lru_cache(maxsize=256)
def conversion_factor(source: str, target: str) -> float:
    """What multiplies a value in ``source`` units to express it in ``target`` units."""
    try:
        return float(_unit(source).to(_unit(target)))
    except (units.UnitConversionError, TypeError):
        raise AdqlError(f"a value in '{source}' cannot be converted to '{target}'") from None

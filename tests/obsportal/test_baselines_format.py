"""The baselines' text: the fast rounding of header numbers against the Decimal rounding."""

import random
from decimal import InvalidOperation

import pytest

from obsportal.services.baselines import _decimal_number, _number, format_baselines

TIES = [0.00005, 0.00015, 0.00025, 1.00005, 2.50005, 12.34565, 0.99995, 9.99995, 99999.99995]
SPECIAL = [
    0.0, -0.0, 1.0, -1.0, 0.0001, -0.0001, 0.00004, -0.00004, 0.000049999, 0.00009999,
    5e-324, 1e-5, -1e-5, 123.4, 50.159, -179.9999, 359.99995, 1e15, 123456789012.34567,
    9999999999999.99995, 1e16, 1.5e16, 1e20, 1e23, 12, -7, 0, None,
]  # fmt: skip


def _values() -> list:
    rng = random.Random(2026)
    values = [*TIES, *(-tie for tie in TIES), *SPECIAL]
    for decimals in range(0, 12):
        for _ in range(2000):
            magnitude = 10 ** rng.randrange(-5, 8)
            values.append(round(rng.uniform(-magnitude, magnitude), decimals))
    values += [rng.uniform(-1000, 1000) for _ in range(5000)]  # full 17-digit values
    values += [rng.randrange(-99999, 99999) / 10**5 for _ in range(5000)]  # ties among them
    return values


@pytest.mark.parametrize("chunk", range(4))
def test_the_fast_rounding_writes_what_decimal_writes(chunk):
    values = _values()[chunk::4]
    expected = ["None" if value is None else _decimal_number(value) for value in values]
    assert [_number(value) for value in values] == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_numbers_that_are_not_finite_go_the_decimal_way(value):
    try:
        expected = _decimal_number(value)
    except InvalidOperation:
        with pytest.raises(InvalidOperation):
            _number(value)
    else:
        assert _number(value) == expected


def test_the_baselines_text_keeps_the_stored_order_and_missing_values():
    baselines = {
        "U1-U2": {"length": {"start": 50.159, "end": -0.0}, "angle": {"start": 0.00005}},
        "A0-B2": {"length": {"start": 1e20, "end": None}, "angle": None},
        "K0-G2-X": {},
    }
    assert format_baselines(baselines) == (
        "{'A0-B2': {'length': {'start': '100000000000000000000.0000', 'end': None},"
        " 'angle': {'start': None, 'end': None}},"
        " 'U1-U2': {'length': {'start': '50.1590', 'end': '0.0000'},"
        " 'angle': {'start': '0.0001', 'end': None}},"
        " 'K0-G2-X': {'length': {'start': None, 'end': None},"
        " 'angle': {'start': None, 'end': None}}}"
    )
    assert format_baselines({}) is None
    assert format_baselines(None) is None

"""A moderator's checks of a proposed measurement, each problem attached to its field.

Errors block a submission (it is not saved); warnings travel with it to the moderator:
duplicates of a catalogue measurement, names the resolver could not check. Limits follow the
catalogue's CDS format (VizieR II/345 ``jmdc.dat``), so whatever is accepted fits a release.

Three steps, usable on their own: :func:`parse_fields` turns the text of a form or a batch row
into values, :func:`value_problems` checks the values alone, :func:`check` adds what needs the
database (names, duplicates).
"""

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import quote

from sqlalchemy.orm import Session

from ..schema.catalogue import BAND_CODES, METHODS
from ..storage import submissions as storage
from .resolver import Resolution, Resolver

#: The fields of a proposed measurement, in the catalogue's column order.
FIELDS = (
    "id1",
    "id2",
    "ud_diameter",
    "e_ud_diameter",
    "ld_diameter",
    "e_ld_diameter",
    "band",
    "band_code",
    "mu_lambda",
    "method",
    "notes",
    "bibcode",
    "sinpe",
)
TEXT_FIELDS = ("id1", "id2", "band", "notes", "bibcode")
FLOAT_FIELDS = ("ud_diameter", "e_ud_diameter", "ld_diameter", "e_ld_diameter", "mu_lambda")
INTEGER_FIELDS = ("band_code", "method")

#: Widths of the text columns of ``jmdc.dat`` (A28, A10, A204, A19).
TEXT_WIDTHS = {"id1": 28, "id2": 28, "band": 10, "notes": 204}
#: Largest value each numeric column's CDS format can hold (F9.5, F7.4, F8.4, F7.5).
FORMAT_LIMITS = {
    "ud_diameter": 1000.0,
    "e_ud_diameter": 1000.0,
    "ld_diameter": 100.0,
    "e_ld_diameter": 1000.0,
    "mu_lambda": 10.0,
}

#: ADS bibliographic code: year, journal, volume, qualifier, page, first author's initial.
BIBCODE = re.compile(r"\d{4}[A-Za-z&.]{5}[A-Za-z0-9.]{4}[A-Za-z.][A-Za-z0-9.]{3}[A-Za-z0-9][A-Z.]")

#: Wavelength interval (µm) of each band code; neighbours overlap as the catalogue's bands do
#: (750-800 nm is found as R and as I).
BAND_RANGES_UM = {
    1: (0.30, 0.40),
    2: (0.39, 0.50),
    3: (0.50, 0.59),
    4: (0.58, 0.80),
    5: (0.74, 1.00),
    6: (1.05, 1.40),
    7: (1.45, 1.85),
    8: (1.90, 2.50),
    9: (2.80, 4.10),
    10: (4.10, 5.50),
    11: (7.00, 14.0),
    12: (16.0, 26.0),
}
#: Strömgren filters (lower case) and where they fall.
STROMGREN = {"u": 1, "v": 2, "b": 2, "y": 3}
WAVELENGTH = re.compile(
    r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>nm|um|µm|micron|microns|a|å|angstrom)?", re.IGNORECASE
)
UNIT_TO_UM = {"nm": 1e-3, "a": 1e-4, "å": 1e-4, "angstrom": 1e-4}

EMPTY = ("", "--")


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field; ``link`` points at what it concerns (a duplicate)."""

    field: str
    message: str
    severity: Literal["error", "warning"] = "error"
    link: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


def errors_of(problems: list[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.severity == "error"]


def by_field(problems: list[Problem] | list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Problems grouped by field, for showing each next to its input."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for problem in problems:
        item = problem.as_dict() if isinstance(problem, Problem) else problem
        grouped.setdefault(item["field"], []).append(item)
    return grouped


def parse_fields(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The values of a form or a batch row (text or already typed), and what could not be read.

    Empty text and ``--`` (the catalogue's blank) are no value; a method may be given by name.
    """
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for field in FIELDS:
        value = raw.get(field)
        if isinstance(value, str):
            value = value.strip()
            if value in EMPTY:
                value = None
        try:
            values[field] = _typed(field, value)
        except ValueError as error:
            values[field] = None
            problems.append(Problem(field, str(error)))
    return values, problems


def _typed(field: str, value: Any) -> Any:
    if value is None:
        return False if field == "sinpe" else None
    if field in FLOAT_FIELDS:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("not a number") from None
        if not math.isfinite(number):
            raise ValueError("not a finite number")
        return number
    if field in INTEGER_FIELDS:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                if field == "method":  # the original portal's exports name the method
                    return _method_code(value)
                raise ValueError("not a whole number") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("not a whole number")
        if not float(value).is_integer():
            raise ValueError("not a whole number")
        return int(value)
    if field == "sinpe":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError("1 or 0 (true or false)")
    return str(value)


def _method_code(name: str) -> int:
    codes = {label.lower(): code for code, label in METHODS.items()}
    if name.lower() not in codes:
        raise ValueError(f"unknown method {name!r}; one of {_methods()}")
    return codes[name.lower()]


def _methods() -> str:
    return ", ".join(f"{code} = {name}" for code, name in METHODS.items())


def value_problems(values: Mapping[str, Any]) -> list[Problem]:
    """The checks that need nothing but the values."""
    problems: list[Problem] = []
    problems += _text_problems(values)
    problems += _diameter_problems(values)
    problems += band_problems(values.get("band"), values.get("band_code"))
    method = values.get("method")
    if method is None:
        problems.append(Problem("method", f"required: {_methods()}"))
    elif method not in METHODS:
        problems.append(Problem("method", f"unknown method {method}; one of {_methods()}"))
    bibcode = values.get("bibcode")
    if not bibcode:
        problems.append(Problem("bibcode", "required: the publication's 19-character ADS bibcode"))
    elif not BIBCODE.fullmatch(bibcode):
        problems.append(
            Problem(
                "bibcode",
                f"{bibcode!r} is not a 19-character ADS bibcode (like 2016A&A...589A.112C)",
            )
        )
    return problems


def _text_problems(values: Mapping[str, Any]) -> list[Problem]:
    problems = []
    if not values.get("id1"):
        problems.append(Problem("id1", "required: the star's name (preferably HD)"))
    for field in TEXT_FIELDS:
        text = values.get(field)
        if not text:
            continue
        if not text.isascii() or not text.isprintable():
            problems.append(Problem(field, "plain ASCII characters only (the CDS format's)"))
        elif field in TEXT_WIDTHS and len(text) > TEXT_WIDTHS[field]:
            problems.append(Problem(field, f"at most {TEXT_WIDTHS[field]} characters"))
    return problems


def _diameter_problems(values: Mapping[str, Any]) -> list[Problem]:
    problems = []
    ud, ld = values.get("ud_diameter"), values.get("ld_diameter")
    if ud is None and ld is None:
        problems.append(Problem("ud_diameter", "give the UD or the LD diameter (or both)"))
    for field, limit in FORMAT_LIMITS.items():
        value = values.get(field)
        if value is None:
            continue
        what = "error" if field.startswith("e_") else "value"
        if value <= 0:
            problems.append(Problem(field, f"the {what} must be greater than 0"))
        elif value >= limit:
            problems.append(Problem(field, f"must be less than {limit:g} (the catalogue's format)"))
    if values.get("e_ud_diameter") is not None and ud is None:
        problems.append(Problem("e_ud_diameter", "an error without its UD diameter"))
    if ud is not None and ld is not None and 0 < ld < ud and not (values.get("notes") or ""):
        problems.append(
            Problem(
                "ld_diameter",
                f"the LD diameter ({ld:g} mas) is smaller than the UD diameter ({ud:g} mas);"
                " explain why in the notes",
            )
        )
    return problems


def wavelength_um(band: str) -> float | None:
    """The wavelength (µm) a band text states, or None when it is not one wavelength.

    Bare numbers are µm below 30 (the catalogue's convention), nm up to 2000, Å above.
    """
    match = WAVELENGTH.fullmatch(band.strip())
    if not match:
        return None
    value = float(match["value"])
    unit = (match["unit"] or "").lower()
    if unit in UNIT_TO_UM:
        return value * UNIT_TO_UM[unit]
    if unit or value < 30:
        return value
    if 200 <= value <= 2000:
        return value * 1e-3
    if 2000 < value <= 30000:
        return value * 1e-4
    return None


def band_codes_of(band: str) -> set[int] | None:
    """The band codes a band text may have, or None when the text is free (``550 to 850``)."""
    letter = band.strip().removesuffix("'").removesuffix(" band").removesuffix(" Band")
    if letter in BAND_CODES:
        return {BAND_CODES.index(letter) + 1}
    if letter in STROMGREN:
        return {STROMGREN[letter]}
    wavelength = wavelength_um(band)
    if wavelength is None:
        return None
    return {
        code for code, (low, high) in BAND_RANGES_UM.items() if low <= wavelength <= high
    } or set()


def band_problems(band: str | None, band_code: int | None) -> list[Problem]:
    if band_code is not None and not 1 <= band_code <= len(BAND_CODES):
        return [Problem("band_code", f"must be 1 ({BAND_CODES[0]}) to 12 ({BAND_CODES[-1]})")]
    if not band:
        return []
    codes = band_codes_of(band)
    if codes is None:
        if band_code is None:
            return [Problem("band_code", f"required when the band is free text ({band!r})")]
        return []
    if not codes:
        return [Problem("band", f"{band!r} falls in none of the bands U to Q")]
    expected = " or ".join(f"{code} ({BAND_CODES[code - 1]})" for code in sorted(codes))
    if band_code is None:
        return [Problem("band_code", f"required; band {band!r} is {expected}")]
    if band_code not in codes:
        return [
            Problem(
                "band_code",
                f"{band_code} ({BAND_CODES[band_code - 1]}) does not match band {band!r},"
                f" which is {expected}",
            )
        ]
    return []


def name_problems(id1: Resolution | None, id2: Resolution | None) -> list[Problem]:
    """What the resolver said about the names: unknown is an error, unchecked a warning."""
    problems = []
    for field, resolution in (("id1", id1), ("id2", id2)):
        if resolution is None:
            continue
        if resolution.status == "not_found":
            problems.append(Problem(field, f"{resolution.name!r} is unknown to SIMBAD"))
        elif resolution.status == "not_checked":
            problems.append(Problem(field, f"not checked: {resolution.reason}", severity="warning"))
    if id1 and id2 and id1.status == id2.status == "found" and id1.identifier != id2.identifier:
        problems.append(
            Problem(
                "id2",
                f"names another object ({id2.identifier}) than id1 ({id1.identifier})",
                severity="warning",
            )
        )
    return problems


def duplicate_problems(
    session: Session, values: Mapping[str, Any], prefix: str, replaces_id: int | None = None
) -> list[Problem]:
    """Catalogue measurements this one repeats: same star, bibcode and band, or same values."""
    problems = []
    for duplicate in storage.duplicates(session, values, exclude_id=replaces_id):
        reason = (
            "same star, bibcode and band"
            if duplicate["same_reference"]
            else "same star and diameters"
        )
        problems.append(
            Problem(
                "id1",
                f"possible duplicate of catalogue measurement {duplicate['id']}"
                f" ({duplicate['id1']}, {duplicate['bibcode'] or 'no bibcode'}): {reason}",
                severity="warning",
                link=f"{prefix}/stars/{quote(duplicate['id1'], safe='')}",
            )
        )
    return problems


def check(
    session: Session,
    resolver: Resolver,
    values: Mapping[str, Any],
    prefix: str,
    replaces_id: int | None = None,
) -> list[Problem]:
    """Every check of a proposed measurement: its values, its names, its duplicates."""
    problems = value_problems(values)
    malformed = {problem.field for problem in problems}
    names = [
        resolver.resolve(session, values[field])
        if values.get(field) and field not in malformed
        else None
        for field in ("id1", "id2")
    ]
    problems += name_problems(*names)
    if not errors_of(problems):  # duplicates of what is well formed only
        problems += duplicate_problems(session, values, prefix, replaces_id)
    return problems

"""``jmdc import``: the 2017 FITS catalogue, a VizieR-format release, or a generated catalogue.

Every row read is accounted for: imported, skipped (the catalogue already holds that
measurement) or rejected with its row number and reason, and the counts add up. One import
is one transaction, under a lock that serialises imports: it lands whole or not at all.

**Identity of a measurement.** A measurement is a star, a publication and the values it
gives: the star's name key (ID1 without case and spaces), the bibcode, the method, the band
as published, and the UD, LD and LD error diameters rounded to the precision VizieR
publishes (F9.5, F7.4, F8.4). Notes, the publication's star name and the SIMBAD flag may be
corrected without making it another measurement. The 2017 file repeats a few measurements
verbatim, so the *n*-th row with an identity in a file matches the *n*-th measurement with
that identity in the catalogue: a file imports whole the first time and nothing the second
time, whatever else was imported in between, and the FITS and the VizieR release of the
same catalogue are one set of measurements.
"""

import math
import os
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from ..schema import ImportRun, Measurement
from ..schema.catalogue import BAND_CODES
from .catalogue import normalised_name

#: Texts, floats and integers the 2017 FITS uses for "no value".
TEXT_SENTINELS = ("", "--", "-")
FLOAT_SENTINELS = (-1.0,)
INTEGER_SENTINELS = (-1, -32768)
#: A 19-character bibcode begins with its year.
BIBCODE_LENGTH = 19
_YEAR = re.compile(r"\d{4}")
#: Serialises imports (an advisory lock key of its own).
IMPORT_LOCK = 7_345_001


class RowRejected(ValueError):
    """A row that cannot be a measurement; the message says why."""


@dataclass
class ImportReport:
    run_id: int
    origin: str
    format: str
    read: int = 0
    imported: int = 0
    skipped: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejects)


@dataclass(frozen=True)
class SourceRow:
    """A row of a source file: its number (from 1) and its raw values by column name."""

    number: int
    values: Mapping[str, Any]


# -- reading values -----------------------------------------------------------------------


def clean_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    value = " ".join(str(value).split())
    return None if value in TEXT_SENTINELS else value


def clean_float(name: str, value: Any) -> float | None:
    if value is None or (isinstance(value, str) and clean_text(value) is None):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RowRejected(f"{name}: {value!r} is not a number") from None
    if math.isnan(number) or number in FLOAT_SENTINELS:
        return None
    if math.isinf(number):
        raise RowRejected(f"{name}: {value!r} is not finite")
    return number


def clean_integer(name: str, value: Any) -> int | None:
    number = clean_float(name, value)
    if number is None or number in INTEGER_SENTINELS:
        return None
    if number != int(number):
        raise RowRejected(f"{name}: {value!r} is not an integer")
    return int(number)


def sexagesimal_degrees(name: str, value: Any, hours: bool) -> float | None:
    """``03 02 16.7731`` (hours) or ``+04 05 23.060`` (degrees) in degrees."""
    text_value = clean_text(value)
    if text_value is None:
        return None
    parts = text_value.replace(":", " ").split()
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        raise RowRejected(f"{name}: {value!r} is not sexagesimal") from None
    if not 1 <= len(numbers) <= 3 or any(n < 0 for n in numbers[1:]):
        raise RowRejected(f"{name}: {value!r} is not sexagesimal")
    sign = -1.0 if text_value.startswith("-") else 1.0
    magnitude = sum(abs(n) / 60**i for i, n in enumerate(numbers))
    degrees = sign * magnitude * (15.0 if hours else 1.0)
    low, high = (0.0, 360.0) if hours else (-90.0, 90.0)
    if not low <= degrees <= high:
        raise RowRejected(f"{name}: {value!r} is out of range")
    return degrees


def split_reference(reference: str | None) -> tuple[str | None, str | None]:
    """The bibcode and any reference text after it.

    Most 2017 references are a bibcode alone; older ones are a 19-character bibcode-like
    prefix (``1931...............``) followed by the reference in words; a few have only dots
    where the bibcode would be.
    """
    if reference is None:
        return None, None
    bibcode, rest = reference[:BIBCODE_LENGTH], reference[BIBCODE_LENGTH:].strip() or None
    if not _YEAR.match(bibcode):
        return None, reference.lstrip(". ") or None
    return bibcode, rest


# -- the measurement a row gives ----------------------------------------------------------


def checked(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` if they make a measurement the catalogue accepts, else :class:`RowRejected`."""
    if not values.get("id1"):
        raise RowRejected("ID1: no star name")
    if values.get("ud_diameter") is None and values.get("ld_diameter") is None:
        raise RowRejected("no diameter: both UD and LD are blank")
    for name in ("ud_diameter", "e_ud_diameter", "ld_diameter", "e_ld_diameter"):
        if values.get(name) is not None and values[name] <= 0:
            raise RowRejected(f"{name}: {values[name]:g} is not positive")
    method = values.get("method")
    if method not in (1, 2, 3):
        raise RowRejected(f"method: {method!r} is not 1, 2 or 3")
    code = values.get("band_code")
    if code is not None and not 1 <= code <= len(BAND_CODES):
        raise RowRejected(f"band code: {code} is not between 1 and {len(BAND_CODES)}")
    return values


def fits_measurement(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A row of the 2017 FITS (``UD_MEAS``, ``LD_MEAS``, ``E_LD_MEAS``, ``REFERENCE``...)."""
    bibcode, reference = split_reference(clean_text(raw.get("REFERENCE")))
    notes = clean_text(raw.get("NOTES"))
    if reference:
        notes = f"{notes} Reference: {reference}" if notes else f"Reference: {reference}"
    return checked(
        {
            "id1": clean_text(raw.get("ID1")),
            "id2": clean_text(raw.get("ID2")),
            "ud_diameter": clean_float("UD_MEAS", raw.get("UD_MEAS")),
            "ld_diameter": clean_float("LD_MEAS", raw.get("LD_MEAS")),
            "e_ld_diameter": clean_float("E_LD_MEAS", raw.get("E_LD_MEAS")),
            "band": clean_text(raw.get("BAND")),
            "mu_lambda": clean_float("MU_LAMBDA", raw.get("MU_LAMBDA")),
            "method": clean_integer("METHOD", raw.get("METHOD")),
            "band_code": clean_integer("BANDCODE", raw.get("BANDCODE")),
            "notes": notes,
            "bibcode": bibcode,
            "simbad_id": clean_text(raw.get("SIMBAD")),
            "ra": sexagesimal_degrees("RAJ2000", raw.get("RAJ2000"), hours=True),
            "dec": sexagesimal_degrees("DEJ2000", raw.get("DEJ2000"), hours=False),
        }
    )


#: Columns of the FITS the import reads (the file has 251).
FITS_COLUMNS = ("ID1", "ID2", "UD_MEAS", "LD_MEAS", "E_LD_MEAS", "BAND", "MU_LAMBDA", "METHOD",
                "BANDCODE", "NOTES", "REFERENCE", "SIMBAD", "RAJ2000", "DEJ2000")  # fmt: skip


def fits_rows(path: Path) -> Iterator[SourceRow]:
    """Rows of the first table of a FITS file, numbered from 1."""
    from astropy.io import fits  # astropy is slow to import; only imports need it

    with fits.open(path, memmap=True) as hdus:
        table = next((hdu for hdu in hdus if isinstance(hdu, fits.BinTableHDU)), None)
        if table is None:
            raise ValueError(f"{path.name} has no binary table")
        names = [name for name in FITS_COLUMNS if name in table.columns.names]
        if "ID1" not in names:
            raise ValueError(f"{path.name} is not a JMDC table: no ID1 column")
        columns = {name: table.data[name].tolist() for name in names}
    for index in range(len(columns["ID1"])):
        yield SourceRow(index + 1, {name: values[index] for name, values in columns.items()})


def vizier_measurement(values: Mapping[str, Any]) -> dict[str, Any]:
    """A row of a VizieR release, as :func:`vizier.read` gives it (by column name)."""
    measurement: dict[str, Any] = {
        name: clean_text(values.get(name)) for name in ("id1", "id2", "band", "notes", "bibcode")
    }
    for name in ("ud_diameter", "e_ud_diameter", "ld_diameter", "e_ld_diameter", "mu_lambda"):
        measurement[name] = clean_float(name, values.get(name))
    for name in ("method", "band_code"):
        measurement[name] = clean_integer(name, values.get(name))
    measurement["sinpe"] = bool(values.get("sinpe"))
    return checked(measurement)


def vizier_rows(path: Path) -> Iterator[SourceRow]:
    """Rows of ``jmdc.dat`` read with its ReadMe (``path``: the ReadMe or their folder),
    numbered by their line in the data file."""
    from . import vizier  # astropy is slow to import; only imports need it

    readme = path / vizier.README_FILE if path.is_dir() else path
    for row in vizier.read(readme):
        yield SourceRow(row.line, row.values)


# -- identity and storage -----------------------------------------------------------------


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def identity(values: Mapping[str, Any]) -> tuple:
    """What makes two rows the same measurement (see the module documentation)."""
    band = values.get("band")
    return (
        normalised_name(values["id1"]),
        values.get("bibcode"),
        values.get("method"),
        band.lower() if band else None,
        _rounded(values.get("ud_diameter"), 5),
        _rounded(values.get("ld_diameter"), 4),
        _rounded(values.get("e_ld_diameter"), 4),
    )


_IDENTITY_COLUMNS = ("id1", "bibcode", "method", "band", "ud_diameter", "ld_diameter",
                     "e_ld_diameter")  # fmt: skip


def _catalogue_identities(session: Session) -> Counter:
    """How many measurements (withdrawn ones too) the catalogue holds per identity."""
    statement = select(*(getattr(Measurement, name) for name in _IDENTITY_COLUMNS))
    rows = session.execute(statement.execution_options(yield_per=10_000))
    return Counter(identity(row._mapping) for row in rows)


#: Columns an import writes, in the order of the COPY.
_STORED = ("id1", "id2", "ud_diameter", "e_ud_diameter", "ld_diameter", "e_ld_diameter",
           "band", "band_code", "mu_lambda", "method", "notes", "bibcode", "sinpe", "ra",
           "dec", "simbad_id", "origin")  # fmt: skip


@contextmanager
def _copy(session: Session) -> Iterator[Callable[[Mapping[str, Any]], None]]:
    """A writer of measurements into a COPY in the session's transaction: rows stream to
    PostgreSQL as they are read, in constant memory (the bench's 100,000)."""
    cursor = session.connection().connection.driver_connection.cursor()
    statement = f"COPY jmdc.measurements ({', '.join(_STORED)}) FROM STDIN"
    with cursor.copy(statement) as copy:
        yield lambda measurement: copy.write_row(tuple(measurement.get(name) for name in _STORED))


def import_rows(
    session: Session,
    rows: Iterable[SourceRow],
    parse: Callable[[Mapping[str, Any]], dict[str, Any]],
    origin: str,
    format: str,
) -> ImportReport:
    """Imports ``rows`` (each made a measurement by ``parse``) in ``session``'s transaction."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})
    held = _catalogue_identities(session)
    seen: Counter = Counter()
    report = ImportReport(0, origin, format)
    with _copy(session) as write:
        for row in rows:
            report.read += 1
            try:
                measurement = parse(row.values)
            except RowRejected as reason:
                report.rejects.append({"row": row.number, "reason": str(reason)})
                continue
            key = identity(measurement)
            seen[key] += 1
            if seen[key] <= held[key]:
                report.skipped += 1
                continue
            write(measurement | {"origin": origin, "sinpe": bool(measurement.get("sinpe"))})
            report.imported += 1
    run = {
        "origin": origin,
        "format": format,
        "read_count": report.read,
        "imported_count": report.imported,
        "skipped_count": report.skipped,
        "rejected_count": report.rejected,
        "rejects": report.rejects,
    }
    report.run_id = session.scalar(insert(ImportRun).values(run).returning(ImportRun.id))
    return report


def import_file(session: Session, path: Path, format: str) -> ImportReport:
    """``path`` as ``fits`` (the 2017 catalogue) or ``vizier`` (a ReadMe and its jmdc.dat)."""
    if format == "fits":
        return import_rows(
            session, fits_rows(path), fits_measurement, f"import:{path.name}", format
        )
    if format == "vizier":
        return import_rows(
            session, vizier_rows(path), vizier_measurement, f"import:{path.name}", format
        )
    raise ValueError(f"unknown format {format!r}: fits or vizier")


# -- a generated catalogue ----------------------------------------------------------------

#: Bands as published with their band codes, and their weights in the 2017 catalogue.
_BANDS = (("H", 7, 146), ("K", 8, 133), ("2.2", 8, 125), ("800nm", 5, 98),
          ("550 to 850", 3, 85), ("740nm", 4, 79), ("8-13", 11, 47), ("4430A", 2, 40),
          ("H or K ?", 8, 40), ("K'", 8, 37), ("1.618", 7, 29), ("R", 4, 25),
          ("674nm", 4, 25), ("2.15", 8, 23), ("B", 2, 21), (None, None, 20),
          ("2.17", 8, 20), ("550nm", 3, 18), ("V", 3, 17), ("2.3", 8, 16))  # fmt: skip
_JOURNALS = ("A&A", "ApJ", "AJ", "MNRAS", "ApJS", "PASP", "SPIE")
_NOTE_WORDS = ("binary", "companion", "limb-darkening", "from", "models", "uncertain", "band",
               "see", "values", "updated", "in", "with", "fit", "PHOENIX", "Kurucz", "linear",
               "coefficient", "variable", "phase", "Mira", "disk", "resolved")  # fmt: skip


def _bibcode(rng: random.Random) -> str:
    journal = rng.choice(_JOURNALS)
    volume, page = rng.randint(1, 999), rng.randint(1, 9999)
    year = rng.randint(1974, 2021)
    return f"{year}{journal:.<5}{volume:.>4}.{page:.>4}{rng.choice('ABCDEFGHIJKLMNOPQRSTUVWXYZ')}"


def _note(rng: random.Random) -> str | None:
    # 39 % of the 2017 notes are empty; the others are 29 to 224 characters, median 84.
    if rng.random() < 0.39:
        return None
    length = min(224, max(20, int(rng.lognormvariate(math.log(84), 0.6))))
    words = rng.choices(_NOTE_WORDS, k=length // 4 + 1)  # words average 6 characters
    return " ".join(words)[:length].strip()


def generated_measurements(count: int, seed: int = 2017) -> Iterator[dict[str, Any]]:
    """``count`` measurements drawn from the 2017 catalogue's distributions: UD log-normal
    (median 3 mas), LD 4 % above UD, relative errors log-normal (median 2 %), its bands,
    methods (73 % interferometry, 23 % occultation, 4 % intensity), note lengths; about
    four measurements per star, stars spread over the sky."""
    rng = random.Random(seed)
    positions = [(rng.uniform(0, 360), math.degrees(math.asin(rng.uniform(-1, 1))))
                 for _ in range(max(1, count // 4))]  # fmt: skip
    bands, band_weights = _BANDS, list(accumulate(weight for *_, weight in _BANDS))
    methods, method_weights = (1, 2, 3), list(accumulate((902, 288, 49)))
    for _ in range(count):
        star = rng.randrange(len(positions))
        ra, dec = positions[star]
        ud = round(rng.lognormvariate(1.13, 1.1), 4)
        # 7 % of the measurements have no UD diameter, 2 % no LD diameter; none has neither.
        has_ud = rng.random() > 0.07
        ld = round(ud * rng.uniform(1.01, 1.13), 4) if not has_ud or rng.random() > 0.02 else None
        band, code, _ = rng.choices(bands, cum_weights=band_weights)[0]
        yield {
            "id1": f"HD {100000 + star}",
            "id2": None if rng.random() < 0.29 else f"GJ {star % 9000 + 1}",
            "ud_diameter": ud if has_ud else None,
            "ld_diameter": ld,
            "e_ld_diameter": round(ud * rng.lognormvariate(-3.78, 1.45), 4) or None,
            "band": band,
            "band_code": code,
            "mu_lambda": round(rng.uniform(0.24, 1.1), 3) if rng.random() < 0.17 else None,
            "method": rng.choices(methods, cum_weights=method_weights)[0],
            "notes": _note(rng),
            "bibcode": _bibcode(rng),
            "sinpe": rng.random() < 0.01,
            "ra": ra,
            "dec": dec,
        }


def generated_rows(count: int, seed: int = 2017) -> Iterator[SourceRow]:
    for number, values in enumerate(generated_measurements(count, seed), start=1):
        yield SourceRow(number, values)


def import_generated(session: Session, count: int, seed: int = 2017) -> ImportReport:
    rows = generated_rows(count, seed)
    return import_rows(session, rows, checked, f"import:generated-{count}-{seed}", "generated")


# -- the demo -----------------------------------------------------------------------------

REPOSITORY = Path(__file__).resolve().parents[5]
DEMO_FITS = Path("data") / "jmdc_jsdc" / "JMDC_final_lddUpdated.fits"
DEMO_GENERATED = 2000


def shared_dir() -> Path:
    """The team's shared material: ``$JMMC_SHARED_DIR`` or ``<repository>/../shared``."""
    return Path(os.environ.get("JMMC_SHARED_DIR", REPOSITORY.parent / "shared"))


def import_demo(session: Session) -> ImportReport:
    """The 2017 catalogue when the shared data is at hand, else a generated one."""
    fits_path = shared_dir() / DEMO_FITS
    if fits_path.is_file():
        return import_file(session, fits_path, "fits")
    return import_generated(session, DEMO_GENERATED)

"""An OIFITS file's tables read and checked against the standard (``standard.py``).

``parse`` walks the HDUs once: tables present for the revision, keywords, columns and units,
then the references between tables (TARGET_ID, INSNAME, ARRNAME, STA_INDEX), the values
(wavelengths in metres, MJD, array widths) and whether anything usable is left once NaN and
flagged values are set aside. Every finding goes to the report; the document comes back only
when no error was found.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits

from .report import ValidationReport
from .standard import (
    COLUMNS,
    DATA_TABLES,
    KEYWORDS,
    OBSERVABLES,
    VERSIONED_TABLES,
    same_unit,
)

#: Plausible effective wavelengths (m): 100 nm to 1 mm; anything else is in another unit.
WAVELENGTH_RANGE = (1e-7, 1e-3)
#: Plausible MJD (1858 to 2132); Julian dates are about 2.4 million.
MJD_RANGE = (0.0, 100_000.0)
#: Seconds: an integration longer than half a day is not one exposure.
LONGEST_INTEGRATION = 43_200


@dataclass(frozen=True)
class Target:
    id: int
    name: str
    ra: float | None
    dec: float | None
    #: ``SCI`` or ``CAL`` (OIFITS 2's optional CATEGORY column), else None.
    category: str | None


@dataclass(frozen=True)
class Instrument:
    insname: str
    eff_wave: np.ndarray
    eff_band: np.ndarray | None


@dataclass(frozen=True)
class Array:
    arrname: str
    stations: dict[int, str]
    #: Geocentric ARRAYX/Y/Z, when the table gives a real position.
    position: tuple[float, float, float] | None


@dataclass
class DataTable:
    """One OI_VIS, OI_VIS2, OI_T3 or OI_FLUX table, its per-row values as numpy arrays."""

    kind: str
    label: str
    insname: str
    arrname: str | None
    rows: int
    target_ids: np.ndarray
    mjd: np.ndarray
    int_time: np.ndarray | None
    sta_index: np.ndarray | None
    flag: np.ndarray | None
    data: fits.FITS_rec | None
    calstat: str | None = None

    def column(self, name: str) -> np.ndarray | None:
        """A column as a (rows, width) float array (width 1 for scalars), None when absent."""
        if self.data is None or name not in self.data.columns.names:
            return None
        return np.asarray(self.data[name], dtype=float).reshape(self.rows, -1)

    def usable(self, name: str) -> np.ndarray | None:
        """Which values of ``name`` are finite and not flagged, as (rows, width) booleans."""
        values = self.column(name)
        if values is None:
            return None
        usable = np.isfinite(values)
        if self.flag is not None and self.flag.shape == usable.shape:
            usable &= ~self.flag
        return usable


@dataclass
class OifitsDocument:
    version: int
    targets: dict[int, Target]
    instruments: dict[str, Instrument]
    arrays: dict[str, Array]
    tables: list[DataTable] = field(default_factory=list)


def parse(hdus: fits.HDUList, report: ValidationReport) -> OifitsDocument | None:
    """The document when the file is usable OIFITS; otherwise None and the report says why."""
    tables = _oi_tables(hdus)
    if not any(extname in ("OI_TARGET", "OI_WAVELENGTH", *DATA_TABLES) for extname, *_ in tables):
        report.error(
            None,
            "not an OIFITS file: it has no OI_TARGET, OI_WAVELENGTH or data table "
            "(OI_VIS, OI_VIS2, OI_T3, OI_FLUX)",
        )
        return None
    version = _version(hdus[0].header, tables, report)
    report.oifits_version = version
    _check_presence(tables, version, report)
    for extname, label, hdu in tables:
        _check_table(extname, label, hdu, version, report)
    if report.errors:
        return None
    targets = _targets([hdu for extname, _, hdu in tables if extname == "OI_TARGET"], report)
    instruments = _instruments(
        [(label, hdu) for extname, label, hdu in tables if extname == "OI_WAVELENGTH"], report
    )
    arrays = _arrays([(label, hdu) for extname, label, hdu in tables if extname == "OI_ARRAY"],
                     report)  # fmt: skip
    if report.errors:
        return None
    document = OifitsDocument(version, targets, instruments, arrays)
    for extname, label, hdu in tables:
        if extname in DATA_TABLES:
            table = _data_table(extname, label, hdu)
            if _check_references(table, document, report):
                document.tables.append(table)
    if not report.errors:
        _check_usable(document.tables, report)
    return None if report.errors else document


def _oi_tables(hdus: fits.HDUList) -> list[tuple[str, str, fits.BinTableHDU]]:
    """(EXTNAME, label, HDU) of the OI_ tables; labels number repeated names (``OI_VIS2#2``)."""
    found = [
        (str(hdu.header.get("EXTNAME", "")).strip().upper(), hdu)
        for hdu in hdus[1:]
        if str(hdu.header.get("EXTNAME", "")).strip().upper() in COLUMNS
    ]
    totals = Counter(extname for extname, _ in found)
    seen: Counter[str] = Counter()
    labelled = []
    for extname, hdu in found:
        seen[extname] += 1
        label = extname if totals[extname] == 1 else f"{extname}#{seen[extname]}"
        labelled.append((extname, label, hdu))
    return labelled


def _version(primary: fits.Header, tables, report: ValidationReport) -> int:
    """2 when the primary header says OIFITS2 or a table is of revision 2, else 1."""
    revisions = {
        _int(hdu.header.get("OI_REVN"))
        for extname, _, hdu in tables
        if extname in VERSIONED_TABLES and hdu.header.get("OI_REVN") is not None
    }
    content = str(primary.get("CONTENT", "")).strip().upper()
    version = 2 if content == "OIFITS2" or 2 in revisions else 1
    if len(revisions - {None}) > 1:
        report.warning(None, "tables of OIFITS revisions 1 and 2 are mixed in one file")
    if content == "OIFITS2" and 2 not in revisions:
        report.warning(None, "the primary header says OIFITS2 but no table is of revision 2")
    return version


def _check_presence(tables, version: int, report: ValidationReport) -> None:
    names = Counter(extname for extname, *_ in tables)
    if not names["OI_TARGET"]:
        report.error(None, "OI_TARGET table missing")
    elif names["OI_TARGET"] > 1:
        report.error(None, "more than one OI_TARGET table (the standard allows exactly one)")
    if not names["OI_WAVELENGTH"]:
        report.error(None, "OI_WAVELENGTH table missing")
    if not any(names[name] for name in DATA_TABLES):
        report.error(None, "no data table: OIFITS needs an OI_VIS, OI_VIS2, OI_T3 or OI_FLUX")
    if version == 2 and not names["OI_ARRAY"]:
        report.error(None, "OI_ARRAY table missing (mandatory in OIFITS 2)")


def _check_table(extname: str, label: str, hdu, version: int, report: ValidationReport) -> None:
    if not isinstance(hdu, fits.BinTableHDU):
        report.error(label, f"{label} is not a binary table")
        return
    header = hdu.header
    for keyword, required in KEYWORDS[extname]:
        if not str(header.get(keyword, "")).strip():
            if required:
                report.error(label, f"{label} has no {keyword} keyword")
            else:
                report.warning(label, f"{label} lacks the keyword {keyword}")
    if version == 2 and extname in ("OI_VIS", "OI_VIS2", "OI_T3") and not header.get("ARRNAME"):
        report.warning(label, f"{label} has no ARRNAME keyword (mandatory in OIFITS 2)")
    revision = _int(header.get("OI_REVN")) or version
    present = {name.upper(): column for name, column in zip(
        hdu.columns.names, hdu.columns, strict=True)}  # fmt: skip
    for column in COLUMNS[extname]:
        if column.since > revision:
            continue
        given = present.get(column.name)
        if given is None:
            if column.required:
                report.error(label, f"{label} has no {column.name} column")
            else:
                report.warning(label, f"{label} lacks the column {column.name}")
        elif column.unit and given.unit and not same_unit(column.unit, given.unit):
            report.warning(
                label,
                f"{label}: {column.name} is in '{given.unit.strip()}', the standard says "
                f"'{column.unit}'",
            )
    if extname == "OI_FLUX" and not {"FLUXDATA", "FLUX"} & set(present):
        report.error(label, f"{label} has no FLUXDATA column")


def _targets(hdus, report: ValidationReport) -> dict[int, Target]:
    data = hdus[0].data
    if data is None or len(data) == 0:
        report.error("OI_TARGET", "OI_TARGET has no row")
        return {}
    names = data.columns.names
    categories = data["CATEGORY"] if "CATEGORY" in names else [None] * len(data)
    targets: dict[int, Target] = {}
    for row, (target_id, name, ra, dec, category) in enumerate(
        zip(data["TARGET_ID"], data["TARGET"], data["RAEP0"], data["DECEP0"], categories,
            strict=True), 1
    ):  # fmt: skip
        target_id = int(target_id)
        if target_id in targets:
            report.error("OI_TARGET", f"OI_TARGET defines TARGET_ID {target_id} twice")
            continue
        name = str(name).strip()
        if not name:
            report.error("OI_TARGET", f"OI_TARGET row {row} has no TARGET name")
        ra, dec = _finite(ra), _finite(dec)
        if ra is None or dec is None:
            report.warning("OI_TARGET", f"OI_TARGET row {row} ({name}) has no position")
        elif not (-360 <= ra <= 360 and -90 <= dec <= 90):
            report.error(
                "OI_TARGET",
                f"OI_TARGET row {row} ({name}): RAEP0 = {ra:g}, DECEP0 = {dec:g} are not "
                "coordinates in degrees",
            )
        category = str(category).strip().upper() if category is not None else ""
        targets[target_id] = Target(target_id, name, _ra(ra), dec, category or None)
    return targets


def _instruments(tables, report: ValidationReport) -> dict[str, Instrument]:
    instruments: dict[str, Instrument] = {}
    for label, hdu in tables:
        insname = str(hdu.header["INSNAME"]).strip()
        if insname in instruments:
            report.error(label, f"two OI_WAVELENGTH tables define INSNAME '{insname}'")
            continue
        data = hdu.data
        if data is None or len(data) == 0:
            report.error(label, f"OI_WAVELENGTH '{insname}' has no row")
            continue
        waves = np.asarray(data["EFF_WAVE"])
        finite = waves[np.isfinite(waves)]
        low, high = WAVELENGTH_RANGE
        if finite.size == 0:
            report.error(label, f"OI_WAVELENGTH '{insname}' has no valid EFF_WAVE value")
            continue
        if finite.min() < low or finite.max() > high:
            report.error(
                label,
                f"OI_WAVELENGTH '{insname}': EFF_WAVE values ({finite.min():g} to "
                f"{finite.max():g}) are not wavelengths in metres",
            )
            continue
        band = np.asarray(data["EFF_BAND"]) if "EFF_BAND" in data.columns.names else None
        instruments[insname] = Instrument(insname, waves, band)
    return instruments


def _arrays(tables, report: ValidationReport) -> dict[str, Array]:
    arrays: dict[str, Array] = {}
    for label, hdu in tables:
        arrname = str(hdu.header["ARRNAME"]).strip()
        if arrname in arrays:
            report.warning(label, f"two OI_ARRAY tables define ARRNAME '{arrname}'")
            continue
        data = hdu.data
        stations = {}
        if data is not None:
            stations = {
                int(index): str(name).strip()
                for index, name in zip(data["STA_INDEX"], data["STA_NAME"], strict=True)
            }
        else:
            report.warning(label, f"OI_ARRAY '{arrname}' has no row")
        header = hdu.header
        position = tuple(
            _finite(header.get(axis)) or 0.0 for axis in ("ARRAYX", "ARRAYY", "ARRAYZ")
        )
        geocentric = str(header.get("FRAME", "")).strip().upper() == "GEOCENTRIC"
        real = geocentric and math.hypot(position[0], position[1]) > 1e6  # on Earth's surface
        arrays[arrname] = Array(arrname, stations, position if real else None)
    return arrays


def _data_table(extname: str, label: str, hdu) -> DataTable:
    data = hdu.data
    rows = 0 if data is None else len(data)
    header = hdu.header
    names = set(data.columns.names) if data is not None else set()

    def column(name: str, dtype=float) -> np.ndarray | None:
        if name not in names:
            return None
        return np.asarray(data[name]).astype(dtype, copy=False)

    sta_index = column("STA_INDEX", int)
    flag = column("FLAG", bool)
    return DataTable(
        kind=extname,
        label=label,
        insname=str(header.get("INSNAME", "")).strip(),
        arrname=str(header.get("ARRNAME", "")).strip() or None,
        rows=rows,
        target_ids=column("TARGET_ID", int) if rows else np.zeros(0, int),
        mjd=column("MJD") if rows else np.zeros(0),
        int_time=column("INT_TIME"),
        sta_index=sta_index.reshape(rows, -1) if sta_index is not None and rows else None,
        flag=flag.reshape(rows, -1) if flag is not None and rows else None,
        data=data,
        calstat=str(header.get("CALSTAT", "")).strip().upper() or None,
    )


def _check_references(table: DataTable, document: OifitsDocument, report) -> bool:
    """Report what ``table`` refers to that does not exist; False when it cannot be used."""
    label = table.label
    instrument = document.instruments.get(table.insname)
    if instrument is None:
        report.error(
            label,
            f"{label} refers to INSNAME '{table.insname}', which no OI_WAVELENGTH table defines",
        )
        return False
    array = document.arrays.get(table.arrname) if table.arrname else None
    if table.arrname and array is None:
        message = f"{label} refers to ARRNAME '{table.arrname}', which no OI_ARRAY table defines"
        if document.version == 2:
            report.error(label, message)
            return False
        report.warning(label, f"{message} (its stations are unknown)")
    if table.rows == 0:
        return True
    _first_bad(report, label, table.target_ids, document.targets, "TARGET_ID", "OI_TARGET", True)
    if array is not None and table.sta_index is not None:
        _first_bad(report, label, table.sta_index, array.stations, "STA_INDEX",
                   f"OI_ARRAY '{array.arrname}'", document.version == 2)  # fmt: skip
    _check_mjd(table, report)
    if table.int_time is not None:
        _check_int_time(table, report)
    nwave = len(instrument.eff_wave)
    for name in (*OBSERVABLES[table.kind], "FLAG"):
        values = table.column(name)
        if values is not None and values.shape[1] != nwave:
            report.error(
                label,
                f"{label}: {name} has {values.shape[1]} values per row but OI_WAVELENGTH "
                f"'{table.insname}' defines {nwave} channels",
            )
            return False
    return True


def _first_bad(report, label, values, known, column, table, is_error: bool) -> None:
    """One message for the rows of ``values`` not in ``known``: the first, and how many."""
    bad_rows = np.flatnonzero(~np.isin(values, list(known)).reshape(len(values), -1).all(axis=1))
    if bad_rows.size == 0:
        return
    row = int(bad_rows[0])
    row_values = np.atleast_1d(values[row])
    value = next(int(v) for v in row_values if int(v) not in known)
    more = f" (and {bad_rows.size - 1} more rows)" if bad_rows.size > 1 else ""
    message = f"{label} row {row + 1} refers to {column} {value}, which {table} does not define"
    (report.error if is_error else report.warning)(label, message + more)


def _check_mjd(table: DataTable, report: ValidationReport) -> None:
    label = table.label
    invalid = np.flatnonzero(~np.isfinite(table.mjd))
    if invalid.size:
        report.error(label, f"{label} row {invalid[0] + 1} has no valid MJD")
        return
    low, high = MJD_RANGE
    outside = table.mjd[(table.mjd < low) | (table.mjd > high)]
    if outside.size:
        hint = " (a Julian date, not MJD?)" if outside[0] > 2_000_000 else ""
        report.error(label, f"{label}: MJD {outside[0]:.5f} is not a modified Julian date{hint}")


def _check_int_time(table: DataTable, report: ValidationReport) -> None:
    finite = table.int_time[np.isfinite(table.int_time)]
    if (finite < 0).any():
        report.warning(table.label, f"{table.label} has negative INT_TIME values")
    if finite.size and finite.max() > LONGEST_INTEGRATION:
        report.warning(
            table.label,
            f"{table.label}: INT_TIME up to {finite.max():.0f} s is longer than a night "
            "(t_exptime takes the shortest)",
        )


def _check_usable(tables: list[DataTable], report: ValidationReport) -> None:
    if not any(table.rows for table in tables):
        report.error(None, "the data tables hold no row")
        return
    usable_tables = 0
    for table in tables:
        if table.rows == 0:
            report.warning(table.label, f"{table.label} has no row")
            continue
        observables = [name for name in OBSERVABLES[table.kind] if table.column(name) is not None]
        if any(table.usable(name).any() for name in observables):
            usable_tables += 1
        else:
            names = " or ".join(observables) or "value"
            report.warning(
                table.label, f"{table.label} holds no usable {names}: all NaN or flagged"
            )
    if not usable_tables:
        report.error(
            None,
            "the file holds no usable measurement: every VIS, VIS2, T3 and FLUX value is NaN "
            "or flagged",
        )


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _finite(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _ra(ra: float | None) -> float | None:
    return None if ra is None else ra % 360.0


def unique_in_order(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))

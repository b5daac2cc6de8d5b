"""Granules of an OIFITS file: one per target, instrument mode and night, as the original.

A granule's values are the ObsCore columns the file gives (``GranuleValues``); what the
collection or the stored file decide (ids, rights, release date, access) is set by
ingestion. Rules, where the file leaves a choice:

- **Night**: a night runs from noon to noon at the observatory, so that a night's data are
  one granule even across 0h UT. The observatory's longitude is taken from OI_ARRAY's
  geocentric ARRAYX/ARRAYY, else from a table of known arrays by ARRNAME or TELESCOP, else
  Greenwich (``floor(MJD - 0.5)``).
- **Instrument mode**: INSNAME with its wavelength range (``GRAVITY_SC 1.990-2.450um``), since
  the same INSNAME names different set-ups across files; ``instrument_name`` is INSNAME.
- **Category**: OI_TARGET's CATEGORY (OIFITS 2: ``CAL`` -> CALIB, ``SCI`` -> SCIENCE) for its
  target, else ``ESO PRO SCIENCE`` T/F, else ``ESO DPR CATG``; unknown stays empty.
- **Calibration level**: 2 for calibrated products (an OI_FLUX with ``CALSTAT = 'C'``, or a
  ``PRO CATG`` containing ``CALIBRATED`` or MATISSE's ``CAL_INT``), else 1.
- **Precision**: values are given as measured, without binary noise: single-precision
  columns with their 7 significant digits, times to the millisecond (MJD to 1e-8 d),
  coordinates to 1e-8 deg, the resolving power (a median of ratios) with 3 digits.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from astropy.io import fits

from .document import DataTable, OifitsDocument, unique_in_order

DATAPRODUCT_TYPE = "visibility"

#: East longitudes (deg) of interferometers whose OI_ARRAY gives no position.
OBSERVATORY_LONGITUDES = {
    "VLTI": -70.4045, "CHARA": -118.0570, "NPOI": -111.5350, "IOTA": -110.8850,
    "COAST": 0.0420, "MROI": -107.1850, "KECK": -155.4783, "SUSI": 149.5481, "PTI": -116.8633,
    "GI2T": 6.9214, "NOEMA": 5.9079,
}  # fmt: skip
_CATEGORIES = {"SCI": "SCIENCE", "CAL": "CALIB"}
#: Decimals kept: MJD and seconds to about a millisecond, coordinates to 1e-8 deg.
MJD_DECIMALS, SECONDS_DECIMALS, COORDINATE_DECIMALS = 8, 3, 8
#: Header values meaning "not known".
_UNKNOWN = {"UNKNOWN", "NONE", "N/A"}


@dataclass
class GranuleValues:
    """The columns of ``schema.catalogue.Granule`` an OIFITS file gives, for one granule."""

    target_name: str
    s_ra: float | None = None
    s_dec: float | None = None
    t_min: float | None = None
    t_max: float | None = None
    t_exptime: float | None = None
    em_min: float | None = None
    em_max: float | None = None
    em_res_power: float | None = None
    facility_name: str | None = None
    instrument_name: str | None = None
    instrument_mode: str | None = None
    interferometer_stations: str | None = None
    nb_channels: int | None = None
    nb_vis: int = 0
    nb_vis2: int = 0
    nb_t3: int = 0
    calib_level: int = 1
    dataproduct_type: str = DATAPRODUCT_TYPE
    dataproduct_category: str | None = None
    progid: str | None = None
    proposal_subid: str | None = None
    quality_level: int | None = None
    obs_id: str | None = None
    obs_creator_name: str | None = None
    datapi: str | None = None
    procsoft: str | None = None

    def as_row(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FileFacts:
    """What the primary header says about every granule of the file."""

    calib_level: int
    category: str | None
    progid: str | None
    proposal_subid: str | None
    quality_level: int | None
    obs_id: str | None
    obs_creator_name: str | None
    datapi: str | None
    procsoft: str | None
    telescope: str | None


def file_facts(header: fits.Header, document: OifitsDocument) -> FileFacts:
    catg = (_text(header, "ESO PRO CATG") or "").upper()
    calibrated = (
        "CALIBRATED" in catg
        or "CAL_INT" in catg
        or any(table.kind == "OI_FLUX" and table.calstat == "C" for table in document.tables)
    )
    arcfile = _text(header, "ARCFILE")
    quality = _text(header, "QUALITY LEVEL")
    return FileFacts(
        calib_level=2 if calibrated else 1,
        category=_header_category(header),
        progid=_text(header, "ESO OBS PROG ID", "OBS PROG ID"),
        proposal_subid=_text(header, "SPICADB-ID"),
        quality_level=int(quality) if quality and quality.lstrip("-").isdigit() else None,
        obs_id=arcfile.removesuffix(".fits").removesuffix(".FITS") if arcfile else None,
        obs_creator_name=_text(header, "OBSERVER"),
        datapi=_text(header, "ESO OBS PI-COI NAME", "OBS PI-COI NAME", "PI-COI", "PI"),
        procsoft=_text(header, "PROCSOFT", "ESO PRO REC1 PIPE ID"),
        telescope=_text(header, "TELESCOP"),
    )


def extract_granules(document: OifitsDocument, facts: FileFacts) -> list[GranuleValues]:
    """One granule per (target name, INSNAME, night), ordered by time."""
    groups: dict[tuple[str, str, int], list[tuple[DataTable, np.ndarray]]] = {}
    for table in document.tables:
        if table.rows == 0:
            continue
        nights = night_of(table.mjd, observatory_longitude(document, table, facts.telescope))
        keys = np.stack([table.target_ids, nights], axis=1)
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        for position, (target_id, night) in enumerate(unique):
            name = document.targets[int(target_id)].name
            rows = np.flatnonzero(inverse.ravel() == position)
            groups.setdefault((name, table.insname, int(night)), []).append((table, rows))
    granules = [
        _granule(document, facts, name, insname, parts)
        for (name, insname, _), parts in groups.items()
    ]
    return sorted(granules, key=lambda g: (g.t_min, g.target_name, g.instrument_name))


def night_of(mjd: np.ndarray, longitude: float) -> np.ndarray:
    """Noon-to-noon night numbers at ``longitude`` (deg east): local noon is the boundary."""
    return np.floor(mjd - 0.5 + longitude / 360.0).astype(int)


def observatory_longitude(document: OifitsDocument, table: DataTable, telescope: str | None):
    array = document.arrays.get(table.arrname) if table.arrname else None
    if array is not None and array.position is not None:
        x, y, _ = array.position
        return math.degrees(math.atan2(y, x))
    for name in (table.arrname or "", telescope or ""):
        for known, longitude in OBSERVATORY_LONGITUDES.items():
            if known in name.upper():
                return longitude
    return 0.0


def _granule(document, facts: FileFacts, name, insname, parts) -> GranuleValues:
    instrument = document.instruments[insname]
    target = next(document.targets[int(t.target_ids[rows[0]])] for t, rows in parts)
    mjd = np.concatenate([table.mjd[rows] for table, rows in parts])
    int_times = np.concatenate(
        [table.int_time[rows] for table, rows in parts if table.int_time is not None]
        or [np.zeros(0)]
    )
    int_times = int_times[np.isfinite(int_times)]
    counts = {kind: 0 for kind in ("OI_VIS", "OI_VIS2", "OI_T3", "OI_FLUX")}
    for table, rows in parts:
        counts[table.kind] += len(rows)
    waves = instrument.eff_wave
    finite_waves = waves[np.isfinite(waves)]
    em_min, em_max = _measured(finite_waves.min()), _measured(finite_waves.max())
    return GranuleValues(
        target_name=name,
        s_ra=_rounded(target.ra, COORDINATE_DECIMALS),
        s_dec=_rounded(target.dec, COORDINATE_DECIMALS),
        t_min=_rounded(mjd.min(), MJD_DECIMALS),
        t_max=_rounded(mjd.max(), MJD_DECIMALS),
        t_exptime=_rounded(int_times.min(), SECONDS_DECIMALS) if int_times.size else None,
        em_min=em_min,
        em_max=em_max,
        em_res_power=_resolving_power(instrument.eff_wave, instrument.eff_band),
        facility_name=_facility(parts, facts),
        instrument_name=insname,
        instrument_mode=f"{insname} {em_min * 1e6:.3f}-{em_max * 1e6:.3f}um",
        interferometer_stations=_stations(document, parts),
        nb_channels=len(waves),
        nb_vis=counts["OI_VIS"],
        nb_vis2=counts["OI_VIS2"],
        nb_t3=counts["OI_T3"],
        calib_level=facts.calib_level,
        dataproduct_category=_CATEGORIES.get(target.category or "") or facts.category,
        progid=facts.progid,
        proposal_subid=facts.proposal_subid,
        quality_level=facts.quality_level,
        obs_id=facts.obs_id,
        obs_creator_name=facts.obs_creator_name,
        datapi=facts.datapi,
        procsoft=facts.procsoft,
    )


def _facility(parts, facts: FileFacts) -> str | None:
    arrnames = unique_in_order(table.arrname for table, _ in parts if table.arrname)
    return arrnames[0] if arrnames else facts.telescope


def _stations(document: OifitsDocument, parts) -> str | None:
    """The stations of the granule's rows, by name, sorted and joined: ``A0-G1-J2-K0``."""
    names: set[str] = set()
    for table, rows in parts:
        array = document.arrays.get(table.arrname) if table.arrname else None
        if array is None or table.sta_index is None:
            continue
        indexes = np.unique(table.sta_index[rows])
        names.update(array.stations[int(i)] for i in indexes if int(i) in array.stations)
    return "-".join(sorted(names)) or None


def _resolving_power(waves: np.ndarray, bands: np.ndarray | None) -> float | None:
    if bands is None:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.asarray(waves, float) / np.asarray(bands, float)
    ratios = ratios[np.isfinite(ratios) & (ratios > 0)]
    if ratios.size == 0:
        return None
    return float(f"{np.median(ratios):.3g}")


def _rounded(value, decimals: int) -> float | None:
    return None if value is None else round(float(value), decimals)


def _measured(value) -> float:
    """A value with the digits its column holds: float32 ones without binary noise."""
    if isinstance(value, np.float32):
        return float(str(value))
    return float(value)


def _header_category(header: fits.Header) -> str | None:
    science = header.get("ESO PRO SCIENCE", header.get("PRO SCIENCE"))
    if isinstance(science, bool):
        return "SCIENCE" if science else "CALIB"
    catg = (_text(header, "ESO DPR CATG") or "").upper()
    return catg if catg in ("SCIENCE", "CALIB") else None


def _text(header: fits.Header, *keywords: str) -> str | None:
    for keyword in keywords:
        try:
            value = header.get(keyword)
        except (KeyError, ValueError):
            continue
        if value is not None and not isinstance(value, fits.card.Undefined):
            text = str(value).strip()
            if text and text.upper() not in _UNKNOWN:
                return text
    return None

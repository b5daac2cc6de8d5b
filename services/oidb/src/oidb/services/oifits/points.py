"""The measurements of one granule, for its quick-look plots (VIS2 and T3PHI against spatial
frequency, UV coverage)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .document import DataTable, OifitsDocument
from .reader import open_document

#: Granules keep MJD to 1e-8 d: a row's own MJD may lie that far outside their range.
MJD_TOLERANCE = 1e-6


def _empty() -> np.ndarray:
    return np.zeros(0)


@dataclass
class GranuleData:
    """Usable (finite, unflagged) points of one granule. Spatial frequencies are baseline
    over wavelength (rad^-1); for T3 the triangle's longest baseline; u, v in metres, one per
    baseline measured (VIS2 and VIS rows, else the triangles' baselines)."""

    wavelengths: np.ndarray = field(default_factory=_empty)
    vis2_frequency: np.ndarray = field(default_factory=_empty)
    vis2: np.ndarray = field(default_factory=_empty)
    vis2_err: np.ndarray = field(default_factory=_empty)
    vis2_wavelength: np.ndarray = field(default_factory=_empty)
    t3_frequency: np.ndarray = field(default_factory=_empty)
    t3phi: np.ndarray = field(default_factory=_empty)
    t3phi_err: np.ndarray = field(default_factory=_empty)
    t3_wavelength: np.ndarray = field(default_factory=_empty)
    u: np.ndarray = field(default_factory=_empty)
    v: np.ndarray = field(default_factory=_empty)


def granule_rows(path: Path, granule: Any) -> GranuleData:
    """The points of ``granule`` (anything with ``target_name``, ``instrument_name``,
    ``t_min``, ``t_max``) in the OIFITS file at ``path``; empty when the file no longer reads."""
    document = open_document(path)
    if document is None:
        return GranuleData()
    instrument = document.instruments.get(granule.instrument_name)
    if instrument is None:
        return GranuleData()
    waves = np.asarray(instrument.eff_wave, dtype=float)
    result = GranuleData(wavelengths=waves)
    selected = [
        (table, _rows_of(document, table, granule))
        for table in document.tables
        if table.insname == granule.instrument_name and table.rows
    ]
    vis2 = [(table, rows) for table, rows in selected if table.kind == "OI_VIS2" and rows.size]
    t3 = [(table, rows) for table, rows in selected if table.kind == "OI_T3" and rows.size]
    vis = [(table, rows) for table, rows in selected if table.kind == "OI_VIS" and rows.size]
    if vis2:
        points = [_baseline_points(t, r, waves, "VIS2DATA", "VIS2ERR") for t, r in vis2]
        (result.vis2_frequency, result.vis2, result.vis2_err,
         result.vis2_wavelength) = _joined(points)  # fmt: skip
    if t3:
        points = [_triangle_points(t, r, waves) for t, r in t3]
        (result.t3_frequency, result.t3phi, result.t3phi_err,
         result.t3_wavelength) = _joined(points)  # fmt: skip
    baselines = [_uv(t, r, ("UCOORD", "VCOORD")) for t, r in vis2 + vis]
    if not baselines:
        baselines = [uv for t, r in t3 for uv in _triangle_uv(t, r)]
    if baselines:
        result.u = np.concatenate([u for u, _ in baselines])
        result.v = np.concatenate([v for _, v in baselines])
    return result


def _rows_of(document: OifitsDocument, table: DataTable, granule: Any) -> np.ndarray:
    ids = [t.id for t in document.targets.values() if t.name == granule.target_name]
    matches = np.isin(table.target_ids, ids)
    if granule.t_min is not None and granule.t_max is not None:
        low, high = granule.t_min - MJD_TOLERANCE, granule.t_max + MJD_TOLERANCE
        matches &= (table.mjd >= low) & (table.mjd <= high)
    return np.flatnonzero(matches)


def _baseline_points(table: DataTable, rows, waves, value: str, error: str):
    u, v = _uv(table, rows, ("UCOORD", "VCOORD"))
    length = np.hypot(u, v)
    return _points(table, rows, waves, length, value, error)


def _triangle_points(table: DataTable, rows, waves):
    (u1, v1), (u2, v2), (u3, v3) = _triangle_uv(table, rows)
    longest = np.max([np.hypot(u1, v1), np.hypot(u2, v2), np.hypot(u3, v3)], axis=0)
    return _points(table, rows, waves, longest, "T3PHI", "T3PHIERR")


def _points(table: DataTable, rows, waves, length, value: str, error: str):
    values = table.column(value)
    if values is None:
        return _empty(), _empty(), _empty(), _empty()
    values = values[rows]
    errors = table.column(error)
    errors = errors[rows] if errors is not None else np.full_like(values, np.nan)
    usable = table.usable(value)[rows]
    frequency = length[:, None] / waves[None, :]
    wavelength = np.broadcast_to(waves[None, :], values.shape)
    return frequency[usable], values[usable], errors[usable], wavelength[usable]


def _uv(table: DataTable, rows, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    u, v = (table.column(name) for name in names)
    if u is None or v is None:
        return _empty(), _empty()
    return u[rows, 0], v[rows, 0]


def _triangle_uv(table: DataTable, rows):
    u1, v1 = _uv(table, rows, ("U1COORD", "V1COORD"))
    u2, v2 = _uv(table, rows, ("U2COORD", "V2COORD"))
    return (u1, v1), (u2, v2), (u1 + u2, v1 + v2)


def _joined(points):
    return tuple(np.concatenate([p[i] for p in points]) for i in range(4))

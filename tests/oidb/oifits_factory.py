"""Small synthetic OIFITS files (v1 or v2) written with astropy, for tests and benchmarks.

``make_oifits()`` gives the bytes of a valid file: ``targets`` observed on ``nights`` nights by
one instrument (``insname``, ``nwave`` channels) on a four-station array, ``records`` snapshots
per target and night (each: 6 VIS2 rows, 4 T3 rows and, when ``vis`` is set, 6 VIS rows).
Keyword arguments break it in the ways the reader must refuse (``without``, ``bad_target_id``,
``nan_data``); ``positions`` places the targets ((ra, dec) in degrees, one per target).
``size_for()`` picks ``records`` and ``nwave`` for a file of about a given size.
"""

from __future__ import annotations

import io
import itertools
import math
from pathlib import Path

import numpy as np
from astropy.io import fits

#: VLTI's geocentric position (m): its longitude puts the night boundary at Paranal's noon.
VLTI_XYZ = (1942014.1, -5455311.0, -2654521.7)
STATIONS = {"A0": (-14.642, -55.812), "G1": (66.717, -95.500), "J2": (114.691, -62.735),
            "K0": (106.406, 14.020)}  # fmt: skip
#: The first night's MJD: 2017-09-04, 03:00 UT (a night at Paranal).
FIRST_MJD = 58000.125
SECONDS_PER_RECORD = 60.0


def make_oifits(
    path: Path | None = None,
    *,
    targets: tuple[str, ...] = ("HD 1",),
    insname: str = "PIONIER_Pnat(1.6-1.8)",
    nights: int = 1,
    version: int = 2,
    science: bool = True,
    records: int = 2,
    nwave: int = 6,
    wavelengths: tuple[float, float] = (1.6e-6, 1.8e-6),
    arrname: str = "VLTI",
    vis: bool = False,
    instrument: str = "PIONIER",
    arcfile: str | None = "PIONI.2017-09-04T03:00:00.000.fits",
    progid: str | None = "099.D-0123(A)",
    first_mjd: float = FIRST_MJD,
    int_time: float = 60.0,
    without: tuple[str, ...] = (),
    bad_target_id: int | None = None,
    nan_data: bool = False,
    seed: int = 0,
    positions: tuple[tuple[float, float], ...] | None = None,
) -> bytes:
    """The bytes of an OIFITS file (also written to ``path`` when given); see the module."""
    rng = np.random.default_rng(seed)
    primary = fits.PrimaryHDU()
    header = primary.header
    if version == 2:
        header["CONTENT"] = "OIFITS2"
    header["TELESCOP"] = f"ESO-{arrname}"
    header["INSTRUME"] = instrument
    header["DATE-OBS"] = "2017-09-04"
    header["OBSERVER"] = "A. Astronomer"
    header["PROCSOFT"] = "synthetic 1.0"
    if arcfile:
        header["ARCFILE"] = arcfile
    if progid:
        header["HIERARCH ESO OBS PROG ID"] = progid
    header["HIERARCH ESO PRO SCIENCE"] = science
    header["HIERARCH ESO PRO CATG"] = "TARGET_OIDATA_CALIBRATED"

    waves = np.linspace(wavelengths[0], wavelengths[1], nwave)
    band = (wavelengths[1] - wavelengths[0]) / max(nwave - 1, 1) or wavelengths[0] / 1000
    tables = {
        "OI_TARGET": _target_table(targets, version, science, positions),
        "OI_ARRAY": _array_table(arrname, version),
        "OI_WAVELENGTH": _wavelength_table(insname, waves, band, version),
    }
    rows = _observations(targets, nights, records, first_mjd, bad_target_id)
    tables["OI_VIS2"] = _vis2_table(rows, waves, insname, arrname, version, int_time, rng)
    tables["OI_T3"] = _t3_table(rows, waves, insname, arrname, version, int_time, rng)
    if vis:
        tables["OI_VIS"] = _vis_table(rows, waves, insname, arrname, version, int_time, rng)
    if nan_data:
        for name in ("OI_VIS2", "OI_T3", "OI_VIS"):
            if name in tables:
                for column in ("VIS2DATA", "T3PHI", "T3AMP", "VISAMP", "VISPHI"):
                    if column in tables[name].columns.names:
                        tables[name].data[column][:] = np.nan
    hdus = fits.HDUList([primary, *(hdu for name, hdu in tables.items() if name not in without)])
    buffer = io.BytesIO()
    hdus.writeto(buffer, checksum=False)
    content = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(content)
    return content


def size_for(target_bytes: int) -> dict[str, int]:
    """``records`` and ``nwave`` giving a file of about ``target_bytes`` (one target, one night):
    wide spectra for the large files, as GRAVITY's, a few channels and more snapshots below."""
    nwave = 6 if target_bytes < 120_000 else min(1800, int(target_bytes / 1500))
    per_record = 10 * (nwave * 8 * 2 + nwave + 80) + 4 * (nwave * 8 * 2 + 100)
    records = max(1, int((target_bytes - 25_000) / per_record))
    return {"records": records, "nwave": nwave}


def _observations(targets, nights, records, first_mjd, bad_target_id):
    """(target_id, mjd) of every snapshot: ``records`` a minute apart per target and night."""
    snapshots = []
    for night, (index, _) in itertools.product(range(nights), enumerate(targets, 1)):
        for record in range(records):
            mjd = first_mjd + night + (index * records + record) * SECONDS_PER_RECORD / 86400
            snapshots.append((index, mjd))
    if bad_target_id is not None:
        snapshots[0] = (bad_target_id, snapshots[0][1])
    return snapshots


def _table(name: str, columns: list[fits.Column], keywords: dict) -> fits.BinTableHDU:
    hdu = fits.BinTableHDU.from_columns(columns, name=name)
    for keyword, value in keywords.items():
        hdu.header[keyword] = value
    return hdu


def _target_table(targets, version, science, positions) -> fits.BinTableHDU:
    count = len(targets)
    positions = positions or [(10.5 + 15 * i, -30.25 + i) for i in range(count)]
    columns = [
        fits.Column("TARGET_ID", "I", array=np.arange(1, count + 1)),
        fits.Column("TARGET", "16A", array=list(targets)),
        fits.Column("RAEP0", "D", unit="deg", array=[ra for ra, _ in positions]),
        fits.Column("DECEP0", "D", unit="deg", array=[dec for _, dec in positions]),
        fits.Column("EQUINOX", "E", unit="yr", array=[2000.0] * count),
        fits.Column("RA_ERR", "D", unit="deg", array=[0.0] * count),
        fits.Column("DEC_ERR", "D", unit="deg", array=[0.0] * count),
        fits.Column("SYSVEL", "D", unit="m/s", array=[0.0] * count),
        fits.Column("VELTYP", "8A", array=["LSR"] * count),
        fits.Column("VELDEF", "8A", array=["OPTICAL"] * count),
        fits.Column("PMRA", "D", unit="deg/yr", array=[0.0] * count),
        fits.Column("PMDEC", "D", unit="deg/yr", array=[0.0] * count),
        fits.Column("PMRA_ERR", "D", unit="deg/yr", array=[0.0] * count),
        fits.Column("PMDEC_ERR", "D", unit="deg/yr", array=[0.0] * count),
        fits.Column("PARALLAX", "E", unit="deg", array=[0.0] * count),
        fits.Column("PARA_ERR", "E", unit="deg", array=[0.0] * count),
        fits.Column("SPECTYP", "16A", array=["K0III"] * count),
    ]
    if version == 2:
        columns.append(fits.Column("CATEGORY", "3A", array=["SCI" if science else "CAL"] * count))
    return _table("OI_TARGET", columns, {"OI_REVN": version})


def _array_table(arrname, version) -> fits.BinTableHDU:
    names = list(STATIONS)
    columns = [
        fits.Column("TEL_NAME", "16A", array=[f"AT{i}" for i in range(1, 5)]),
        fits.Column("STA_NAME", "16A", array=names),
        fits.Column("STA_INDEX", "I", array=[1, 2, 3, 4]),
        fits.Column("DIAMETER", "E", unit="m", array=[1.8] * 4),
        fits.Column("STAXYZ", "3D", unit="m", array=[(*STATIONS[n], 0.0) for n in names]),
    ]
    if version == 2:
        columns.append(fits.Column("FOV", "D", unit="arcsec", array=[0.25] * 4))
        columns.append(fits.Column("FOVTYPE", "6A", array=["FWHM"] * 4))
    x, y, z = VLTI_XYZ
    keywords = {"OI_REVN": version, "ARRNAME": arrname, "FRAME": "GEOCENTRIC",
                "ARRAYX": x, "ARRAYY": y, "ARRAYZ": z}  # fmt: skip
    return _table("OI_ARRAY", columns, keywords)


def _wavelength_table(insname, waves, band, version) -> fits.BinTableHDU:
    columns = [
        fits.Column("EFF_WAVE", "E", unit="m", array=waves),
        fits.Column("EFF_BAND", "E", unit="m", array=np.full(len(waves), band)),
    ]
    return _table("OI_WAVELENGTH", columns, {"OI_REVN": version, "INSNAME": insname})


def _data_keywords(insname, arrname, version) -> dict:
    return {"OI_REVN": version, "DATE-OBS": "2017-09-04", "INSNAME": insname, "ARRNAME": arrname}


def _common_columns(snapshots, per_snapshot, int_time) -> list[fits.Column]:
    target_ids = [target for target, _ in snapshots for _ in range(per_snapshot)]
    mjds = np.array([mjd for _, mjd in snapshots for _ in range(per_snapshot)])
    return [
        fits.Column("TARGET_ID", "I", array=target_ids),
        fits.Column("TIME", "D", unit="s", array=(mjds - np.floor(mjds)) * 86400),
        fits.Column("MJD", "D", unit="day", array=mjds),
        fits.Column("INT_TIME", "D", unit="s", array=np.full(len(mjds), int_time)),
    ]


def _baselines(snapshots) -> list[tuple[int, int, float, float]]:
    """(station 1, station 2, u, v) of every baseline of every snapshot, rotating in time."""
    rows = []
    for _, mjd in snapshots:
        angle = (mjd % 1) * 2 * math.pi
        for first, second in itertools.combinations(range(1, 5), 2):
            (x1, y1), (x2, y2) = STATIONS[_name(first)], STATIONS[_name(second)]
            dx, dy = x2 - x1, y2 - y1
            u = dx * math.cos(angle) - dy * math.sin(angle)
            v = dx * math.sin(angle) + dy * math.cos(angle)
            rows.append((first, second, u, v))
    return rows


def _name(index: int) -> str:
    return list(STATIONS)[index - 1]


def _vis2_table(snapshots, waves, insname, arrname, version, int_time, rng):
    baselines = _baselines(snapshots)
    count, nwave = len(baselines), len(waves)
    u = np.array([b[2] for b in baselines])
    v = np.array([b[3] for b in baselines])
    frequency = np.hypot(u, v)[:, None] / waves[None, :]
    vis2 = np.exp(-((frequency / 3e8) ** 2)) + rng.normal(0, 0.01, (count, nwave))
    columns = [
        *_common_columns(snapshots, 6, int_time),
        fits.Column("VIS2DATA", f"{nwave}D", array=vis2),
        fits.Column("VIS2ERR", f"{nwave}D", array=np.full((count, nwave), 0.02)),
        fits.Column("UCOORD", "D", unit="m", array=u),
        fits.Column("VCOORD", "D", unit="m", array=v),
        fits.Column("STA_INDEX", "2I", array=[(b[0], b[1]) for b in baselines]),
        fits.Column("FLAG", f"{nwave}L", array=np.zeros((count, nwave), dtype=bool)),
    ]
    return _table("OI_VIS2", columns, _data_keywords(insname, arrname, version))


def _vis_table(snapshots, waves, insname, arrname, version, int_time, rng):
    baselines = _baselines(snapshots)
    count, nwave = len(baselines), len(waves)
    columns = [
        *_common_columns(snapshots, 6, int_time),
        fits.Column("VISAMP", f"{nwave}D", array=rng.uniform(0.3, 1, (count, nwave))),
        fits.Column("VISAMPERR", f"{nwave}D", array=np.full((count, nwave), 0.02)),
        fits.Column("VISPHI", f"{nwave}D", unit="deg", array=rng.normal(0, 2, (count, nwave))),
        fits.Column("VISPHIERR", f"{nwave}D", unit="deg", array=np.full((count, nwave), 1.0)),
        fits.Column("UCOORD", "D", unit="m", array=[b[2] for b in baselines]),
        fits.Column("VCOORD", "D", unit="m", array=[b[3] for b in baselines]),
        fits.Column("STA_INDEX", "2I", array=[(b[0], b[1]) for b in baselines]),
        fits.Column("FLAG", f"{nwave}L", array=np.zeros((count, nwave), dtype=bool)),
    ]
    return _table("OI_VIS", columns, _data_keywords(insname, arrname, version))


def _t3_table(snapshots, waves, insname, arrname, version, int_time, rng):
    triangles = list(itertools.combinations(range(1, 5), 3))
    rows = []
    for _, mjd in snapshots:
        angle = (mjd % 1) * 2 * math.pi
        for first, second, third in triangles:
            positions = [STATIONS[_name(index)] for index in (first, second, third)]
            (x1, y1), (x2, y2), (x3, y3) = positions
            u1, v1 = _rotate(x2 - x1, y2 - y1, angle)
            u2, v2 = _rotate(x3 - x2, y3 - y2, angle)
            rows.append(((first, second, third), u1, v1, u2, v2))
    count, nwave = len(rows), len(waves)
    columns = [
        *_common_columns(snapshots, len(triangles), int_time),
        fits.Column("T3AMP", f"{nwave}D", array=rng.uniform(0.1, 1, (count, nwave))),
        fits.Column("T3AMPERR", f"{nwave}D", array=np.full((count, nwave), 0.05)),
        fits.Column("T3PHI", f"{nwave}D", unit="deg", array=rng.normal(0, 5, (count, nwave))),
        fits.Column("T3PHIERR", f"{nwave}D", unit="deg", array=np.full((count, nwave), 2.0)),
        fits.Column("U1COORD", "D", unit="m", array=[row[1] for row in rows]),
        fits.Column("V1COORD", "D", unit="m", array=[row[2] for row in rows]),
        fits.Column("U2COORD", "D", unit="m", array=[row[3] for row in rows]),
        fits.Column("V2COORD", "D", unit="m", array=[row[4] for row in rows]),
        fits.Column("STA_INDEX", "3I", array=[row[0] for row in rows]),
        fits.Column("FLAG", f"{nwave}L", array=np.zeros((count, nwave), dtype=bool)),
    ]
    return _table("OI_T3", columns, _data_keywords(insname, arrname, version))


def _rotate(x: float, y: float, angle: float) -> tuple[float, float]:
    return x * math.cos(angle) - y * math.sin(angle), x * math.sin(angle) + y * math.cos(angle)

"""The demo data ``make up`` loads (``oidb ingest --demo``): three collections showing the
three kinds of rights.

- ``demo-public``: public data, the real OIFITS files of the shared data folder when it is
  beside the project (``$JMMC_SHARED_DIR`` or ``../shared``), else generated ones;
- ``demo-pionier``: a PIONIER-type collection (one year of embargo) of files observed last
  month, so its science granules are under embargo while their metadata stay searchable;
- ``demo-private``: a private collection that only the group ``oidb-demo`` sees.

Generated files are small OIFITS 2 files (VIS2 and T3 of a four-station array), the same
bytes on every run within a month, so running the demo again changes nothing.
"""

import io
import itertools
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from astropy.io import fits

from jmmc_core.accounts import services as accounts
from jmmc_core.accounts import storage as accounts_storage
from jmmc_core.database import Database

from ..config import Settings
from .access import writing
from .collections import ensure_collection
from .embargo import MJD_EPOCH
from .ingestion import PLATFORM, IngestRun, files_under, ingest_files

REPOSITORY = Path(__file__).resolve().parents[5]
DEMO_GROUP = "oidb-demo"
#: Stations of the generated files (east, north in metres; VLTI's).
STATIONS = {"A0": (-14.642, -55.812), "G1": (66.717, -95.5), "J2": (114.691, -62.735),
            "K0": (106.406, 14.02)}  # fmt: skip
#: Targets of the generated files (name, RA, Dec in degrees).
TARGETS = (("HD 1", 1.25, -30.5), ("alf Cen A", 219.9, -60.83), ("del Vir", 194.07, 3.4),
           ("TW Hya", 165.47, -34.7), ("HR 4049", 153.0, -28.99),
           ("V921 Sco", 254.18, -42.33))  # fmt: skip


@dataclass(frozen=True)
class DemoCollection:
    id: str
    title: str
    coltype: str
    private: bool = False


PUBLIC = DemoCollection("demo-public", "Demo: public OIFITS data", "public")
EMBARGOED = DemoCollection("demo-pionier", "Demo: recent PIONIER data (embargoed)", "pionier")
PRIVATE = DemoCollection("demo-private", "Demo: a private collection", "public", private=True)


def shared_oifits_dir() -> Path:
    """The real OIFITS files: ``$JMMC_SHARED_DIR/data/oifits`` or ``<repository>/../shared``."""
    shared = Path(os.environ.get("JMMC_SHARED_DIR", REPOSITORY.parent / "shared"))
    return shared / "data" / "oifits"


def load_demo(database: Database, settings: Settings) -> list[tuple[DemoCollection, IngestRun]]:
    """Create the demo collections (once) and fill them; each collection's run."""
    with writing(database, PLATFORM) as session:
        accounts.create_group(session, DEMO_GROUP, "Members see OiDB's private demo data",
                              if_missing=True)  # fmt: skip
        group_id = accounts_storage.group_by_name(session, DEMO_GROUP).id
        for collection in (PUBLIC, EMBARGOED, PRIVATE):
            groups = {group_id: False} if collection.private else None
            ensure_collection(session, collection.id, collection.title, collection.coltype,
                              collection.private, groups=groups)  # fmt: skip
    recent = _start_of_month(datetime.now(UTC)) - timedelta(days=20)
    shared = shared_oifits_dir()
    public_files = (
        list(files_under([shared])) if shared.is_dir()
        else list(_generated(TARGETS[:4], "PIONIER", datetime(2019, 3, 1, tzinfo=UTC)))
    )  # fmt: skip
    sources = {
        PUBLIC: public_files,
        EMBARGOED: list(_generated(TARGETS[:3], "PIONIER", recent)),
        PRIVATE: list(_generated(TARGETS[3:], "GRAVITY", recent - timedelta(days=400))),
    }
    return [
        (collection, ingest_files(database, settings, PLATFORM, collection.id, files))
        for collection, files in sources.items()
    ]


def _start_of_month(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _generated(targets, instrument: str, night: datetime) -> Iterator[tuple[bytes, str]]:
    """One generated file per target, observed on the night starting at ``night``."""
    for index, (name, ra, dec) in enumerate(targets):
        mjd = (night - MJD_EPOCH).total_seconds() / 86400 + 0.1 + index / 24
        filename = f"{instrument}_{name.replace(' ', '_')}_{night:%Y-%m-%d}.fits"
        yield generated_oifits(name, ra, dec, instrument, mjd, seed=index), filename


def generated_oifits(
    target: str, ra: float, dec: float, instrument: str, mjd: float, seed: int = 0
) -> bytes:
    """A small valid OIFITS 2 file: 4 snapshots of 6 VIS2 and 4 T3 rows over 8 channels."""
    rng = np.random.default_rng(seed)
    insname = f"{instrument}_SYNTHETIC"
    waves = np.linspace(1.55e-6, 1.8e-6, 8)
    primary = fits.PrimaryHDU()
    primary.header.update({"CONTENT": "OIFITS2", "INSTRUME": instrument, "TELESCOP": "ESO-VLTI",
                           "ORIGIN": "JMMC", "OBJECT": target, "PROCSOFT": "oidb demo",
                           "HIERARCH ESO OBS PROG ID": "0104.D-0001(A)",
                           "HIERARCH ESO PRO SCIENCE": True})  # fmt: skip
    names = list(STATIONS)
    target_table = _table("OI_TARGET", {"OI_REVN": 2}, [
        ("TARGET_ID", "I", None, [1]), ("TARGET", "16A", None, [target]),
        ("RAEP0", "D", "deg", [ra]), ("DECEP0", "D", "deg", [dec]),
        ("EQUINOX", "E", "yr", [2000.0]), ("RA_ERR", "D", "deg", [0.0]),
        ("DEC_ERR", "D", "deg", [0.0]), ("SYSVEL", "D", "m/s", [0.0]),
        ("VELTYP", "8A", None, ["LSR"]), ("VELDEF", "8A", None, ["OPTICAL"]),
        ("PMRA", "D", "deg/yr", [0.0]), ("PMDEC", "D", "deg/yr", [0.0]),
        ("PMRA_ERR", "D", "deg/yr", [0.0]), ("PMDEC_ERR", "D", "deg/yr", [0.0]),
        ("PARALLAX", "E", "deg", [0.0]), ("PARA_ERR", "E", "deg", [0.0]),
        ("SPECTYP", "16A", None, ["G2V"]), ("CATEGORY", "3A", None, ["SCI"]),
    ])  # fmt: skip
    array_table = _table(
        "OI_ARRAY",
        {"OI_REVN": 2, "ARRNAME": "VLTI", "FRAME": "GEOCENTRIC",
         "ARRAYX": 1942014.1, "ARRAYY": -5455311.0, "ARRAYZ": -2654521.7},
        [("TEL_NAME", "16A", None, [f"AT{i}" for i in range(1, 5)]),
         ("STA_NAME", "16A", None, names), ("STA_INDEX", "I", None, [1, 2, 3, 4]),
         ("DIAMETER", "E", "m", [1.8] * 4),
         ("STAXYZ", "3D", "m", [(*STATIONS[name], 0.0) for name in names]),
         ("FOV", "D", "arcsec", [0.25] * 4), ("FOVTYPE", "6A", None, ["FWHM"] * 4)],
    )  # fmt: skip
    wavelength_table = _table("OI_WAVELENGTH", {"OI_REVN": 2, "INSNAME": insname}, [
        ("EFF_WAVE", "E", "m", waves), ("EFF_BAND", "E", "m", np.full(8, 3e-8)),
    ])  # fmt: skip
    snapshots = [mjd + step * 600 / 86400 for step in range(4)]
    pairs = list(itertools.combinations(range(1, 5), 2))
    triangles = list(itertools.combinations(range(1, 5), 3))
    vis2_uv = [_uv(names, pair, time) for time in snapshots for pair in pairs]
    frequency = np.hypot(*np.array(vis2_uv).T)[:, None] / waves[None, :]
    vis2 = np.exp(-((frequency / 4e7) ** 2)) + rng.normal(0, 0.01, frequency.shape)
    t3_uv = [(*_uv(names, t[:2], time), *_uv(names, t[1:], time))
             for time in snapshots for t in triangles]  # fmt: skip
    keywords = {"OI_REVN": 2, "DATE-OBS": f"{MJD_EPOCH + timedelta(days=mjd):%Y-%m-%d}",
                "INSNAME": insname, "ARRNAME": "VLTI"}  # fmt: skip
    vis2_table = _table("OI_VIS2", keywords, [
        *_times(snapshots, len(pairs)),
        ("VIS2DATA", "8D", None, vis2), ("VIS2ERR", "8D", None, np.full(vis2.shape, 0.02)),
        ("UCOORD", "D", "m", [uv[0] for uv in vis2_uv]),
        ("VCOORD", "D", "m", [uv[1] for uv in vis2_uv]),
        ("STA_INDEX", "2I", None, [pair for _ in snapshots for pair in pairs]),
        ("FLAG", "8L", None, np.zeros(vis2.shape, dtype=bool)),
    ])  # fmt: skip
    count = len(t3_uv)
    t3_table = _table("OI_T3", keywords, [
        *_times(snapshots, len(triangles)),
        ("T3AMP", "8D", None, rng.uniform(0.1, 1, (count, 8))),
        ("T3AMPERR", "8D", None, np.full((count, 8), 0.05)),
        ("T3PHI", "8D", "deg", rng.normal(0, 5, (count, 8))),
        ("T3PHIERR", "8D", "deg", np.full((count, 8), 2.0)),
        *((column, "D", "m", [uv[i] for uv in t3_uv])
          for i, column in enumerate(("U1COORD", "V1COORD", "U2COORD", "V2COORD"))),
        ("STA_INDEX", "3I", None, [t for _ in snapshots for t in triangles]),
        ("FLAG", "8L", None, np.zeros((count, 8), dtype=bool)),
    ])  # fmt: skip
    hdus = fits.HDUList(
        [primary, target_table, array_table, wavelength_table, vis2_table, t3_table]
    )
    buffer = io.BytesIO()
    hdus.writeto(buffer)
    return buffer.getvalue()


def _table(name: str, keywords: dict, columns) -> fits.BinTableHDU:
    hdu = fits.BinTableHDU.from_columns(
        [
            fits.Column(column, form, unit=unit, array=values)
            for column, form, unit, values in columns
        ],
        name=name,
    )
    hdu.header.update(keywords)
    return hdu


def _times(snapshots: list[float], per_snapshot: int):
    mjds = np.repeat(snapshots, per_snapshot)
    return [
        ("TARGET_ID", "I", None, np.ones(len(mjds), dtype=int)),
        ("TIME", "D", "s", (mjds - np.floor(mjds)) * 86400),
        ("MJD", "D", "day", mjds),
        ("INT_TIME", "D", "s", np.full(len(mjds), 60.0)),
    ]


def _uv(names: list[str], pair: tuple[int, int], mjd: float) -> tuple[float, float]:
    """The baseline between two stations, turned by the Earth's rotation at ``mjd``."""
    (x1, y1), (x2, y2) = (STATIONS[names[index - 1]] for index in pair)
    angle = (mjd % 1) * 2 * math.pi
    dx, dy = x2 - x1, y2 - y1
    return dx * math.cos(angle) - dy * math.sin(angle), dx * math.sin(angle) + dy * math.cos(angle)

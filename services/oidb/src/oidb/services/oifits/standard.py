"""What the OIFITS standard asks of each table, by revision (OIFITS 1, 2003; OIFITS 2, 2017).

``required`` columns are those without which a table cannot be used here (their absence
rejects the file); the standard's other mandatory columns only draw a warning, as the
original's validator did for non-fatal problems. Units are compared after spelling
variants are folded (``sec``, ``days``, ``degrees``...).
"""

from __future__ import annotations

from dataclasses import dataclass

DATA_TABLES = ("OI_VIS", "OI_VIS2", "OI_T3", "OI_FLUX")
#: Tables whose OI_REVN tells the file's revision (OI_FLUX, OI_CORR, OI_INSPOL are revision
#: 1 in OIFITS 2 files: they are new in it).
VERSIONED_TABLES = ("OI_TARGET", "OI_ARRAY", "OI_WAVELENGTH", "OI_VIS", "OI_VIS2", "OI_T3")
#: The observable whose values say whether a data table holds a usable measurement.
OBSERVABLES = {
    "OI_VIS": ("VISAMP", "VISPHI"),
    "OI_VIS2": ("VIS2DATA",),
    "OI_T3": ("T3PHI", "T3AMP"),
    "OI_FLUX": ("FLUXDATA", "FLUX"),
}


@dataclass(frozen=True)
class Column:
    name: str
    unit: str | None = None
    required: bool = False
    #: The first revision of the table in which the standard makes it mandatory.
    since: int = 1


def _columns(*specs: str | Column) -> tuple[Column, ...]:
    return tuple(spec if isinstance(spec, Column) else Column(spec) for spec in specs)


_TIMES = (Column("TARGET_ID", required=True), Column("TIME", "s"),
          Column("MJD", "day", required=True), Column("INT_TIME", "s"))  # fmt: skip

COLUMNS: dict[str, tuple[Column, ...]] = {
    "OI_TARGET": _columns(
        Column("TARGET_ID", required=True),
        Column("TARGET", required=True),
        Column("RAEP0", "deg", required=True),
        Column("DECEP0", "deg", required=True),
        Column("EQUINOX", "yr"),
        Column("RA_ERR", "deg"),
        Column("DEC_ERR", "deg"),
        Column("SYSVEL", "m/s"),
        "VELTYP",
        "VELDEF",
        Column("PMRA", "deg/yr"),
        Column("PMDEC", "deg/yr"),
        Column("PMRA_ERR", "deg/yr"),
        Column("PMDEC_ERR", "deg/yr"),
        Column("PARALLAX", "deg"),
        Column("PARA_ERR", "deg"),
        "SPECTYP",
    ),
    "OI_ARRAY": _columns(
        "TEL_NAME",
        Column("STA_NAME", required=True),
        Column("STA_INDEX", required=True),
        Column("DIAMETER", "m"),
        Column("STAXYZ", "m"),
        Column("FOV", "arcsec", since=2),
        Column("FOVTYPE", since=2),
    ),
    "OI_WAVELENGTH": _columns(Column("EFF_WAVE", "m", required=True), Column("EFF_BAND", "m")),
    "OI_VIS": _columns(
        *_TIMES,
        "VISAMP",
        "VISAMPERR",
        Column("VISPHI", "deg"),
        Column("VISPHIERR", "deg"),
        Column("UCOORD", "m"),
        Column("VCOORD", "m"),
        "STA_INDEX",
        "FLAG",
    ),
    "OI_VIS2": _columns(
        *_TIMES,
        Column("VIS2DATA", required=True),
        "VIS2ERR",
        Column("UCOORD", "m"),
        Column("VCOORD", "m"),
        "STA_INDEX",
        "FLAG",
    ),
    "OI_T3": _columns(
        *_TIMES,
        "T3AMP",
        "T3AMPERR",
        Column("T3PHI", "deg"),
        Column("T3PHIERR", "deg"),
        Column("U1COORD", "m"),
        Column("V1COORD", "m"),
        Column("U2COORD", "m"),
        Column("V2COORD", "m"),
        "STA_INDEX",
        "FLAG",
    ),
    # OIFITS 2 only; drafts of it named the flux column FLUX (read as an alias).
    "OI_FLUX": _columns(
        Column("TARGET_ID", required=True),
        Column("MJD", "day", required=True),
        Column("INT_TIME", "s"),
        "FLUXERR",
        "FLAG",
    ),
}

#: Header keywords: (name, required). A missing required keyword rejects the file.
KEYWORDS: dict[str, tuple[tuple[str, bool], ...]] = {
    "OI_TARGET": (("OI_REVN", False),),
    "OI_ARRAY": (("OI_REVN", False), ("ARRNAME", True), ("FRAME", False)),
    "OI_WAVELENGTH": (("OI_REVN", False), ("INSNAME", True)),
    "OI_VIS": (("OI_REVN", False), ("DATE-OBS", False), ("INSNAME", True)),
    "OI_VIS2": (("OI_REVN", False), ("DATE-OBS", False), ("INSNAME", True)),
    "OI_T3": (("OI_REVN", False), ("DATE-OBS", False), ("INSNAME", True)),
    "OI_FLUX": (("OI_REVN", False), ("DATE-OBS", False), ("INSNAME", True)),
}

_UNIT_SPELLINGS = {
    "s": {"s", "sec", "second", "seconds"},
    "day": {"day", "days", "d", "mjd"},
    "m": {"m", "meter", "meters", "metre", "metres"},
    "deg": {"deg", "degree", "degrees"},
    "yr": {"yr", "year", "years", "a"},
    "m/s": {"m/s", "m s-1", "m.s-1", "m/sec"},
    "deg/yr": {"deg/yr", "deg/year", "deg yr-1", "deg/a", "deg.yr-1"},
    "arcsec": {"arcsec", "arcsecond", "arcseconds"},
}


def same_unit(expected: str, given: str) -> bool:
    return given.strip().lower() in _UNIT_SPELLINGS.get(expected, {expected})

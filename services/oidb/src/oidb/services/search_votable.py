"""``search.votable``: the granules of a search as a VOTable, for ASPRO2 and VO tools.

Every matching granule the caller may see, in the search's order (paging is ignored, as the
original did). When all rows come from one instrument (``GRAVITY_SC`` and ``GRAVITY_FT`` are
one: GRAVITY), the table carries the PARAMs ASPRO2 reads to switch its configuration:
``INSTRUMENT``, ``INTERFEROMETER``, ``PERIOD`` (ESO period of the first night),
``CONFIGURATIONS`` (station sets, stations space-separated, sets comma-separated) and
``OPERATION=NEW``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func

from jmmc_core.database import Database
from jmmc_core.votable import Field, Param, VOTableWriter

from ..schema.catalogue import Granule
from ..storage import search as storage
from .access import Caller, reading
from .embargo import mjd_to_datetime
from .search import Search, resolved

#: (column, datatype, unit, UCD, description) of every exported column, in order.
_COLUMNS = (
    ("id", "long", None, "meta.id;meta.main", "OiDB granule identifier"),
    ("obs_publisher_did", "char", None, "meta.ref.ivoid", "Publisher's dataset identifier"),
    ("obs_collection", "char", None, "meta.id", "Collection"),
    ("target_name", "unicodeChar", None, "meta.id;src", "Target name"),
    ("s_ra", "double", "deg", "pos.eq.ra", "Right ascension (ICRS)"),
    ("s_dec", "double", "deg", "pos.eq.dec", "Declination (ICRS)"),
    ("t_min", "double", "d", "time.start;obs.exposure", "Start of the observation (MJD)"),
    ("t_max", "double", "d", "time.end;obs.exposure", "End of the observation (MJD)"),
    ("t_exptime", "double", "s", "time.duration;obs.exposure", "Exposure time"),
    ("em_min", "double", "m", "em.wl;stat.min", "Shortest wavelength"),
    ("em_max", "double", "m", "em.wl;stat.max", "Longest wavelength"),
    ("em_res_power", "double", None, "spect.resolution", "Spectral resolving power"),
    ("facility_name", "char", None, "meta.id;instr.tel", "Interferometer"),
    ("instrument_name", "char", None, "meta.id;instr", "Instrument"),
    ("instrument_mode", "char", None, "meta.id;instr.setup", "Instrument mode"),
    ("interferometer_stations", "char", None, "instr.setup", "Stations, space-separated"),
    ("calib_level", "int", None, "meta.code;obs.calib", "Calibration level (0 to 3)"),
    ("dataproduct_category", "char", None, "meta.code.class", "SCIENCE or CALIB"),
    ("progid", "char", None, "meta.id;obs.proposal", "Programme identifier"),
    ("datapi", "unicodeChar", None, "meta.id.PI", "Data PI"),
    ("nb_channels", "int", None, "meta.number;em.wl", "Spectral channels"),
    ("nb_vis", "int", None, "meta.number", "OI_VIS rows"),
    ("nb_vis2", "int", None, "meta.number", "OI_VIS2 rows"),
    ("nb_t3", "int", None, "meta.number", "OI_T3 rows"),
    ("data_rights", "char", None, "meta.code", "public, secure or proprietary"),
    ("obs_release_date", "char", None, "time.release", "End of the embargo (UTC)"),
    ("access_url", "char", None, "meta.ref.url", "DataLink (files) or archive (level 0) URL"),
    ("access_format", "char", None, "meta.code.mime", "Content type at access_url"),
    ("access_estsize", "long", "kbyte", "phys.size;meta.file", "Size of the file"),
)

FIELDS = tuple(
    Field(
        name,
        datatype,
        "*" if datatype in ("char", "unicodeChar") else None,
        unit=unit,
        ucd=ucd,
        xtype="timestamp" if name == "obs_release_date" else None,
        description=description,
        id=name,
    )
    for name, datatype, unit, ucd, description in _COLUMNS
)
#: DALI timestamps: UTC, ``Z``, milliseconds at most.
_RELEASE_TIMESTAMP = func.to_char(
    func.timezone("UTC", Granule.obs_release_date), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'
)
_SELECTED = tuple(
    _RELEASE_TIMESTAMP if name == "obs_release_date" else getattr(Granule, name)
    for name, *_ in _COLUMNS
)
#: The instrument part of an INSNAME: its leading name, before ``_`` or ``(``.
_FAMILY = re.compile(r"^[A-Za-z][A-Za-z0-9-]*")


def eso_period(night: datetime) -> int:
    """The ESO period of a date: periods start on 1 April and 1 October, period 1 in April
    1968 (calibration programmes such as ``60.A-9801`` carry no period in their id)."""
    half = 0 if night.month < 4 else 1 if night.month < 10 else 2
    return (night.year - 1968) * 2 + half


def instrument_family(name: str) -> str:
    """The instrument an INSNAME belongs to, as ASPRO2 names it: ``GRAVITY_SC`` → ``GRAVITY``,
    ``PIONIER_Pnat(1.52/1.76)`` → ``PIONIER``."""
    match = _FAMILY.match(name)
    return match.group(0).upper() if match else name


def aspro_params(summary: list[dict]) -> tuple[Param, ...]:
    """The PARAMs ASPRO2 switches its configuration with, when one instrument is returned."""
    if not summary or any(row["instrument_name"] is None for row in summary):
        return ()
    instruments = {instrument_family(row["instrument_name"]) for row in summary}
    if len(instruments) != 1:
        return ()
    facilities = sorted({row["facility_name"] for row in summary if row["facility_name"]})
    # Stations are space-separated for ASPRO2, whichever way the file wrote them (A0-G1-J2-K0).
    configurations = [
        " ".join(row["interferometer_stations"].replace("-", " ").split())
        for row in summary
        if row["interferometer_stations"]
    ]
    nights = [row["t_min"] for row in summary if row["t_min"] is not None]
    period = eso_period(mjd_to_datetime(min(nights))) if nights else None
    values = {
        "INSTRUMENT": instruments.pop(),
        "INTERFEROMETER": ",".join(facilities),
        "PERIOD": "" if period is None else str(period),
        "CONFIGURATIONS": ",".join(sorted(set(configurations))),
        "OPERATION": "NEW",
    }
    return tuple(Param(name, "char", "*", id=name, value=value) for name, value in values.items())


def votable_document(database: Database, caller: Caller, wanted: Search) -> Iterator[bytes]:
    """The document as byte chunks; the database is read once iteration starts."""
    wanted = resolved(database, wanted)
    with reading(database, caller) as session:
        params = aspro_params(storage.instrument_summary(session, wanted.criteria))
        writer = VOTableWriter(
            FIELDS,
            params=params,
            resource_name="oidb",
            table_name="granules",
            table_description="OiDB granules matching the search",
        )
        rows = storage.search_rows(session, _SELECTED, wanted.criteria, wanted.ordering)
        try:
            yield from writer.iter_bytes(rows)
        finally:
            rows.close()

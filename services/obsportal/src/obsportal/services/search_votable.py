"""The VOTable contract of ``search.votable`` and the exports, as the original service answered.

Field names, datatypes and UCDs are those of the original answers (the golden files that
ASPRO2 keeps in its tests): the short set is the one ASPRO2 asks for (``all_fields=false``),
the full set the one OiDB harvests. In the short set, ``obs_id`` and ``target_id`` are text,
as the original sent them; the full set types them ``int``. Units are declared wherever the
newest original declared one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import Engine

from jmmc_core.delimited import DelimitedWriter
from jmmc_core.tap_publishing import TableDeclaration
from jmmc_core.votable import DatabaseSelect, Field, Param, VOTableWriter

from ..schema.published import EXPOSURES, PROGRAMS, VALIDATION_LEVEL_MEANING
from ..storage.search import (
    COLUMNS,
    NAN_IF_NULL,
    SearchCriteria,
    last_modification,
    search_rows,
)

#: Output formats of the exports.
SERIALIZATIONS = ("tabledata", "binary2")
#: Bytes per chunk handed to the HTTP server. The writer sizes its row batches from it (4x), so
#: larger chunks cost memory per export, for a speed gain lost in this machine's noise.
CHUNK_SIZE = 256 * 1024


@dataclass(frozen=True)
class Column:
    """One output column: its VOTable field and the storage column that feeds it."""

    field: Field
    source: str

    @property
    def csv_expression(self) -> str:
        return COLUMNS[self.source]

    @property
    def votable_expression(self) -> str:
        """A missing double leaves as ``NaN`` in a VOTable, as the original wrote it; CSV
        keeps an empty cell."""
        if self.field.datatype != "double":
            return self.csv_expression
        return COLUMNS[f"{self.source}{NAN_IF_NULL}"]


def _text(
    name: str, ucd: str | None = None, source: str | None = None, unit: str | None = None
) -> Column:
    return Column(Field.unicode_text(name, ucd=ucd, unit=unit, id=name), source or name)


def _double(name: str, ucd: str | None = None, unit: str | None = None) -> Column:
    return Column(Field(name, "double", unit=unit, ucd=ucd, id=name), name)


def _int(name: str, ucd: str | None = None, unit: str | None = None) -> Column:
    return Column(Field(name, "int", ucd=ucd, unit=unit, id=name), name)


def _published(declaration: TableDeclaration, column: str) -> dict[str, str | None]:
    """UCD and unit as TAP publishes the column, for the fields where the original agrees."""
    metadata = declaration.columns[column]
    return {"ucd": metadata.ucd, "unit": metadata.unit}


_COLUMNS = {
    column.field.name: column
    for column in (
        _text("exp_id", "meta.id"),
        _text("exp_header", "meta.id", source="exp_header_id"),
        _text("exp_header_id", "meta.id"),
        _double("exp_mjd_start", **_published(EXPOSURES, "mjd_start")),
        _double("exp_mjd_end", **_published(EXPOSURES, "mjd_end")),
        _text("exp_projected_baselines", **_published(EXPOSURES, "projected_baselines_text")),
        Column(
            Field(
                "exp_validation_level",
                "int",
                id="exp_validation_level",
                description=VALIDATION_LEVEL_MEANING,
                **_published(EXPOSURES, "validation_level"),
            ),
            "exp_validation_level",
        ),
        _text("exp_validation_log"),
        _double("exp_tau0", "time.processing", "s"),
        _double("exp_temperature", "phys.temperature", "deg"),
        _double("exp_seeing", "instr.obsty.seeing", "as"),
        _text("exp_date_updated", **_published(EXPOSURES, "date_updated")),
        _text("exp_date_release", "time.release;obs"),
        _text("obs_type", "meta.id;class"),
        _text("obs_program", "meta.id"),
        _text("obs_program_title", **_published(PROGRAMS, "title")),
        _text("obs_program_pi_coi", **_published(PROGRAMS, "pi_coi")),
        _text("interferometer_name", "meta.id"),
        _text("interferometer_stations"),
        _text("instrument_name", **_published(EXPOSURES, "instrument_name")),
        _text("instrument_mode", **_published(EXPOSURES, "instrument_mode")),
        _text("instrument_submode", **_published(EXPOSURES, "instrument_submode")),
        _double("instrument_em_min", **_published(EXPOSURES, "em_min")),
        _double("instrument_em_max", **_published(EXPOSURES, "em_max")),
        _double("instrument_em_res_power", **_published(EXPOSURES, "em_res_power")),
        _text("target_name", "meta.id;meta.main"),
        _double("target_ra", **_published(EXPOSURES, "target_ra")),
        _double("target_dec", **_published(EXPOSURES, "target_dec")),
    )
}
_OBS_ID_TEXT = _text("obs_id", "meta.id", source="obs_id_text")
_OBS_ID = _int("obs_id", "meta.id")
_TARGET_ID_TEXT = _text("target_id", "meta.id", source="target_id_text")
_TARGET_ID = _int("target_id", "meta.id")


def _pick(*names: str | Column) -> tuple[Column, ...]:
    return tuple(_COLUMNS[name] if isinstance(name, str) else name for name in names)


#: ``all_fields=false``: what ASPRO2 reads.
SHORT_COLUMNS = _pick(
    "exp_id",
    "exp_header",
    "exp_mjd_start",
    "exp_mjd_end",
    "exp_projected_baselines",
    "exp_validation_level",
    "exp_tau0",
    "exp_temperature",
    "exp_seeing",
    _OBS_ID_TEXT,
    "obs_type",
    "obs_program",
    "interferometer_name",
    "interferometer_stations",
    "instrument_name",
    "instrument_mode",
    "instrument_submode",
    _TARGET_ID_TEXT,
    "target_name",
    "target_ra",
    "target_dec",
)

#: ``all_fields=true`` and the exports: what OiDB harvests.
ALL_COLUMNS = _pick(
    "exp_id",
    "exp_header_id",
    "exp_mjd_start",
    "exp_mjd_end",
    "exp_projected_baselines",
    "exp_validation_level",
    "exp_validation_log",
    "exp_tau0",
    "exp_temperature",
    "exp_seeing",
    "exp_date_updated",
    "exp_date_release",
    _OBS_ID,
    "obs_type",
    "obs_program",
    "obs_program_title",
    "obs_program_pi_coi",
    "interferometer_name",
    "interferometer_stations",
    "instrument_name",
    "instrument_mode",
    "instrument_submode",
    "instrument_em_min",
    "instrument_em_max",
    "instrument_em_res_power",
    _TARGET_ID,
    "target_name",
    "target_ra",
    "target_dec",
)


def columns_for(all_fields: bool) -> tuple[Column, ...]:
    return ALL_COLUMNS if all_fields else SHORT_COLUMNS


def format_last_modified(moment: datetime | None) -> str:
    """``2022-01-14 10:40:32+00:00``, the original's form (empty for an empty catalogue)."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")


def portal_params(last_modified: datetime | None) -> tuple[Param, ...]:
    """The original's table PARAMs ``status`` and ``last_mod_date``."""
    return (
        Param("status", "unicodeChar", "*", id="status", value="OK"),
        Param(
            "last_mod_date",
            "unicodeChar",
            "*",
            id="last_mod_date",
            value=format_last_modified(last_modified),
        ),
    )


#: Texts that are ASCII by construction: FITS header values (ingestion rejects other bytes),
#: the baselines formatted at ingestion, dates formatted by PostgreSQL, ids. BINARY2 declares
#: them ``char``: as ``unicodeChar`` they would travel as UTF-16, two bytes per character.
_ASCII_TEXTS = frozenset(
    {
        "exp_id",
        "exp_header",
        "exp_header_id",
        "exp_projected_baselines",
        "exp_date_updated",
        "exp_date_release",
        "obs_id",
        "obs_type",
        "obs_program",
        "interferometer_name",
        "interferometer_stations",
        "instrument_name",
        "instrument_mode",
        "instrument_submode",
        "target_id",
    }
)


def _serialized_field(column: Column, serialization: str) -> Field:
    field = column.field
    ascii_text = field.datatype == "unicodeChar" and field.name in _ASCII_TEXTS
    if ascii_text and serialization == "binary2":
        return replace(field, datatype="char")
    return field


@lru_cache(maxsize=64)
def votable_writer(
    columns: tuple[Column, ...], params: tuple[Param, ...] = (), serialization: str = "tabledata"
) -> VOTableWriter:
    """A writer per field set, PARAM values and serialization (writers are reusable)."""
    return VOTableWriter(
        [_serialized_field(column, serialization) for column in columns],
        params=params,
        serialization=serialization,
        chunk_size=CHUNK_SIZE,
    )


@lru_cache(maxsize=64)
def _database_select(
    columns: tuple[Column, ...], params: tuple[Param, ...], serialization: str
) -> DatabaseSelect:
    """The SELECT list with which PostgreSQL writes the numeric values of an answer."""
    writer = votable_writer(columns, params, serialization)
    return writer.database_select([column.votable_expression for column in columns])


def _rows(engine: Engine, criteria: SearchCriteria, expressions: Sequence[str]) -> Iterator[tuple]:
    """The rows, with the query already sent: a database failure raises here, before the
    document starts and while the handler can still answer with an error status."""
    rows = search_rows(engine, expressions, criteria)
    return _resumed(next(rows, None), rows)


def _resumed(first: tuple | None, rows: Iterator[tuple]) -> Iterator[tuple]:
    try:
        if first is not None:
            yield first
            yield from rows
    finally:
        rows.close()


#: How long a process reuses the catalogue's last modification date (seconds).
LAST_MODIFIED_TTL = 2.0
_last_modified: dict[int, tuple[float, datetime | None]] = {}


def _last_modified_date(engine: Engine) -> datetime | None:
    """``last_mod_date``, read at most every :data:`LAST_MODIFIED_TTL` seconds: it changes
    once per ingestion, and cone searches should not pay a query for it each time."""
    now = time.monotonic()
    cached = _last_modified.get(id(engine))
    if cached is None or now - cached[0] > LAST_MODIFIED_TTL:
        cached = _last_modified[id(engine)] = (now, last_modification(engine))
    return cached[1]


def votable_document(
    engine: Engine,
    criteria: SearchCriteria,
    columns: tuple[Column, ...],
    serialization: str = "tabledata",
    metadata_only: bool = False,
    with_portal_params: bool = True,
) -> Iterator[bytes]:
    """The answer as byte chunks; the database is only queried once iteration starts."""
    params = portal_params(_last_modified_date(engine)) if with_portal_params else ()
    writer = votable_writer(columns, params, serialization)
    if metadata_only:
        yield from writer.iter_bytes(())
        return
    select = _database_select(columns, params, serialization)
    rows = _rows(engine, criteria, select.expressions)
    try:
        yield from select.iter_bytes(rows)
    finally:
        rows.close()


@lru_cache(maxsize=8)
def _csv_select(columns: tuple[Column, ...]) -> DatabaseSelect:
    """The SELECT list with which PostgreSQL writes the numeric cells of a CSV answer."""
    writer = DelimitedWriter(
        [column.field.name for column in columns], line_terminator="\n", chunk_size=CHUNK_SIZE
    )
    return writer.database_select(
        [column.csv_expression for column in columns],
        [column.field.datatype for column in columns],
    )


def csv_document(
    engine: Engine, criteria: SearchCriteria, columns: tuple[Column, ...]
) -> Iterator[bytes]:
    """CSV with a header line, nulls as empty cells (lines end with a line feed, as they always
    did here)."""
    select = _csv_select(columns)
    rows = _rows(engine, criteria, select.expressions)
    try:
        yield from select.iter_bytes(rows)
    finally:
        rows.close()

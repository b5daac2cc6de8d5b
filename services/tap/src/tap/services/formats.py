"""TAP output formats: what a RESPONSEFORMAT (or the older FORMAT) value asks for, what the
capabilities declare, and the streaming writers behind them.

Accepted values, case-insensitive:

* VOTable: ``votable`` (the default, VOTable 1.4 BINARY2), ``votable/td``, ``votable/b``,
  ``votable/b2``, ``application/x-votable+xml``, ``text/xml``; any of them with the media-type
  parameters ``;serialization=TABLEDATA|BINARY|BINARY2`` and ``;version=1.1|1.2|1.3|1.4``
  (``application/x-votable+xml;serialization=TABLEDATA;version=1.2``). The short aliases also
  take the version as a suffix (``votable/td1.2``). Without a serialization a VOTable is
  BINARY2, or BINARY for versions 1.1 and 1.2, which have no BINARY2.
* CSV: ``csv``, ``text/csv`` (``;header=present`` allowed); TSV: ``tsv``,
  ``text/tab-separated-values``. Both also accept ``;charset=utf-8``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from jmmc_core.delimited import CSV_MEDIA_TYPE, TSV_MEDIA_TYPE, DelimitedWriter
from jmmc_core.errors import InvalidParameter
from jmmc_core.votable import VOTABLE_MEDIA_TYPE, Field, Info, VOTableWriter

__all__ = ["DECLARED_FORMATS", "DEFAULT_FORMAT", "DeclaredFormat", "OutputFormat", "output_format"]

PARAMETER = "RESPONSEFORMAT"
VOTABLE_VERSIONS = ("1.1", "1.2", "1.3", "1.4")
DEFAULT_VOTABLE_VERSION = "1.4"
#: Bytes per chunk handed to the HTTP server or the result file; the VOTable writer sizes its
#: row batches from it, like obsportal's exports.
CHUNK_SIZE = 256 * 1024

_TAPREGEXT = "ivo://ivoa.net/std/TAPRegExt"
_SHORT_SERIALIZATIONS = {"td": "tabledata", "b": "binary", "b2": "binary2"}
_SHORT_VOTABLE = re.compile(r"votable(?:/(td|b2|b)(1\.\d+)?)?")
_VOTABLE_TYPES = (VOTABLE_MEDIA_TYPE, "text/xml")
_CSV_NAMES = ("csv", "text/csv")
_TSV_NAMES = ("tsv", "text/tab-separated-values")
_ACCEPTED = (
    "votable (VOTable 1.4 BINARY2, the default), votable/td, votable/b, votable/b2, "
    "application/x-votable+xml, text/xml (with ;serialization=TABLEDATA|BINARY|BINARY2 and "
    ";version=1.1|1.2|1.3|1.4 if wanted), csv, text/csv, tsv, text/tab-separated-values"
)


@dataclass(frozen=True)
class DeclaredFormat:
    """An ``outputFormat`` of the TAPRegExt capabilities."""

    mime: str
    aliases: tuple[str, ...] = ()
    ivo_id: str | None = None


@dataclass(frozen=True)
class OutputFormat:
    """One answer format: its media type, its result file extension and its writer."""

    media_type: str
    extension: str
    #: ``tabledata``, ``binary``, ``binary2`` (VOTable), ``csv`` or ``tsv``.
    serialization: str
    #: The VOTable version (VOTable serializations only).
    version: str | None = None

    @property
    def is_votable(self) -> bool:
        return self.extension == "vot"

    def write(
        self,
        fields: Sequence[Field],
        rows: Iterable[Sequence[Any]],
        *,
        max_records: int | None = None,
        infos: Sequence[Info] = (),
        table_name: str | None = None,
    ) -> Iterator[bytes]:
        """The answer as byte chunks, rows pulled lazily (at most ``max_records`` written).

        A VOTable carries ``QUERY_STATUS`` OK, OVERFLOW after a truncated table, or ERROR after
        a table whose rows failed mid-stream. CSV and TSV have no place for a status: they are
        only cut at ``max_records``, and a mid-stream failure raises (an incomplete transfer).
        """
        if not self.is_votable:
            writer = DelimitedWriter(
                [field.name for field in fields],
                delimiter="," if self.serialization == "csv" else "\t",
                chunk_size=CHUNK_SIZE,
            )
            return writer.iter_bytes(rows, max_records=max_records)
        votable = VOTableWriter(
            fields,
            infos=infos,
            table_name=table_name,
            version=self.version or DEFAULT_VOTABLE_VERSION,
            serialization=self.serialization,
            chunk_size=CHUNK_SIZE,
        )
        return votable.iter_bytes(rows, max_records=max_records)


def _votable(
    serialization: str, version: str, media_type: str = VOTABLE_MEDIA_TYPE
) -> OutputFormat:
    if media_type == VOTABLE_MEDIA_TYPE:
        media_type = f"{VOTABLE_MEDIA_TYPE};serialization={serialization.upper()}"
    return OutputFormat(media_type, "vot", serialization, version)


DEFAULT_FORMAT = _votable("binary2", DEFAULT_VOTABLE_VERSION)
_CSV = OutputFormat(CSV_MEDIA_TYPE, "csv", "csv")
_TSV = OutputFormat(TSV_MEDIA_TYPE, "tsv", "tsv")

#: What the capabilities declare: every serialization, each a format of its own (the VOTable
#: versions are parameters of the same formats).
DECLARED_FORMATS: tuple[DeclaredFormat, ...] = (
    DeclaredFormat(
        DEFAULT_FORMAT.media_type, ("votable", "votable/b2"), f"{_TAPREGEXT}#output-votable-binary2"
    ),
    DeclaredFormat(
        _votable("binary", DEFAULT_VOTABLE_VERSION).media_type,
        ("votable/b",),
        f"{_TAPREGEXT}#output-votable-binary",
    ),
    DeclaredFormat(
        _votable("tabledata", DEFAULT_VOTABLE_VERSION).media_type,
        ("votable/td",),
        f"{_TAPREGEXT}#output-votable-td",
    ),
    # TAPRegExt 1.0 defines no identifiers for CSV and TSV (taplint rejects made-up ones).
    DeclaredFormat(CSV_MEDIA_TYPE, ("csv",)),
    DeclaredFormat(TSV_MEDIA_TYPE, ("tsv",)),
)

#: Every media type a query result may carry (without parameters), for the API's documentation.
RESULT_MEDIA_TYPES = (
    VOTABLE_MEDIA_TYPE,
    "text/xml",
    CSV_MEDIA_TYPE.split(";")[0],
    TSV_MEDIA_TYPE.split(";")[0],
)


def _media_parameters(text: str, parameter: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        name, equals, value = item.partition("=")
        name = name.strip()
        value = value.strip().strip('"').strip()
        if not equals or not name or not value:
            raise InvalidParameter(
                parameter, f"{item.strip()!r} is not a name=value media-type parameter"
            )
        if name in parameters:
            raise InvalidParameter(parameter, f"the media-type parameter {name!r} is given twice")
        parameters[name] = value
    return parameters


def _check_known(
    parameters: dict[str, str], allowed: dict[str, tuple[str, ...]], parameter: str
) -> None:
    for name, value in parameters.items():
        if name not in allowed:
            raise InvalidParameter(
                parameter,
                f"unknown media-type parameter {name!r}; allowed here: {', '.join(allowed)}",
            )
        if value not in allowed[name]:
            raise InvalidParameter(
                parameter, f"{name}={value!r} is not offered; allowed: {', '.join(allowed[name])}"
            )


def _votable_format(
    base: str, parameters: dict[str, str], parameter: str, short: re.Match[str] | None
) -> OutputFormat:
    _check_known(
        parameters,
        {
            "serialization": ("tabledata", "binary", "binary2"),
            "version": VOTABLE_VERSIONS,
            "charset": ("utf-8",),
        },
        parameter,
    )
    serialization = parameters.get("serialization")
    version = parameters.get("version")
    if short is not None:
        if short.group(1):
            named = _SHORT_SERIALIZATIONS[short.group(1)]
            if serialization is not None and serialization != named:
                raise InvalidParameter(
                    parameter, f"{base!r} is {named.upper()}, not {serialization.upper()}"
                )
            serialization = named
        if short.group(2):
            if short.group(2) not in VOTABLE_VERSIONS:
                raise InvalidParameter(
                    parameter,
                    f"VOTable version {short.group(2)} is not offered; "
                    f"allowed: {', '.join(VOTABLE_VERSIONS)}",
                )
            if version is not None and version != short.group(2):
                raise InvalidParameter(
                    parameter, f"{base!r} is VOTable {short.group(2)}, not {version}"
                )
            version = short.group(2)
    version = version or DEFAULT_VOTABLE_VERSION
    early = version in ("1.1", "1.2")
    if serialization is None:
        serialization = "binary" if early else "binary2"
    if serialization == "binary2" and early:
        raise InvalidParameter(
            parameter,
            f"BINARY2 needs VOTable 1.3 or later; VOTable {version} offers TABLEDATA and BINARY",
        )
    return _votable(
        serialization, version, "text/xml" if base == "text/xml" else VOTABLE_MEDIA_TYPE
    )


def output_format(value: str | None, parameter: str = PARAMETER) -> OutputFormat:
    """The format a RESPONSEFORMAT/FORMAT value asks for (``parameter`` names it in errors);
    ``None`` or an empty value is the default, VOTable 1.4 BINARY2."""
    if value is None or not value.strip():
        return DEFAULT_FORMAT
    base, _, rest = value.strip().lower().partition(";")
    base = base.strip()
    short = _SHORT_VOTABLE.fullmatch(base)
    if short is None and base not in (*_VOTABLE_TYPES, *_CSV_NAMES, *_TSV_NAMES):
        shown = value if len(value) <= 80 else f"{value[:80]}..."
        raise InvalidParameter(parameter, f"unknown output format {shown!r}; accepted: {_ACCEPTED}")
    parameters = _media_parameters(rest, parameter)
    if short is not None or base in _VOTABLE_TYPES:
        return _votable_format(base, parameters, parameter, short)
    _check_known(parameters, {"header": ("present",), "charset": ("utf-8",)}, parameter)
    return _CSV if base in _CSV_NAMES else _TSV

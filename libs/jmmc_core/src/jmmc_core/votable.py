"""Streaming VOTable writer (VOTable 1.1-1.4, TABLEDATA, BINARY and BINARY2).

Rows come from any iterator of tuples (a list, a generator, a SQLAlchemy server-side cursor)
and leave as an iterator of ``bytes`` chunks, so memory does not grow with the row count.

Rows are read in batches. TABLEDATA formats each batch column by column: converting a whole
column with C-level ``map``/``join``/numpy calls is an order of magnitude faster than formatting
value by value, and slow per-value paths only run for columns that need them (nulls, NaN,
markup characters, non-str values). BINARY and BINARY2 rows are assembled by the C extension
``_binary_rows`` from a plan of the fields (:func:`_plan_item`); values it does not write
itself are handed back to the field's Python rules, so each rule has one home.

Value rules, identical in every serialization unless noted:

* ``None`` is null: an empty ``<TD/>`` (``?`` for booleans) in TABLEDATA, the null flag in
  BINARY2. BINARY has no null flags, so there a null is what the VOTable standard says it is
  for the type: NaN for floats, ``?`` for booleans, the ``VALUES`` sentinel for integers, an
  empty string or array for variable-length strings and arrays, NUL padding for fixed-size
  strings. In TABLEDATA and BINARY a null string cannot be told from ``""``.
* Integer columns get ``<VALUES null="..."/>`` where the format needs a sentinel: scalars in
  VOTable 1.1/1.2 (an empty cell is illegal there) and in BINARY (no null flags), and integer
  arrays (for ``None`` elements). The sentinel is ``Field.null`` or the smallest value of the
  type (255 for unsignedByte).
* Floats: NaN is ``NaN``, infinities are ``+Inf``/``-Inf``; values are written as the shortest
  text that reads back to the same double (``double``) or float32 (``float``), as Python's
  ``repr`` writes them.
* Values PostgreSQL writes (:meth:`VOTableWriter.database_select`): each run of adjacent
  scalar ``double`` and integer fields can be one SELECT expression that PostgreSQL writes by
  the rules above (TABLEDATA cells, or BINARY/BINARY2 values with their null flags), while
  this process writes the rest of the document. The output is the same byte for byte.
* Text: characters that XML 1.0 forbids (control characters, lone surrogates, U+FFFE/U+FFFF)
  become U+FFFD; ``char`` columns are ASCII, other characters become ``?``; use
  ``unicodeChar`` for Unicode text (non-BMP characters travel as UTF-16 surrogate pairs).
  Fixed (``N``) and bounded (``N*``) sizes truncate longer strings. ``datetime``/``date``
  values are written in ISO 8601.
* Status (DALI): ``<INFO name="QUERY_STATUS" value="OK"/>`` opens the RESOURCE; when
  ``max_records`` truncates the output, ``QUERY_STATUS=OVERFLOW`` follows ``</TABLE>``. If the row
  iterator (or a value) fails mid-stream, the table is closed, ``QUERY_STATUS=ERROR`` with the
  message follows it, the error is logged, and the document ends well-formed instead of the
  exception propagating: by then the HTTP status has been sent, so a complete document with an
  ERROR status is the only way to tell the client. Rows of the batch being read when the
  failure happened may be missing. VOTable 1.1 allows nothing after a TABLE except a nested
  RESOURCE, so there the trailing status goes into ``<RESOURCE type="meta">``.
* BINARY2 exists from VOTable 1.3 on; asking for it with 1.1/1.2 is a ``ValueError``.
* VOTable 1.2 deprecated COOSYS (1.3 restored it) and validators reject it there, so 1.2 output
  leaves out COOSYS elements and ``ref`` attributes; 1.1 output leaves out ``xtype`` (new in 1.2).
"""

from __future__ import annotations

import datetime
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain, groupby, islice, repeat
from typing import Any

import numpy as np
import pybase64

from . import _binary_rows

__all__ = [
    "INCOMPLETE_RESULT",
    "VOTABLE_MEDIA_TYPE",
    "CooSys",
    "DatabaseSelect",
    "Field",
    "Info",
    "Param",
    "VOTableWriter",
    "error_document",
]

VOTABLE_MEDIA_TYPE = "application/x-votable+xml"

VERSIONS = ("1.1", "1.2", "1.3", "1.4")
SERIALIZATIONS = ("tabledata", "binary", "binary2")
DATATYPES = (
    "boolean",
    "short",
    "int",
    "long",
    "float",
    "double",
    "char",
    "unicodeChar",
    "unsignedByte",
)

_log = logging.getLogger(__name__)

_NAMESPACES = {
    "1.1": ("http://www.ivoa.net/xml/VOTable/v1.1", "http://www.ivoa.net/xml/VOTable/v1.1"),
    "1.2": ("http://www.ivoa.net/xml/VOTable/v1.2", "http://www.ivoa.net/xml/VOTable/v1.2"),
    "1.3": (
        "http://www.ivoa.net/xml/VOTable/v1.3",
        "http://www.ivoa.net/xml/VOTable/VOTable-1.3.xsd",
    ),
    # VOTable 1.4 kept the 1.3 namespace (IVOA note "XML Schema Versioning Policies").
    "1.4": (
        "http://www.ivoa.net/xml/VOTable/v1.3",
        "http://www.ivoa.net/xml/VOTable/VOTable-1.4.xsd",
    ),
}

_INTEGER_DTYPES = {"short": ">i2", "int": ">i4", "long": ">i8", "unsignedByte": "u1"}
_FLOAT_DTYPES = {"float": ">f4", "double": ">f8"}
_DEFAULT_INTEGER_NULLS = {"short": -(2**15), "int": -(2**31), "long": -(2**63), "unsignedByte": 255}

_ARRAYSIZE = re.compile(r"(\*|[1-9][0-9]*\*?)")
_XML_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ILLEGAL_BYTES = np.zeros(256, bool)
_ILLEGAL_BYTES[[*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]] = True
_MARKUP_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\r": "&#13;",
        "\n": "&#10;",
        "\t": "&#9;",
    }
)
_BOOLEAN_TEXT = {True: "T", False: "F", None: "?"}
_BOOLEAN_BYTE = {True: 0x54, False: 0x46, None: 0x3F}  # 'T', 'F', '?'

_FIRST_BATCH_ROWS = 32
_MAX_BATCH_ROWS = 10_000
_DISTINCT_SAMPLE = 32


# --------------------------------------------------------------------------------------
# Public metadata classes


@dataclass(frozen=True)
class Field:
    """Column metadata, declared once and reused for every output (``ref`` names a CooSys)."""

    name: str
    datatype: str
    arraysize: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    xtype: str | None = None
    description: str | None = None
    id: str | None = None
    ref: str | None = None
    null: int | None = None

    def __post_init__(self) -> None:
        if self.datatype not in DATATYPES:
            raise ValueError(
                f"{self.name}: unknown datatype {self.datatype!r}; allowed: {', '.join(DATATYPES)}"
            )
        if self.arraysize is not None and not _ARRAYSIZE.fullmatch(self.arraysize):
            raise ValueError(
                f"{self.name}: arraysize must be None, '*', 'N' or 'N*', not {self.arraysize!r}"
            )
        for attribute in ("id", "ref"):
            value = getattr(self, attribute)
            if value is not None and not _XML_ID.fullmatch(value):
                raise ValueError(f"{self.name}: {attribute} {value!r} is not an XML ID")
        if self.null is not None and self.datatype not in _INTEGER_DTYPES:
            raise ValueError(f"{self.name}: a null sentinel only applies to integer datatypes")

    @classmethod
    def text(cls, name: str, **metadata: Any) -> Field:
        """A variable-length ASCII string column (``char``, ``arraysize="*"``)."""
        return cls(name, "char", "*", **metadata)

    @classmethod
    def unicode_text(cls, name: str, **metadata: Any) -> Field:
        """A variable-length Unicode string column (``unicodeChar``, ``arraysize="*"``)."""
        return cls(name, "unicodeChar", "*", **metadata)


@dataclass(frozen=True)
class Param(Field):
    """A PARAM: a Field with a constant value."""

    value: Any = None


@dataclass(frozen=True)
class Info:
    """An INFO element; ``content`` is its optional text."""

    name: str
    value: str
    content: str = ""
    id: str | None = None


@dataclass(frozen=True)
class CooSys:
    """A COOSYS element; fields point at it with ``Field(ref=...)``."""

    id: str
    system: str = "ICRS"
    equinox: str | None = None
    epoch: str | None = None


# --------------------------------------------------------------------------------------
# XML helpers


def _clean(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def _has_xml_illegal(text: str) -> bool:
    """``_XML_ILLEGAL.search`` at a tenth of the cost: a scan of the UTF-8 bytes in numpy."""
    try:
        encoded = text.encode()
    except UnicodeEncodeError:  # lone surrogates
        return True
    if not encoded:
        return False
    octets = np.frombuffer(encoded, np.uint8)
    if octets.min() < 0x20 and _ILLEGAL_BYTES[octets].any():
        return True
    return not text.isascii() and ("\ufffe" in text or "\uffff" in text)


def _attributes(**attributes: Any) -> str:
    return "".join(
        f' {name}="{_clean(str(value)).translate(_ATTRIBUTE_ESCAPES)}"'
        for name, value in attributes.items()
        if value is not None
    )


def _content(text: str) -> str:
    return _clean(text).translate(_MARKUP_ESCAPES)


def _description(text: str | None) -> str:
    return f"<DESCRIPTION>{_content(text)}</DESCRIPTION>\n" if text else ""


def _info(info: Info) -> str:
    attributes = _attributes(ID=info.id, name=info.name, value=info.value)
    if not info.content:
        return f"<INFO{attributes}/>\n"
    return f"<INFO{attributes}>{_content(info.content)}</INFO>\n"


def _root_open(version: str) -> str:
    namespace, location = _NAMESPACES[version]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VOTABLE version="{version}" xmlns="{namespace}"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:schemaLocation="{namespace} {location}">\n'
    )


def _trailing_infos(infos: Sequence[Info], version: str) -> str:
    text = "".join(map(_info, infos))
    if version == "1.1" and text:
        return f'<RESOURCE type="meta">\n{text}</RESOURCE>\n'
    return text


#: What a client reads when the output failed for a reason not meant for it (that stays in the log).
INCOMPLETE_RESULT = "the server failed while writing the result, which is incomplete"


def _public_message(error: Exception) -> str:
    """A client error (a 4xx ``ServiceError``: a timeout, a bad value) says what happened."""
    from .errors import ServiceError  # errors builds its documents with this module

    if isinstance(error, ServiceError) and error.status < 500:
        return str(error)
    return INCOMPLETE_RESULT


def _check_version(version: str) -> None:
    if version not in VERSIONS:
        raise ValueError(f"unknown VOTable version {version!r}; allowed: {', '.join(VERSIONS)}")


def error_document(message: str, *, version: str = "1.4") -> bytes:
    """A complete VOTable reporting ``message`` as ``QUERY_STATUS=ERROR`` (DALI)."""
    _check_version(version)
    status = Info("QUERY_STATUS", "ERROR", content=message)
    return (
        f'{_root_open(version)}<RESOURCE type="results">\n{_info(status)}</RESOURCE>\n</VOTABLE>\n'
    ).encode()


def scs_error_document(message: str, *, version: str = "1.4") -> bytes:
    """A Simple Cone Search 1.03 error: an INFO named ``Error`` plus the DALI QUERY_STATUS."""
    _check_version(version)
    error = Info("Error", message, id="Error")
    status = Info("QUERY_STATUS", "ERROR")
    return (
        f'{_root_open(version)}<RESOURCE type="results">\n{_info(error)}{_info(status)}'
        "</RESOURCE>\n</VOTABLE>\n"
    ).encode()


# --------------------------------------------------------------------------------------
# Column codecs: format one batch column for TABLEDATA, or say how BINARY/BINARY2 rows hold
# the field's values (a _binary_rows plan item)


# Kinds of BINARY/BINARY2 plan items, as _binary_rows.c numbers them.
(_ITEM_DOUBLE, _ITEM_FLOAT, _ITEM_INTEGER, _ITEM_BOOLEAN, _ITEM_TEXT, _ITEM_RUN, _ITEM_ENCODED) = (
    range(7)
)


def _plan_item(
    kind: int,
    *,
    fields: int = 1,
    width: int = 0,
    limit: int = 0,
    unicode: bool = False,
    null: int = 0,
    encode: Callable[[Any], Any] | None = None,
) -> tuple:
    """How _binary_rows writes one selected value of every row (see _binary_rows.c): ``fields``
    null flags; ``width`` bytes of an integer, a run or a fixed-size text (0: variable size);
    ``limit`` characters kept of a text, or bytes of null flags before a run's values;
    ``null`` the integer written for None; ``encode`` a text value the C code does not write,
    or (``_ITEM_ENCODED``) a batch column, as bytes."""
    return (kind, fields, width, limit, unicode, null, encode)


def _texts_and_joined(column: Sequence[Any]) -> tuple[Sequence[str], str]:
    """The values as str, and their concatenation."""
    try:
        return column, "".join(column)
    except TypeError:  # None or other types
        pass
    texts = ["" if value is None else value for value in column]  # nulls, the common case
    try:
        return texts, "".join(texts)
    except TypeError:
        texts = list(map(_as_text, column))
        return texts, "".join(texts)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _float_text(value: Any) -> str:
    if value is None:
        return ""
    value = float(value)
    if math.isfinite(value):
        return float.__repr__(value)
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def batch_columns(batch: list[Sequence[Any]], width: int, what: str) -> list[list[Any]]:
    """The columns of a batch of rows, which must all hold ``width`` values (one per ``what``)."""
    if set(map(len, batch)) != {width}:
        raise ValueError(f"every row must have {width} values, one per {what}")
    # Strided slices of the flattened batch: on rows from a database cursor (scattered in
    # memory) 40% faster than zip(*batch), which steps through one iterator per row for every
    # column.
    values = list(chain.from_iterable(batch))
    return [values[index::width] for index in range(width)]


def utf8_as_latin1(texts: Sequence[str]) -> list[str]:
    """The UTF-8 encodings of ``texts`` as Latin-1 text, a character per byte: documents made
    of such text and ASCII stay one byte per character however many non-ASCII characters they
    hold, and encode to Latin-1 as a plain copy, where one Greek letter made a whole batch two
    bytes per character and its UTF-8 encoding ten times slower."""
    # One split of the column costs a third less than encoding value by value; texts holding
    # a NUL (which the split would cut) are rare.
    pieces = "\0".join(texts).encode().decode("latin-1").split("\0")
    if len(pieces) == len(texts):
        return pieces
    return list(map(bytes.decode, map(str.encode, texts), repeat("latin-1")))


def format_distinct(
    values: Sequence[Any], format_all: Callable[[Iterable[Any]], Iterable[str]]
) -> list[str]:
    """``format_all(values)`` as a list; a column of mostly repeated values (a target's
    coordinates or name, a setup's wavelengths) formats each distinct value once. A sample
    tells columns of distinct values (times) first, as counting all their values costs a
    sixth of formatting them, for nothing."""
    if 2 * len(set(values[:_DISTINCT_SAMPLE])) > _DISTINCT_SAMPLE:
        return list(format_all(values))
    distinct = dict.fromkeys(values)
    # 0.0 and -0.0 are one dictionary key, but print differently.
    if 2 * len(distinct) > len(values) or 0.0 in distinct:
        return list(format_all(values))
    texts = dict(zip(distinct, format_all(distinct), strict=True))
    return list(map(texts.__getitem__, values))


def _double_reprs(values: Iterable[float]) -> Iterator[str]:
    """Shortest round-trip texts of finite doubles."""
    return map(float.__repr__, values)


def _float32_texts(values: Iterable[Any]) -> list[str]:
    values = list(values)
    # numpy prints the shortest text that round-trips to float32 ("0.1" rather than the
    # double "0.10000000149011612").
    numbers = np.array(values, np.float32)  # None becomes NaN
    texts = numbers.astype(str).tolist()
    for index in np.flatnonzero(~np.isfinite(numbers)).tolist():
        texts[index] = _float_text(values[index])
    return texts


def _as_int(value: Any, null: int | None) -> int:
    if value is None:
        if null is None:
            raise ValueError("None in an integer array needs Field.null")
        return null
    return int(value)


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-be", "surrogatepass")) // 2


class _Codec:
    """Formats batch columns of one field."""

    values_null: int | None = None  # sentinel written as <VALUES null="..."/>
    null_text = ""  # an integer null's TABLEDATA text
    null: int | None = None  # an integer null's BINARY/BINARY2 value

    def tabledata(self, column: Sequence[Any]) -> Iterable[str]:
        raise NotImplementedError

    def value_text(self, value: Any) -> str:
        """One value as unescaped text, for PARAM values."""
        return next(iter(self.tabledata((value,))))

    def binary_item(self) -> tuple:
        """How BINARY/BINARY2 rows hold the field's values (:func:`_plan_item`)."""
        raise NotImplementedError


class _BooleanCodec(_Codec):
    def tabledata(self, column):
        try:
            return list(map(_BOOLEAN_TEXT.__getitem__, column))
        except (KeyError, TypeError):
            return [_BOOLEAN_TEXT[None if value is None else bool(value)] for value in column]

    def binary_item(self):
        return _plan_item(_ITEM_BOOLEAN)


class _IntegerCodec(_Codec):
    def __init__(self, dtype: str, null: int | None, values_null: int | None) -> None:
        self.dtype = np.dtype(dtype)
        self.null = null
        self.values_null = values_null
        self.null_text = "" if values_null is None else str(values_null)

    def tabledata(self, column):
        try:
            return list(map(int.__repr__, column))
        except TypeError:
            null_text = self.null_text
            return [null_text if value is None else str(int(value)) for value in column]

    def binary_item(self):
        return _plan_item(_ITEM_INTEGER, width=self.dtype.itemsize, null=self.null)


class _FloatCodec(_Codec):
    def __init__(self, dtype: str) -> None:
        self.dtype = np.dtype(dtype)

    def tabledata(self, column):
        if self.dtype.itemsize == 4:
            return format_distinct(column, _float32_texts)
        try:
            # NaN and infinities propagate through the sum, so a finite sum means finite values.
            if math.isfinite(sum(column)):
                return format_distinct(column, _double_reprs)
        except TypeError:  # None, or not a float
            pass
        values = np.array(column, float)
        texts = format_distinct(values.tolist(), _double_reprs)
        for index in np.flatnonzero(~np.isfinite(values)).tolist():
            texts[index] = _float_text(column[index])
        return texts

    def binary_item(self):
        return _plan_item(_ITEM_DOUBLE if self.dtype.itemsize == 8 else _ITEM_FLOAT)


class _TextCodec(_Codec):
    def __init__(self, unicode: bool, arraysize: str | None) -> None:
        self.unicode = unicode
        # A missing arraysize means a single character.
        self.limit = int(arraysize.rstrip("*") or 0) or None if arraysize else 1
        self.padded = arraysize is None or not arraysize.endswith("*")

    def _texts(self, column: Sequence[Any]) -> tuple[Sequence[str], str]:
        """Normalized texts and (possibly longer) their concatenation."""
        texts, joined = _texts_and_joined(column)
        if _has_xml_illegal(joined):
            texts = list(map(_clean, texts))
            joined = "".join(texts)
        if not self.unicode and not joined.isascii():
            texts = [t if t.isascii() else t.encode("ascii", "replace").decode() for t in texts]
        if self.limit is not None and texts:
            texts = self._truncated(texts, joined)
        return texts, joined

    def _truncated(self, texts: Sequence[str], joined: str) -> Sequence[str]:
        limit = self.limit
        if self.unicode and not joined.isascii() and max(joined) > "\uffff":
            # Sizes count UTF-16 code units; a cut surrogate pair is dropped whole.
            return [
                t.encode("utf-16-be")[: 2 * limit].decode("utf-16-be", "ignore")
                if _utf16_units(t) > limit
                else t
                for t in texts
            ]
        if max(map(len, texts)) <= limit:
            return texts
        return [t[:limit] for t in texts]

    def tabledata(self, column):
        texts, joined = self._texts(column)
        if "&" in joined or "<" in joined or ">" in joined or "\r" in joined:
            texts = [t.translate(_MARKUP_ESCAPES) for t in texts]
        # Cells leave as their UTF-8 bytes held in Latin-1 text (see VOTableWriter._batches).
        return texts if joined.isascii() else utf8_as_latin1(texts)

    def value_text(self, value):
        return self._texts((value,))[0][0]

    def binary_item(self):
        width = (self.limit * (2 if self.unicode else 1)) if self.padded else 0
        return _plan_item(
            _ITEM_TEXT,
            width=width,
            limit=self.limit or 0,
            unicode=self.unicode,
            encode=self._encoded,
        )

    def _encoded(self, value: Any) -> bytes:
        """One value as BINARY holds it, unpadded: what _binary_rows.c does not write itself."""
        return self._texts((value,))[0][0].encode("utf-16-be" if self.unicode else "ascii")


class _ArrayCodec(_Codec):
    """Numeric and boolean arrays: a None array is null; None elements use the null value."""

    def __init__(self, datatype: str, arraysize: str, null: int | None) -> None:
        self.datatype = datatype
        self.size = None if arraysize.endswith("*") else int(arraysize)
        self.limit = int(arraysize.rstrip("*") or 0) or None
        self.values_null = null
        if datatype == "boolean":
            self.dtype, self.element_text = np.dtype("u1"), _BOOLEAN_TEXT.__getitem__
        elif datatype in _FLOAT_DTYPES:
            self.dtype = np.dtype(_FLOAT_DTYPES[datatype])
            self.element_text = lambda value: "NaN" if value is None else _float_text(value)
        else:
            self.dtype = np.dtype(_INTEGER_DTYPES[datatype])
            self.element_text = lambda value: str(_as_int(value, null))

    def _elements(self, value: Any) -> list[Any]:
        elements = [] if value is None else list(value)
        if self.size is not None:
            if value is None:
                return [None] * self.size
            if len(elements) != self.size:
                raise ValueError(f"expected {self.size} array elements, got {len(elements)}")
        elif self.limit is not None:
            del elements[self.limit :]
        return elements

    def tabledata(self, column):
        element_text = self.element_text
        # A null variable-length array is empty; a null fixed-size one is all null elements.
        variable = self.size is None
        return [
            "" if value is None and variable else " ".join(map(element_text, self._elements(value)))
            for value in column
        ]

    def _binary_elements(self, elements: list[Any]) -> np.ndarray:
        if self.datatype == "boolean":
            return np.array([_BOOLEAN_BYTE[None if e is None else bool(e)] for e in elements])
        if self.dtype.kind == "f":
            return np.array(elements, float)
        return np.array([_as_int(e, self.values_null) for e in elements])

    def binary_item(self):
        return _plan_item(_ITEM_ENCODED, encode=self._encoded)

    def _encoded(self, column: Sequence[Any]) -> list[bytes]:
        """A batch column's arrays as BINARY holds them (length-prefixed if variable)."""
        rows = [self._elements(value) for value in column]
        flat = self._binary_elements(list(chain.from_iterable(rows))).astype(self.dtype)
        data = flat.tobytes()
        width = self.dtype.itemsize
        ends = np.cumsum([len(elements) * width for elements in rows]).tolist()
        starts = [0, *ends[:-1]]
        if self.size is not None:
            return [data[start:end] for start, end in zip(starts, ends, strict=True)]
        return [
            ((end - start) // width).to_bytes(4, "big") + data[start:end]
            for start, end in zip(starts, ends, strict=True)
        ]


def _codec(field: Field, version: str, serialization: str = "tabledata") -> _Codec:
    datatype = field.datatype
    if datatype in ("char", "unicodeChar"):
        return _TextCodec(datatype == "unicodeChar", field.arraysize)
    if datatype in _INTEGER_DTYPES:
        default_null = field.null if field.null is not None else _DEFAULT_INTEGER_NULLS[datatype]
        if field.arraysize is not None:
            return _ArrayCodec(datatype, field.arraysize, default_null)
        # VOTable < 1.3 has no empty integer cells and BINARY no null flags, so there nulls
        # need a declared sentinel.
        needs_sentinel = (
            field.null is not None or version in ("1.1", "1.2") or serialization == "binary"
        )
        values_null = default_null if needs_sentinel else None
        return _IntegerCodec(_INTEGER_DTYPES[datatype], default_null, values_null)
    if field.arraysize is not None:
        return _ArrayCodec(datatype, field.arraysize, None)
    if datatype == "boolean":
        return _BooleanCodec()
    return _FloatCodec(_FLOAT_DTYPES[datatype])


# --------------------------------------------------------------------------------------
# Cells PostgreSQL writes

#: Scalar datatypes whose text cells PostgreSQL writes by this module's rules.
_DATABASE_WRITTEN = frozenset({"double", "short", "int", "long"})
#: A number PostgreSQL wrote with a positive exponent.
_EXPONENT_NUMBER = re.compile(r"-?[0-9.]+e\+[0-9]+")


def _sql_double_text(value: str) -> str:
    """SQL writing the double ``value`` as :func:`_float_text` does, with PostgreSQL printing
    doubles shortest (``extra_float_digits`` 1 or more): its text is ``repr``'s but for
    integral values (``5`` for ``5.0``), infinities and numbers from 1e15 on, which it writes
    with an exponent and not always shortest (:func:`numbers_as_written` writes those again)."""
    # Values with a fraction first: the common case is decided by one test. NaN equals its
    # trunc() in PostgreSQL, as infinities do, and is no smaller than 1e15.
    v = f"({value})::float8"
    return (
        f"CASE WHEN {v} <> trunc({v}) THEN {v}::text WHEN {v} IS NULL THEN ''"
        f" WHEN abs({v}) < 1e15 THEN {v}::text || '.0'"
        f" WHEN {v} = 'Infinity' THEN '+Inf' WHEN {v} = '-Infinity' THEN '-Inf'"
        f" ELSE {v}::text END"
    )


def sql_cell(datatype: str, value: str, null_text: str = "") -> str | None:
    """SQL writing ``value`` as the text cell of a scalar ``datatype`` field (``null_text``
    for an integer null), or None for datatypes PostgreSQL does not write."""
    if datatype == "double":
        return _sql_double_text(value)
    if datatype in _DATABASE_WRITTEN:
        return f"coalesce(({value})::text, '{null_text}')"  # null_text: digits or nothing
    return None


def database_select_list(
    cells: Sequence[str | None],
    expressions: Sequence[str],
    formats: Sequence[Any],
    run: Callable[[list[int]], tuple[str, Any]],
) -> tuple[tuple[str, ...], list[Any]]:
    """The SELECT list of a table some of whose values PostgreSQL writes (``cells``: their SQL,
    None for the others), and how the writer formats each selected value: every run of
    adjacent written values is one expression, with its format, from ``run(positions)``;
    every other value is its own ``expressions`` item, formatted by its ``formats`` item."""
    selected: list[str] = []
    selected_formats: list[Any] = []
    for written, group in groupby(range(len(cells)), key=lambda index: cells[index] is not None):
        if written:
            sql, format_ = run(list(group))
            selected.append(sql)
            selected_formats.append(format_)
        else:
            for index in group:
                selected.append(expressions[index])
                selected_formats.append(formats[index])
    return tuple(selected), selected_formats


def sql_joined(cells: Sequence[str], separator: str) -> str:
    """SQL of text ``cells`` (never null, see :func:`sql_cell`) joined by ``separator``.

    With ``||``: concat() passes every argument through the text output function, and cost
    PostgreSQL a tenth more CPU time for obsportal's CSV export of 300,000 rows (2.28 s
    against 2.04 s)."""
    return "(" + f" || '{separator}' || ".join(cells) + ")"


def _sql_binary_cell(field: Field, value: str, null: int | None) -> str | None:
    """SQL of a scalar numeric value in binary (big-endian, as PostgreSQL sends it), a null
    as the writer encodes it (NaN, or the integer ``null``), or None for other fields."""
    if field.arraysize is not None:
        return None
    if field.datatype == "double":
        return f"coalesce(float8send(({value})::float8), '\\x7ff8000000000000'::bytea)"
    if field.datatype in ("short", "int", "long"):
        kind = {"short": "int2", "int": "int4", "long": "int8"}[field.datatype]
        return f"{kind}send(coalesce(({value})::{kind}, ({null})::{kind}))"
    return None


def _sql_null_bits(values: Sequence[str]) -> str:
    """SQL of the BINARY2 null flags of ``values``, a bit per value from the highest."""
    flags = []
    for start in range(0, len(values), 8):
        bits = " + ".join(
            f"(({value}) IS NULL)::int * {128 >> bit}"
            for bit, value in enumerate(values[start : start + 8])
        )
        flags.append(f"set_byte('\\x00'::bytea, 0, {bits})")
    return " || ".join(flags)


def numbers_as_written(column: Sequence[str]) -> Sequence[str]:
    """Runs of text cells PostgreSQL wrote (:func:`database_select_list`), with its texts of
    numbers from 1e15 on written again as ``repr`` writes them: the runs hold only numbers,
    so every ``e+`` belongs to one of those."""
    if "e+" not in "".join(column):
        return column
    return [
        _EXPONENT_NUMBER.sub(lambda number: _float_text(float(number[0])), text) for text in column
    ]


class _DatabaseRunCodec(_Codec):
    """A run of adjacent numeric cells PostgreSQL wrote: TABLEDATA cells, or BINARY/BINARY2
    values of ``width`` bytes (``null_bytes`` of BINARY2 null flags first)."""

    def __init__(self, fields: int = 1, width: int = 0, null_bytes: int = 0) -> None:
        self.fields = fields
        self.width = width
        self.null_bytes = null_bytes

    def tabledata(self, column):
        return numbers_as_written(column)

    def binary_item(self):
        return _plan_item(_ITEM_RUN, fields=self.fields, width=self.width, limit=self.null_bytes)


@dataclass(frozen=True)
class DatabaseSelect:
    """The SELECT list of a table in which PostgreSQL writes the numeric values.

    Each run of adjacent scalar ``double`` and integer fields is one expression: the run's text
    cells joined by their separator, or its values in binary, BINARY2 null flags first; every
    other field is its own expression, formatted by the writer. PostgreSQL writes those values
    on its own core while this process writes the rest: for obsportal's 29-column export of
    300,000 rows in TABLEDATA, the Python process's CPU time fell from 2.2 s to 1.3 s for
    0.25 s more of PostgreSQL's. The output is the same byte for byte. The connection must
    print doubles shortest (``extra_float_digits`` 1 or more, PostgreSQL's default since
    version 12).
    """

    #: SQL expressions to SELECT, in this order; rows fed to :meth:`iter_bytes` hold their values.
    expressions: tuple[str, ...]
    _write: Callable[[Iterable[Any], int | None], Iterator[bytes]]

    def iter_bytes(self, rows: Iterable[Any], max_records: int | None = None) -> Iterator[bytes]:
        """The document, as the writer writes it from whole rows."""
        return self._write(rows, max_records)


# --------------------------------------------------------------------------------------
# BINARY and BINARY2 base64 streaming


class _Base64Stream:
    """Incremental base64, a line per batch; carries the bytes that do not fill a 3-byte group.

    Lines are not cut to 76 characters: readers ignore whitespace in base64 STREAMs (astropy
    writes a single line), and re-laying the text into short lines would copy all of it again.
    """

    def __init__(self) -> None:
        self._rest = b""

    def encode(self, data: bytes) -> tuple[bytes, ...]:
        """The base64 of the carried bytes and ``data``, in pieces ending with a newline."""
        # The carried bytes and the first bytes of ``data`` make a group of their own, so that
        # the rest of ``data`` is encoded where it lies instead of being copied behind them.
        head_size = min(-len(self._rest) % 3, len(data))
        head = self._rest + data[:head_size]
        if len(head) % 3:
            self._rest = head
            return ()
        body = memoryview(data)[head_size:]
        usable = len(body) - len(body) % 3
        self._rest = bytes(body[usable:])
        return pybase64.b64encode(head), pybase64.b64encode(body[:usable]), b"\n"

    def close(self) -> bytes:
        rest, self._rest = self._rest, b""
        return pybase64.b64encode(rest) + b"\n" if rest else b""


# --------------------------------------------------------------------------------------
# The writer


class VOTableWriter:
    """Writes one results table; reusable for any number of ``iter_bytes`` calls."""

    def __init__(
        self,
        fields: Sequence[Field],
        *,
        resource_name: str | None = None,
        resource_description: str | None = None,
        table_name: str | None = None,
        table_description: str | None = None,
        params: Sequence[Param] = (),
        infos: Sequence[Info] = (),
        coosys: Sequence[CooSys] = (),
        version: str = "1.4",
        serialization: str = "tabledata",
        chunk_size: int = 65536,
    ) -> None:
        _check_version(version)
        serialization = serialization.lower()
        if serialization not in SERIALIZATIONS:
            raise ValueError(
                f"unknown VOTable serialization {serialization!r}; "
                f"allowed: {', '.join(SERIALIZATIONS)}"
            )
        if serialization == "binary2" and version in ("1.1", "1.2"):
            raise ValueError(
                f"BINARY2 needs VOTable 1.3 or later; allowed for {version}: tabledata, binary"
            )
        if not fields:
            raise ValueError("a VOTable needs at least one field")
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        ids = [item.id for item in (*fields, *params, *infos, *coosys) if item.id is not None]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate XML IDs among {ids}")
        known_refs = {system.id for system in coosys}
        for item in (*fields, *params):
            if item.ref is not None and item.ref not in known_refs:
                raise ValueError(f"{item.name}: ref {item.ref!r} names no COOSYS")
        self.version = version
        self.serialization = serialization
        self.chunk_size = chunk_size
        self._fields = tuple(fields)
        self._codecs = [_codec(field, version, serialization) for field in fields]
        status = Info("QUERY_STATUS", "OK")
        systems = "".join(
            f"<COOSYS{_attributes(ID=s.id, equinox=s.equinox, epoch=s.epoch, system=s.system)}/>\n"
            for s in coosys
            if version != "1.2"  # 1.2 deprecated COOSYS (validators reject it); 1.3 restored it
        )
        columns = "".join(
            self._field_text("FIELD", field, codec, None)
            for field, codec in zip(self._fields, self._codecs, strict=True)
        )
        if serialization == "tabledata":
            data_open = "<TABLEDATA>\n"
        else:
            data_open = f'<{serialization.upper()}>\n<STREAM encoding="base64">\n'
        self._header = (
            f"{_root_open(version)}"
            f'<RESOURCE type="results"{_attributes(name=resource_name)}>\n'
            f"{_description(resource_description)}"
            f"{''.join(map(_info, (status, *infos)))}"
            f"{systems}"
            f"{''.join(map(self._param_text, params))}"
            f"<TABLE{_attributes(name=table_name)}>\n"
            f"{_description(table_description)}"
            f"{columns}"
            f"<DATA>\n{data_open}"
        )

    # -- header ------------------------------------------------------------------------

    def _field_text(self, element: str, field: Field, codec: _Codec, value: str | None) -> str:
        attributes = _attributes(
            name=field.name,
            ID=field.id,
            datatype=field.datatype,
            arraysize=field.arraysize,
            unit=field.unit,
            ucd=field.ucd,
            utype=field.utype,
            xtype=field.xtype if self.version != "1.1" else None,  # xtype came with 1.2
            ref=field.ref if self.version != "1.2" else None,
            value=value,
        )
        children = _description(field.description)
        if codec.values_null is not None:
            children += f'<VALUES null="{codec.values_null}"/>\n'
        if not children:
            return f"<{element}{attributes}/>\n"
        return f"<{element}{attributes}>\n{children}</{element}>\n"

    def _param_text(self, param: Param) -> str:
        codec = _codec(param, self.version)
        return self._field_text("PARAM", param, codec, codec.value_text(param.value))

    def database_select(self, expressions: Sequence[str]) -> DatabaseSelect:
        """The SELECT list that lets PostgreSQL write the numeric values (see
        :class:`DatabaseSelect`); ``expressions`` are SQL values, one per field, and those of
        ``double`` fields are double precision."""
        if len(expressions) != len(self._fields):
            raise ValueError(f"expected {len(self._fields)} expressions, one per field")
        fields = list(zip(self._fields, self._codecs, expressions, strict=True))
        if self.serialization == "tabledata":
            cells = [
                None if field.arraysize else sql_cell(field.datatype, expression, codec.null_text)
                for field, codec, expression in fields
            ]

            def run(group: list[int]) -> tuple[str, _Codec]:
                return sql_joined(
                    [cells[index] for index in group], "</TD><TD>"
                ), _DatabaseRunCodec()

        else:
            cells = [
                _sql_binary_cell(field, expression, codec.null)
                for field, codec, expression in fields
            ]
            null_flags = self.serialization == "binary2"

            def run(group: list[int]) -> tuple[str, _Codec]:
                values = [cells[index] for index in group]
                width = sum(self._codecs[index].dtype.itemsize for index in group)
                if not null_flags:
                    return " || ".join(values), _DatabaseRunCodec(len(group), width)
                flags = _sql_null_bits([expressions[index] for index in group])
                codec = _DatabaseRunCodec(len(group), width, null_bytes=(len(group) + 7) // 8)
                return " || ".join([flags, *values]), codec

        selected, codecs = database_select_list(cells, expressions, self._codecs, run)
        return DatabaseSelect(selected, partial(self._iter_bytes, codecs=codecs))

    # -- body --------------------------------------------------------------------------

    def _batches(
        self, rows: Iterator[Any], status: list[Info], codecs: Sequence[_Codec]
    ) -> Iterator[bytes]:
        """Encoded batches of rows; records a failure in ``status`` instead of raising."""
        binary = self.serialization != "tabledata"
        null_flags = self.serialization == "binary2"
        plan = tuple(codec.binary_item() for codec in codecs) if binary else ()
        # About 256 KiB of output per batch (512 KiB of BINARY/BINARY2): larger batches cost
        # memory and gain no speed.
        batch_bytes = (8 if binary else 4) * max(self.chunk_size, 65536)
        batch_rows = _FIRST_BATCH_ROWS
        base64 = _Base64Stream()
        try:
            while batch := list(islice(rows, batch_rows)):
                if binary:
                    encoded = _binary_rows.rows(batch, plan, null_flags)
                    raw_size = len(encoded)
                    pieces = base64.encode(encoded)
                else:
                    columns = batch_columns(batch, len(codecs), "value")
                    cells = [codec.tabledata(c) for codec, c in zip(codecs, columns, strict=True)]
                    text = "</TD></TR>\n<TR><TD>".join(
                        map("</TD><TD>".join, zip(*cells, strict=True))
                    )
                    # Text cells hold their UTF-8 bytes as Latin-1 text, all others are
                    # ASCII (see utf8_as_latin1). The row markup around the batch goes out as
                    # pieces of its own: wrapping the text would copy all of it once more.
                    encoded = text.encode("latin-1")
                    pieces = (b"<TR><TD>", encoded, b"</TD></TR>\n")
                    raw_size = len(encoded)
                yield from pieces
                per_row = max(raw_size // len(batch), 1)
                batch_rows = max(16, min(_MAX_BATCH_ROWS, batch_bytes // per_row))
        except Exception as error:  # reported in the document
            _log.exception("VOTable output failed mid-stream")
            status.append(Info("QUERY_STATUS", "ERROR", content=_public_message(error)))
        if binary:
            yield base64.close()

    def _document(
        self, rows: Iterable[Any], max_records: int | None, codecs: Sequence[_Codec]
    ) -> Iterator[bytes]:
        yield self._header.encode()
        status: list[Info] = []
        source = iter(rows)
        limited = source if max_records is None else islice(source, max_records)
        yield from self._batches(limited, status, codecs)
        if max_records is not None and not status:
            try:
                if next(source, None) is not None:
                    status.append(Info("QUERY_STATUS", "OVERFLOW"))
            except Exception as error:
                _log.exception("VOTable overflow probe failed")
                status.append(Info("QUERY_STATUS", "ERROR", content=_public_message(error)))
        if self.serialization == "tabledata":
            data_close = "</TABLEDATA>"
        else:
            data_close = f"</STREAM>\n</{self.serialization.upper()}>"
        yield (
            f"{data_close}\n</DATA>\n</TABLE>\n{_trailing_infos(status, self.version)}"
            "</RESOURCE>\n</VOTABLE>\n"
        ).encode()

    def iter_bytes(self, rows: Iterable[Any], max_records: int | None = None) -> Iterator[bytes]:
        """The document as ``chunk_size`` byte chunks (the last one shorter).

        Rows are pulled lazily; at most ``max_records + 1`` when ``max_records`` is given.
        """
        return self._iter_bytes(rows, max_records, self._codecs)

    def _iter_bytes(
        self, rows: Iterable[Any], max_records: int | None, codecs: Sequence[_Codec]
    ) -> Iterator[bytes]:
        if max_records is not None and max_records < 0:
            raise ValueError("max_records must be >= 0")
        return self._chunks(rows, max_records, codecs)

    def _chunks(
        self, rows: Iterable[Any], max_records: int | None, codecs: Sequence[_Codec]
    ) -> Iterator[bytes]:
        """Cut the document pieces into chunks, copying each byte once."""
        pending = bytearray()
        size = self.chunk_size
        for piece in self._document(rows, max_records, codecs):
            piece = memoryview(piece)
            offset = 0
            if pending:
                offset = size - len(pending)
                pending += piece[:offset]
                if len(pending) < size:
                    continue
                yield bytes(pending)
                pending.clear()
            while len(piece) - offset >= size:
                yield bytes(piece[offset : offset + size])
                offset += size
            pending += piece[offset:]
        if pending:
            yield bytes(pending)

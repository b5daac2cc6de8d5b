"""Streaming delimited text: CSV (RFC 4180) and TSV, a header line of column names first.

Rows come from any iterator of tuples and leave as ``bytes`` chunks, so memory does not grow
with the row count. Rows are read in batches sized to fill about one chunk and formatted column
by column: only columns holding values that are not already text, integers or finite floats go
through a per-value formatter. The standard ``csv`` module writes CSV lines (it quotes where
needed); TSV lines, which never need quoting, are joined directly (the ``csv`` module would
refuse a lone empty cell without quotes).

Value rules (DALI text forms):

* ``None`` is an empty cell; floats are the shortest text that reads back to the same double,
  ``NaN``, ``+Inf``, ``-Inf``; booleans ``true``/``false``; ``datetime``/``date``/``time``
  values ISO 8601; arrays (lists, tuples) their elements separated by spaces (a ``None``
  element is ``NaN``); ``bytes`` are decoded as UTF-8.
* CSV quotes a cell holding a comma, a double quote or a line break, and ends lines with
  CR LF (RFC 4180); TSV lines end with a line feed.
* TSV cannot quote, so a backslash, tab, line feed or carriage return inside a text becomes
  ``\\\\``, ``\\t``, ``\\n``, ``\\r`` (the escapes of PostgreSQL's text COPY format): every
  line is one row, every tab separates two cells.
* Errors are not caught: a delimited file has no place to report one, so a failure while rows
  are read ends the stream with the exception, and the client sees an incomplete transfer
  rather than a silently shorter table.
"""

from __future__ import annotations

import csv
import datetime
import io
import math
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

__all__ = ["CSV_MEDIA_TYPE", "TSV_MEDIA_TYPE", "DelimitedWriter"]

CSV_MEDIA_TYPE = "text/csv;header=present"
TSV_MEDIA_TYPE = "text/tab-separated-values"

_NONE = type(None)
#: Types the csv module already writes the DALI way (None empty, floats by repr).
_WRITTEN_AS_IS = frozenset({str, int, _NONE})
_FLOATS = frozenset({float, _NONE})
_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_FIRST_BATCH_ROWS = 32
_MAX_BATCH_ROWS = 10_000


def _all_finite(column: Sequence[float | None]) -> bool:
    values = [value for value in column if value is not None] if None in column else column
    # NaN and infinities propagate through the sum.
    return math.isfinite(sum(values))


def _float_text(value: float) -> str:
    if math.isfinite(value):
        return float.__repr__(value)
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def _element_text(value: Any) -> str:
    return "NaN" if value is None else _value_text(value)


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return " ".join(map(_element_text, value))
    return str(value)


class DelimitedWriter:
    """Writes one table as CSV or TSV; reusable for any number of ``iter_bytes`` calls."""

    def __init__(
        self,
        names: Sequence[str],
        *,
        delimiter: str = ",",
        line_terminator: str | None = None,
        chunk_size: int = 65536,
    ) -> None:
        if delimiter not in (",", "\t"):
            raise ValueError("delimiter must be ',' (CSV) or a tab (TSV)")
        if not names:
            raise ValueError("a table needs at least one column")
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        self.names = tuple(names)
        self.delimiter = delimiter
        # RFC 4180 ends CSV lines with CR LF; TSV lines end with a line feed, as Unix tools read
        # them.
        if line_terminator is None:
            line_terminator = "\r\n" if delimiter == "," else "\n"
        self.line_terminator = line_terminator
        self.chunk_size = chunk_size

    def _csv_cells(self, column: Sequence[Any]) -> Sequence[Any]:
        """A batch column as values the csv module writes the DALI way as they are."""
        kinds = set(map(type, column))
        if kinds <= _WRITTEN_AS_IS:
            return column
        if kinds <= _FLOATS and _all_finite(column):
            return column
        return list(map(_value_text, column))

    @staticmethod
    def _tsv_cells(column: Sequence[Any]) -> Sequence[str]:
        """A batch column as escaped TSV texts."""
        kinds = set(map(type, column))
        if kinds == {str}:
            texts = column
        elif kinds <= {int, _NONE}:
            texts = ["" if value is None else int.__repr__(value) for value in column]
        elif kinds <= _FLOATS and _all_finite(column):
            texts = ["" if value is None else float.__repr__(value) for value in column]
        else:
            texts = list(map(_value_text, column))
        joined = "".join(texts)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            return [text.translate(_TSV_ESCAPES) for text in texts]
        return texts

    def iter_bytes(
        self, rows: Iterable[Sequence[Any]], max_records: int | None = None
    ) -> Iterator[bytes]:
        """The header line and the rows (at most ``max_records``) as byte chunks of about
        ``chunk_size``."""
        if max_records is not None and max_records < 0:
            raise ValueError("max_records must be >= 0")
        return self._chunks(rows, max_records)

    def _chunks(self, rows: Iterable[Sequence[Any]], max_records: int | None) -> Iterator[bytes]:
        source = iter(rows)
        if max_records is not None:
            source = islice(source, max_records)
        pending = [self._lines([self.names])]
        size = len(pending[0])
        # Batches are sized from the previous line lengths to fill about one chunk each.
        batch_rows = _FIRST_BATCH_ROWS
        while batch := list(islice(source, batch_rows)):
            lines = self._lines(batch)
            pending.append(lines)
            size += len(lines)
            if size >= self.chunk_size:
                yield "".join(pending).encode()
                pending.clear()
                size = 0
            per_row = max(len(lines) // len(batch), 1)
            batch_rows = max(16, min(_MAX_BATCH_ROWS, self.chunk_size // per_row))
        if pending:
            yield "".join(pending).encode()

    def _lines(self, batch: list[Sequence[Any]]) -> str:
        width = len(self.names)
        try:
            columns = list(zip(*batch, strict=True))
        except ValueError:  # rows of different lengths
            columns = []
        if len(columns) != width:
            raise ValueError(f"every row must have {width} values, one per column")
        if self.delimiter == "\t":
            cells = map(self._tsv_cells, columns)
            terminator = self.line_terminator
            return "".join(line + terminator for line in map("\t".join, zip(*cells, strict=True)))
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=self.line_terminator).writerows(
            zip(*map(self._csv_cells, columns), strict=True)
        )
        return buffer.getvalue()

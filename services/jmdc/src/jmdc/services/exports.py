"""Exports of measurements (a search of the catalogue or of a release): CSV, xlsx, PDF, VOTable.

Rows are mappings with the keys of :data:`measurement_columns` (and ``ra``/``dec`` for the
VOTable). CSV and VOTable stream in constant memory; xlsx and PDF are files that are whole
only once written (a zip, a cross-reference table), so they are built in memory.

* CSV and xlsx follow the original portal's export: its column names and order (VizieR's,
  the bibcode second-to-last), the method named rather than coded.
* The VOTable carries every column with its unit, UCD and description, and the position.
* The PDF is a table for reading: a title, the date and the query on every page, long notes
  wrapped, landscape A4.
"""

import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from jmmc_core.database import Database
from jmmc_core.delimited import DelimitedWriter
from jmmc_core.errors import InvalidParameter
from jmmc_core.votable import VOTABLE_MEDIA_TYPE, CooSys, Field, Info, VOTableWriter

from ..models.catalogue import MeasurementColumn, measurement_columns, position_columns
from ..schema.catalogue import METHODS
from .catalogue import CatalogueCriteria, rows

FORMATS: tuple[str, ...] = ("csv", "xlsx", "pdf", "votable")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "votable": VOTABLE_MEDIA_TYPE,
}
EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "pdf": "pdf", "votable": "vot"}

Rows = Iterable[Mapping[str, Any]]


def export(
    rows: Rows,
    format: str,
    *,
    title: str = "JMDC: JMMC Measured Stellar Diameters Catalogue",
    query: str = "",
) -> tuple[str, bytes | Iterator[bytes]]:
    """``rows`` in ``format``: its media type, and its bytes (xlsx, PDF) or byte chunks
    (CSV, VOTable). ``title`` and ``query`` head the PDF and describe the VOTable."""
    if format not in FORMATS:
        raise InvalidParameter("format", f"{format!r} is not one of {', '.join(FORMATS)}")
    if format == "csv":
        document: bytes | Iterator[bytes] = csv_document(rows)
    elif format == "xlsx":
        document = xlsx_document(rows, title)
    elif format == "pdf":
        document = pdf_document(rows, title, query)
    else:
        document = votable_document(rows, title, query)
    return MEDIA_TYPES[format], document


def search_export(
    database: Database, criteria: CatalogueCriteria, format: str, sort: str | None = None
) -> tuple[str, Iterator[bytes]]:
    """The measurements meeting ``criteria`` in ``format``: its media type and its chunks,
    read from the database while they are sent (the session lives as long as the iterator)."""
    if format not in FORMATS:
        raise InvalidParameter("format", f"{format!r} is not one of {', '.join(FORMATS)}")

    def chunks() -> Iterator[bytes]:
        with database.session() as session:
            _, document = export(rows(session, criteria, sort), format, query=criteria.describe())
            if isinstance(document, bytes):
                yield document
            else:
                yield from document

    return MEDIA_TYPES[format], chunks()


def _method_name(code: int | None) -> str | None:
    return None if code is None else METHODS.get(code, str(code))


def _table_values(row: Mapping[str, Any]) -> list[Any]:
    """A row as the CSV and xlsx write it: the published columns, the method named."""
    values = [row.get(column.name) for column in measurement_columns]
    values[_METHOD] = _method_name(values[_METHOD])
    return values


_METHOD = [column.name for column in measurement_columns].index("method")


def csv_document(rows: Rows) -> Iterator[bytes]:
    writer = DelimitedWriter([column.header for column in measurement_columns])
    return writer.iter_bytes(map(_table_values, rows))


def xlsx_document(rows: Rows, title: str) -> bytes:
    """One sheet, a bold header row, then one row per measurement (write-only: constant
    memory while rows are added)."""
    workbook = Workbook(write_only=True)
    workbook.properties.title = title
    sheet = workbook.create_sheet("JMDC")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in measurement_columns:
        cell = WriteOnlyCell(sheet, column.header + (f" ({column.unit})" if column.unit else ""))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append(_table_values(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _field(column: MeasurementColumn) -> Field:
    arraysize = "*" if column.datatype in ("char", "unicodeChar") else None
    return Field(
        column.name,
        column.datatype,
        arraysize,
        unit=column.unit,
        ucd=column.ucd,
        description=column.description,
        ref="icrs" if column in position_columns else None,
    )


VOTABLE_COLUMNS = (*measurement_columns, *position_columns)
_VOTABLE_NAMES = tuple(column.name for column in VOTABLE_COLUMNS)


def votable_document(rows: Rows, title: str, query: str) -> Iterator[bytes]:
    writer = VOTableWriter(
        [_field(column) for column in VOTABLE_COLUMNS],
        resource_name="jmdc",
        table_name="measurements",
        table_description=title,
        infos=[Info("QUERY", query)] if query else (),
        coosys=[CooSys("icrs", "ICRS")],
    )
    return writer.iter_bytes(tuple(row.get(name) for name in _VOTABLE_NAMES) for row in rows)


# -- PDF ----------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN = 28.0
FONT, BOLD, SIZE = "Helvetica", "Helvetica-Bold", 7.0
LINE = SIZE * 1.25
#: (key, heading, width in points); notes take what is left of the page's width.
PDF_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("id1", "ID1", 82),
    ("id2", "ID2", 62),
    ("ud_diameter", "UD (mas)", 40),
    ("e_ud_diameter", "e_UD", 34),
    ("ld_diameter", "LD (mas)", 40),
    ("e_ld_diameter", "e_LD", 34),
    ("band", "Band", 44),
    ("mu_lambda", "mu", 30),
    ("method", "Method", 82),
    ("band_code", "Code", 22),
    ("bibcode", "Bibcode", 86),
)
NOTES_WIDTH = PAGE_WIDTH - 2 * MARGIN - sum(width for _, _, width in PDF_COLUMNS)
#: A note wraps onto at most this many lines; the rest is cut with an ellipsis.
MAX_NOTE_LINES = 4


def _pdf_text(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "method":
        return _method_name(value) or ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


#: Helvetica's widest glyph (``@``) is 1.015 em: a text this short surely fits, unmeasured.
_WIDEST_GLYPH = 1.02 * SIZE


def _fitted(text: str, width: float) -> str:
    """``text`` cut (with an ellipsis) to fit ``width`` points."""
    if len(text) * _WIDEST_GLYPH <= width or stringWidth(text, FONT, SIZE) <= width:
        return text
    while text and stringWidth(text + "\u2026", FONT, SIZE) > width:
        text = text[:-1]
    return text + "\u2026"


def _note_lines(note: str) -> list[str]:
    lines = simpleSplit(note, FONT, SIZE, NOTES_WIDTH - 2) if note else [""]
    if len(lines) > MAX_NOTE_LINES:
        lines = [
            *lines[: MAX_NOTE_LINES - 1],
            _fitted(lines[MAX_NOTE_LINES - 1] + " \u2026", NOTES_WIDTH - 2),
        ]
    return lines


class _PdfTable:
    """Draws rows onto pages, each headed by the title, the date, the query and the headings."""

    def __init__(self, canvas: Canvas, title: str, query: str) -> None:
        self.canvas = canvas
        self.title = title
        self.subtitle = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC \u2014 {query}".rstrip(" \u2014")
        self.page = 0
        self.y = 0.0

    def new_page(self) -> None:
        if self.page:
            self.canvas.showPage()
        self.page += 1
        canvas = self.canvas
        top = PAGE_HEIGHT - MARGIN
        canvas.setFont(BOLD, 11)
        canvas.drawString(MARGIN, top - 11, self.title)
        canvas.setFont(FONT, 8)
        canvas.drawString(MARGIN, top - 24, _fitted(self.subtitle, PAGE_WIDTH - 2 * MARGIN - 60))
        canvas.drawRightString(PAGE_WIDTH - MARGIN, top - 24, f"page {self.page}")
        canvas.setFont(BOLD, SIZE)
        x, y = MARGIN, top - 40
        for _, heading, width in PDF_COLUMNS:
            canvas.drawString(x, y, heading)
            x += width
        canvas.drawString(x, y, "Notes")
        canvas.line(MARGIN, y - 3, PAGE_WIDTH - MARGIN, y - 3)
        canvas.setFont(FONT, SIZE)
        self.y = y - 3 - LINE

    def add(self, row: Mapping[str, Any]) -> None:
        notes = _note_lines(row.get("notes") or "")
        if not self.page or self.y - LINE * (len(notes) - 1) < MARGIN:
            self.new_page()
        # One text object per row, moved from cell to cell: far cheaper than a drawString each.
        text, x, y = self.canvas.beginText(MARGIN, self.y), MARGIN, self.y
        text.setFont(FONT, SIZE)
        for key, _, width in PDF_COLUMNS:
            text.setTextOrigin(x, y)
            text.textOut(_fitted(_pdf_text(key, row.get(key)), width - 3))
            x += width
        for line in notes:
            text.setTextOrigin(x, y)
            text.textOut(line)
            y -= LINE
        self.canvas.drawText(text)
        self.y = y - 1.5


def pdf_document(rows: Rows, title: str, query: str) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=1)
    canvas.setTitle(title)
    canvas.setSubject(query)
    table = _PdfTable(canvas, title, query)
    for row in rows:
        table.add(row)
    if not table.page:
        table.new_page()
        canvas.drawString(MARGIN, table.y, "No measurement meets the query.")
    canvas.save()
    return buffer.getvalue()

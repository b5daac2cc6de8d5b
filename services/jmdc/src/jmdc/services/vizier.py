"""The catalogue in CDS/VizieR's format: a ``ReadMe`` with the byte-by-byte description and a
fixed-width ``jmdc.dat``, laid out as VizieR II/345 publishes JMDC.

Writing follows II/345's conventions: its labels, formats and units (from the catalogue's one
column definition), one blank between fields, ``?=-`` for a nullable number (a null is written
as dashes), ``[min/max]`` limits for coded columns and numbered notes explaining the codes. A
field is widened, never truncated, when a value needs more room than II/345's format gives (a
long note, a diameter over 1000 mas): the ReadMe always describes the file it comes with, so
every value is written at its format's precision.

Reading is CDS's own format reader (``astropy.io.ascii``, format ``cds``), so a file we write
is read exactly as VizieR's tools read it, and a release published by CDS (II/345) is read the
same way.
"""

import math
import re
import tempfile
import textwrap
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ..models.catalogue import measurement_columns
from ..schema.catalogue import BAND_CODES, METHODS

#: The data file's name, as in II/345.
DATA_FILE = "jmdc.dat"
README_FILE = "ReadMe"
CATALOGUE_NAME = "JMDC : JMMC Measured Stellar Diameters Catalogue"
#: CDS ReadMe files are 80 characters wide.
README_WIDTH = 80

_FORMAT = re.compile(r"^(?P<kind>[AIF])(?P<width>\d+)(?:\.(?P<decimals>\d+))?$")
#: Where a byte-by-byte line's explanation starts; continuation lines are indented past it.
_EXPLANATION_COLUMN = 34

#: Notes of the byte-by-byte description, by column: what a code or a convention means.
_NOTES: dict[str, str] = {
    "id2": "As the publication names the star, when the Sesame name resolver recognises it.",
    "e_ld_diameter": (
        "The published error on the limb-darkened or uniform-disk diameter, which are"
        " essentially equivalent. No error (dashes) when none was published, or when the"
        " measurement is in doubt, in which case the Notes explain why."
    ),
    "band": (
        "The band (UBVRIJHKLMNQ) or the central wavelength of the observation, in microns"
        " unless a unit follows (A for angstroms, nm for nanometres)."
    ),
    "method": "Method of the measurement:\n"
    + "\n".join(f"  {code} = {name}" for code, name in METHODS.items()),
    "band_code": "Photometric band: "
    + ", ".join(f"{code} = {band}" for code, band in enumerate(BAND_CODES, start=1))
    + ".",
    "sinpe": (
        "Set (1) when the SIMBAD identifier is not precise enough for this object, usually a"
        " component of a close double star."
    ),
}

#: Allowed values of coded columns, written as CDS limits ``[min/max]``.
_LIMITS: dict[str, tuple[int, int]] = {
    "method": (min(METHODS), max(METHODS)),
    "band_code": (1, len(BAND_CODES)),
}


class VizierFormatError(ValueError):
    """A ReadMe or data file that cannot be read as a CDS/VizieR table; the message says why."""


@dataclass(frozen=True)
class Field:
    """One field of ``jmdc.dat``: where it lies and how its values are written."""

    name: str
    label: str
    kind: str
    width: int
    decimals: int
    unit: str | None
    explanation: str
    nullable: bool
    start: int = 0
    note: int | None = None

    @property
    def end(self) -> int:
        return self.start + self.width - 1

    @property
    def format(self) -> str:
        return f"{self.kind}{self.width}" + (f".{self.decimals}" if self.kind == "F" else "")

    def render(self, value: Any) -> str:
        """The value in exactly ``width`` characters, or longer when it does not fit."""
        if self.kind == "A":
            return ascii_text(value).ljust(self.width)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return ("-" * min(3, self.width) if self.nullable else "").rjust(self.width)
        if self.kind == "I":
            return str(int(value)).rjust(self.width)
        return f"{float(value):.{self.decimals}f}".rjust(self.width)


@dataclass(frozen=True)
class HistoryEntry:
    """A line of the ReadMe's history: one release."""

    released: date
    count: int
    title: str


@dataclass(frozen=True)
class ReleaseDescription:
    """What the ReadMe says of the catalogue besides its columns."""

    title: str
    authors: Sequence[str]
    abstract: str
    description: str
    released: date
    history: Sequence[HistoryEntry] = field(default_factory=tuple)
    #: Short name heading the ReadMe, where VizieR writes ``II/345``.
    designation: str = "JMDC"
    keywords: str = "stars: fundamental parameters - techniques: interferometric - catalogs"


@dataclass(frozen=True)
class VizierFiles:
    """The two files of a release, as text."""

    readme: str
    data: str


def ascii_text(value: Any) -> str:
    """Text on one line in ASCII, as CDS files are: accents dropped, common symbols spelled."""
    if value is None:
        return ""
    text = re.sub(r"\s*[\r\n\t]+\s*", " ", str(value)).strip()
    for symbol, spelled in (("µ", "u"), ("μ", "u"), ("Å", "A"), ("±", "+/-"), ("°", "deg")):
        text = text.replace(symbol, spelled)
    decomposed = unicodedata.normalize("NFKD", text)
    return (
        "".join(c for c in decomposed if not unicodedata.combining(c))
        .encode("ascii", "replace")
        .decode("ascii")
    )


def base_fields() -> list[Field]:
    """The fields as II/345 declares them, before any widening, in the catalogue's order."""
    fields = []
    for column in measurement_columns:
        if not column.vizier_format:
            continue
        match = _FORMAT.match(column.vizier_format)
        if match is None:
            raise ValueError(f"{column.name}: not a CDS format: {column.vizier_format}")
        fields.append(
            Field(
                name=column.name,
                label=column.label,
                kind=match["kind"],
                width=int(match["width"]),
                decimals=int(match["decimals"] or 0),
                unit=column.unit,
                explanation=column.description,
                nullable=column.nullable,
            )
        )
    return fields


def layout(rows: Sequence[Any]) -> list[Field]:
    """The fields placed byte by byte, each wide enough for every value of ``rows``."""
    fields, start, notes = [], 1, 0
    for base in base_fields():
        width = max([base.width, *(len(base.render(_value(row, base.name))) for row in rows)])
        note = None
        if base.name in _NOTES:
            notes += 1
            note = notes
        fields.append(replace(base, width=width, start=start, note=note))
        start += width + 1
    return fields


def _value(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def write(rows: Iterable[Any], about: ReleaseDescription) -> VizierFiles:
    """The ReadMe and ``jmdc.dat`` of ``rows`` (mappings or objects with the column names)."""
    rows = list(rows)
    fields = layout(rows)
    lines = [" ".join(f.render(_value(row, f.name)) for f in fields) for row in rows]
    record_length = fields[-1].end if fields else 0
    data = "".join(line.ljust(record_length) + "\n" for line in lines)
    return VizierFiles(readme=_readme(fields, len(rows), record_length, about), data=data)


def _rule(character: str = "-") -> str:
    return character * README_WIDTH


def _paragraph(text: str, indent: int = 4) -> list[str]:
    lines = []
    for paragraph in text.strip().split("\n\n"):
        if lines:
            lines.append("")
        lines += textwrap.wrap(
            ascii_text(paragraph), README_WIDTH, initial_indent=" " * indent,
            subsequent_indent=" " * indent, break_on_hyphens=False,
        )  # fmt: skip
    return lines


def _explanation_lines(text: str) -> list[str]:
    """The explanation wrapped beside the byte-by-byte columns.

    A continuation line never starts with a digit: readers would take it for a new field.
    """
    width = README_WIDTH - _EXPLANATION_COLUMN - 1
    lines: list[list[str]] = [[]]
    for word in text.split():
        current = lines[-1]
        if current and len(" ".join([*current, word])) > width:
            carried = [current.pop()] if word[0].isdigit() and len(current) > 1 else []
            lines.append([*carried, word])
        else:
            current.append(word)
    return [" ".join(words) for words in lines]


def _byte_line(f: Field) -> list[str]:
    byte_range = f"{f.start:4d}-{f.end:3d}" if f.width > 1 else f"{f.start:8d}"
    unit = f.unit or "---"
    error_label = f.label.startswith("e_")  # CDS aligns an error's label under its value's
    columns = (
        f"{byte_range}  {f.format:<6}{unit:<{6 if error_label else 8}}"
        f"{f.label:<{12 if error_label else 10}}"
    )
    prefix = ""
    if f.name in _LIMITS:
        low, high = _LIMITS[f.name]
        prefix += f"[{low}/{high}]"
    if f.nullable and f.kind != "A":
        prefix += "?=-"
    text = " ".join(part for part in (prefix, ascii_text(f.explanation)) if part)
    if f.note is not None:
        text += f" ({f.note})"
    first, *rest = _explanation_lines(text)
    indent = " " * (_EXPLANATION_COLUMN + 1)
    return [f"{columns.ljust(_EXPLANATION_COLUMN)}{first}", *(indent + line for line in rest)]


def _note_lines(f: Field) -> list[str]:
    lines = []
    for index, part in enumerate(_NOTES[f.name].split("\n")):
        if index == 0:
            lines += textwrap.wrap(f"Note ({f.note}): {part}", README_WIDTH, subsequent_indent="  ")
        else:
            lines.append(part)
    return lines


def _readme(
    fields: Sequence[Field], count: int, record_length: int, about: ReleaseDescription
) -> str:
    year = about.released.year
    first_author = about.authors[0].split()[-1] if about.authors else "JMMC"
    heading = f"{ascii_text(about.designation):<14} {CATALOGUE_NAME}"
    citation = f"({first_author}, {year})"
    lines = [
        heading.ljust(README_WIDTH - len(citation) - 1)[: README_WIDTH - len(citation) - 1]
        + " "
        + citation,
        _rule("="),
        *textwrap.wrap(ascii_text(about.title), README_WIDTH),
        "   " + ascii_text(", ".join(about.authors)),
        f"   <JMMC ({year})>",
        _rule("="),
        "ADC_Keywords: Stars, diameters",
        *textwrap.wrap(f"Keywords: {about.keywords}", README_WIDTH, subsequent_indent="          "),
        "",
        "Abstract:",
        *_paragraph(about.abstract),
        "",
        "Description:",
        *_paragraph(about.description),
        "",
        "File Summary:",
        _rule(),
        " FileName      Lrecl  Records   Explanations",
        _rule(),
        f"{README_FILE:<14}{README_WIDTH:>6}{'.':>9}   This file",
        f"{DATA_FILE:<14}{record_length:>6}{count:>9}   JMMC Measured stellar Diameters Catalog",
        _rule(),
        "",
        f"Byte-by-byte Description of file: {DATA_FILE}",
        _rule(),
        "   Bytes Format Units   Label     Explanations",
        _rule(),
        *(line for f in fields for line in _byte_line(f)),
        _rule(),
        *(line for f in fields if f.note is not None for line in _note_lines(f)),
        _rule(),
        "",
        "History:",
        *(
            line
            for entry in about.history
            for line in textwrap.wrap(
                f"* {entry.released:%d-%b-%Y}: {ascii_text(entry.title)},"
                f" {entry.count} measurements",
                README_WIDTH,
                initial_indent="  ",
                subsequent_indent="    ",
            )
        ),
        "",
        _rule("="),
        f"(End) {ascii_text(', '.join(about.authors))}".ljust(README_WIDTH - 12)
        + f"{about.released:%d-%b-%Y}".rjust(12),
    ]
    return "".join(line.rstrip() + "\n" for line in lines)


@dataclass(frozen=True)
class ReadRow:
    """A row read back: its line number in the data file and its values by column name."""

    line: int
    values: dict[str, Any]


def read_text(readme: str, data: str) -> list[ReadRow]:
    """Rows of a ReadMe and data file given as text (the data file named in the ReadMe)."""
    with tempfile.TemporaryDirectory(prefix="jmdc-vizier-") as folder:
        readme_path = Path(folder) / README_FILE
        readme_path.write_text(readme, encoding="ascii", errors="replace")
        (Path(folder) / data_file_name(readme)).write_text(data, encoding="ascii", errors="replace")
        return list(read(readme_path))


def data_file_name(readme: str) -> str:
    """The file the ReadMe's byte-by-byte description describes."""
    match = re.search(r"^Byte-by-byte Description of file:\s*(\S+)", readme, re.MULTILINE)
    if match is None:
        raise VizierFormatError("the ReadMe has no byte-by-byte description")
    return match[1]


def read(readme: Path, data: Path | None = None) -> Iterator[ReadRow]:
    """The rows of a VizieR release: its ReadMe, and the data file it describes (by default
    the one beside it). Values are keyed by the catalogue's column names; nulls are None."""
    # astropy takes seconds to import: only reading needs it, not the service's writing.
    from astropy.io import ascii as astropy_ascii

    text = readme.read_text(encoding="ascii", errors="replace")
    data = data or readme.parent / data_file_name(text)
    try:
        table = astropy_ascii.read(
            str(data), readme=str(readme), format="cds", guess=False, encoding="ascii"
        )
    except (ValueError, OSError, astropy_ascii.InconsistentTableError) as error:
        raise VizierFormatError(f"{data.name}: not readable with its ReadMe ({error})") from None
    published = [c for c in measurement_columns if c.vizier_format]
    present = [c for c in published if c.label in table.colnames]
    if "id1" not in {c.name for c in present}:
        raise VizierFormatError(f"{data.name}: its ReadMe describes no star name (ID1)")
    for index, table_row in enumerate(table, start=1):
        # Columns an older release lacks (II/345 has no error on the UD diameter) are null.
        values = dict.fromkeys(c.name for c in published)
        values |= {c.name: _python_value(table_row[c.label]) for c in present}
        values["sinpe"] = bool(values.get("sinpe"))
        yield ReadRow(index, values)


def _python_value(value: Any) -> Any:
    """A table cell as a plain value: masked and NaN as None, blank text as None."""
    if np.ma.is_masked(value):
        return None
    if isinstance(value, str):  # numpy's str_ too
        return value.strip() or None
    number = value.item() if isinstance(value, np.generic) else value
    if isinstance(number, float) and math.isnan(number):
        return None
    return number

"""What a JMDC measurement is to its readers: the published columns and the JSON API's shapes.

:data:`measurement_columns` is the one description of the catalogue's columns: the exports
(CSV, xlsx, PDF, VOTable), the TAP publication and the VizieR files all take their names,
units, UCDs, descriptions and formats from it. The order is VizieR II/345's ``jmdc.dat``
(the bibcode second-to-last), the order of the original portal's CSV export.
"""

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, Field


@dataclass(frozen=True)
class MeasurementColumn:
    """One published column of a measurement."""

    #: Attribute of :class:`jmdc.schema.MeasurementValues` and name in TAP and the VOTable.
    name: str
    #: Header of the CSV and xlsx exports (the original portal's names).
    header: str
    #: Label in the VizieR ReadMe (byte-by-byte description).
    label: str
    #: VOTable datatype: ``char``, ``unicodeChar``, ``double``, ``short`` or ``boolean``.
    datatype: str
    description: str
    ucd: str
    unit: str | None = None
    #: Fortran-like format of ``jmdc.dat`` (``A28``, ``F9.5``, ``I1``).
    vizier_format: str = ""
    #: Whether the value may be absent (VizieR ``?=-`` blanks).
    nullable: bool = True

    @property
    def vizier_width(self) -> int:
        return int(self.vizier_format[1:].split(".")[0])


measurement_columns: tuple[MeasurementColumn, ...] = (
    MeasurementColumn("id1", "ID1", "ID1", "unicodeChar", "Normalised star name (preferably HD)",
                      "meta.id;meta.main", vizier_format="A28", nullable=False),
    MeasurementColumn("id2", "ID2", "ID2", "unicodeChar", "Star name used in the publication",
                      "meta.id", vizier_format="A28"),
    MeasurementColumn("ud_diameter", "UD_DIAM", "UDdiam", "double", "Uniform-disk diameter",
                      "phys.angSize;src", "mas", "F9.5"),
    MeasurementColumn("e_ud_diameter", "E_UD_DIAM", "e_UDdiam", "double",
                      "Error on the uniform-disk diameter", "stat.error;phys.angSize", "mas",
                      "F8.4"),
    MeasurementColumn("ld_diameter", "LD_DIAM", "LDdiam", "double", "Limb-darkened disk diameter",
                      "phys.angSize;src", "mas", "F7.4"),
    MeasurementColumn("e_ld_diameter", "E_LD_DIAM", "e_LDdiam", "double",
                      "Error on the limb-darkened (and, in general, uniform-disk) diameter",
                      "stat.error;phys.angSize", "mas", "F8.4"),
    MeasurementColumn("band", "BAND", "Band", "unicodeChar",
                      "Band or central wavelength of the measurement as published (microns"
                      " unless a unit is given: A, nm)", "instr.bandpass", vizier_format="A10"),
    MeasurementColumn("mu_lambda", "MU_LAMBDA", "mu-lambda", "double",
                      "Uniform-disk to limb-darkened conversion used by the authors",
                      "arith.factor", vizier_format="F7.5"),
    MeasurementColumn("method", "METHOD", "Method", "short",
                      "Method: 1 optical interferometry, 2 lunar occultation, 3 intensity"
                      " interferometry", "meta.code;instr.setup", vizier_format="I1"),
    MeasurementColumn("band_code", "BANDCODE", "BandCode", "short",
                      "Band code: 1 U, 2 B, 3 V, 4 R, 5 I, 6 J, 7 H, 8 K, 9 L, 10 M, 11 N, 12 Q",
                      "meta.code;instr.bandpass", vizier_format="I2"),
    MeasurementColumn("notes", "NOTES", "Notes", "unicodeChar",
                      "Note on the star or the measurement", "meta.note", vizier_format="A204"),
    MeasurementColumn("bibcode", "BIBCODE", "BibCode", "char", "Bibcode of the publication",
                      "meta.bib.bibcode", vizier_format="A19"),
    MeasurementColumn("sinpe", "SINPE", "SINPE", "boolean",
                      "Set when the SIMBAD identifier is not precise enough (usually a"
                      " component of a close double star)", "meta.code.qual",
                      vizier_format="I1", nullable=False),
)  # fmt: skip

#: The ICRS position the catalogue and the releases add to the published values (VOTable, TAP).
position_columns: tuple[MeasurementColumn, ...] = (
    MeasurementColumn("ra", "RA", "RAdeg", "double", "Right ascension (ICRS)",
                      "pos.eq.ra;meta.main", "deg", "F10.6"),
    MeasurementColumn("dec", "DEC", "DEdeg", "double", "Declination (ICRS)",
                      "pos.eq.dec;meta.main", "deg", "F10.6"),
)  # fmt: skip

COLUMN_NAMES = tuple(column.name for column in measurement_columns)


class MeasurementOut(BaseModel):
    """A measurement of the catalogue (or of a release) in the JSON API."""

    id: int
    id1: str
    id2: str | None
    ud_diameter: float | None
    e_ud_diameter: float | None
    ld_diameter: float | None
    e_ld_diameter: float | None
    band: str | None
    mu_lambda: float | None
    method: int | None
    band_code: int | None
    notes: str | None
    bibcode: str | None
    sinpe: bool
    ra: float | None
    dec: float | None


class MeasurementPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[MeasurementOut]


#: No criterion needs more; longer text is refused before it reaches the database.
MAX_TEXT = 200
Text = Annotated[str | None, Field(max_length=MAX_TEXT)]


def _text(description: str) -> Text:
    return Field(None, max_length=MAX_TEXT, description=description)


class CatalogueParameters(BaseModel):
    """Criteria of a catalogue search (pages, JSON API, exports); checked by
    :func:`jmdc.services.catalogue.criteria_from_parameters`, which names the one at fault."""

    name: Text = _text("Star name, either identifier; case and spaces ignored (HD 1234 = hd1234)")
    ra: Text = _text("Right ascension of the cone centre, ICRS degrees [0, 360]")
    dec: Text = _text("Declination of the cone centre, ICRS degrees [-90, 90]")
    radius: Text = _text("Cone radius in arcseconds (default 10)")
    band: Text = _text("Band letter (U B V R I J H K L M N Q) or band as published, e.g. 800nm")
    method: Text = _text("1 or optical interferometry, 2 or lunar occultation, 3 or intensity"
                         " interferometry")  # fmt: skip
    bibcode: Text = _text("Bibcode of the publication")

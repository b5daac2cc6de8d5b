"""VizieR release files: what we write, CDS's reader (astropy ``cds``) reads back exactly, and
VizieR II/345's own ReadMe reads data laid out as it describes."""

import math
import warnings
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from astropy.io import ascii as astropy_ascii
from astropy.table import Table
from astropy.units import UnitsWarning

from jmdc.models.catalogue import measurement_columns
from jmdc.services import vizier

from .conftest import SHARED_JMDC

II_345_README = SHARED_JMDC / "ReadMe-JMDC-II_345.txt"
CATALOGUE_2017 = SHARED_JMDC / "JMDC_final_lddUpdated.fits"
NAMES = [column.name for column in measurement_columns]

ABOUT = vizier.ReleaseDescription(
    designation="JMDC/3",
    title="JMMC Measured stellar Diameters Catalogue, release 3",
    authors=["G. Duvert", "JMMC"],
    abstract="Stellar angular diameters measured by direct techniques.",
    description="First paragraph.\n\nSecond paragraph, long enough to be wrapped " * 3,
    released=date(2026, 12, 3),
    history=[
        vizier.HistoryEntry(date(2025, 1, 2), 2, "release 1"),
        vizier.HistoryEntry(date(2026, 12, 3), 4, "release 3"),
    ],
)


def measurement(**values):
    return {name: None for name in NAMES} | {"sinpe": False} | values


#: Every column set and null, values wider than II/345's formats, text to be made ASCII.
ROWS = [
    measurement(id1="HD 18884", id2="alf Cet", ud_diameter=9.4, e_ud_diameter=0.25,
                ld_diameter=12.20311, e_ld_diameter=0.04, band="K", mu_lambda=0.21,
                method=1, band_code=8, notes="Mira variable; binary?",
                bibcode="2016A&A...589A.112C", sinpe=True),
    measurement(id1="HD 29139", method=2),
    measurement(id1="IRC +10216", ud_diameter=1234.56789, ld_diameter=423.3257,
                e_ld_diameter=12345.6789, band="2.2 µm", method=3, band_code=12,
                notes="x" * 250, bibcode="1999AJ....117..521V"),
    measurement(id1="HD 1", id2="Fomalhaut b", band="550 to 850", notes="Ångström-scale"),
]  # fmt: skip


def rounded(name: str, value):
    """A value as its format keeps it (a float at the format's decimals)."""
    column = next(c for c in measurement_columns if c.name == name)
    if isinstance(value, float) and column.vizier_format.startswith("F"):
        return round(value, int(column.vizier_format.split(".")[1]))
    return value


def test_written_release_reads_back_with_the_cds_reader():
    files = vizier.write(ROWS, ABOUT)
    back = vizier.read_text(files.readme, files.data)

    assert [row.line for row in back] == [1, 2, 3, 4]
    for written, read in zip(ROWS, back, strict=True):
        expected = {name: rounded(name, value) for name, value in written.items()}
        expected["band"] = (written["band"] or "").replace("µ", "u") or None
        expected["notes"] = (written["notes"] or "").replace("Ångström", "Angstrom") or None
        assert read.values == expected


def test_readme_follows_ii_345_conventions():
    files = vizier.write(ROWS, ABOUT)
    lines = files.readme.splitlines()

    assert all(len(line) <= 80 for line in lines)
    assert files.readme.isascii() and files.data.isascii()
    assert "Byte-by-byte Description of file: jmdc.dat" in lines
    assert lines[0].startswith("JMDC/3         JMDC : JMMC Measured Stellar Diameters Catalogue")
    assert lines[0].endswith("(Duvert, 2026)") and len(lines[0]) == 80
    assert lines[-1].startswith("(End) G. Duvert, JMMC")
    assert "  * 02-Jan-2025: release 1, 2 measurements" in lines
    # Nullable numbers are ``?=-`` and written as dashes; coded columns have their limits.
    method = next(line for line in lines if " Method " in line)
    assert "[1/3]?=-" in method
    assert "  1 = optical interferometry" in lines
    # Fields are widened to hold every value, never truncated; the file summary says so.
    data_lines = files.data.splitlines()
    record_length = len(data_lines[0])
    assert {len(line) for line in data_lines} == {record_length}
    assert f"jmdc.dat      {record_length:>6}        4" in files.readme
    assert "A250" in files.readme and "F10.5" in files.readme


def test_long_titles_keep_the_readme_80_characters_wide():
    title = "A release with a long title, " * 7
    about = replace(ABOUT, title=title, history=[vizier.HistoryEntry(date(2026, 1, 1), 9, title)])
    readme = vizier.write(ROWS, about).readme
    assert max(len(line) for line in readme.splitlines()) <= 80
    assert "  * 01-Jan-2026: A release with a long title," in readme


def test_null_numbers_are_dashes_and_flags_are_digits():
    files = vizier.write([ROWS[1]], ABOUT)
    fields = {f.label: f for f in vizier.layout([ROWS[1]])}
    line = files.data.splitlines()[0]

    def field(label):
        f = fields[label]
        return line[f.start - 1 : f.end]

    assert field("UDdiam").strip() == "---"
    assert field("BandCode").strip() == "--"
    assert field("Method") == "2"
    assert field("SINPE") == "0"
    assert field("ID2").strip() == ""


def test_an_empty_release_is_still_a_valid_pair():
    files = vizier.write([], ABOUT)
    assert files.data == ""
    assert "jmdc.dat         " in files.readme


def test_a_readme_without_byte_by_byte_description_is_refused():
    with pytest.raises(vizier.VizierFormatError, match="byte-by-byte"):
        vizier.read_text("Just a title\n", "HD 1\n")


def test_data_that_does_not_match_its_readme_is_refused(tmp_path):
    files = vizier.write(ROWS[:1], ABOUT)
    bad = files.data.replace(" 1 ", " x ", 1).replace("9.40000", "nine!!!")
    with pytest.raises(vizier.VizierFormatError, match=r"jmdc\.dat"):
        vizier.read_text(files.readme, bad)


def ii_345_columns() -> list:
    """II/345's byte-by-byte description as CDS's reader parses it."""
    reader = astropy_ascii.get_reader(astropy_ascii.Cds, readme=str(II_345_README))
    reader.data.table_name = "jmdc.dat"
    reader.header.get_cols([])
    return reader.header.cols


def test_our_columns_are_ii_345s():
    ours = {f.label: f for f in vizier.base_fields()}
    theirs = ii_345_columns()

    assert [c.name for c in theirs] == [label for label in ours if label != "e_UDdiam"]
    for column in theirs:
        field = ours[column.name]
        assert field.format == column.raw_type, column.name
        assert (field.unit or None) == (None if column.unit is None else str(column.unit))
        if field.kind == "F":  # a nullable number is ``?=-`` in both
            assert field.nullable == (getattr(column, "null", None) is not None), column.name


def fits_rows() -> list[dict]:
    """The 2017 catalogue's rows as a release holds them (sentinels as nulls)."""

    def value(raw, sentinel=-1):
        if np.ma.is_masked(raw):
            return None
        if isinstance(raw, bytes | str):
            text = raw.decode() if isinstance(raw, bytes) else raw
            return text.strip() or None
        number = raw.item()
        return (
            None
            if number == sentinel or (isinstance(number, float) and math.isnan(number))
            else number
        )

    with warnings.catch_warnings():  # the file's own units (h:m:s, [cm/s2]) are not FITS's
        warnings.simplefilter("ignore", UnitsWarning)
        catalogue = Table.read(CATALOGUE_2017)
    rows = []
    for row in catalogue:
        reference = value(row["REFERENCE"]) or ""
        rows.append(measurement(
            id1=value(row["ID1"]), id2=value(row["ID2"]), ud_diameter=value(row["UD_MEAS"]),
            ld_diameter=value(row["LD_MEAS"]), e_ld_diameter=value(row["E_LD_MEAS"]),
            band=value(row["BAND"]), mu_lambda=value(row["MU_LAMBDA"]),
            method=value(row["METHOD"]), band_code=value(row["BANDCODE"]),
            notes=value(row["NOTES"]), bibcode=reference[-19:] or None,
        ))  # fmt: skip
    return rows


def ii_345_data(rows: list[dict]) -> str:
    """``rows`` laid out byte by byte as II/345's ReadMe describes ``jmdc.dat``."""
    by_label = {f.label: f for f in vizier.base_fields()}
    lines = []
    for row in rows:
        line = [" "] * 335
        for column in ii_345_columns():
            text = by_label[column.name].render(row[by_label[column.name].name])
            line[column.start : column.end] = list(text)
        lines.append("".join(line))
    return "\n".join(lines) + "\n"


def test_ii_345_readme_reads_a_catalogue_in_its_layout(tmp_path):
    rows = [row for row in fits_rows() if all(
        len(f.render(row[f.name])) <= f.width for f in vizier.base_fields())]  # fmt: skip
    assert len(rows) > 1000  # the 2017 rows that fit II/345's widths
    readme = tmp_path / "ReadMe"
    readme.write_bytes(II_345_README.read_bytes())
    (tmp_path / "jmdc.dat").write_text(ii_345_data(rows))

    back = list(vizier.read(readme))

    assert len(back) == len(rows)
    for written, read in zip(rows, back, strict=True):
        expected = {name: rounded(name, value) for name, value in written.items()}
        assert read.values == expected


def test_our_writing_of_the_2017_catalogue_reads_back_whole():
    rows = fits_rows()
    files = vizier.write(rows, ABOUT)
    back = vizier.read_text(files.readme, files.data)

    assert len(back) == len(rows) == 1239
    for written, read in zip(rows, back, strict=True):
        expected = {name: rounded(name, value) for name, value in written.items()}
        assert read.values == expected

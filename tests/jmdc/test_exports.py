"""Exports of a search, each opened in its usual reader: the csv module, openpyxl, pypdf and
astropy's VOTable parser (with its verification)."""

import csv
import io
import warnings

import httpx
import openpyxl
import pytest
from astropy.io.votable import parse_single_table
from pypdf import PdfReader

from jmdc.services.exports import export

ALDEBARAN = {"name": "HD 29139"}
CSV_HEADER = ["ID1", "ID2", "UD_DIAM", "E_UD_DIAM", "LD_DIAM", "E_LD_DIAM", "BAND", "MU_LAMBDA",
              "METHOD", "BANDCODE", "NOTES", "BIBCODE", "SINPE"]  # fmt: skip


def download(server, extension: str, **parameters) -> httpx.Response:
    answer = httpx.get(f"{server.service_url}/export.{extension}", params=parameters, timeout=120)
    assert answer.status_code == 200, answer.text
    return answer


def test_csv_has_the_original_columns_and_named_methods(catalogue_server):
    answer = download(catalogue_server, "csv", **ALDEBARAN)
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="jmdc-measurements.csv"' in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == CSV_HEADER and rows[0][-2] == "BIBCODE"
    body = rows[1:]
    assert len(body) == 18 and {row[0] for row in body} == {"HD29139"}
    assert {row[8] for row in body} <= {"optical interferometry", "lunar occultation"}
    assert "1974ApJ...187..131C" in {row[-2] for row in body}


def test_the_whole_catalogue_as_csv(catalogue_server):
    rows = list(csv.DictReader(io.StringIO(download(catalogue_server, "csv").text)))
    assert len(rows) == 1239
    # Blanks of the 2017 file are empty cells, never -1 or --.
    assert not [
        row for row in rows if "-1" in (row["LD_DIAM"], row["BANDCODE"]) or row["BAND"] == "--"
    ]


def test_xlsx_opens_in_openpyxl(catalogue_server):
    answer = download(catalogue_server, "xlsx", band="800nm")
    workbook = openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][0] == "ID1" and rows[0][2] == "UD_DIAM (mas)" and rows[0][11] == "BIBCODE"
    assert len(rows) == 1 + 98
    assert {row[6] for row in rows[1:]} == {"800nm"}
    assert all(isinstance(row[2], float) or row[2] is None for row in rows[1:])


def test_pdf_is_a_readable_table_with_title_date_and_query(catalogue_server):
    answer = download(catalogue_server, "pdf", **ALDEBARAN)
    assert answer.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(answer.content))
    text = reader.pages[0].extract_text()
    assert "JMDC: JMMC Measured Stellar Diameters Catalogue" in text
    assert "current catalogue: star HD 29139" in text
    assert "UTC" in text and "page 1" in text
    assert text.count("HD29139") == 18 and "1974ApJ...187..131C" in text


def test_a_large_pdf_has_every_row_on_numbered_pages(catalogue_server):
    reader = PdfReader(io.BytesIO(download(catalogue_server, "pdf", method="2").content))
    assert len(reader.pages) > 3
    text = "".join(page.extract_text() for page in reader.pages)
    assert f"page {len(reader.pages)}" in text
    # Every row names its method, and every page's heading repeats the query.
    assert text.count("lunar occultation") == 288 + len(reader.pages)


def test_votable_carries_units_and_ucds_and_passes_astropy_verification(catalogue_server):
    answer = download(catalogue_server, "votable", ra="68.98", dec="16.5093", radius="10")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any VOTable warning fails the test
        table = parse_single_table(io.BytesIO(answer.content), verify="exception")
    fields = {field.name: field for field in table.fields}
    assert (
        str(fields["ud_diameter"].unit) == "mas" and fields["ud_diameter"].ucd == "phys.angSize;src"
    )
    assert fields["ra"].ucd == "pos.eq.ra;meta.main" and str(fields["dec"].unit) == "deg"
    assert fields["bibcode"].ucd == "meta.bib.bibcode"
    values = table.to_table()
    assert len(values) == 18 and set(values["id1"]) == {"HD29139"}


def test_export_by_format_parameter_and_bad_format(catalogue_server):
    answer = httpx.get(
        f"{catalogue_server.service_url}/export", params={"format": "xlsx", **ALDEBARAN}
    )
    assert answer.status_code == 200 and answer.content[:2] == b"PK"
    refused = httpx.get(f"{catalogue_server.service_url}/export", params={"format": "docx"})
    assert refused.status_code == 400 and refused.json()["parameter"] == "format"
    bad_cone = httpx.get(
        f"{catalogue_server.service_url}/export.votable", params={"ra": "400", "dec": "0"}
    )
    assert bad_cone.status_code == 400 and 'value="ERROR"' in bad_cone.text


@pytest.mark.parametrize("format", ["csv", "xlsx", "pdf", "votable"])
def test_an_empty_search_exports_an_empty_table(catalogue_server, format):
    answer = download(catalogue_server, format, name="no such star")
    assert answer.content


def test_export_of_rows_a_release_gives():
    """The function releases reuse: rows as mappings, nulls and text kept."""
    rows = [{"id1": "HD 1", "ud_diameter": 1.5, "method": 3, "notes": 'comma, "quote"',
             "bibcode": "2020A&A...600A...1X", "sinpe": True}]  # fmt: skip
    media_type, document = export(rows, "csv")
    assert media_type.startswith("text/csv")
    (row,) = list(csv.DictReader(io.StringIO(b"".join(document).decode())))
    assert row["METHOD"] == "intensity interferometry" and row["NOTES"] == 'comma, "quote"'
    assert row["LD_DIAM"] == "" and row["SINPE"] == "true"

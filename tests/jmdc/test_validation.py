"""A moderator's checks on values alone: diameters, errors, bands and their codes, methods,
bibcodes and the catalogue format's limits, each problem on its field."""

import pytest

from jmdc.services.validation import (
    band_problems,
    errors_of,
    parse_fields,
    value_problems,
    wavelength_um,
)

#: Bibcodes of the 2017 catalogue (VizieR II/345), of every shape it holds.
REAL_BIBCODES = (
    "1953MNRAS.113..776C",
    "1970ApJ...160L.181N",
    "1971HiA.....2..700B",
    "2014SPIE.9146E..0WB",
    "2016A&A...589A.112C",
    "2011arXiv1102.0321S",
    "1999AJ....117.1864N",
)

VALID = {
    "id1": "HD 29139",
    "ud_diameter": "19.9",
    "ld_diameter": "20.58",
    "e_ld_diameter": "0.03",
    "band": "2.2",
    "band_code": "8",
    "method": "1",
    "bibcode": "2016A&A...589A.112C",
}


def problems_of(**changes) -> dict[str, str]:
    """Problems by field; a field that could not be read is not checked further."""
    values, unreadable = parse_fields({**VALID, **changes})
    problems = {problem.field: problem.message for problem in value_problems(values)}
    return problems | {problem.field: problem.message for problem in unreadable}


def test_valid_values_have_no_problem():
    assert problems_of() == {}
    values, _ = parse_fields(VALID)
    assert values["band_code"] == 8 and values["ud_diameter"] == 19.9 and values["sinpe"] is False


@pytest.mark.parametrize("bibcode", REAL_BIBCODES)
def test_real_bibcodes_are_accepted(bibcode):
    assert problems_of(bibcode=bibcode) == {}


@pytest.mark.parametrize(
    "bibcode",
    ["2016A&A..589A.112C", "1931...............", "16A&A...589A.112Cxx", "2016a&a...589a.112c"],
)
def test_malformed_bibcodes_are_refused(bibcode):
    assert "not a 19-character ADS bibcode" in problems_of(bibcode=bibcode)["bibcode"]


def test_diameters_and_errors_must_be_positive():
    assert problems_of(ud_diameter="0") == {"ud_diameter": "the value must be greater than 0"}
    assert problems_of(e_ld_diameter="-0.1") == {
        "e_ld_diameter": "the error must be greater than 0"
    }
    assert problems_of(ud_diameter="", ld_diameter="") == {
        "ud_diameter": "give the UD or the LD diameter (or both)"
    }
    assert problems_of(ld_diameter="120") == {
        "ld_diameter": "must be less than 100 (the catalogue's format)"
    }
    assert problems_of(ud_diameter="nan") == {"ud_diameter": "not a finite number"}
    assert problems_of(ud_diameter="twenty") == {"ud_diameter": "not a number"}
    assert problems_of(ud_diameter="", e_ud_diameter="0.1") == {
        "e_ud_diameter": "an error without its UD diameter"
    }


def test_ld_below_ud_needs_notes():
    assert "explain why in the notes" in problems_of(ld_diameter="19.0")["ld_diameter"]
    assert problems_of(ld_diameter="19.0", notes="LD from a separate fit") == {}


def test_methods_by_code_or_name():
    assert problems_of(method="lunar occultation") == {}
    assert problems_of(method="")["method"].startswith("required: 1 = optical interferometry")
    assert problems_of(method="4")["method"].startswith("unknown method 4")
    assert problems_of(method="radar")["method"].startswith("unknown method 'radar'")
    assert problems_of(method="1.5") == {"method": "not a whole number"}


@pytest.mark.parametrize(
    ("band", "code"),
    [
        ("H", 7),
        ("K'", 8),
        ("2.2", 8),
        ("1.618", 7),
        ("800nm", 5),
        ("740nm", 4),
        ("760nm", 5),  # 750-800 nm is found as R and as I
        ("760nm", 4),
        ("4430A", 2),
        ("700", 4),  # a bare number above 200 is nm
        ("5470A", 3),
        ("8-13", 11),  # free text: the code decides
        ("550 to 850", 3),
        ("H or K ?", 8),
        ("y", 3),
        ("3.45", 9),
        ("L Band", 9),
    ],
)
def test_bands_of_the_catalogue_match_their_codes(band, code):
    assert band_problems(band, code) == []


def test_band_code_problems():
    assert band_problems("H", 8)[0].message == "8 (K) does not match band 'H', which is 7 (H)"
    assert band_problems("2.2", None)[0].message == "required; band '2.2' is 8 (K)"
    assert band_problems("550 to 850", None)[0].field == "band_code"
    assert band_problems("0.1", 1)[0].field == "band"  # 100 nm: no band of the catalogue
    assert band_problems(None, 13)[0].message == "must be 1 (U) to 12 (Q)"
    assert band_problems(None, None) == []
    assert wavelength_um("2.2 µm") == 2.2
    assert wavelength_um("550 nm") == pytest.approx(0.55)


def test_text_fits_the_catalogue_format():
    assert problems_of(id1="HD " + "9" * 30) == {"id1": "at most 28 characters"}
    assert problems_of(notes="x" * 205) == {"notes": "at most 204 characters"}
    assert problems_of(band="2.2 microns") == {"band": "at most 10 characters"}
    assert problems_of(id2="\u03b1 Tau") == {
        "id2": "plain ASCII characters only (the CDS format's)"
    }
    assert problems_of(id1="  ") == {"id1": "required: the star's name (preferably HD)"}


def test_empty_and_catalogue_blanks_are_no_value():
    values, unreadable = parse_fields({**VALID, "mu_lambda": "--", "sinpe": "1"})
    assert unreadable == [] and values["mu_lambda"] is None and values["sinpe"] is True
    _, unreadable = parse_fields({**VALID, "sinpe": "maybe"})
    assert [(p.field, p.message) for p in unreadable] == [("sinpe", "1 or 0 (true or false)")]
    assert errors_of(unreadable)

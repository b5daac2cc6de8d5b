"""Simple Cone Search 1.03 at ``/obsportal/scs``, driven by pyvo's SCS client."""

import xml.etree.ElementTree as ElementTree

import httpx
import pytest
import pyvo
from pyvo.dal import DALQueryError, DALServiceError

IRS9A = (168.790967, -61.28026)


@pytest.fixture(scope="module")
def scs(golden_service) -> pyvo.dal.SCSService:
    return pyvo.dal.SCSService(f"{golden_service}/obsportal/scs")


def test_pyvo_cone_search_finds_records_with_position_and_id(scs):
    results = scs.search(pos=IRS9A, radius=30 / 3600)
    assert len(results) == 31
    record = results[0]
    ra, dec = record.pos.ra.deg, record.pos.dec.deg
    assert (round(ra, 6), round(dec, 5)) == IRS9A
    assert record.id.startswith("GRAVI.2019-")
    assert {"instrument_name", "instrument_mode", "exp_mjd_start"} <= set(results.fieldnames)


def test_verbosity_chooses_the_columns(scs):
    minimal = scs.search(pos=IRS9A, radius=0.01, verbosity=1)
    assert list(minimal.fieldnames) == ["exp_id", "target_ra", "target_dec"]
    everything = scs.search(pos=IRS9A, radius=0.01, verbosity=3)
    assert "exp_projected_baselines" in everything.fieldnames
    assert len(everything.fieldnames) > len(scs.search(pos=IRS9A, radius=0.01).fieldnames) > 3


def test_main_columns_carry_the_ucd1_names(golden_service):
    response = httpx.get(
        f"{golden_service}/obsportal/scs", params={"RA": 10, "DEC": 20, "SR": 1, "VERB": 1}
    )
    root = ElementTree.fromstring(response.content)
    ucds = {
        field.get("name"): (field.get("ucd"), field.get("datatype"))
        for field in root.iter()
        if field.tag.endswith("FIELD")
    }
    assert ucds == {
        "exp_id": ("ID_MAIN", "char"),
        "target_ra": ("POS_EQ_RA_MAIN", "double"),
        "target_dec": ("POS_EQ_DEC_MAIN", "double"),
    }


def test_sr_zero_describes_the_columns(scs):
    """pyvo's ``.columns`` asks RA=0&DEC=0&SR=0 and expects an empty table with its fields."""
    names = [column.name for column in scs.columns]
    assert names[:3] == ["exp_id", "target_ra", "target_dec"]
    assert len(scs.search(pos=IRS9A, radius=0)) == 0


def test_far_away_cone_is_empty(scs):
    assert len(scs.search(pos=(IRS9A[0], -IRS9A[1]), radius=1)) == 0


@pytest.mark.parametrize(
    ("parameters", "parameter"),
    [
        ({"RA": "x", "DEC": "0", "SR": "1"}, "RA"),
        ({"RA": "10", "DEC": "95", "SR": "1"}, "DEC"),
        ({"RA": "10", "DEC": "0", "SR": "-1"}, "SR"),
        ({"RA": "10", "DEC": "0"}, "SR"),
        ({"RA": "10", "DEC": "0", "SR": "1", "VERB": "7"}, "VERB"),
        ({"RA": "10", "DEC": "0", "SR": "1", "COLOUR": "red"}, "COLOUR"),
        ({"RA": "0", "DEC": "0", "SR": "100"}, "SR"),
        ({"RA": "0", "DEC": "0", "SR": "1", "VERB": "\x00"}, "VERB"),
    ],
)
def test_errors_are_an_info_named_error(golden_service, parameters, parameter):
    response = httpx.get(f"{golden_service}/obsportal/scs", params=parameters)
    assert response.status_code == 400
    root = ElementTree.fromstring(response.content)
    errors = [i for i in root.iter() if i.tag.endswith("INFO") and i.get("name") == "Error"]
    assert len(errors) == 1
    assert errors[0].get("value").startswith(f"{parameter}:")


def test_pyvo_reports_the_error_message(scs):
    with pytest.raises((DALQueryError, DALServiceError), match="VERB"):
        scs.search(pos=(10, 20), radius=1, verbosity=9)

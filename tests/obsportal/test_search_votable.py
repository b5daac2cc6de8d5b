"""``search.votable`` against the original ObsPortal answers (golden files) and ASPRO2."""

import subprocess
import xml.etree.ElementTree as ElementTree
from io import BytesIO

import httpx
import pytest
from astropy.io.votable import parse_single_table
from fastapi.testclient import TestClient

from jmmc_devtools.pgcluster import free_port
from obsportal.config import Settings
from obsportal.main import create_app

from .catalogue_factory import GOLDEN

IRS9A = {"ra": "168.790967", "dec": "-61.28026"}
BKH2005 = {"ra": "134.872365", "dec": "-43.76717"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _elements(document: bytes, name: str) -> list[ElementTree.Element]:
    root = ElementTree.fromstring(document)
    return [element for element in root.iter() if _local(element.tag) == name]


def _fields(document: bytes) -> list[dict[str, str | None]]:
    return [
        {key: field.get(key) for key in ("name", "datatype", "arraysize", "ucd", "unit")}
        for field in _elements(document, "FIELD")
    ]


def _rows(document: bytes) -> dict[str, list[str]]:
    """TD texts by exp_id (the first cell)."""
    rows = {}
    for tr in _elements(document, "TR"):
        cells = [td.text or "" for td in tr if _local(td.tag) == "TD"]
        rows[cells[0]] = cells
    return rows


def _status(document: bytes) -> tuple[str, str]:
    info = next(i for i in _elements(document, "INFO") if i.get("name") == "QUERY_STATUS")
    return info.get("value"), info.text or ""


def _aspro2_request(service: str, position: dict[str, str]) -> httpx.Response:
    """What ASPRO2 sends (QueryRawObservationsAction): a form POST, radius 30 arcsec."""
    form = {**position, "radius": "30.0", "all_fields": "false"}
    return httpx.post(f"{service}/obsportal/search.votable", data=form, timeout=30)


def test_aspro2_request_is_answered_like_the_original(golden_service):
    response = _aspro2_request(golden_service, BKH2005)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    golden = (GOLDEN / "search.votable.xml").read_bytes()
    ours = _fields(response.content)
    assert [f["name"] for f in ours] == [f["name"] for f in _fields(golden)]
    for mine, original in zip(ours, _fields(golden), strict=True):
        assert (mine["datatype"], mine["arraysize"], mine["ucd"]) == (
            original["datatype"],
            original["arraysize"],
            original["ucd"],
        ), mine["name"]
    assert b"<TABLEDATA>" in response.content
    # Same rows, every cell as the original wrote it (baselines string included).
    assert _rows(response.content) == _rows(golden)


def test_units_are_those_of_the_newest_original(golden_service):
    newest = {
        f["name"]: f["unit"]
        for f in _fields((GOLDEN / "obsportal-dev-spica.votable.xml").read_bytes())
    }
    response = _aspro2_request(golden_service, IRS9A)
    for field in _fields(response.content):
        assert field["unit"] == newest.get(field["name"]), field["name"]


def test_irs9a_cone_returns_the_original_rows(golden_service):
    response = _aspro2_request(golden_service, IRS9A)
    golden = (GOLDEN / "obsportal-output-10.votable.xml").read_bytes()
    names = [f["name"] for f in _fields(response.content)]
    golden_names = [f["name"] for f in _fields(golden)]
    ours, theirs = _rows(response.content), _rows(golden)
    assert ours.keys() == theirs.keys()
    for exp_id, cells in theirs.items():
        mine = dict(zip(names, ours[exp_id], strict=True))
        assert {name: mine[name] for name in golden_names} == dict(
            zip(golden_names, cells, strict=True)
        )


def test_table_params_status_and_last_mod_date(golden_service):
    response = _aspro2_request(golden_service, IRS9A)
    params = {p.get("name"): p for p in _elements(response.content, "PARAM")}
    assert params["status"].get("value") == "OK"
    # The newest exposure of the catalogue is the SPICA one of the dev golden file.
    assert params["last_mod_date"].get("value") == "2022-01-14 10:40:32+00:00"
    assert params["last_mod_date"].get("datatype") == "unicodeChar"


def test_all_fields_matches_the_full_original_field_set(golden_service):
    response = httpx.get(
        f"{golden_service}/obsportal/search.votable",
        params={"instrument": "SPICA", "all_fields": "true"},
    )
    assert response.status_code == 200
    golden = (GOLDEN / "obsportal-dev-spica.votable.xml").read_bytes()
    assert _fields(response.content) == _fields(golden)
    ours, theirs = _rows(response.content), _rows(golden)
    assert ours.keys() == theirs.keys()
    doubles = {i for i, f in enumerate(_fields(golden)) if f["datatype"] == "double"}
    for exp_id, cells in theirs.items():
        for index, (mine, original) in enumerate(zip(ours[exp_id], cells, strict=True)):
            if index in doubles and original != "NaN":
                assert float(mine) == float(original), exp_id
            else:
                assert mine == original, (exp_id, _fields(golden)[index]["name"])


def test_answer_parses_with_astropy_and_keeps_types(golden_service):
    response = _aspro2_request(golden_service, IRS9A)
    table = parse_single_table(BytesIO(response.content)).to_table()
    assert len(table) == 31
    assert table["target_ra"].dtype.kind == "f"
    assert table["exp_validation_level"].dtype.kind == "i"
    assert set(table["instrument_mode"]) == {"HIGH-COMBINED", "MEDIUM-COMBINED"}


@pytest.mark.parametrize(
    "window",
    [
        # OiDB's request, with %2B00:00 as it sends it
        ("2019-01-01T00:00:00+00:00", "2023-01-01T00:00:00+00:00"),
        # what crashed the original: fractional seconds, no zone, Z, a '+' eaten by the form
        ("2019-01-01T00:00:00.123456", "2023-01-01T00:00:00.5"),
        ("2019-01-01T00:00:00Z", "2023-01-01 00:00:00Z"),
        ("2019-01-01T00:00:00 00:00", "2023-01-01T00:00:00.123456789 00:00"),
        ("2019-01-01", "2023-01-01"),
    ],
)
def test_oidb_incremental_harvest_accepts_iso_dates(golden_service, window):
    response = httpx.get(
        f"{golden_service}/obsportal/search.votable",
        params={
            "instrument": "SPICA",
            "date_updated_from": window[0],
            "date_updated_to": window[1],
            "all_fields": "true",
        },
    )
    assert response.status_code == 200, response.text
    assert len(_rows(response.content)) == 3


def test_date_window_selects_on_update_date(golden_service):
    response = httpx.get(
        f"{golden_service}/obsportal/search.votable",
        params={"date_updated_from": "2022-01-01T00:00:00+00:00", "all_fields": "true"},
    )
    assert list(_rows(response.content)) == ["SPICA.SCIDET:20220114:104042_target_1"]


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"instrument": "gravity"}, 39),
        ({"interferometer": "CHARA"}, 3),
        ({"instrument": "GRAVITY", "instrument_mode": "medium-combined"}, 23),
        ({"target": "irs9"}, 31),
        ({"program": "0104.C-0425(A)"}, 8),
        ({"obs_type": "science"}, 42),
        ({"obs_type": "calibrator"}, 0),
        ({"mjd_from": "59000", "mjd_to": "59600"}, 3),
        ({**IRS9A, "radius": "1"}, 31),
        ({"ra": "168.8", "dec": "-61.28026", "radius": "1"}, 0),
        ({"exp_id": "GRAVI.2019-02-16T04:26:53.206_1"}, 1),
    ],
)
def test_filters(golden_service, parameters, expected):
    response = httpx.get(f"{golden_service}/obsportal/search.votable", params=parameters)
    assert response.status_code == 200
    assert len(_rows(response.content)) == expected


def test_empty_result_is_a_valid_empty_table(golden_service):
    response = httpx.get(
        f"{golden_service}/obsportal/search.votable", params={"ra": "0", "dec": "0"}
    )
    assert response.status_code == 200
    table = parse_single_table(BytesIO(response.content))
    assert len(table.array) == 0
    assert [f.name for f in table.fields][:3] == ["exp_id", "exp_header", "exp_mjd_start"]
    assert _status(response.content)[0] == "OK"


@pytest.mark.parametrize(
    ("parameters", "parameter"),
    [
        ({"ra": "abc", "dec": "1"}, "ra"),
        ({"ra": "361", "dec": "1"}, "ra"),
        ({"ra": "1", "dec": "-91"}, "dec"),
        ({"ra": "1", "dec": "nan"}, "dec"),
        ({"ra": "1"}, "dec"),
        ({"ra": "1", "dec": "1", "radius": "-3"}, "radius"),
        ({"ra": "1", "dec": "1", "radius": "thirty"}, "radius"),
        ({"radius": "30"}, "radius"),
        ({"all_fields": "maybe"}, "all_fields"),
        ({"obs_type": "sky"}, "obs_type"),
        ({"date_updated_from": "yesterday"}, "date_updated_from"),
        ({"date_updated_from": "2020-13-45T00:00:00"}, "date_updated_from"),
        ({"date_updated_from": "2021-01-01", "date_updated_to": "2020-01-01"}, "date_updated_to"),
        ({"mjd_from": "x"}, "mjd_from"),
        ({"radiuss": "30"}, "radiuss"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_input_is_a_400_votable_naming_the_parameter(
    golden_service, parameters, parameter, method
):
    url = f"{golden_service}/obsportal/search.votable"
    if method == "GET":
        response = httpx.get(url, params=parameters)
    else:
        response = httpx.post(url, data=parameters)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    status, message = _status(response.content)
    assert status == "ERROR"
    assert message.startswith(f"{parameter}:")


def test_answers_pass_votlint(golden_service, tmp_path):
    for all_fields in ("false", "true"):
        response = httpx.get(
            f"{golden_service}/obsportal/search.votable", params={"all_fields": all_fields}
        )
        path = tmp_path / f"answer-{all_fields}.vot"
        path.write_bytes(response.content)
        result = subprocess.run(
            ["stilts", "votlint", f"votable={path}"], capture_output=True, text=True, timeout=120
        )
        problems = [line for line in result.stdout.splitlines() if "ERROR" in line]
        assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_database_down_is_a_503_error_document():
    nowhere = f"postgresql+psycopg://jmmc@127.0.0.1:{free_port()}/none"
    settings = Settings(database_url=nowhere, environment="test", database_connect_timeout=1)
    with TestClient(create_app(settings)) as client:
        response = client.post("/obsportal/search.votable", data=BKH2005)
        assert response.status_code == 503
        status, message = _status(response.content)
        assert status == "ERROR" and message.startswith("service temporarily unavailable")
        assert str(settings.database_url.split(":")[-1]) not in response.text
        cone = client.get("/obsportal/scs", params={"RA": 1, "DEC": 2, "SR": 0.1})
        assert cone.status_code == 503 and b'name="Error"' in cone.content


def test_parameter_names_are_case_insensitive(golden_service):
    url = f"{golden_service}/obsportal/search.votable"
    lower = httpx.get(url, params={"ra": BKH2005["ra"], "dec": BKH2005["dec"]})
    upper = httpx.get(url, params={"RA": BKH2005["ra"], "Dec": BKH2005["dec"]})
    posted = httpx.post(url, data={"RA": BKH2005["ra"], "DEC": BKH2005["dec"]})
    assert lower.status_code == upper.status_code == posted.status_code == 200
    assert list(_rows(lower.content)) == list(_rows(upper.content)) == list(_rows(posted.content))
    assert list(_rows(lower.content))

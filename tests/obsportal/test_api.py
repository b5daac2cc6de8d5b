"""The JSON API: listings with paging and sorting, records, JSON errors, OpenAPI."""

import httpx
import pytest


def _get(service: str, path: str, **parameters) -> httpx.Response:
    return httpx.get(f"{service}/obsportal/api/{path}", params=parameters, timeout=30)


def test_exposures_page_and_sort(golden_service):
    first = _get(golden_service, "exposures", page_size=10, sort="-mjd_start").json()
    assert first["total"] == 42 and first["page"] == 1 and len(first["items"]) == 10
    starts = [item["mjd_start"] for item in first["items"]]
    assert starts == sorted(starts, reverse=True)
    assert first["items"][0]["exp_id"] == "SPICA.SCIDET:20220114:104042_target_1"
    pages = [
        _get(golden_service, "exposures", page=n, page_size=10).json() for n in (1, 2, 3, 4, 5)
    ]
    items = [item for page in pages for item in page["items"]]
    ids = [item["exp_id"] for item in items]
    assert len(ids) == len(set(ids)) == 42
    order = [(item["mjd_start"], item["exp_id"]) for item in items]
    assert order == sorted(order)  # default order: oldest first, as the VOTables
    assert _get(golden_service, "exposures", page=9, page_size=10).json()["items"] == []
    assert _get(golden_service, "exposures", page=9, page_size=10).json()["total"] == 42


def test_exposures_filter_like_search(golden_service):
    cone = _get(golden_service, "exposures", ra=168.790967, dec=-61.28026, radius=30).json()
    assert cone["total"] == 31
    spica = _get(golden_service, "exposures", instrument="spica", sort="target_name").json()
    assert [item["target_name"] for item in spica["items"]] == ["eps Per", "eps Per", "hd79929"]


def test_exposure_record(golden_service):
    record = _get(golden_service, "exposures/GRAVI.2019-02-16T04:26:53.206_1").json()
    assert record["header_id"] == "GRAVI.2019-02-16T04:26:53.206"
    assert record["projected_baselines"]["U1-U2"]["length"] == {"start": 50.159, "end": 50.084}
    assert record["target_id"] == 466 and record["obs_id"] == 512
    spica = _get(golden_service, "exposures/SPICA.2021-09-24T17:25:45.325079_1").json()
    assert spica["validation_log"][0] == "Missing 'HIERARCH ISS CONF NTEL'"
    assert spica["seeing"] is None


def test_observations_targets_programs(golden_service):
    observations = _get(golden_service, "observations", target_id=466).json()
    assert {item["id"] for item in observations["items"]} == {510, 512, 997}
    assert sum(item["exposure_count"] for item in observations["items"]) == 31
    assert _get(golden_service, "observations/512").json()["instrument_mode"] == "HIGH-COMBINED"
    targets = _get(golden_service, "targets", sort="-name").json()
    assert [item["name"] for item in targets["items"]] == [
        "hd79929",
        "eps Per",
        "IRS9A",
        "BKH2005_08576nr408",
    ]
    assert _get(golden_service, "targets", name="per").json()["total"] == 1
    assert _get(golden_service, "targets/466").json()["exposure_count"] == 31
    programs = _get(golden_service, "programs", page_size=100).json()
    assert "0102.C-0519(A)" in {item["id"] for item in programs["items"]}
    assert _get(golden_service, "programs/V3").json()["exposure_count"] == 2


def test_ingestion_runs_and_rejects(golden_service):
    runs = _get(golden_service, "ingestion-runs").json()
    assert runs["items"][0]["rejected_by_reason"] == {"truncated": 1, "no-position": 1}
    assert _get(golden_service, "ingestion-runs/1").json()["accepted_count"] == 42
    rejects = _get(golden_service, "ingestion-runs/1/rejects", sort="reason").json()
    assert [item["reason"] for item in rejects["items"]] == ["no-position", "truncated"]


@pytest.mark.parametrize(
    ("path", "parameters", "parameter"),
    [
        ("exposures", {"page": "0"}, "page"),
        ("exposures", {"page": "two"}, "page"),
        ("exposures", {"page_size": "5000"}, "page_size"),
        ("exposures", {"sort": "password"}, "sort"),
        ("exposures", {"ra": "1", "dec": "-100"}, "dec"),
        ("exposures", {"date_updated_from": "last week"}, "date_updated_from"),
        ("targets", {"sort": "-colour"}, "sort"),
        ("observations", {"target_id": "many"}, "target_id"),
        ("exposures", {"page": "99999999999999999999"}, "page"),
        ("exposures", {"page_size": "-1"}, "page_size"),
        ("exposures", {"target": "\x00"}, "target"),
        ("exposures", {"ra": "0", "dec": "0", "radius": "1e9"}, "radius"),
        ("targets", {"name": "x" * 1000}, "name"),
    ],
)
def test_bad_parameters_are_json_400_naming_the_parameter(
    golden_service, path, parameters, parameter
):
    response = _get(golden_service, path, **parameters)
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter
    assert response.json()["detail"].startswith(f"{parameter}:")


@pytest.mark.parametrize(
    "path",
    [
        "exposures/nope",
        "observations/1",
        "targets/99999",
        "programs/X",
        "ingestion-runs/7",
        "nothing-here",
    ],
)
def test_unknown_records_are_json_404(golden_service, path):
    response = _get(golden_service, path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert "detail" in response.json()


def test_openapi_documents_the_api(golden_service):
    schema = httpx.get(f"{golden_service}/obsportal/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/obsportal/api/exposures",
        "/obsportal/api/exposures/{exp_id}",
        "/obsportal/api/observations",
        "/obsportal/api/targets",
        "/obsportal/api/programs",
        "/obsportal/api/ingestion-runs",
        "/obsportal/search.votable",
        "/obsportal/export.votable",
        "/obsportal/scs",
    ):
        assert path in paths, path
    parameters = {p["name"] for p in paths["/obsportal/api/exposures"]["get"]["parameters"]}
    assert {"page", "page_size", "sort", "ra", "dec", "radius", "instrument"} <= parameters
    assert "400" in paths["/obsportal/api/exposures"]["get"]["responses"]
    assert httpx.get(f"{golden_service}/obsportal/docs").status_code == 200

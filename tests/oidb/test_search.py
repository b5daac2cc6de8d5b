"""The granule search over HTTP: every filter of the original, paging and sorting, rights, and
the errors of bad parameters (JSON on the API, VOTable on ``search.votable``)."""

import io
import subprocess
from datetime import UTC, datetime

import httpx
import pytest
from astropy.io.votable import parse
from sqlalchemy.dialects import postgresql

from jmmc_core.tap_publishing import CONE_FUNCTIONS
from oidb.services.search_votable import aspro_params, eso_period
from oidb.storage import search as storage_search
from oidb.storage.search import Cone, SearchCriteria

LEAKS = ("sqlalchemy", "psycopg", "traceback", "select ", "postgres")


def _search(server, catalogue, headers=None, **parameters) -> list[str]:
    """Names of the test catalogue's granules a search returns (sorted by name)."""
    parameters.setdefault("target", catalogue.tag)
    response = httpx.get(
        f"{server.service_url}/api/granules",
        params={"perpage": "1000", **parameters},
        headers=headers or {},
    )
    assert response.status_code == 200, response.text
    return sorted(catalogue.names(response.json()["items"]))


def test_every_public_granule_without_criteria(oidb_server, search_catalogue):
    assert _search(oidb_server, search_catalogue) == [
        "alpha", "alpha-raw", "beta", "delta", "epsilon", "gamma"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"target": "{tag} ALPHA"}, ["alpha", "alpha-raw"]),  # part of the name, any case
        ({"target": "~{tag} alp"}, ["alpha", "alpha-raw"]),
        ({"target": "!{tag} alpha", "collection": "{public}"}, ["beta", "delta", "gamma"]),
        ({"instrument": "pion"}, ["beta", "epsilon"]),  # the beginning of the name
        ({"instrument": "!PIONIER"}, ["alpha", "alpha-raw", "delta", "gamma"]),
        ({"facility": "chara"}, ["gamma"]),
        ({"facility": "~HAR"}, ["gamma"]),
        ({"collection": "{embargoed}"}, ["epsilon"]),
        ({"collection": "~{tag}-emb"}, ["epsilon"]),
        ({"progid": "0100.C-0002(A)"}, ["beta"]),
        ({"progid": "~0100.C"}, ["alpha", "alpha-raw", "beta"]),
        ({"datapi": "~smith"}, ["alpha", "alpha-raw"]),
        ({"obs_id": "{tag}-beta"}, ["beta"]),
        (
            {"obs_id": "!{tag}-beta", "collection": "{public}"},
            ["alpha", "alpha-raw", "delta", "gamma"],
        ),
        ({"caliblevel": "0"}, ["alpha-raw"]),
        ({"caliblevel": "2,3"}, ["alpha", "beta", "epsilon", "gamma"]),
        ({"category": "CALIB"}, ["beta"]),
        ({"category": "science"}, ["alpha", "alpha-raw", "delta", "epsilon", "gamma"]),
        ({"conesearch": "10 -20,J2000,10,arcsec"}, ["alpha", "alpha-raw"]),
        ({"conesearch": "10 -20,J2000,1,arcmin"}, ["alpha", "alpha-raw", "beta"]),
        ({"conesearch": "00:40:00 -20:00:00,J2000,0.005,deg"}, ["alpha", "alpha-raw"]),
        ({"conesearch": "200.0 45.0,0.5,arcsec"}, ["gamma"]),  # equinox left out
        ({"observationdate": "2017-09-01..2017-09-30"}, ["alpha", "alpha-raw"]),
        ({"observationdate": "2017-12-13"}, ["beta", "delta", "epsilon", "gamma"]),  # from
        ({"observationdate": "..2017-12-13"}, ["alpha", "alpha-raw", "beta"]),
        ({"wavelengthband": "K"}, ["alpha", "alpha-raw"]),
        ({"wavelengthband": "H"}, ["beta", "epsilon", "gamma"]),
        ({"wavelengthband": "L,N"}, ["delta"]),
        ({"public": "yes"}, ["alpha", "alpha-raw", "beta", "delta", "gamma"]),
        ({"public": "no"}, ["epsilon"]),
        (
            {"instrument": "GRAVITY", "caliblevel": "2", "wavelengthband": "K", "public": "yes"},
            ["alpha"],
        ),
    ],
)
def test_each_filter_selects_its_granules(oidb_server, search_catalogue, parameters, expected):
    values = {
        name: value.format(tag=search_catalogue.tag, **search_catalogue.collections)
        for name, value in parameters.items()
    }
    if not values.get("target", "").lstrip("!~").startswith(search_catalogue.tag):
        values.setdefault("collection", f"~{search_catalogue.tag}-")
        values["target"] = f"~{search_catalogue.tag}"
    assert _search(oidb_server, search_catalogue, **values) == expected


def test_pages_and_orders_in_sql(oidb_server, search_catalogue):
    url = f"{oidb_server.service_url}/api/granules"
    base = {"collection": search_catalogue.collections["public"], "order": "target_name,t_min"}
    pages = [
        httpx.get(url, params={**base, "perpage": "2", "page": str(page)}).json()
        for page in (1, 2, 3)
    ]
    assert [page["total"] for page in pages] == [5, 5, 5]
    assert [page["perpage"] for page in pages] == [2, 2, 2]
    names = [search_catalogue.names(page["items"]) for page in pages]
    assert names == [["alpha", "alpha-raw"], ["beta", "delta"], ["gamma"]]

    descending = httpx.get(url, params={**base, "order": "-t_min"}).json()["items"]
    assert search_catalogue.names(descending) == ["gamma", "delta", "beta", "alpha-raw", "alpha"]
    by_level = httpx.get(url, params={**base, "order": "-calib_level,target_name"}).json()
    assert [row["calib_level"] for row in by_level["items"]] == [3, 2, 2, 1, 0]
    beyond = httpx.get(url, params={**base, "page": "9"}).json()
    assert beyond["total"] == 5 and beyond["items"] == []


def test_items_carry_what_the_table_shows(oidb_server, search_catalogue):
    response = httpx.get(
        f"{oidb_server.service_url}/api/granules",
        params={"target": search_catalogue.target("epsilon")},
    )
    [item] = response.json()["items"]
    assert item["embargoed"] is True and item["data_rights"] == "secure"
    assert item["obs_release_date"] is not None
    assert item["collection_title"] == f"{search_catalogue.tag} embargoed collection"
    assert item["em_min"] == pytest.approx(1.5e-6) and item["instrument_name"] == "PIONIER"


def test_private_collections_only_for_their_groups(oidb_server, search_catalogue):
    def names(account=None):
        headers = account.headers if account else None
        return _search(oidb_server, search_catalogue, headers=headers, instrument="GRAVITY")

    assert names() == ["alpha", "alpha-raw"]
    assert names(search_catalogue.outsider) == ["alpha", "alpha-raw"]
    assert names(search_catalogue.member) == ["alpha", "alpha-raw", "zeta"]

    granule = f"{oidb_server.service_url}/api/granules/{search_catalogue.ids['zeta']}"
    assert httpx.get(granule).status_code == 404
    assert httpx.get(granule, headers=search_catalogue.outsider.headers).status_code == 404
    seen = httpx.get(granule, headers=search_catalogue.member.headers)
    assert seen.status_code == 200 and seen.json()["target_name"].endswith("zeta")
    # a private collection is not named in a search either
    hidden = httpx.get(
        f"{oidb_server.service_url}/api/granules",
        params={"collection": search_catalogue.collections["private"]},
    ).json()
    assert hidden["total"] == 0


def test_one_granule_as_json(oidb_server, search_catalogue):
    granule_id = search_catalogue.ids["alpha"]
    response = httpx.get(f"{oidb_server.service_url}/api/granules/{granule_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == granule_id and body["progid"] == "0100.C-0001(A)"
    assert body["interferometer_stations"] == "U1 U2 U3 U4" and body["embargoed"] is False
    assert httpx.get(f"{oidb_server.service_url}/api/granules/999999999999").status_code == 404
    assert httpx.get(f"{oidb_server.service_url}/api/granules/0").status_code == 400
    assert httpx.get(f"{oidb_server.service_url}/api/granules/{2**64}").status_code == 400


BAD_PARAMETERS = [
    ("caliblevel", "5"),
    ("caliblevel", "two"),
    ("category", "SCIENCE,FOO"),
    ("conesearch", "10 -20,J2000,1,parsec"),
    ("conesearch", "10 -20,B1950,1,deg"),
    ("conesearch", "somewhere,J2000,1,deg"),
    ("conesearch", "400 -20,J2000,1,deg"),
    ("conesearch", "10 -20,J2000,91,deg"),
    ("conesearch", "10 -20,J2000,nan,deg"),
    ("conesearch", "10 -20"),
    ("observationdate", "2017-13-01..2017-12-31"),
    ("observationdate", "2018-01-01..2017-01-01"),
    ("observationdate", ".."),
    ("wavelengthband", "X"),
    ("public", "maybe"),
    ("page", "0"),
    ("page", "x"),
    ("perpage", "1001"),
    ("order", "password"),
    ("target", "!"),
    ("target", "x" * 201),
]


@pytest.mark.parametrize(("name", "value"), BAD_PARAMETERS)
def test_bad_parameters_are_400_naming_them(oidb_server, name, value):
    response = httpx.get(f"{oidb_server.service_url}/api/granules", params={name: value})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["parameter"] == name and body["detail"].startswith(name)
    assert not any(leak in body["detail"].lower() for leak in LEAKS)


def test_unknown_parameters_and_nul_characters_are_refused(oidb_server):
    url = f"{oidb_server.service_url}/api/granules"
    unknown = httpx.get(url, params={"targte": "x"})
    assert unknown.status_code == 400 and unknown.json()["parameter"] == "targte"
    nul = httpx.get(url, params={"target": "a\x00b"})
    assert nul.status_code == 400 and nul.json()["parameter"] == "target"


# -- search.votable ----------------------------------------------------------------------


def _votable(server, **parameters) -> httpx.Response:
    response = httpx.get(f"{server.service_url}/search.votable", params=parameters)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    return response


def _params(document: bytes) -> dict[str, str]:
    votable = parse(io.BytesIO(document), verify="exception")
    return {param.name: param.value for param in votable.resources[0].params}


def test_votable_holds_the_search_with_units_and_ucds(oidb_server, search_catalogue, tmp_path):
    response = _votable(
        oidb_server, collection=search_catalogue.collections["public"], order="target_name,t_min"
    )
    votable = parse(io.BytesIO(response.content), verify="exception")
    table = votable.get_first_table().to_table()
    assert [str(name) for name in table["target_name"]] == [
        search_catalogue.target(name) for name in ("alpha", "alpha", "beta", "delta", "gamma")
    ]
    fields = {field.name: field for field in votable.get_first_table().fields}
    assert fields["s_ra"].unit == "deg" and fields["s_ra"].ucd == "pos.eq.ra"
    assert fields["em_min"].unit == "m" and fields["t_min"].unit == "d"
    assert fields["access_estsize"].unit == "kbyte"
    assert table["em_max"][0] == pytest.approx(2.4e-6)
    # several instruments: no configuration PARAMs for ASPRO2
    assert "INSTRUMENT" not in _params(response.content)

    # the whole catalogue, embargo dates included
    everything = _votable(oidb_server, target=search_catalogue.tag)
    release = parse(io.BytesIO(everything.content)).get_first_table().to_table()
    [date] = [str(value) for value in release["obs_release_date"] if str(value).strip("- ")]
    assert date.endswith("Z") and date[10] == "T"
    path = tmp_path / "search.vot"
    path.write_bytes(everything.content)
    lint = subprocess.run(
        ["stilts", "votlint", f"votable={path}", "validate=true"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout + lint.stderr


def test_votable_of_one_instrument_carries_asprox_params(oidb_server, search_catalogue):
    response = _votable(oidb_server, TARGET=search_catalogue.target("alpha"), Instrument="GRAVITY")
    params = _params(response.content)
    assert params == {
        "INSTRUMENT": "GRAVITY",
        "INTERFEROMETER": "VLTI",
        "PERIOD": "99",  # 2017-09-04
        "CONFIGURATIONS": "U1 U2 U3 U4",
        "OPERATION": "NEW",
    }
    table = parse(io.BytesIO(response.content)).get_first_table().to_table()
    assert len(table) == 2


def test_votable_follows_rights(oidb_server, search_catalogue):
    url = f"{oidb_server.service_url}/search.votable"
    query = {"collection": search_catalogue.collections["private"]}

    def rows(headers=None) -> int:
        response = httpx.get(url, params=query, headers=headers or {})
        return len(parse(io.BytesIO(response.content)).get_first_table().to_table())

    assert rows() == 0
    assert rows(search_catalogue.outsider.headers) == 0
    assert rows(search_catalogue.member.headers) == 1


@pytest.mark.parametrize(("name", "value"), [*BAD_PARAMETERS[:6], ("targte", "x")])
def test_votable_errors_are_votables(oidb_server, name, value):
    response = httpx.get(f"{oidb_server.service_url}/search.votable", params={name: value})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    votable = parse(io.BytesIO(response.content), verify="exception")
    [status] = [info for info in votable.resources[0].infos if info.name == "QUERY_STATUS"]
    assert status.value == "ERROR" and name in status.content


def test_aspro_params_name_the_instrument_family_and_its_configurations():
    def row(instrument, stations, t_min):
        return {
            "instrument_name": instrument,
            "facility_name": "VLTI",
            "interferometer_stations": stations,
            "t_min": t_min,
        }

    gravity = aspro_params(
        [row("GRAVITY_SC", "U1-U2-U3-U4", 58500.1), row("GRAVITY_FT", "A0-G1-J2-K0", 58400.2)]
    )
    assert {param.name: param.value for param in gravity} == {
        "INSTRUMENT": "GRAVITY",
        "INTERFEROMETER": "VLTI",
        "PERIOD": "102",  # 2018-10-12: period 102 (October 2018 to March 2019)
        "CONFIGURATIONS": "A0 G1 J2 K0,U1 U2 U3 U4",
        "OPERATION": "NEW",
    }
    pionier = aspro_params([row("PIONIER_Pnat(1.52/1.76)", None, 58000.1)])  # 2017-09-04
    assert {param.name: param.value for param in pionier}["PERIOD"] == "99"
    assert aspro_params([row("GRAVITY_SC", None, 1.0), row("PIONIER", None, 1.0)]) == ()
    assert aspro_params([]) == ()
    assert eso_period(datetime(2018, 4, 1, tzinfo=UTC)) == 101
    assert eso_period(datetime(2018, 3, 31, tzinfo=UTC)) == 100


def test_the_search_cone_uses_the_position_index_once_its_functions_are_leakproof(
    oidb_service_database,
):
    """The search's cone is written as ``ix_granules_position`` indexes the position: once
    pg_sphere's functions are declared leakproof (where the cluster is set up), the index
    serves it under the row rules of the reader."""
    query = storage_search.summary_query(SearchCriteria(cone=Cone(150.0, 2.0, 0.1))).limit(25)
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    with oidb_service_database.engine.connect() as connection:
        transaction = connection.begin()
        try:
            for function in CONE_FUNCTIONS:
                connection.exec_driver_sql(f"ALTER FUNCTION {function} LEAKPROOF")
            connection.exec_driver_sql("SET LOCAL search_path = oidb, public")
            connection.exec_driver_sql("SET LOCAL ROLE oidb_reader")
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
        finally:
            transaction.rollback()
    assert "Index Scan using ix_granules_position on granules" in plan

"""ObsCore 1.1 as ``ivoa.obscore`` through a real TAP server on OiDB's database: what TAP_SCHEMA
and the capabilities say, the rows each caller sees (private collections hidden as on the
service's own pages), live data rights, the cone search, and taplint's verdict."""

import io
import re
import subprocess
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from astropy.io.votable import parse as parse_votable

from jmmc_core.tap_publishing import CONE_FUNCTIONS, disagreements
from oidb.schema.catalogue import Granule
from oidb.schema.published import TABLES

DATALINK_FORMAT = "application/x-votable+xml;content=datalink"
TAPLINT_STAGES = "TMV TME TMS TMC CPV OBS"
TOTALS = re.compile(r"^Totals: Errors: (\d+); Warnings: (\d+); Failures: (\d+)", re.MULTILINE)


def add_granule(database, collection: str, **values) -> int:
    """A file granule (level 2) of ``collection`` with ObsCore values a test can check."""
    row = {
        "obs_collection": collection,
        "calib_level": 2,
        "dataproduct_type": "visibility",
        "target_name": "HD 1234",
        "s_ra": 10.0,
        "s_dec": -20.0,
        "t_min": 59000.0,
        "t_max": 59000.1,
        "em_min": 1.5e-6,
        "em_max": 1.8e-6,
        "facility_name": "VLTI",
        "instrument_name": "PIONIER",
        "nb_channels": 6,
        "access_format": DATALINK_FORMAT,
        **values,
    }
    with database.session() as session:
        granule = Granule(**row)
        session.add(granule)
        session.flush()
        granule.obs_publisher_did = f"ivo://jmmc.fr/oidb?{granule.id}"
        granule.access_url = f"http://oidb.test/oidb/datalink?ID={granule.id}"
        return granule.id


def query(tap, adql: str, headers: dict[str, str] | None = None) -> list[dict]:
    answer = httpx.post(
        f"{tap.tap_url}/sync",
        data={"LANG": "ADQL", "QUERY": adql, "FORMAT": "votable"},
        headers=headers or {},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    table = parse_votable(io.BytesIO(answer.content)).get_first_table().to_table()
    return [dict(zip(table.colnames, row, strict=True)) for row in table]


def ids_of(tap, collection: str, headers=None) -> set[int]:
    rows = query(tap, f"SELECT id FROM ivoa.obscore WHERE obs_collection = '{collection}'", headers)
    return {int(row["id"]) for row in rows}


@pytest.fixture(scope="module")
def group_and_member(oidb_accounts):
    group, group_id = oidb_accounts.group()
    return group_id, oidb_accounts.new(groups=(group,))


def test_the_database_holds_what_is_declared(oidb_service_database):
    with oidb_service_database.engine.connect() as connection:
        assert disagreements(connection, TABLES) == []


def test_tap_schema_describes_obscore(oidb_tap):
    columns = {
        row["column_name"]: row
        for row in query(
            oidb_tap,
            "SELECT column_name, datatype, arraysize, xtype, unit, ucd, utype, std"
            " FROM TAP_SCHEMA.columns WHERE table_name = 'ivoa.obscore'",
        )
    }
    assert (
        columns["s_region"]["xtype"] == "adql:REGION" and columns["s_region"]["datatype"] == "char"
    )
    assert columns["access_estsize"]["unit"] == "kbyte"
    assert columns["t_min"]["utype"] == "obscore:Char.TimeAxis.Coverage.Bounds.Limits.StartTime"
    mandatory = {"dataproduct_type", "calib_level", "obs_collection", "obs_id",
                 "obs_publisher_did", "access_url", "access_format", "access_estsize",
                 "target_name", "s_ra", "s_dec", "s_fov", "s_region", "s_resolution", "s_xel1",
                 "s_xel2", "t_min", "t_max", "t_exptime", "t_resolution", "t_xel", "em_min",
                 "em_max", "em_res_power", "em_xel", "o_ucd", "pol_states", "pol_xel",
                 "facility_name", "instrument_name"}  # fmt: skip
    assert mandatory <= set(columns)
    assert {"nb_vis2", "nb_t3", "instrument_mode", "progid", "datapi"} <= set(columns)
    capabilities = httpx.get(f"{oidb_tap.tap_url}/capabilities").text
    assert "ivo://ivoa.net/std/ObsCore" in capabilities


def test_private_collections_are_hidden_from_tap_as_from_pages(
    oidb_tap, oidb_service_database, oidb_collection, oidb_accounts, group_and_member
):
    group_id, member = group_and_member
    public = oidb_collection()
    private = oidb_collection(private=True, groups=(group_id,))
    public_granule = add_granule(oidb_service_database, public)
    private_granule = add_granule(oidb_service_database, private)

    assert ids_of(oidb_tap, public) == {public_granule}
    assert ids_of(oidb_tap, private) == set()
    assert ids_of(oidb_tap, private, oidb_accounts.new().headers) == set()
    assert ids_of(oidb_tap, private, member.headers) == {private_granule}
    everything = query(oidb_tap, "SELECT COUNT(*) AS n FROM ivoa.obscore WHERE obs_collection"
                       f" IN ('{public}', '{private}')")  # fmt: skip
    assert int(everything[0]["n"]) == 1


def test_an_error_cannot_reveal_a_hidden_row(oidb_tap, oidb_service_database, oidb_collection):
    """The view is a security barrier: a condition that fails on a hidden row's value (here a
    division by zero at its declination) runs after the rule, so the query succeeds."""
    private = oidb_collection(private=True)
    add_granule(oidb_service_database, private, s_dec=-33.125)
    rows = query(oidb_tap, "SELECT id FROM ivoa.obscore WHERE 1 / (s_dec + 33.125) > 0")
    assert all(row["id"] for row in rows)


def test_rows_carry_obscore_values(oidb_tap, oidb_service_database, oidb_collection):
    collection = oidb_collection("pionier")
    now = datetime.now(UTC)
    embargoed = add_granule(
        oidb_service_database, collection, s_fov=0.002, data_rights="secure",
        obs_release_date=now + timedelta(days=100))  # fmt: skip
    ended = add_granule(
        oidb_service_database, collection, data_rights="secure",
        obs_release_date=now - timedelta(days=1))  # fmt: skip
    rows = {
        int(row["id"]): row
        for row in query(
            oidb_tap,
            "SELECT id, data_rights, s_region, access_url, access_format, em_xel FROM ivoa.obscore"
            f" WHERE obs_collection = '{collection}'",
        )
    }
    assert rows[embargoed]["data_rights"] == "secure"
    assert rows[ended]["data_rights"] == "public"
    # ObsCore's s_region is an STC-S string, written from the pg_sphere circle.
    assert rows[embargoed]["s_region"] == "CIRCLE ICRS 10 -20 0.001"
    assert rows[ended]["s_region"] == "CIRCLE ICRS 10 -20 0"
    assert rows[ended]["access_format"] == DATALINK_FORMAT
    assert rows[ended]["access_url"].endswith(f"ID={ended}")
    assert int(rows[ended]["em_xel"]) == 6


def test_the_cone_search_finds_granules(oidb_tap, oidb_service_database, oidb_collection):
    collection = oidb_collection()
    near = add_granule(oidb_service_database, collection, s_ra=150.0, s_dec=2.0)
    far = add_granule(oidb_service_database, collection, s_ra=151.0, s_dec=2.0)
    rows = query(
        oidb_tap,
        "SELECT id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec),"
        f" CIRCLE('ICRS', 150.0, 2.0, 0.1)) = 1 AND obs_collection = '{collection}'",
    )
    assert {int(row["id"]) for row in rows} == {near}
    regions = query(
        oidb_tap,
        "SELECT id FROM ivoa.obscore WHERE INTERSECTS(s_region, CIRCLE('ICRS', 151.0, 2.0,"
        f" 0.1)) = 1 AND obs_collection = '{collection}'",
    )
    assert {int(row["id"]) for row in regions} == {far}


def test_taplint_finds_no_error_in_obscore(oidb_tap, oidb_service_database, oidb_collection):
    add_granule(oidb_service_database, oidb_collection(), s_fov=0.001, access_estsize=120)
    result = subprocess.run(
        ["stilts", "taplint", f"tapurl={oidb_tap.tap_url}", f"stages={TAPLINT_STAGES}",
         "report=EWF", "maxrepeat=5"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    totals = TOTALS.search(result.stdout)
    assert totals is not None, f"taplint did not finish:\n{result.stdout}\n{result.stderr}"
    problems = {line for line in result.stdout.splitlines() if line[:2] in ("E-", "F-")}
    assert problems == set(), f"taplint:\n{problems}\n{totals.group(0)}"


#: What TAP runs for ``CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 150, 2, 0.1)) = 1``.
CONE = (
    "SELECT id FROM ivoa.obscore WHERE spoint(radians(s_ra), radians(s_dec))"
    " <@ scircle(spoint(radians(150.0), radians(2.0)), radians(0.1))"
)


def _cone_plan(connection, leakproof: bool) -> str:
    """The plan of the cone as TAP's reader, in a transaction rolled back (the functions stay
    as they were for every other test)."""
    transaction = connection.begin()
    try:
        if leakproof:
            for function in CONE_FUNCTIONS:
                connection.exec_driver_sql(f"ALTER FUNCTION {function} LEAKPROOF")
        connection.exec_driver_sql("SET LOCAL ROLE tap_reader")
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {CONE}"))
    finally:
        transaction.rollback()


def test_the_cone_uses_the_position_index_once_its_functions_are_leakproof(
    oidb_service_database,
):
    """The security barrier keeps pg_sphere's functions (not declared leakproof) above the rule:
    the cone reads every granule. Declared leakproof where the cluster is set up, the condition
    reaches the granules and ``ix_granules_position`` serves it."""
    with oidb_service_database.engine.connect() as connection:
        assert "ix_granules_position" not in _cone_plan(connection, leakproof=False)
        assert "ix_granules_position" in _cone_plan(connection, leakproof=True)

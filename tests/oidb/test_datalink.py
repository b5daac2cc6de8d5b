"""DataLink 1.1 as a VO client reads it: pyvo follows the links of ingested granules.

Three collections (public, embargoed for a year from last week, private) and a level-0
granule; callers anonymous, member of the collections' group, and another signed-in user.
"""

import io
import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree

import httpx
import pytest
import requests
from astropy.io.votable import parse
from PIL import Image
from pyvo.dal import TAPService
from pyvo.dal.adhoc import DatalinkQuery, DatalinkResults

from oidb.schema.catalogue import Granule
from oidb.services.embargo import MJD_EPOCH
from oidb.services.ingestion import ingest_file

from .conftest import PLATFORM
from .oifits_factory import make_oifits

DATALINK_TYPE = "application/x-votable+xml;content=datalink"
LINK_COLUMNS = ["ID", "access_url", "service_def", "error_message", "semantics", "description",
                "content_type", "content_length", "content_qualifier", "local_semantics",
                "link_auth", "link_authorized"]  # fmt: skip


def _mjd_days_ago(days: float) -> float:
    return (datetime.now(UTC) - MJD_EPOCH).total_seconds() / 86400 - days


@dataclass
class Catalogue:
    public_file: bytes
    public_granules: list[int]
    embargoed_file: bytes
    embargoed_granules: list[int]
    private_granules: list[int]
    level0: int


@pytest.fixture(scope="module")
def catalogue(oidb_collection, oidb_ingest, oidb_service_database, group) -> Catalogue:
    _, group_id = group
    public = oidb_collection("public")
    embargoed = oidb_collection("pionier", groups=(group_id,))
    private = oidb_collection("public", private=True, groups=(group_id,))
    public_file = make_oifits(targets=("HD 1", "HD 2"), vis=True)
    recent_file = make_oifits(targets=("HD 3",), first_mjd=_mjd_days_ago(7), seed=1)
    first = oidb_ingest(public, "two-targets.fits", public_file)
    second = oidb_ingest(embargoed, "recent.fits", recent_file)
    third = oidb_ingest(private, "private.fits", make_oifits(targets=("HD 4",), seed=2))
    assert (first.state, second.state, third.state) == ("accepted",) * 3
    log = oidb_collection("eso")
    with oidb_service_database.session() as session:
        exposure = Granule(
            obs_collection=log,
            calib_level=0,
            target_name="HD 5",
            obs_id="1234567",
            instrument_mode="LOW",
            access_url="https://archive.example/query?dp_id=PIONI.2017-09-04T03:00:00.000",
            access_format="text/html",
        )
        session.add(exposure)
        session.flush()
        level0 = exposure.id
    return Catalogue(
        public_file, first.granule_ids, recent_file, second.granule_ids, third.granule_ids, level0
    )


@pytest.fixture(scope="module")
def group(oidb_accounts) -> tuple[str, int]:
    return oidb_accounts.group()


@pytest.fixture(scope="module")
def member(oidb_accounts, group):
    return oidb_accounts.new(groups=(group[0],))


def _session(account=None) -> requests.Session:
    session = requests.Session()
    if account is not None:
        session.headers.update(account.headers)
    return session


def _links(server, *identifiers, account=None) -> DatalinkResults:
    query = "&".join(f"ID={identifier}" for identifier in identifiers)
    return DatalinkResults.from_result_url(
        f"{server.service_url}/datalink?{query}", session=_session(account)
    )


def _by(results, semantics: str) -> list:
    """The rows of one semantics (pyvo's ``bysemantics`` fetches the vocabulary online)."""
    return [row for row in results if row.semantics == semantics]


def _did(granule_id: int) -> str:
    return f"ivo://jmmc.fr/oidb?{granule_id}"


def test_pyvo_reads_the_links_of_a_public_granule_and_fetches_them(oidb_server, catalogue):
    granule = catalogue.public_granules[0]
    results = _links(oidb_server, _did(granule))
    assert list(results.fieldnames) == LINK_COLUMNS
    assert all(row.semantics for row in results)
    assert {row.id for row in results} == {_did(granule)}
    this = _by(results, "#this")[0]
    assert this.error_message == ""
    assert this.content_type == "application/fits"
    assert this.content_length == len(catalogue.public_file)
    assert (this["link_auth"], this["link_authorized"]) == ("false", True)
    assert this.getdataset(timeout=30).read() == catalogue.public_file
    previews = {row["local_semantics"]: row for row in _by(results, "#preview")}
    assert sorted(previews) == ["t3phi", "uv", "vis2"]
    for row in previews.values():
        assert row.content_type == "image/png"
        picture = Image.open(io.BytesIO(row.getdataset(timeout=60).read()))
        assert picture.format == "PNG" and picture.size == (800, 600)
    report = _by(results, "#auxiliary")[0]
    assert report.content_type == "application/json"
    record = json.loads(report.getdataset(timeout=30).read())
    assert record["state"] == "accepted" and "messages" in record["report"]
    assert _by(results, "#documentation")[0].access_url.endswith(f"/granules/{granule}")


def test_several_identifiers_keep_their_links_together_and_unknown_ones_fault(
    oidb_server, catalogue
):
    first, second = catalogue.public_granules
    identifiers = [_did(first), "ivo://jmmc.fr/oidb?999999999", str(second), "nonsense"]
    results = _links(oidb_server, *identifiers)
    order = [row.id for row in results]
    # Each identifier's rows are contiguous, in the order asked.
    assert list(dict.fromkeys(order)) == identifiers
    assert order == sorted(order, key=identifiers.index)
    faults = {row.id: row.error_message for row in results if row.error_message}
    assert set(faults) == {"ivo://jmmc.fr/oidb?999999999", "nonsense"}
    assert all(message.startswith("NotFoundFault") for message in faults.values())
    assert all(row.semantics == "#this" for row in results if row.id in faults)


def test_a_private_granule_is_unknown_outside_its_groups(
    oidb_server, oidb_accounts, catalogue, member
):
    granule = _did(catalogue.private_granules[0])
    for account in (None, oidb_accounts.new()):
        (row,) = list(_links(oidb_server, granule, account=account))
        assert row.error_message.startswith("NotFoundFault")
        assert row["access_url"] == ""
    this = _by(_links(oidb_server, granule, account=member), "#this")[0]
    assert this.error_message == "" and this.access_url
    assert (this["link_auth"], this["link_authorized"]) == ("true", True)


def test_an_embargoed_file_is_refused_in_the_links_and_at_the_download(
    oidb_server, oidb_accounts, catalogue, member
):
    granule = _did(catalogue.embargoed_granules[0])
    other = oidb_accounts.new()
    for account, fault in ((None, "AuthenticationFault"), (other, "AuthorizationFault")):
        results = _links(oidb_server, granule, account=account)
        this = _by(results, "#this")[0]
        assert this.error_message.startswith(fault) and this["access_url"] == ""
        assert (this["link_auth"], this["link_authorized"]) == ("true", False)
        assert all(row.error_message for row in _by(results, "#preview"))
        # Its metadata stay public: the report and the page are linked.
        assert _by(results, "#auxiliary")[0].access_url
    this = _by(_links(oidb_server, granule, account=member), "#this")[0]
    assert this.error_message == ""
    assert (this["link_auth"], this["link_authorized"]) == ("true", True)
    response = _session(member).get(this.access_url, timeout=30)
    assert response.status_code == 200 and response.content == catalogue.embargoed_file
    url = f"{oidb_server.service_url}/files/{catalogue.embargoed_granules[0]}"
    anonymous = httpx.get(url)
    assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers
    assert httpx.get(url, headers=other.headers).status_code == 403


def test_a_level0_granule_links_to_the_archive_and_the_observation_log(oidb_server, catalogue):
    results = _links(oidb_server, str(catalogue.level0))
    this = _by(results, "#this")[0]
    assert this.access_url.startswith("https://archive.example/query")
    page = _by(results, "#auxiliary")[0]
    assert page.access_url.endswith("/detail/exposure/1234567")
    assert not _by(results, "#preview")


def test_post_and_parameter_names_in_any_case(oidb_server, catalogue):
    granule = str(catalogue.public_granules[0])
    query = DatalinkQuery(f"{oidb_server.service_url}/datalink", id=granule)
    assert {row.id for row in query.execute()} == {granule}  # pyvo posts the form
    response = httpx.get(f"{oidb_server.service_url}/datalink", params={"id": granule})
    assert response.status_code == 200
    assert response.headers["content-type"] == DATALINK_TYPE
    both = [granule, str(catalogue.level0)]
    posted = httpx.post(f"{oidb_server.service_url}/datalink", data={"Id": both})
    table = parse(io.BytesIO(posted.content)).get_first_table().to_table()
    assert list(dict.fromkeys(table["ID"])) == both


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({}, "ID"),
        ({"ID": [str(n) for n in range(1, 102)]}, "ID"),
        ({"ID": "1", "RESPONSEFORMAT": "text/csv"}, "RESPONSEFORMAT"),
        ({"ID": "x" * 401}, "ID"),
    ],
)
def test_a_bad_request_is_a_dali_error_naming_the_parameter(oidb_server, params, parameter):
    response = httpx.get(f"{oidb_server.service_url}/datalink", params=params)
    assert response.status_code == 400
    table = parse(io.BytesIO(response.content))
    status = next(info for info in table.resources[0].infos if info.name == "QUERY_STATUS")
    assert status.value == "ERROR" and parameter in status.content


def test_the_answer_is_valid_votable(oidb_server, catalogue, tmp_path):
    identifiers = [str(catalogue.public_granules[0]), "nonsense", str(catalogue.level0)]
    response = httpx.get(f"{oidb_server.service_url}/datalink", params={"ID": identifiers})
    document = tmp_path / "links.vot"
    document.write_bytes(response.content)
    parse(str(document), verify="exception")
    votlint = subprocess.run(
        ["stilts", "votlint", f"votable={document}"], capture_output=True, text=True, timeout=120
    )
    assert votlint.returncode == 0 and not votlint.stdout.strip(), votlint.stdout


VOSI = "{http://www.ivoa.net/xml/VOSICapabilities/v1.0}"


def test_capabilities_and_availability_parse(oidb_server):
    capabilities = httpx.get(f"{oidb_server.service_url}/datalink/capabilities")
    assert capabilities.status_code == 200
    root = ElementTree.fromstring(capabilities.content)
    standards = {
        capability.get("standardID"): capability.find(".//accessURL").text
        for capability in root.iter("capability")
    }
    assert standards["ivo://ivoa.net/std/DataLink#links-1.1"].endswith("/oidb/datalink")
    assert "ivo://ivoa.net/std/VOSI#availability" in standards
    availability = httpx.get(f"{oidb_server.service_url}/datalink/availability")
    root = ElementTree.fromstring(availability.content)
    available = next(element for element in root.iter() if element.tag.endswith("available"))
    assert available.text == "true"


def test_an_obscore_row_found_through_tap_leads_pyvo_to_its_links(
    oidb_server, oidb_tap, oidb_settings, oidb_service_database, oidb_collection
):
    # Ingested under the served URL, so ObsCore's access_url points at this test server.
    settings = oidb_settings.model_copy(update={"public_url": oidb_server.service_url})
    content = make_oifits(targets=("HD 6",), seed=6)
    (granule,) = ingest_file(oidb_service_database, settings, PLATFORM,
                             collection_id=oidb_collection(), filename="tap.fits",
                             content=content).granule_ids  # fmt: skip
    rows = TAPService(oidb_tap.tap_url).run_sync(
        "SELECT access_url, access_format FROM ivoa.obscore"
        f" WHERE obs_publisher_did = '{_did(granule)}'"
    )
    assert rows[0]["access_format"] == DATALINK_TYPE
    (links,) = list(rows.iter_datalinks())
    this = _by(links, "#this")[0]
    assert this.getdataset(timeout=30).read() == content

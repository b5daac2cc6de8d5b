"""The pages over HTTP: search (home), granule, collections and the upload form's guard.

Pages accept the same credentials as the API (a token here; the browser tests sign in), and
show what the caller may see: a private collection is a 404 to others, an embargoed file and
its quick-looks are not offered to them.
"""

import html
import re
from contextlib import closing
from datetime import UTC, date, datetime

import httpx
import pytest

from oidb.services.access import Caller
from oidb.services.collections import ensure_collection
from oidb.services.ingestion import ingest_file

from .oifits_factory import make_oifits

HTML = {"Accept": "text/html"}
#: Ranges on the pages are written with an en dash.
DASH = "\u2013"


def _page(server, path: str, account=None, **parameters) -> httpx.Response:
    headers = {**HTML, **(account.headers if account else {})}
    return httpx.get(f"{server.service_url}{path}", params=parameters, headers=headers)


def _text(response: httpx.Response) -> str:
    """The page's text without tags or repeated spaces."""
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.text).split()))


def test_home_answers_scripts_with_the_service_facts(oidb_server):
    facts = httpx.get(f"{oidb_server.service_url}/").json()
    assert facts["service"] == "oidb" and facts["health"] == "/oidb/health"
    assert httpx.get(oidb_server.service_url).status_code in (200, 307)


def test_search_page_lists_granules_for_reading(oidb_server, search_catalogue):
    response = _page(oidb_server, "/", target=search_catalogue.tag, order="t_min")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    text = _text(response)
    assert "6 granules, page 1 of 1" in text
    # dates in ISO (MJD 58000.10 is 2017-09-04 02:24 UTC), wavelengths in µm, rights in words
    assert f"2017-09-04 02:24{DASH}04:48" in text
    assert f"2.000 {DASH} 2.400" in text
    assert f'title="{search_catalogue.tag} public collection"' in response.text
    release = re.search(r"embargoed until (\d{4}-\d{2}-\d{2})", text)
    assert release and date.fromisoformat(release.group(1)) > date.today()
    links = re.findall(r'href="/oidb/granules/(\d+)"', response.text)
    assert [int(link) for link in links] == [
        search_catalogue.ids[name]
        for name in ("alpha", "alpha-raw", "beta", "delta", "gamma", "epsilon")
    ]
    # the export links carry the same search
    assert f"search.votable?target={search_catalogue.tag.replace(' ', '+')}" in response.text


def test_search_page_pages_and_sorts(oidb_server, search_catalogue):
    response = _page(
        oidb_server, "/", target=search_catalogue.tag, perpage="2", page="2", order="-t_min"
    )
    assert "6 granules, page 2 of 3" in _text(response)
    links = [int(link) for link in re.findall(r'href="/oidb/granules/(\d+)"', response.text)]
    assert links == [search_catalogue.ids["delta"], search_catalogue.ids["beta"]]
    assert 'id="previous"' in response.text and 'id="next"' in response.text
    assert "▼" in response.text  # the sorted column says so


def test_search_page_refuses_bad_values_with_a_page(oidb_server):
    response = _page(oidb_server, "/", wavelengthband="Z")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "wavelengthband: 'Z' is not one of" in _text(response)
    assert 'id="platform-header"' in response.text


def test_granule_page_shows_every_column(oidb_server, search_catalogue):
    response = _page(oidb_server, f"/granules/{search_catalogue.ids['alpha']}")
    assert response.status_code == 200
    text = _text(response)
    for expected in ("0100.C-0001(A)", "U1 U2 U3 U4", "HIGH-COMBINED", "Ann Smith", "public"):
        assert expected in text
    assert "58000.1 (2017-09-04 02:24 UTC)" in text
    assert 'id="previews"' not in response.text  # no file, no quick-looks


def test_private_pages_are_for_their_groups(oidb_server, search_catalogue):
    granule = f"/granules/{search_catalogue.ids['zeta']}"
    collection = f"/collections/{search_catalogue.collections['private']}"
    for path in (granule, collection):
        assert _page(oidb_server, path).status_code == 404
        assert _page(oidb_server, path, search_catalogue.outsider).status_code == 404
        assert _page(oidb_server, path, search_catalogue.member).status_code == 200
    listing = _text(_page(oidb_server, "/collections"))
    assert f"{search_catalogue.tag} embargoed collection" in listing
    assert f"{search_catalogue.tag} private collection" not in listing
    member = _text(_page(oidb_server, "/collections", search_catalogue.member))
    assert f"{search_catalogue.tag} private collection" in member


def test_collection_page_describes_it_and_lists_its_granules(oidb_server, search_catalogue):
    response = _page(oidb_server, f"/collections/{search_catalogue.collections['embargoed']}")
    text = _text(response)
    assert "Type pionier" in text and "Embargo 1 year after the observation" in text
    assert "Granules 1" in text and "1 granule, page 1 of 1" in text
    assert _page(oidb_server, "/collections/no-such-collection").status_code == 404


@pytest.fixture(scope="module")
def files(oidb_server, oidb_settings, oidb_accounts, oidb_service_database):
    """Granules with files: one public (2017, public collection), one observed ten days ago in
    a PIONIER collection (a year of embargo); a member of that collection's group, an outsider."""
    group, group_id = oidb_accounts.group()
    public_id, pionier_id = oidb_accounts.unique("web-public"), oidb_accounts.unique("web-pionier")
    with oidb_service_database.session() as session:
        ensure_collection(session, public_id, "Web public", "public")
        ensure_collection(session, pionier_id, "Web PIONIER", "pionier", groups={group_id: False})
    recent = (datetime.now(UTC) - datetime(1858, 11, 17, tzinfo=UTC)).days - 10 + 0.125

    def ingest(collection_id: str, **options) -> int:
        result = ingest_file(
            oidb_service_database,
            oidb_settings,
            Caller(None, admin=True),
            collection_id=collection_id,
            filename="web.fits",
            content=make_oifits(targets=(oidb_accounts.unique("HD web"),), **options),
        )
        assert result.state == "accepted", result.reject_reason
        return result.granule_ids[0]

    return {
        "public": ingest(public_id),
        "embargoed": ingest(pionier_id, first_mjd=recent),
        "member": oidb_accounts.new(groups=(group,)),
        "outsider": oidb_accounts.new(),
    }


def test_granule_page_offers_the_file_its_previews_and_report(oidb_server, files):
    response = _page(oidb_server, f"/granules/{files['public']}")
    assert response.status_code == 200
    download = re.search(r'id="download" href="([^"]+)"', response.text)
    assert download and download.group(1).endswith("/web.fits")
    assert 'id="datalink"' in response.text and 'id="file"' in response.text
    previews = re.findall(r'<img class="preview" id="preview-(\w+)" src="([^"]+)"', response.text)
    assert [kind for kind, _ in previews] == ["vis2", "t3phi", "uv"]
    image = httpx.get(f"{oidb_server.url}{previews[0][1]}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    fetched = httpx.get(f"{oidb_server.url}{download.group(1)}")
    assert fetched.status_code == 200 and fetched.content.startswith(b"SIMPLE")


def test_embargoed_files_are_offered_to_their_groups_only(oidb_server, files):
    path = f"/granules/{files['embargoed']}"
    for account in (None, files["outsider"]):
        response = _page(oidb_server, path, account)
        assert response.status_code == 200  # the metadata stay searchable
        assert 'id="download"' not in response.text and 'id="previews"' not in response.text
        assert re.search(r"embargoed until \d{4}-\d{2}-\d{2}", _text(response))
    member = _page(oidb_server, path, files["member"])
    assert 'id="download"' in member.text and 'id="previews"' in member.text


def test_upload_page_needs_a_signed_in_browser(oidb_server, search_catalogue):
    response = httpx.get(f"{oidb_server.service_url}/upload", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/oidb/account/signin?next=%2Foidb%2Fupload"
    posted = httpx.post(
        f"{oidb_server.service_url}/upload",
        headers=HTML,
        data={"collection": "x", "csrf_token": "x"},
        files={"file": ("a.fits", b"SIMPLE")},
    )
    assert posted.status_code == 303


def _signed_in(server, account) -> httpx.Client:
    """A client holding a browser session of ``account`` (the sign-in form, as a browser)."""
    client = httpx.Client(base_url=server.service_url, headers=HTML)
    form = client.get("/account/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    signed = client.post(
        "/account/signin",
        data={"username": account.username, "password": account.password, "csrf_token": token},
    )
    assert signed.status_code == 303
    return client


def _upload_token(client: httpx.Client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/upload").text).group(1)


def test_upload_refusals_are_pages_naming_the_reason(
    oidb_server, oidb_accounts, oidb_service_database, search_catalogue
):
    group, group_id = oidb_accounts.group()
    writer = oidb_accounts.new(groups=(group,))
    collection_id = oidb_accounts.unique("web-uploads")
    with oidb_service_database.session() as session:
        ensure_collection(session, collection_id, "Web uploads", "public", groups={group_id: True})
    fits = make_oifits(targets=(oidb_accounts.unique("HD refused"),))
    with closing(_signed_in(oidb_server, writer)) as client:
        form = client.get("/upload")
        assert f'<option value="{collection_id}"' in form.text
        # a collection the user only reads is not offered, nor accepted
        assert search_catalogue.collections["public"] not in form.text
        token = _upload_token(client)
        refused = client.post(
            "/upload",
            data={"collection": search_catalogue.collections["public"], "csrf_token": token},
            files={"file": ("x.fits", fits)},
        )
        assert refused.status_code == 403 and "may not write" in _text(refused)
        forged = client.post(
            "/upload",
            data={"collection": collection_id, "csrf_token": "forged"},
            files={"file": ("x.fits", fits)},
        )
        assert forged.status_code == 403 and "reload the page" in _text(forged)
        unchosen = client.post(
            "/upload",
            data={"collection": "", "csrf_token": token},
            files={"file": ("x.fits", fits)},
        )
        assert unchosen.status_code == 400 and "collection:" in _text(unchosen)
        missing = client.post("/upload", data={"collection": collection_id, "csrf_token": token})
        assert missing.status_code == 400 and "file" in _text(missing)
        accepted = client.post(
            "/upload",
            data={"collection": collection_id, "csrf_token": token},
            files={"file": ("C:\\data\\night.fits", fits)},
        )
        assert accepted.status_code == 200
        assert "night.fits" in accepted.text and "Accepted: 1 granule" in _text(accepted)

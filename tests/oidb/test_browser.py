"""The pages end to end in headless Chromium: search by target, sort, page, open a granule and
see its quick-looks; sign in, upload a file, read its report."""

from playwright.sync_api import Page, expect

from oidb.services.access import Caller
from oidb.services.collections import ensure_collection
from oidb.services.ingestion import ingest_file

from .oifits_factory import make_oifits


def _first_nights(page: Page) -> list[float]:
    cells = page.locator("#results tbody td.date")
    return [float(cell.get_attribute("data-mjd")) for cell in cells.all()]


def test_search_sort_page_and_open_a_granule(
    oidb_server, oidb_settings, oidb_accounts, oidb_service_database, page
):
    collection_id = oidb_accounts.unique("browser")
    with oidb_service_database.session() as session:
        ensure_collection(session, collection_id, "Browser tests", "public")
    target = oidb_accounts.unique("HD browser")
    # three targets on three nights each: nine granules, two pages of five
    result = ingest_file(
        oidb_service_database,
        oidb_settings,
        Caller(None, admin=True),
        collection_id=collection_id,
        filename="browser.fits",
        content=make_oifits(targets=(f"{target} A", f"{target} B", f"{target} C"), nights=3),
    )
    assert result.state == "accepted" and len(result.granule_ids) == 9

    page.goto(f"{oidb_server.service_url}/")
    page.fill("#target", target)
    page.select_option("#perpage", "25")
    page.click("#submit")
    expect(page.locator("#summary")).to_have_text("9 granules, page 1 of 1")
    newest_first = _first_nights(page)
    assert newest_first == sorted(newest_first, reverse=True)  # default: latest first

    page.click("a.sort[data-key='t_min']")
    expect(page.locator("a.sort[data-key='t_min']")).to_contain_text("▲")
    assert _first_nights(page) == sorted(newest_first)

    page.goto(f"{page.url}&perpage=5")
    expect(page.locator("#summary")).to_have_text("9 granules, page 1 of 2")
    first = _first_nights(page)
    page.click("#next")
    expect(page.locator("#summary")).to_have_text("9 granules, page 2 of 2")
    second = _first_nights(page)
    assert len(first) == 5 and len(second) == 4 and first[-1] <= second[0]

    granule = page.locator("a.granule").first
    granule_id = granule.inner_text()
    granule.click()
    expect(page.locator("#granule-title")).to_contain_text(f"granule {granule_id}")
    expect(page.locator("#rights")).to_contain_text("public")
    for kind in ("vis2", "t3phi", "uv"):
        image = page.locator(f"#preview-{kind}")
        image.scroll_into_view_if_needed()
        expect(image).to_be_visible()
        page.wait_for_function(
            "image => image.complete && image.naturalWidth > 0", arg=image.element_handle()
        )
    expect(page.locator("#download")).to_contain_text("browser.fits")
    page.click("#collection-link")
    expect(page.locator("#collection-title")).to_have_text("Browser tests")
    expect(page.locator("#granule-count")).to_have_text("9")


def test_sign_in_upload_and_read_the_report(
    oidb_server, oidb_accounts, oidb_service_database, page, tmp_path
):
    group, group_id = oidb_accounts.group()
    account = oidb_accounts.new(roles=("submitter",), groups=(group,))
    collection_id = oidb_accounts.unique("uploads")
    with oidb_service_database.session() as session:
        ensure_collection(session, collection_id, "Uploads", "public", groups={group_id: True})
    target = oidb_accounts.unique("HD upload")
    good = tmp_path / "good.fits"
    make_oifits(good, targets=(target,), nights=2)
    broken = tmp_path / "broken.fits"
    broken.write_bytes(b"this is not a FITS file")

    page.goto(f"{oidb_server.service_url}/upload")
    expect(page).to_have_url(f"{oidb_server.service_url}/account/signin?next=%2Foidb%2Fupload")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.click("#signin-form button[type=submit]")
    expect(page).to_have_url(f"{oidb_server.service_url}/upload")
    expect(page.locator("#account-link")).to_have_text(account.username)

    page.select_option("#collection", collection_id)
    page.set_input_files("#file", str(good))
    page.click("#submit")
    expect(page.locator("#state")).to_contain_text("Accepted: 2 granules")
    expect(page.locator("#granules tbody tr")).to_have_count(2)
    expect(page.locator("#granules")).to_contain_text(target)

    page.set_input_files("#file", str(good))
    page.click("#submit")
    expect(page.locator("#state")).to_contain_text("Already in the collection")

    page.set_input_files("#file", str(broken))
    page.click("#submit")
    expect(page.locator("#state")).to_contain_text("Rejected:")
    expect(page.locator("#granules")).to_have_count(0)

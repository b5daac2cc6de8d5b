"""The web pages end to end in headless Chromium (Debian's), against a real obsportal server."""

import io

from astropy.io.votable import parse_single_table
from playwright.sync_api import Page, expect


def _mjd_column(page: Page) -> list[float]:
    return [
        float(text) for text in page.locator("#results tbody tr td:nth-child(5)").all_inner_texts()
    ]


def test_search_sort_page_and_open_an_exposure(golden_service, page):
    page.goto(f"{golden_service}/obsportal/search")
    page.fill("#q", "IRS9A")
    page.select_option("#instrument", "GRAVITY")
    page.click("#submit")
    expect(page.locator("#summary")).to_have_text("31 exposures, page 1 of 2")
    first_page = _mjd_column(page)
    assert first_page == sorted(first_page)  # default: by MJD

    page.click("a.sort[data-key='mjd_start']")  # already ascending: now descending
    expect(page.locator("a.sort[data-key='mjd_start']")).to_contain_text("▼")
    descending = _mjd_column(page)
    assert descending == sorted(descending, reverse=True) and descending[0] > first_page[0]

    page.click("#next")
    expect(page.locator("#summary")).to_have_text("31 exposures, page 2 of 2")
    second_page = _mjd_column(page)
    assert len(descending) + len(second_page) == 31 and second_page[0] <= descending[-1]

    exposure = page.locator("a.exposure").first
    exp_id = exposure.inner_text()
    exposure.click()
    expect(page.locator("#exp-id")).to_have_text(exp_id)
    expect(page.locator("#weather")).to_contain_text("Seeing")
    expect(page.locator("#baselines")).to_contain_text("U1-U2")
    uv = page.locator("#uv")
    expect(uv).to_be_visible()
    assert uv.evaluate("image => image.complete && image.naturalWidth") == 360
    page.click("#target-link")
    expect(page.locator("#target-name")).to_have_text("IRS9A")
    expect(page.locator("#summary")).to_have_text("31 exposures, page 1 of 2")


def test_download_the_votable_of_a_search(golden_service, page, tmp_path):
    page.goto(f"{golden_service}/obsportal/search?q=IRS9A&instrument=GRAVITY&mode=HIGH-COMBINED")
    expect(page.locator("#summary")).to_contain_text("exposures")
    with page.expect_download() as download_info:
        page.click("#download-votable")
    download = download_info.value
    assert download.suggested_filename == "obsportal-exposures.vot"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    table = parse_single_table(io.BytesIO(path.read_bytes())).to_table()
    shown = int(page.locator("#summary").inner_text().split()[0])
    assert len(table) == shown > 0
    assert set(table["instrument_mode"]) == {"HIGH-COMBINED"}


def test_coordinates_and_dates(golden_service, page):
    page.goto(f"{golden_service}/obsportal/search")
    page.fill("#q", "11:15:09.83 -61:16:48.9")
    page.fill("#radius", "20")
    page.fill("#date_from", "2019-02-16")
    page.fill("#date_to", "2019-02-16")
    page.click("#submit")
    expect(page.locator("#summary")).to_contain_text("exposures")
    count = int(page.locator("#summary").inner_text().split()[0])
    assert 0 < count < 31
    page.goto(f"{golden_service}/obsportal/search?q=168.79,-61.28&radius=-1")
    expect(page.locator("#error")).to_contain_text("radius")


def test_unknown_exposure_page(golden_service, page):
    response = page.goto(f"{golden_service}/obsportal/detail/exposure/NOPE.2020_1")
    assert response.status == 404
    expect(page.locator("#error")).to_contain_text("NOPE.2020_1")


def test_ingestion_pages(golden_service, page):
    page.goto(f"{golden_service}/obsportal/ingestion")
    expect(page.locator("#runs")).to_contain_text("succeeded")
    page.click("#runs a")
    expect(page.locator("#counts")).to_contain_text("truncated: 1")
    expect(page.locator("#rejects")).to_contain_text("header ends inside a card")

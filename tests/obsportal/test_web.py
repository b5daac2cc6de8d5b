"""The web pages end to end in headless Chromium (Debian's), against a real obsportal server."""

import io
import re

import httpx
import numpy as np
from astropy.io.votable import parse_single_table
from matplotlib import colors
from matplotlib.image import imread
from playwright.sync_api import Page, expect

from obsportal.services.uv_plot import uv_png


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
    expect(uv).to_have_js_property("naturalWidth", 640)  # the PNG loaded
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
    # A value the form cannot use: the form again, the input kept, the reason beside it.
    response = page.goto(f"{golden_service}/obsportal/search?q=168.79,-61.28&radius=-1")
    assert response is not None and response.status == 400
    expect(page.locator("#form-error")).to_contain_text("Radius: '-1' is out of range")
    expect(page.locator("#radius")).to_have_value("-1")
    expect(page.locator("#q")).to_have_value("168.79,-61.28")


def test_unknown_exposure_page(golden_service, page):
    response = page.goto(f"{golden_service}/obsportal/detail/exposure/NOPE.2020_1")
    assert response.status == 404
    expect(page.locator("#error")).to_contain_text("NOPE.2020_1")


def test_ingestion_pages(golden_service, page):
    page.goto(f"{golden_service}/obsportal/ingestion")
    expect(page.locator("#runs")).to_contain_text("succeeded")
    expect(page.locator("#runs td").nth(3)).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
    )
    page.click("#runs a")
    expect(page.locator("#counts")).to_contain_text("truncated: 1")
    expect(page.locator("#rejects")).to_contain_text("header ends inside a card")


def test_the_home_page_is_the_search(golden_service, page):
    page.goto(f"{golden_service}/obsportal")
    expect(page.locator("form.search #q")).to_be_visible()
    page.fill("#q", "IRS9A")
    page.click("#submit")
    expect(page.locator("#summary")).to_have_text("31 exposures, page 1 of 2")
    page.click("#service-nav a:text('Search exposures')")
    expect(page.locator("form.search")).to_be_visible()


def test_scripts_still_get_the_service_description(golden_service):
    for path in ("/obsportal/", "/obsportal/api/"):
        description = httpx.get(f"{golden_service}{path}").json()
        assert description["service"] == "obsportal"
        assert description["search"] == "/obsportal/search.votable"
        assert httpx.get(f"{golden_service}{description['docs']}").status_code == 200


def test_a_page_past_the_end_is_not_found(golden_service, page):
    for path in ("/obsportal/search?q=IRS9A&page=999", "/obsportal/?q=IRS9A&page=3"):
        response = page.goto(f"{golden_service}{path}")
        assert response is not None and response.status == 404
        expect(page.locator("#error-title")).to_have_text("Not Found")
        expect(page.locator("#error")).to_contain_text("31 exposures fill 2 pages")
        expect(page.locator("#platform-header")).to_be_visible()
    target = page.goto(f"{golden_service}/obsportal/?q=IRS9A")
    assert target is not None and target.ok
    page.locator("#results tbody a[href*='/target/']").first.click()
    page.goto(page.url + "?page=3")
    expect(page.locator("#error")).to_contain_text("31 exposures fill 2 pages")
    # An empty result is one empty page, not an error.
    response = page.goto(f"{golden_service}/obsportal/search?q=NO_SUCH_TARGET")
    assert response is not None and response.status == 200
    expect(page.locator("#summary")).to_have_text("0 exposures")
    expect(page.locator("#no-match")).to_contain_text("No exposure matches")
    expect(page.locator("#samp-send")).to_have_count(0)


def test_uv_plot_one_colour_per_baseline_and_the_mirrored_points():
    baselines = {
        name: {"length": {"start": length, "end": length + 5}, "angle": {"start": 30, "end": 45}}
        for name, length in (("A0-B2", 40.0), ("B2-C1", 80.0), ("A0-C1", 120.0))
    }
    exposure = {"projected_baselines": baselines, "em_min": 1.95e-6, "em_max": 2.45e-6}
    image = imread(io.BytesIO(uv_png(exposure)))[:, :, :3]
    height, width, _ = image.shape
    for colour in ("C0", "C1", "C2"):  # the first colours of matplotlib's cycle
        rows, columns = np.nonzero(np.all(np.abs(image - colors.to_rgb(colour)) < 0.02, axis=2))
        assert len(rows), f"no point of colour {colour}"
        # Each baseline's points and their mirror (-u, -v): on both sides of the plot's centre.
        inside = columns < width * 0.75  # the legend's marker stands right of the axes
        assert rows[inside].min() < height / 2 < rows[inside].max()

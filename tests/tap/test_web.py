"""The TAP page end to end in headless Chromium, against a real TAP server."""

import io

import httpx
from astropy.io.votable import parse_single_table
from playwright.sync_api import expect

from tap.services.examples import EXAMPLES


def test_scripts_get_the_service_facts(tap_server):
    response = httpx.get(f"{tap_server.tap_url}/", headers={"accept": "application/json"})
    assert response.status_code == 200
    facts = response.json()
    assert facts["service"] == "tap"
    assert facts["tap_url"] == tap_server.tap_url


def test_the_page_lists_the_url_and_the_tables(tap_server, page):
    page.goto(f"{tap_server.tap_url}/")
    expect(page.locator("#service-url")).to_have_value(tap_server.tap_url)
    schema = page.locator("details.schema#schema-obsportal")
    expect(schema).to_contain_text("VLTI interferometric exposures")
    schema.locator("summary").first.click()
    table = page.locator('details.table[id="table-obsportal.exposures"]')
    table.locator("summary").click()
    row = table.locator("tr", has_text="target_ra")
    expect(row).to_contain_text("double")
    expect(row).to_contain_text("deg")
    expect(row).to_contain_text("pos.eq.ra;meta.main")


def test_an_example_runs_and_its_result_downloads(tap_server, page, tmp_path):
    page.goto(f"{tap_server.tap_url}/")
    example = next(item for item in EXAMPLES if item.id == "exposures-per-instrument")
    page.click(f"#example-{example.id} a.use-example")
    expect(page.locator("#query-text")).to_have_value(example.query)
    page.click("#run-query")

    expect(page.locator("#result-table thead")).to_contain_text("instrument_name")
    instruments = page.locator("#result-table tbody tr td:first-child").all_inner_texts()
    assert {"GRAVITY", "PIONIER", "MATISSE"} <= set(instruments)
    expect(page.locator("#result-summary")).to_contain_text(f"{len(instruments)} rows")

    with page.expect_download() as download_info:
        page.click("#download-votable")
    download = download_info.value
    assert download.suggested_filename == "tap-result.vot"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    table = parse_single_table(io.BytesIO(path.read_bytes())).to_table()
    assert sorted(table["instrument_name"]) == sorted(instruments)


def test_a_long_result_shows_its_first_rows(tap_server, page):
    page.goto(f"{tap_server.tap_url}/?query=SELECT+exp_id+FROM+obsportal.exposures")
    expect(page.locator("#result-summary")).to_contain_text("the query gives more")
    assert page.locator("#result-table tbody tr").count() == 200


def test_a_bad_query_shows_its_error_in_words(tap_server, page):
    page.goto(f"{tap_server.tap_url}/")
    page.fill("#query-text", "SELECT nope FROM obsportal.exposures")
    page.click("#run-query")
    error = page.locator("#query-error")
    expect(error).to_contain_text("nope")
    expect(page.locator("#query-text")).to_have_value("SELECT nope FROM obsportal.exposures")
    assert page.locator("#result-table").count() == 0


def test_the_examples_document_is_a_page_too(tap_server, page):
    response = page.goto(f"{tap_server.tap_url}/examples")
    assert response.status == 200
    expect(page.locator("[typeof=example]")).to_have_count(len(EXAMPLES))
    expect(page.locator("#platform-header")).to_contain_text("TAP")


def test_the_bare_service_url_leads_to_the_page(tap_server):
    answer = httpx.get(f"{tap_server.tap_url}?query=x", follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/tap/?query=x"

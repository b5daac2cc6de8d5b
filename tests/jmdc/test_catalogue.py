"""The catalogue's search (JSON API and pages) and per-star pages, over the 2017 catalogue."""

import httpx
import pytest
from playwright.sync_api import expect

HTML = {"accept": "text/html"}


def search(server, **parameters) -> dict:
    answer = httpx.get(f"{server.service_url}/api/measurements", params=parameters)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("name", ["HD 29139", "hd29139", "HD29139", " hd 29 139 "])
def test_a_star_name_matches_without_case_and_spaces(catalogue_server, name):
    found = search(catalogue_server, name=name, page_size=100)
    assert found["total"] == 18
    assert {item["id1"] for item in found["items"]} == {"HD29139"}


def test_the_publication_name_finds_the_star_too(catalogue_server):
    found = search(catalogue_server, name="alf tau", page_size=100)
    assert found["total"] > 0 and {item["id1"] for item in found["items"]} == {"HD29139"}


def test_a_cone_band_method_and_bibcode(catalogue_server):
    # Aldebaran (HD 29139) at 68.980163, +16.509302: 18 measurements within 10 arcsec.
    cone = search(catalogue_server, ra="68.98", dec="16.5093", radius="10", page_size=100)
    assert cone["total"] == 18
    assert search(catalogue_server, ra="68.98", dec="16.5093", radius="0.01")["total"] == 0

    in_k = search(catalogue_server, band="K", page_size=1000)
    assert in_k["total"] == 402  # band code 8: K, K', 2.2, 2.15... as published
    as_published = search(catalogue_server, band="800nm", page_size=1000)
    assert as_published["total"] == 98 and {i["band"] for i in as_published["items"]} == {"800nm"}

    occultations = search(catalogue_server, method="lunar occultation", page_size=1)
    assert occultations["total"] == 288 == search(catalogue_server, method="2")["total"]

    paper = search(catalogue_server, bibcode="2012ApJ...757..112B", page_size=100)
    assert paper["total"] > 0 and {i["bibcode"] for i in paper["items"]} == {"2012ApJ...757..112B"}
    both = search(catalogue_server, name="HD 95735", bibcode="2012ApJ...757..112B")
    assert both["total"] == 2  # the file repeats this measurement: both rows are kept


def test_sorting_and_paging(catalogue_server):
    largest = search(catalogue_server, sort="-ud_diameter", page_size=5)
    diameters = [item["ud_diameter"] for item in largest["items"]]
    assert diameters == sorted(diameters, reverse=True) and largest["total"] == 1239
    first, second = (search(catalogue_server, sort="id1", page=n, page_size=500) for n in (1, 2))
    ids = [item["id"] for item in first["items"] + second["items"]]
    assert len(set(ids)) == 1000  # pages do not overlap


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"ra": "10"}, "dec"),
        ({"ra": "x", "dec": "1"}, "ra"),
        ({"ra": "10", "dec": "95"}, "dec"),
        ({"ra": "10", "dec": "1", "radius": "-1"}, "radius"),
        ({"radius": "5"}, "radius"),
        ({"method": "telepathy"}, "method"),
        ({"sort": "password"}, "sort"),
        ({"page": "0"}, "page"),
        ({"name": "x" * 500}, "name"),
    ],
)
def test_bad_criteria_are_a_400_naming_the_parameter(catalogue_server, parameters, named):
    answer = httpx.get(f"{catalogue_server.service_url}/api/measurements", params=parameters)
    assert answer.status_code == 400
    assert answer.json()["parameter"] == named


def test_scripts_get_the_service_facts_at_the_home(catalogue_server):
    facts = httpx.get(f"{catalogue_server.service_url}/").json()
    assert facts["service"] == "jmdc" and facts["version"]


def test_a_bad_criterion_on_the_page_is_a_page(catalogue_server):
    answer = httpx.get(f"{catalogue_server.service_url}/?ra=10&dec=abc", headers=HTML)
    assert answer.status_code == 400 and "text/html" in answer.headers["content-type"]
    assert "dec" in answer.text and "Traceback" not in answer.text


def test_an_unknown_star_is_a_404_page(catalogue_server):
    answer = httpx.get(f"{catalogue_server.service_url}/stars/HD%20999999999", headers=HTML)
    assert answer.status_code == 404 and "HD 999999999" in answer.text


def test_search_sort_and_open_a_star_in_a_browser(catalogue_server, page):
    page.goto(f"{catalogue_server.service_url}/")
    expect(page.locator("#summary")).to_have_text("1,239 measurements, page 1 of 25")
    page.fill("#name", "hd 29139")
    page.click("#submit")
    expect(page.locator("#summary")).to_have_text("18 measurements, page 1 of 1")

    page.click("a.sort[data-key='ud_diameter']")
    expect(page.locator("a.sort[data-key='ud_diameter']")).to_contain_text("▲")
    cells = page.locator("#results tbody tr td:nth-child(3)").all_inner_texts()
    diameters = [float(text) for text in cells if text]
    assert diameters == sorted(diameters) and len(cells) == 18

    export = page.locator("#export-csv")
    assert "name=hd+29139" in export.get_attribute("href")

    page.locator("a.star").first.click()
    expect(page.locator("#star-name")).to_have_text("HD29139")
    expect(page.locator("#count")).to_have_text("18")
    expect(page.locator("#position")).to_contain_text("RA 68.980163")
    expect(page.locator("#measurements tbody tr")).to_have_count(18)


def test_pages_and_cone_search_in_a_browser(catalogue_server, page):
    page.goto(f"{catalogue_server.service_url}/")
    page.click("#next")
    expect(page.locator("#summary")).to_have_text("1,239 measurements, page 2 of 25")
    page.fill("#ra", "68.98")
    page.fill("#dec", "16.5093")
    page.fill("#radius", "10")
    page.select_option("#method", "2")
    page.click("#submit")
    expect(page.locator("#summary")).to_contain_text("measurements, page 1 of 1")
    methods = set(page.locator("#results tbody tr td:nth-child(7)").all_inner_texts())
    assert methods == {"lunar occultation"}

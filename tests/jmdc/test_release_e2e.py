"""The issue's end to end, in a headless browser: a measurement submitted through the form and
accepted in the moderators' queue goes into a release a curator freezes on the releases page;
the release lists it, its VizieR files hold it, the diff with the previous release shows it."""

import httpx
from playwright.sync_api import expect

from jmdc.services import vizier

from .test_browser_submission import sign_in, submit_and_accept


def test_a_submission_goes_through_moderation_into_a_release(
    jmdc_submission_server, jmdc_accounts, page
):
    service_url = jmdc_submission_server.service_url
    curator = jmdc_accounts.new(roles=("curator",))
    # A release before the submission (or the catalogue is already released as it is).
    before = httpx.post(f"{service_url}/api/releases", json={"title": "before"},
                        headers=curator.headers, timeout=60)  # fmt: skip
    assert before.status_code in (201, 409), before.text
    previous = httpx.get(f"{service_url}/api/releases").json()[0]["number"]
    accepted = submit_and_accept(
        page, service_url, jmdc_accounts.new(roles=("submitter",)),
        jmdc_accounts.new(roles=("moderator",)),
        id1="HD 213306", id2="del Cep", ud_diameter=1.475, ld_diameter=1.52,
    )  # fmt: skip

    # A moderator sees no form to freeze a release; a curator does.
    page.goto(f"{service_url}/releases")
    expect(page.locator("#new-release")).to_have_count(0)
    sign_in(page, service_url, curator)
    # The session cookie alone (what another site could make a browser send) freezes nothing.
    forged = page.request.post(f"{service_url}/api/releases", data={"title": "forged"})
    assert forged.status == 403 and "did not come from this site" in forged.json()["detail"]
    page.goto(f"{service_url}/releases")
    page.fill("#title", "with delta Cephei")
    page.fill("#note", "one accepted submission")
    page.click("#create-release")

    expect(page.locator("#release-title")).to_contain_text("with delta Cephei")
    number = int(page.url.rsplit("/", 1)[1])
    assert number == previous + 1
    page.fill("#name", "HD 213306")
    page.click("#submit")
    expect(page.locator("#summary")).to_contain_text("1 measurement")
    expect(page.locator("#results")).to_contain_text("1.52")

    readme = httpx.get(f"{service_url}/releases/{number}/ReadMe").text
    data = httpx.get(f"{service_url}/releases/{number}/jmdc.dat").text
    rows = [
        row.values for row in vizier.read_text(readme, data) if row.values["id1"] == "HD 213306"
    ]
    assert [(row["id2"], row["ud_diameter"], row["ld_diameter"]) for row in rows] == [
        ("del Cep", 1.475, 1.52)
    ]

    page.goto(f"{service_url}/releases")
    page.click(f"tr.release[data-number='{number}'] a.diff")
    expect(page.locator("h1")).to_have_text(f"From release {previous} to release {number}")
    expect(page.locator(f"#added tr[data-id='{accepted.measurement_id}']")).to_contain_text(
        "HD 213306"
    )

    # Found wrong later: withdrawn on the releases page, out of the next release, with the reason.
    page.goto(f"{service_url}/releases")
    page.fill("#measurement_id", str(accepted.measurement_id))
    page.fill("#reason", "the paper was retracted")
    page.click("#withdraw-measurement")
    expect(page.locator("#withdrawn-notice")).to_contain_text(str(accepted.measurement_id))
    page.fill("#title", "without delta Cephei")
    page.click("#create-release")
    expect(page.locator("#release-title")).to_contain_text("without delta Cephei")
    page.click("#diff")
    expect(
        page.locator(f"#withdrawn tr[data-id='{accepted.measurement_id}'] .reason")
    ).to_have_text("the paper was retracted")

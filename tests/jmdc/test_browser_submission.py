"""End to end in a headless browser: a submitter signs in and submits through the form (its
problems shown next to the fields), a moderator accepts it in the queue page, and the
measurement appears in the catalogue search.

:func:`submit_and_accept` is the whole path as one step, for tests that carry on from there
(a release of the accepted measurement).
"""

from dataclasses import dataclass

from playwright.sync_api import Page, expect

from ..service_fixture import Account
from .test_submission_api import measurement

#: Form fields typed as text; the others are chosen.
TEXT_FIELDS = ("id1", "id2", "ud_diameter", "ld_diameter", "e_ld_diameter", "band", "bibcode")


@dataclass(frozen=True)
class Accepted:
    submission_id: int
    measurement_id: int
    values: dict


def sign_in(page: Page, service_url: str, account: Account) -> None:
    """Sign in through the sign-in page (a fresh session: the previous one's cookies dropped)."""
    page.context.clear_cookies()
    page.goto(f"{service_url}/account/signin")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#account-link")).to_have_text(account.username)


def fill_measurement(page: Page, values: dict) -> None:
    for field in TEXT_FIELDS:
        page.fill(f"#{field}", "" if values.get(field) is None else str(values[field]))
    page.select_option("#band_code", str(values.get("band_code") or ""))
    page.select_option("#method", str(values.get("method") or ""))


def submit_through_the_form(page: Page, service_url: str, values: dict) -> int:
    page.goto(f"{service_url}/submit")
    fill_measurement(page, values)
    page.click("#submit")
    expect(page.locator("#state")).to_have_text("submitted")
    return int(page.url.rsplit("/", 1)[1])


def accept_in_the_queue(page: Page, service_url: str, submission_id: int, comment: str) -> int:
    page.goto(f"{service_url}/moderation")
    page.click(f"#queue tr[data-id='{submission_id}'] a")
    page.fill("#comment", comment)
    page.click("#accept")
    expect(page.locator("#state")).to_have_text("accepted")
    return int(page.locator("#measurement-id").inner_text())


def submit_and_accept(
    page: Page, service_url: str, submitter: Account, moderator: Account, **changes
) -> Accepted:
    """A measurement submitted through the form by ``submitter`` and accepted in the queue page
    by ``moderator``; the page is left signed in as the moderator."""
    values = measurement(**changes)
    sign_in(page, service_url, submitter)
    submission_id = submit_through_the_form(page, service_url, values)
    sign_in(page, service_url, moderator)
    measurement_id = accept_in_the_queue(
        page, service_url, submission_id, "Checked against the paper."
    )
    return Accepted(submission_id, measurement_id, values)


def test_submit_moderate_and_find_it_in_the_catalogue(jmdc_submission_server, jmdc_accounts, page):
    service_url = jmdc_submission_server.service_url
    submitter = jmdc_accounts.new(roles=("submitter",))
    moderator = jmdc_accounts.new(roles=("moderator",))
    sign_in(page, service_url, submitter)

    # a first try with mistakes: nothing saved, each problem next to its field
    wrong = measurement(ld_diameter=-2, band="2.2", band_code=7, bibcode="2016A&A..589")
    page.goto(f"{service_url}/submit")
    fill_measurement(page, wrong)
    page.click("#submit")
    expect(page.locator("#form-error")).to_be_visible()
    expect(page.locator(".problem[data-field='ld_diameter']")).to_contain_text("greater than 0")
    expect(page.locator(".problem[data-field='band_code']")).to_contain_text("is 8 (K)")
    expect(page.locator(".problem[data-field='bibcode']")).to_contain_text("ADS bibcode")
    expect(page.locator("#id1")).to_have_value(wrong["id1"])  # what was typed is kept

    values = measurement(id1="HD 29139", id2="alf Tau", ud_diameter=19.9, ld_diameter=20.58)
    fill_measurement(page, values)
    page.click("#submit")
    expect(page.locator("#state")).to_have_text("submitted")
    submission_id = int(page.url.rsplit("/", 1)[1])
    page.goto(f"{service_url}/submissions")
    expect(page.locator(f"#submissions tr[data-id='{submission_id}']")).to_contain_text("submitted")

    sign_in(page, service_url, moderator)
    page.goto(f"{service_url}/moderation")
    row = page.locator(f"#queue tr[data-id='{submission_id}']")
    expect(row).to_contain_text(submitter.username)
    row.locator("a").click()
    page.click("#reject")  # a rejection without a comment is refused
    expect(page.locator(".problem[data-field='comment']")).to_contain_text("required to reject")
    page.goto(f"{service_url}/moderation/{submission_id}")
    page.fill("#comment", "Matches the published table.")
    page.click("#accept")
    expect(page.locator("#state")).to_have_text("accepted")
    expect(page.locator("#events tr.event").last).to_contain_text("Matches the published table.")
    measurement_id = int(page.locator("#measurement-id").inner_text())

    page.goto(f"{service_url}/?bibcode={values['bibcode'].replace('&', '%26')}")
    expect(page.locator("#summary")).to_contain_text("1 measurement")
    expect(page.locator("#results")).to_contain_text("HD 29139")
    expect(page.locator("#results")).to_contain_text("20.58")

    sign_in(page, service_url, submitter)
    page.goto(f"{service_url}/submissions/{submission_id}")
    expect(page.locator("#state")).to_have_text("accepted")
    expect(page.locator("#measurement-id")).to_have_text(str(measurement_id))
    expect(page.locator("#moderator-comment")).to_have_text("Matches the published table.")
    page.goto(f"{service_url}/submissions")
    expect(page.locator("#notifications li").first).to_contain_text(
        f"JMDC submission {submission_id} accepted: HD 29139"
    )


def test_the_helper_takes_a_measurement_into_the_catalogue(
    jmdc_submission_server, jmdc_accounts, page
):
    accepted = submit_and_accept(
        page,
        jmdc_submission_server.service_url,
        jmdc_accounts.new(roles=("submitter",)),
        jmdc_accounts.new(roles=("moderator",)),
        id1="HD 62509",
        id2="bet Gem",
        ud_diameter=7.9,
        ld_diameter=8.1,
    )
    assert accepted.measurement_id > 0 and accepted.values["id1"] == "HD 62509"

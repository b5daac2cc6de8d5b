"""The submission and moderation pages over HTTP: sign-in redirects, 403 and 404 pages, CSRF,
problems shown next to their fields, the batch report."""

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from ..service_fixture import Account
from .test_submission_api import BATCH_HEADER, measurement, new_bibcode, submit


@pytest.fixture(scope="module")
def service_url(jmdc_submission_server) -> str:
    return jmdc_submission_server.service_url


@pytest.fixture
def submitter(jmdc_accounts) -> Account:
    return jmdc_accounts.new(roles=("submitter",))


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} in the page"
    return match.group(1)


@contextmanager
def signed_in(service_url: str, account: Account) -> Iterator[httpx.Client]:
    """A client holding a session cookie, as a browser after the sign-in form."""
    with httpx.Client(base_url=service_url) as client:
        form = client.get("/account/signin")
        response = client.post(
            "/account/signin",
            data={
                "username": account.username,
                "password": account.password,
                "csrf_token": hidden(form.text, "csrf_token"),
                "next": "/",
            },
        )
        assert response.status_code == 303, response.text
        yield client


def text_fields(**changes) -> dict[str, str]:
    return {
        name: "" if value is None else str(value) for name, value in measurement(**changes).items()
    }


def test_anonymous_visitors_are_sent_to_sign_in(service_url):
    with httpx.Client(base_url=service_url) as client:
        for path in ("/submit", "/submit/batch", "/submissions", "/moderation", "/submissions/1"):
            response = client.get(path, headers={"Accept": "text/html"})
            assert response.status_code == 303, path
            prefix = service_url.rsplit("/", 1)[1]
            assert response.headers["location"].startswith(f"/{prefix}/account/signin?next=")


def test_pages_refuse_users_without_the_role(service_url, jmdc_accounts, submitter):
    reader = jmdc_accounts.new()
    with httpx.Client(base_url=service_url) as client:
        refused = client.get("/submit", headers=reader.headers)
        assert refused.status_code == 403
        assert "this needs the submitter role" in refused.text
        assert client.get("/moderation", headers=submitter.headers).status_code == 403


def test_someone_elses_submission_is_not_found(service_url, jmdc_accounts, submitter):
    with httpx.Client(base_url=f"{service_url}/api") as api:
        created = submit(api, submitter)
    other = jmdc_accounts.new(roles=("submitter",))
    with httpx.Client(base_url=service_url) as client:
        response = client.get(f"/submissions/{created['id']}", headers=other.headers)
        assert response.status_code == 404
        assert f"no submission {created['id']} of yours" in response.text
        mine = client.get(f"/submissions/{created['id']}", headers=submitter.headers)
        assert mine.status_code == 200 and 'id="state" class="state-submitted"' in mine.text


def test_the_form_needs_the_sessions_csrf_secret(service_url, submitter):
    with signed_in(service_url, submitter) as client:
        form = client.get("/submit")
        assert form.status_code == 200
        refused = client.post("/submit", data={**text_fields(), "csrf_token": "forged"})
        assert refused.status_code == 403
        accepted = client.post(
            "/submit", data={**text_fields(), "csrf_token": hidden(form.text, "csrf_token")}
        )
        assert accepted.status_code == 303
        assert re.fullmatch(r".*/submissions/\d+", accepted.headers["location"])
        mine = client.get("/submissions")
        assert mine.text.count('class="submission-row"') == 1


def test_problems_are_shown_next_to_their_fields(service_url, submitter):
    with signed_in(service_url, submitter) as client:
        token = hidden(client.get("/submit").text, "csrf_token")
        response = client.post(
            "/submit",
            data={**text_fields(ud_diameter="-1", method="7", band_code=""), "csrf_token": token},
        )
        assert response.status_code == 400
        for field, message in (
            ("ud_diameter", "the value must be greater than 0"),
            ("method", "unknown method 7"),
            ("band_code", "required; band &#39;H&#39; is 7 (H)"),
        ):
            assert re.search(
                rf'data-field="{field}" role="alert">error: {re.escape(message)}', response.text
            ), field
        assert 'value="HD 124897"' in response.text  # what was typed is kept
        assert "no-submissions" in client.get("/submissions").text


def test_drafts_from_the_form_are_edited_and_sent(service_url, submitter):
    with signed_in(service_url, submitter) as client:
        token = hidden(client.get("/submit").text, "csrf_token")
        fields = text_fields()
        saved = client.post("/submit", data={**fields, "draft": "1", "csrf_token": token})
        location = str(saved.url.join(saved.headers["location"]))
        page = client.get(location)
        assert 'class="state-draft"' in page.text and 'id="send-form"' in page.text
        edit = client.post(
            f"{location}/edit", data={**fields, "ud_diameter": "0", "csrf_token": token}
        )
        assert edit.status_code == 400 and "Nothing was changed" in edit.text
        edit = client.post(
            f"{location}/edit", data={**fields, "ud_diameter": "20.0", "csrf_token": token}
        )
        assert edit.status_code == 303
        client.post(f"{location}/submit", data={"csrf_token": token})
        page = client.get(location).text
        assert 'class="state-submitted"' in page and "ud_diameter: 20.2 → 20.0" in page


def test_the_batch_page_reports_each_bad_row(service_url, submitter):
    bibcode = new_bibcode()
    content = BATCH_HEADER + (
        f"HD 124897,alf Boo,20.2,21.0,0.2,H,7,1,,{bibcode}\n"
        f"HD 18884,alf Cet,12.0,11.0,0.1,K,8,1,,{bibcode}\n"
    )
    with signed_in(service_url, submitter) as client:
        token = hidden(client.get("/submit/batch").text, "csrf_token")
        report = client.post(
            "/submit/batch",
            data={"csrf_token": token},
            files={"file": ("batch.csv", content.encode(), "text/csv")},
        )
        assert report.status_code == 200
        assert "2 rows read, 1 kept as drafts, 1 rejected." in report.text
        assert re.search(r"<td>3</td><td>ld_diameter</td><td>the LD diameter", report.text)


def test_the_moderation_pages(service_url, jmdc_accounts, submitter):
    moderator = jmdc_accounts.new(roles=("moderator",))
    with httpx.Client(base_url=f"{service_url}/api") as api:
        created = submit(api, submitter, id1="HD 999997", id2=None)
    with signed_in(service_url, moderator) as client:
        queue = client.get("/moderation")
        assert f'data-id="{created["id"]}"' in queue.text
        assert "not checked: resolver offline" in queue.text
        item = client.get(f"/moderation/{created['id']}")
        token = hidden(item.text, "csrf_token")
        refused = client.post(
            f"/moderation/{created['id']}", data={"action": "reject", "csrf_token": token}
        )
        assert refused.status_code == 400
        assert "required to reject or to ask for changes" in refused.text
        done = client.post(
            f"/moderation/{created['id']}",
            data={"action": "request_changes", "comment": "Which band?", "csrf_token": token},
        )
        assert done.status_code == 303
        page = client.get(f"/moderation/{created['id']}").text
        assert 'class="state-changes_requested"' in page and "Which band?" in page
        assert 'id="moderation-form"' not in page  # nothing left to decide


def test_a_correction_starts_from_the_catalogue_values(service_url, jmdc_accounts, submitter):
    moderator = jmdc_accounts.new(roles=("moderator",))
    with httpx.Client(base_url=f"{service_url}/api") as api:
        created = submit(api, submitter)
        accepted = api.post(
            f"/moderation/{created['id']}", json={"action": "accept"}, headers=moderator.headers
        ).json()
    measurement_id = accepted["measurement_id"]
    with signed_in(service_url, submitter) as client:
        form = client.get("/submit", params={"replaces_id": measurement_id})
        assert f"Correct catalogue measurement {measurement_id}" in form.text
        assert 'value="21.05"' in form.text
        assert f'value="{html.escape(created["bibcode"])}"' in form.text
        fields = {**text_fields(bibcode=created["bibcode"]), "ld_diameter": "21.2"}
        sent = client.post(
            "/submit",
            data={
                **fields,
                "replaces_id": str(measurement_id),
                "csrf_token": hidden(form.text, "csrf_token"),
            },
        )
        assert sent.status_code == 303
        page = client.get(str(sent.url.join(sent.headers["location"]))).text
        assert f"<th>Corrects measurement</th><td>{measurement_id}</td>" in page
        assert '<td id="value-ld_diameter">21.2</td>' in page
        assert '<td class="changed" id="current-ld_diameter">21.05</td>' in page
        assert client.get("/submit", params={"replaces_id": 2_000_000_000}).status_code == 404

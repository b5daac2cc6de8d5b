"""The account pages and API of a real service (``jmdc serve``, uvicorn) on a real database:
sign-in, cookies, CSRF, the rate limit, tokens by Bearer and Basic, bad credentials."""

import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jmdc.cli import MIGRATIONS as JMDC_MIGRATIONS
from jmdc.config import Settings as JmdcSettings
from jmmc_core.accounts import services
from jmmc_core.accounts.config import AccountsSettings
from jmmc_core.accounts.migrations import MIGRATIONS
from jmmc_core.accounts.services import MAX_SIGNIN_FAILURES
from jmmc_core.database import Database
from jmmc_core.migrations import upgrade_to_head
from jmmc_devtools.pgcluster import free_port
from jmmc_devtools.processes import serving

PASSWORD = "a long enough password"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def platform_url(new_database) -> str:
    """One database with the accounts schema and jmdc's, as on the platform."""
    url = new_database("accounts_http")
    upgrade_to_head(AccountsSettings(database_url=url), MIGRATIONS)
    upgrade_to_head(JmdcSettings(database_url=url), JMDC_MIGRATIONS)
    return url


@pytest.fixture(scope="module")
def jmdc(platform_url) -> Iterator[str]:
    port = free_port()
    environment = {
        **os.environ,
        "JMDC_DATABASE_URL": platform_url,
        "JMDC_ENVIRONMENT": "test",
        "JMDC_LOG_LEVEL": "WARNING",
    }
    command = [str(Path(sys.executable).parent / "jmdc"), "serve", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with serving(command, env=environment, health_url=f"{base}/health"):
        yield base


@pytest.fixture(scope="module")
def jmdc_without_database() -> Iterator[str]:
    """jmdc whose database cannot be reached (nothing listens on its port)."""
    port = free_port()
    environment = {
        **os.environ,
        "JMDC_DATABASE_URL": f"postgresql+psycopg://jmmc@127.0.0.1:{free_port()}/none",
        "JMDC_ENVIRONMENT": "test",
        "JMDC_LOG_LEVEL": "CRITICAL",
    }
    command = [str(Path(sys.executable).parent / "jmdc"), "serve", "--port", str(port)]
    with serving(command, env=environment):
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(f"{base}/health")
        yield base


@pytest.fixture
def account(platform_url, unique) -> Iterator[str]:
    """A fresh user (role submitter) of the served platform; its username."""
    database = Database(AccountsSettings(database_url=platform_url))
    name = unique("user")
    with database.session() as session:
        services.create_user(session, name, password=PASSWORD, roles=("submitter",))
    database.dispose()
    return name


@pytest.fixture
def client(jmdc) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=jmdc, timeout=30) as client:
        yield client


def csrf_token(page: httpx.Response) -> str:
    match = CSRF_FIELD.search(page.text)
    assert match, "the form carries no csrf_token field"
    return match.group(1)


def sign_in(client: httpx.Client, username: str, password: str = PASSWORD, **extra):
    form = client.get("/jmdc/account/signin")
    return client.post(
        "/jmdc/account/signin",
        data={"username": username, "password": password, "csrf_token": csrf_token(form), **extra},
    )


def test_sign_in_then_the_account_page_and_api_know_me(client, account):
    answer = sign_in(client, account, next="/jmdc/api/account")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/jmdc/api/account"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("jmmc_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/;" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: a Secure cookie would be lost
    me = client.get("/jmdc/api/account")
    assert me.status_code == 200
    assert me.json() == {
        "username": account,
        "display_name": None,
        "email": None,
        "roles": ["submitter"],
        "groups": [],
    }
    page = client.get("/jmdc/account")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert f'id="account-username">{account}<' in page.text
    signed_in_header = f'id="account-link" href="/jmdc/account">{account}<'
    assert signed_in_header in page.text
    home = client.get("/jmdc/", headers={"Accept": "text/html"})  # a page that asks no one
    assert home.status_code == 200 and signed_in_header in home.text


def test_signing_in_again_ends_the_previous_session(client, account):
    sign_in(client, account)
    first = client.cookies["jmmc_session"]
    sign_in(client, account)
    assert client.cookies["jmmc_session"] != first
    old = httpx.get(f"{client.base_url}/jmdc/api/account", cookies={"jmmc_session": first})
    assert old.status_code == 401


def test_cookie_is_secure_behind_https(client, account):
    form = client.get("/jmdc/account/signin", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in form.headers["set-cookie"]
    answer = client.post(
        "/jmdc/account/signin",
        data={"username": account, "password": PASSWORD, "csrf_token": csrf_token(form)},
        # A Secure cookie is not sent back over plain HTTP by a client: send it as a browser would.
        headers={"X-Forwarded-Proto": "https", "Cookie": f"jmmc_signin_csrf={csrf_token(form)}"},
    )
    assert answer.status_code == 303
    assert "Secure" in answer.headers["set-cookie"]


def test_only_local_redirects_after_sign_in(client, account):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        answer = sign_in(client, account, next=target)
        assert answer.headers["location"] == "/jmdc/account", target


def test_wrong_password_shows_the_form_again(client, account):
    answer = sign_in(client, account, password="not the password")
    assert answer.status_code == 401
    assert "Wrong username or password." in answer.text
    assert "jmmc_session" not in client.cookies


def test_too_many_failures_is_429_with_retry_after(client, account):
    for _ in range(MAX_SIGNIN_FAILURES):
        assert sign_in(client, account, password="guess").status_code == 401
    refused = sign_in(client, account)  # the right password, too late
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "text/html" in refused.headers["content-type"]
    assert "jmmc_session" not in client.cookies


def test_sign_in_form_without_its_csrf_value_is_refused(client, account):
    form = client.get("/jmdc/account/signin")
    data = {"username": account, "password": PASSWORD}
    missing = client.post("/jmdc/account/signin", data=data)
    forged = client.post("/jmdc/account/signin", data={**data, "csrf_token": "forged"})
    client.cookies.clear()
    no_cookie = client.post("/jmdc/account/signin", data={**data, "csrf_token": csrf_token(form)})
    for answer in (missing, forged, no_cookie):
        assert answer.status_code == 403
        assert "jmmc_session" not in answer.headers.get("set-cookie", "")


def test_signed_in_forms_need_the_session_csrf_secret(client, account):
    sign_in(client, account)
    for path in ("/jmdc/account/tokens", "/jmdc/account/signout"):
        for fields in ({}, {"csrf_token": "forged"}):
            answer = client.post(path, data={"name": "x", **fields})
            assert answer.status_code == 403, (path, fields)
    assert client.get("/jmdc/api/account").status_code == 200  # still signed in
    created = client.post("/jmdc/api/account/tokens", json={"name": "from a page script"})
    assert created.status_code == 403  # the session cookie alone cannot write through the API


def test_forged_expired_or_revoked_cookies_are_anonymous(client, account):
    sign_in(client, account)
    session_id = client.cookies["jmmc_session"]
    signed_in_page = client.get("/jmdc/account")
    signout = client.post("/jmdc/account/signout", data={"csrf_token": csrf_token(signed_in_page)})
    assert signout.status_code == 303
    for value in (session_id, "forged", session_id[:-1] + "A", "x" * 5000):
        cookies = {"jmmc_session": value}
        page = httpx.get(f"{client.base_url}/jmdc/account", cookies=cookies)
        assert page.status_code == 303
        assert page.headers["location"] == "/jmdc/account/signin?next=%2Fjmdc%2Faccount"
        api = httpx.get(f"{client.base_url}/jmdc/api/account", cookies=cookies)
        assert api.status_code == 401 and api.json()["detail"]


def test_tokens_by_bearer_and_basic(client, account, unique):
    sign_in(client, account)
    page = client.get("/jmdc/account")
    created = client.post(
        "/jmdc/account/tokens", data={"name": "pyvo", "csrf_token": csrf_token(page)}
    )
    assert created.status_code == 201
    token = re.search(r'id="new-token">([^<]+)<', created.text).group(1)
    assert token not in client.get("/jmdc/account").text  # shown once only
    script = httpx.Client(base_url=str(client.base_url), timeout=30)
    bearer = script.get("/jmdc/api/account", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 200 and bearer.json()["username"] == account
    basic = script.get("/jmdc/api/account", auth=("anything", token))  # as pyvo and TOPCAT
    assert basic.status_code == 200 and basic.json()["username"] == account

    auth = {"Authorization": f"Bearer {token}"}
    second = script.post("/jmdc/api/account/tokens", json={"name": "ci"}, headers=auth)
    assert second.status_code == 201
    listed = script.get("/jmdc/api/account/tokens", headers=auth).json()
    assert [t["name"] for t in listed] == ["pyvo", "ci"]
    assert all("token" not in t for t in listed)
    revoked = script.delete(f"/jmdc/api/account/tokens/{listed[0]['id']}", headers=auth)
    assert revoked.status_code == 204
    gone = script.get("/jmdc/api/account", headers=auth)
    assert gone.status_code == 401
    assert "Bearer" in gone.headers["www-authenticate"]
    new_auth = {"Authorization": f"Bearer {second.json()['token']}"}
    assert script.get("/jmdc/api/account", headers=new_auth).status_code == 200
    script.close()


def test_nobody_revokes_another_users_token(client, account, platform_url, unique):
    database = Database(AccountsSettings(database_url=platform_url))
    with database.session() as session:
        owner = services.find_user(session, account)
        other = services.create_user(session, unique("other"), password=PASSWORD)
        _, owners_token = services.create_token(session, owner, "owner's")
        others_token, _ = services.create_token(session, other, "other's")
    database.dispose()
    other_auth = {"Authorization": f"Bearer {others_token}"}
    answer = client.delete(f"/jmdc/api/account/tokens/{owners_token.id}", headers=other_auth)
    assert answer.status_code == 404
    listed = client.get("/jmdc/api/account/tokens", headers=other_auth).json()
    assert [t["name"] for t in listed] == ["other's"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer jmmc_forged",
        "Bearer",
        "Basic !!!not-base64",
        "Basic " + "dXNlcjo=",  # "user:" with no token
        "Digest whatever",
        "Bearer " + "x" * 10_000,
    ],
)
def test_bad_authorization_is_401_never_500(client, authorization):
    for path in ("/jmdc/api/account", "/jmdc/api/account/tokens"):
        answer = client.get(path, headers={"Authorization": authorization})
        assert answer.status_code == 401, (path, answer.text)
        assert answer.json()["detail"]


def test_anonymous_api_and_bad_values(client, account, platform_url):
    assert client.get("/jmdc/api/account").status_code == 401
    assert client.post("/jmdc/api/account/tokens", json={"name": "x"}).status_code == 401
    database = Database(AccountsSettings(database_url=platform_url))
    with database.session() as session:
        token, _ = services.create_token(session, services.find_user(session, account), "t")
    database.dispose()
    auth = {"Authorization": f"Bearer {token}"}
    for token_id in ("0", "99999999999999999999", "abc"):
        answer = client.delete(f"/jmdc/api/account/tokens/{token_id}", headers=auth)
        assert answer.status_code == 400 and answer.json()["parameter"] == "token_id"
    for body in ({"name": ""}, {"name": "x", "expires_at": "2020-01-01T00:00:00"}, {}):
        answer = client.post("/jmdc/api/account/tokens", json=body, headers=auth)
        assert answer.status_code == 400, body
        assert answer.json()["parameter"] in ("name", "expires_at"), answer.json()


def wait_until_answering(url: str) -> None:
    """Return once the server answers at all (its /health says 503: its database is down)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_database_down_is_503_never_500_nor_someone_else(jmdc_without_database):
    cookies = {"jmmc_session": "x" * 43}
    bearer = {"Authorization": "Bearer jmmc_" + "x" * 43}
    api = httpx.get(f"{jmdc_without_database}/jmdc/api/account", headers=bearer)
    assert api.status_code == 503 and "127.0.0.1" not in api.text
    page = httpx.get(
        f"{jmdc_without_database}/jmdc/account", headers={"Accept": "text/html"}, cookies=cookies
    )
    assert page.status_code == 503 and "text/html" in page.headers["content-type"]
    home = httpx.get(f"{jmdc_without_database}/jmdc/", headers=page.request.headers)
    assert home.status_code == 200 and 'id="signin"' in home.text  # needs no one: still served

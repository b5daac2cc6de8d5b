"""Releases through the served API, pages and command line: who may freeze one, its number,
date and content, that it never changes (the database refuses; the API answers 409), how two
releases differ, and its VizieR files read back by CDS's reader with the database's values."""

import io
import itertools
import os
import subprocess
import sys
import tarfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text

from jmdc.models.catalogue import measurement_columns
from jmdc.services import releases, vizier
from jmmc_core.database import Database
from jmmc_core.errors import Conflict

_stars = itertools.count(1)
#: The frozen values, in the VizieR files' order.
VALUES = [column.name for column in measurement_columns]


@pytest.fixture(scope="module")
def database(jmdc_settings) -> Iterator[Database]:
    found = Database(jmdc_settings)
    yield found
    found.dispose()


@pytest.fixture(scope="module")
def curator(jmdc_accounts):
    return jmdc_accounts.new(roles=("curator",))


@pytest.fixture(scope="module")
def moderator(jmdc_accounts):
    return jmdc_accounts.new(roles=("moderator",))


def add_measurement(database: Database, **values: Any) -> int:
    """A catalogue measurement (as an accepted submission leaves one); its id."""
    row = {"id1": f"HD {900000 + next(_stars)}", "origin": "test", "method": 1} | values
    columns = ", ".join(row)
    with database.session() as session:
        return session.execute(
            text(f"INSERT INTO jmdc.measurements ({columns}) VALUES"
                 f" ({', '.join(':' + name for name in row)}) RETURNING id"), row,
        ).scalar_one()  # fmt: skip


def freeze(server, account, title: str = "a release", **extra: Any) -> httpx.Response:
    return httpx.post(
        f"{server.service_url}/api/releases",
        json={"title": title, **extra},
        headers=account.headers,
        timeout=60,
    )


def new_release(server, database, account) -> dict:
    add_measurement(database)
    answer = freeze(server, account)
    assert answer.status_code == 201, answer.text
    return answer.json()


def current_catalogue(database: Database) -> dict[int, dict]:
    with database.session() as session:
        rows = session.execute(
            text(
                f"SELECT id, {', '.join(VALUES)}, ra, dec FROM jmdc.measurements"
                " WHERE withdrawn IS NULL"
            )
        )
        return {row.id: {k: v for k, v in row._asdict().items() if k != "id"} for row in rows}


def entries(database: Database, number: int) -> dict[int, dict]:
    with database.session() as session:
        rows = session.execute(
            text(f"SELECT measurement_id, {', '.join(VALUES)}, ra, dec FROM jmdc.release_entries"
                 " WHERE release_number = :n"), {"n": number},
        )  # fmt: skip
        return {r.measurement_id: {k: v for k, v in r._asdict().items() if k != "measurement_id"}
                for r in rows}  # fmt: skip


def test_a_curator_freezes_the_catalogue_into_the_next_release(jmdc_server, database, curator):
    before = httpx.get(f"{jmdc_server.service_url}/api/releases").json()
    add_measurement(database, ud_diameter=1.25)
    catalogue = current_catalogue(database)

    answer = freeze(jmdc_server, curator, "first of the tests", note="new measurements")

    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["number"] == (before[0]["number"] + 1 if before else 1)
    assert made["measurement_count"] == len(catalogue)
    assert made["title"] == "first of the tests" and made["note"] == "new measurements"
    assert made["released"].startswith(str(datetime.now(UTC).date()))
    assert entries(database, made["number"]) == catalogue
    listed = httpx.get(f"{jmdc_server.service_url}/api/releases").json()
    assert listed[0]["number"] == made["number"]
    assert listed[0]["files"]["readme"].endswith(f"/releases/{made['number']}/ReadMe")


def test_only_curators_freeze_releases(jmdc_server, jmdc_accounts, database):
    add_measurement(database)
    for roles in (("submitter",), ("moderator",)):
        account = jmdc_accounts.new(roles=roles)
        refused = freeze(jmdc_server, account)
        assert refused.status_code == 403
        assert refused.json()["detail"] == "this needs the curator role"
    anonymous = httpx.post(f"{jmdc_server.service_url}/api/releases", json={"title": "x"})
    assert anonymous.status_code == 401
    form = httpx.post(
        f"{jmdc_server.service_url}/releases",
        data={"title": "x"},
        headers=jmdc_accounts.new(roles=("submitter",)).headers | {"Accept": "text/html"},
    )
    assert form.status_code == 403 and "curator role" in form.text


def test_an_unchanged_catalogue_is_not_released_again(jmdc_server, database, curator):
    made = new_release(jmdc_server, database, curator)

    again = freeze(jmdc_server, curator)

    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"nothing changed since release {made['number']}")


def test_bad_release_requests_name_the_parameter(jmdc_server, curator):
    for body, parameter in (({"title": " "}, "title"), ({"title": "x" * 201}, "title"),
                            ({"title": "x", "note": "\x00"}, "note"), ({}, "title")):  # fmt: skip
        answer = httpx.post(
            f"{jmdc_server.service_url}/api/releases", json=body, headers=curator.headers
        )
        assert answer.status_code == 400, body
        assert answer.json()["parameter"].endswith(parameter), answer.json()
    missing = httpx.get(f"{jmdc_server.service_url}/api/releases/999999")
    assert missing.status_code == 404 and missing.json()["detail"] == "no release 999999"
    assert httpx.get(f"{jmdc_server.service_url}/api/releases/0").status_code == 400


def test_a_release_can_never_be_changed_through_the_api(jmdc_server, database, curator):
    made = new_release(jmdc_server, database, curator)
    url = f"{jmdc_server.service_url}/api/releases/{made['number']}"

    changed = httpx.patch(url, json={"title": "renamed"}, headers=curator.headers)
    deleted = httpx.delete(url, headers=curator.headers)

    for answer in (changed, deleted):
        assert answer.status_code == 409
        assert answer.json()["detail"] == "a release can never be changed once made"
    assert httpx.get(url).json()["title"] == made["title"]


def test_the_database_refuses_to_change_a_release(jmdc_database, jmdc_server, database, curator):
    number = new_release(jmdc_server, database, curator)["number"]
    other = add_measurement(database)
    url = jmdc_database.replace("postgresql+psycopg://", "postgresql://")
    statements = (
        f"UPDATE jmdc.releases SET title = 'x' WHERE number = {number}",
        f"DELETE FROM jmdc.releases WHERE number = {number}",
        f"UPDATE jmdc.release_entries SET ud_diameter = 1 WHERE release_number = {number}",
        f"DELETE FROM jmdc.release_entries WHERE release_number = {number}",
        "TRUNCATE jmdc.release_entries",
        f"INSERT INTO jmdc.release_entries (release_number, measurement_id, id1)"
        f" VALUES ({number}, {other}, 'HD 1')",
    )
    for statement in statements:
        with psycopg.connect(url) as connection, pytest.raises(psycopg.Error) as refused:
            connection.execute(statement)
        assert refused.value.sqlstate == "JM001", statement
        assert "a release can never be changed once made" in str(refused.value)
    assert len(entries(database, number)) == httpx.get(
        f"{jmdc_server.service_url}/api/releases/{number}").json()["measurement_count"]  # fmt: skip


def blocked_on_the_releases(database: Database) -> bool:
    """Whether a session comes to wait for the lock on the releases (polled, at most 60 s)."""
    for _ in range(600):
        with database.session() as session:
            if session.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE 'LOCK TABLE jmdc.releases%'"
            )):  # fmt: skip
                return True
        time.sleep(0.1)
    return False


def test_concurrent_releases_never_share_a_number(jmdc_server, database, curator):
    """The second waits for the first, then sees its release (and nothing new to freeze)."""
    add_measurement(database)
    outcome: dict[str, Any] = {}
    with database.session() as first:
        made = releases.create_release(first, "concurrent one")

        def second() -> None:
            try:
                with database.session() as session:
                    releases.create_release(session, "concurrent two")
            except Conflict as error:
                outcome["refused"] = str(error)

        waiting = threading.Thread(target=second)
        waiting.start()
        assert blocked_on_the_releases(database)
        number = made.number
    waiting.join(timeout=60)
    assert outcome["refused"].startswith(f"nothing changed since release {number}")


def test_a_diff_shows_added_changed_and_withdrawn_with_reasons(
    jmdc_server, database, curator, moderator
):
    changing = add_measurement(database, ud_diameter=2.5, band="K", band_code=8)
    leaving = add_measurement(database, ud_diameter=3.0)
    old = new_release(jmdc_server, database, curator)["number"]
    with database.session() as session:
        session.execute(text("UPDATE jmdc.measurements SET ud_diameter = 2.75, band = 'H',"
                             " band_code = 7 WHERE id = :id"), {"id": changing})  # fmt: skip
    withdrawn = httpx.post(
        f"{jmdc_server.service_url}/api/measurements/{leaving}/withdraw",
        json={"reason": "wrong star: the companion was measured"},
        headers=moderator.headers,
    )
    assert withdrawn.status_code == 204, withdrawn.text
    arriving = add_measurement(database, bibcode="2020A&A...999A...1X")
    new = freeze(jmdc_server, curator, "with a diff").json()["number"]

    diff = httpx.get(f"{jmdc_server.service_url}/api/releases/{old}/diff/{new}").json()

    assert [row["measurement_id"] for row in diff["added"]] == [arriving]
    assert diff["added"][0]["bibcode"] == "2020A&A...999A...1X"
    assert diff["changed"] == [{
        "measurement_id": changing, "id1": diff["changed"][0]["id1"],
        "fields": {"ud_diameter": {"old": 2.5, "new": 2.75}, "band": {"old": "K", "new": "H"},
                   "band_code": {"old": 8, "new": 7}},
    }]  # fmt: skip
    assert [(w["measurement_id"], w["reason"]) for w in diff["withdrawn"]] == [
        (leaving, "wrong star: the companion was measured")
    ]
    page = httpx.get(f"{jmdc_server.service_url}/releases/{old}/diff/{new}")
    assert page.status_code == 200
    assert "1 added, 1 changed, 1 withdrawn" in page.text
    assert "wrong star: the companion was measured" in page.text
    # The old release still holds the withdrawn measurement, as it was.
    assert leaving in entries(database, old) and leaving not in entries(database, new)


def test_withdrawal_needs_a_moderator_or_curator_and_a_reason(
    jmdc_server, jmdc_accounts, database, moderator
):
    measurement = add_measurement(database)
    url = f"{jmdc_server.service_url}/api/measurements/{measurement}/withdraw"
    submitter = jmdc_accounts.new(roles=("submitter",))

    assert httpx.post(url, json={"reason": "x"}, headers=submitter.headers).status_code == 403
    assert httpx.post(url, json={"reason": "x"}).status_code == 401
    blank = httpx.post(url, json={"reason": "  "}, headers=moderator.headers)
    assert blank.status_code == 400 and blank.json()["parameter"] == "reason"
    assert (
        httpx.post(url, json={"reason": "duplicate"}, headers=moderator.headers).status_code == 204
    )
    again = httpx.post(url, json={"reason": "again"}, headers=moderator.headers)
    assert again.status_code == 409 and "duplicate" in again.json()["detail"]
    unknown = f"{jmdc_server.service_url}/api/measurements/2000000000/withdraw"
    assert httpx.post(unknown, json={"reason": "x"}, headers=moderator.headers).status_code == 404


def test_release_files_read_back_with_the_database_values(jmdc_server, database, curator):
    add_measurement(database, id2="alf Tau", ud_diameter=20.123456, e_ud_diameter=0.5,
                    ld_diameter=20.6, e_ld_diameter=0.03, band="2.2", band_code=8,
                    mu_lambda=0.25, method=3, notes="; ".join(["Mira"] * 50),
                    bibcode="2016A&A...589A.112C", sinpe=True)  # fmt: skip
    add_measurement(database, ud_diameter=None, method=2)
    number = freeze(jmdc_server, curator).json()["number"]
    base = f"{jmdc_server.service_url}/releases/{number}"

    readme = httpx.get(f"{base}/ReadMe")
    data = httpx.get(f"{base}/jmdc.dat")
    archive = httpx.get(f"{base}/vizier.tar.gz")

    assert readme.status_code == data.status_code == archive.status_code == 200
    read = vizier.read_text(readme.text, data.text)
    formats = {c.name: c.vizier_format for c in measurement_columns}

    def as_written(name: str, value: Any) -> Any:
        """A value at its format's precision (floats keep the format's decimals)."""
        if isinstance(value, float):
            return round(value, int(formats[name].split(".")[1]))
        return value

    frozen = entries(database, number).values()
    assert len(read) == len(frozen)
    assert Counter(tuple(row.values[name] for name in VALUES) for row in read) == Counter(
        tuple(as_written(name, row[name]) for name in VALUES) for row in frozen
    )
    with tarfile.open(fileobj=io.BytesIO(archive.content)) as packed:
        names = packed.getnames()
        assert names == [f"jmdc-release-{number}/ReadMe", f"jmdc-release-{number}/jmdc.dat"]
        assert packed.extractfile(names[0]).read().decode() == readme.text
        assert packed.extractfile(names[1]).read().decode() == data.text
    assert f"jmdc.dat      {len(data.text.splitlines()[0]):>6}{len(read):>9}" in readme.text


def test_a_release_is_browsed_and_exported_as_it_was(jmdc_server, database, curator, moderator):
    kept = add_measurement(database, id1="HD 424242", ud_diameter=4.5, band="K")
    number = freeze(jmdc_server, curator).json()["number"]
    httpx.post(
        f"{jmdc_server.service_url}/api/measurements/{kept}/withdraw",
        json={"reason": "superseded"},
        headers=moderator.headers,
    )

    page = httpx.get(f"{jmdc_server.service_url}/releases/{number}", params={"name": "hd424242"},
                     headers={"Accept": "text/html"})  # fmt: skip
    found = httpx.get(f"{jmdc_server.service_url}/api/releases/{number}/measurements",
                      params={"name": "HD 424242"}).json()  # fmt: skip
    csv = httpx.get(f"{jmdc_server.service_url}/releases/{number}/export.csv",
                    params={"name": "HD 424242"})  # fmt: skip

    assert page.status_code == 200 and "HD 424242" in page.text and "1 measurement" in page.text
    assert [row["id"] for row in found["items"]] == [kept]
    assert csv.status_code == 200 and csv.text.count("HD 424242") == 1
    assert "attachment" in csv.headers["content-disposition"]
    for format, media_type in (("xlsx", "spreadsheetml"), ("pdf", "pdf"), ("votable", "votable")):
        export = httpx.get(f"{jmdc_server.service_url}/releases/{number}/export.{format}",
                           params={"name": "HD 424242"}, timeout=60)  # fmt: skip
        assert export.status_code == 200 and media_type in export.headers["content-type"]
        assert f"jmdc-release-{number}." in export.headers["content-disposition"]
    votable = httpx.get(f"{jmdc_server.service_url}/releases/{number}/export.votable",
                        params={"name": "HD 424242"}).text  # fmt: skip
    assert "<TD>HD 424242</TD>" in votable
    catalogue = httpx.get(f"{jmdc_server.service_url}/api/measurements",
                          params={"name": "HD 424242"}).json()  # fmt: skip
    assert catalogue["total"] == 0  # withdrawn from the catalogue, still in the release


def jmdc(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from jmdc.cli import main; main()", *arguments],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_line_releases_withdraws_and_compares(jmdc_environment, database):
    withdrawn = add_measurement(database)
    old = jmdc(jmdc_environment, "release", "--title", "from the command line")
    assert old.returncode == 0, old.stderr
    old_number = int(old.stdout.split(":")[0].removeprefix("release "))
    assert (
        jmdc(jmdc_environment, "withdraw", str(withdrawn), "--reason", "retracted").returncode == 0
    )
    new = jmdc(jmdc_environment, "release", "--title", "after a withdrawal")
    new_number = int(new.stdout.split(":")[0].removeprefix("release "))

    diff = jmdc(jmdc_environment, "release-diff", str(old_number), str(new_number))
    unchanged = jmdc(jmdc_environment, "release", "--title", "nothing new")
    repeated = jmdc(jmdc_environment, "release", "--title", "nothing new", "--if-changed")
    listed = jmdc(jmdc_environment, "releases")

    assert new_number == old_number + 1
    assert f"- {withdrawn} " in diff.stdout and "retracted" in diff.stdout
    assert unchanged.returncode == 1
    assert unchanged.stderr.strip() == (
        f"Error: nothing changed since release {new_number}: no measurement added, changed or"
        " withdrawn"
    )
    assert repeated.returncode == 0
    assert repeated.stdout.startswith(f"nothing changed since release {new_number}")
    assert "after a withdrawal" in listed.stdout.splitlines()[-1]
    missing = jmdc(jmdc_environment, "release-diff", "1", "999999")
    assert missing.returncode == 1 and missing.stderr.strip() == "Error: no release 999999"


def test_the_withdrawal_form_is_for_moderators_and_curators(
    jmdc_server, jmdc_accounts, database, moderator
):
    measurement = add_measurement(database)
    url = f"{jmdc_server.service_url}/withdrawals"
    html = {"Accept": "text/html"}
    submitter = jmdc_accounts.new(roles=("submitter",))

    refused = httpx.post(url, data={"measurement_id": measurement, "reason": "x"},
                         headers=submitter.headers | html)  # fmt: skip
    bad = httpx.post(url, data={"measurement_id": "x", "reason": "x"},
                     headers=moderator.headers | html)  # fmt: skip
    done = httpx.post(url, data={"measurement_id": measurement, "reason": "typo in the paper"},
                      headers=moderator.headers | html)  # fmt: skip

    assert refused.status_code == 403 and "moderator or curator role" in refused.text
    assert bad.status_code == 400 and "measurement_id" in bad.text
    assert done.status_code == 200 and f"Measurement {measurement} is withdrawn" in done.text
    assert measurement not in current_catalogue(database)

"""Moderation through the JSON API: only moderators act, comments where a decision needs one,
an accepted submission becomes a catalogue measurement in the same transaction, every action
is in the audit trail and in a notification for the submitter."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from ..service_fixture import Account
from .test_submission_api import measurement, submit


@pytest.fixture(scope="module")
def api(jmdc_submission_server) -> httpx.Client:
    with httpx.Client(base_url=f"{jmdc_submission_server.service_url}/api") as client:
        yield client


@pytest.fixture(scope="module")
def database(jmdc_database):
    engine = create_engine(jmdc_database.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


@pytest.fixture
def submitter(jmdc_accounts) -> Account:
    return jmdc_accounts.new(roles=("submitter",))


@pytest.fixture
def moderator(jmdc_accounts) -> Account:
    return jmdc_accounts.new(roles=("moderator",))


def act(
    api: httpx.Client, account: Account, submission_id: int, action: str, comment: str | None = None
) -> httpx.Response:
    return api.post(
        f"/moderation/{submission_id}",
        json={"action": action, "comment": comment},
        headers=account.headers,
    )


def measurement_row(database, measurement_id: int) -> dict[str, Any]:
    with database.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM jmdc.measurements WHERE id = :id"), {"id": measurement_id}
        )
        return dict(row.one()._mapping)


def test_only_moderators_moderate(api, jmdc_accounts, submitter, moderator):
    created = submit(api, submitter)
    assert act(api, submitter, created["id"], "accept").status_code == 403
    assert api.get("/moderation", headers=submitter.headers).status_code == 403
    assert api.post(f"/moderation/{created['id']}", json={"action": "accept"}).status_code == 401
    both = jmdc_accounts.new(roles=("submitter", "moderator"))
    own = submit(api, both)
    refused = act(api, both, own["id"], "accept")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "a moderator cannot moderate their own submission"
    assert act(api, moderator, 2_000_000_000, "accept").status_code == 404
    # a moderator sees any submission, the submitter only their own
    seen = api.get(f"/submissions/{created['id']}", headers=moderator.headers)
    assert seen.status_code == 200 and seen.json()["submitter"] == submitter.username


def test_the_queue_is_oldest_first_and_shows_warnings(api, submitter, moderator):
    first = submit(api, submitter)
    second = submit(api, submitter, id1="HD 999998", id2=None)
    queue = api.get("/moderation", params={"page_size": 1000}, headers=moderator.headers).json()
    ids = [item["id"] for item in queue["items"]]
    assert ids.index(first["id"]) < ids.index(second["id"])
    assert all(item["state"] == "submitted" for item in queue["items"])
    waiting = next(item for item in queue["items"] if item["id"] == second["id"])
    assert waiting["warnings"][0]["message"] == "not checked: resolver offline"


def test_accepting_makes_a_catalogue_measurement(api, database, submitter, moderator):
    created = submit(api, submitter, mu_lambda=1.04, notes="fitted with a PHOENIX model")
    accepted = act(api, moderator, created["id"], "accept", "fine")
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["state"] == "accepted" and body["moderator_comment"] == "fine"
    measurement_id = body["measurement_id"]
    row = measurement_row(database, measurement_id)
    assert row["origin"] == "submission"
    assert row["submitted_by"] == submitter.user.id
    for field in ("id1", "id2", "ud_diameter", "ld_diameter", "e_ld_diameter", "band"):
        assert row[field] == created[field]
    assert (row["band_code"], row["method"], row["bibcode"]) == (7, 1, created["bibcode"])
    assert row["simbad_id"] == "* alf Boo"
    assert row["ra"] == pytest.approx(213.9153, abs=1e-3)

    event = body["events"][-1]
    assert (event["action"], event["actor"], event["comment"]) == (
        "accepted",
        moderator.username,
        "fine",
    )
    assert (event["from_state"], event["to_state"]) == ("submitted", "accepted")
    assert event["changes"] == {"measurement_id": [None, measurement_id]}

    again = act(api, moderator, created["id"], "reject", "changed my mind")
    assert again.status_code == 409
    assert "accepted" in again.json()["detail"]

    notes = api.get("/notifications", headers=submitter.headers).json()["items"]
    latest = notes[0]
    assert latest["submission_id"] == created["id"]
    assert latest["subject"] == f"JMDC submission {created['id']} accepted: HD 124897"
    assert f"it is now measurement {measurement_id} of the catalogue" in latest["body"]
    assert latest["body"].startswith(f"Dear {submitter.username},")
    assert "fine" in latest["body"] and latest["sent"] is None
    assert [note["subject"].split(": ")[0] for note in notes] == [
        f"JMDC submission {created['id']} accepted",
        f"JMDC submission {created['id']} received",
    ]


def test_a_duplicate_of_a_catalogue_measurement_is_shown(api, submitter, moderator):
    original = submit(api, submitter)
    measurement_id = act(api, moderator, original["id"], "accept").json()["measurement_id"]
    same_reference = submit(api, submitter, bibcode=original["bibcode"], ud_diameter=19.0)
    same_values = submit(api, submitter, id1="hd124897")
    for duplicate in (same_reference, same_values):
        warnings = [w for w in duplicate["warnings"] if "duplicate" in w["message"]]
        assert warnings, duplicate["warnings"]
        assert f"catalogue measurement {measurement_id}" in " ".join(
            warning["message"] for warning in warnings
        )
        assert warnings[0]["link"].endswith("/stars/HD%20124897")
    assert "same star, bibcode and band" in str(same_reference["warnings"])
    assert "same star and diameters" in str(same_values["warnings"])


def test_changes_requested_then_resubmitted_then_rejected(api, submitter, moderator):
    created = submit(api, submitter)
    refused = act(api, moderator, created["id"], "request_changes")
    assert refused.status_code == 400 and refused.json()["parameter"] == "comment"
    assert act(api, moderator, created["id"], "reject", "   ").status_code == 400
    assert act(api, moderator, created["id"], "archive", "x").status_code == 400

    asked = act(api, moderator, created["id"], "request_changes", "Give the LD error.")
    assert asked.json()["state"] == "changes_requested"
    corrected = {**measurement(bibcode=created["bibcode"]), "e_ld_diameter": 0.25}
    edited = api.put(f"/submissions/{created['id']}", json=corrected, headers=submitter.headers)
    assert edited.status_code == 200
    sent = api.post(f"/submissions/{created['id']}/submit", headers=submitter.headers).json()
    assert sent["state"] == "submitted"
    rejected = act(api, moderator, created["id"], "reject", "Already published elsewhere.")
    trail = rejected.json()["events"]
    assert [(e["action"], e["from_state"], e["to_state"]) for e in trail] == [
        ("created", None, "draft"),
        ("submitted", "draft", "submitted"),
        ("changes_requested", "submitted", "changes_requested"),
        ("edited", "changes_requested", "changes_requested"),
        ("resubmitted", "changes_requested", "submitted"),
        ("rejected", "submitted", "rejected"),
    ]
    assert trail[2]["comment"] == "Give the LD error."
    assert trail[3]["changes"] == {"e_ld_diameter": [0.2, 0.25]}
    assert trail[2]["actor"] == trail[5]["actor"] == moderator.username
    subjects = [
        note["subject"]
        for note in api.get("/notifications", headers=submitter.headers).json()["items"]
    ]
    assert subjects == [
        f"JMDC submission {created['id']} {what}: HD 124897"
        for what in ("rejected", "received again", "changes requested", "received")
    ]
    assert (
        api.put(
            f"/submissions/{created['id']}", json=corrected, headers=submitter.headers
        ).status_code
        == 409
    )


def test_a_correction_updates_the_measurement_and_keeps_the_old_values(
    api, database, submitter, moderator
):
    original = submit(api, submitter)
    measurement_id = act(api, moderator, original["id"], "accept").json()["measurement_id"]
    correction = {
        **measurement(bibcode=original["bibcode"], ld_diameter=21.3),
        "replaces_id": measurement_id,
    }
    created = api.post("/submissions", json=correction, headers=submitter.headers).json()
    assert created["replaces_id"] == measurement_id
    assert created["replaced"]["ld_diameter"] == 21.05
    accepted = act(api, moderator, created["id"], "accept").json()
    assert accepted["measurement_id"] == measurement_id
    assert accepted["events"][-1]["changes"] == {
        "ld_diameter": [21.05, 21.3],
        "measurement_id": [None, measurement_id],
    }
    row = measurement_row(database, measurement_id)
    assert row["ld_diameter"] == 21.3 and row["origin"] == "submission"

    unknown = api.post(
        "/submissions",
        json={**measurement(), "replaces_id": 2_000_000_000},
        headers=submitter.headers,
    )
    assert unknown.status_code == 400 and unknown.json()["parameter"] == "replaces_id"


def test_two_moderators_deciding_at_once_make_one_decision(
    api, database, jmdc_accounts, submitter, moderator
):
    other = jmdc_accounts.new(roles=("moderator",))
    created = submit(api, submitter)
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(
                lambda account: act(api, account, created["id"], "accept").status_code,
                (moderator, other),
            )
        )
    assert sorted(answers) == [200, 409]
    with database.connect() as connection:
        made = connection.execute(
            text("SELECT count(*) FROM jmdc.measurements WHERE bibcode = :bibcode"),
            {"bibcode": created["bibcode"]},
        ).scalar()
        events = connection.execute(
            text("SELECT count(*) FROM jmdc.submission_events WHERE submission_id = :id"),
            {"id": created["id"]},
        ).scalar()
    assert (made, events) == (1, 3)

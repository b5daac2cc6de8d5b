"""Submissions through the JSON API: validation problems named by field, the name resolver's
answers, rights (401, 403, someone else's submission 404), drafts, edits and batch files."""

import io
import itertools
import random
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from ..service_fixture import Account

_bibcodes = itertools.count(random.randrange(100, 900))


def new_bibcode() -> str:
    """A bibcode of the ADS format no other test uses (so no test sees another's duplicates)."""
    number = next(_bibcodes)
    return f"2024A&A...{number % 1000:03d}A.{random.randrange(100, 999)}B"


def measurement(**changes: Any) -> dict[str, Any]:
    """A valid proposed measurement of alf Boo (a star the recorded resolver answers know)."""
    return {
        "id1": "HD 124897",
        "id2": "alf Boo",
        "ud_diameter": 20.2,
        "ld_diameter": 21.05,
        "e_ld_diameter": 0.2,
        "band": "H",
        "band_code": 7,
        "method": 1,
        "bibcode": new_bibcode(),
        **changes,
    }


@pytest.fixture(scope="module")
def api(jmdc_submission_server) -> httpx.Client:
    with httpx.Client(base_url=f"{jmdc_submission_server.service_url}/api") as client:
        yield client


@pytest.fixture
def submitter(jmdc_accounts) -> Account:
    return jmdc_accounts.new(roles=("submitter",))


def submit(api: httpx.Client, account: Account, **changes: Any) -> dict[str, Any]:
    response = api.post("/submissions", json=measurement(**changes), headers=account.headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_valid_submission_is_submitted_with_its_audit_trail(api, submitter):
    # Diameters no other test proposes: one accepted elsewhere would make this a duplicate.
    created = submit(api, submitter, ld_diameter=21.0517)
    assert created["state"] == "submitted"
    assert created["submitter"] == submitter.username
    assert created["warnings"] == []  # both names resolved from the recordings
    assert [event["action"] for event in created["events"]] == ["created", "submitted"]
    assert created["events"][0]["changes"]["ud_diameter"] == [None, 20.2]
    assert created["events"][1]["actor"] == submitter.username
    assert (created["events"][1]["from_state"], created["events"][1]["to_state"]) == (
        "draft",
        "submitted",
    )
    mine = api.get("/submissions", headers=submitter.headers).json()
    assert [item["id"] for item in mine["items"]] == [created["id"]]
    assert mine["items"][0]["state"] == "submitted"


def test_each_problem_is_named_with_its_field(api, submitter):
    bad = measurement(
        ud_diameter=-3.0,
        ld_diameter=2.0,
        e_ld_diameter=0,
        band="2.2",
        band_code=7,
        method=4,
        bibcode="2016A&A.589.112C",
    )
    response = api.post("/submissions", json=bad, headers=submitter.headers)
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == "ud_diameter"
    for text in (
        "ud_diameter: the value must be greater than 0",
        "e_ld_diameter: the error must be greater than 0",
        "band_code: 7 (H) does not match band '2.2', which is 8 (K)",
        "method: unknown method 4",
        "bibcode: '2016A&A.589.112C' is not a 19-character ADS bibcode",
    ):
        assert text in body["detail"]
    assert api.get("/submissions", headers=submitter.headers).json()["total"] == 0

    checked = api.post("/submissions/validate", json=bad, headers=submitter.headers).json()
    assert not checked["valid"]
    assert {problem["field"] for problem in checked["problems"]} == {
        "ud_diameter",
        "e_ld_diameter",
        "band_code",
        "method",
        "bibcode",
    }


def test_ld_smaller_than_ud_needs_a_note(api, submitter):
    smaller = measurement(ud_diameter=21.0, ld_diameter=20.0)
    response = api.post("/submissions", json=smaller, headers=submitter.headers)
    assert response.status_code == 400
    assert response.json()["parameter"] == "ld_diameter"
    assert "explain why in the notes" in response.json()["detail"]
    explained = {**smaller, "notes": "LD from a different model fit than UD"}
    assert api.post("/submissions", json=explained, headers=submitter.headers).status_code == 201


def test_free_text_band_needs_its_code(api, submitter):
    free = measurement(band="550 to 850", band_code=None, method=2)
    response = api.post("/submissions", json=free, headers=submitter.headers)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("band_code: required when the band is free text")
    assert submit(api, submitter, band="550 to 850", band_code=3, method=2)["band_code"] == 3
    assert submit(api, submitter, band="800nm", band_code=5)["band"] == "800nm"


def test_names_unknown_to_simbad_are_refused_and_unchecked_ones_flagged(api, submitter):
    unknown = api.post(
        "/submissions", json=measurement(id1="NOSUCHSTAR 42"), headers=submitter.headers
    )
    assert unknown.status_code == 400
    assert unknown.json() == {
        "detail": "id1: 'NOSUCHSTAR 42' is unknown to SIMBAD",
        "parameter": "id1",
    }
    unrecorded = submit(api, submitter, id1="HD 999999", id2=None)
    assert unrecorded["warnings"] == [
        {"field": "id1", "message": "not checked: resolver offline", "severity": "warning"}
    ]
    other_star = submit(api, submitter, id2="alf Cet")
    assert other_star["warnings"][0]["field"] == "id2"
    assert (
        "names another object (* alf Cet) than id1 (* alf Boo)"
        in (other_star["warnings"][0]["message"])
    )


def test_rights(api, jmdc_accounts, submitter):
    assert api.post("/submissions", json=measurement()).status_code == 401
    assert api.get("/submissions").status_code == 401
    reader = jmdc_accounts.new()
    refused = api.post("/submissions", json=measurement(), headers=reader.headers)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this needs the submitter role"

    created = submit(api, submitter)
    other = jmdc_accounts.new(roles=("submitter",))
    assert api.get(f"/submissions/{created['id']}", headers=other.headers).status_code == 404
    assert api.get("/submissions", headers=other.headers).json()["total"] == 0
    edit = api.put(f"/submissions/{created['id']}", json=measurement(), headers=other.headers)
    assert edit.status_code == 404
    assert api.get("/submissions/2147483648", headers=submitter.headers).status_code == 400


def test_drafts_are_edited_then_submitted(api, submitter):
    draft = api.post(
        "/submissions", json={**measurement(), "draft": True}, headers=submitter.headers
    ).json()
    assert draft["state"] == "draft" and draft["editable"]
    changed = measurement(bibcode=draft["bibcode"], ud_diameter=19.9)
    edited = api.put(f"/submissions/{draft['id']}", json=changed, headers=submitter.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["events"][-1]["changes"] == {"ud_diameter": [20.2, 19.9]}

    wrong = api.put(
        f"/submissions/{draft['id']}", json={**changed, "method": 0}, headers=submitter.headers
    )
    assert wrong.status_code == 400 and wrong.json()["parameter"] == "method"
    sent = api.post(f"/submissions/{draft['id']}/submit", headers=submitter.headers).json()
    assert sent["state"] == "submitted" and not sent["editable"]
    assert sent["ud_diameter"] == 19.9
    again = api.put(f"/submissions/{draft['id']}", json=changed, headers=submitter.headers)
    assert again.status_code == 409
    assert (
        api.post(f"/submissions/{draft['id']}/submit", headers=submitter.headers).status_code == 409
    )


def test_malformed_fields_are_400s(api, submitter):
    for payload, parameter in (
        ({**measurement(), "ud_diameter": "big"}, "ud_diameter"),
        ({**measurement(), "colour": "red"}, "colour"),
        ({**measurement(), "method": 2**40}, "method"),
        ({**measurement(), "id1": "x" * 300}, "id1"),
    ):
        response = api.post("/submissions", json=payload, headers=submitter.headers)
        assert response.status_code == 400, payload
        assert response.json()["parameter"] == parameter
    too_long = api.post(
        "/submissions",
        json=measurement(id1="HD 124897" + " " * 5 + "A" * 30),
        headers=submitter.headers,
    )
    assert too_long.status_code == 400
    assert too_long.json()["detail"].startswith("id1: at most 28 characters")


BATCH_HEADER = "id1,id2,UDdiam,LDdiam,e_LDdiam,band,BandCode,method,notes,BibCode\n"


def test_a_csv_batch_keeps_its_good_rows_as_drafts_and_reports_the_bad_ones(api, submitter):
    bibcode = new_bibcode()
    csv_text = BATCH_HEADER + "".join(
        (
            f"HD 124897,alf Boo,20.2,21.0,0.2,H,7,1,,{bibcode}\n",
            f"HD 29139,alf Tau,,20.6,0.3,K,8,optical interferometry,,{bibcode}\n",
            f"HD 18884,alf Cet,12.0,-1,0.1,K,8,1,,{bibcode}\n",  # row 4: LD negative
            f"NOSUCHSTAR 42,,3.0,,,2.2,8,1,,{bibcode}\n",  # row 5: unknown name
            "HD 62509,bet Gem,7.9,8.0,0.1,H,8,1,,not-a-bibcode\n",  # row 6: two problems
        )
    )
    response = api.post(
        "/submissions/batch",
        files={"file": ("batch.csv", csv_text.encode(), "text/csv")},
        headers=submitter.headers,
    )
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["rows"] == 5
    assert len(report["created"]) == 2
    assert [(item["row"], item["column"]) for item in report["rejected"]] == [
        (4, "ld_diameter"),
        (5, "id1"),
        (6, "band_code"),
        (6, "bibcode"),
    ]
    drafts = [
        api.get(f"/submissions/{id}", headers=submitter.headers).json() for id in report["created"]
    ]
    assert [(draft["id1"], draft["state"], draft["batch_id"]) for draft in drafts] == [
        ("HD 124897", "draft", report["batch_id"]),
        ("HD 29139", "draft", report["batch_id"]),
    ]
    assert drafts[1]["method"] == 1

    again = api.post(
        "/submissions/batch",
        files={"file": ("same.csv", csv_text.encode(), "text/csv")},
        headers=submitter.headers,
    ).json()
    assert again["already_uploaded"] and again["created"] == report["created"]
    assert api.get("/submissions", headers=submitter.headers).json()["total"] == 2

    sent = api.post(f"/submissions/batch/{report['batch_id']}/submit", headers=submitter.headers)
    assert sent.status_code == 200, sent.text
    assert [(item["id"], item["state"]) for item in sent.json()] == [
        (id, "submitted") for id in report["created"]
    ]
    none_left = api.post(
        f"/submissions/batch/{report['batch_id']}/submit", headers=submitter.headers
    )
    assert none_left.status_code == 404


def test_an_xlsx_batch(api, submitter):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        ["ID1", "ID2", "UD_MEAS", "LD_MEAS", "E_LD_MEAS", "BAND", "BANDCODE", "METHOD", "BibCode"]
    )
    sheet.append(["HD 186791", "gam Aql", 7.1, 7.3, 0.05, 2.2, 8, 1, new_bibcode()])
    sheet.append(["HD 186791", "gam Aql", 7.1, 7.3, 0.05, 2.2, 8, 9, new_bibcode()])
    content = io.BytesIO()
    workbook.save(content)
    report = api.post(
        "/submissions/batch",
        files={"file": ("batch.xlsx", content.getvalue())},
        headers=submitter.headers,
    ).json()
    assert len(report["created"]) == 1
    assert report["rejected"] == [
        {"row": 3, "column": "method", "message": report["rejected"][0]["message"]}
    ]
    draft = api.get(f"/submissions/{report['created'][0]}", headers=submitter.headers).json()
    assert (draft["band"], draft["ld_diameter"]) == ("2.2", 7.3)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file: the file is empty"),
        (b"star,diameter\nHD 1,2\n", "file: unknown column 'star'"),
        (b"UDdiam\n2.0\n", "file: no id1 column"),
        (b"id1,UDdiam\n", "file: no data row under the header"),
        (b"PK\x03\x04broken", "file: not a readable xlsx workbook"),
        ("id1\nHD 1\n".encode("utf-16"), "file: neither an xlsx workbook nor UTF-8 CSV text"),
    ],
)
def test_unreadable_batch_files_are_400s(api, submitter, content, message):
    response = api.post(
        "/submissions/batch", files={"file": ("x.csv", content)}, headers=submitter.headers
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)
    assert response.json()["parameter"] == "file"


def test_a_nul_character_in_a_batch_row_rejects_that_row(api, submitter):
    content = BATCH_HEADER + f"HD\x00124897,,20.2,21.0,0.2,H,7,1,,{new_bibcode()}\n"
    report = api.post(
        "/submissions/batch",
        files={"file": ("nul.csv", content.encode())},
        headers=submitter.headers,
    ).json()
    assert report["created"] == []
    assert report["rejected"] == [
        {"row": 2, "column": "id1", "message": "plain ASCII characters only (the CDS format's)"}
    ]


def test_a_batch_file_over_the_limit_is_refused_while_it_arrives(api, submitter):
    too_large = BATCH_HEADER.encode() + b"x" * (6 * 1024 * 1024)
    response = api.post(
        "/submissions/batch", files={"file": ("big.csv", too_large)}, headers=submitter.headers
    )
    assert response.status_code == 413
    assert response.json()["detail"] == "file: larger than 5242880 bytes"

"""pyvo's TAPService against a real ``tap serve``: sync queries, overflow, errors."""

import warnings

import pytest
from pyvo.dal import DALOverflowWarning, DALQueryError, TAPService

EXPOSURES = "obsportal.exposures"


@pytest.fixture(scope="module")
def service(tap_server) -> TAPService:
    return TAPService(tap_server.tap_url)


def test_run_sync_answers_a_votable_with_typed_columns(service):
    result = service.run_sync(
        f'SELECT TOP 3 exp_id, target_ra, "position" FROM {EXPOSURES} ORDER BY exp_id'
    )
    assert len(result) == 3
    table = result.to_table()
    assert str(table["target_ra"].unit) == "deg"
    assert table["position"].shape == (3, 2)
    assert list(table["exp_id"]) == sorted(table["exp_id"])


def test_search_is_run_sync(service):
    result = service.search(f"SELECT COUNT(*) AS n FROM {EXPOSURES}")
    assert result["n"][0] == 879


def test_exactly_maxrec_rows_give_no_warning(service):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DALOverflowWarning)
        result = service.run_sync(f"SELECT TOP 4 exp_id FROM {EXPOSURES}", maxrec=4)
    assert len(result) == 4


def test_more_rows_than_the_asked_maxrec_are_an_overflow(service):
    # pyvo stays silent when the rows it asked for came back, and reports the status.
    result = service.run_sync(f"SELECT exp_id FROM {EXPOSURES}", maxrec=7)
    assert len(result) == 7
    assert result.query_status == "OVERFLOW"


def test_truncation_by_the_default_maxrec_warns(strict_tap_server):
    with pytest.warns(DALOverflowWarning, match="truncated"):
        result = TAPService(strict_tap_server.tap_url).run_sync(f"SELECT exp_id FROM {EXPOSURES}")
    assert len(result) == 10


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("DUFF QUERY", "QUERY"),
        (f"SELECT nothing_here FROM {EXPOSURES}", "nothing_here"),
        ("SELECT * FROM obsportal.nowhere", "nowhere"),
        (f"SELECT TOP 1 1/0 AS x FROM {EXPOSURES}", "division by zero"),
    ],
)
def test_a_bad_query_raises_with_the_server_message(service, query, words):
    with pytest.raises(DALQueryError) as raised:
        service.run_sync(query)
    assert words in str(raised.value)

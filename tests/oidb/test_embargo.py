"""Embargo: the release date of a granule from its collection's type, the end of its
observation, its category and the collection's own release date; and its recomputation when a
collection's type or release date changes."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from oidb.schema.catalogue import Granule
from oidb.services.embargo import (
    MJD_EPOCH,
    data_rights_for,
    datetime_to_mjd,
    granule_rights,
    is_released,
    mjd_to_datetime,
    release_date,
)

from .oifits_factory import make_oifits

#: 2020-01-31T00:00 UTC.
END_OF_JANUARY_2020 = 58879.0


def test_mjd_reads_as_utc():
    assert mjd_to_datetime(END_OF_JANUARY_2020) == datetime(2020, 1, 31, tzinfo=UTC)
    assert mjd_to_datetime(0.5) == MJD_EPOCH + timedelta(hours=12)
    assert datetime_to_mjd(datetime(2020, 1, 31, 12, tzinfo=UTC)) == END_OF_JANUARY_2020 + 0.5


@pytest.mark.parametrize(
    ("coltype", "released"),
    [
        ("suv", datetime(2022, 1, 31, tzinfo=UTC)),
        ("pionier", datetime(2021, 1, 31, tzinfo=UTC)),
        ("eso", datetime(2021, 1, 31, tzinfo=UTC)),
        ("chara", datetime(2021, 7, 31, tzinfo=UTC)),
        ("PIONIER", datetime(2021, 1, 31, tzinfo=UTC)),
        ("public", None),
        ("vizier", None),
        ("simulation", None),
    ],
)
def test_the_embargo_follows_the_collection_type(coltype, released):
    assert release_date(coltype, None, END_OF_JANUARY_2020, "SCIENCE") == released


def test_calibrators_are_never_embargoed_and_an_empty_category_is_science():
    assert release_date("suv", None, END_OF_JANUARY_2020, "CALIB") is None
    assert release_date("suv", None, END_OF_JANUARY_2020, " calib ") is None
    science = datetime(2022, 1, 31, tzinfo=UTC)
    for category in (None, "", "SCIENCE"):
        assert release_date("suv", None, END_OF_JANUARY_2020, category) == science


def test_the_collection_release_date_is_a_floor():
    later = datetime(2030, 1, 1, tzinfo=UTC)
    earlier = datetime(2020, 6, 1, tzinfo=UTC)
    assert release_date("pionier", later, END_OF_JANUARY_2020, None) == later
    assert release_date("pionier", earlier, END_OF_JANUARY_2020, None) == datetime(
        2021, 1, 31, tzinfo=UTC
    )
    # A calibrator, or a type without embargo, still waits for the collection's date.
    assert release_date("pionier", later, END_OF_JANUARY_2020, "CALIB") == later
    assert release_date("public", later, None, None) == later


def test_without_an_end_the_embargo_counts_from_the_submission():
    submitted = datetime(2025, 3, 1, tzinfo=UTC)
    assert release_date("eso", None, None, None, submitted=submitted) == datetime(
        2026, 3, 1, tzinfo=UTC
    )


def test_rights_while_embargoed_and_after():
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert data_rights_for(None, now=now) == "public"
    assert data_rights_for(now + timedelta(seconds=1), now=now) == "secure"
    assert data_rights_for(now - timedelta(days=1), now=now) == "public"
    # A granule written while embargoed keeps "secure": its date decides once it has passed.
    assert is_released("secure", now - timedelta(seconds=1), now=now)
    assert not is_released("secure", now + timedelta(seconds=1), now=now)
    assert not is_released("secure", None, now=now)
    assert is_released("public", None, now=now)


class _Collection:
    coltype = "chara"
    release_date = None


def test_granule_rights_of_a_collection():
    released, rights = granule_rights(_Collection(), END_OF_JANUARY_2020, "SCIENCE")
    assert (released, rights) == (datetime(2021, 7, 31, tzinfo=UTC), "public")
    released, rights = granule_rights(_Collection(), _mjd_days_ago(1), None)
    assert rights == "secure" and released > datetime.now(UTC) + timedelta(days=500)


def _mjd_days_ago(days: float) -> float:
    return datetime_to_mjd(datetime.now(UTC) - timedelta(days=days))


def _releases(database, granule_ids) -> dict[int, tuple]:
    with database.session() as session:
        rows = session.execute(
            select(Granule.id, Granule.obs_release_date, Granule.data_rights).where(
                Granule.id.in_(granule_ids)
            )
        )
        return {granule_id: (date, rights) for granule_id, date, rights in rows}


def test_changing_a_collection_recomputes_its_granules(
    oidb_server, oidb_accounts, oidb_ingest, oidb_service_database
):
    owner = oidb_accounts.new(roles=("submitter",))
    api = f"{oidb_server.service_url}/api/collections"
    collection = f"{owner.username}-embargo"
    created = httpx.post(api, json={"id": collection, "title": "t"}, headers=owner.headers)
    assert created.status_code == 201
    t_max_days_ago = 10
    science = oidb_ingest(
        collection,
        "science.fits",
        make_oifits(targets=("EMB SCI",), first_mjd=_mjd_days_ago(t_max_days_ago), seed=31),
    ).granule_ids
    calibrator = oidb_ingest(
        collection,
        "calibrator.fits",
        make_oifits(
            targets=("EMB CAL",), first_mjd=_mjd_days_ago(t_max_days_ago), science=False, seed=32
        ),
    ).granule_ids
    granules = [*science, *calibrator]
    assert {rights for _, rights in _releases(oidb_service_database, granules).values()} == {
        "public"
    }

    def change(**fields) -> None:
        answer = httpx.patch(f"{api}/{collection}", json=fields, headers=owner.headers)
        assert answer.status_code == 200, answer.text

    change(coltype="pionier")
    releases = _releases(oidb_service_database, granules)
    expected_release = datetime.now(UTC) + timedelta(days=365 - t_max_days_ago)
    for granule in science:
        date, rights = releases[granule]
        assert rights == "secure"
        assert abs(date - expected_release) < timedelta(days=2)
    assert {releases[granule] for granule in calibrator} == {(None, "public")}

    floor = datetime(2040, 1, 1, tzinfo=UTC)
    change(release_date=floor.isoformat())
    releases = _releases(oidb_service_database, granules)
    assert {releases[granule] for granule in granules} == {(floor, "secure")}

    change(coltype="public", release_date=None)
    releases = _releases(oidb_service_database, granules)
    assert {releases[granule] for granule in granules} == {(None, "public")}

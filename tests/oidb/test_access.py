"""Rights enforced by the database: sessions for a caller see only what the caller may see,
whatever SQL runs in them; downloads and writes are checked against the collection's groups."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import sqlalchemy
from sqlalchemy import select, text

from jmmc_core.accounts import services as accounts
from jmmc_core.errors import Forbidden, NotFound, Unauthorized
from oidb.schema.catalogue import Collection, CollectionGroup, Granule, OifitsFile
from oidb.services.access import ANONYMOUS, Caller, caller_of, downloadable, reading, require_write
from oidb.services.access import writing as writing_session
from oidb.services.embargo import datetime_to_mjd

from .oifits_factory import make_oifits

THREE_DAYS_AGO = datetime_to_mjd(datetime.now(UTC) - timedelta(days=3))


@pytest.fixture(scope="module")
def setting(oidb_accounts, oidb_collection, oidb_ingest):
    """A private collection, an embargoed one (both for one group), their granules, members."""
    group, group_id = oidb_accounts.group()
    writers, writers_id = oidb_accounts.group()
    private = oidb_collection("public", private=True, groups=(group_id,))
    embargoed = oidb_collection("pionier", groups=(group_id,))
    private_file = oidb_ingest(private, "p.fits", make_oifits(targets=("ACCESS P",), seed=41))
    embargoed_file = oidb_ingest(
        embargoed, "e.fits", make_oifits(targets=("ACCESS E",), first_mjd=THREE_DAYS_AGO, seed=42)
    )
    return {
        "group": group,
        "group_id": group_id,
        "writers": writers,
        "writers_id": writers_id,
        "private": private,
        "embargoed": embargoed,
        "private_granule": private_file.granule_ids[0],
        "embargoed_granule": embargoed_file.granule_ids[0],
    }


def _caller(database, account) -> Caller:
    return caller_of(database, account.user)


def _seen(database, caller, collection: str) -> tuple[int, int, int, int]:
    """Collections, rights, files and granules of ``collection`` a plain SQL query sees."""
    with reading(database, caller) as session:
        return tuple(
            session.execute(
                text(f"SELECT count(*) FROM oidb.{table} WHERE {column} = :collection"),
                {"collection": collection},
            ).scalar_one()
            for table, column in (
                ("collections", "id"),
                ("collection_groups", "collection_id"),
                ("oifits_files", "collection_id"),
                ("granules", "obs_collection"),
            )
        )


def test_row_level_security_hides_a_private_collection_from_any_sql(
    oidb_service_database, oidb_accounts, setting
):
    member = _caller(oidb_service_database, oidb_accounts.new(groups=(setting["group"],)))
    other = _caller(oidb_service_database, oidb_accounts.new())
    admin = _caller(oidb_service_database, oidb_accounts.new(roles=("admin",)))
    private = setting["private"]
    assert _seen(oidb_service_database, ANONYMOUS, private) == (0, 0, 0, 0)
    assert _seen(oidb_service_database, other, private) == (0, 0, 0, 0)
    assert _seen(oidb_service_database, member, private) == (1, 1, 1, 1)
    assert _seen(oidb_service_database, admin, private) == (1, 1, 1, 1)
    # Embargoed data: metadata for everyone.
    assert _seen(oidb_service_database, ANONYMOUS, setting["embargoed"]) == (1, 1, 1, 1)


def test_the_owner_sees_a_private_collection_without_a_group(
    oidb_service_database, oidb_accounts, oidb_collection
):
    owner = oidb_accounts.new(roles=("submitter",))
    collection = oidb_collection("public", private=True)
    with oidb_service_database.session() as session:
        session.get(Collection, collection).owner_id = owner.user.id
    assert _seen(oidb_service_database, _caller(oidb_service_database, owner), collection)[0] == 1
    assert _seen(oidb_service_database, ANONYMOUS, collection)[0] == 0


def test_a_reading_session_cannot_write(oidb_service_database):
    with (
        pytest.raises(sqlalchemy.exc.ProgrammingError) as refused,
        reading(oidb_service_database, ANONYMOUS) as session,
    ):
        session.execute(text("UPDATE oidb.collections SET private = false"))
    assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege)


def test_the_caller_ends_with_the_transaction(oidb_service_database, setting):
    with reading(oidb_service_database, ANONYMOUS) as session:
        assert session.execute(text("SELECT current_user")).scalar_one() == "oidb_reader"
    with oidb_service_database.session() as session:
        assert session.execute(text("SELECT current_user")).scalar_one() != "oidb_reader"
        groups = session.execute(text("SELECT oidb.caller_groups()")).scalar_one()
        assert groups == []


def test_a_revoked_membership_counts_at_once(oidb_service_database, oidb_accounts, setting):
    account = oidb_accounts.new(groups=(setting["group"],))
    assert setting["group_id"] in _caller(oidb_service_database, account).group_ids
    with oidb_accounts.database.session() as session:
        accounts.remove_member(session, setting["group"], account.username)
    assert _caller(oidb_service_database, account).group_ids == frozenset()
    member = oidb_accounts.new(groups=(setting["group"],))
    with oidb_accounts.database.session() as session:
        accounts.set_active(session, member.username, False)
    assert _caller(oidb_service_database, member).group_ids == frozenset()


def _download(database, caller, granule_id):
    with reading(database, caller) as session:
        return downloadable(session, caller, granule_id).id


def test_downloads_of_embargoed_and_private_granules(oidb_service_database, oidb_accounts, setting):
    member = _caller(oidb_service_database, oidb_accounts.new(groups=(setting["group"],)))
    other = _caller(oidb_service_database, oidb_accounts.new())
    admin = _caller(oidb_service_database, oidb_accounts.new(roles=("admin",)))
    embargoed, private = setting["embargoed_granule"], setting["private_granule"]
    for caller in (member, admin):
        assert _download(oidb_service_database, caller, embargoed) == embargoed
        assert _download(oidb_service_database, caller, private) == private
    with pytest.raises(Unauthorized):
        _download(oidb_service_database, ANONYMOUS, embargoed)
    with pytest.raises(Forbidden):
        _download(oidb_service_database, other, embargoed)
    for caller in (ANONYMOUS, other):
        with pytest.raises(NotFound):
            _download(oidb_service_database, caller, private)
    with pytest.raises(NotFound):
        _download(oidb_service_database, admin, 2**62)


def test_writes_need_the_owner_a_writing_group_or_an_admin(
    oidb_service_database, oidb_accounts, oidb_collection, setting
):
    collection = oidb_collection("public", groups=(setting["group_id"],))
    with oidb_service_database.session() as session:
        session.add(
            CollectionGroup(
                collection_id=collection, group_id=setting["writers_id"], can_write=True
            )
        )
    reader = _caller(oidb_service_database, oidb_accounts.new(groups=(setting["group"],)))
    writer = _caller(oidb_service_database, oidb_accounts.new(groups=(setting["writers"],)))
    admin = _caller(oidb_service_database, oidb_accounts.new(roles=("admin",)))
    other = _caller(oidb_service_database, oidb_accounts.new())

    def write(caller, collection_id=collection):
        with writing_session(oidb_service_database, caller) as session:
            return require_write(session, caller, collection_id).id

    assert write(writer) == write(admin) == collection
    with pytest.raises(Forbidden):
        write(reader)
    with pytest.raises(Forbidden):
        write(other)
    with pytest.raises(Unauthorized):
        write(ANONYMOUS)
    with pytest.raises(NotFound):
        write(other, setting["private"])
    with pytest.raises(NotFound):
        write(admin, "no-such-collection")


def test_hidden_rows_stay_hidden_through_orm_queries(oidb_service_database, setting):
    with reading(oidb_service_database, ANONYMOUS) as session:
        assert session.get(Granule, setting["private_granule"]) is None
        assert (
            session.scalars(
                select(OifitsFile.id).where(OifitsFile.collection_id == setting["private"])
            ).all()
            == []
        )

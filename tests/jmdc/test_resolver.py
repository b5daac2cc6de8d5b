"""The name resolver: recorded answers offline, Sesame over HTTP online (a loopback server
replaying the recordings), the cache, and honest "not checked" answers."""

import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from jmdc.config import Settings
from jmdc.services.resolver import Resolver
from jmmc_core.database import Database
from jmmc_devtools.pgcluster import free_port

from ..sesame_replay import SIMBAD_RECORDINGS, SesameReplay, sesame_replay

JMDC_COMMAND = (sys.executable, "-c", "from jmdc.cli import main; main()")


@pytest.fixture(scope="module")
def sesame() -> Iterator[str]:
    with sesame_replay() as url:
        yield url


@pytest.fixture(scope="module")
def database(jmdc_settings) -> Iterator[Database]:
    database = Database(jmdc_settings)
    yield database
    database.dispose()


def forget(database: Database, *names: str) -> None:
    with database.session() as session:
        session.execute(
            text("DELETE FROM jmdc.name_resolutions WHERE name = ANY(:names)"),
            {"names": list(names)},
        )


def resolve(database: Database, settings: Settings, name: str):
    with database.session() as session:
        return Resolver(settings).resolve(session, name)


def test_offline_from_recordings_then_from_the_cache(database, jmdc_settings):
    forget(database, "HD 18884", "VEGA 2")
    settings = jmdc_settings.model_copy(update={"resolver_recordings": SIMBAD_RECORDINGS})
    found = resolve(database, settings, "  hd   18884 ")
    assert (found.status, found.name, found.identifier, found.source) == (
        "found",
        "HD 18884",
        "* alf Cet",
        "recording",
    )
    assert found.ra == pytest.approx(45.5699, abs=1e-4)
    assert found.dec == pytest.approx(4.0897, abs=1e-4)
    without_recordings = jmdc_settings.model_copy(update={"resolver_recordings": None})
    cached = resolve(database, without_recordings, "HD 18884")
    assert (cached.status, cached.identifier, cached.source) == (
        "found",
        "* alf Cet",
        "cache:recording",
    )
    unchecked = resolve(database, without_recordings, "Vega 2")
    assert (unchecked.status, unchecked.reason) == ("not_checked", "resolver offline")
    with database.session() as session:  # what could not be checked is not remembered
        assert (
            session.scalar(text("SELECT count(*) FROM jmdc.name_resolutions WHERE name = 'VEGA 2'"))
            == 0
        )


def test_unknown_names_are_remembered_as_not_found(database, jmdc_settings):
    forget(database, "NOSUCHSTAR 42")
    settings = jmdc_settings.model_copy(update={"resolver_recordings": SIMBAD_RECORDINGS})
    assert resolve(database, settings, "nosuchstar 42").status == "not_found"
    offline = jmdc_settings.model_copy(update={"resolver_recordings": None})
    again = resolve(database, offline, "NOSUCHSTAR 42")
    assert (again.status, again.source) == ("not_found", "cache:recording")


def test_online_asks_sesame_once(database, jmdc_settings, sesame):
    forget(database, "ALF TAU", "HD 424242")
    SesameReplay.asked.clear()
    online = jmdc_settings.model_copy(
        update={"resolver_offline": False, "resolver_url": sesame, "resolver_recordings": None}
    )
    found = resolve(database, online, "alf Tau")
    assert (found.status, found.identifier, found.source) == ("found", "* alf Tau", "simbad")
    assert resolve(database, online, "ALF  TAU").source == "cache:simbad"
    assert resolve(database, online, "HD 424242").status == "not_found"
    assert SesameReplay.asked == ["ALF TAU", "HD 424242"]


def test_online_failures_are_not_checked(database, jmdc_settings, sesame):
    forget(database, "BET GEM")
    unreachable = jmdc_settings.model_copy(
        update={
            "resolver_offline": False,
            "resolver_url": f"http://127.0.0.1:{free_port()}/sesame",
            "resolver_timeout": 2.0,
        }
    )
    answer = resolve(database, unreachable, "bet Gem")
    assert (answer.status, answer.reason) == ("not_checked", "the name resolver did not answer")

    SesameReplay.broken = True
    try:
        online = jmdc_settings.model_copy(
            update={"resolver_offline": False, "resolver_url": sesame}
        )
        broken = resolve(database, online, "bet Gem")
    finally:
        SesameReplay.broken = False
    assert (broken.status, broken.reason) == (
        "not_checked",
        "the resolver's answer was unreadable",
    )


def test_the_resolve_command(database, jmdc_database):
    forget(database, "HD 62509", "NOSUCHSTAR 42", "HD 777777")
    result = subprocess.run(
        [*JMDC_COMMAND, "resolve", "hd 62509", "NOSUCHSTAR 42", "HD 777777"],
        env={
            "JMDC_DATABASE_URL": jmdc_database,
            "JMDC_RESOLVER_RECORDINGS": str(SIMBAD_RECORDINGS),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "HD 62509: * bet Gem at 116.328958 +28.026199 deg (recording)",
        "NOSUCHSTAR 42: unknown to SIMBAD (recording)",
        "HD 777777: not checked: resolver offline",
    ]

"""The platform's name resolver without a database: how names are keyed and recorded, what a
Sesame answer means, and the settings every service mixes in (the cache is exercised by the
services' own tests)."""

import pytest
from pydantic_settings import SettingsConfigDict

from jmmc_core.name_resolver import (
    ResolverSettings,
    UnreadableAnswer,
    normalised,
    parse_sesame,
    recording_name,
)
from jmmc_core.settings import ServiceSettings

from ..sesame_replay import NOTHING_FOUND, SIMBAD_RECORDINGS


def test_names_are_keyed_whatever_their_case_and_spacing():
    assert normalised("  hd   58647 ") == normalised("HD 58647") == "HD 58647"
    assert recording_name("v838  mon") == "V838%20MON.xml"


def test_a_recorded_answer_gives_the_main_identifier_and_icrs_position():
    answer = parse_sesame("HD 58647", (SIMBAD_RECORDINGS / "HD%2058647.xml").read_bytes())
    assert (answer.status, answer.identifier) == ("found", "HD 58647")
    assert (answer.ra, answer.dec) == pytest.approx((111.4837, -14.1788), abs=1e-4)
    assert parse_sesame("X", NOTHING_FOUND).status == "not_found"
    with pytest.raises(UnreadableAnswer):
        parse_sesame("X", b"<html>maintenance")


def test_each_service_reads_the_resolver_settings_under_its_own_prefix(monkeypatch):
    class Settings(ServiceSettings, ResolverSettings):
        model_config = SettingsConfigDict(env_prefix="SOMESERVICE_", extra="ignore")

    monkeypatch.setenv("SOMESERVICE_DATABASE_URL", "postgresql+psycopg://localhost/x")
    monkeypatch.setenv("SOMESERVICE_RESOLVER_RECORDINGS", str(SIMBAD_RECORDINGS))
    monkeypatch.setenv("SOMESERVICE_RESOLVER_OFFLINE", "false")
    settings = Settings()
    assert settings.resolver_recordings == SIMBAD_RECORDINGS
    assert settings.resolver_offline is False

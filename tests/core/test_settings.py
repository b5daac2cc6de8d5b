import pytest
from pydantic import ValidationError

from jmdc.config import Settings as JmdcSettings
from jmmc_core.settings import DEVELOPMENT_SECRET
from obsportal.config import Settings as ObsportalSettings


def test_each_service_reads_its_own_prefix(monkeypatch):
    monkeypatch.setenv("OBSPORTAL_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("JMDC_LOG_LEVEL", "WARNING")
    assert ObsportalSettings().log_level == "DEBUG"
    assert JmdcSettings().log_level == "WARNING"
    assert ObsportalSettings().schema_name == "obsportal"


def test_secrets_are_not_printed(monkeypatch):
    monkeypatch.setenv("OBSPORTAL_DATABASE_PASSWORD", "hunter2")
    settings = ObsportalSettings()
    assert "hunter2" not in repr(settings)
    assert settings.database_password.get_secret_value() == "hunter2"


@pytest.mark.parametrize("environment", ["development", "test"])
def test_default_secret_is_accepted_for_development(monkeypatch, environment):
    monkeypatch.setenv("OBSPORTAL_ENVIRONMENT", environment)
    assert ObsportalSettings().secret_key.get_secret_value() == DEVELOPMENT_SECRET


def test_default_secret_refuses_production(monkeypatch):
    monkeypatch.setenv("OBSPORTAL_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="OBSPORTAL_SECRET_KEY"):
        ObsportalSettings()
    monkeypatch.setenv("OBSPORTAL_SECRET_KEY", "a-real-secret")
    assert ObsportalSettings().environment == "production"


def test_unknown_environment_is_rejected(monkeypatch):
    monkeypatch.setenv("JMDC_ENVIRONMENT", "staging-ish")
    with pytest.raises(ValidationError, match="environment"):
        JmdcSettings()

"""Configuration of ObsPortal: every setting is read from ``OBSPORTAL_*`` environment variables."""

from jmmc_core.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OBSPORTAL_", extra="ignore")

    service_name: str = "obsportal"

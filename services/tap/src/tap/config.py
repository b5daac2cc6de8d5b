"""Configuration of TAP: every setting is read from ``TAP_*`` environment variables."""

from jmmc_core.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TAP_", extra="ignore")

    service_name: str = "tap"

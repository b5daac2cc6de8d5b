"""Configuration of TAP: every setting is read from ``TAP_*`` environment variables."""

from pydantic_settings import SettingsConfigDict

from jmmc_core.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TAP_", extra="ignore")

    service_name: str = "tap"

"""Configuration of JMDC: every setting is read from ``JMDC_*`` environment variables."""

from pydantic_settings import SettingsConfigDict

from jmmc_core.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JMDC_", extra="ignore")

    service_name: str = "jmdc"

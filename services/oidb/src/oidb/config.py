"""Configuration of OiDB: every setting is read from ``OIDB_*`` environment variables."""

from jmmc_core.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OIDB_", extra="ignore")

    service_name: str = "oidb"

"""Configuration of OiDB: every setting is read from ``OIDB_*`` environment variables."""

from pydantic_settings import SettingsConfigDict

from jmmc_core.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OIDB_", extra="ignore")

    service_name: str = "oidb"

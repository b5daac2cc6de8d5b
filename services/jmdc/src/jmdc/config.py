"""Configuration of JMDC: every setting is read from ``JMDC_*`` environment variables."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jmmc_core.name_resolver import ResolverSettings
from jmmc_core.settings import ServiceSettings


class Settings(ServiceSettings, ResolverSettings):
    model_config = SettingsConfigDict(env_prefix="JMDC_", extra="ignore")

    service_name: str = "jmdc"
    max_batch_bytes: int = Field(
        5 * 1024 * 1024, gt=0, title="Largest CSV/xlsx batch of submissions accepted (bytes)"
    )

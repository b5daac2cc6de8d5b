"""Configuration of JMDC: every setting is read from ``JMDC_*`` environment variables."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jmmc_core.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JMDC_", extra="ignore")

    service_name: str = "jmdc"
    resolver_offline: bool = Field(
        True,
        title="Resolve names from the local cache only (never ask SIMBAD); unknown names are"
        " reported as not checked",
    )
    resolver_recordings: Path | None = Field(
        None, title="Folder of recorded SIMBAD answers the resolver may replay (offline runs)"
    )
    resolver_url: str = Field(
        "https://cds.unistra.fr/cgi-bin/nph-sesame/-oxp/S",
        title="Sesame (SIMBAD) name resolver asked when not offline: <url>?<name> answers XML",
    )
    resolver_timeout: float = Field(
        10.0, gt=0, le=120, title="Seconds to wait for the name resolver before 'not checked'"
    )
    max_batch_bytes: int = Field(
        5 * 1024 * 1024, gt=0, title="Largest CSV/xlsx batch of submissions accepted (bytes)"
    )

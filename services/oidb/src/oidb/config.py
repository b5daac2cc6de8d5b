"""Configuration of OiDB: every setting is read from ``OIDB_*`` environment variables."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jmmc_core.name_resolver import ResolverSettings
from jmmc_core.settings import ServiceSettings


class Settings(ServiceSettings, ResolverSettings):
    model_config = SettingsConfigDict(env_prefix="OIDB_", extra="ignore")

    service_name: str = "oidb"
    public_url: str = Field(
        "http://127.0.0.1:8080/oidb",
        title="Public URL of the service (DataLink and download links in ObsCore rows)",
    )
    files_dir: Path = Field(Path("var/oidb/files"), title="Folder of the stored OIFITS files")
    previews_dir: Path = Field(
        Path("var/oidb/previews"), title="Cache of the rendered quick-look PNGs"
    )
    max_file_bytes: int = Field(
        200 * 1024 * 1024, gt=0, title="Largest OIFITS file accepted (bytes)"
    )
    obsportal_url: str = Field(
        "http://127.0.0.1:8080/obsportal",
        title="ObsPortal base URL the level-0 import harvests (search.votable)",
    )
    obsportal_timeout_seconds: float = Field(
        120.0, gt=0, title="Seconds to wait for one ObsPortal answer"
    )
    obsportal_import_max_age_hours: float = Field(
        48.0,
        gt=0,
        title="Hours after the last ObsPortal import before /health reports it stale",
    )

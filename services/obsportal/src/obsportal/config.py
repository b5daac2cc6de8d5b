"""Configuration of ObsPortal: every setting is read from ``OBSPORTAL_*`` environment variables."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jmmc_core.name_resolver import ResolverSettings
from jmmc_core.settings import ServiceSettings


class Settings(ServiceSettings, ResolverSettings):
    model_config = SettingsConfigDict(env_prefix="OBSPORTAL_", extra="ignore")

    service_name: str = "obsportal"
    ingestion_max_age_hours: float = Field(
        48.0, gt=0, title="Age after which the last ingestion run makes /health fail"
    )
    ingestion_workers: int = Field(0, ge=0, title="Worker processes for ingestion (0: one per CPU)")
    ingestion_batch_size: int = Field(5000, ge=1, title="Headers stored per transaction")
    eso_instruments: list[str] = Field(
        ["GRAVITY", "PIONIER", "MATISSE", "AMBER", "MIDI"],
        title="Instruments harvested from the ESO archive by default",
    )
    eso_tap_url: str = Field(
        "https://archive.eso.org/tap_obs", title="ESO's TAP service (dbo.raw) for --from-eso-tap"
    )
    eso_header_url: str = Field(
        "https://archive.eso.org/hdr", title="ESO's header service (one header per ?DpId=)"
    )

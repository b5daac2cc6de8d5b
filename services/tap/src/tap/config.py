"""Configuration of TAP: every setting is read from ``TAP_*`` environment variables."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from jmmc_core.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TAP_", extra="ignore")

    service_name: str = "tap"

    # -- Where user queries run. A login role that is a member of the read-only `tap_reader`
    # group and of nothing else; the service's own role (jobs, sign-ins) never runs ADQL.
    query_database_url: str | None = Field(
        None,
        title="SQLAlchemy URL (without password) of the read-only role that runs ADQL queries; "
        "empty: the service's own URL, with the session switched to the TAP reader role",
    )
    query_database_password: SecretStr | None = Field(None, title="Password of that role")
    query_pool_size: int = Field(8, ge=1, title="Query connections kept in the pool")

    # -- Limits, as declared in the capabilities (TAPRegExt).
    default_maxrec: int = Field(20_000, ge=0, title="Rows returned when MAXREC is not given")
    hard_maxrec: int = Field(10_000_000, ge=1, title="Largest MAXREC accepted")
    sync_timeout_seconds: int = Field(60, ge=1, title="statement_timeout of a sync query")
    async_timeout_seconds: int = Field(
        3600, ge=1, title="Default executionDuration of an async job (its statement_timeout)"
    )
    async_max_timeout_seconds: int = Field(
        4 * 3600, ge=1, title="Largest executionDuration a client may ask for"
    )
    upload_limit_bytes: int = Field(20_000_000, ge=1, title="Largest upload, in bytes")
    upload_url_timeout_seconds: float = Field(30, gt=0, title="Timeout of an upload by URL")
    upload_allow_private_urls: bool = Field(
        False,
        title="Allow uploads by URL from private, loopback or link-local addresses "
        "(tests only: a public service must not fetch from its own network)",
    )

    # -- Async jobs (UWS).
    results_dir: Path = Field(Path("run/tap-results"), title="Folder of async result files")
    job_retention_hours: float = Field(
        7 * 24, gt=0, title="Hours before a job and its result are destroyed"
    )
    max_active_jobs_per_client: int = Field(
        4, ge=1, title="Queued or executing async jobs one client (user or address) may have"
    )
    worker_concurrency: int = Field(2, ge=1, title="Jobs one worker process runs at once")

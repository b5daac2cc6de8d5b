"""Settings shared by every service; each service subclasses with its own env prefix."""

import os
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The value every secret has until an operator sets it. Refused outside development.
DEVELOPMENT_SECRET = "insecure-development-secret"

#: Folder of secret files named like the variables (``OBSPORTAL_DATABASE_PASSWORD``), as the
#: charts mount a Secret: a value read from a file never shows in the process environment.
SECRETS_DIR_VARIABLE = "JMMC_SECRETS_DIR"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class InsecureSettingsError(ValueError):
    """Raised when a default secret is used where it must not be."""


class PlatformLink(BaseModel):
    """A service of the platform, linked from the header of every page."""

    title: str
    url: str


#: The platform's services as every page's header lists them (public paths behind HAProxy).
DEFAULT_PLATFORM_LINKS = [
    PlatformLink(title="ObsPortal", url="/obsportal/"),
    PlatformLink(title="JMDC", url="/jmdc/"),
    PlatformLink(title="OiDB", url="/oidb/"),
    PlatformLink(title="TAP", url="/tap/"),
]


class ServiceSettings(BaseSettings):
    """Common settings. Subclasses set ``model_config`` with their own ``env_prefix``."""

    model_config = SettingsConfigDict(
        env_prefix="JMMC_", extra="ignore", secrets_dir=os.environ.get(SECRETS_DIR_VARIABLE)
    )

    service_name: str = Field("service", title="Service name, also its PostgreSQL schema")
    environment: Environment = Field(Environment.development, title="Deployment environment")
    database_url: str = Field(
        "postgresql+psycopg://jmmc@127.0.0.1:55432/jmmc",
        title="SQLAlchemy URL of the database, without the password",
    )
    database_password: SecretStr | None = Field(None, title="Database password")
    database_schema: str | None = Field(None, title="PostgreSQL schema (default: service name)")
    database_pool_size: int = Field(5, ge=1, title="Connections kept in the pool")
    database_connect_timeout: float = Field(2.0, gt=0, title="Seconds to wait for a connection")
    secret_key: SecretStr = Field(SecretStr(DEVELOPMENT_SECRET), title="Key signing sessions")
    log_level: str = Field("INFO", title="Python logging level")
    path_prefix: str = Field("", title="Public URL prefix, e.g. /obsportal")
    session_lifetime_hours: float = Field(
        12, gt=0, le=24 * 90, title="Hours a web sign-in stays valid"
    )
    cookie_secure: bool = Field(
        False,
        title="Mark the session cookie Secure even when the request reaches the service over "
        "plain HTTP (TLS ends at the load balancer in production)",
    )
    platform_name: str = Field("JMMC data services", title="Name shown in every page's header")
    platform_links: list[PlatformLink] = Field(
        DEFAULT_PLATFORM_LINKS,
        title='Services linked from every page\'s header, JSON: [{"title": …, "url": …}, …]',
    )
    samp_hub_url: str = Field(
        "http://localhost:21012/",
        title="SAMP Web Profile hub the pages send tables to (the standard one on the user's "
        "machine, run by TOPCAT or Aladin)",
    )

    @property
    def schema_name(self) -> str:
        return self.database_schema or self.service_name

    @property
    def public_prefix(self) -> str:
        return self.path_prefix or f"/{self.service_name}"

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        if self.environment in (Environment.development, Environment.test):
            return self
        prefix = self.model_config.get("env_prefix", "")
        if self.secret_key.get_secret_value() == DEVELOPMENT_SECRET:
            raise InsecureSettingsError(
                f"{prefix}SECRET_KEY still has its development default; "
                f"set it before running in {self.environment.value}"
            )
        return self

"""Settings of the ``jmmc-accounts`` command: ``ACCOUNTS_*`` environment variables.

Services do not read these: they reach the ``accounts`` schema through their own database
connection and settings.
"""

from pydantic_settings import SettingsConfigDict

from jmmc_core.settings import ServiceSettings


class AccountsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ACCOUNTS_", extra="ignore")

    service_name: str = "accounts"

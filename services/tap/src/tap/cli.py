"""``tap`` command: serve, migrate and the service's jobs."""

from pathlib import Path

from jmmc_core.cli import service_cli
from jmmc_core.migrations import Migrations

from .config import Settings
from .schema import Base

MIGRATIONS = Migrations(
    Base.metadata,
    Path(__file__).parent / "migrations" / "versions",
    library_table_prefixes=("procrastinate_",),
)

main = service_cli(
    name="tap",
    settings_class=Settings,
    app_factory="tap.main:create_app",
    migrations=MIGRATIONS,
)

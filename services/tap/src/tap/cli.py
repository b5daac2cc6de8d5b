"""``tap`` command: serve, migrate and the service's jobs."""

import asyncio
from pathlib import Path

import click

from jmmc_core.cli import one_line_errors, service_cli
from jmmc_core.logging import configure_logging
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


@main.command(help="Run queued async jobs; start several workers to run more at once.")
@click.option(
    "--concurrency", type=click.IntRange(min=1), help="Jobs at once [TAP_WORKER_CONCURRENCY]"
)
@click.option(
    "--heartbeat",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds between heartbeats; a worker silent for 3 is taken as stopped",
)
@one_line_errors
def worker(concurrency: int | None, heartbeat: float) -> None:
    from .worker import run_worker

    settings = Settings()
    configure_logging(settings.service_name, settings.log_level)
    asyncio.run(run_worker(settings, concurrency or settings.worker_concurrency, heartbeat))


@main.command(help="Delete the async jobs past their destruction time, and their files.")
@one_line_errors
def cleanup() -> None:
    from .services.jobs import cleanup as delete_expired
    from .worker import create_runtime

    runtime = create_runtime(Settings())
    try:
        click.echo(f"tap: deleted {delete_expired(runtime)} expired jobs")
    finally:
        runtime.query_engine.dispose()
        runtime.database.dispose()

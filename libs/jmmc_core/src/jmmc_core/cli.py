"""The command line every service shares: ``serve``, ``migrate``, ``make-migration``.

A service adds its own jobs (ingestion, releases, expiry) to the group returned here; they
call the service layer directly, never the service's HTTP API.
"""

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click
import psycopg
import uvicorn
from alembic import command
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from .logging import configure_logging
from .migrations import Migrations, alembic_config, upgrade_to_head
from .settings import ServiceSettings
from .tap_publishing import Declarations, publish_service

P = ParamSpec("P")
R = TypeVar("R")


def one_line_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn configuration and database failures into one readable line and exit status 1."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise click.ClickException(f"invalid setting {first['loc']}: {first['msg']}") from exc
        # Jobs that stream through psycopg directly (bulk loads) raise its errors unwrapped.
        except (SQLAlchemyError, psycopg.Error, OSError, ValueError) as exc:
            message = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise click.ClickException(message) from exc

    return wrapper


def service_cli(
    *,
    name: str,
    settings_class: Callable[[], ServiceSettings],
    app_factory: str,
    migrations: Migrations,
    published: Declarations = (),
) -> click.Group:
    """``published``: the tables the service publishes to TAP (or a callable returning them),
    written into TAP_SCHEMA by every ``migrate``."""

    @click.group(name=name, help=f"The {name} service and its jobs.")
    def cli() -> None:
        pass

    @cli.command(help="Serve the HTTP API with uvicorn.")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, default=8000, show_default=True)
    @click.option("--workers", type=int, default=1, show_default=True)
    @one_line_errors
    def serve(host: str, port: int, workers: int) -> None:
        settings = settings_class()
        configure_logging(settings.service_name, settings.log_level)
        uvicorn.run(
            app_factory, factory=True, host=host, port=port, workers=workers, log_config=None
        )

    @cli.command(
        help="Upgrade the service's database schema to the newest migration, then publish its"
        " tables to TAP (TAP_SCHEMA and the TAP reader's rights)."
    )
    @one_line_errors
    def migrate() -> None:
        settings = settings_class()
        upgrade_to_head(settings, migrations)
        click.echo(f"{name}: schema {settings.schema_name} is at head")
        tables = publish_service(settings, published)
        click.echo(f"{name}: published to TAP: {', '.join(tables) or 'nothing'}")

    @cli.command("make-migration", help="Write a new migration from the models' changes.")
    @click.argument("message")
    @one_line_errors
    def make_migration(message: str) -> None:
        config = alembic_config(settings_class(), migrations)
        command.revision(config, message=message, autogenerate=True)

    return cli

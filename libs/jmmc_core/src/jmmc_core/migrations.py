"""Alembic glue: every service keeps its migrations and its version table in its own schema."""

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, create_engine, text
from sqlalchemy.pool import NullPool

from .database import TAP_READER_ROLE, database_url
from .settings import ServiceSettings

ENVIRONMENT = Path(__file__).parent / "alembic_env"


@dataclass(frozen=True)
class Migrations:
    """Where a service's migrations live and which models they must match."""

    metadata: MetaData
    versions: Path
    #: Tables of the schema created by a library's own SQL (a task queue's), which the
    #: migrations create but no model describes: left out of every comparison.
    library_table_prefixes: tuple[str, ...] = ()


def _migration_engine(settings: ServiceSettings) -> Engine:
    """An engine whose default schema is ``public``, not the service's.

    SQLAlchemy reports tables of the default schema as schema-less; with the service schema
    first on the search path, autogenerate would see every model table as missing.
    """
    return create_engine(
        database_url(settings),
        poolclass=NullPool,
        connect_args={"options": "-c search_path=public", "application_name": "migrations"},
    )


def alembic_config(settings: ServiceSettings, migrations: Migrations) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ENVIRONMENT))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(migrations.versions))
    config.set_main_option(
        "file_template",
        "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(rev)s_%%(slug)s",
    )
    config.attributes["settings"] = settings
    config.attributes["metadata"] = migrations.metadata
    config.attributes["library_table_prefixes"] = migrations.library_table_prefixes
    return config


def run_env() -> None:
    """Body of the shared ``env.py`` (online mode only)."""
    from alembic import context

    settings: ServiceSettings = context.config.attributes["settings"]
    metadata: MetaData = context.config.attributes["metadata"]
    library_tables: tuple[str, ...] = context.config.attributes["library_table_prefixes"]
    schema = settings.schema_name
    engine = _migration_engine(settings)
    with engine.connect() as connection:
        # The version table lives in the schema, so the schema must exist before Alembic starts.
        # Only when missing: PostgreSQL checks the right to create schemas even for an existing
        # one, and a production role owns its schema without holding that right.
        exists = connection.scalar(
            text("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = :schema)"),
            {"schema": schema},
        )
        if not exists:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            **_comparison_options(schema, library_tables),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def _comparison_options(schema: str, library_tables: tuple[str, ...] = ()) -> dict:
    """Look only at the service's own schema, not at Alembic's bookkeeping table nor at the
    tables a library's own SQL created there."""

    def include_name(name: str | None, type_: str, _parents: object) -> bool:
        if type_ == "schema":
            return name == schema
        if type_ != "table" or name is None:
            return True
        return name != "alembic_version" and not name.startswith(library_tables)

    return {"include_schemas": True, "include_name": include_name, "compare_type": True}


def schema_differences(settings: ServiceSettings, migrations: Migrations) -> list:
    """What differs between the migrated database and the models (empty when they agree)."""
    engine = _migration_engine(settings)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts=_comparison_options(settings.schema_name, migrations.library_table_prefixes),
            )
            return compare_metadata(context, migrations.metadata)
    finally:
        engine.dispose()


def prepare_schema(connection: Connection, schema: str) -> None:
    """First step of every service's first migration.

    Creates pg_sphere (positions and cone searches) and the read-only TAP role with USAGE on
    the schema; which tables it may read is granted table by table when the service publishes
    them (``jmmc_core.tap_publishing``). Roles are cluster-wide: an operator who pre-creates
    them (the Helm chart does) keeps this a no-op.
    """
    connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_sphere SCHEMA public"))
    connection.execute(
        text(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{TAP_READER_ROLE}')"
            f" THEN CREATE ROLE {TAP_READER_ROLE} NOLOGIN; END IF; END $$"
        )
    )
    connection.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {TAP_READER_ROLE}'))


def upgrade_to_head(settings: ServiceSettings, migrations: Migrations) -> None:
    command.upgrade(alembic_config(settings, migrations), "head")


def is_at_head(settings: ServiceSettings, migrations: Migrations) -> bool:
    """True when the database schema is at the newest migration of the service."""
    script = ScriptDirectory.from_config(alembic_config(settings, migrations))
    engine = _migration_engine(settings)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table_schema": settings.schema_name}
            )
            return set(context.get_current_heads()) == set(script.get_heads())
    finally:
        engine.dispose()


__all__ = [
    "Migrations",
    "alembic_config",
    "is_at_head",
    "prepare_schema",
    "run_env",
    "schema_differences",
    "upgrade_to_head",
]

"""``oidb`` command: serve, migrate and the service's jobs."""

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from jmmc_core.cli import one_line_errors, service_cli
from jmmc_core.database import Database
from jmmc_core.errors import ServiceError
from jmmc_core.migrations import Migrations
from jmmc_core.zabbix import job_report

from .config import Settings
from .schema import Base
from .schema.catalogue import COLLECTION_TYPES
from .schema.published import TABLES as PUBLISHED_TABLES
from .services.demo import load_demo
from .services.ingestion import (
    PLATFORM,
    IngestRun,
    ensure_collection_exists,
    files_under,
    ingest_files,
)
from .services.obsportal_sync import HarvestSummary, sync_obsportal

#: The ObsPortal import as Zabbix knows it (monitoring/templates/oidb.yaml).
SYNC_OBSPORTAL_JOB = "oidb-sync-obsportal"
MIGRATIONS = Migrations(Base.metadata, Path(__file__).parent / "migrations" / "versions")

main = service_cli(
    name="oidb",
    settings_class=Settings,
    app_factory="oidb.main:create_app",
    migrations=MIGRATIONS,
    published=PUBLISHED_TABLES,
)


def _counts_table(title: str, rows: list[tuple[str, int]], error: str | None = None) -> str:
    width = max(len(name) for name, _ in rows) + 2
    lines = [title, *(f"  {name:<{width}}{count:>8,}" for name, count in rows)]
    return "\n".join(lines + ([f"  error: {error}"] if error else []))


def _ingest_summary(collection_id: str, run: IngestRun) -> str:
    rows = [("files", run.given), ("read", run.read), ("accepted", run.accepted),
            ("unchanged", run.unchanged), ("rejected", run.rejected)]  # fmt: skip
    rows += [(f"  {reason}", count) for reason, count in sorted(run.rejected_by_reason.items())]
    rows.append(("unreadable", len(run.unreadable)))
    rows += [(f"  {name}: {why}", 1) for name, why in sorted(run.unreadable.items())]
    return _counts_table(f"collection {collection_id}: {run.granules:,} granules", rows)


def _ingest_json(collection_id: str, run: IngestRun) -> str:
    """The run's summary as one JSON line, for scripts."""
    return json.dumps(
        {
            "collection": collection_id,
            "status": "succeeded" if run.succeeded else "failed",
            "files": run.given,
            "read": run.read,
            "accepted": run.accepted,
            "unchanged": run.unchanged,
            "rejected": run.rejected,
            "rejected_by_reason": dict(run.rejected_by_reason),
            "unreadable": run.unreadable,
            "granules": run.granules,
        }
    )


@main.command(help="Ingest OIFITS files into a collection (folders are recursed, hidden "
              "entries skipped), or load the demo collections with --demo.")  # fmt: skip
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--collection", "collection_id", help="Collection to add the files to.")
@click.option("--create-collection", is_flag=True, help="Create the collection if missing.")
@click.option("--coltype", type=click.Choice(COLLECTION_TYPES), default="public",
              show_default=True, help="With --create-collection: its type (embargo).")  # fmt: skip
@click.option("--title", help="With --create-collection: its title (default: its id).")
@click.option("--demo", is_flag=True, help="Load the demo: public, embargoed, private.")
@click.option("--json", "as_json", is_flag=True, help="Print each summary as one JSON line.")
@one_line_errors
def ingest(
    paths: tuple[Path, ...],
    collection_id: str | None,
    create_collection: bool,
    coltype: str,
    title: str | None,
    demo: bool,
    as_json: bool,
) -> None:
    if demo == bool(paths or collection_id):
        raise click.UsageError("give PATH... with --collection, or --demo alone")
    if not demo and not collection_id:
        raise click.UsageError("give the --collection to add the files to")
    if not demo and not (paths or create_collection):
        raise click.UsageError("give the files or folders to ingest")
    settings = Settings()
    database = Database(settings)
    try:
        if demo:
            runs = [(collection.id, run) for collection, run in load_demo(database, settings)]
        else:
            if create_collection:
                ensure_collection_exists(database, collection_id, title or collection_id, coltype)
            files = files_under(paths)
            runs = [
                (collection_id, ingest_files(database, settings, PLATFORM, collection_id, files))
            ]
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    finally:
        database.dispose()
    for name, run in runs:
        click.echo(_ingest_json(name, run) if as_json else _ingest_summary(name, run))
    if not all(run.succeeded for _, run in runs):
        raise click.ClickException("no file could be ingested")


def _utc(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        message = f"{text!r} is not an ISO 8601 date, e.g. 2024-01-31T12:00:00"
        raise click.BadParameter(message) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _harvest_summary(summary: HarvestSummary) -> str:
    rows = [("read", summary.read), ("inserted", summary.inserted),
            ("updated", summary.updated), ("rejected", summary.rejected)]  # fmt: skip
    rows += [(f"  {reason}", count) for reason, count in sorted(summary.rejected_by_reason.items())]
    since = summary.updated_from.isoformat() if summary.updated_from else "the beginning"
    title = f"ObsPortal import {summary.id} (updated since {since}): {summary.status}"
    return _counts_table(title, rows, summary.error)


def _harvest_json(summary: HarvestSummary) -> str:
    return json.dumps(
        {
            "run_id": summary.id,
            "status": summary.status,
            "read": summary.read,
            "accepted": summary.read - summary.rejected,
            "inserted": summary.inserted,
            "updated": summary.updated,
            "rejected": summary.rejected,
            "rejected_by_reason": summary.rejected_by_reason,
            "updated_until": summary.updated_until and summary.updated_until.isoformat(),
            "error": summary.error,
        }
    )


@main.command(
    "sync-obsportal",
    help="Import the exposures ObsPortal added or changed as level-0 granules "
    "(collection eso_vlti_import).",
)
@click.option("--since", callback=lambda _, __, value: value and _utc(value),
              help="Exposures updated since this ISO 8601 date (UTC unless it says otherwise; "
              "default: where the last successful run stopped).")  # fmt: skip
@click.option("--url", help="ObsPortal's base URL (default: OIDB_OBSPORTAL_URL).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON line.")
@one_line_errors
def sync_obsportal_command(since: datetime | None, url: str | None, as_json: bool) -> None:
    settings = Settings()
    with job_report("oidb", SYNC_OBSPORTAL_JOB) as report:
        database = Database(settings)
        try:
            summary = sync_obsportal(database, settings, since=since, url=url)
        finally:
            database.dispose()
        report.count(summary.read - summary.rejected, summary.rejected)
        click.echo(_harvest_json(summary) if as_json else _harvest_summary(summary))
        if summary.status != "succeeded":
            raise click.ClickException(f"the ObsPortal import failed: {summary.error}")

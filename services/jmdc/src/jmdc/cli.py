"""``jmdc`` command: serve, migrate and the service's jobs."""

import json
from pathlib import Path

import click

from jmmc_core.cli import one_line_errors, service_cli
from jmmc_core.database import Database
from jmmc_core.migrations import Migrations

from .config import Settings
from .schema import Base
from .schema.published import TABLES as PUBLISHED_TABLES
from .services import importing

MIGRATIONS = Migrations(Base.metadata, Path(__file__).parent / "migrations" / "versions")

main = service_cli(
    name="jmdc",
    settings_class=Settings,
    app_factory="jmdc.main:create_app",
    migrations=MIGRATIONS,
    published=PUBLISHED_TABLES,
)


def _import_summary(report: importing.ImportReport) -> str:
    lines = [
        f"import run {report.run_id} ({report.origin}, {report.format}): {report.read:,} rows read",
        f"  imported  {report.imported:>8,}",
        f"  skipped   {report.skipped:>8,}  (already in the catalogue)",
        f"  rejected  {report.rejected:>8,}",
    ]
    lines += [f"    row {reject['row']}: {reject['reason']}" for reject in report.rejects]
    return "\n".join(lines)


@main.command(
    "import",
    help="Import measurements: the 2017 FITS catalogue or a VizieR release (its ReadMe or"
    " the folder holding ReadMe and jmdc.dat). Re-running imports nothing twice.",
)
@click.argument("path", type=click.Path(exists=True, path_type=Path), required=False)
@click.option("--format", "file_format", type=click.Choice(["fits", "vizier"]),
              help="Default: fits for a .fits file, vizier otherwise.")  # fmt: skip
@click.option("--demo", is_flag=True,
              help="The shared 2017 catalogue when present, else a generated one.")  # fmt: skip
@click.option("--generate", type=click.IntRange(min=1), help="Import N generated measurements.")
@click.option("--seed", type=int, default=2017, show_default=True, help="Seed of --generate.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON line.")
@one_line_errors
def import_measurements(
    path: Path | None,
    file_format: str | None,
    demo: bool,
    generate: int | None,
    seed: int,
    as_json: bool,
) -> None:
    if sum([path is not None, demo, generate is not None]) != 1:
        raise click.UsageError("give exactly one of PATH, --demo, --generate")
    database = Database(Settings())
    try:
        with database.session() as session:
            if path is not None:
                suffixes = "".join(path.suffixes).lower()
                chosen = file_format or ("fits" if ".fit" in suffixes else "vizier")
                report = importing.import_file(session, path, chosen)
            elif demo:
                report = importing.import_demo(session)
            else:
                report = importing.import_generated(session, generate or 0, seed)
    finally:
        database.dispose()
    if as_json:
        click.echo(json.dumps(report.__dict__ | {"rejected": report.rejected}))
    else:
        click.echo(_import_summary(report))

"""``jmdc`` command: serve, migrate and the service's jobs."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.orm import Session

from jmmc_core.cli import one_line_errors, service_cli
from jmmc_core.database import Database
from jmmc_core.errors import ServiceError
from jmmc_core.migrations import Migrations

from .config import Settings
from .schema import Base
from .schema.published import TABLES as PUBLISHED_TABLES
from .services import importing, releases
from .services.resolver import Resolver

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


@contextmanager
def _session() -> Iterator[Session]:
    """A database session for one command; a domain error is one line and exit status 1."""
    database = Database(Settings())
    try:
        with database.session() as session:
            yield session
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    finally:
        database.dispose()


@main.command(
    "release",
    help="Freeze the catalogue's current measurements (not withdrawn) into the next release."
    " Refused when nothing changed since the last one.",
)
@click.option("--title", required=True, help="What the release is, in a few words.")
@click.option("--note", help="What changed, for readers (shown in the ReadMe).")
@click.option("--if-changed", is_flag=True,
              help="When nothing changed, say so and succeed (for repeated runs).")  # fmt: skip
@one_line_errors
def release(title: str, note: str | None, if_changed: bool) -> None:
    with _session() as session:
        try:
            made = releases.create_release(session, title, note)
        except releases.Unchanged as unchanged:
            if not if_changed:
                raise
            line = str(unchanged)
        else:
            line = f"release {made.number}: {made.measurement_count:,} measurements, {made.title}"
    click.echo(line)


@main.command("releases", help="List the releases, oldest first.")
@one_line_errors
def list_releases() -> None:
    with _session() as session:
        lines = releases.history_lines(reversed(releases.list_releases(session)))
    click.echo("\n".join(lines) if lines else "no release yet")


@main.command(
    "release-diff",
    help="What changed from release OLD to release NEW: added, changed (fields) and withdrawn.",
)
@click.argument("old", type=click.IntRange(min=1))
@click.argument("new", type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print the difference as JSON.")
@one_line_errors
def release_diff(old: int, new: int, as_json: bool) -> None:
    with _session() as session:
        difference = releases.diff(session, old, new)
        text = (
            json.dumps(releases.diff_json(difference), default=str)
            if as_json
            else "\n".join(releases.diff_lines(difference))
        )
    click.echo(text)


@main.command("withdraw", help="Withdraw measurement ID from the next releases, with a reason.")
@click.argument("measurement_id", type=click.IntRange(min=1, max=2**31 - 1))
@click.option("--reason", required=True, help="Why, as the release diffs will show it.")
@one_line_errors
def withdraw(measurement_id: int, reason: str) -> None:
    with _session() as session:
        releases.withdraw(session, measurement_id, reason)
    click.echo(f"measurement {measurement_id} withdrawn: {reason}")


@main.command(
    "resolve",
    help="Check star names as submissions are checked: SIMBAD (Sesame), or offline its cache"
    " and recorded answers. Answers are kept in the cache.",
)
@click.argument("names", nargs=-1, required=True)
@one_line_errors
def resolve(names: tuple[str, ...]) -> None:
    resolver = Resolver(Settings())
    with _session() as session:
        lines = [resolver.resolve(session, name).summary() for name in names]
    click.echo("\n".join(lines))

"""``obsportal`` command: serve, migrate and the service's jobs."""

import json
import sys
import time
from datetime import datetime
from pathlib import Path

import click

from jmmc_core.cli import one_line_errors, service_cli
from jmmc_core.database import Database
from jmmc_core.migrations import Migrations
from jmmc_core.zabbix import job_report

from .config import Settings
from .schema import Base
from .schema.published import TABLES as PUBLISHED_TABLES
from .services.ingestion.demo import demo_sources
from .services.ingestion.eso_tap import eso_tap_source
from .services.ingestion.run import ingest as run_ingestion
from .services.ingestion.sources import DirectorySource, Source
from .services.ingestion.synthetic import SyntheticSource
from .services.targets import resolve_targets as run_target_resolution
from .storage.ingestion import RunRecord

#: The ingestion job as Zabbix knows it (monitoring/templates/obsportal.yaml).
INGESTION_JOB = "obsportal-ingest"
MIGRATIONS = Migrations(Base.metadata, Path(__file__).parent / "migrations" / "versions")

main = service_cli(
    name="obsportal",
    settings_class=Settings,
    app_factory="obsportal.main:create_app",
    migrations=MIGRATIONS,
    published=PUBLISHED_TABLES,
)


class Progress:
    """Headers read and rate on stderr: a live line on a terminal, a line per 5 s otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.live = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, read: int, elapsed: float) -> None:
        if not self.live and time.monotonic() - self.last < 5:
            return
        self.last = time.monotonic()
        rate = read / elapsed if elapsed else 0.0
        line = f"{self.label}: {read:,} headers read, {rate:,.0f} headers/s, {elapsed:.1f} s"
        click.echo(f"\r{line}" if self.live else line, err=True, nl=not self.live)

    def done(self) -> None:
        if self.live:
            click.echo(err=True)


def summary_table(run: RunRecord) -> str:
    rows = [("read", run.read_count), ("accepted", run.accepted_count),
            ("  new or changed", run.changed_count), ("excluded", run.excluded_count)]  # fmt: skip
    rows += [(f"  {rule}", count) for rule, count in sorted(run.excluded_by_rule.items())]
    rows.append(("rejected", run.rejected_count))
    rows += [(f"  {reason}", count) for reason, count in sorted(run.rejected_by_reason.items())]
    width = max(len(name) for name, _ in rows) + 2
    lines = [f"ingestion run {run.id} ({run.source}): {run.status}"]
    lines += [f"  {name:<{width}}{count:>10,}" for name, count in rows]
    if run.error:
        lines.append(f"  error: {run.error}")
    return "\n".join(lines)


def summary_json(run: RunRecord) -> str:
    """The run's summary as one JSON line, for scripts."""
    return json.dumps(
        {
            "run_id": run.id,
            "source": run.source,
            "status": run.status,
            "read": run.read_count,
            "accepted": run.accepted_count,
            "excluded": run.excluded_count,
            "rejected": run.rejected_count,
            "excluded_by_rule": run.excluded_by_rule,
            "rejected_by_reason": run.rejected_by_reason,
            "error": run.error,
        }
    )


@main.command(help="Ingest ESO headers into the observation database.")
@click.option("--from-dir", "from_dir", type=click.Path(path_type=Path, exists=True),
              help="Folder (or tar) of header dumps and FITS files.")  # fmt: skip
@click.option(
    "--from-eso-tap",
    is_flag=True,
    help="Harvest ESO's TAP service (dbo.raw) for frames changed since the last harvest.",
)
@click.option(
    "--instrument",
    "instruments",
    multiple=True,
    help="With --from-eso-tap: instrument to harvest (repeatable; default: all VLTI).",
)
@click.option("--since", type=click.DateTime(), default=None,
              help="With --from-eso-tap: archive modification date to start from, UTC "
              "(default: where the last successful run stopped).")  # fmt: skip
@click.option("--synthetic", type=click.IntRange(min=1), help="Generate N synthetic headers.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of --synthetic.")
@click.option(
    "--demo",
    is_flag=True,
    help="Load the demo set: synthetic headers plus the real shared ones if present.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Worker processes (default: OBSPORTAL_INGESTION_WORKERS, 0 = one per CPU).",
)
@click.option("--json", "as_json", is_flag=True, help="Print each run's summary as one JSON line.")
@one_line_errors
def ingest(
    from_dir: Path | None,
    from_eso_tap: bool,
    instruments: tuple[str, ...],
    since: datetime | None,
    synthetic: int | None,
    seed: int,
    demo: bool,
    workers: int | None,
    as_json: bool,
) -> None:
    settings = Settings()
    chosen = [bool(from_dir), from_eso_tap, synthetic is not None, demo]
    if sum(chosen) != 1:
        raise click.UsageError(
            "give exactly one of --from-dir, --from-eso-tap, --synthetic, --demo"
        )
    sources: list[Source]
    if from_dir:
        sources = [DirectorySource(from_dir)]
    elif synthetic is not None:
        sources = [SyntheticSource(synthetic, seed=seed)]
    elif demo:
        sources = demo_sources()
    else:
        sources = [eso_tap_source(settings, list(instruments or settings.eso_instruments), since)]
    failed = False
    with job_report("obsportal", INGESTION_JOB) as report:
        for source in sources:
            progress = Progress(source.description)
            run = run_ingestion(
                settings,
                source,
                workers=settings.ingestion_workers if workers is None else workers,
                batch_size=settings.ingestion_batch_size,
                progress=progress,
            )
            progress.done()
            report.count(run.accepted_count, run.rejected_count)
            click.echo(summary_json(run) if as_json else summary_table(run))
            failed = failed or run.status != "succeeded"
        if failed:
            raise click.ClickException("ingestion failed")


@main.command(
    "resolve-targets",
    help="Attach SIMBAD's identifier and ICRS position to the targets not yet checked (offline:"
    " the resolver's cache and recorded answers only). Re-runs check only what is left.",
)
@one_line_errors
def resolve_targets() -> None:
    settings = Settings()
    database = Database(settings)
    try:
        report = run_target_resolution(settings, database.engine)
    finally:
        database.dispose()
    for line in report.not_checked:
        click.echo(f"not checked: {line}")
    click.echo(report.summary())

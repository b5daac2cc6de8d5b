"""Benchmark of the JMDC catalogue: import, search and every export of a generated catalogue.

    .venv/bin/python bench/jmdc.py                 # 100,000 measurements
    .venv/bin/python bench/jmdc.py --rows 5000     # quick

The catalogue is generated with the 2017 catalogue's distributions (diameters, errors, bands,
methods, note lengths; ``jmdc.services.importing.generated_measurements``). Measured, each
in a process of its own so that its peak memory (RSS above the process's RSS before it) is its
own:

* import: a generated catalogue (made beforehand) into the empty table (checks, identities,
  COPY, one transaction), then the same again (every row recognised, nothing written);
  reference: the same rows COPYed into a bare table, no checks;
* search: a page of 50 by star name, by a 10" cone and by band (with the total count), the
  median of ``--runs`` calls of the service layer each;
* export of the whole catalogue as CSV, xlsx, PDF and VOTable, read from the database as the
  web exports do (and the reading alone, the database's part of each); references: astropy
  ``Table.write`` of the same rows, already in memory, as CSV and VOTable.

A private PostgreSQL is started in a temporary folder unless ``--database-url`` is given.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

# This script is named like the service's package: `import jmdc` must not find the script.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH]

from jmdc.cli import MIGRATIONS  # noqa: E402
from jmdc.config import Settings  # noqa: E402
from jmdc.models.catalogue import MeasurementColumn  # noqa: E402
from jmdc.schema import Measurement  # noqa: E402
from jmdc.services import catalogue, exports, importing  # noqa: E402
from jmmc_core.database import Database  # noqa: E402
from jmmc_core.migrations import upgrade_to_head  # noqa: E402
from jmmc_core.paging import Paging  # noqa: E402
from jmmc_devtools.pgcluster import PostgresCluster, free_port  # noqa: E402

SEED = 2017
MB = 1024 * 1024
EXPORTS = ("csv", "xlsx", "pdf", "votable")
REFERENCES = {"csv": "ascii.csv", "votable": "votable"}


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_above(baseline: int) -> float:
    """MiB of peak RSS (``ru_maxrss``, KiB on Linux) above ``baseline`` bytes."""
    return max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - baseline) / MB


def database(url: str) -> Database:
    return Database(Settings(database_url=url, environment="test"))


# -- operations, each run in a child process ---------------------------------------------


def operation_import(url: str, rows: int) -> dict:
    """The generated rows (made beforehand) through the import: checks, identities, COPY."""
    db = database(url)
    source = list(importing.generated_rows(rows, SEED))
    prepared = rss_bytes()  # memory is counted from here
    started = time.perf_counter()
    with db.session() as session:
        report = importing.import_rows(
            session, source, importing.checked, f"import:generated-{rows}-{SEED}", "generated"
        )
    return {"seconds": time.perf_counter() - started, "imported": report.imported,
            "skipped": report.skipped, "baseline": prepared}  # fmt: skip


def operation_copy_reference(url: str, rows: int) -> dict:
    """The same rows generated and COPYed into a bare table: what the import's checks cost."""
    db = database(url)
    columns = ("id1", "id2", "ud_diameter", "ld_diameter", "e_ld_diameter", "band", "band_code",
               "mu_lambda", "method", "notes", "bibcode", "sinpe", "ra", "dec")  # fmt: skip
    source = list(importing.generated_measurements(rows, SEED))
    prepared = rss_bytes()  # memory is counted from here
    started = time.perf_counter()
    with db.session() as session:
        cursor = session.connection().connection.driver_connection.cursor()
        cursor.execute(
            f"CREATE TEMP TABLE copy_reference AS SELECT {', '.join(columns)}"
            " FROM jmdc.measurements WITH NO DATA"
        )
        statement = f"COPY copy_reference ({', '.join(columns)}) FROM STDIN"
        with cursor.copy(statement) as copy:
            for values in source:
                copy.write_row(tuple(values[name] for name in columns))
    return {"seconds": time.perf_counter() - started, "baseline": prepared}


def operation_search(url: str, runs: int) -> dict:
    db = database(url)
    with db.session() as session:
        star = session.execute(
            select(Measurement.id1, Measurement.ra, Measurement.dec).limit(1)
        ).one()
    cases = {
        "search by name": catalogue.CatalogueCriteria(name=star.id1.lower().replace(" ", "")),
        'search by 10" cone': catalogue.CatalogueCriteria(
            cone=catalogue.Cone(star.ra, star.dec, 10 / 3600)
        ),
        "search by band (K)": catalogue.CatalogueCriteria(band="K"),
    }
    figures = {}
    for label, criteria in cases.items():
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            with db.session() as session:
                found = catalogue.search(session, criteria, Paging(1, 50))
            times.append(time.perf_counter() - started)
        figures[label] = {"seconds": statistics.median(times), "total": found.total}
    return figures


def operation_read(url: str) -> dict:
    """Only reading the rows an export writes: the part of each export that is the database's."""
    db = database(url)
    started = time.perf_counter()
    with db.session() as session:
        count = sum(1 for _ in catalogue.rows(session, catalogue.CatalogueCriteria()))
    return {"seconds": time.perf_counter() - started, "rows": count}


def operation_export(url: str, format: str) -> dict:
    db = database(url)
    size = 0
    started = time.perf_counter()
    _, chunks = exports.search_export(db, catalogue.CatalogueCriteria(), format)
    for chunk in chunks:
        size += len(chunk)
    return {"seconds": time.perf_counter() - started, "bytes": size}


def _astropy_column(column: MeasurementColumn, values: list) -> object:
    """A masked astropy column of ``values`` (None masked), typed as the export types it."""
    from astropy.table import MaskedColumn

    mask = [value is None for value in values]
    if column.datatype in ("char", "unicodeChar"):
        data: list = ["" if value is None else value for value in values]
    elif column.datatype == "boolean":
        data = [bool(value) for value in values]
    else:
        data = [0 if value is None else value for value in values]
    return MaskedColumn(data, name=column.name, mask=mask, unit=column.unit)


def operation_astropy(url: str, format: str) -> dict:
    """astropy ``Table.write`` of the rows the export writes (the rows read beforehand)."""
    from astropy.table import Table

    db = database(url)
    with db.session() as session:
        rows = list(catalogue.rows(session, catalogue.CatalogueCriteria()))
    table = Table([_astropy_column(column, [row[column.name] for row in rows])
                   for column in exports.VOTABLE_COLUMNS])  # fmt: skip
    buffer = io.BytesIO() if format == "votable" else io.StringIO()
    prepared = rss_bytes()  # memory is counted from here
    started = time.perf_counter()
    table.write(buffer, format=REFERENCES[format])
    figures = {"seconds": time.perf_counter() - started, "bytes": len(buffer.getvalue())}
    return figures | {"baseline": prepared}


def run_operation(name: str, url: str, argument: str) -> None:
    baseline = rss_bytes()
    if name == "import":
        figures = operation_import(url, int(argument))
    elif name == "copy":
        figures = operation_copy_reference(url, int(argument))
    elif name == "search":
        figures = operation_search(url, int(argument))
    elif name == "read":
        figures = operation_read(url)
    elif name == "export":
        figures = operation_export(url, argument)
    else:
        figures = operation_astropy(url, argument)
    # Operations that prepare their input (rows made or read beforehand) count from there.
    baseline = figures.pop("baseline", baseline)
    print(json.dumps({"figures": figures, "peak_mib": peak_above(baseline)}))


def in_child(name: str, url: str, argument: object) -> dict:
    command = [sys.executable, __file__, "--operation", name, "--database-url", url,
               "--argument", str(argument)]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.splitlines()[-1])


# -- the run -----------------------------------------------------------------------------


def line(label: str, seconds: float, peak: float, extra: str = "") -> str:
    return f"  {label:<32}{seconds:>10.3f} s{peak:>10.1f} MiB  {extra}"


def bench(url: str, rows: int, runs: int) -> None:
    upgrade_to_head(Settings(database_url=url, environment="test"), MIGRATIONS)
    print(f"JMDC catalogue benchmark: {rows:,} generated measurements", flush=True)
    print(f"  {'operation':<32}{'time':>12}{'peak RSS':>14}", flush=True)
    first = in_child("import", url, rows)
    print(line("import", first["figures"]["seconds"], first["peak_mib"],
               f"{first['figures']['imported']:,} imported"), flush=True)  # fmt: skip
    again = in_child("import", url, rows)
    print(line("import again (nothing new)", again["figures"]["seconds"], again["peak_mib"],
               f"{again['figures']['skipped']:,} skipped"), flush=True)  # fmt: skip
    copy = in_child("copy", url, rows)
    print(line("reference: bare COPY", copy["figures"]["seconds"], copy["peak_mib"],
               f"import / COPY = {first['figures']['seconds'] / copy['figures']['seconds']:.2f}"),
          flush=True)  # fmt: skip
    with database(url).engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE jmdc.measurements")
    search = in_child("search", url, runs)
    for label, figure in search["figures"].items():
        print(line(label, figure["seconds"], search["peak_mib"],
                   f"{figure['total']:,} found, median of {runs}"), flush=True)  # fmt: skip
    read = in_child("read", url, "")
    print(line("read every row (no export)", read["figures"]["seconds"], read["peak_mib"],
               f"{read['figures']['rows']:,} rows"), flush=True)  # fmt: skip
    exported = {}
    for format in EXPORTS:
        result = in_child("export", url, format)
        exported[format] = result["figures"]["seconds"]
        print(line(f"export {format}", exported[format], result["peak_mib"],
                   f"{result['figures']['bytes'] / MB:.1f} MiB"), flush=True)  # fmt: skip
    for format in REFERENCES:
        reference = in_child("astropy", url, format)
        seconds = reference["figures"]["seconds"]
        print(line(f"reference: astropy {format}", seconds, reference["peak_mib"],
                   f"export / astropy = {exported[format] / seconds:.2f}"), flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50, help="calls per search (median)")
    parser.add_argument("--database-url", help="an empty database (default: a private one)")
    parser.add_argument("--operation", help=argparse.SUPPRESS)
    parser.add_argument("--argument", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.operation:
        run_operation(arguments.operation, arguments.database_url, arguments.argument)
        return
    directory = cluster = None
    url = arguments.database_url
    if url is None:
        directory = Path(tempfile.mkdtemp(prefix="jmmc-bench-jmdc-"))
        cluster = PostgresCluster(directory, free_port())
        cluster.start()
        cluster.ensure_database("bench", "jmmc")
        url = cluster.url("bench", "jmmc")
    try:
        bench(url, arguments.rows, arguments.runs)
    finally:
        if cluster is not None:
            cluster.stop()
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()

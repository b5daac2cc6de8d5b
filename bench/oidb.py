"""Benchmark of OiDB: OIFITS ingestion, quick-look previews, an ObsCore cone through TAP.

    python bench/oidb.py [--files 5000] [--previews 40] [--cones 200] [--quick]

(a) Ingestion of the real OIFITS files (the shared data folder, when present) and of
    ``--files`` generated ones whose sizes follow the real files' (40 KB to 1.7 MB; the two
    distributions are printed side by side and checked). Per file and stage, on
    ``--stage-sample`` files spread over the set: read+validate (astropy opens every HDU, the
    checks against the OIFITS standard), extract (granules); reference in the same run:
    astropy's plain ``fits.open`` reading every HDU's data of the same files. Then every file
    through ``ingest_file`` (rights, read, the file stored by MD5, one transaction with the
    file row and its granules): ms per file, files/s, and the database write as its mean
    minus the read's. The real files also go through ``oidb ingest`` once (process start
    included).
(b) Preview rendering (``render_preview``) for ``--previews`` granules, every kind each has:
    ms per granule drawn (empty cache), then served from the cache.
(c) An ObsCore cone (``CONTAINS(POINT, CIRCLE(.., 0.5 deg)) = 1`` on ``ivoa.obscore``) on
    ``/tap/sync``, one query after another: p50 and p95; references: a 1-row TAP query
    without a cone (what HTTP, ADQL and VOTable cost) and the same cone in SQL on the
    granules table (pg_sphere index).

A private PostgreSQL cluster, every service's schema (migrated by its own CLI, so TAP_SCHEMA
holds ``ivoa.obscore``), the TAP query role and ``tap serve`` are started in a temporary
folder on free ports and removed at the end.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import psycopg
from astropy.io import fits
from harness import MB, REPOSITORY, log
from sqlalchemy import select

from jmmc_devtools.pgcluster import PostgresCluster, free_port
from jmmc_devtools.platform import declare_cone_functions_leakproof, ensure_tap_query_role
from jmmc_devtools.processes import serving
from jmmc_devtools.registry import service_names
from tests.oidb.oifits_factory import make_oifits, size_for

# This script is named like the service's package: `import oidb` must not find the script.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH]

from jmmc_core.database import Database  # noqa: E402
from oidb.config import Settings  # noqa: E402
from oidb.schema.catalogue import Granule  # noqa: E402
from oidb.services.access import reading  # noqa: E402
from oidb.services.ingestion import PLATFORM, ensure_collection_exists, ingest_file  # noqa: E402
from oidb.services.oifits.document import parse  # noqa: E402
from oidb.services.oifits.granules import extract_granules, file_facts  # noqa: E402
from oidb.services.oifits.reader import opened  # noqa: E402
from oidb.services.oifits.report import ValidationReport  # noqa: E402
from oidb.services.previews import preview_kinds_of, render_preview  # noqa: E402
from oidb.storage.files import file_path  # noqa: E402

DATABASE = "bench_oidb"
OWNER = "jmmc"
BIN = Path(sys.executable).parent
SHARED_OIFITS = REPOSITORY.parent / "shared" / "data" / "oifits"
#: Sizes (bytes) of the 26 real OIFITS files: the distribution the generated files follow.
REAL_SIZES = (
    40320, 51840, 72000, 72000, 74880, 74880, 83520, 83520, 86400, 89280, 95040, 106560,
    112320, 141120, 161280, 167040, 187200, 207360, 207360, 216000, 264960, 308160, 397440,
    676800, 760320, 1748160,
)  # fmt: skip
#: Distinct layouts generated; every file is one of them with its own name and target.
TEMPLATES = 60
#: Files between two progress lines of a long ingestion.
PROGRESS_EVERY = 500
CONE = (
    "SELECT * FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), "
    "CIRCLE('ICRS', {ra:.6f}, {dec:.6f}, 0.5)) = 1"
)
ONE_ROW = "SELECT TOP 1 obs_id FROM ivoa.obscore"
SQL_CONE = (
    "SELECT * FROM oidb.granules WHERE spoint(radians(s_ra), radians(s_dec)) "
    "@ scircle(spoint(radians(%s), radians(%s)), radians(0.5))"
)


@dataclass
class Stages:
    """Seconds per file and stage, and what came out."""

    read: list[float] = field(default_factory=list)
    extract: list[float] = field(default_factory=list)
    astropy: list[float] = field(default_factory=list)
    ingest: list[float] = field(default_factory=list)
    granules: int = 0
    rejected: list[str] = field(default_factory=list)
    bytes: int = 0


def percentile(values: list[float], percent: int) -> float:
    return float(np.percentile(values, percent))


def run_cli(command: list[str], environment: dict[str, str]) -> None:
    result = subprocess.run(command, env=environment, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"`{' '.join(command)}` failed:\n{result.stderr or result.stdout}")


def prepare_database(cluster: PostgresCluster) -> str:
    """Accounts and every service migrated by its own CLI, the TAP query role, the cone
    functions declared leakproof: the cluster as `make up` and the postgres chart set it up."""
    cluster.ensure_database(DATABASE, OWNER)
    url = cluster.url(DATABASE, OWNER)
    run_cli([str(BIN / "jmmc-accounts"), "migrate"], {**os.environ, "ACCOUNTS_DATABASE_URL": url})
    for service in service_names():
        prefix = service.upper()
        environment = {**os.environ, f"{prefix}_DATABASE_URL": url, f"{prefix}_ENVIRONMENT": "test"}
        run_cli([str(BIN / service), "migrate"], environment)
    ensure_tap_query_role(cluster, DATABASE)
    declare_cone_functions_leakproof(cluster, DATABASE)
    return url


# --------------------------------------------------------------------------------------
# Generated files


def _family(nwave: int) -> dict:
    """An instrument looking like the real files of that width."""
    if nwave <= 6:
        return {"insname": "PIONIER_Pnat(1.5-1.8)", "instrument": "PIONIER",
                "wavelengths": (1.5e-6, 1.8e-6)}  # fmt: skip
    if nwave <= 250:
        return {"insname": "MATISSE", "instrument": "MATISSE", "wavelengths": (2.8e-6, 4.2e-6)}
    return {"insname": "GRAVITY_SC", "instrument": "GRAVITY", "wavelengths": (1.97e-6, 2.4e-6)}


def templates(count: int, rng: random.Random) -> list[bytes]:
    """``count`` files whose sizes sample the real distribution (quantiles, +-10 %)."""
    ordered = sorted(REAL_SIZES)
    made = []
    for index in range(count):
        quantile = (index + 0.5) / count
        size = ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] * rng.uniform(0.9, 1.1)
        shape = size_for(int(size))
        made.append(make_oifits(**shape, **_family(shape["nwave"]), seed=index))
    return made


def target_offsets(template: bytes) -> dict[str, int]:
    """Where OI_TARGET's first TARGET, RAEP0 and DECEP0 values lie in ``template``."""
    with fits.open(io.BytesIO(template)) as hdus:
        start = hdus.fileinfo(hdus.index_of("OI_TARGET"))["datLoc"]
        offsets, position = {}, start
        for column in hdus["OI_TARGET"].columns:
            offsets[column.name] = position
            position += column.dtype.itemsize
    return offsets


def variant(template: bytes, offsets: dict[str, int], index: int, rng: random.Random) -> bytes:
    """``template`` with its own archive name, target name and position: the layout stays,
    the bytes change where a new file would differ (ARCFILE card, OI_TARGET's first row)."""
    content = bytearray(template)
    name = f"BENCH.{index:08d}"
    arcfile = content.index(b"ARCFILE = '") + len("ARCFILE = '")
    stamp = f"{name}.fits'".ljust(36).encode()
    content[arcfile : arcfile + len(stamp)] = stamp
    ra, dec = rng.uniform(0, 360), float(np.degrees(np.arcsin(rng.uniform(-1, 1))))
    values = {"TARGET": name.ljust(16).encode(), "RAEP0": ra, "DECEP0": dec}
    for column, value in values.items():
        raw = value if isinstance(value, bytes) else np.array(value, ">f8").tobytes()
        content[offsets[column] : offsets[column] + len(raw)] = raw
    return bytes(content)


def generate(folder: Path, count: int) -> list[Path]:
    rng = random.Random(42)
    started = time.perf_counter()
    made = [
        (template, target_offsets(template)) for template in templates(min(TEMPLATES, count), rng)
    ]
    folder.mkdir(parents=True)
    paths = []
    for index in range(count):
        path = folder / f"BENCH.{index:08d}.fits"
        path.write_bytes(variant(*made[index % len(made)], index, rng))
        paths.append(path)
    log(f"generated {count} files ({len(made)} layouts) in {time.perf_counter() - started:.1f} s")
    return paths


def size_check(paths: list[Path]) -> None:
    """The generated sizes next to the real ones: quantiles in KB, and the verdict."""
    generated = [path.stat().st_size for path in paths]
    real = list(REAL_SIZES)
    log(f"{'sizes (KB)':<14}{'min':>8}{'p25':>8}{'p50':>8}{'p75':>8}{'max':>8}{'mean':>8}")
    for label, sizes in (("real (26)", real), (f"generated ({len(generated)})", generated)):
        figures = [min(sizes), *np.percentile(sizes, [25, 50, 75]), max(sizes), np.mean(sizes)]
        log(f"{label:<14}" + "".join(f"{value / 1024:>8.0f}" for value in figures))
    if len(generated) >= 20:
        ratio = statistics.median(generated) / statistics.median(real)
        mean_ratio = np.mean(generated) / np.mean(real)
        verdict = "PASS" if 0.8 <= ratio <= 1.25 and 0.8 <= mean_ratio <= 1.25 else "MISS"
        log(f"size check: median ratio {ratio:.2f}, mean ratio {mean_ratio:.2f} {verdict}")


# --------------------------------------------------------------------------------------
# (a) ingestion


def read_stages(content: bytes, stages: Stages) -> None:
    """Read+validate and extract of one file, timed apart; astropy's plain read for scale."""
    report = ValidationReport()
    started = time.perf_counter()
    with opened(content, report) as hdus:
        document = parse(hdus, report)
        validated = time.perf_counter()
        if document is not None:
            extract_granules(document, file_facts(hdus[0].header, document))
    stages.read.append(validated - started)
    stages.extract.append(time.perf_counter() - validated)
    started = time.perf_counter()
    with fits.open(io.BytesIO(content), memmap=False) as hdus:
        for hdu in hdus:
            _ = hdu.data
    stages.astropy.append(time.perf_counter() - started)


def ingestion(database, settings, label: str, collection: str, paths: list[Path], sample: int):
    """Stages timed on ``sample`` files spread over ``paths``, then every file ingested."""
    stages = Stages()
    ensure_collection_exists(database, collection, f"benchmark: {label}", "public")
    for path in paths[:: max(1, len(paths) // sample)][:sample]:
        read_stages(path.read_bytes(), stages)
    log(f"\n{label}: {len(paths)} files, stages timed on {len(stages.read)} of them")
    log(f"{'stage (ms per file)':<40}{'mean':>9}{'p50':>9}{'p95':>9}")
    for name, values in (
        ("read+validate", stages.read),
        ("extract granules", stages.extract),
        ("astropy fits.open + every HDU's data", stages.astropy),
    ):
        log(f"{name:<40}{np.mean(values) * 1000:>9.1f}{percentile(values, 50) * 1000:>9.1f}"
            f"{percentile(values, 95) * 1000:>9.1f}")  # fmt: skip
    ratio = (sum(stages.read) + sum(stages.extract)) / sum(stages.astropy)
    log(f"read+validate+extract / astropy plain read: {ratio:.2f}x")
    started = time.perf_counter()
    for done, path in enumerate(paths, 1):
        begun = time.perf_counter()
        content = path.read_bytes()
        result = ingest_file(database, settings, PLATFORM, collection_id=collection,
                             filename=path.name, content=content)  # fmt: skip
        stages.ingest.append(time.perf_counter() - begun)
        stages.bytes += len(content)
        stages.granules += len(result.granule_ids)
        if result.state == "rejected":
            stages.rejected.append(f"{path.name}: {result.reject_reason}")
        if done % PROGRESS_EVERY == 0 and done < len(paths):
            log(f"  {done} files ingested, {done / (time.perf_counter() - started):.1f} files/s")
    report_ingestion(len(paths), stages)


def report_ingestion(count: int, stages: Stages) -> None:
    total = sum(stages.ingest)
    write = np.mean(stages.ingest) - np.mean(stages.read) - np.mean(stages.extract)
    log(f"ingest_file: {count} files, {stages.bytes / MB:.1f} MB, {stages.granules} granules, "
        f"{len(stages.rejected)} rejected")  # fmt: skip
    for reason in stages.rejected[:5]:
        log(f"  rejected {reason}")
    ingest = stages.ingest
    log(f"{'ingest_file end to end (ms per file)':<40}{np.mean(ingest) * 1000:>9.1f}"
        f"{percentile(ingest, 50) * 1000:>9.1f}{percentile(ingest, 95) * 1000:>9.1f}")  # fmt: skip
    log(f"{'database write (ingest_file - read)':<40}{write * 1000:>9.1f}")
    log(f"ingestion: {count / total:.1f} files/s, {stages.bytes / MB / total:.1f} MB/s end to end")


def cli_ingestion(environment: dict[str, str], folder: Path) -> None:
    started = time.perf_counter()
    command = [str(BIN / "oidb"), "ingest", str(folder), "--collection", "bench-cli",
               "--create-collection", "--json"]  # fmt: skip
    run_cli(command, environment)
    log(f"`oidb ingest` of the real files (process start included): "
        f"{time.perf_counter() - started:.1f} s")  # fmt: skip


# --------------------------------------------------------------------------------------
# (b) previews


def previews(database, settings, count: int) -> None:
    with reading(database, PLATFORM) as session:
        rows = session.scalars(select(Granule).where(Granule.file_id.is_not(None))).all()
        granules = [
            SimpleNamespace(**{column: getattr(row, column) for column in (
                "id", "target_name", "instrument_name", "instrument_mode", "t_min", "t_max",
                "access_md5", "nb_vis", "nb_vis2", "nb_t3", "nb_channels")})
            for row in rows
        ]  # fmt: skip
    sample = random.Random(7).sample(granules, min(count, len(granules)))
    # The first request of a granule draws all its kinds at once: timed per granule.
    drawn, cached, pngs = [], [], 0
    for pass_times in (drawn, cached):
        for granule in sample:
            path = file_path(settings, granule.access_md5)
            started = time.perf_counter()
            images = [render_preview(settings, granule, path, kind)
                      for kind in preview_kinds_of(granule)]  # fmt: skip
            pass_times.append(time.perf_counter() - started)
            if not all(image.startswith(b"\x89PNG") for image in images):
                sys.exit(f"granule {granule.id}: a preview is not a PNG")
            pngs += len(images) * (pass_times is drawn)
    channels = [granule.nb_channels for granule in sample]
    log(f"\n(b) previews: {len(sample)} granules, {pngs} PNGs "
        f"({min(channels)} to {max(channels)} channels)")  # fmt: skip
    log(f"{'ms per granule (every kind)':<30}{'mean':>9}{'p50':>9}{'p95':>9}")
    for label, values in (("drawn (cache empty)", drawn), ("from the cache", cached)):
        log(f"{label:<30}{np.mean(values) * 1000:>9.1f}{percentile(values, 50) * 1000:>9.2f}"
            f"{percentile(values, 95) * 1000:>9.2f}")  # fmt: skip
    log(f"drawn / cached (p50): {statistics.median(drawn) / statistics.median(cached):.0f}x")


# --------------------------------------------------------------------------------------
# (c) ObsCore cone through TAP


def tap_sync(client: httpx.Client, tap: str, query: str) -> str:
    parameters = {"REQUEST": "doQuery", "LANG": "ADQL", "RESPONSEFORMAT": "votable/td"}
    answer = client.get(f"{tap}/sync", params={**parameters, "QUERY": query})
    if answer.status_code != 200 or 'value="ERROR"' in answer.text:
        sys.exit(f"TAP answered {answer.status_code}: {answer.text[:2000]}")
    return answer.text


def cones(cluster: PostgresCluster, tap: str, count: int) -> None:
    with psycopg.connect(
        host="127.0.0.1", port=cluster.port, user=OWNER, dbname=DATABASE
    ) as connection:
        positions = connection.execute(
            "SELECT s_ra, s_dec FROM oidb.granules WHERE s_ra IS NOT NULL ORDER BY id"
        ).fetchall()
        sample = random.Random(3).sample(positions, min(count, len(positions)))
        sql_times = []
        for ra, dec in sample:
            started = time.perf_counter()
            connection.execute(SQL_CONE, [ra, dec]).fetchall()
            sql_times.append(time.perf_counter() - started)
    tap_times, one_row_times, rows = [], [], []
    with httpx.Client(timeout=60) as client:
        for ra, dec in sample:
            started = time.perf_counter()
            answer = tap_sync(client, tap, CONE.format(ra=ra, dec=dec))
            tap_times.append(time.perf_counter() - started)
            rows.append(len(re.findall("<TR>", answer)))
            started = time.perf_counter()
            tap_sync(client, tap, ONE_ROW)
            one_row_times.append(time.perf_counter() - started)
    log(f"\n(c) ObsCore 0.5 deg cone, {len(sample)} queries one after another, "
        f"{statistics.mean(rows):.1f} rows per answer")  # fmt: skip
    log(f"{'cone (ms)':<32}{'p50':>9}{'p95':>9}")
    for label, values in (("TAP /tap/sync on ivoa.obscore", tap_times),
                          ("TAP TOP 1 without a cone", one_row_times),
                          ("SQL on oidb.granules (psycopg)", sql_times)):  # fmt: skip
        log(
            f"{label:<32}{percentile(values, 50) * 1000:>9.2f}{percentile(values, 95) * 1000:>9.2f}"
        )
    log(f"TAP / SQL (p50): {statistics.median(tap_times) / statistics.median(sql_times):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=5000, help="generated OIFITS files")
    parser.add_argument("--previews", type=int, default=40, help="granules to draw")
    parser.add_argument("--cones", type=int, default=200, help="TAP cone queries")
    parser.add_argument("--stage-sample", type=int, default=500, help="files timed per stage")
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 files, 10, 50")
    args = parser.parse_args()
    if args.quick:
        args.files, args.previews, args.cones = 200, 10, 50

    # A terminated run still stops its PostgreSQL and removes its folder.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    folder = Path(tempfile.mkdtemp(prefix="jmmc-bench-oidb-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, True)
        cluster = PostgresCluster(folder / "pg", free_port())
        cluster.start()
        stack.callback(cluster.stop)
        url = prepare_database(cluster)
        environment = {
            **os.environ,
            "OIDB_DATABASE_URL": url,
            "OIDB_ENVIRONMENT": "test",
            "OIDB_LOG_LEVEL": "WARNING",
            "OIDB_FILES_DIR": str(folder / "files"),
            "OIDB_PREVIEWS_DIR": str(folder / "previews"),
            "TAP_DATABASE_URL": url,
            "TAP_QUERY_DATABASE_URL": cluster.url(DATABASE, "tap_query"),
            "TAP_ENVIRONMENT": "test",
            "TAP_LOG_LEVEL": "WARNING",
            "TAP_RESULTS_DIR": str(folder / "tap-results"),
        }
        os.environ.update(environment)
        settings = Settings()
        database = Database(settings)
        stack.callback(database.dispose)
        log(f"PostgreSQL {cluster.port}; {os.cpu_count()} CPUs; {args.files} generated files")

        log("\n(a) ingestion")
        if SHARED_OIFITS.is_dir():
            real = sorted(path for path in SHARED_OIFITS.rglob("*") if path.is_file())
            ingestion(database, settings, "real files", "bench-real", real, len(real))
            cli_ingestion(environment, SHARED_OIFITS)
        else:
            log("(the shared data folder is absent: real files skipped)")
        generated = generate(folder / "generated", args.files)
        size_check(generated)
        ingestion(database, settings, "generated files", "bench-generated", generated,
                  args.stage_sample)  # fmt: skip

        previews(database, settings, args.previews)

        port = free_port()
        stack.enter_context(
            serving(
                [str(BIN / "tap"), "serve", "--port", str(port)],
                env=environment,
                stdout=subprocess.DEVNULL,
                health_url=f"http://127.0.0.1:{port}/health",
            )
        )
        cones(cluster, f"http://127.0.0.1:{port}/tap", args.cones)


if __name__ == "__main__":
    main()

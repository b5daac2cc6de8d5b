"""Benchmark: streaming VOTable export (jmmc_core.votable) against astropy, in the same run.

    python bench/votable_export.py [--rows 300000] [--quick]

The table is shaped like the obsportal export (26 columns: ids, instrument setup, target,
coordinates, ambient conditions, projected baselines as text, dates) and comes from a seeded
generator, so every measurement sees the same rows. Each measurement runs in its own
subprocess so that peak memory (ru_maxrss above the process's RSS before the export) is not
polluted by the previous one. Timed exports read a pre-built row list; the streaming memory
check reads a lazy generator at two row counts to show memory does not grow with rows.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "libs" / "jmmc_core" / "src"))

from jmmc_core.votable import CooSys, Field, VOTableWriter

FIELDS = [
    Field.text("exp_id", ucd="meta.id;meta.main"),
    Field.text("exp_header_id", ucd="meta.id"),
    Field("obs_id", "long", ucd="meta.id"),
    Field.text("obs_type", ucd="meta.code.class"),
    Field.text("obs_program", ucd="meta.id"),
    Field.text("interferometer_name", ucd="meta.id;instr.tel"),
    Field.text("interferometer_stations", ucd="instr.setup"),
    Field.text("instrument_name", ucd="meta.id;instr"),
    Field.text("instrument_mode", ucd="instr.setup"),
    Field.text("instrument_submode", ucd="instr.setup"),
    Field("target_id", "int", ucd="meta.id"),
    Field.unicode_text("target_name", ucd="meta.id"),
    Field("target_ra", "double", unit="deg", ucd="pos.eq.ra;meta.main", ref="icrs"),
    Field("target_dec", "double", unit="deg", ucd="pos.eq.dec;meta.main", ref="icrs"),
    Field("exp_mjd_start", "double", unit="d", ucd="time.start;obs.exposure"),
    Field("exp_mjd_end", "double", unit="d", ucd="time.end;obs.exposure"),
    Field("exp_dit", "float", unit="s", ucd="time.duration;obs.exposure"),
    Field("exp_tau0", "double", unit="s", ucd="obs.param"),
    Field("exp_temperature", "float", unit="K", ucd="phys.temperature"),
    Field("exp_seeing", "double", unit="arcsec", ucd="instr.obsty.seeing"),
    Field("validation_level", "short", ucd="meta.code.qual"),
    Field.text("exp_projected_baselines", ucd="instr.baseline"),
    Field("em_min", "double", unit="m", ucd="em.wl;stat.min"),
    Field("em_max", "double", unit="m", ucd="em.wl;stat.max"),
    Field.text("exp_date", xtype="timestamp", ucd="time.start"),
    Field.text("release_date", xtype="timestamp", ucd="time.release"),
]
COOSYS = [CooSys("icrs", "ICRS")]

# interferometer, stations, instrument, file prefix, mode, submode, em_min, em_max (m)
_SETUPS = [
    ("VLTI", "U1 U2 U3 U4", "GRAVITY", "GRAVI", "HIGH-COMBINED", "SINGLE", 1.99e-06, 2.45e-06),
    ("VLTI", "A0 B2 C1 D0", "PIONIER", "PIONI", "FREE", "GRISM", 1.52e-06, 1.8e-06),
    ("VLTI", "K0 G2 D0 J3", "MATISSE", "MATIS", "HYBRID", "LOW", 2.8e-06, 4.2e-06),
    ("CHARA", "S1 S2 E1 W2", "MIRCX", "MIRCX", "H-BAND", "PRISM", 1.5e-06, 1.74e-06),
]
_TARGET_NAMES = ["IRS9A", "HD 45677", "\u03b6 Oph", "Betelgeuse", "\u03b1 Cen A", "V* R Dor"]


def obsportal_rows(count: int, seed: int = 20240117) -> Iterator[tuple]:
    """Deterministic obsportal-like rows; about 10 % of the ambient values are null.

    Values carry the precision of the real export (coordinates to 1e-6 deg, MJD to 1e-8 d) and,
    as there, each target is observed many times.
    """
    rand = random.Random(seed)
    targets = [
        (
            _TARGET_NAMES[number] if number < len(_TARGET_NAMES) else f"HD {100000 + number * 37}",
            round(rand.uniform(0, 360), 6),
            round(rand.uniform(-90, 30), 6),
        )
        for number in range(2000)
    ]
    for index in range(count):
        setup = _SETUPS[index // 50 % len(_SETUPS)]
        name, stations, instrument, prefix, mode, submode, em_min, em_max = setup
        target_id = index // 12 % len(targets)
        target_name, ra, dec = targets[target_id]
        mjd = round(58000.0 + index * 0.0021 + rand.random() * 1e-4, 8)
        seconds = (mjd % 1) * 86400
        stamp = f"2019-02-{1 + index % 28:02d}T{int(seconds // 3600) % 24:02d}:" + (
            f"{int(seconds // 60) % 60:02d}:{seconds % 60:06.3f}"
        )
        station_list = stations.split()
        baselines = ", ".join(
            f"'{a}-{b}': {{'length': {{'start': '{rand.uniform(10, 130):.4f}', "
            f"'end': '{rand.uniform(10, 130):.4f}'}}, 'angle': {{'start': "
            f"'{rand.uniform(0, 180):.4f}', 'end': '{rand.uniform(0, 180):.4f}'}}}}"
            for i, a in enumerate(station_list)
            for b in station_list[i + 1 :]
        )
        ambient = rand.random() > 0.1
        yield (
            f"{prefix}.{stamp}_{index % 4 + 1}",
            f"{prefix}.{stamp}",
            100_000 + index // 4,
            "science" if index % 3 else "calib",
            f"{100 + index % 12:04d}.C-{index % 997:04d}(A)",
            name,
            stations,
            instrument,
            mode,
            submode,
            target_id,
            target_name,
            ra,
            dec,
            mjd,
            round(mjd + 0.0035, 8),
            rand.choice((0.5, 1.0, 2.0, 10.0)),
            round(rand.uniform(0.001, 0.01), 6) if ambient else None,
            round(rand.uniform(270, 290), 2) if ambient else None,
            round(rand.uniform(0.4, 1.5), 2) if ambient else None,
            index % 4,
            "{" + baselines + "}",
            em_min,
            em_max,
            stamp,
            f"20{20 + index % 4}-0{1 + index % 9}-15T00:00:00" if index % 5 else None,
        )


def _current_rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _ours(rows, serialization: str) -> int:
    writer = VOTableWriter(FIELDS, coosys=COOSYS, table_name="export", serialization=serialization)
    return sum(map(len, writer.iter_bytes(rows)))


def _astropy_table(rows: list[tuple]):
    import numpy as np
    from astropy.table import MaskedColumn, Table

    columns = []
    for field, values in zip(FIELDS, zip(*rows, strict=True), strict=True):
        mask = [value is None for value in values]
        if field.datatype in ("char", "unicodeChar"):
            data = ["" if value is None else value for value in values]
            dtype = str if field.datatype == "unicodeChar" else "S"
            if dtype == "S":
                data = [value.encode() for value in data]
        else:
            data = [0 if value is None else value for value in values]
            dtype = {"long": np.int64, "int": np.int32, "short": np.int16}.get(field.datatype)
            dtype = dtype or (np.float32 if field.datatype == "float" else np.float64)
        columns.append(MaskedColumn(np.array(data, dtype=dtype), name=field.name, mask=mask))
    return Table(columns)


def _astropy(rows: list[tuple], serialization: str, table=None) -> int:
    from astropy.io.votable import from_table

    votable = from_table(table if table is not None else _astropy_table(rows))
    votable.version = "1.4"
    output = io.BytesIO()
    votable.to_xml(output, tabledata_format=serialization)
    return output.tell()


def measure(kind: str, rows_count: int) -> dict:
    """One measurement in this process: seconds, bytes written, RSS growth during the export."""
    implementation, serialization, source = kind.split(":")
    rows = obsportal_rows(rows_count)
    if source == "list":
        rows = list(rows)
    if implementation == "astropy":
        import astropy.io.votable  # noqa: F401 - import cost is not export cost
    before = _current_rss()
    build_seconds = 0.0
    table = None
    if implementation == "astropy":
        start = time.process_time()
        table = _astropy_table(rows)
        build_seconds = time.process_time() - start
    start, wall_start = time.process_time(), time.perf_counter()
    if implementation == "ours":
        written = _ours(rows, serialization)
    else:
        written = _astropy(rows, serialization, table)
    seconds, wall_seconds = time.process_time() - start, time.perf_counter() - wall_start
    return {
        "kind": kind,
        "rows": rows_count,
        "seconds": seconds,
        "wall_seconds": wall_seconds,
        "build_seconds": build_seconds,
        "bytes": written,
        "rss_growth": max(_peak_rss() - before, 0),
    }


def _run(kind: str, rows_count: int) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--measure", kind, "--rows", str(rows_count)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--quick", action="store_true", help="small smoke run (3000 rows)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows_count = 3000 if args.quick else args.rows
    if args.measure:
        print(json.dumps(measure(args.measure, rows_count)))
        return

    mb = 1024 * 1024
    print(f"VOTable export, {rows_count} rows x {len(FIELDS)} columns (obsportal-shaped)")
    # CPU time (user + sys of the measuring process) keeps ratios meaningful on a shared host.
    print(f"{'writer':<30}{'CPU s':>8}{'wall s':>8}{'MB':>8}{'MB/s':>8}{'RSS +MB':>9}")
    results = {}
    for serialization in ("tabledata", "binary", "binary2"):
        for implementation in ("ours", "astropy"):
            kind = f"{implementation}:{serialization}:list"
            result = results[kind] = _run(kind, rows_count)
            label = f"{implementation} {serialization.upper()}"
            if result["build_seconds"]:
                label += " (write only)"
            print(
                f"{label:<30}{result['seconds']:>8.2f}{result['wall_seconds']:>8.2f}"
                f"{result['bytes'] / mb:>8.1f}{result['bytes'] / mb / result['seconds']:>8.1f}"
                f"{result['rss_growth'] / mb:>9.1f}"
            )
            if result["build_seconds"]:
                print(f"{'  + Table from rows':<30}{result['build_seconds']:>8.2f}")
    for serialization in ("tabledata", "binary", "binary2"):
        ours = results[f"ours:{serialization}:list"]
        theirs = results[f"astropy:{serialization}:list"]
        total = theirs["seconds"] + theirs["build_seconds"]
        print(
            f"ratio {serialization.upper()}: astropy write / ours = "
            f"{theirs['seconds'] / ours['seconds']:.1f}x, "
            f"astropy Table build + write / ours = {total / ours['seconds']:.1f}x"
        )
    binary, binary2 = results["ours:binary:list"], results["ours:binary2:list"]
    print(f"ratio ours BINARY / ours BINARY2 = {binary['seconds'] / binary2['seconds']:.2f}x")
    small = max(rows_count // 10, 1)
    print(f"streamed export from a generator, RSS growth at {small} vs {rows_count} rows:")
    for serialization in ("tabledata", "binary", "binary2"):
        few, many = (_run(f"ours:{serialization}:stream", n) for n in (small, rows_count))
        print(
            f"  {serialization.upper():<10} {few['rss_growth'] / mb:6.1f} MB vs "
            f"{many['rss_growth'] / mb:6.1f} MB"
        )


if __name__ == "__main__":
    main()

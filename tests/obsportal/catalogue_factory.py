"""Exposure catalogues for the search tests and ``bench/serve.py``, loaded with COPY.

Rows are dicts keyed by the VOTable names of the full field set (``exp_id``, ``obs_id``,
``target_ra``, ``exp_projected_baselines`` as a dict or its JSON…); :func:`load` derives programmes,
targets and observations from them and writes the ObsPortal tables directly (positions as
pg_sphere text), so 300,000 exposures load in seconds. The golden ObsPortal answers can be
turned into such rows too (:func:`golden_rows`), to compare our answers with the original's.
"""

from __future__ import annotations

import ast
import json
import math
import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import psycopg

from obsportal.services.baselines import format_baselines

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
GOLDEN = SHARED_DATA / "obsportal_votables"
RUN_ID = 1
MJD_EPOCH = datetime(1858, 11, 17, tzinfo=UTC)

_EXPOSURE_COLUMNS = (
    "exp_id",
    "header_id",
    "observation_id",
    "target_name",
    "target_ra",
    "target_dec",
    "position",
    "instrument_name",
    "instrument_mode",
    "instrument_submode",
    "interferometer_name",
    "interferometer_stations",
    "program_id",
    "mjd_start",
    "mjd_end",
    "exposure_time",
    "projected_baselines",
    "projected_baselines_text",
    "seeing",
    "tau0",
    "temperature",
    "em_min",
    "em_max",
    "em_res_power",
    "validation_level",
    "validation_log",
    "classification_rule",
    "date_updated",
    "date_release",
    "ingestion_run_id",
)

SETUPS = (
    ("VLTI", "U1 U2 U3 U4", "GRAVITY", "GRAVI", "HIGH-COMBINED", "SINGLE", 2.0e-6, 2.4e-6, 4000.0),
    ("VLTI", "U1 U2 U3 U4", "GRAVITY", "GRAVI", "MEDIUM-COMBINED", "SINGLE", 2.0e-6, 2.4e-6, 500.0),
    ("VLTI", "A0 G1 J2 K0", "PIONIER", "PIONI", "FREE-H", None, 1.5e-6, 1.8e-6, 5.0),
    ("VLTI", "A0 B2 C1 D0", "MATISSE", "MATIS", "SI_PHOT_LM_LOW", None, 2.8e-6, 5.0e-6, 30.0),
    ("CHARA", "S1 S2 E1 W2", "SPICA", "SPICA", "LR", None, 6e-7, 9e-7, 150.0),
)
TARGET_NAMES = ("IRS9A", "HD 45677", "\u03b6 Oph", "Betelgeuse", "\u03b1 Cen A", "V* R Dor")


def _spoint(ra: float | None, dec: float | None) -> str | None:
    if ra is None or dec is None:
        return None
    return f"({ra!r}d, {dec!r}d)"


def _timestamp(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    return value.isoformat()


def _mjd_timestamp(row: dict) -> str:
    """An update date for rows that lack one: the end of the exposure."""
    return (MJD_EPOCH + timedelta(days=row["exp_mjd_end"])).replace(microsecond=0).isoformat()


@lru_cache(maxsize=4096)
def _printed_baselines(text: str) -> str | None:
    # Synthetic rows share a few hundred JSON texts: each is formatted once.
    return format_baselines(json.loads(text))


def _stored_baselines(baselines: dict | str | None) -> tuple[str | None, str | None]:
    """The jsonb text and the printed form that ingestion would store."""
    if baselines is None:
        return None, None
    if isinstance(baselines, str):
        return baselines, _printed_baselines(baselines)
    return json.dumps(baselines), format_baselines(baselines)


def load(connection: psycopg.Connection, rows: Iterable[dict]) -> int:
    """Write ``rows`` (and the programmes, targets, observations they name); returns the count."""
    programs: dict[str, tuple] = {}
    targets: dict[int, tuple] = {}
    observations: dict[int, tuple] = {}
    count = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO obsportal.ingestion_runs (id, source, finished_at, status)"
            " VALUES (%s, 'tests', now(), 'succeeded') ON CONFLICT (id) DO NOTHING",
            [RUN_ID],
        )
        # Exposures stream in before the rows they refer to exist: foreign keys wait.
        cursor.execute("SET session_replication_role = replica")
        # Building an index once after the load is far faster than growing it row by row.
        indexes = cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)"
            " FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid"
            " WHERE i.indrelid = 'obsportal.exposures'::regclass AND c.oid IS NULL"
        ).fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        columns = ", ".join(_EXPOSURE_COLUMNS)
        with cursor.copy(f"COPY obsportal.exposures ({columns}) FROM STDIN") as copy:
            for row in rows:
                count += 1
                program = row.get("obs_program")
                if program is not None and program not in programs:
                    programs[program] = (
                        program,
                        row.get("obs_program_title"),
                        row.get("obs_program_pi_coi"),
                    )
                targets.setdefault(
                    row["target_id"],
                    (row["target_id"], row["target_name"], row["target_ra"], row["target_dec"]),
                )
                observations.setdefault(
                    row["obs_id"],
                    (
                        row["obs_id"],
                        f"key-{row['obs_id']}",
                        row.get("obs_type", "science"),
                        program,
                        row["target_id"],
                        row["instrument_name"],
                        row.get("instrument_mode"),
                        row.get("instrument_submode"),
                        row["interferometer_name"],
                        row.get("interferometer_stations"),
                    ),
                )
                baselines, baselines_text = _stored_baselines(row.get("exp_projected_baselines"))
                copy.write_row(
                    (
                        row["exp_id"],
                        row.get("exp_header_id") or row["exp_id"].rsplit("_", 1)[0],
                        row["obs_id"],
                        row["target_name"],
                        row["target_ra"],
                        row["target_dec"],
                        _spoint(row["target_ra"], row["target_dec"]),
                        row["instrument_name"],
                        row.get("instrument_mode"),
                        row.get("instrument_submode"),
                        row["interferometer_name"],
                        row.get("interferometer_stations"),
                        program,
                        row.get("exp_mjd_start"),
                        row.get("exp_mjd_end"),
                        row.get("exp_exposure_time"),
                        baselines,
                        baselines_text,
                        row.get("exp_seeing"),
                        row.get("exp_tau0"),
                        row.get("exp_temperature"),
                        row.get("instrument_em_min"),
                        row.get("instrument_em_max"),
                        row.get("instrument_em_res_power"),
                        row.get("exp_validation_level", 1),
                        json.dumps(row.get("exp_validation_log", [])),
                        row.get("classification_rule", "tests"),
                        _timestamp(row.get("exp_date_updated")) or _mjd_timestamp(row),
                        _timestamp(row.get("exp_date_release")),
                        RUN_ID,
                    )
                )
        with cursor.copy("COPY obsportal.programs (id, title, pi_coi) FROM STDIN") as copy:
            for program in programs.values():
                copy.write_row(program)
        with cursor.copy("COPY obsportal.targets (id, name, ra, dec) FROM STDIN") as copy:
            for target in targets.values():
                copy.write_row(target)
        with cursor.copy(
            "COPY obsportal.observations (id, grouping_key, obs_type, program_id, target_id,"
            " instrument_name, instrument_mode, instrument_submode, interferometer_name,"
            " interferometer_stations) FROM STDIN"
        ) as copy:
            for observation in observations.values():
                copy.write_row(observation)
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("ANALYZE obsportal.exposures")
    connection.commit()
    return count


def _baselines(stations: str, rand: random.Random) -> dict:
    names = stations.split()
    baselines = {}
    for index, first in enumerate(names):
        for second in names[index + 1 :]:
            length = rand.uniform(10.0, 130.0)
            angle = rand.uniform(-180.0, 180.0)
            baselines[f"{first}-{second}"] = {
                "length": {"start": round(length, 3), "end": round(length + 0.1, 3)},
                "angle": {"start": round(angle, 3), "end": round(angle + 0.8, 3)},
            }
    return baselines


def uniform_positions(count: int, rand: random.Random) -> Iterator[tuple[float, float]]:
    """Uniform on the sphere (dec from arcsin), so poles and RA 0/360 are as dense as anywhere."""
    for _ in range(count):
        yield rand.uniform(0.0, 360.0), math.degrees(math.asin(rand.uniform(-1.0, 1.0)))


def synthetic_rows(
    positions: Iterable[tuple[float, float]], seed: int = 7, exposures_per_target: int = 4
) -> Iterator[dict]:
    """Plausible exposures: ``exposures_per_target`` consecutive ones share a target and OB.

    Baselines come from a pool of JSON texts drawn once per setup, which keeps generating
    300,000 rows a matter of seconds.
    """
    rand = random.Random(seed)
    pools = {
        setup[1]: [json.dumps(_baselines(setup[1], rand)) for _ in range(257)] for setup in SETUPS
    }
    start = datetime(2019, 1, 1, tzinfo=UTC)
    target_id = 0
    ra = dec = 0.0
    for index, position in enumerate(positions):
        if index % exposures_per_target == 0:
            target_id += 1
            ra, dec = position
        setup = SETUPS[target_id % len(SETUPS)]
        interferometer, stations, instrument, prefix, mode, submode, em_min, em_max, power = setup
        mjd = 58484.0 + index * 0.002
        moment = start + timedelta(days=index * 0.002)
        stamp = moment.isoformat(timespec="milliseconds")[:23]
        ambient = index % 10 != 0
        yield {
            "exp_id": f"{prefix}.{stamp}_1",
            "exp_header_id": f"{prefix}.{stamp}",
            "obs_id": target_id,
            "obs_type": "calibrator" if target_id % 3 == 0 else "science",
            "obs_program": f"{104 + target_id % 8:04d}.C-{target_id % 97:04d}(A)",
            "obs_program_title": "Synthetic programme",
            "obs_program_pi_coi": "Doe/Roe",
            "target_id": target_id,
            "target_name": f"{TARGET_NAMES[target_id % len(TARGET_NAMES)]} {target_id}",
            "target_ra": ra,
            "target_dec": dec,
            "interferometer_name": interferometer,
            "interferometer_stations": stations,
            "instrument_name": instrument,
            "instrument_mode": mode,
            "instrument_submode": submode,
            "instrument_em_min": em_min,
            "instrument_em_max": em_max,
            "instrument_em_res_power": power,
            "exp_mjd_start": mjd,
            "exp_mjd_end": mjd + 0.0035,
            "exp_exposure_time": 300.0,
            "exp_projected_baselines": pools[stations][index % 257],
            "exp_seeing": 0.3 + (index % 130) / 100 if ambient else None,
            "exp_tau0": 0.001 + (index % 90) / 10_000 if ambient else None,
            "exp_temperature": 5.0 + (index % 130) / 10 if ambient else None,
            "exp_validation_level": 1 if ambient else 0,
            "exp_validation_log": [] if ambient else ["Missing 'HIERARCH ISS AMBI TEMP'"],
            "exp_date_updated": moment + timedelta(days=400),
            "exp_date_release": moment + timedelta(days=365) if index % 5 else None,
        }


def _golden_baselines(text: str | None) -> dict | None:
    if not text:
        return None
    parsed = ast.literal_eval(text)

    def number(value):
        return None if value is None else float(value)

    return {
        name: {part: {end: number(value[part][end]) for end in ("start", "end")} for part in value}
        for name, value in parsed.items()
    }


def golden_rows(path: Path) -> list[dict]:
    """The rows of an original ObsPortal answer, as :func:`load` takes them."""
    from astropy.io.votable import parse_single_table

    table = parse_single_table(str(path)).to_table()
    rows = []
    for record in table:
        values = {name: record[name] for name in table.colnames}
        for name, value in values.items():
            if hasattr(value, "mask") and value.mask:
                values[name] = None
            elif hasattr(value, "item"):
                values[name] = value.item()
        for name in ("exp_tau0", "exp_temperature", "exp_seeing"):
            if values.get(name) is not None and math.isnan(values[name]):
                values[name] = None
        values["exp_header_id"] = values.pop("exp_header", None) or values.get("exp_header_id")
        values["obs_id"] = int(values["obs_id"])
        values["target_id"] = int(values["target_id"])
        values["exp_projected_baselines"] = _golden_baselines(values["exp_projected_baselines"])
        if log := values.get("exp_validation_log"):
            values["exp_validation_log"] = json.loads(log)
        for name in ("obs_program_title", "obs_program_pi_coi", "instrument_submode"):
            if values.get(name) == "":
                values[name] = None
        rows.append(values)
    return rows

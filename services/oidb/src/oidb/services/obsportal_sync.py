"""The level-0 import: ObsPortal's exposures become calibration-level-0 granules.

ObsPortal is read only through its public interface, ``search.votable`` with
``all_fields=true`` and a ``date_updated_from``/``date_updated_to`` window, as the original
OiDB harvested it. Each run resumes from where the last successful one stopped (the latest
``exp_date_updated`` it read, minus a short overlap for exposures committed late), maps each
exposure with the original's rules and upserts it on (``obs_id``, ``obs_collection``,
``instrument_mode``) among level-0 granules: an unchanged exposure is left alone, so a re-run
changes nothing. All granules of a run are written in one transaction with its record; a run
that fails writes no granule and is recorded as failed, and the next one starts where the last
successful run stopped.
"""

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any
from urllib.parse import quote

import httpx
from astropy.io.votable import parse as parse_votable
from psycopg.errors import UndefinedTable
from sqlalchemy import func, select
from sqlalchemy.exc import ProgrammingError

from jmmc_core.database import Database
from jmmc_core.errors import DATABASE_UNAVAILABLE
from jmmc_core.health import CheckResult, HealthCheck

from ..config import Settings
from ..schema import ObsportalHarvest
from ..storage import granules as granule_storage
from ..storage import harvests as harvest_storage
from .access import writing
from .collections import ensure_collection
from .embargo import CALIBRATOR, data_rights_for
from .identifiers import publisher_did
from .ingestion import PLATFORM

logger = logging.getLogger(__name__)

COLLECTION_ID = "eso_vlti_import"
COLLECTION_TITLE = "VLTI observation log (ESO raw exposures, from ObsPortal)"
#: Who made the level-0 records, as the original import signed them.
CREATOR_NAME = "jmmc-tech-group - Bourges;Mella"
#: Where the ESO archive describes a raw exposure (``dp_id`` = ObsPortal's ``exp_header_id``).
ESO_ARCHIVE_QUERY = "http://archive.eso.org/wdb/wdb/eso/eso_archive_main/query?dp_id="
#: Exposures updated this long before the last run's latest one are read again, in case an
#: ObsPortal transaction started earlier was committed after that run read.
RESUME_OVERLAP = timedelta(minutes=15)
#: Where a window is split from when the first run's answer is truncated.
EARLIEST_UPDATE = datetime(1990, 1, 1, tzinfo=UTC)
#: Fields without which an answer cannot be imported.
REQUIRED_FIELDS = ("exp_id", "exp_date_updated", "target_ra", "target_dec", "instrument_mode")


class HarvestError(Exception):
    """ObsPortal could not be read; the message says why, in a line a person can act on."""


@dataclass
class HarvestSummary:
    id: int
    status: str
    updated_from: datetime | None
    updated_until: datetime | None
    read: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def of(cls, harvest: ObsportalHarvest) -> "HarvestSummary":
        return cls(
            harvest.id,
            harvest.status,
            harvest.updated_from,
            harvest.updated_until,
            harvest.read_count,
            harvest.inserted_count,
            harvest.updated_count,
            harvest.rejected_count,
            dict(harvest.rejected_by_reason),
            harvest.error,
        )


def sync_obsportal(
    database: Database,
    settings: Settings,
    *,
    since: datetime | None = None,
    url: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> HarvestSummary:
    """One import run: exposures updated since ``since`` (default: where the last successful
    run stopped) read from the ObsPortal at ``url`` (default: the setting)."""
    base = (url or settings.obsportal_url).rstrip("/")
    with writing(database, PLATFORM) as session:
        if since is None:
            last = harvest_storage.last_succeeded(session)
            since = last.updated_until - RESUME_OVERLAP if last and last.updated_until else None
        harvest_id = harvest_storage.start(session, since).id
        until = session.scalar(select(func.now()))
    try:
        with httpx.Client(
            timeout=settings.obsportal_timeout_seconds, transport=transport
        ) as client:
            exposures = list(_harvest(client, base, since, until))
        return _record(database, settings, harvest_id, since, exposures)
    except HarvestError as error:
        logger.warning("ObsPortal import %d failed: %s", harvest_id, error)
        return _record_failure(database, harvest_id, str(error))
    except Exception:
        _record_failure(database, harvest_id, "unexpected error; see the log")
        raise


def _record(
    database: Database,
    settings: Settings,
    harvest_id: int,
    since: datetime | None,
    exposures: list[dict[str, Any]],
) -> HarvestSummary:
    rejected: dict[str, int] = {}
    rows: dict[tuple, dict[str, Any]] = {}
    for exposure in exposures:
        granule = level0_granule(exposure, settings)
        if isinstance(granule, str):
            rejected[granule] = rejected.get(granule, 0) + 1
        else:  # the same exposure read in two windows counts once
            rows[(granule["obs_id"], granule["instrument_mode"])] = granule
    latest = max(filter(None, (row["exp_date_updated"] for row in exposures)), default=None)
    with writing(database, PLATFORM) as session:
        ensure_collection(session, COLLECTION_ID, COLLECTION_TITLE, "eso")
        ids = granule_storage.reserve_granule_ids(session, len(rows))
        batch = [
            {**row, "id": granule_id, "obs_publisher_did": publisher_did(granule_id)}
            for granule_id, row in zip(ids, rows.values(), strict=True)
        ]
        inserted, updated = granule_storage.upsert_level0(session, batch)
        harvest = harvest_storage.finish(
            session,
            harvest_id,
            "succeeded",
            updated_until=_parse_time(latest) if latest else since,
            read_count=len(exposures),
            inserted_count=inserted,
            updated_count=updated,
            rejected_count=sum(rejected.values()),
            rejected_by_reason=rejected,
        )
        return HarvestSummary.of(harvest)


def _record_failure(database: Database, harvest_id: int, error: str) -> HarvestSummary:
    with writing(database, PLATFORM) as session:
        return HarvestSummary.of(harvest_storage.finish(session, harvest_id, "failed", error=error))


def _harvest(
    client: httpx.Client, base: str, since: datetime | None, until: datetime
) -> Iterator[dict[str, Any]]:
    """The exposures of the window; a window ObsPortal truncates is read in two halves."""
    rows, complete = _search(client, base, since, until)
    if complete:
        yield from rows
        return
    start = since or EARLIEST_UPDATE
    if until - start <= timedelta(seconds=1):
        raise HarvestError(
            f"ObsPortal truncates the exposures updated at {until.isoformat()}: too many to read"
        )
    middle = start + (until - start) / 2
    yield from _harvest(client, base, start, middle)
    yield from _harvest(client, base, middle, until)


def _search(
    client: httpx.Client, base: str, since: datetime | None, until: datetime
) -> tuple[list[dict[str, Any]], bool]:
    parameters = {"all_fields": "true", "interferometer": "VLTI", "date_updated_to": _iso(until)}
    if since is not None:
        parameters["date_updated_from"] = _iso(since)
    try:
        answer = client.get(f"{base}/search.votable", params=parameters)
    except httpx.TimeoutException:
        raise HarvestError(f"ObsPortal at {base} did not answer in time") from None
    except httpx.HTTPError as error:
        raise HarvestError(f"ObsPortal at {base} cannot be reached: {_reason(error)}") from None
    if answer.status_code != 200:
        detail = _query_status(answer.content)[1] or answer.reason_phrase
        raise HarvestError(f"ObsPortal at {base} answered HTTP {answer.status_code}: {detail}")
    return _exposures(answer.content, base)


def _exposures(document: bytes, base: str) -> tuple[list[dict[str, Any]], bool]:
    """The rows of a ``search.votable`` answer as dictionaries (None for empty cells), and
    whether the answer is complete."""
    try:
        votable = parse_votable(BytesIO(document), verify="ignore")
        table = votable.get_first_table()
    except Exception:  # astropy raises many kinds of errors on a document it cannot read
        raise HarvestError(f"ObsPortal at {base} did not answer a readable VOTable") from None
    status, message = _query_status(document, votable)
    if status == "ERROR":
        raise HarvestError(f"ObsPortal at {base} failed while answering: {message}")
    columns = table.to_table()
    missing = [name for name in REQUIRED_FIELDS if name not in columns.colnames]
    if missing:
        raise HarvestError(f"ObsPortal's answer lacks the fields {', '.join(missing)}")
    values = {name: [_cell(value) for value in columns[name].tolist()] for name in columns.colnames}
    rows = [dict(zip(values, cells, strict=True)) for cells in zip(*values.values(), strict=True)]
    return rows, status != "OVERFLOW"


def _query_status(document: bytes, votable: Any = None) -> tuple[str | None, str | None]:
    """The last ``QUERY_STATUS`` INFO (value, text) of a VOTable, if it is one."""
    if votable is None:
        try:
            votable = parse_votable(BytesIO(document), verify="ignore")
        except Exception:  # an error answer that is not a VOTable: the HTTP status says enough
            return None, None
    infos = [info for resource in votable.resources for info in resource.infos]
    statuses = [info for info in infos if info.name == "QUERY_STATUS"]
    if not statuses:
        return None, None
    return statuses[-1].value, (statuses[-1].content or "").strip() or None


def _cell(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def level0_granule(exposure: dict[str, Any], settings: Settings) -> dict[str, Any] | str:
    """The granule of one exposure (the original's mapping), or why it cannot be one."""
    if not exposure.get("exp_id"):
        return "no-exposure-id"
    if exposure.get("target_ra") is None or exposure.get("target_dec") is None:
        return "no-position"
    if not exposure.get("instrument_mode"):
        return "no-instrument-mode"
    mode = exposure["instrument_mode"]
    if exposure.get("instrument_submode"):
        mode = f"{mode}_{exposure['instrument_submode']}"
    t_min, t_max = exposure.get("exp_mjd_start"), exposure.get("exp_mjd_end")
    released = (
        _parse_time(exposure["exp_date_release"]) if exposure.get("exp_date_release") else None
    )
    category = exposure.get("obs_type")
    return {
        "calib_level": 0,
        "obs_collection": COLLECTION_ID,
        "obs_id": exposure["exp_id"],
        "target_name": exposure.get("target_name") or "-",
        "obs_creator_name": CREATOR_NAME,
        "obs_release_date": released,
        "data_rights": data_rights_for(released),
        "s_ra": exposure["target_ra"],
        "s_dec": exposure["target_dec"],
        "t_min": t_min,
        "t_max": t_max,
        "t_exptime": (t_max - t_min) * 86400 if t_min is not None and t_max is not None else None,
        "em_min": exposure.get("instrument_em_min"),
        "em_max": exposure.get("instrument_em_max"),
        "em_res_power": exposure.get("instrument_em_res_power"),
        "facility_name": exposure.get("interferometer_name"),
        "instrument_name": exposure.get("instrument_name"),
        "instrument_mode": mode,
        "interferometer_stations": exposure.get("interferometer_stations"),
        "progid": exposure.get("obs_program"),
        "dataproduct_category": _category(category),
        "datapi": exposure.get("obs_program_pi_coi"),
        **_access(exposure, settings),
    }


def _category(obs_type: str | None) -> str | None:
    """ObsPortal's ``science``/``calibrator`` in the vocabulary of the files' granules (DPR
    CATG: ``SCIENCE``, ``CALIB``), so one category filter serves every level."""
    if obs_type is None:
        return None
    return CALIBRATOR if obs_type.lower() == "calibrator" else obs_type.upper()


def _access(exposure: dict[str, Any], settings: Settings) -> dict[str, str]:
    """VLTI raw data are in the ESO archive; anything else is described by ObsPortal."""
    header_id = exposure.get("exp_header_id")
    if exposure.get("interferometer_name") == "VLTI" and header_id:
        return {"access_url": ESO_ARCHIVE_QUERY + quote(header_id), "access_format": "text/html"}
    page = f"{settings.obsportal_url.rstrip('/')}/detail/exposure/{quote(exposure['exp_id'])}"
    return {"access_url": page, "access_format": "text/html"}


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _iso(moment: datetime) -> str:
    """Whole seconds with an explicit offset: what every ObsPortal version accepts."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _reason(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.ConnectError):
        return "connection refused or host unknown"
    return type(error).__name__


def import_check(database: Database, max_age_hours: float) -> HealthCheck:
    """``/health``'s ``ingestion`` check: the last import's outcome and age. A failed or stale
    import degrades the service (the catalogue is still served); before the first run, ok."""
    max_age = timedelta(hours=max_age_hours)

    def check() -> CheckResult:
        try:
            with database.session() as session:
                harvest = harvest_storage.last_finished(session)
        except DATABASE_UNAVAILABLE:  # the database check reports it, and logs why
            return CheckResult(False, {"error": "database unreachable"}, critical=False)
        except ProgrammingError as error:
            if not isinstance(error.orig, UndefinedTable):
                raise
            harvest = None  # a schema not migrated yet has seen no run
        if harvest is None or harvest.finished is None:
            return CheckResult(True, {"last_run_status": None, "message": "no run yet"})
        age = datetime.now(UTC) - harvest.finished
        details = {
            "last_run_id": harvest.id,
            "last_run_status": harvest.status,
            "last_run_finished_at": harvest.finished.isoformat(),
            "age_seconds": round(age.total_seconds()),
            "max_age_seconds": round(max_age.total_seconds()),
            "read": harvest.read_count,
            "inserted": harvest.inserted_count,
            "updated": harvest.updated_count,
            "rejected": harvest.rejected_count,
        }
        if harvest.status == "failed":  # why is in the run's record; /health is public
            message = "last ObsPortal import failed"
            return CheckResult(False, {**details, "message": message}, critical=False)
        if age > max_age:
            message = "last ObsPortal import is too old"
            return CheckResult(False, {**details, "message": message}, critical=False)
        return CheckResult(True, details)

    return check

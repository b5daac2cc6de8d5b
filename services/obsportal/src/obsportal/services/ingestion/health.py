"""Ingestion freshness for ``/health``: monitoring alerts on a failing or stale ingestion.

A fresh install has no run yet; that is reported as ok ("no run yet") so the platform can
start before its first harvest. A failed or stale ingestion is not critical: the portal still
serves what it has, so ``/health`` says ``degraded`` (HTTP 200) and HAProxy keeps routing.
"""

from datetime import UTC, datetime, timedelta

from jmmc_core.database import Database
from jmmc_core.errors import DATABASE_UNAVAILABLE
from jmmc_core.health import CheckResult, HealthCheck

from ...storage.ingestion import last_finished_run


def ingestion_check(database: Database, max_age: timedelta) -> HealthCheck:
    def check() -> CheckResult:
        try:
            with database.session() as session:
                run = last_finished_run(session)
        except DATABASE_UNAVAILABLE:  # the database check reports it, and logs why
            return CheckResult(False, {"error": "database unreachable"})
        if run is None:
            return CheckResult(True, {"last_run_status": None, "message": "no run yet"})
        assert run.finished_at is not None  # finished runs always have an end time
        age = datetime.now(UTC) - run.finished_at
        details = {
            "last_run_id": run.id,
            "last_run_status": run.status,
            "last_run_source": run.source,
            "last_run_finished_at": run.finished_at.isoformat(),
            "age_seconds": round(age.total_seconds()),
            "max_age_seconds": round(max_age.total_seconds()),
            "read": run.read_count,
            "accepted": run.accepted_count,
            "excluded": run.excluded_count,
            "rejected": run.rejected_count,
        }
        if run.status == "failed":
            # Why it failed is on the ingestion page; /health is public.
            return CheckResult(
                False, {**details, "message": "last ingestion run failed"}, critical=False
            )
        if age > max_age:
            return CheckResult(
                False, {**details, "message": "last ingestion is too old"}, critical=False
            )
        return CheckResult(True, details)

    return check

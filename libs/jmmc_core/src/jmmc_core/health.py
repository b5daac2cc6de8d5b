"""``GET /health``: one JSON document for HAProxy, Zabbix and humans.

A failing *critical* check (the database) makes the answer 503, so HAProxy takes the server
out. A failing non-critical check (a stale ingestion) only turns the status to ``degraded``:
the service still answers its users, and monitoring alerts on the status.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from .database import Database

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    details: Mapping[str, Any] = field(default_factory=dict)
    critical: bool = True

    def as_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "fail", **self.details}


HealthCheck = Callable[[], CheckResult]


def database_check(database: Database) -> HealthCheck:
    """Reachable or not, with the latency; the driver's message goes to the log only, since
    ``/health`` is public and that message names hosts, ports and roles."""

    def check() -> CheckResult:
        status = database.status()
        details: dict[str, Any] = {"latency_ms": status.latency_ms}
        if status.error:
            logger.warning("database check failed: %s", status.error)
            details["error"] = "database unreachable"
        return CheckResult(status.reachable, details)

    return check


def health_report(service: str, version: str, checks: Mapping[str, HealthCheck]) -> dict[str, Any]:
    results = {name: check() for name, check in checks.items()}
    failed = [result for result in results.values() if not result.ok]
    status = "ok"
    if failed:
        status = "fail" if any(result.critical for result in failed) else "degraded"
    return {
        "status": status,
        "service": service,
        "version": version,
        "checks": {name: result.as_json() for name, result in results.items()},
    }


def health_router(
    service: str, version: str, checks: Mapping[str, HealthCheck], prefixes: list[str]
) -> APIRouter:
    router = APIRouter(tags=["health"])

    # A plain def: checks block on the database, so FastAPI runs them in its threadpool.
    def health() -> JSONResponse:
        report = health_report(service, version, checks)
        return JSONResponse(report, status_code=503 if report["status"] == "fail" else 200)

    for prefix in prefixes:
        router.add_api_route(
            f"{prefix}/health",
            health,
            methods=["GET"],
            summary="Service health",
            responses={503: {"description": "A critical check (the database) failed"}},
            # The root path is for HAProxy's and Kubernetes' probes, not published by HAProxy.
            include_in_schema=bool(prefix),
        )
    return router

"""The JSON API: exposures, observations, targets, programmes and ingestion runs, paged and sorted.

Errors are the platform's JSON errors (``{"detail": ..., "parameter": ...}``), answered by the
app-wide handlers: 400 for a bad parameter, 404 for an unknown record, 503 without a database.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from jmmc_core.dependencies import EngineDep, SettingsDep
from jmmc_core.errors import JsonRoute
from jmmc_core.paging import PagingDep

from .. import __version__
from ..models import api as models
from ..models.parameters import CriteriaParameters
from ..services import browse
from ..services.search import parse_criteria
from ..services.targets import resolved

router = APIRouter(prefix="/api", tags=["API"], route_class=JsonRoute)

#: Integer keys are PostgreSQL integers: a larger number can only be unknown.
IntegerKey = Annotated[int, Path(ge=1, le=2**31 - 1)]
Text = Annotated[str | None, Query(max_length=200)]


def service_description(request: Request) -> dict[str, str]:
    """Where the service's documents are: what a script finds at the home page and ``/api/``."""
    settings = request.app.state.settings
    prefix = settings.public_prefix
    return {
        "service": settings.service_name,
        "version": __version__,
        "health": f"{prefix}/health",
        "docs": f"{prefix}/docs",
        "openapi": f"{prefix}/openapi.json",
        "search": f"{prefix}/search.votable",
        "cone_search": f"{prefix}/scs",
        "exposures": f"{prefix}/api/exposures",
    }


@router.get("/", summary="Where the service's documents and endpoints are")
def describe_service(request: Request) -> dict[str, str]:
    return service_description(request)


@router.get("/exposures", response_model=models.Page[models.ExposureSummary])
def list_exposures(
    settings: SettingsDep,
    engine: EngineDep,
    paging: PagingDep,
    criteria: Annotated[CriteriaParameters, Query()],
) -> dict[str, Any]:
    """Exposures meeting the same criteria as ``search.votable`` (``resolve``: a star name)."""
    parsed = resolved(settings, engine, parse_criteria(criteria.model_dump(exclude_none=True)))
    return browse.exposures(engine, parsed, paging).as_json(paging)


@router.get("/exposures/{exp_id}", response_model=models.Exposure)
def get_exposure(engine: EngineDep, exp_id: Annotated[str, Path(max_length=200)]) -> dict[str, Any]:
    return browse.exposure(engine, exp_id)


@router.get("/observations", response_model=models.Page[models.Observation])
def list_observations(
    engine: EngineDep,
    paging: PagingDep,
    target_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    program_id: Text = None,
    instrument_name: Text = None,
    obs_type: Annotated[str | None, Query(description="science or calibrator")] = None,
) -> dict[str, Any]:
    filters = {
        "target_id": target_id,
        "program_id": program_id,
        "instrument_name": instrument_name,
        "obs_type": obs_type,
    }
    return browse.observations(engine, filters, paging).as_json(paging)


@router.get("/observations/{obs_id}", response_model=models.Observation)
def get_observation(engine: EngineDep, obs_id: IntegerKey) -> dict[str, Any]:
    return browse.observation(engine, obs_id)


@router.get("/targets", response_model=models.Page[models.Target])
def list_targets(
    engine: EngineDep,
    paging: PagingDep,
    name: Annotated[str | None, Query(max_length=200, description="part of the name")] = None,
) -> dict[str, Any]:
    return browse.targets(engine, name, paging).as_json(paging)


@router.get("/targets/{target_id}", response_model=models.Target)
def get_target(engine: EngineDep, target_id: IntegerKey) -> dict[str, Any]:
    return browse.target(engine, target_id)


@router.get("/programs", response_model=models.Page[models.Program])
def list_programs(engine: EngineDep, paging: PagingDep) -> dict[str, Any]:
    return browse.programs(engine, paging).as_json(paging)


@router.get("/programs/{program_id}", response_model=models.Program)
def get_program(
    engine: EngineDep, program_id: Annotated[str, Path(max_length=200)]
) -> dict[str, Any]:
    return browse.program(engine, program_id)


@router.get("/ingestion-runs", response_model=models.Page[models.IngestionRun])
def list_ingestion_runs(engine: EngineDep, paging: PagingDep) -> dict[str, Any]:
    return browse.ingestion_runs(engine, paging).as_json(paging)


@router.get("/ingestion-runs/{run_id}", response_model=models.IngestionRun)
def get_ingestion_run(engine: EngineDep, run_id: IntegerKey) -> dict[str, Any]:
    return browse.ingestion_run(engine, run_id)


@router.get("/ingestion-runs/{run_id}/rejects", response_model=models.Page[models.Reject])
def list_rejects(engine: EngineDep, run_id: IntegerKey, paging: PagingDep) -> dict[str, Any]:
    browse.ingestion_run(engine, run_id)
    return browse.rejects(engine, run_id, paging).as_json(paging)

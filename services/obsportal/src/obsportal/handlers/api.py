"""The JSON API: exposures, observations, targets, programmes and ingestion runs, paged and sorted.

Every error is JSON, ``{"error": {"parameter": ..., "message": ...}}``: 400 for a bad
parameter (FastAPI's own validation errors included), 404 for an unknown record.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from ..models import api as models
from ..services import browse
from ..services.browse import NotFound, Paging
from ..services.search import InvalidParameter, parse_criteria


def json_error(status: int, message: str, parameter: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"parameter": parameter, "message": message}}, status)


class JsonErrorRoute(APIRoute):
    """Turns domain errors and request validation errors into the API's JSON errors."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                first = error.errors()[0]
                location = first.get("loc", ())
                parameter = str(location[-1]) if location else None
                return json_error(400, f"{parameter}: {first.get('msg')}", parameter)
            except InvalidParameter as error:
                return json_error(400, str(error), error.parameter)
            except NotFound as error:
                return json_error(404, str(error))

        return route_handler


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "A parameter is invalid"},
    404: {"model": models.Error, "description": "No such record"},
}
router = APIRouter(prefix="/api", tags=["API"], route_class=JsonErrorRoute, responses=_ERRORS)

PageNumber = Annotated[int, Query(ge=1, description="Page number, from 1")]
PageSize = Annotated[int, Query(ge=1, le=browse.MAX_PAGE_SIZE, description="Records per page")]
Sort = Annotated[
    str | None, Query(description="Sort keys, comma-separated; a leading '-' sorts descending")
]
Text = Annotated[str | None, Query()]


def _engine(request: Request):
    return request.app.state.database.engine


def _page(page: browse.Page, paging: Paging) -> dict[str, Any]:
    return {
        "total": page.total,
        "page": paging.page,
        "page_size": paging.page_size,
        "items": page.rows,
    }


@router.get("/exposures", response_model=models.Page[models.ExposureSummary])
def list_exposures(
    request: Request,
    page: PageNumber = 1,
    page_size: PageSize = 50,
    sort: Sort = None,
    ra: Annotated[str | None, Query(description="degrees")] = None,
    dec: Annotated[str | None, Query(description="degrees")] = None,
    radius: Annotated[str | None, Query(description="arcsec (default 30)")] = None,
    instrument: Text = None,
    instrument_mode: Text = None,
    interferometer: Text = None,
    target: Annotated[str | None, Query(description="part of the target name")] = None,
    target_id: Text = None,
    program: Text = None,
    obs_type: Annotated[str | None, Query(description="science or calibrator")] = None,
    mjd_from: Text = None,
    mjd_to: Text = None,
    date_updated_from: Annotated[str | None, Query(description="ISO 8601")] = None,
    date_updated_to: Annotated[str | None, Query(description="ISO 8601")] = None,
) -> dict[str, Any]:
    """Exposures meeting the same criteria as ``search.votable``."""
    given = {
        "ra": ra,
        "dec": dec,
        "radius": radius,
        "instrument": instrument,
        "instrument_mode": instrument_mode,
        "interferometer": interferometer,
        "target": target,
        "target_id": target_id,
        "program": program,
        "obs_type": obs_type,
        "mjd_from": mjd_from,
        "mjd_to": mjd_to,
        "date_updated_from": date_updated_from,
        "date_updated_to": date_updated_to,
    }
    criteria = parse_criteria({name: value for name, value in given.items() if value is not None})
    paging = Paging(page, page_size, sort)
    return _page(browse.exposures(_engine(request), criteria, paging), paging)


@router.get("/exposures/{exp_id}", response_model=models.Exposure)
def get_exposure(request: Request, exp_id: str) -> dict[str, Any]:
    return browse.exposure(_engine(request), exp_id)


@router.get("/observations", response_model=models.Page[models.Observation])
def list_observations(
    request: Request,
    page: PageNumber = 1,
    page_size: PageSize = 50,
    sort: Sort = None,
    target_id: int | None = None,
    program_id: str | None = None,
    instrument_name: str | None = None,
    obs_type: str | None = None,
) -> dict[str, Any]:
    filters = {
        "target_id": target_id,
        "program_id": program_id,
        "instrument_name": instrument_name,
        "obs_type": obs_type,
    }
    paging = Paging(page, page_size, sort)
    return _page(browse.observations(_engine(request), filters, paging), paging)


@router.get("/observations/{obs_id}", response_model=models.Observation)
def get_observation(request: Request, obs_id: int) -> dict[str, Any]:
    return browse.observation(_engine(request), obs_id)


@router.get("/targets", response_model=models.Page[models.Target])
def list_targets(
    request: Request,
    page: PageNumber = 1,
    page_size: PageSize = 50,
    sort: Sort = None,
    name: Annotated[str | None, Query(description="part of the name")] = None,
) -> dict[str, Any]:
    paging = Paging(page, page_size, sort)
    return _page(browse.targets(_engine(request), name, paging), paging)


@router.get("/targets/{target_id}", response_model=models.Target)
def get_target(request: Request, target_id: int) -> dict[str, Any]:
    return browse.target(_engine(request), target_id)


@router.get("/programs", response_model=models.Page[models.Program])
def list_programs(
    request: Request, page: PageNumber = 1, page_size: PageSize = 50, sort: Sort = None
) -> dict[str, Any]:
    paging = Paging(page, page_size, sort)
    return _page(browse.programs(_engine(request), paging), paging)


@router.get("/programs/{program_id}", response_model=models.Program)
def get_program(request: Request, program_id: str) -> dict[str, Any]:
    return browse.program(_engine(request), program_id)


@router.get("/ingestion-runs", response_model=models.Page[models.IngestionRun])
def list_ingestion_runs(
    request: Request, page: PageNumber = 1, page_size: PageSize = 50, sort: Sort = None
) -> dict[str, Any]:
    paging = Paging(page, page_size, sort or "-id")
    return _page(browse.ingestion_runs(_engine(request), paging), paging)


@router.get("/ingestion-runs/{run_id}", response_model=models.IngestionRun)
def get_ingestion_run(request: Request, run_id: int) -> dict[str, Any]:
    return browse.ingestion_run(_engine(request), run_id)


@router.get("/ingestion-runs/{run_id}/rejects", response_model=models.Page[models.Reject])
def list_rejects(
    request: Request,
    run_id: int,
    page: PageNumber = 1,
    page_size: PageSize = 50,
    sort: Sort = None,
) -> dict[str, Any]:
    browse.ingestion_run(_engine(request), run_id)
    paging = Paging(page, page_size, sort)
    return _page(browse.rejects(_engine(request), run_id, paging), paging)

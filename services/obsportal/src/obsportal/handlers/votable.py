"""VOTable and CSV endpoints: ``search.votable`` (ASPRO2, OiDB), the exports and the cone search.

Each reads its parameters from the query string and, for POST, the form, checks them all
before touching the database, and streams the answer. Bad input is an HTTP 400 whose VOTable
names the parameter.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from jmmc_core.votable import VOTABLE_MEDIA_TYPE, error_document

from ..services.search import (
    CRITERIA_PARAMETERS,
    InvalidParameter,
    check_known,
    parse_bool,
    parse_choice,
    parse_criteria,
)
from ..services.search_scs import error_document as scs_error_document
from ..services.search_scs import parse_cone_search
from ..services.search_votable import (
    SERIALIZATIONS,
    columns_for,
    csv_document,
    votable_document,
)
from .streaming import document_response

router = APIRouter(tags=["VOTable"])

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
_SEARCH_PARAMETERS = (*CRITERIA_PARAMETERS, "all_fields")
_EXPORT_PARAMETERS = (*_SEARCH_PARAMETERS, "serialization")


async def request_parameters(request: Request) -> dict[str, str]:
    """Query parameters, overridden by form fields for POST (ASPRO2 posts a form)."""
    parameters = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        parameters.update((name, value) for name, value in form.items() if isinstance(value, str))
    return parameters


def _votable_error(error: InvalidParameter) -> Response:
    return Response(error_document(str(error)), status_code=400, media_type=VOTABLE_MEDIA_TYPE)


def _votable_unavailable(message: str) -> Response:
    return Response(error_document(message), status_code=503, media_type=VOTABLE_MEDIA_TYPE)


def _scs_unavailable(message: str) -> Response:
    return Response(scs_error_document(message), status_code=503, media_type=VOTABLE_MEDIA_TYPE)


def _text_unavailable(message: str) -> Response:
    return Response(f"error: {message}\n", status_code=503, media_type="text/plain")


def _engine(request: Request):
    return request.app.state.database.engine


_SEARCH_SUMMARY = "Exposures around a position or matching filters, as a TABLEDATA VOTable"


@router.get(
    "/search.votable",
    summary=_SEARCH_SUMMARY,
    operation_id="search_votable_get",
    response_class=StreamingResponse,
)
@router.post(
    "/search.votable",
    summary=_SEARCH_SUMMARY,
    operation_id="search_votable_post",
    response_class=StreamingResponse,
)
async def search_votable(request: Request) -> Response:
    """ASPRO2 posts ``ra``, ``dec`` (degrees), ``radius`` (arcsec, default 30) and
    ``all_fields``; OiDB harvests with ``interferometer``, ``instrument`` and
    ``date_updated_from``/``date_updated_to`` (ISO 8601)."""
    parameters = await request_parameters(request)
    try:
        check_known(parameters, _SEARCH_PARAMETERS)
        criteria = parse_criteria(parameters)
        all_fields = parse_bool("all_fields", parameters.get("all_fields", "false"))
    except InvalidParameter as error:
        return _votable_error(error)
    document = votable_document(_engine(request), criteria, columns_for(all_fields))
    return await document_response(document, _votable_unavailable, media_type=VOTABLE_MEDIA_TYPE)


@router.get(
    "/export.votable",
    summary="The whole catalogue or a filtered part, streamed (TABLEDATA or BINARY2)",
    response_class=StreamingResponse,
)
async def export_votable(request: Request) -> Response:
    parameters = dict(request.query_params)
    try:
        check_known(parameters, _EXPORT_PARAMETERS)
        criteria = parse_criteria(parameters)
        columns = columns_for(parse_bool("all_fields", parameters.get("all_fields", "true")))
        serialization = parse_choice(
            "serialization", parameters.get("serialization", "tabledata"), SERIALIZATIONS
        )
    except InvalidParameter as error:
        return _votable_error(error)
    document = votable_document(_engine(request), criteria, columns, serialization)
    return await document_response(
        document,
        _votable_unavailable,
        media_type=VOTABLE_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="obsportal-exposures.vot"'},
    )


@router.get(
    "/export.csv",
    summary="The whole catalogue or a filtered part as CSV, streamed",
    response_class=StreamingResponse,
)
async def export_csv(request: Request) -> Response:
    parameters = dict(request.query_params)
    try:
        check_known(parameters, _SEARCH_PARAMETERS)
        criteria = parse_criteria(parameters)
        columns = columns_for(parse_bool("all_fields", parameters.get("all_fields", "true")))
    except InvalidParameter as error:
        return Response(
            f"error: {error}\n", status_code=400, media_type="text/plain; charset=utf-8"
        )
    return await document_response(
        csv_document(_engine(request), criteria, columns),
        _text_unavailable,
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="obsportal-exposures.csv"'},
    )


@router.get(
    "/scs",
    summary="Simple Cone Search 1.03 (RA, DEC, SR in degrees; VERB 1, 2 or 3)",
    response_class=StreamingResponse,
)
async def cone_search(request: Request) -> Response:
    try:
        search = parse_cone_search(request.query_params)
    except InvalidParameter as error:
        return Response(
            scs_error_document(str(error)), status_code=400, media_type=VOTABLE_MEDIA_TYPE
        )
    document = votable_document(
        _engine(request),
        search.criteria,
        search.columns,
        metadata_only=search.metadata_only,
        with_portal_params=False,
    )
    return await document_response(document, _scs_unavailable, media_type=VOTABLE_MEDIA_TYPE)

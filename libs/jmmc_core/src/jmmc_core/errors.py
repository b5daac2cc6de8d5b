"""One error model for every service: domain errors raised anywhere, answered in one place.

Domain code raises a :class:`ServiceError`; handlers never catch it. The app-wide handlers
installed by :func:`install_error_handlers` answer in the format of the route that failed,
which the route's class declares (``APIRouter(route_class=VOTableRoute)``):

- ``JsonRoute``: ``{"detail": "...", "parameter": "..."}`` (the JSON API);
- ``VOTableRoute`` and ``DaliRoute``: a VOTable with ``QUERY_STATUS=ERROR`` (DALI);
- ``ScsRoute``: the same plus the ``INFO name="Error"`` Simple Cone Search clients look for;
- ``HtmlRoute``: a page in the platform's layout; a missing sign-in redirects to the sign-in page.

Request validation errors become a 400 naming the parameter; a database that cannot be
reached becomes a 503 with a generic message; anything unexpected is logged with its request
id and answered with a generic 500. No driver text, host, port or stack trace reaches a client.
"""

import logging
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy import exc as sqlalchemy_errors
from starlette.exceptions import HTTPException

from .votable import VOTABLE_MEDIA_TYPE, error_document, scs_error_document
from .web import error_page

logger = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "service temporarily unavailable, please retry later"
INTERNAL_MESSAGE = "internal error; it has been logged"


class ServiceError(Exception):
    """An error a client should see: its HTTP status and a message safe to show, ``str(error)``."""

    status = 500
    parameter: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def headers(self) -> dict[str, str]:
        return {}


class InvalidParameter(ServiceError, ValueError):
    """A request parameter that cannot be used; ``parameter`` is its name as declared."""

    status = 400

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.args = (f"{parameter}: {message}",)
        self.parameter = parameter


class Unauthorized(ServiceError):
    """No valid credentials: sign in (pages) or send a token (API, VO clients)."""

    status = 401

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="jmmc", Basic realm="jmmc"'}


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError, LookupError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooManyRequests(ServiceError):
    status = 429

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(ServiceError):
    status = 503

    def __init__(self, message: str = UNAVAILABLE_MESSAGE) -> None:
        super().__init__(message)


#: Errors of the database driver meaning "cannot reach the database now", not a bug.
DATABASE_UNAVAILABLE = (
    sqlalchemy_errors.OperationalError,
    sqlalchemy_errors.InterfaceError,
    sqlalchemy_errors.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


class ErrorFormat(StrEnum):
    json = "json"
    votable = "votable"
    scs = "scs"
    html = "html"


class ErrorBody(BaseModel):
    """The body of every error of the JSON API."""

    detail: str = Field(description="What went wrong, starting with the parameter at fault")
    parameter: str | None = Field(None, description="The request parameter at fault")


#: The errors any route may answer; documented in OpenAPI for every route of a format.
_COMMON_STATUSES = {
    400: "A parameter is invalid",
    404: "No such record or page",
    503: "The database cannot be reached now",
}

#: Errors only some routes answer; a router lists them with ``responses=RouteClass.errors(...)``.
_OPTIONAL_STATUSES = {
    401: "The credentials sent (API token or session) are not valid",
    403: "The caller may not do this",
    409: "The resource's state does not allow this now",
    413: "The request body is larger than this service accepts",
    429: "Too many requests or jobs from this client now",
}


class FormattedRoute(APIRoute):
    """A route whose errors are answered, and documented, in ``error_format``."""

    error_format = ErrorFormat.json
    error_media_type = "application/json"

    def __init__(self, path: str, endpoint: Callable, **kwargs: Any) -> None:
        documented = {
            status: self._error_response(description)
            for status, description in _COMMON_STATUSES.items()
        }
        kwargs["responses"] = {**documented, **(kwargs.get("responses") or {})}
        super().__init__(path, endpoint, **kwargs)

    @classmethod
    def errors(cls, *statuses: int) -> dict[int | str, dict[str, Any]]:
        """OpenAPI ``responses`` for the optional errors ``statuses``, in this route's format."""
        return {status: cls._error_response(_OPTIONAL_STATUSES[status]) for status in statuses}

    @classmethod
    def _error_response(cls, description: str) -> dict[str, Any]:
        if cls.error_media_type == "application/json":
            return {"model": ErrorBody, "description": description}
        return {"description": description, "content": {cls.error_media_type: {}}}


class JsonRoute(FormattedRoute):
    error_format = ErrorFormat.json


class HtmlRoute(FormattedRoute):
    error_format = ErrorFormat.html
    error_media_type = "text/html"


class VOTableRoute(FormattedRoute):
    """A VO route: parameter names are case-insensitive (DALI), errors are VOTables."""

    error_format = ErrorFormat.votable
    error_media_type = VOTABLE_MEDIA_TYPE

    def get_route_handler(self) -> Callable:
        from .params import case_insensitive_parameters  # params raises these errors

        return case_insensitive_parameters(self, super().get_route_handler())


class DaliRoute(VOTableRoute):
    pass


class ScsRoute(VOTableRoute):
    error_format = ErrorFormat.scs


def _route_format(request: Request) -> ErrorFormat:
    route = request.scope.get("route")
    if isinstance(route, FormattedRoute):
        return route.error_format
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "json" not in accept:
        return ErrorFormat.html
    return ErrorFormat.json


def error_response(
    request: Request,
    status: int,
    message: str,
    parameter: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """``message`` in the format of the route that ``request`` reached."""
    error_format = _route_format(request)
    if error_format is ErrorFormat.html:
        if status == 401:
            return _signin_redirect(request)
        response = error_page(request, status, message)
    elif error_format is ErrorFormat.json:
        body: dict[str, Any] = {"detail": message}
        if parameter is not None:
            body["parameter"] = parameter
        response = JSONResponse(body, status_code=status)
    else:
        document = (
            scs_error_document(message)
            if error_format is ErrorFormat.scs
            else error_document(message)
        )
        response = Response(document, status_code=status, media_type=VOTABLE_MEDIA_TYPE)
    response.headers.update(headers or {})
    return response


def _signin_redirect(request: Request) -> Response:
    prefix = request.app.state.settings.public_prefix
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{prefix}/account/signin?next={quote(target, safe='')}", 303)


def _validation_parameter(location: Sequence[Any]) -> str | None:
    """The parameter a validation error is about: the last name in its location."""
    names = [str(item) for item in location if isinstance(item, str)]
    if len(names) > 1 and names[0] in ("query", "path", "header", "cookie", "body"):
        names = names[1:]
    return names[-1] if names else None


async def _service_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ServiceError)
    return error_response(request, error.status, str(error), error.parameter, error.headers)


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0]
    parameter = _validation_parameter(first.get("loc", ()))
    message = str(first.get("msg", "invalid value"))
    if first.get("type") == "extra_forbidden":
        message = "unknown parameter"
    text = f"{parameter}: {message}" if parameter else message
    return error_response(request, 400, text, parameter)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    message = error.detail if isinstance(error.detail, str) else "request refused"
    return error_response(request, error.status_code, message, headers=error.headers)


async def _database_unavailable(request: Request, error: Exception) -> Response:
    logger.error("database unavailable: %s", str(error).strip().splitlines()[0])
    return error_response(request, 503, UNAVAILABLE_MESSAGE, headers={"Retry-After": "30"})


async def _unexpected_error(request: Request, error: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(request, 500, INTERNAL_MESSAGE)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    for error_class in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error_class, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)


__all__ = [
    "Conflict",
    "DaliRoute",
    "ErrorBody",
    "ErrorFormat",
    "Forbidden",
    "HtmlRoute",
    "InvalidParameter",
    "JsonRoute",
    "NotFound",
    "ScsRoute",
    "ServiceError",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "VOTableRoute",
    "error_response",
    "install_error_handlers",
]

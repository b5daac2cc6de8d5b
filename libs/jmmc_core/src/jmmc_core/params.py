"""Request parameters: IVOA case-insensitive names, and what no parameter may carry.

IVOA protocols (DALI 1.1 §3) make parameter *names* case-insensitive: pyvo sends ``MAXREC``,
TOPCAT ``maxrec``, ASPRO2 ``ra``. A VO route declares each parameter once, in the case of its
standard (so OpenAPI shows it), and :func:`case_insensitive_parameters` renames whatever case
the client sent to the declared name before FastAPI reads the query string or the form.
Values keep their case.
"""

from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.datastructures import FormData
from starlette.responses import Response

from .errors import InvalidParameter

FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _declared_names(route: APIRoute) -> dict[str, str]:
    """Lower-case name -> declared name of every query and form parameter of ``route``."""
    names: dict[str, str] = {}
    fields = [*route.dependant.query_params, *route.dependant.body_params]
    for dependant in route.dependant.dependencies:
        fields += [*dependant.query_params, *dependant.body_params]
    for field in fields:
        annotation = field.field_info.annotation
        model_fields = getattr(annotation, "model_fields", None)
        if model_fields:  # a parameter model (Annotated[Model, Query()])
            for name, info in model_fields.items():
                declared = info.alias or name
                names[declared.lower()] = declared
        else:
            names[field.alias.lower()] = field.alias
    return names


def _renamed(pairs: Iterable[tuple[str, str]], names: dict[str, str]) -> list[tuple[str, str]]:
    return [(names.get(name.lower(), name), value) for name, value in pairs]


def case_insensitive_parameters(route: APIRoute, handler: Callable) -> Callable:
    """Wrap ``route``'s handler so parameter names match the declared ones whatever their case."""
    names = _declared_names(route)

    async def renaming_handler(request: Request) -> Response:
        query = parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)
        request.scope["query_string"] = urlencode(_renamed(query, names)).encode("latin-1")
        if request.headers.get("content-type", "").startswith(FORM_MEDIA_TYPES):
            form = await request.form()
            # Starlette caches the parsed form on the request: FastAPI reads this one.
            request._form = FormData(_renamed(form.multi_items(), names))
        return await handler(request)

    return renaming_handler


def _nul_holder(value: Any, name: str) -> str | None:
    """The name of the first value under ``value`` holding a NUL character, if any."""
    if isinstance(value, str):
        return name if "\x00" in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((name, item) for item in value)
    else:
        return None
    for key, item in items:
        if "\x00" in str(key):
            return str(key)
        if found := _nul_holder(item, str(key)):
            return found
    return None


async def reject_nul_characters(request: Request) -> None:
    """No parameter may hold a NUL character: PostgreSQL text cannot store one.

    An app-wide dependency, so the error is answered in the format of the route. Form and
    JSON bodies were already read by FastAPI: Starlette keeps them on the request.
    """
    sources: list[Any] = [request.query_params.multi_items(), request.path_params.items()]
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(FORM_MEDIA_TYPES):
        sources.append((name, value) for name, value in (await request.form()).multi_items())
    elif content_type.startswith("application/json"):
        with suppress(ValueError):  # not JSON: the route's own validation says so
            sources.append([("body", await request.json())])
    for source in sources:
        for name, value in source:
            if found := _nul_holder({name: value}, name):
                raise InvalidParameter(found.replace("\x00", ""), "must not contain NUL characters")

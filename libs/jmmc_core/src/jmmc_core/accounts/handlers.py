"""The accounts' pages and JSON API, mounted under every service's prefix.

Pages: ``{prefix}/account/signin`` (GET form, POST), ``{prefix}/account/signout`` (POST),
``{prefix}/account`` (who am I, my groups, roles and tokens). JSON: ``{prefix}/api/account``
and ``{prefix}/api/account/tokens``. Every form carries a ``csrf_token``: the session's secret
once signed in; before that (the sign-in form) a signed value also set as a cookie
(double submit), which a page of another site can neither read nor forge.
"""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Header, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from jmmc_core.database import Database
from jmmc_core.dependencies import DatabaseDep, SettingsDep
from jmmc_core.errors import ErrorBody, Forbidden, HtmlRoute, JsonRoute
from jmmc_core.settings import ServiceSettings
from jmmc_core.web import render

from . import credentials, services
from .dependencies import (
    SESSION_COOKIE,
    Authenticated,
    Authentication,
    AuthenticationDep,
    CurrentUser,
    SignedInBrowser,
    check_csrf,
)
from .models import CreatedToken, Me, NewToken, TokenOut
from .services import MAX_PASSWORD_LENGTH, MAX_TOKEN_NAME_LENGTH

#: Cookie of the sign-in form's double-submit CSRF value (before there is a session).
SIGNIN_CSRF_COOKIE = "jmmc_signin_csrf"
SIGNIN_FORM_LIFETIME = timedelta(hours=1)
#: Largest id PostgreSQL's bigint holds: a larger path value is a 400, not a database error.
MAX_ID = 2**63 - 1

pages = APIRouter(route_class=HtmlRoute, include_in_schema=False)
api = APIRouter(
    route_class=JsonRoute,
    prefix="/api/account",
    tags=["account"],
    responses={
        401: {"model": ErrorBody, "description": "No valid token or session"},
        403: {"model": ErrorBody, "description": "Session cookie without its X-CSRF-Token"},
    },
)

FormText = Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)]


def _secure(request: Request, settings: ServiceSettings) -> bool:
    return settings.cookie_secure or request.url.scheme == "https"


def _signin_serializer(settings: ServiceSettings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt="jmmc-signin")


def _local_target(settings: ServiceSettings, target: str | None) -> str:
    """Where to go after signing in: a path of this host only (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{settings.public_prefix}/account"


def _signin_form(
    request: Request, settings: ServiceSettings, target: str | None, status: int, error: str = ""
) -> Response:
    value = credentials.new_csrf_secret()
    signed = _signin_serializer(settings).dumps(value)
    response = render(
        request,
        "account/signin.html",
        status=status,
        csrf_token=signed,
        next=_local_target(settings, target),
        error=error,
    )
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        signed,
        max_age=int(SIGNIN_FORM_LIFETIME.total_seconds()),
        path=f"{settings.public_prefix}/account",
        secure=_secure(request, settings),
        httponly=True,
        samesite="lax",
    )
    return response


def _check_signin_csrf(request: Request, settings: ServiceSettings, submitted: str) -> None:
    cookie = request.cookies.get(SIGNIN_CSRF_COOKIE, "")
    try:
        _signin_serializer(settings).loads(
            cookie, max_age=int(SIGNIN_FORM_LIFETIME.total_seconds())
        )
    except BadSignature:
        raise Forbidden("the sign-in form has expired; reload the page") from None
    if not credentials.same(cookie, submitted):
        raise Forbidden("the sign-in form did not come from this site; reload the page")


@pages.get("/account/signin")
def signin_page(
    request: Request,
    settings: SettingsDep,
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    return _signin_form(request, settings, next, 200)


@pages.post("/account/signin")
def signin(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: FormText = "",
    csrf_token: FormText = "",
    next: FormText = "",
) -> Response:
    _check_signin_csrf(request, settings, csrf_token)
    client = request.client.host if request.client else "unknown"
    user = services.attempt_sign_in(database, username, password, client)
    if user is None:
        return _signin_form(request, settings, next, 401, "Wrong username or password.")
    lifetime = timedelta(hours=settings.session_lifetime_hours)
    previous = request.cookies.get(SESSION_COOKIE)
    with database.session() as session:
        if previous:  # one browser, one session: the one it had before ends here
            services.close_session(session, previous)
        session_id, _ = services.open_session(session, user, lifetime)
    response = RedirectResponse(_local_target(settings, next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(lifetime.total_seconds()),
        path="/",
        secure=_secure(request, settings),
        httponly=True,
        samesite="lax",
    )
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path=f"{settings.public_prefix}/account")
    return response


@pages.post("/account/signout")
def signout(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    found: AuthenticationDep,
    csrf_token: FormText = "",
) -> Response:
    if found is not None and found.session_id is not None:
        check_csrf(found, csrf_token)
        with database.session() as session:
            services.close_session(session, found.session_id)
    response = RedirectResponse(f"{settings.public_prefix}/account/signin", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=_secure(request, settings), httponly=True
    )
    return response


def _account_page(
    request: Request, database: Database, found: Authentication, new_token: str | None = None
) -> Response:
    assert found.web_session is not None
    with database.session() as session:
        tokens = services.list_tokens(session, found.user)
    return render(
        request,
        "account/account.html",
        status=201 if new_token else 200,
        account=found.user,
        tokens=tokens,
        new_token=new_token,
        csrf_token=found.web_session.csrf_secret,
    )


@pages.get("/account")
def account_page(request: Request, database: DatabaseDep, found: SignedInBrowser) -> Response:
    return _account_page(request, database, found)


@pages.post("/account/tokens")
def create_token_from_page(
    request: Request,
    database: DatabaseDep,
    found: SignedInBrowser,
    name: Annotated[str, Form(max_length=MAX_TOKEN_NAME_LENGTH)] = "",
    csrf_token: FormText = "",
) -> Response:
    check_csrf(found, csrf_token)
    with database.session() as session:
        token, _ = services.create_token(session, found.user, name)
    return _account_page(request, database, found, new_token=token)


@pages.post("/account/tokens/{token_id}/revoke")
def revoke_token_from_page(
    settings: SettingsDep,
    database: DatabaseDep,
    found: SignedInBrowser,
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    csrf_token: FormText = "",
) -> Response:
    check_csrf(found, csrf_token)
    with database.session() as session:
        services.revoke_token(session, found.user, token_id)
    return RedirectResponse(f"{settings.public_prefix}/account", status_code=303)


@api.get("", summary="The account making the request")
def me(user: CurrentUser) -> Me:
    return Me(
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        roles=sorted(user.roles),
        groups=sorted(user.groups),
    )


CsrfHeader = Annotated[
    str | None,
    Header(
        alias="X-CSRF-Token",
        description="The session's CSRF secret; needed only with the session cookie",
    ),
]


@api.get("/tokens", summary="My API tokens (never the tokens themselves)")
def list_tokens(database: DatabaseDep, user: CurrentUser) -> list[TokenOut]:
    with database.session() as session:
        return [TokenOut.model_validate(token) for token in services.list_tokens(session, user)]


@api.post("/tokens", status_code=201, summary="Create an API token (shown once)")
def create_token(
    database: DatabaseDep, found: Authenticated, body: NewToken, csrf: CsrfHeader = None
) -> CreatedToken:
    check_csrf(found, csrf)
    with database.session() as session:
        token, record = services.create_token(session, found.user, body.name, body.expires_at)
    return CreatedToken(token=token, **TokenOut.model_validate(record).model_dump())


@api.delete("/tokens/{token_id}", status_code=204, summary="Revoke one of my API tokens")
def revoke_token(
    database: DatabaseDep,
    found: Authenticated,
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    csrf: CsrfHeader = None,
) -> Response:
    check_csrf(found, csrf)
    with database.session() as session:
        services.revoke_token(session, found.user, token_id)
    return Response(status_code=204)

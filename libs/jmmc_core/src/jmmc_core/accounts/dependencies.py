"""Who is asking: FastAPI dependencies every service's handlers declare.

Credentials accepted, in this order:

- ``Authorization: Bearer <token>``: scripts and ``curl``;
- ``Authorization: Basic`` with any username and the token as password: what pyvo, TOPCAT
  and other VO clients send;
- the ``jmmc_session`` cookie of a web sign-in (``Path=/``: one sign-in serves every service
  behind the platform's host).

An ``Authorization`` header that names no live token is refused (401), even where anonymous
access is allowed: a script must learn that its token is wrong, not silently see public data.
A cookie naming no live session (forged, expired, revoked) counts as anonymous, so pages that
require a user redirect to the sign-in page. Either way the answer carries no other user's data.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Receive, Scope, Send

from jmmc_core.database import Database
from jmmc_core.dependencies import DatabaseDep
from jmmc_core.errors import DATABASE_UNAVAILABLE, Forbidden, Unauthorized

from . import credentials, services
from .services import User, WebSession

SESSION_COOKIE = "jmmc_session"
#: Request state attribute holding the cookie's ``Authentication`` once looked up.
COOKIE_RESOLVED = "accounts_cookie_authentication"
#: Longer values are no id or token of ours: refused without a database lookup.
MAX_CREDENTIAL_LENGTH = 200


@dataclass(frozen=True)
class Authentication:
    """A request's user, and its web session when it came with the session cookie."""

    user: User
    web_session: WebSession | None = None
    session_id: str | None = None


#: Declared in OpenAPI (Swagger UI's "Authorize") as well as read here.
_bearer = HTTPBearer(auto_error=False, description="An API token")
_basic = HTTPBasic(auto_error=False, description="Any username, an API token as password")


def authentication(
    request: Request,
    database: DatabaseDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    basic: Annotated[HTTPBasicCredentials | None, Security(_basic)],
) -> Authentication | None:
    """The credentials of the request, checked against the accounts tables (None: anonymous)."""
    if request.headers.get("authorization") is not None:
        token = bearer.credentials if bearer else basic.password if basic else ""
        user = None
        if 0 < len(token) <= MAX_CREDENTIAL_LENGTH:
            with database.session() as session:
                user = services.resolve_token(session, token)
        if user is None:
            raise Unauthorized(
                "invalid, expired or revoked token; send 'Authorization: Bearer <token>'"
                " or Basic with the token as password"
            )
        found = Authentication(user)
    elif hasattr(request.state, COOKIE_RESOLVED):
        found = getattr(request.state, COOKIE_RESOLVED)
    else:
        found = _from_cookie(request, database)
    request.state.user = found.user if found else None  # the layout shows who is signed in
    return found


def _from_cookie(request: Request, database: Database) -> Authentication | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > MAX_CREDENTIAL_LENGTH:
        return None
    with database.session() as session:
        web_session = services.resolve_session(session, session_id)
    if web_session is None:
        return None
    return Authentication(web_session.user, web_session, session_id)


class SignedInUserMiddleware:
    """Resolve the session cookie of every page request, so that the layout's header names
    the signed-in user on all pages, not only on those whose handler asks who is signing in.

    Only browser page loads (GET accepting HTML, with the cookie) pay the one indexed lookup;
    API, VO and health requests pass untouched. Unreachable accounts tables leave the page
    anonymous: the page itself then answers as its own route decides.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            request = Request(scope)
            accept = request.headers.get("accept", "")
            if SESSION_COOKIE in request.cookies and "text/html" in accept:
                database: Database = request.app.state.database
                try:
                    found = await run_in_threadpool(_from_cookie, request, database)
                except (*DATABASE_UNAVAILABLE, SQLAlchemyError):
                    pass  # not remembered: a page needing the user will answer the 503 itself
                else:
                    setattr(request.state, COOKIE_RESOLVED, found)
                    request.state.user = found.user if found else None
        await self.app(scope, receive, send)


AuthenticationDep = Annotated[Authentication | None, Depends(authentication)]


def optional_user(found: AuthenticationDep) -> User | None:
    return None if found is None else found.user


def authenticated(found: AuthenticationDep) -> Authentication:
    if found is None:
        raise Unauthorized("sign in, or send an API token")
    return found


def current_user(found: Annotated[Authentication, Depends(authenticated)]) -> User:
    return found.user


def web_session(found: AuthenticationDep) -> Authentication:
    """A browser signed in with the session cookie (account pages and their forms)."""
    if found is None or found.web_session is None:
        raise Unauthorized("sign in first")
    return found


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
Authenticated = Annotated[Authentication, Depends(authenticated)]
SignedInBrowser = Annotated[Authentication, Depends(web_session)]


def require_role(role: str) -> Callable[[User], User]:
    """A dependency giving the current user if they hold ``role`` (401 if anonymous, else 403).

    ``user: Annotated[User, Depends(require_role("moderator"))]``
    """

    def user_with_role(user: CurrentUser) -> User:
        if not user.has_role(role):
            raise Forbidden(f"this needs the {role} role")
        return user

    return user_with_role


def check_csrf(found: Authentication, submitted: str | None) -> None:
    """Refuse a write made with the session cookie unless it carries the session's secret.

    Forms send it as the ``csrf_token`` field, scripts as the ``X-CSRF-Token`` header; a
    request authenticated by a token needs none (no browser sends a token by itself).
    """
    if found.web_session is None:
        return
    if not submitted or not credentials.same(found.web_session.csrf_secret, submitted):
        raise Forbidden("the form has expired or did not come from this site; reload the page")

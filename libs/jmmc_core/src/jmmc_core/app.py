"""The common shape of a service application: logging, request ids, errors, health, index."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from .accounts import install_accounts
from .database import Database
from .errors import install_error_handlers
from .health import HealthCheck, database_check, health_router
from .logging import RequestLogMiddleware, configure_logging
from .params import reject_nul_characters
from .settings import ServiceSettings
from .web import install_web, render


def create_service_app(
    *,
    settings: ServiceSettings,
    version: str,
    title: str,
    database: Database,
    routers: Iterable[APIRouter] = (),
    checks: Mapping[str, HealthCheck] | None = None,
    on_shutdown: Callable[[], None] | None = None,
    home_links: Sequence[tuple[str, str]] | None = None,
    own_home: bool = False,
) -> FastAPI:
    """Build a service app whose routes all live under ``settings.public_prefix``.

    ``own_home``: one of ``routers`` serves ``{prefix}/``; the bare prefix redirects there
    instead of showing the generic home page.

    ``/health`` is also served at the root, where HAProxy's ``httpchk`` and Kubernetes probe it.
    The database is not contacted at start-up: a service with an unreachable database starts,
    answers 503 on ``/health`` and recovers by itself once the database is back.
    """
    configure_logging(settings.service_name, settings.log_level)
    prefix = settings.public_prefix

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        if on_shutdown is not None:
            on_shutdown()
        database.dispose()

    app = FastAPI(
        title=title,
        version=version,
        lifespan=lifespan,
        docs_url=None,  # served by install_web from local files, not from a CDN
        openapi_url=f"{prefix}/openapi.json",
        redoc_url=None,
        dependencies=[Depends(reject_nul_characters)],
    )
    app.state.settings = settings
    app.state.database = database
    app.add_middleware(RequestLogMiddleware)
    install_error_handlers(app)
    install_web(app, settings, version)
    install_accounts(app, settings)  # sign-in pages and account API, on every service
    all_checks = {"database": database_check(database), **(checks or {})}
    app.include_router(health_router(settings.service_name, version, all_checks, ["", prefix]))
    for router in routers:
        app.include_router(router, prefix=prefix)

    index = {
        "service": settings.service_name,
        "version": version,
        "health": f"{prefix}/health",
        "docs": f"{prefix}/docs",
    }

    if own_home:
        # The service serves its own home page at ``{prefix}/``: the bare prefix leads there.
        @app.get(prefix, include_in_schema=False)
        def to_home(request: Request) -> Response:
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"{prefix}/{query}")

        return app

    # A browser gets the service's home page in the platform's layout; scripts and monitoring
    # (no text/html in Accept) get the same facts as JSON.
    @app.get(prefix, include_in_schema=False)
    @app.get(f"{prefix}/", include_in_schema=False)
    def service_index(request: Request) -> Response:
        if "text/html" not in request.headers.get("accept", ""):
            return JSONResponse(index)
        links = [
            *(home_links or []),
            ("API documentation", index["docs"]),
            ("Health", index["health"]),
        ]
        return render(request, "jmmc/home.html", title=title, links=links)

    return app

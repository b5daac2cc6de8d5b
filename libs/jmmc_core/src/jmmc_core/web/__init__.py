"""The platform's page layout, its static files and the API documentation, all served locally.

Pages render through one Jinja2 environment. It searches the folders registered with
:func:`add_template_folder` (a service's own templates, the accounts pages) before the shared
templates of this package: ``jmmc/base.html`` (the layout every page extends), ``jmmc/error.html``
and ``jmmc/home.html``. What the layout shows around a page (the platform's name, the links to
its services, the signed-in user, the service's version) comes from the settings given to
:func:`install_web`, so no template names a service.

Pages that offer a VOTable to SAMP clients (TOPCAT, Aladin) use the macros of ``jmmc/samp.html``:
its script sends ``table.load.votable`` through the SAMP Web Profile hub whose URL the layout
carries (setting ``samp_hub_url``).

Swagger UI, sampjs and the shared stylesheet are files of installed packages served by the service
itself under ``{prefix}/static/jmmc/``: the API documentation works on a network that cannot
reach a CDN.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..settings import PlatformLink, ServiceSettings

PACKAGE = Path(__file__).resolve().parent
#: Where the shared static files are served, under the service's prefix.
STATIC_PATH = "/static/jmmc"
#: Swagger UI 5 (bundle, stylesheet, favicon) as the fastapi-swagger package ships it.
SWAGGER_UI_ASSETS = ("fastapi_swagger", "resources")

_loader = FileSystemLoader([PACKAGE / "templates"])
templates = Jinja2Templates(
    env=Environment(
        loader=_loader, autoescape=select_autoescape(), trim_blocks=True, lstrip_blocks=True
    )
)


def readable_number(value: float | int | None, decimals: int = 3) -> str:
    """``{{ x | number }}`` or ``{{ x | number(5) }}``: at most ``decimals`` decimals and no
    trailing zeros (``0.41500000000000004`` → ``0.415``, ``12.30`` → ``12.3``); empty for
    none."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = f"{value:.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


templates.env.filters["number"] = readable_number


def utc_time(moment: datetime | None) -> str:
    """A timestamp as people read it (the ``utc_time`` filter): to the second, in UTC."""
    if moment is None:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


templates.env.filters["utc_time"] = utc_time


@dataclass(frozen=True)
class Layout:
    """What the shared layout shows around every page of one service."""

    prefix: str
    service_name: str
    version: str
    platform_name: str
    platform_links: list[PlatformLink]
    samp_hub_url: str


def add_template_folder(folder: Path) -> None:
    """Search ``folder`` for templates, before the shared ones (a service may override them)."""
    path = str(folder)
    if path not in _loader.searchpath:
        _loader.searchpath.insert(len(_loader.searchpath) - 1, path)


def render(request: Request, template_name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template_name`` rendered with ``context``, the layout and the signed-in user, if any."""
    layout: Layout = request.app.state.layout
    return templates.TemplateResponse(
        request,
        template_name,
        {
            "layout": layout,
            "prefix": layout.prefix,
            "user": getattr(request.state, "user", None),
            **context,
        },
        status_code=status,
    )


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The HTML answer to a failed page request: the status's name and ``message``."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return render(request, "jmmc/error.html", status=status, title=title, message=message)


def install_web(app: FastAPI, settings: ServiceSettings, version: str) -> None:
    """Serve the shared static files and ``{prefix}/docs`` (Swagger UI) from this machine.

    Create ``app`` with ``docs_url=None``: FastAPI's own page loads Swagger UI from a CDN.
    """
    prefix = settings.public_prefix
    app.state.layout = Layout(
        prefix=prefix,
        service_name=settings.service_name,
        version=version,
        platform_name=settings.platform_name,
        platform_links=settings.platform_links,
        samp_hub_url=settings.samp_hub_url,
    )
    static = f"{prefix}{STATIC_PATH}"
    app.mount(
        static,
        StaticFiles(directory=PACKAGE / "static", packages=[SWAGGER_UI_ASSETS]),
        name="jmmc-static",
    )

    openapi_url = app.openapi_url
    if openapi_url is None:  # the app publishes no API description: nothing to document
        return

    @app.get(f"{prefix}/docs", include_in_schema=False)
    def api_documentation() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{static}/swagger-ui-bundle.js",
            swagger_css_url=f"{static}/swagger-ui.css",
            swagger_favicon_url=f"{static}/favicon-32x32.png",
            # No online validator badge: it would fetch an image from outside.
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )


__all__ = [
    "Layout",
    "add_template_folder",
    "error_page",
    "install_web",
    "readable_number",
    "render",
]

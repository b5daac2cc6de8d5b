"""Accounts, groups, roles and rights, shared by every service.

Accounts are library code over one ``accounts`` schema in the platform's database, not a
service of their own. Every service is behind the same host (HAProxy routes by path), so one
``jmmc_session`` cookie with ``Path=/`` reaches all of them; each service validates sessions
and tokens by reading the same tables through this same code, with its own database
connection: no network hop on every request, no service importing another, and one account
works everywhere. The schema has its own Alembic history, applied by ``jmmc-accounts migrate``
before the services' migrations; every service's database role is granted the NOLOGIN role
``accounts_user``, which holds the rights on the accounts tables.

What a service uses:

- ``OptionalUser``, ``CurrentUser`` (401 when anonymous), ``require_role(role)`` (403 when the
  user lacks it): FastAPI dependencies giving a :class:`User` (``has_role``, ``in_group``);
- ``readable_by(user, group_id_column)`` and ``group_ids_of(user)``: rights on data, as SQL
  the service's one query layer adds to its ``WHERE`` clause;
- ``install_accounts(app, settings)``, called by ``create_service_app``: the sign-in pages and
  the account API under the service's prefix.
"""

from pathlib import Path

from fastapi import FastAPI

from jmmc_core.settings import ServiceSettings
from jmmc_core.web import add_template_folder

from .dependencies import CurrentUser, OptionalUser, SignedInUserMiddleware, require_role
from .handlers import api, pages
from .rights import group_ids_of, readable_by
from .schema import ROLES
from .services import User

TEMPLATES = Path(__file__).parent / "templates"


def install_accounts(app: FastAPI, settings: ServiceSettings) -> None:
    """Serve the account pages and API under ``settings.public_prefix``."""
    add_template_folder(TEMPLATES)
    app.add_middleware(SignedInUserMiddleware)
    app.include_router(pages, prefix=settings.public_prefix)
    app.include_router(api, prefix=settings.public_prefix)


__all__ = [
    "ROLES",
    "CurrentUser",
    "OptionalUser",
    "User",
    "group_ids_of",
    "install_accounts",
    "readable_by",
    "require_role",
]

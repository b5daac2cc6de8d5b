"""The accounts schema's own Alembic history, applied by ``jmmc-accounts migrate``."""

from pathlib import Path

from sqlalchemy import Connection, text

from jmmc_core.migrations import Migrations

from ..schema import SCHEMA, Base

MIGRATIONS = Migrations(Base.metadata, Path(__file__).parent / "versions")

#: NOLOGIN role holding the rights on the accounts tables; every service's login role is
#: granted it, since every service reads sessions and tokens and records sign-ins.
SERVICES_ROLE = "accounts_user"


def grant_to_services(connection: Connection) -> None:
    """Create ``accounts_user`` if absent and give it the data rights, now and for later tables.

    Roles are cluster-wide: an operator who pre-creates the role keeps the first step a no-op.
    """
    statements = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{SERVICES_ROLE}')"
        f" THEN CREATE ROLE {SERVICES_ROLE} NOLOGIN; END IF; END $$",
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {SERVICES_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {SCHEMA} TO {SERVICES_ROLE}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {SERVICES_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA}"
        f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {SERVICES_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {SCHEMA}"
        f" GRANT USAGE, SELECT ON SEQUENCES TO {SERVICES_ROLE}",
    ]
    for statement in statements:
        connection.execute(text(statement))

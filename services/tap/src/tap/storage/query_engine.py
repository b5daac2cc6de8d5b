"""The engine user queries run on: the read-only query role, reset between requests.

Every connection is read-only by default and runs as the TAP reader (the login role of
``query_database_url`` is its member; without that URL the service's own login switches its
session to the reader role). A connection going back to the pool is reset with ``DISCARD ALL``
(temporary upload tables, settings, prepared statements), so nothing a query did outlives it.
"""

import math

from sqlalchemy import Engine, create_engine, event, make_url

from jmmc_core.database import TAP_READER_ROLE, database_url

from ..config import Settings


def query_database_url(settings: Settings):
    if settings.query_database_url is None:
        return database_url(settings)
    url = make_url(settings.query_database_url).set(drivername="postgresql+psycopg")
    if settings.query_database_password is not None:
        url = url.set(password=settings.query_database_password.get_secret_value())
    return url


def _restrict(dbapi_connection) -> None:
    """Read-only, as the reader role, with no search path into any service's schema."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute("DISCARD ALL")
        dbapi_connection.execute(f"SET SESSION ROLE {TAP_READER_ROLE}")
        dbapi_connection.execute("SET default_transaction_read_only = on")
        dbapi_connection.execute("SET search_path = pg_catalog, public")
    finally:
        dbapi_connection.autocommit = autocommit


def create_query_engine(settings: Settings) -> Engine:
    engine = create_engine(
        query_database_url(settings),
        pool_pre_ping=True,
        pool_size=settings.query_pool_size,
        connect_args={
            "connect_timeout": max(1, math.ceil(settings.database_connect_timeout)),
            "application_name": "tap-query",
            # No server-side prepared statements: DISCARD ALL at checkin drops them behind
            # psycopg's back, and every user query is different anyway.
            "prepare_threshold": None,
        },
    )
    event.listen(engine, "connect", lambda connection, _record: _restrict(connection))
    event.listen(engine, "checkin", lambda connection, _record: _restrict(connection))
    return engine

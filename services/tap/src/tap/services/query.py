"""Running one ADQL query: parameters, uploads, translation, the read-only transaction, output.

A query runs on a connection of the query engine (the TAP reader, read-only by default, reset
at checkin). Uploads become temporary tables in a short read-write transaction first; the
query itself runs in a ``READ ONLY`` transaction with a ``statement_timeout`` and the caller's
rights, through a server-side cursor read in batches, so memory does not grow with the result.
At most ``MAXREC + 1`` rows are read: the extra one only tells the writer to report OVERFLOW.

The query is executed and its first batch read before any output is produced, so most errors
(a bad value, a division by zero, a timeout) are answered as a DALI error with status 400;
later failures end the document with ``QUERY_STATUS=ERROR``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import errors as pg_errors

from jmmc_core.errors import InvalidParameter, ServiceError
from jmmc_core.votable import Field, Info

from ..config import Settings
from .adql import AdqlError, Translation, translate
from .formats import OutputFormat, output_format
from .results import binary_query, region_columns, register_loaders, result_fields
from .rights import Caller, apply_caller
from .uploads import UploadSource, UploadSpec, load_uploads, parse_upload_parameter

if TYPE_CHECKING:
    from ..dependencies import TapRuntime

_log = logging.getLogger(__name__)

LANGUAGES = ("ADQL", "ADQL-2.0", "ADQL-2.1")
VERSIONS = ("1.0", "1.1")
#: Rows per FETCH from the server-side cursor: large enough to amortise the round trip.
FETCH_ROWS = 10_000
PROVIDER = "JMMC"
#: SQLSTATE class of queries PostgreSQL refuses to plan (psycopg has no base class for it).
SYNTAX_OR_ACCESS_RULE = "42"
CURSOR_NAME = "tap_result"


@dataclass(frozen=True)
class QueryRequest:
    query: str
    lang: str
    maxrec: int
    output: OutputFormat
    uploads: tuple[UploadSpec, ...]


class QueryFailed(ServiceError):
    """A query that failed while running; ``message`` says why in words (never SQL)."""

    status = 400


@dataclass(frozen=True)
class ResultSummary:
    rows: int
    overflow: bool
    media_type: str


@dataclass(frozen=True)
class QueryStream:
    """A result ready to stream: nothing has run until ``chunks`` is first read."""

    media_type: str
    chunks: Iterator[bytes]


# --------------------------------------------------------------------------------------
# Parameters


def _maxrec(value: str | None, settings: Settings) -> int:
    if value is None or value.strip() == "":
        return settings.default_maxrec
    try:
        maxrec = int(value.strip())
    except ValueError:
        raise InvalidParameter("MAXREC", f"must be an integer, not {value!r}") from None
    if not 0 <= maxrec <= settings.hard_maxrec:
        raise InvalidParameter("MAXREC", f"must be between 0 and {settings.hard_maxrec}")
    return maxrec


def parse_query_request(
    parameters: Mapping[str, str], files: Mapping[str, UploadSource], settings: Settings
) -> QueryRequest:
    """The query that ``parameters`` (names upper-cased) describe, or the parameter at fault."""
    request = parameters.get("REQUEST")
    if request is not None and request.strip().lower() != "doquery":
        raise InvalidParameter(
            "REQUEST", "must be doQuery (the capabilities are at /tap/capabilities)"
        )
    version = parameters.get("VERSION")
    if version is not None and version.strip() not in VERSIONS:
        raise InvalidParameter("VERSION", f"this service speaks TAP {' and '.join(VERSIONS)}")
    lang = (parameters.get("LANG") or "ADQL").strip()
    if lang.upper() not in LANGUAGES:
        raise InvalidParameter(
            "LANG", f"unsupported query language {lang!r}; supported: {', '.join(LANGUAGES)}"
        )
    query = parameters.get("QUERY")
    if query is None or not query.strip():
        raise InvalidParameter("QUERY", "an ADQL query is required")
    if parameters.get("RESPONSEFORMAT"):
        output = output_format(parameters["RESPONSEFORMAT"])
    else:
        output = output_format(parameters.get("FORMAT"), "FORMAT")
    uploads = parse_upload_parameter(parameters.get("UPLOAD"))
    for upload in uploads:
        # Refused now rather than when the (possibly queued) query starts.
        if upload.part is not None and upload.part not in files:
            raise InvalidParameter(
                "UPLOAD", f"table '{upload.name}': the request has no part named '{upload.part}'"
            )
    return QueryRequest(
        query=query,
        lang=lang.upper(),
        maxrec=_maxrec(parameters.get("MAXREC"), settings),
        output=output,
        uploads=uploads,
    )


# --------------------------------------------------------------------------------------
# Database errors in words


def _failure(error: psycopg.Error, timeout_hint: str) -> QueryFailed:
    """What a person can do with ``error``; the driver's text goes to the log only."""
    if isinstance(error, pg_errors.QueryCanceled):
        return QueryFailed(timeout_hint)
    if isinstance(error, pg_errors.DataError | pg_errors.CardinalityViolation):
        # Data exceptions (22xxx: division by zero, invalid input, out of range) describe a
        # value of the query, never its SQL.
        primary = error.diag.message_primary or "invalid value"
        return QueryFailed(f"the query failed on a value: {primary}")
    if isinstance(error, pg_errors.InsufficientPrivilege):
        return QueryFailed("the query reads something this service does not publish")
    if (error.sqlstate or "").startswith(SYNTAX_OR_ACCESS_RULE):
        # A query ADQL allows but PostgreSQL cannot plan (grouping, operators on these types):
        # the first line of PostgreSQL's message names the construct, without the SQL text.
        primary = error.diag.message_primary or "invalid query"
        return QueryFailed(f"the database cannot run this query: {primary}")
    if isinstance(error, pg_errors.InsufficientResources | pg_errors.ProgramLimitExceeded):
        return QueryFailed("the query needs more resources than the server has; narrow it down")
    _log.warning("query failed: %s (%s)", error.diag.message_primary, error.sqlstate)
    return QueryFailed(
        "the database could not run this query"
        + (f" (SQLSTATE {error.sqlstate})" if error.sqlstate else "")
    )


def _translating(error: psycopg.Error, timeout_hint: str) -> Exception:
    """Lost connections stay database errors (503); anything else the query caused is a 400."""
    if isinstance(error, psycopg.OperationalError) and not isinstance(
        error, pg_errors.QueryCanceled | pg_errors.InsufficientResources
    ):
        return error
    return _failure(error, timeout_hint)


# --------------------------------------------------------------------------------------
# Running


class _Rows:
    """The rows of an open server-side cursor, counted, translated errors, stopped at a limit."""

    def __init__(self, cursor: psycopg.ServerCursor, limit: int, timeout_hint: str) -> None:
        self._cursor = cursor
        self._limit = limit
        self._timeout_hint = timeout_hint
        self.count = 0
        self.failure: Exception | None = None
        self._first = self._fetch()

    def _fetch(self) -> list[tuple]:
        wanted = min(FETCH_ROWS, self._limit - self.count)
        if wanted <= 0:
            return []
        try:
            batch = self._cursor.fetchmany(wanted)
        except psycopg.Error as error:
            self.failure = _translating(error, self._timeout_hint)
            raise self.failure from None
        self.count += len(batch)
        return batch

    def __iter__(self) -> Iterator[tuple]:
        batch = self._first
        self._first = []
        while batch:
            yield from batch
            batch = self._fetch()


def _timeout_hint(timeout_seconds: int, sync: bool) -> str:
    if sync:
        return (
            f"the query ran longer than {timeout_seconds} s, the limit of synchronous queries;"
            " submit it to the asynchronous endpoint (/tap/async), which allows longer ones"
        )
    return f"the query ran longer than its execution duration of {timeout_seconds} s"


def _infos(request: QueryRequest) -> tuple[Info, ...]:
    return (
        Info("QUERY", request.query),
        Info("REQUEST", "doQuery"),
        Info("PROVIDER", PROVIDER, content="JMMC TAP service"),
    )


def _declare(
    cursor: psycopg.ServerCursor, sql: str, translation: Translation, hint: str
) -> tuple[list[Field], psycopg.ServerCursor]:
    """The result's FIELDs and the cursor to read it from, in binary whenever possible.

    Declaring a cursor runs nothing but tells the column types: the FIELDs come from them,
    then the query is declared again if its columns must be converted to travel in binary,
    or as text (read by the loaders) if one cannot.
    """
    driver = cursor.connection
    try:
        cursor.execute(sql)
        fields = result_fields(translation.columns, cursor.description, driver.adapters)
        read_sql, binary = binary_query(
            sql, cursor.description, driver.adapters, region_columns(translation.columns)
        )
        if read_sql != sql or not binary:
            cursor.close()
            cursor = driver.cursor(name=CURSOR_NAME, binary=binary)
            cursor.execute(read_sql)
    except psycopg.Error as error:
        cursor.close()
        raise _translating(error, hint) from None
    return fields, cursor


@contextmanager
def _running(
    runtime: TapRuntime,
    request: QueryRequest,
    caller: Caller,
    files: Mapping[str, UploadSource],
    timeout_seconds: int,
    sync: bool,
) -> Iterator[tuple[Iterator[bytes], _Rows]]:
    """The output chunks and their rows, while the query's transaction is open."""
    hint = _timeout_hint(timeout_seconds, sync)
    with runtime.query_engine.connect() as connection:
        uploads = load_uploads(connection, request.uploads, files, runtime.settings)
        try:
            translation = translate(request.query, runtime.catalog.get(), uploads)
        except AdqlError as error:
            raise InvalidParameter("QUERY", error.message) from None
        sql = translation.sql
        if request.maxrec == 0:  # the metadata only: plan the query, read nothing
            sql = f"SELECT * FROM ({sql}) AS metadata_only LIMIT 0"
        driver = connection.connection.driver_connection
        register_loaders(connection)
        with connection.begin():
            # Read only whatever the role may do; the whole result is wanted, so plan for it
            # rather than for its first rows; no JIT, whose compiling costs more than it saves.
            connection.exec_driver_sql(
                "SET TRANSACTION READ ONLY;"
                f" SET LOCAL statement_timeout = '{int(timeout_seconds)}s';"
                " SET LOCAL cursor_tuple_fraction = 1; SET LOCAL jit = off"
            )
            apply_caller(connection, caller)
            cursor = driver.cursor(name=CURSOR_NAME, binary=True)
            try:
                fields, cursor = _declare(cursor, sql, translation, hint)
                rows = _Rows(cursor, request.maxrec + 1, hint)
                chunks = request.output.write(
                    fields,
                    rows,
                    max_records=request.maxrec,
                    infos=_infos(request),
                    table_name="result",
                )
                yield chunks, rows
            finally:
                cursor.close()


def stream_query(
    runtime: TapRuntime,
    request: QueryRequest,
    caller: Caller,
    files: Mapping[str, UploadSource],
    timeout_seconds: int,
) -> QueryStream:
    """The result of a sync query as chunks; errors before the first chunk are raised."""

    def chunks() -> Iterator[bytes]:
        with _running(runtime, request, caller, files, timeout_seconds, sync=True) as (output, _):
            yield from output

    return QueryStream(request.output.media_type, chunks())


def execute_to_file(
    runtime: TapRuntime,
    request: QueryRequest,
    caller: Caller,
    files: Mapping[str, UploadSource],
    path: Path,
    timeout_seconds: int,
) -> ResultSummary:
    """Writes the result of an async job to ``path``; a failure at any point raises."""
    running = _running(runtime, request, caller, files, timeout_seconds, sync=False)
    with running as (output, rows), path.open("wb") as file:
        for chunk in output:
            file.write(chunk)
    if rows.failure is not None:
        raise rows.failure
    return ResultSummary(
        rows=min(rows.count, request.maxrec),
        overflow=rows.count > request.maxrec,
        media_type=request.output.media_type,
    )

"""The query form of the service's page: the first rows of a result, to show as an HTML table.

The query runs exactly as ``/tap/sync`` runs it (same parameters, translator, rights and
limits), asked for CSV and at most :data:`PREVIEW_ROWS` rows; the full result is a download
link to ``/tap/sync``. A query that cannot run gives its reason in words, for the page to
show next to the form.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from jmmc_core.errors import ServiceError

from .query import parse_query_request, stream_query
from .rights import Caller

if TYPE_CHECKING:
    from ..dependencies import TapRuntime

#: Rows the page shows at most; the download link gives the rest.
PREVIEW_ROWS = 200
#: Download formats offered by the page: RESPONSEFORMAT value → (label, file name).
DOWNLOAD_FORMATS = {"votable": ("VOTable", "tap-result.vot"), "csv": ("CSV", "tap-result.csv")}


@dataclass(frozen=True)
class Download:
    label: str
    filename: str
    url: str


@dataclass(frozen=True)
class Preview:
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    #: The query gives more rows than shown.
    truncated: bool = False
    #: Why the query could not run, in words; empty when it ran.
    error: str = ""
    downloads: tuple[Download, ...] = ()


def sync_parameters(query: str, maxrec: str, response_format: str) -> dict[str, str]:
    """The ``/tap/sync`` parameters of a query of the form (``maxrec`` as typed, maybe empty)."""
    parameters = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query}
    if maxrec.strip():
        parameters["MAXREC"] = maxrec.strip()
    return parameters | {"RESPONSEFORMAT": response_format}


def preview(runtime: TapRuntime, caller: Caller, query: str, maxrec: str, sync_url: str) -> Preview:
    """At most :data:`PREVIEW_ROWS` rows of ``query`` (and no more than ``maxrec``)."""
    settings = runtime.settings
    try:
        wanted = parse_query_request(sync_parameters(query, maxrec, "csv"), {}, settings).maxrec
        shown = min(wanted, PREVIEW_ROWS)
        # One row more than shown tells whether the result goes on.
        limit = str(min(shown + 1, settings.hard_maxrec))
        request = parse_query_request(sync_parameters(query, limit, "csv"), {}, settings)
        result = stream_query(runtime, request, caller, {}, settings.sync_timeout_seconds)
        text = b"".join(result.chunks).decode()
    except ServiceError as error:
        return Preview(error=_in_words(error))
    header, *rows = list(csv.reader(io.StringIO(text))) or [[]]
    return Preview(
        columns=tuple(header),
        rows=tuple(tuple(row) for row in rows[:shown]),
        truncated=len(rows) > shown,
        downloads=tuple(
            Download(
                label, filename, f"{sync_url}?{urlencode(sync_parameters(query, maxrec, value))}"
            )
            for value, (label, filename) in DOWNLOAD_FORMATS.items()
        ),
    )


def _in_words(error: ServiceError) -> str:
    """The error's message without the parameter name the VO answer starts with."""
    message = str(error)
    parameter = getattr(error, "parameter", None)
    if parameter and message.startswith(f"{parameter}: "):
        message = message.removeprefix(f"{parameter}: ")
        if parameter != "QUERY":
            message = f"{parameter}: {message}"
    return message[:1].upper() + message[1:]

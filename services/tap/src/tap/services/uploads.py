"""TAP uploads: tables sent with a query (``UPLOAD=name,param:part`` or ``name,https://...``).

Each upload becomes a temporary table on the query's own connection, so it is visible to that
query only and disappears when the connection is reset on its way back to the pool. ADQL names
it ``TAP_UPLOAD.<name>``; the translator maps that to ``pg_temp."<name>"``.

URLs are fetched with a size bound and a timeout, and never from the service's own network
(private, loopback, link-local... addresses) unless a setting allows it: the address checked is
the address connected to, so a name that resolves differently a second time gains nothing.
"""

from __future__ import annotations

import io
import ipaddress
import math
import re
import socket
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
import numpy as np
import psycopg
from astropy.io.votable import parse as parse_votable
from astropy.utils.xml.iterparser import get_xml_iterator
from sqlalchemy import Connection

from jmmc_core.errors import InvalidParameter
from jmmc_core.tap_publishing import ADQL_RESERVED_WORDS

from ..config import Settings
from .catalog import CatalogColumn, CatalogTable

UploadSource = bytes | Path

UPLOAD_SCHEMA = "TAP_UPLOAD"
PARAMETER = "UPLOAD"
_REGULAR_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: PostgreSQL truncates longer identifiers.
_MAX_NAME_LENGTH = 63
_MAX_REDIRECTS = 5
_STREAM_CHUNK = 64 * 1024


@dataclass(frozen=True)
class UploadSpec:
    #: The table name, an ADQL regular identifier: ``TAP_UPLOAD.<name>`` in queries.
    name: str
    #: ``param:<part>`` (a part of the multipart request) or an http(s) URL.
    source: str

    @property
    def part(self) -> str | None:
        """The multipart part holding the table, for an inline upload."""
        return self.source.removeprefix("param:") if self.source.startswith("param:") else None

    @property
    def table_name(self) -> str:
        """The temporary table's SQL name."""
        return self.name.lower()


def _refuse(message: str) -> InvalidParameter:
    return InvalidParameter(PARAMETER, message)


# -- The UPLOAD parameter ------------------------------------------------------------------------


def parse_upload_parameter(value: str | None) -> tuple[UploadSpec, ...]:
    """``'a,param:a;b,https://host/x.vot'`` as specs, refusing anything a query cannot use."""
    if value is None or not value.strip():
        return ()
    specs: list[UploadSpec] = []
    for item in (item.strip() for item in value.split(";")):
        if not item:
            continue
        name, comma, source = (part.strip() for part in item.partition(","))
        if not comma or not name or not source:
            raise _refuse(
                f"'{item}' is not of the form table_name,param:part_name or "
                "table_name,http(s)://..."
            )
        _check_table_name(name)
        if any(spec.name.lower() == name.lower() for spec in specs):
            raise _refuse(f"the table name '{name}' is given twice")
        _check_source(name, source)
        specs.append(UploadSpec(name, source))
    return tuple(specs)


def _check_table_name(name: str) -> None:
    if not _REGULAR_IDENTIFIER.fullmatch(name) or len(name) > _MAX_NAME_LENGTH:
        raise _refuse(
            f"'{name}' is not a valid table name: a letter followed by letters, digits or "
            f"underscores, at most {_MAX_NAME_LENGTH} characters"
        )
    if name.upper() in ADQL_RESERVED_WORDS:
        raise _refuse(f"'{name}' is an ADQL reserved word and cannot name an uploaded table")


def _check_source(name: str, source: str) -> None:
    if source.startswith("param:"):
        if not source.removeprefix("param:"):
            raise _refuse(f"table '{name}': 'param:' must be followed by the name of a part")
        return
    try:
        url = urlsplit(source)
        usable = url.scheme.lower() in ("http", "https") and bool(url.hostname)
        url.port  # noqa: B018 (raises for a port out of range or not a number)
    except ValueError:
        raise _refuse(f"table '{name}': '{source}' is not a valid URL") from None
    if not usable:
        raise _refuse(
            f"table '{name}': '{source}' is neither param:<part> nor an http or https URL "
            "(the methods this service supports)"
        )


# -- Loading -------------------------------------------------------------------------------------


def load_uploads(
    connection: Connection,
    specs: Sequence[UploadSpec],
    files: Mapping[str, UploadSource],
    settings: Settings,
) -> list[CatalogTable]:
    """Create one temporary table per upload on ``connection`` and describe it for ADQL.

    Runs (and commits) its own read-write transaction, so it must be called before the query's
    transaction begins.
    """
    if not specs:
        return []
    parsed = [(spec, _read_votable(spec, _upload_bytes(spec, files, settings))) for spec in specs]
    tables = []
    with connection.begin():
        # The query connection is read-only by default; temporary tables are all this writes.
        connection.exec_driver_sql("SET TRANSACTION READ WRITE")
        for spec, votable_table in parsed:
            columns = [_UploadColumn.of(spec, field) for field in votable_table.fields]
            _check_unique_columns(spec, columns)
            _create_and_fill(connection, spec, columns, votable_table.array)
            tables.append(
                CatalogTable(
                    schema_name=UPLOAD_SCHEMA,
                    name=f"{UPLOAD_SCHEMA}.{spec.name}",
                    columns=tuple(
                        column.catalog_column(index) for index, column in enumerate(columns)
                    ),
                    description=votable_table.description or None,
                )
            )
    return tables


def _upload_bytes(spec: UploadSpec, files: Mapping[str, UploadSource], settings: Settings) -> bytes:
    limit = settings.upload_limit_bytes
    if spec.part is None:
        return fetch_upload_url(spec, settings)
    source = files.get(spec.part)
    if source is None:
        raise _refuse(f"table '{spec.name}': the request has no part named '{spec.part}'")
    size = source.stat().st_size if isinstance(source, Path) else len(source)
    if size > limit:
        raise _refuse(_too_large(spec, limit))
    return source.read_bytes() if isinstance(source, Path) else source


def _too_large(spec: UploadSpec, limit: int) -> str:
    return f"table '{spec.name}' is larger than this service's upload limit of {limit} bytes"


# -- Reading a VOTable ---------------------------------------------------------------------------


def _read_votable(spec: UploadSpec, content: bytes):
    """The first table of the document; refuses parts that point outside of it."""
    not_a_votable = f"table '{spec.name}': the upload is not a readable VOTable"
    try:
        with get_xml_iterator(io.BytesIO(content)) as iterator:
            for start, tag, data, _position in iterator:
                if start and tag in ("FITS", "PARQUET"):
                    raise _refuse(
                        f"table '{spec.name}': the {tag} serialization is not supported "
                        "(send TABLEDATA, BINARY or BINARY2)"
                    )
                if start and tag == "STREAM" and "href" in data:
                    # The parser would fetch it, from wherever it points.
                    raise _refuse(
                        f"table '{spec.name}': data streams pointing outside the document "
                        "are not supported (send the data inline)"
                    )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            document = parse_votable(io.BytesIO(content), verify="ignore")
            table = next(document.iter_tables(), None)
    except InvalidParameter:
        raise
    except Exception as error:  # astropy raises many kinds for a malformed document
        raise _refuse(f"{not_a_votable} ({_reason(error)})") from None
    if table is None:
        raise _refuse(f"{not_a_votable} (it holds no TABLE)")
    if not table.fields:
        raise _refuse(f"table '{spec.name}': the uploaded table has no columns")
    return table


def _reason(error: Exception) -> str:
    """The parser's complaint about the user's document, without file names."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    located = _PARSER_POSITION.match(text)
    if located:
        line, column, complaint = located.groups()
        text = f"line {line}, column {int(column) + 1}: {complaint}"
    return text[:200]


#: ``[source:]line:column: [W01: ]complaint``, as astropy and expat word their errors.
_PARSER_POSITION = re.compile(r"(?:[^:\s]*:)?(\d+):(\d+): (?:[EW]\d+: )?(.*)")


# -- Columns -------------------------------------------------------------------------------------

_SQL_TYPES = {
    "boolean": "boolean",
    "bit": "boolean",
    "unsignedByte": "smallint",
    "short": "smallint",
    "int": "integer",
    "long": "bigint",
    "float": "real",
    "double": "double precision",
    "char": "text",
    "unicodeChar": "text",
}
#: DALI geometry xtypes stored as pg_sphere values, so CONTAINS and INTERSECTS work on them.
_GEOMETRY_TYPES = {"point": "spoint", "circle": "scircle", "polygon": "spoly"}


def _published_name(name: str) -> str:
    """The column name as ADQL writes it: delimited when reserved or not a regular identifier."""
    name = name.replace('"', "_")
    if _REGULAR_IDENTIFIER.fullmatch(name) and name.upper() not in ADQL_RESERVED_WORDS:
        return name
    return f'"{name}"'


def _unit_text(unit) -> str | None:
    if unit is None:
        return None
    try:
        return unit.to_string(format="vounit")
    except (ValueError, TypeError):
        return str(unit)


@dataclass(frozen=True)
class _UploadColumn:
    catalog: CatalogColumn
    sql_type: str
    #: How a cell becomes a COPY value (after the mask is applied).
    geometry: str | None
    is_array: bool
    is_text: bool

    @classmethod
    def of(cls, spec: UploadSpec, field) -> _UploadColumn:
        datatype = field.datatype
        # "1" says what no arraysize says, and is deprecated (VOTable 1.3 erratum 3).
        arraysize = None if field.arraysize == "1" else field.arraysize
        xtype = field.xtype
        is_text = datatype in ("char", "unicodeChar")
        is_array = not is_text and arraysize not in (None, "1")
        geometry = xtype.lower() if xtype and xtype.lower() in _GEOMETRY_TYPES else None
        if datatype not in _SQL_TYPES:
            raise _refuse(
                f"table '{spec.name}': column '{field.name}' has the datatype {datatype}, "
                "which this service cannot store"
            )
        if geometry is not None and not (is_array and datatype in ("float", "double")):
            raise _refuse(
                f"table '{spec.name}': column '{field.name}' has xtype {xtype} but is not an "
                "array of float or double"
            )
        if geometry is not None:
            sql_type = _GEOMETRY_TYPES[geometry]
        else:
            sql_type = _SQL_TYPES[datatype] + ("[]" if is_array else "")
        catalog = CatalogColumn(
            name=_published_name(field.name),
            datatype=datatype,
            arraysize=arraysize,
            xtype=xtype,
            unit=_unit_text(field.unit),
            ucd=field.ucd,
            utype=field.utype,
            description=field.description or None,
        )
        return cls(catalog, sql_type, geometry, is_array, is_text)

    def catalog_column(self, index: int) -> CatalogColumn:
        return CatalogColumn(**{**vars(self.catalog), "column_index": index})

    @property
    def sql_name(self) -> str:
        return self.catalog.database_name

    def values(self, column: np.ndarray) -> list[object]:
        """The column's cells as psycopg COPY values (None where masked or not a number)."""
        mask = np.ma.getmaskarray(column)
        data = np.ma.getdata(column)
        if data.dtype != object and data.ndim > 1:
            return self._fixed_arrays(data.reshape(len(data), -1), mask.reshape(len(data), -1))
        if data.dtype == object:  # variable-length arrays: one array per cell
            return [
                None if np.all(masked) else self._fixed_arrays(
                    np.ma.getdata(cell).reshape(1, -1), np.ma.getmaskarray(cell).reshape(1, -1)
                )[0]
                for cell, masked in zip(data, mask, strict=True)
            ]  # fmt: skip
        cells = data.tolist()
        if self.is_text:
            cells = [_text(cell) for cell in cells]
        elif data.dtype.kind == "f":
            cells = [None if math.isnan(cell) else cell for cell in cells]
        return [None if masked else cell for cell, masked in zip(cells, mask, strict=True)]

    def _fixed_arrays(self, rows: np.ndarray, masks: np.ndarray) -> list[object]:
        """Rows of a 2-D array as arrays or geometries, whole rows masked as NULL (vectorised)."""
        nulls = masks | (np.isnan(rows) if rows.dtype.kind == "f" else False)
        null_rows = masks.all(axis=1).tolist()
        if self.geometry is not None:
            floats = np.where(nulls, np.nan, rows.astype(float)).tolist()
            return [
                None if null else _geometry_literal(self.geometry, values)
                for values, null in zip(floats, null_rows, strict=True)
            ]
        values = rows.tolist()
        if nulls.any():
            values = [
                [None if null else value for value, null in zip(row, row_nulls, strict=True)]
                for row, row_nulls in zip(values, nulls.tolist(), strict=True)
            ]  # fmt: skip
        return [None if null else row for row, null in zip(values, null_rows, strict=True)]


def _text(cell: object) -> str:
    text = cell.decode("utf-8", "replace") if isinstance(cell, bytes) else str(cell)
    return text.replace("\x00", "")  # PostgreSQL text cannot hold NUL


def _geometry_literal(geometry: str, values: list[float]) -> str | None:
    """pg_sphere's text form in degrees: ``(ra d, dec d)``, ``<(ra d, dec d), r d>``..."""
    if not values or any(math.isnan(value) for value in values):
        return None
    if geometry == "point" and len(values) == 2:
        return f"({values[0]!r}d, {values[1]!r}d)"
    if geometry == "circle" and len(values) == 3:
        return f"<({values[0]!r}d, {values[1]!r}d), {values[2]!r}d>"
    if geometry == "polygon" and len(values) >= 6 and len(values) % 2 == 0:
        vertices = ", ".join(
            f"({values[i]!r}d, {values[i + 1]!r}d)" for i in range(0, len(values), 2)
        )
        return "{" + vertices + "}"
    return _BAD_GEOMETRY


#: Not pg_sphere syntax: COPY refuses it and the refusal names the row and column.
_BAD_GEOMETRY = "malformed"


def _check_unique_columns(spec: UploadSpec, columns: Sequence[_UploadColumn]) -> None:
    seen: set[str] = set()
    for column in columns:
        if column.sql_name in seen:
            raise _refuse(
                f"table '{spec.name}': two columns are named '{column.catalog.name}' "
                "(names are compared case-insensitively)"
            )
        seen.add(column.sql_name)


# -- The temporary table -------------------------------------------------------------------------


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _create_and_fill(
    connection: Connection, spec: UploadSpec, columns: Sequence[_UploadColumn], array
) -> None:
    table = _quoted(spec.table_name)
    definitions = ", ".join(f"{_quoted(column.sql_name)} {column.sql_type}" for column in columns)
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {table} ({definitions})")
    names = ", ".join(_quoted(column.sql_name) for column in columns)
    cells = [
        column.values(array[field_id])
        for column, field_id in zip(columns, array.dtype.names, strict=True)
    ]
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in zip(*cells, strict=True):
                copy.write_row(row)
    # pg_sphere refuses its malformed values as internal errors, PostgreSQL as data errors.
    except (psycopg.DataError, psycopg.errors.InternalError_) as error:
        raise _refuse(_refused_value(spec, columns, error)) from None
    finally:
        cursor.close()


def _refused_value(spec: UploadSpec, columns: Sequence[_UploadColumn], error) -> str:
    """Which row and column PostgreSQL refused, without its own words."""
    match = re.search(r"line (\d+), column (\S+?):", error.diag.context or "")
    where = f"row {match.group(1)}, column {match.group(2)}" if match else "a row"
    return f"table '{spec.name}': {where} holds a value that does not fit its column's type"


# -- By URL --------------------------------------------------------------------------------------


def fetch_upload_url(spec: UploadSpec, settings: Settings) -> bytes:
    """The document at the spec's URL, following at most a few redirects, each one checked."""
    url = spec.source
    timeout = settings.upload_url_timeout_seconds
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        for _hop in range(_MAX_REDIRECTS + 1):
            request = _request_to_public_address(client, spec, url, settings)
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException:
                raise _refuse(
                    _unreachable(spec, url, f"did not answer within {timeout:g} s")
                ) from None
            except httpx.HTTPError:
                raise _refuse(_unreachable(spec, url, "could not be reached")) from None
            try:
                if response.is_redirect:
                    url = _redirect_target(spec, url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise _refuse(
                        _unreachable(spec, url, f"answered HTTP status {response.status_code}")
                    )
                return _bounded_body(spec, url, response, settings, deadline)
            finally:
                response.close()
    raise _refuse(_unreachable(spec, spec.source, f"redirects more than {_MAX_REDIRECTS} times"))


def _redirect_target(spec: UploadSpec, url: str, location: str) -> str:
    try:
        target = urljoin(url, location)
        parts = urlsplit(target)
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 (raises for a port out of range or not a number)
    except ValueError:
        raise _refuse(_unreachable(spec, url, "redirects to an invalid URL")) from None
    if not usable:
        raise _refuse(
            _unreachable(spec, url, f"redirects to {target}; only http and https URLs are fetched")
        )
    return target


def _unreachable(spec: UploadSpec, url: str, reason: str) -> str:
    return f"table '{spec.name}': {url} {reason}"


def _request_to_public_address(
    client: httpx.Client, spec: UploadSpec, url: str, settings: Settings
) -> httpx.Request:
    """A GET sent to the checked address itself, with the name kept for Host and TLS."""
    if settings.upload_allow_private_urls:
        return client.build_request("GET", url)
    parts = urlsplit(url)
    address = checked_address(spec, url)
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    headers = {"Host": parts.netloc.rpartition("@")[2]}
    extensions = {"sni_hostname": parts.hostname} if parts.scheme.lower() == "https" else {}
    return client.build_request(
        "GET", urlunsplit(parts._replace(netloc=netloc)), headers=headers, extensions=extensions
    )


def checked_address(spec: UploadSpec, url: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address ``url``'s host resolves to, refused when any of its addresses is not public."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise _refuse(_unreachable(spec, url, "has a host name that does not resolve")) from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not addresses or any(not _is_public(address) for address in addresses):
        raise _refuse(
            f"table '{spec.name}': {url} is on a private or loopback address; this service "
            "does not fetch from there"
        )
    # IPv4 first: a host without IPv6 routes still reaches a dual-stack server.
    return min(addresses, key=lambda address: address.version)


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None and not _is_public(embedded):
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _bounded_body(
    spec: UploadSpec, url: str, response: httpx.Response, settings: Settings, deadline: float
) -> bytes:
    limit = settings.upload_limit_bytes
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _refuse(_too_large(spec, limit))
    body = bytearray()
    try:
        for chunk in response.iter_bytes(_STREAM_CHUNK):
            body += chunk
            if len(body) > limit:
                raise _refuse(_too_large(spec, limit))
            if time.monotonic() > deadline:
                raise _refuse(
                    _unreachable(
                        spec, url, f"was not read within {settings.upload_url_timeout_seconds:g} s"
                    )
                )
    except httpx.TimeoutException:
        raise _refuse(
            _unreachable(
                spec, url, f"did not answer within {settings.upload_url_timeout_seconds:g} s"
            )
        ) from None
    except httpx.HTTPError:
        raise _refuse(_unreachable(spec, url, "broke off while sending")) from None
    return bytes(body)

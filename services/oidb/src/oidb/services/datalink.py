"""DataLink 1.1: what can be fetched for a granule, and the rights to fetch it.

For each identifier the ``{links}`` answer lists, contiguously:

* ``#this``: the OIFITS file (``application/fits``, its size in bytes); for a level-0 granule
  the raw data where the granule says they are (the ESO archive);
* ``#preview``: the quick-look PNGs of the granule (VIS2 and T3PHI against spatial frequency,
  UV coverage), each named by ``local_semantics``;
* ``#auxiliary``: the file's validation report (JSON), and for a level-0 granule its
  ObsPortal exposure page;
* ``#documentation``: the granule's page.

An identifier unknown or invisible to the caller answers one ``NotFoundFault`` row: a private
collection's granules are indistinguishable from missing ones. While a granule is embargoed
for the caller, its ``#this`` and ``#preview`` rows carry an ``AuthenticationFault``
(anonymous: sign in or send a token) or ``AuthorizationFault`` (signed in, not a member)
instead of a URL: DataLink allows one of ``access_url``, ``service_def`` and
``error_message`` per row, and the error is the one the download would answer, so a client
learns why before trying. The download refuses on its own whatever URL a client builds.

A file holds every granule read from it, so the file may be downloaded only when each of its
granules may: a released calibrator does not open a file whose science granule is embargoed.
A quick-look shows one granule's data and follows that granule's rights.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from vo_models.vodataservice.models import ParamHTTP
from vo_models.voresource.models import AccessURL, Capability
from vo_models.vosi.availability.models import Availability
from vo_models.vosi.capabilities.models import VOSICapabilities

from jmmc_core.database import Database
from jmmc_core.errors import (
    Forbidden,
    InvalidParameter,
    NotFound,
    ServiceError,
    Unauthorized,
)
from jmmc_core.votable import Field, VOTableWriter

from ..config import Settings
from ..schema.catalogue import Collection, Granule, OifitsFile
from ..storage.files import file_path
from .access import ANONYMOUS, Caller, downloadable, reading
from .previews import PREVIEW_KINDS, check_kind, preview_kinds_of, render_preview

logger = logging.getLogger(__name__)

DATALINK_MEDIA_TYPE = "application/x-votable+xml;content=datalink"
FITS_MEDIA_TYPE = "application/fits"
#: Identifiers one request may ask for; more is a usage error of the whole request.
MAX_IDS = 100
#: ``RESPONSEFORMAT`` values meaning the one format served (compared without spaces, lower case).
RESPONSE_FORMATS = ("votable", "application/x-votable+xml", DATALINK_MEDIA_TYPE)

DATALINK_STANDARD = "ivo://ivoa.net/std/DataLink#links-1.1"
VOSI_ENDPOINTS = (
    ("capabilities", "ivo://ivoa.net/std/VOSI#capabilities"),
    ("availability", "ivo://ivoa.net/std/VOSI#availability"),
)
#: When this process started serving: VOSI's upSince.
STARTED_AT = datetime.now(UTC)

FIELDS = (
    Field.text("ID", ucd="meta.id;meta.main", description="The identifier the links are for"),
    Field.text("access_url", ucd="meta.ref.url", description="Where to fetch the resource"),
    Field.text("service_def", ucd="meta.ref", description="Service descriptor (none here)"),
    Field.text("error_message", ucd="meta.code.error", description="Why there is no link"),
    Field.text("semantics", ucd="meta.code", description="What the resource is to the data"),
    Field.text("description", ucd="meta.note", description="What the resource holds"),
    Field.text("content_type", ucd="meta.code.mime", description="Media type of the resource"),
    Field(
        "content_length",
        "long",
        unit="byte",
        ucd="phys.size;meta.file",
        description="Size of the resource",
    ),
    Field.text(
        "content_qualifier",
        ucd="meta.code.class",
        description="Product type of the resource (IVOA product-type vocabulary)",
    ),
    Field.text(
        "local_semantics", ucd="meta.code", description="Which of OiDB's links of this kind"
    ),
    Field.text("link_auth", ucd="meta.code", description="Whether the link needs credentials"),
    Field(
        "link_authorized",
        "boolean",
        ucd="meta.code",
        description="Whether the caller may follow the link",
    ),
)


@dataclass(frozen=True)
class Link:
    """One row of a DataLink answer (the columns of :data:`FIELDS`, in order)."""

    id: str
    access_url: str | None
    service_def: str | None
    error_message: str | None
    semantics: str
    description: str | None
    content_type: str | None = None
    content_length: int | None = None
    content_qualifier: str | None = None
    local_semantics: str | None = None
    link_auth: str | None = None
    link_authorized: bool | None = None


@dataclass(frozen=True)
class Urls:
    """The service's URLs under ``base`` (its public URL, or the one a client used)."""

    base: str

    def datalink(self, publisher_did: str) -> str:
        return f"{self.base}/datalink?ID={quote(publisher_did, safe='')}"

    def download(self, granule_id: int, filename: str | None = None) -> str:
        url = f"{self.base}/files/{granule_id}"
        return f"{url}/{quote(filename, safe='')}" if filename else url

    def preview(self, granule_id: int, kind: str) -> str:
        return f"{self.base}/previews/{granule_id}/{kind}.png"

    def report(self, file_id: int) -> str:
        """The file's record (state, validation report, granules) in the JSON API."""
        return f"{self.base}/api/files/{file_id}"

    def granule_page(self, granule_id: int) -> str:
        return f"{self.base}/granules/{granule_id}"


def urls_of(settings: Settings) -> Urls:
    return Urls(settings.public_url.rstrip("/"))


def datalink_url(settings: Settings, publisher_did: str) -> str:
    """The DataLink URL of a granule (ObsCore's ``access_url`` for granules with a file)."""
    return urls_of(settings).datalink(publisher_did)


def download_url(settings: Settings, granule: Granule, filename: str | None = None) -> str:
    """Where the OIFITS file of ``granule`` is downloaded (``filename`` names the saved file)."""
    return urls_of(settings).download(granule.id, filename)


def preview_url(settings: Settings, granule_id: int, kind: str) -> str:
    """Where a quick-look PNG of a granule is (``kind`` in ``vis2``, ``t3phi``, ``uv``)."""
    return urls_of(settings).preview(granule_id, kind)


# --------------------------------------------------------------------------------------
# Rights


def _fault(error: ServiceError) -> str:
    """The DataLink ``error_message`` of the error a download would answer."""
    if isinstance(error, Unauthorized):
        return f"AuthenticationFault: {error}"
    if isinstance(error, Forbidden):
        return f"AuthorizationFault: {error}"
    return f"NotFoundFault: {error}"


def downloadable_file(session: Session, caller: Caller, granule_id: int) -> OifitsFile:
    """The file of a granule, if ``caller`` may download it (every granule of the file)."""
    granule = downloadable(session, caller, granule_id)
    if granule.file_id is None:
        raise NotFound(f"granule {granule_id} is an observation log entry and has no file")
    for sibling in session.scalars(
        select(Granule.id).where(Granule.file_id == granule.file_id, Granule.id != granule.id)
    ):
        downloadable(session, caller, sibling)
    file = session.get(OifitsFile, granule.file_id)
    if file is None:  # the file's row is hidden from the caller, as its collection is
        raise NotFound(f"no granule {granule_id}")
    return file


#: A rights check of :mod:`.access`'s kind: returns when allowed, raises the refusal otherwise.
Check = Callable[[Session, Caller, int], object]


def _refusal(session: Session, caller: Caller, check: Check, granule_id: int) -> str | None:
    """``check(session, caller, granule_id)``'s refusal as a DataLink fault, None if allowed."""
    try:
        check(session, caller, granule_id)
    except (Unauthorized, Forbidden, NotFound) as error:
        return _fault(error)
    return None


def _rights(
    session: Session, caller: Caller, check: Check, granule: Granule
) -> tuple[str | None, str]:
    """The caller's refusal (None if allowed) and DataLink's ``link_auth``: ``true`` while
    only some callers may follow the link (a private collection, an embargo)."""
    refusal = _refusal(session, caller, check, granule.id)
    collection = session.get(Collection, granule.obs_collection)
    if collection is None or collection.private:
        return refusal, "true"
    anonymous = refusal if caller == ANONYMOUS else _refusal(session, ANONYMOUS, check, granule.id)
    return refusal, "false" if anonymous is None else "true"


# --------------------------------------------------------------------------------------
# Links


def parse_identifiers(identifiers: Sequence[str]) -> list[str]:
    if not identifiers:
        raise InvalidParameter("ID", "at least one identifier is required")
    if len(identifiers) > MAX_IDS:
        raise InvalidParameter("ID", f"at most {MAX_IDS} identifiers per request")
    return list(identifiers)


def parse_response_format(value: str | None) -> None:
    if value is not None and "".join(value.split()).lower() not in RESPONSE_FORMATS:
        raise InvalidParameter(
            "RESPONSEFORMAT", f"must be one of {', '.join(RESPONSE_FORMATS)} (DataLink VOTable)"
        )


def find_granule(session: Session, identifier: str) -> Granule | None:
    """The granule visible in ``session`` whose publisher DID or numeric id is ``identifier``."""
    condition = Granule.obs_publisher_did == identifier
    if identifier.isascii() and identifier.isdigit() and int(identifier) < 2**63:
        condition = or_(condition, Granule.id == int(identifier))
    return session.scalars(select(Granule).where(condition).order_by(Granule.id).limit(1)).first()


def _file_links(
    session: Session, caller: Caller, identifier: str, granule: Granule, urls: Urls
) -> Iterator[Link]:
    file = session.get(OifitsFile, granule.file_id)
    if file is None:
        return
    file_refusal, file_auth = _rights(session, caller, downloadable_file, granule)
    yield Link(
        identifier,
        None if file_refusal else urls.download(granule.id, file.filename),
        None,
        file_refusal,
        "#this",
        f"OIFITS file {file.filename}",
        FITS_MEDIA_TYPE,
        file.size_bytes,
        "#visibility",
        "oifits",
        file_auth,
        file_refusal is None,
    )
    preview_refusal, preview_auth = _rights(session, caller, downloadable, granule)
    for kind in preview_kinds_of(granule):
        yield Link(
            identifier,
            None if preview_refusal else urls.preview(granule.id, kind),
            None,
            preview_refusal,
            "#preview",
            PREVIEW_KINDS[kind],
            "image/png",
            local_semantics=kind,
            link_auth=preview_auth,
            link_authorized=preview_refusal is None,
        )
    yield Link(
        identifier,
        urls.report(file.id),
        None,
        None,
        "#auxiliary",
        f"Validation report of {file.filename} (OIFITS standard)",
        "application/json",
        local_semantics="validation-report",
        link_auth="false",
        link_authorized=True,
    )


def _observation_log_links(identifier: str, granule: Granule, settings: Settings) -> Iterator[Link]:
    if granule.access_url:
        yield Link(
            identifier,
            granule.access_url,
            None,
            None,
            "#this",
            "The raw data of this exposure where they are archived",
            granule.access_format or "text/html",
            link_auth="optional",
            link_authorized=True,
        )
    if granule.obs_id:
        page = f"{settings.obsportal_url.rstrip('/')}/detail/exposure/{quote(granule.obs_id)}"
        if page != granule.access_url:
            yield Link(
                identifier,
                page,
                None,
                None,
                "#auxiliary",
                "The exposure in the ObsPortal observation log",
                "text/html",
                local_semantics="obsportal-exposure",
                link_auth="false",
                link_authorized=True,
            )


def links_of(
    session: Session, caller: Caller, identifier: str, urls: Urls, settings: Settings
) -> list[Link]:
    granule = find_granule(session, identifier)
    if granule is None:
        return [
            Link(identifier, None, None, f"NotFoundFault: no granule {identifier}", "#this", None)
        ]
    if granule.file_id is not None:
        links = list(_file_links(session, caller, identifier, granule, urls))
    else:
        links = list(_observation_log_links(identifier, granule, settings))
    links.append(
        Link(
            identifier,
            urls.granule_page(granule.id),
            None,
            None,
            "#documentation",
            "The granule's page: its metadata, quick-looks and validation report",
            "text/html",
            link_auth="false",
            link_authorized=True,
        )
    )
    return links


def links_document(
    database: Database,
    settings: Settings,
    caller: Caller,
    identifiers: Sequence[str],
    urls: Urls,
) -> bytes:
    """The DataLink VOTable of ``identifiers``, links of each identifier together, in order."""
    with reading(database, caller) as session:
        rows = [
            astuple(link)
            for identifier in identifiers
            for link in links_of(session, caller, identifier, urls, settings)
        ]
    writer = VOTableWriter(FIELDS, table_name="links", resource_name="datalink")
    return b"".join(writer.iter_bytes(rows))


# --------------------------------------------------------------------------------------
# Downloads


@dataclass(frozen=True)
class StoredFile:
    path: Path
    filename: str
    md5: str
    size: int


def attachment(filename: str) -> str:
    """``Content-Disposition`` naming the saved file: a plain ASCII name for every client and
    the exact one (RFC 6266) for those that read it."""
    plain = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def stored_file(
    database: Database, settings: Settings, caller: Caller, granule_id: int, filename: str | None
) -> StoredFile:
    """The OIFITS file of a granule as stored, once ``caller``'s rights are checked."""
    with reading(database, caller) as session:
        file = downloadable_file(session, caller, granule_id)
    if filename is not None and filename != file.filename:
        raise NotFound(f"granule {granule_id}'s file is named {file.filename!r}")
    path = file_path(settings, file.md5)
    if not path.is_file():
        logger.error("stored OIFITS file %s of granule %s is missing", file.md5, granule_id)
        raise NotFound(f"the file of granule {granule_id} is not available")
    return StoredFile(path, file.filename, file.md5, file.size_bytes)


def preview(
    database: Database, settings: Settings, caller: Caller, granule_id: int, kind: str
) -> bytes:
    """A quick-look PNG of a granule, once ``caller``'s rights on the granule are checked."""
    with reading(database, caller) as session:
        granule = downloadable(session, caller, granule_id)
        file = session.get(OifitsFile, granule.file_id) if granule.file_id is not None else None
    if file is None:
        raise NotFound(f"granule {granule_id} is an observation log entry and has no quick-look")
    check_kind(granule, kind)
    return render_preview(settings, granule, file_path(settings, file.md5), kind)


# --------------------------------------------------------------------------------------
# VOSI


def _xml(model) -> bytes:
    return model.to_xml(encoding="UTF-8", xml_declaration=True, skip_empty=True)


def capabilities_document(base: str) -> bytes:
    """VOSI capabilities: DataLink ``{links}`` and the VOSI endpoints beside it."""
    links = Capability(
        standard_id=DATALINK_STANDARD,
        interface=[
            ParamHTTP(
                role="std",
                version="1.1",
                access_url=[AccessURL(value=f"{base}/datalink", use="full")],
            )
        ],
    )
    endpoints = [
        Capability(
            standard_id=standard_id,
            interface=[
                ParamHTTP(access_url=[AccessURL(value=f"{base}/datalink/{path}", use="full")])
            ],
        )
        for path, standard_id in VOSI_ENDPOINTS
    ]
    return _xml(VOSICapabilities(capability=[links, *endpoints]))


def availability_document(database: Database) -> bytes:
    """VOSI availability: DataLink works while the database answers."""
    available = database.status().reachable
    note = (
        "DataLink, downloads and quick-looks are available."
        if available
        else "The database does not answer: links cannot be resolved now."
    )
    return _xml(Availability(available=available, up_since=STARTED_AT, note=[note]))

"""Star names checked against SIMBAD, with a cache in the service's database.

A service declares its own cache table from :class:`NameResolutionColumns` (services never
share tables) and its settings from :class:`ResolverSettings`, then asks
``Resolver(settings, cache_table).resolve(session, name)``.

Every answer, found or not, is kept in the cache, so a name is asked once. Offline (the
default in tests and development) the resolver answers from that cache and from recorded
answers (``resolver_recordings``: one file per name, :func:`recording_name`) and never reaches
the network. A name it could not check is said to be so, with the reason; it never counts as
found.

SIMBAD is asked through CDS's Sesame resolver (one GET, an XML answer) rather than
astroquery's ``Simbad``: astroquery 0.4 only talks HTTPS to its two named mirrors
(``Simbad.server`` refuses any other host), so tests cannot point the real client at a
loopback server replaying recorded answers; it asks through SIMBAD's TAP service via pyvo
(an ADQL job per name) and costs seconds of import in every command and worker, and its
cache is per process, where ours is shared by every process of the service. Sesame's
SIMBAD-only answer (``-oxp/S``) carries the same main identifier and ICRS position.
"""

import logging
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field
from sqlalchemy import Boolean, DateTime, Double, Text, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from .errors import InvalidParameter

logger = logging.getLogger(__name__)

Status = Literal["found", "not_found", "not_checked"]

#: Why a name was not checked, as people read it.
OFFLINE = "resolver offline"
UNREACHABLE = "the name resolver did not answer"
UNREADABLE = "the resolver's answer was unreadable"


def normalised(name: str) -> str:
    """A name as the cache keys it: upper case, single spaces."""
    return " ".join(name.upper().split())


def recording_name(name: str) -> str:
    """File name of the recorded answer for ``name``."""
    return quote(normalised(name), safe="") + ".xml"


class ResolverSettings(BaseModel):
    """The resolver's settings, mixed into a service's settings (``<PREFIX>_RESOLVER_*``)."""

    resolver_offline: bool = Field(
        True,
        title="Resolve names from the local cache and recordings only (never ask SIMBAD);"
        " other names are reported as not checked",
    )
    resolver_recordings: Path | None = Field(
        None, title="Folder of recorded SIMBAD answers the resolver may replay (offline runs)"
    )
    resolver_url: str = Field(
        "https://cds.unistra.fr/cgi-bin/nph-sesame/-oxp/S",
        title="Sesame (SIMBAD) name resolver asked when not offline: <url>?<name> answers XML",
    )
    resolver_timeout: float = Field(
        10.0, gt=0, le=120, title="Seconds to wait for the name resolver before 'not checked'"
    )


class NameResolutionColumns:
    """Columns of a name resolver's cache: one answer per normalised name (found or not).

    A service derives its table: ``class NameResolution(NameResolutionColumns, Base):
    __tablename__ = "name_resolutions"``.
    """

    #: Upper-case, single-spaced name as asked.
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    found: Mapped[bool] = mapped_column(Boolean)
    identifier: Mapped[str | None] = mapped_column(Text)
    ra: Mapped[float | None] = mapped_column(Double)
    dec: Mapped[float | None] = mapped_column(Double)
    resolved: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    source: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class Resolution:
    name: str
    status: Status
    #: SIMBAD's main identifier, single-spaced (``HD 58647``, ``* alf Cet``).
    identifier: str | None = None
    #: ICRS position, degrees.
    ra: float | None = None
    dec: float | None = None
    #: ``simbad``, ``recording`` or ``cache:<source>``.
    source: str | None = None
    #: Why it could not be checked.
    reason: str | None = None

    def summary(self) -> str:
        """One line for people: what the resolver said of the name, and from where."""
        if self.status == "found":
            return (
                f"{self.name}: {self.identifier} at {self.ra:.6f} {self.dec:+.6f} deg"
                f" ({self.source})"
            )
        if self.status == "not_found":
            return f"{self.name}: unknown to SIMBAD ({self.source})"
        return f"{self.name}: not checked: {self.reason}"

    def position_for(self, parameter: str, asked: str) -> tuple[float, float]:
        """The ICRS position of a name a search was given in ``parameter`` (as ``asked``).

        A name SIMBAD does not know, or that could not be checked, is refused naming the
        parameter: searching around no position would silently find nothing.
        """
        if self.status == "not_found":
            raise InvalidParameter(parameter, f"{asked!r} is unknown to SIMBAD")
        if self.status == "not_checked":
            raise InvalidParameter(parameter, f"{asked!r} could not be resolved: {self.reason}")
        return self.ra, self.dec


class UnreadableAnswer(ValueError):
    pass


def parse_sesame(name: str, document: bytes) -> Resolution:
    """A Sesame XML answer (``-oxp``): the first resolver that gave a position, if any."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError as error:
        raise UnreadableAnswer(f"not XML: {error}") from None
    for resolver in root.iter("Resolver"):
        ra, dec = resolver.findtext("jradeg"), resolver.findtext("jdedeg")
        if ra is None or dec is None:
            continue
        try:
            position = float(ra), float(dec)
        except ValueError:
            raise UnreadableAnswer("position is not a number") from None
        identifier = " ".join((resolver.findtext("oname") or name).split())
        return Resolution(name, "found", identifier, *position)
    return Resolution(name, "not_found")


class Resolver:
    """Resolves names for one request or job; reads and fills ``cache`` in the caller's session."""

    def __init__(self, settings: ResolverSettings, cache: type[NameResolutionColumns]) -> None:
        self.settings = settings
        self.cache = cache

    def resolve(self, session: Session, name: str) -> Resolution:
        key = normalised(name)
        cached = session.scalar(select(self.cache).where(self.cache.name == key))
        if cached is not None:
            return Resolution(
                key,
                "found" if cached.found else "not_found",
                cached.identifier,
                cached.ra,
                cached.dec,
                f"cache:{cached.source}",
            )
        try:
            answer = self._recorded(key) if self.settings.resolver_offline else self._asked(key)
        except UnreadableAnswer as error:
            logger.warning("name resolver answer for %r unreadable: %s", key, error)
            return Resolution(key, "not_checked", reason=UNREADABLE)
        if answer.status != "not_checked":
            self._remember(session, answer)
        return answer

    def _remember(self, session: Session, answer: Resolution) -> None:
        """Keep an answer; a concurrent request that kept one first wins (same answer)."""
        session.execute(
            insert(self.cache)
            .values(
                name=answer.name,
                found=answer.status == "found",
                identifier=answer.identifier,
                ra=answer.ra,
                dec=answer.dec,
                source=answer.source,
            )
            .on_conflict_do_nothing(index_elements=["name"])
        )

    def _recorded(self, key: str) -> Resolution:
        folder = self.settings.resolver_recordings
        try:
            document = (Path(folder) / recording_name(key)).read_bytes() if folder else None
        except OSError:  # no recording of this name
            document = None
        if document is None:
            return Resolution(key, "not_checked", reason=OFFLINE)
        return replace(parse_sesame(key, document), source="recording")

    def _asked(self, key: str) -> Resolution:
        url = f"{self.settings.resolver_url}?{quote(key, safe='')}"
        try:
            response = httpx.get(url, timeout=self.settings.resolver_timeout)
            response.raise_for_status()
        except httpx.HTTPError as error:
            logger.warning("name resolver unreachable for %r: %s", key, error)
            return Resolution(key, "not_checked", reason=UNREACHABLE)
        return replace(parse_sesame(key, response.content), source="simbad")

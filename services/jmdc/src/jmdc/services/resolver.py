"""Star names checked against SIMBAD (CDS's Sesame resolver), with a cache in the database.

Every answer, found or not, is kept in ``name_resolutions``, so a name is asked once. Offline
(``JMDC_RESOLVER_OFFLINE``, the default in tests and development) the resolver answers from
that cache and from recorded Sesame answers (``JMDC_RESOLVER_RECORDINGS``: one file per name,
``<quoted name>.xml``) and never reaches the network. A name it could not check is said to be
so, with the reason; it never counts as found.
"""

import logging
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import httpx
from sqlalchemy.orm import Session

from ..config import Settings
from ..storage import resolver as storage

logger = logging.getLogger(__name__)

Status = Literal["found", "not_found", "not_checked"]


def normalised(name: str) -> str:
    """A name as the cache keys it: upper case, single spaces."""
    return " ".join(name.upper().split())


def recording_name(name: str) -> str:
    """File name of the recorded answer for ``name``."""
    return quote(normalised(name), safe="") + ".xml"


@dataclass(frozen=True)
class Resolution:
    name: str
    status: Status
    identifier: str | None = None
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
    """Resolves names for one request or job; reads and fills the cache in its session."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def resolve(self, session: Session, name: str) -> Resolution:
        key = normalised(name)
        cached = storage.cached(session, key)
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
            return Resolution(key, "not_checked", reason="the resolver's answer was unreadable")
        if answer.status != "not_checked":
            storage.remember(
                session,
                key,
                found=answer.status == "found",
                identifier=answer.identifier,
                ra=answer.ra,
                dec=answer.dec,
                source=answer.source or "simbad",
            )
        return answer

    def _recorded(self, key: str) -> Resolution:
        folder = self.settings.resolver_recordings
        try:
            document = (Path(folder) / recording_name(key)).read_bytes() if folder else None
        except OSError:  # no recording of this name
            document = None
        if document is None:
            return Resolution(key, "not_checked", reason="resolver offline")
        answer = parse_sesame(key, document)
        return replace(answer, source="recording")

    def _asked(self, key: str) -> Resolution:
        url = f"{self.settings.resolver_url}?{quote(key, safe='')}"
        try:
            response = httpx.get(url, timeout=self.settings.resolver_timeout)
            response.raise_for_status()
        except httpx.HTTPError as error:
            logger.warning("name resolver unreachable for %r: %s", key, error)
            return Resolution(key, "not_checked", reason="the name resolver did not answer")
        answer = parse_sesame(key, response.content)
        return replace(answer, source="simbad")

"""Target identification: the name resolver (SIMBAD, :mod:`jmmc_core.name_resolver`) attaches a
canonical identifier and ICRS position to targets, and turns a name searched for into a cone.

Observing blocks name targets as their authors typed them (``HD_58647``, ``HD58647``,
``del Vir``); targets whose names SIMBAD resolves to one identifier are one star, and a
search by any of the names finds them all (:mod:`obsportal.storage.search`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from jmmc_core.name_resolver import UNREACHABLE, Resolver
from jmmc_core.spherical import Cone

from ..config import Settings
from ..schema import NameResolution
from ..storage import targets as storage
from ..storage.search import SearchCriteria


def name_resolver(settings: Settings) -> Resolver:
    """The platform's resolver, its answers cached in ``obsportal.name_resolutions``."""
    return Resolver(settings, NameResolution)


def asked_name(target_name: str) -> str:
    """The name SIMBAD is asked: observing blocks write ``HD_58647`` for ``HD 58647``."""
    return target_name.replace("_", " ")


@dataclass
class TargetsReport:
    """What one ``resolve-targets`` run did: targets found, unknown to SIMBAD, not checked."""

    found: int = 0
    not_found: int = 0
    #: One line per target the resolver could not check (offline, unreachable), with why.
    not_checked: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"targets resolved: {self.found} found, {self.not_found} unknown to SIMBAD,"
            f" {len(self.not_checked)} not checked"
        )


def resolve_targets(settings: Settings, engine: Engine) -> TargetsReport:
    """Resolve every target not yet checked, one transaction per target.

    A target the resolver could not check stays unchecked, so a later run (online, or with
    more recordings) tries it again; checked targets are never asked again. When SIMBAD does
    not answer, the run stops asking: the targets left are reported as not checked.
    """
    resolver = name_resolver(settings)
    report = TargetsReport()
    with Session(engine) as session:
        pending = storage.unchecked(session)
    for done, (target_id, name) in enumerate(pending):
        with Session(engine) as session, session.begin():
            answer = resolver.resolve(session, asked_name(name))
            if answer.status == "not_checked":
                report.not_checked.append(f"{name}: {answer.reason}")
                if answer.reason == UNREACHABLE:  # each of the others would wait as long
                    left = pending[done + 1 :]
                    report.not_checked += [f"{other}: {answer.reason}" for _, other in left]
                    break
                continue
            storage.record(session, target_id, answer)
        if answer.status == "found":
            report.found += 1
        else:
            report.not_found += 1
    return report


def resolved(settings: Settings, engine: Engine, criteria: SearchCriteria) -> SearchCriteria:
    """``criteria`` with the star named by ``resolve`` turned into the cone around its position
    (a name that does not resolve is refused naming ``resolve``)."""
    if criteria.resolve is None:
        return criteria
    name = criteria.resolve.name
    with Session(engine) as session, session.begin():
        answer = name_resolver(settings).resolve(session, asked_name(name))
    ra, dec = answer.position_for("resolve", name)
    return criteria.but(cone=Cone(ra=ra, dec=dec, radius=criteria.resolve.radius), resolve=None)

"""Versioned releases of the catalogue: freezing, reading back, comparing, withdrawing.

A release freezes the catalogue's current measurements (accepted or imported, not withdrawn)
into release ``n + 1``, its entries copied in the same transaction; the database refuses any
later change (:mod:`jmdc.storage.releases`). A release identical to the previous one is
refused: a new number must mean a new content, so that VizieR users comparing versions find
a difference. A withdrawn measurement stays in the releases that hold it, and leaves the next.
"""

import io
import tarfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from jmmc_core.errors import Conflict, InvalidParameter, NotFound

from ..models.releases import MAX_NOTE, MAX_REASON, MAX_TITLE
from ..schema import Release
from ..storage import releases as storage
from . import vizier

#: The ReadMe's words on the catalogue, the same for every release.
AUTHORS = ("JMMC",)
ABSTRACT = (
    "Stellar angular diameters measured by direct techniques: optical interferometry,"
    " intensity interferometry and lunar occultations, as published since the first"
    " experiments. Each measurement gives the uniform-disk and/or limb-darkened diameter"
    " retained from one publication, the band of the observation and the method."
)
DESCRIPTION = (
    "The catalogue is maintained by JMMC: astronomers submit new measurements through its"
    " portal, moderators check them against the publication, and curators freeze the"
    " accepted measurements into numbered releases, which never change once made. A"
    " measurement found wrong is withdrawn with a reason: it stays in the releases that"
    " hold it and leaves the next ones."
)


@dataclass(frozen=True)
class Change:
    """A measurement in both releases with different values:
    ``{field: {"old": value, "new": value}}``."""

    measurement_id: int
    id1: str
    fields: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Removal:
    """A measurement of the old release absent from the new one, and why."""

    measurement_id: int
    id1: str
    withdrawn: datetime | None
    reason: str | None


@dataclass(frozen=True)
class ReleaseDiff:
    old: Release
    new: Release
    added: list[dict[str, Any]] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    withdrawn: list[Removal] = field(default_factory=list)


class Unchanged(Conflict):
    """The catalogue is as the last release froze it: no new release."""


def _text(parameter: str, value: str | None, limit: int, required: bool) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise InvalidParameter(parameter, "required")
        return None
    if len(value) > limit:
        raise InvalidParameter(parameter, f"longer than {limit} characters")
    if "\x00" in value:
        raise InvalidParameter(parameter, "contains a NUL character")
    return value


def create_release(
    session: Session, title: str, note: str | None = None, created_by: int | None = None
) -> Release:
    """Freeze the current catalogue into the next release (one transaction, numbers never
    shared: concurrent calls wait for each other)."""
    title = _text("title", title, MAX_TITLE, required=True)
    note = _text("note", note, MAX_NOTE, required=False)
    storage.lock_for_release(session)
    last = storage.last_number(session)
    if last is not None and not storage.differs_from_current(session, last):
        raise Unchanged(f"nothing changed since release {last}: no measurement added, changed"
                       " or withdrawn")  # fmt: skip
    return storage.create(session, (last or 0) + 1, title, note, created_by)


def get_release(session: Session, number: int) -> Release:
    release = storage.get(session, number)
    if release is None:
        raise NotFound(f"no release {number}")
    return release


def list_releases(session: Session) -> list[Release]:
    """Every release, newest first."""
    return storage.all_releases(session)


def change_release(session: Session, number: int, values: dict[str, Any]) -> None:
    """A release's title or note cannot change: the database refuses (409)."""
    get_release(session, number)
    storage.change(session, number, values)


def delete_release(session: Session, number: int) -> None:
    """A release cannot be deleted: the database refuses (409)."""
    get_release(session, number)
    storage.remove(session, number)


def _history_entry(release: Release) -> vizier.HistoryEntry:
    return vizier.HistoryEntry(
        release.released.date(),
        release.measurement_count,
        f"release {release.number}, {release.title}",
    )


def release_files(session: Session, number: int) -> vizier.VizierFiles:
    """The ReadMe and ``jmdc.dat`` of a release, as VizieR publishes them."""
    release = get_release(session, number)
    about = vizier.ReleaseDescription(
        designation=f"JMDC/{release.number}",
        title=f"Release {release.number} of the catalogue: {release.title}",
        authors=AUTHORS,
        abstract=ABSTRACT,
        description="\n\n".join(part for part in (DESCRIPTION, release.note) if part),
        released=release.released.date(),
        history=[_history_entry(past) for past in storage.history(session, number)],
    )
    return vizier.write(storage.entries(session, number), about)


def release_archive(session: Session, number: int) -> bytes:
    """Both VizieR files in a gzipped tar, in a folder named after the release."""
    release = get_release(session, number)
    files = release_files(session, number)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in ((vizier.README_FILE, files.readme), (vizier.DATA_FILE, files.data)):
            data = content.encode("ascii")
            member = tarfile.TarInfo(f"jmdc-release-{number}/{name}")
            member.size = len(data)
            member.mtime = int(release.released.timestamp())
            member.mode = 0o644
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def diff(session: Session, old: int, new: int) -> ReleaseDiff:
    """What changed from release ``old`` to release ``new``: measurements added, changed
    (which fields, old and new values) and withdrawn (with the reason when one was given)."""
    result = ReleaseDiff(get_release(session, old), get_release(session, new))
    for row in storage.compared(session, old, new):
        before, after = row["old"], row["new"]
        if before is None:
            result.added.append({"measurement_id": row["measurement_id"], **after})
        elif after is None:
            result.withdrawn.append(Removal(row["measurement_id"], before["id1"],
                                            row["withdrawn"], row["withdrawn_reason"]))  # fmt: skip
        else:
            fields = {
                name: {"old": before[name], "new": after[name]}
                for name in storage.FROZEN_COLUMNS
                if before[name] != after[name]
            }
            result.changed.append(Change(row["measurement_id"], after["id1"], fields))
    return result


def withdraw(session: Session, measurement_id: int, reason: str) -> None:
    """Withdraw a measurement from the next releases, with the reason the diffs will show."""
    reason = _text("reason", reason, MAX_REASON, required=True)
    if storage.withdraw(session, measurement_id, reason) is None:
        found = storage.measurement(session, measurement_id)
        if found is None:
            raise NotFound(f"no measurement {measurement_id}")
        raise Conflict(f"measurement {measurement_id} was withdrawn on"
                       f" {found.withdrawn:%Y-%m-%d}: {found.withdrawn_reason}")  # fmt: skip


def history_lines(releases: Iterable[Release]) -> list[str]:
    """One line per release for the command line."""
    return [f"{r.number:>4}  {r.released:%Y-%m-%d}  {r.measurement_count:>7}  {r.title}"
            for r in releases]  # fmt: skip


def diff_json(difference: ReleaseDiff) -> dict[str, Any]:
    """A difference as JSON-ready values (the command line's ``--json``)."""
    return {
        "old": difference.old.number,
        "new": difference.new.number,
        "added": difference.added,
        "changed": [asdict(change) for change in difference.changed],
        "withdrawn": [asdict(removal) for removal in difference.withdrawn],
    }


def diff_lines(difference: ReleaseDiff) -> list[str]:
    """A difference for reading in a terminal: ``+`` added, ``~`` changed, ``-`` withdrawn."""
    lines = [
        f"release {difference.old.number} -> {difference.new.number}:"
        f" {len(difference.added)} added, {len(difference.changed)} changed,"
        f" {len(difference.withdrawn)} withdrawn"
    ]
    lines += [f"+ {row['measurement_id']} {row['id1']} {row['bibcode'] or ''}".rstrip()
              for row in difference.added]  # fmt: skip
    for change in difference.changed:
        fields = "; ".join(f"{name}: {values['old']} -> {values['new']}"
                           for name, values in change.fields.items())  # fmt: skip
        lines.append(f"~ {change.measurement_id} {change.id1}: {fields}")
    lines += [f"- {removal.measurement_id} {removal.id1}: {removal.reason or 'no longer listed'}"
              for removal in difference.withdrawn]  # fmt: skip
    return lines

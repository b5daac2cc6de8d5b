"""Embargo: when a granule's file becomes public, and the ObsCore ``data_rights`` it carries.

The original's rules: the embargo depends on the collection's type (SUV 2 years, PIONIER and
ESO 1 year, CHARA 18 months, none for the others) and is counted from the end of the
observation (``t_max``, MJD); calibrators are never embargoed (an empty category counts as
science); a collection's own ``release_date`` is a floor (the later of the two wins).

How it is stored, per granule of a file (calibration levels 1 to 3):

- ``obs_release_date``: the release date computed here, or NULL when nothing delays the data
  (no embargo, no collection floor). A science granule without ``t_max`` counts its embargo
  from its submission.
- ``data_rights``: ``secure`` when the release date was in the future when the granule was
  written, ``public`` otherwise. It is not rewritten when the date passes: the release test
  everywhere is the original's ``data_rights = 'public' OR obs_release_date <= now()``
  (:func:`is_released`, :data:`RELEASED_SQL`), and ObsCore publishes the value that test gives.

Level-0 granules (ObsPortal exposures) carry ESO's own release date, set by the import; a
change of their collection does not recompute them.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

from dateutil.relativedelta import relativedelta

#: Embargo per collection type; a type absent here has none.
EMBARGO: Mapping[str, relativedelta] = {
    "suv": relativedelta(years=2),
    "pionier": relativedelta(years=1),
    "eso": relativedelta(years=1),
    "chara": relativedelta(years=1, months=6),
}

#: Category of calibrator granules (``HIERARCH ESO PRO SCIENCE = F``), never embargoed.
CALIBRATOR = "CALIB"

#: Modified Julian Date 0.
MJD_EPOCH = datetime(1858, 11, 17, tzinfo=UTC)

#: SQL condition over a granule's columns: its file, previews and DataLink ``#this`` are
#: public. The same test as :func:`is_released`.
RELEASED_SQL = "(data_rights = 'public' OR obs_release_date <= now())"


def mjd_to_datetime(mjd: float) -> datetime:
    return MJD_EPOCH + timedelta(days=mjd)


def datetime_to_mjd(moment: datetime) -> float:
    return (moment - MJD_EPOCH) / timedelta(days=1)


def embargo_of(coltype: str) -> relativedelta | None:
    return EMBARGO.get(coltype.lower())


def release_date(
    coltype: str,
    collection_release_date: datetime | None,
    t_max_mjd: float | None,
    category: str | None,
    *,
    submitted: datetime | None = None,
) -> datetime | None:
    """When a granule's data become public; None when nothing delays them (public now).

    ``submitted`` (default: now) starts the embargo of a science granule without ``t_max``.
    """
    embargo = embargo_of(coltype)
    embargoed_until = None
    if embargo is not None and (category or "").strip().upper() != CALIBRATOR:
        observed = (
            mjd_to_datetime(t_max_mjd) if t_max_mjd is not None else submitted or datetime.now(UTC)
        )
        embargoed_until = observed + embargo
    dates = [date for date in (embargoed_until, collection_release_date) if date is not None]
    return max(dates) if dates else None


def data_rights_for(release: datetime | None, *, now: datetime | None = None) -> str:
    """``secure`` while ``release`` is in the future, else ``public``."""
    if release is not None and release > (now or datetime.now(UTC)):
        return "secure"
    return "public"


def is_released(
    data_rights: str, obs_release_date: datetime | None, *, now: datetime | None = None
) -> bool:
    """Whether a granule's file may go to anyone who sees the granule (:data:`RELEASED_SQL`)."""
    if data_rights == "public":
        return True
    return obs_release_date is not None and obs_release_date <= (now or datetime.now(UTC))


class _CollectionTerms(Protocol):
    coltype: str
    release_date: datetime | None


def granule_rights(
    collection: _CollectionTerms,
    t_max_mjd: float | None,
    category: str | None,
    *,
    submitted: datetime | None = None,
) -> tuple[datetime | None, str]:
    """``(obs_release_date, data_rights)`` of a file granule of ``collection``."""
    release = release_date(
        collection.coltype, collection.release_date, t_max_mjd, category, submitted=submitted
    )
    return release, data_rights_for(release)

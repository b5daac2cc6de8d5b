"""A small catalogue with known values for the search tests, written as rows (no files).

Three collections (public, embargoed, private to a group) with granules chosen so that each
filter of the search selects a known subset. Every name carries a unique tag, so searches of
one test run are not disturbed by what other tests of the shared database add.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from jmmc_core.database import Database
from oidb.config import Settings
from oidb.schema.catalogue import Collection, CollectionGroup, Granule

from ..service_fixture import Account, Accounts

_tags = itertools.count(1)

#: Granules: name → columns. Positions: alpha at (10, -20); beta 0.01° of RA away (34″).
GRANULES = {
    "alpha": dict(collection="public", instrument_name="GRAVITY", instrument_mode="HIGH-COMBINED",
                  facility_name="VLTI", interferometer_stations="U1 U2 U3 U4", calib_level=2,
                  dataproduct_category="SCIENCE", s_ra=10.0, s_dec=-20.0, t_min=58000.10,
                  t_max=58000.20, em_min=2.0e-6, em_max=2.4e-6, progid="0100.C-0001(A)",
                  datapi="Ann Smith"),
    "alpha-raw": dict(collection="public", target="alpha", instrument_name="GRAVITY",
                      instrument_mode="HIGH-COMBINED_SINGLE", facility_name="VLTI",
                      interferometer_stations="U1 U2 U3 U4", calib_level=0,
                      dataproduct_category="SCIENCE", s_ra=10.0, s_dec=-20.0, t_min=58000.11,
                      t_max=58000.12, em_min=2.0e-6, em_max=2.4e-6, progid="0100.C-0001(A)",
                      datapi="Ann Smith"),
    "beta": dict(collection="public", instrument_name="PIONIER", instrument_mode="FREE-H",
                 facility_name="VLTI", interferometer_stations="A0 G1 J2 K0", calib_level=2,
                 dataproduct_category="CALIB", s_ra=10.01, s_dec=-20.0, t_min=58100.10,
                 t_max=58100.20, em_min=1.5e-6, em_max=1.8e-6, progid="0100.C-0002(A)",
                 datapi="Bob Jones"),
    "gamma": dict(collection="public", instrument_name="MIRC-X", instrument_mode="H-PRISM50",
                  facility_name="CHARA", interferometer_stations="S1 S2 E1 E2 W1 W2",
                  calib_level=3, dataproduct_category=None, s_ra=200.0, s_dec=45.0,
                  t_min=59000.30, t_max=59000.40, em_min=1.5e-6, em_max=1.75e-6),
    "delta": dict(collection="public", instrument_name="MATISSE", instrument_mode="LOW",
                  facility_name="VLTI", interferometer_stations="A0 B2 C1 D0", calib_level=1,
                  dataproduct_category="SCIENCE", s_ra=300.0, s_dec=-60.0, t_min=58300.10,
                  t_max=58300.20, em_min=3.0e-6, em_max=4.0e-6),
    "epsilon": dict(collection="embargoed", instrument_name="PIONIER", instrument_mode="FREE-H",
                    facility_name="VLTI", interferometer_stations="A0 G1 J2 K0", calib_level=2,
                    dataproduct_category="SCIENCE", s_ra=50.0, s_dec=10.0, t_min=61000.10,
                    t_max=61000.20, em_min=1.5e-6, em_max=1.8e-6, embargoed=True),
    "zeta": dict(collection="private", instrument_name="GRAVITY", instrument_mode="LOW",
                 facility_name="VLTI", interferometer_stations="U1 U2 U3 U4", calib_level=2,
                 dataproduct_category="SCIENCE", s_ra=120.0, s_dec=-30.0, t_min=58500.10,
                 t_max=58500.20, em_min=2.0e-6, em_max=2.4e-6),
}  # fmt: skip


@dataclass
class SearchCatalogue:
    tag: str
    collections: dict[str, str]
    ids: dict[str, int] = field(default_factory=dict)
    member: Account | None = None
    outsider: Account | None = None

    def target(self, name: str) -> str:
        return f"{self.tag} {name}"

    def names(self, rows: list[dict]) -> list[str]:
        """The granule names of API rows (by id)."""
        by_id = {granule_id: name for name, granule_id in self.ids.items()}
        return [by_id[row["id"]] for row in rows]


def build(settings: Settings, accounts: Accounts) -> SearchCatalogue:
    tag = f"srch{next(_tags)}{uuid.uuid4().hex[:6]}"
    group_name, group_id = accounts.group()
    catalogue = SearchCatalogue(
        tag,
        {kind: f"{tag}-{kind}" for kind in ("public", "embargoed", "private")},
        member=accounts.new(groups=(group_name,)),
        outsider=accounts.new(),
    )
    release = datetime.now(UTC) + timedelta(days=365)
    database = Database(settings)
    try:
        with database.session() as session:
            for kind, coltype, private in (
                ("public", "public", False),
                ("embargoed", "pionier", False),
                ("private", "public", True),
            ):
                session.add(
                    Collection(
                        id=catalogue.collections[kind],
                        title=f"{tag} {kind} collection",
                        description=f"The {kind} collection of the search tests",
                        coltype=coltype,
                        private=private,
                    )
                )
            session.flush()
            for kind in ("embargoed", "private"):
                session.add(
                    CollectionGroup(collection_id=catalogue.collections[kind], group_id=group_id)
                )
            for name, values in GRANULES.items():
                values = dict(values)
                embargoed = values.pop("embargoed", False)
                granule = Granule(
                    obs_collection=catalogue.collections[values.pop("collection")],
                    target_name=catalogue.target(values.pop("target", name)),
                    obs_id=f"{tag}-{name}",
                    data_rights="secure" if embargoed else "public",
                    obs_release_date=release if embargoed else None,
                    **values,
                )
                session.add(granule)
                session.flush()
                catalogue.ids[name] = granule.id
    finally:
        database.dispose()
    return catalogue

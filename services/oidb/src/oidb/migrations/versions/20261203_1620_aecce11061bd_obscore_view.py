"""ivoa.obscore: ObsCore 1.1 over the granules, with OiDB's extensions

A view in the schema ``ivoa``, owned by the service, that TAP's reader may select from (the
service publishes it). It reads the granules with its owner's rights, so it applies the
collections' rule itself, keyed on the same settings as the policies of ``row_rights``: a
private collection's granules appear only to its owner, its groups and admins. As a security
barrier, a query's own conditions run after that rule unless their functions are leakproof, so
no condition can reveal a hidden row through an error.

``obs_id`` falls back to the granule's own id when the file names no observation (ObsCore
wants one on every row); ``data_rights`` is the value at the time of the query (an embargo
that has ended reads ``public``); ``s_region`` is a circle of diameter ``s_fov`` (a point when
the field is not known) around the target.

Revision ID: aecce11061bd
Revises: bfdcaf7dddcd
Create Date: 2026-12-03 16:20:00
"""

from alembic import op

revision = "aecce11061bd"
down_revision = "bfdcaf7dddcd"
branch_labels = None
depends_on = None

VIEW = """
CREATE VIEW ivoa.obscore WITH (security_barrier) AS
SELECT
    g.dataproduct_type,
    g.calib_level,
    g.obs_collection,
    coalesce(g.obs_id, 'oidb-' || g.id) AS obs_id,
    coalesce(g.obs_publisher_did, 'ivo://jmmc.fr/oidb?' || g.id) AS obs_publisher_did,
    g.obs_creator_name,
    g.obs_release_date,
    g.bib_reference,
    CASE WHEN g.data_rights = 'public' OR g.obs_release_date <= now() THEN 'public'
         ELSE g.data_rights END AS data_rights,
    g.access_url,
    g.access_format,
    g.access_estsize,
    g.target_name,
    g.s_ra,
    g.s_dec,
    g.s_fov,
    CASE WHEN g.s_ra IS NOT NULL AND g.s_dec IS NOT NULL THEN
        scircle(spoint(radians(g.s_ra), radians(g.s_dec)), radians(coalesce(g.s_fov, 0) / 2))
    END AS s_region,
    g.s_resolution,
    NULL::bigint AS s_xel1,
    NULL::bigint AS s_xel2,
    g.t_min,
    g.t_max,
    g.t_exptime,
    g.t_resolution,
    NULL::bigint AS t_xel,
    g.em_min,
    g.em_max,
    g.em_res_power,
    g.nb_channels::bigint AS em_xel,
    g.o_ucd,
    g.pol_states,
    NULL::bigint AS pol_xel,
    g.facility_name,
    g.instrument_name,
    g.id,
    g.instrument_mode,
    g.quality_level,
    g.interferometer_stations,
    g.nb_channels,
    g.nb_vis,
    g.nb_vis2,
    g.nb_t3,
    g.keywords,
    g.progid,
    g.proposal_subid,
    g.dataproduct_category,
    g.procsoft,
    g.datapi,
    g.note,
    g.access_md5,
    g.subdate
FROM oidb.granules g
WHERE g.obs_collection IN (
    SELECT c.id FROM oidb.collections c WHERE NOT c.private OR oidb.caller_reads(c.id)
)
"""


def upgrade() -> None:
    # Checked first: creating a schema needs a right on the database the service's role may
    # not hold where an operator made the schema for it.
    op.execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'ivoa')"
        " THEN CREATE SCHEMA ivoa; END IF; END $$"
    )
    op.execute(VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS ivoa.obscore")

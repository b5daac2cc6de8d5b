"""Targets resolved by name: normalised name keys (trigram-indexed), SIMBAD identifier and
ICRS position, the resolver's cache.

Revision ID: fbc17ea1b03e
Revises: a3c5e8f1b2d4
Create Date: 2026-12-03 19:07:13.470654
"""

import sqlalchemy as sa
from alembic import op

revision = "fbc17ea1b03e"
down_revision = "a3c5e8f1b2d4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Substring searches on name keys (LIKE '%KEY%') are served by trigram indexes.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    op.create_table(
        "name_resolutions",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("identifier", sa.Text(), nullable=True),
        sa.Column("ra", sa.Double(), nullable=True),
        sa.Column("dec", sa.Double(), nullable=True),
        sa.Column(
            "resolved", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_name_resolutions")),
        schema="obsportal",
    )
    op.add_column(
        "targets",
        sa.Column(
            "name_key",
            sa.Text(),
            sa.Computed("upper(regexp_replace(name, '[^[:alnum:]]+', '', 'g'))", persisted=True),
            nullable=False,
        ),
        schema="obsportal",
    )
    op.add_column("targets", sa.Column("resolution", sa.Text(), nullable=True), schema="obsportal")
    op.add_column(
        "targets",
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        schema="obsportal",
    )
    op.add_column("targets", sa.Column("identifier", sa.Text(), nullable=True), schema="obsportal")
    op.add_column(
        "targets",
        sa.Column(
            "identifier_key",
            sa.Text(),
            sa.Computed(
                "upper(regexp_replace(identifier, '[^[:alnum:]]+', '', 'g'))", persisted=True
            ),
            nullable=True,
        ),
        schema="obsportal",
    )
    op.add_column(
        "targets", sa.Column("identifier_ra", sa.Double(), nullable=True), schema="obsportal"
    )
    op.add_column(
        "targets", sa.Column("identifier_dec", sa.Double(), nullable=True), schema="obsportal"
    )
    op.create_check_constraint(
        op.f("ck_targets_resolution"),
        "targets",
        "resolution IN ('found', 'not_found')",
        schema="obsportal",
    )
    op.create_index(
        op.f("ix_obsportal_targets_identifier"),
        "targets",
        ["identifier"],
        unique=False,
        schema="obsportal",
    )
    op.create_index(
        "ix_targets_identifier_key",
        "targets",
        ["identifier_key"],
        unique=False,
        schema="obsportal",
        postgresql_using="gin",
        postgresql_ops={"identifier_key": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_targets_name_key",
        "targets",
        ["name_key"],
        unique=False,
        schema="obsportal",
        postgresql_using="gin",
        postgresql_ops={"name_key": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index(
        "ix_targets_name_key",
        table_name="targets",
        schema="obsportal",
        postgresql_using="gin",
        postgresql_ops={"name_key": "gin_trgm_ops"},
    )
    op.drop_index(
        "ix_targets_identifier_key",
        table_name="targets",
        schema="obsportal",
        postgresql_using="gin",
        postgresql_ops={"identifier_key": "gin_trgm_ops"},
    )
    op.drop_index(op.f("ix_obsportal_targets_identifier"), table_name="targets", schema="obsportal")
    op.drop_constraint(op.f("ck_targets_resolution"), "targets", schema="obsportal")
    op.drop_column("targets", "identifier_dec", schema="obsportal")
    op.drop_column("targets", "identifier_ra", schema="obsportal")
    op.drop_column("targets", "identifier_key", schema="obsportal")
    op.drop_column("targets", "identifier", schema="obsportal")
    op.drop_column("targets", "resolved_at", schema="obsportal")
    op.drop_column("targets", "resolution", schema="obsportal")
    op.drop_column("targets", "name_key", schema="obsportal")
    op.drop_table("name_resolutions", schema="obsportal")

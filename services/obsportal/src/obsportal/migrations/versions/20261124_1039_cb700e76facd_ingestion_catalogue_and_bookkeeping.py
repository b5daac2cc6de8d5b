"""Ingestion: catalogue (programmes, targets, observations, exposures) and run bookkeeping.

Revision ID: cb700e76facd
Revises: 0b5e7a1c2d01
Create Date: 2026-11-24 10:39:42.467603
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from jmmc_core.spherical import SPoint

revision = "cb700e76facd"
down_revision = "0b5e7a1c2d01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingestion_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), server_default="running", nullable=False),
        sa.Column("read_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("accepted_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("changed_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("excluded_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rejected_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "excluded_by_rule",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "rejected_by_reason",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed')", name=op.f("ck_ingestion_runs_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingestion_runs")),
        schema="obsportal",
    )
    op.create_index(
        op.f("ix_obsportal_ingestion_runs_finished_at"),
        "ingestion_runs",
        ["finished_at"],
        unique=False,
        schema="obsportal",
    )
    op.create_table(
        "programs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("pi_coi", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
        schema="obsportal",
    )
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("ra", sa.Double(), nullable=True),
        sa.Column("dec", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
        sa.UniqueConstraint("name", name=op.f("uq_targets_name")),
        schema="obsportal",
    )
    op.create_table(
        "excluded_headers",
        sa.Column("header_id", sa.Text(), nullable=False),
        sa.Column("instrument_name", sa.Text(), nullable=True),
        sa.Column("classification_rule", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("ingestion_run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ingestion_run_id"],
            ["obsportal.ingestion_runs.id"],
            name=op.f("fk_excluded_headers_ingestion_run_id_ingestion_runs"),
        ),
        sa.PrimaryKeyConstraint("header_id", name=op.f("pk_excluded_headers")),
        schema="obsportal",
    )
    op.create_index(
        op.f("ix_obsportal_excluded_headers_ingestion_run_id"),
        "excluded_headers",
        ["ingestion_run_id"],
        unique=False,
        schema="obsportal",
    )
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("grouping_key", sa.Text(), nullable=False),
        sa.Column("obs_type", sa.Text(), nullable=False),
        sa.Column("program_id", sa.Text(), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("instrument_name", sa.Text(), nullable=False),
        sa.Column("instrument_mode", sa.Text(), nullable=True),
        sa.Column("instrument_submode", sa.Text(), nullable=True),
        sa.Column("interferometer_name", sa.Text(), nullable=False),
        sa.Column("interferometer_stations", sa.Text(), nullable=True),
        sa.Column("ob_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "obs_type IN ('science', 'calibrator')", name=op.f("ck_observations_obs_type")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["obsportal.programs.id"],
            name=op.f("fk_observations_program_id_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["obsportal.targets.id"], name=op.f("fk_observations_target_id_targets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
        sa.UniqueConstraint("grouping_key", name=op.f("uq_observations_grouping_key")),
        schema="obsportal",
    )
    op.create_index(
        op.f("ix_obsportal_observations_program_id"),
        "observations",
        ["program_id"],
        unique=False,
        schema="obsportal",
    )
    op.create_index(
        op.f("ix_obsportal_observations_target_id"),
        "observations",
        ["target_id"],
        unique=False,
        schema="obsportal",
    )
    op.create_table(
        "rejects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("header_id", sa.Text(), nullable=True),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["obsportal.ingestion_runs.id"],
            name=op.f("fk_rejects_run_id_ingestion_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejects")),
        schema="obsportal",
    )
    op.create_index(
        op.f("ix_obsportal_rejects_header_id"),
        "rejects",
        ["header_id"],
        unique=False,
        schema="obsportal",
    )
    op.create_index(
        op.f("ix_obsportal_rejects_run_id"), "rejects", ["run_id"], unique=False, schema="obsportal"
    )
    op.create_table(
        "exposures",
        sa.Column("exp_id", sa.Text(), nullable=False),
        sa.Column("header_id", sa.Text(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("target_name", sa.Text(), nullable=False),
        sa.Column("target_ra", sa.Double(), nullable=True),
        sa.Column("target_dec", sa.Double(), nullable=True),
        sa.Column("position", SPoint(), nullable=True),
        sa.Column("instrument_name", sa.Text(), nullable=False),
        sa.Column("instrument_mode", sa.Text(), nullable=True),
        sa.Column("instrument_submode", sa.Text(), nullable=True),
        sa.Column("interferometer_name", sa.Text(), nullable=False),
        sa.Column("interferometer_stations", sa.Text(), nullable=True),
        sa.Column("program_id", sa.Text(), nullable=True),
        sa.Column("mjd_start", sa.Double(), nullable=True),
        sa.Column("mjd_end", sa.Double(), nullable=True),
        sa.Column("exposure_time", sa.Double(), nullable=True),
        sa.Column("projected_baselines", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("seeing", sa.Double(), nullable=True),
        sa.Column("tau0", sa.Double(), nullable=True),
        sa.Column("temperature", sa.Double(), nullable=True),
        sa.Column("em_min", sa.Double(), nullable=True),
        sa.Column("em_max", sa.Double(), nullable=True),
        sa.Column("em_res_power", sa.Double(), nullable=True),
        sa.Column("validation_level", sa.Integer(), nullable=False),
        sa.Column("validation_log", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("classification_rule", sa.Text(), nullable=False),
        sa.Column(
            "date_updated",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("date_release", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ingestion_run_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ingestion_run_id"],
            ["obsportal.ingestion_runs.id"],
            name=op.f("fk_exposures_ingestion_run_id_ingestion_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["observation_id"],
            ["obsportal.observations.id"],
            name=op.f("fk_exposures_observation_id_observations"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["obsportal.programs.id"], name=op.f("fk_exposures_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("exp_id", name=op.f("pk_exposures")),
        sa.UniqueConstraint("header_id", name=op.f("uq_exposures_header_id")),
        schema="obsportal",
    )
    op.create_index(
        "ix_exposures_date_updated", "exposures", ["date_updated"], unique=False, schema="obsportal"
    )
    op.create_index(
        "ix_exposures_instrument_mjd",
        "exposures",
        ["instrument_name", "mjd_start"],
        unique=False,
        schema="obsportal",
    )
    op.create_index(
        "ix_exposures_position",
        "exposures",
        ["position"],
        unique=False,
        schema="obsportal",
        postgresql_using="gist",
    )
    op.create_index(
        op.f("ix_obsportal_exposures_ingestion_run_id"),
        "exposures",
        ["ingestion_run_id"],
        unique=False,
        schema="obsportal",
    )
    op.create_index(
        op.f("ix_obsportal_exposures_observation_id"),
        "exposures",
        ["observation_id"],
        unique=False,
        schema="obsportal",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_obsportal_exposures_observation_id"), table_name="exposures", schema="obsportal"
    )
    op.drop_index(
        op.f("ix_obsportal_exposures_ingestion_run_id"), table_name="exposures", schema="obsportal"
    )
    op.drop_index(
        "ix_exposures_position", table_name="exposures", schema="obsportal", postgresql_using="gist"
    )
    op.drop_index("ix_exposures_instrument_mjd", table_name="exposures", schema="obsportal")
    op.drop_index("ix_exposures_date_updated", table_name="exposures", schema="obsportal")
    op.drop_table("exposures", schema="obsportal")
    op.drop_index(op.f("ix_obsportal_rejects_run_id"), table_name="rejects", schema="obsportal")
    op.drop_index(op.f("ix_obsportal_rejects_header_id"), table_name="rejects", schema="obsportal")
    op.drop_table("rejects", schema="obsportal")
    op.drop_index(
        op.f("ix_obsportal_observations_target_id"), table_name="observations", schema="obsportal"
    )
    op.drop_index(
        op.f("ix_obsportal_observations_program_id"), table_name="observations", schema="obsportal"
    )
    op.drop_table("observations", schema="obsportal")
    op.drop_index(
        op.f("ix_obsportal_excluded_headers_ingestion_run_id"),
        table_name="excluded_headers",
        schema="obsportal",
    )
    op.drop_table("excluded_headers", schema="obsportal")
    op.drop_table("targets", schema="obsportal")
    op.drop_table("programs", schema="obsportal")
    op.drop_index(
        op.f("ix_obsportal_ingestion_runs_finished_at"),
        table_name="ingestion_runs",
        schema="obsportal",
    )
    op.drop_table("ingestion_runs", schema="obsportal")

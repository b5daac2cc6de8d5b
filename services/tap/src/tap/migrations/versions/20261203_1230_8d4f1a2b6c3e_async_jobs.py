"""Async jobs: the jobs table and procrastinate's queue, both in the tap schema.

Procrastinate's own SQL (the schema of the installed version) is applied here, so Alembic owns
every change of the schema; its names are unqualified, so it runs with the search path on
``tap``. A later procrastinate upgrade ships migration SQL files: apply them in a new revision.

Revision ID: 8d4f1a2b6c3e
Revises: 3c9b2e7f6a04
Create Date: 2026-12-03 12:30:00
"""

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager
from sqlalchemy.dialects import postgresql

revision = "8d4f1a2b6c3e"
down_revision = "3c9b2e7f6a04"
branch_labels = None
depends_on = None

PHASES = "'PENDING', 'QUEUED', 'EXECUTING', 'COMPLETED', 'ERROR', 'ABORTED'"


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("owner_name", sa.String(length=64), nullable=True),
        sa.Column("client", sa.String(length=128), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("upload_parts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("execution_duration", sa.Integer(), nullable=False),
        sa.Column("creation_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("destruction_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("result_media_type", sa.String(length=128), nullable=True),
        sa.Column("result_rows", sa.BigInteger(), nullable=True),
        sa.Column("result_overflow", sa.Boolean(), nullable=True),
        sa.Column("queue_job_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(f"phase IN ({PHASES})", name=op.f("ck_jobs_phase")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        schema="tap",
    )
    op.create_index("ix_jobs_client_phase", "jobs", ["client", "phase"], schema="tap")
    op.create_index(op.f("ix_tap_jobs_owner_id"), "jobs", ["owner_id"], schema="tap")
    op.create_index(op.f("ix_tap_jobs_creation_time"), "jobs", ["creation_time"], schema="tap")
    op.create_index(
        op.f("ix_tap_jobs_destruction_time"), "jobs", ["destruction_time"], schema="tap"
    )
    op.execute("SET LOCAL search_path = tap, public")
    # Its '%' signs are not parameter markers: escaped as procrastinate itself does.
    op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))
    op.execute("SET LOCAL search_path = public")


def downgrade() -> None:
    op.drop_table("jobs", schema="tap")
    op.execute(
        """
        DO $$ DECLARE item record; BEGIN
            FOR item IN
                SELECT format('DROP %s IF EXISTS tap.%I CASCADE', kind, name) AS statement
                FROM (
                    SELECT 'TABLE' AS kind, tablename AS name FROM pg_tables
                    WHERE schemaname = 'tap' AND tablename LIKE 'procrastinate%'
                    UNION ALL
                    SELECT 'TYPE', typname FROM pg_type t
                    JOIN pg_namespace n ON n.oid = t.typnamespace
                    WHERE n.nspname = 'tap' AND typname LIKE 'procrastinate%'
                    AND typtype IN ('e', 'c')
                ) AS objects
            LOOP
                EXECUTE item.statement;
            END LOOP;
            FOR item IN
                SELECT p.oid::regprocedure AS signature FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'tap' AND p.proname LIKE 'procrastinate%'
            LOOP
                EXECUTE 'DROP FUNCTION IF EXISTS ' || item.signature || ' CASCADE';
            END LOOP;
        END $$
        """
    )

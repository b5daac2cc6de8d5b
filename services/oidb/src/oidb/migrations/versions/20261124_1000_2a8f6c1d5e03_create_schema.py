"""Create the oidb schema, pg_sphere and the TAP reader's rights.

Revision ID: 2a8f6c1d5e03
Revises:
Create Date: 2026-11-24 10:00:00
"""

from alembic import op

from jmmc_core.migrations import prepare_schema

revision = "2a8f6c1d5e03"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    prepare_schema(op.get_bind(), "oidb")


def downgrade() -> None:
    op.execute('DROP SCHEMA IF EXISTS "oidb" CASCADE')

"""Create the tap schema, pg_sphere and the TAP reader's rights.

Revision ID: 3c9b2e7f6a04
Revises:
Create Date: 2026-11-24 10:00:00
"""

from alembic import op

from jmmc_core.migrations import prepare_schema

revision = "3c9b2e7f6a04"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    prepare_schema(op.get_bind(), "tap")


def downgrade() -> None:
    op.execute('DROP SCHEMA IF EXISTS "tap" CASCADE')

"""Create the jmdc schema, pg_sphere and the TAP reader's rights.

Revision ID: 1d7c3a9e4b02
Revises:
Create Date: 2026-11-24 10:00:00
"""

from alembic import op

from jmmc_core.migrations import prepare_schema

revision = "1d7c3a9e4b02"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    prepare_schema(op.get_bind(), "jmdc")


def downgrade() -> None:
    op.execute('DROP SCHEMA IF EXISTS "jmdc" CASCADE')

"""Create the obsportal schema, pg_sphere and the TAP reader's rights.

Revision ID: 0b5e7a1c2d01
Revises:
Create Date: 2026-11-24 10:00:00
"""

from alembic import op

from jmmc_core.migrations import prepare_schema

revision = "0b5e7a1c2d01"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    prepare_schema(op.get_bind(), "obsportal")


def downgrade() -> None:
    op.execute('DROP SCHEMA IF EXISTS "obsportal" CASCADE')

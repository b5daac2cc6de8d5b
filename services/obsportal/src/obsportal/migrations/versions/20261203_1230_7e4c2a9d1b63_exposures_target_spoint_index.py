"""exposures: a GiST index on spoint(radians(target_ra), radians(target_dec)) for ADQL cones.

Revision ID: 7e4c2a9d1b63
Revises: 5d1f3a9b7c42
Create Date: 2026-12-03 12:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "7e4c2a9d1b63"
down_revision = "5d1f3a9b7c42"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_exposures_target_spoint",
        "exposures",
        [sa.text("spoint(radians(target_ra), radians(target_dec))")],
        schema="obsportal",
        postgresql_using="gist",
    )


def downgrade() -> None:
    op.drop_index("ix_exposures_target_spoint", table_name="exposures", schema="obsportal")

"""exposures: a B-tree index on (mjd_start, exp_id), the order searches and exports come in.

Revision ID: c81e4f2a6d70
Revises: fbc17ea1b03e
Create Date: 2026-12-03 19:30:00.000000
"""

from alembic import op

revision = "c81e4f2a6d70"
down_revision = "fbc17ea1b03e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_exposures_mjd_start_exp_id",
        "exposures",
        ["mjd_start", "exp_id"],
        schema="obsportal",
    )


def downgrade() -> None:
    op.drop_index("ix_exposures_mjd_start_exp_id", table_name="exposures", schema="obsportal")

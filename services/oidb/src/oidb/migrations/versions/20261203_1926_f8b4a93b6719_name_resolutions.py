"""The name resolver's cache (conesearch by star name).

Revision ID: f8b4a93b6719
Revises: aecce11061bd
Create Date: 2026-12-03 19:26:25.118006
"""

import sqlalchemy as sa
from alembic import op

revision = "f8b4a93b6719"
down_revision = "aecce11061bd"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
        schema="oidb",
    )


def downgrade() -> None:
    op.drop_table("name_resolutions", schema="oidb")

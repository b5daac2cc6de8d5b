"""exposures.projected_baselines_text: the baselines as the VOTables print them, made once.

Revision ID: 5d1f3a9b7c42
Revises: cb700e76facd
Create Date: 2026-11-24 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "5d1f3a9b7c42"
down_revision = "cb700e76facd"
branch_labels = None
depends_on = None


def _number(path: str) -> str:
    value = f"(b.value #>> '{{{path}}}')"
    return f"coalesce('''' || round({value}::numeric, 4)::text || '''', 'None')"


# The expression the searches formatted every row with until now; ingestion now writes the
# same text (obsportal.services.baselines.format_baselines).
_BASELINES_TEXT = (
    "(SELECT '{' || string_agg(format("
    "'''%s'': {''length'': {''start'': %s, ''end'': %s}, "
    "''angle'': {''start'': %s, ''end'': %s}}'"
    f", b.key, {_number('length,start')}, {_number('length,end')}, "
    f"{_number('angle,start')}, {_number('angle,end')}), ', ') || '}}'"
    " FROM jsonb_each(e.projected_baselines) AS b)"
)


def upgrade() -> None:
    op.add_column(
        "exposures",
        sa.Column("projected_baselines_text", sa.Text(), nullable=True),
        schema="obsportal",
    )
    op.execute(
        sa.text(
            f"UPDATE obsportal.exposures e SET projected_baselines_text = {_BASELINES_TEXT}"
            " WHERE e.projected_baselines IS NOT NULL"
        )
    )


def downgrade() -> None:
    op.drop_column("exposures", "projected_baselines_text", schema="obsportal")

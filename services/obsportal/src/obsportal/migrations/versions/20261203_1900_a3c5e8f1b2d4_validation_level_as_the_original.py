"""exposures: validation level as the original (1 complete, 0 incomplete), derived values rounded.

The level was 0 for a complete exposure and 1 or 2 with log entries; the original portal wrote
1 for a complete exposure and 0 otherwise, and the log says which. Derived doubles (means of
readings, end times, band edges) are cut back to 15 significant digits, which removes the
binary noise (0.41500000000000004 becomes 0.415) and keeps every measured digit.

Revision ID: a3c5e8f1b2d4
Revises: 7e4c2a9d1b63
Create Date: 2026-12-03 19:00:00.000000
"""

from alembic import op

revision = "a3c5e8f1b2d4"
down_revision = "7e4c2a9d1b63"
branch_labels = None
depends_on = None

DERIVED = ("mjd_end", "exposure_time", "seeing", "tau0", "em_min", "em_max", "em_res_power")


def upgrade() -> None:
    # float8 -> numeric keeps 15 significant digits (PostgreSQL's DBL_DIG).
    rounded = ", ".join(f"{column} = {column}::numeric::float8" for column in DERIVED)
    op.execute(
        "UPDATE obsportal.exposures SET validation_level ="
        " CASE WHEN jsonb_array_length(validation_log) = 0 THEN 1 ELSE 0 END, " + rounded
    )


def downgrade() -> None:
    # The former levels 1 and 2 cannot be told apart any more: both return as 1.
    op.execute(
        "UPDATE obsportal.exposures SET validation_level ="
        " CASE WHEN jsonb_array_length(validation_log) = 0 THEN 0 ELSE 1 END"
    )

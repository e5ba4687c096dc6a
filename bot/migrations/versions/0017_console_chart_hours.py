"""console: chart_hour, the charts' counts of each past hour (bot.console.read)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chart_hour",
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),  # hours since 1970-01-01 UTC
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in ("made", "sent", "sent_dm", "sent_reply", "dm_peak", "queued", "failed")
        ),
        sa.PrimaryKeyConstraint("hour"),
    )


def downgrade() -> None:
    op.drop_table("chart_hour")

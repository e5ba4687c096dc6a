"""mangopay: the browser data and IP address a person's card page gave, for the card pay-ins made in their name

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mangopayuser", schema=None) as batch_op:
        batch_op.add_column(sa.Column("browser_info", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("ip_address", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mangopayuser", schema=None) as batch_op:
        batch_op.drop_column("ip_address")
        batch_op.drop_column("browser_info")

"""cash-outs: the account each one paid (or asks its user to confirm), and when the user confirmed or refused it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 06:30:00.000000

Cash-outs made before the upgrade confirmed no account: a user's next cash-out asks them to confirm the account
it would pay, once.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.repo.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payout", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("account_code", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("account_confirmed_at", bot.repo.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("account_refused_at", bot.repo.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payout", schema=None) as batch_op:
        batch_op.drop_column("account_refused_at")
        batch_op.drop_column("account_confirmed_at")
        batch_op.drop_column("account_code")
        batch_op.drop_column("account_ref")

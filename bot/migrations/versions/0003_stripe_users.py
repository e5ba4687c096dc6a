"""stripe users

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 08:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.repo.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stripeuser",
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("payment_method_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("account_ready", sa.Boolean(), nullable=False),
        sa.Column("updated_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    with op.batch_alter_table("stripeuser", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stripeuser_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stripeuser_customer_id"), ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stripeuser", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stripeuser_customer_id"))
        batch_op.drop_index(batch_op.f("ix_stripeuser_account_id"))

    op.drop_table("stripeuser")

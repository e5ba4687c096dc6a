"""mangopay users: the Mangopay adapter's records (Natural User, wallets, card, recurring registrations, KYC)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 04:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.repo.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mangopayuser",
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("mangopay_user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("owner", sa.Boolean(), nullable=False),
        sa.Column("kyc_regular", sa.Boolean(), nullable=False),
        sa.Column("kyc_session_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("wallets", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("card_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("card_registration_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("recurring", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    with op.batch_alter_table("mangopayuser", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mangopayuser_mangopay_user_id"), ["mangopay_user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mangopayuser", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mangopayuser_mangopay_user_id"))

    op.drop_table("mangopayuser")

"""transfer timeline

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 06:51:56.743845
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.repo.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transferevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("transferevent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transferevent_transfer_id"), ["transfer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("transferevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transferevent_transfer_id"))

    op.drop_table("transferevent")

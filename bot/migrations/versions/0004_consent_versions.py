"""consent: when each version was asked, when money was confirmed

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:20:00.000000

Transfers already pending at the upgrade count as asked when they were made
(the rule before this revision); transfers whose money already moved count
towards the rolling cap from their last change.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.repo.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asked_at", bot.repo.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("asked_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", bot.repo.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_transfer_confirmed_at"), ["confirmed_at"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("attempted_at", bot.repo.types.UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE transfer SET asked_at = created_at WHERE status = 'pending'")
    op.execute(
        "UPDATE transfer SET confirmed_at = updated_at "
        "WHERE status IN ('executing', 'needs_auth', 'completed', 'held', 'returned')"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("attempted_at")
        batch_op.drop_column("version")
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfer_confirmed_at"))
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("asked_id")
        batch_op.drop_column("asked_at")

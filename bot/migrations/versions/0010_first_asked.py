"""consent: when a transfer's first version was asked, whatever edits came after, and when its answer was sent

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 06:00:00.000000

A transfer asked before the upgrade counts as first asked when its current version
was; one whose current version is not asked yet keeps no earlier moment (the rule
before this revision).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.repo.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_asked_at", bot.repo.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_asked_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("answered_at", bot.repo.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("answered_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_post_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.execute("UPDATE transfer SET first_asked_at = asked_at, first_asked_id = asked_id")


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("last_post_id")
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.drop_column("answered_id")
        batch_op.drop_column("answered_at")
        batch_op.drop_column("first_asked_id")
        batch_op.drop_column("first_asked_at")

"""public voice: who a reply names, checked when it is sent; when people were last seen

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:40:00.000000

Replies already queued at the upgrade have no names to check and go out as
they are; users already known count as never seen (their handle is looked up
before a later reply names them) and as having written to the bot when they
sent or asked for money before.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.repo.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seen_at", bot.repo.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("wrote_at", bot.repo.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("names", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.execute(
        'UPDATE "user" SET wrote_at = updated_at WHERE id IN (SELECT sender_id FROM transfer '
        "WHERE kind = 'send' UNION SELECT recipient_id FROM transfer WHERE kind = 'request')"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("names")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("wrote_at")
        batch_op.drop_column("seen_at")

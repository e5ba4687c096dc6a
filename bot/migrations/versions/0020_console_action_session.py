"""console: console_action.session_hash, the session a confirmation page was shown in (bot.console.actions)

A token is spent only in the session its page was shown in, while that session lasts. Rows stored before this
migration have no session and are never spent (their pages were shown at most `actions.VALID` ago: ask again).

Revision ID: 0020
Revises: 0018c
Create Date: 2026-12-07 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0020"
down_revision = "0018c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("console_action") as batch:
        batch.add_column(sa.Column("session_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("console_action") as batch:
        batch.drop_column("session_hash")

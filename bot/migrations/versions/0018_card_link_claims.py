"""web: page_link.claim, the card page's hold on its link while a card form is with the provider

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("page_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim", sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("page_link", schema=None) as batch_op:
        batch_op.drop_column("claim")

"""pages: what people type on the identity-and-terms page, and the links to paybot's pages the bot sent

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.repo.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity",
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("first_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("last_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("nationality", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("residence", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("address_line1", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("address_line2", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("city", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("postal_code", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("terms_url", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("terms_accepted_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lang", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("updated_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "page_link",
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("lang", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", bot.repo.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("nonce"),
    )
    with op.batch_alter_table("page_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_page_link_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("page_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_page_link_user_id"))
    op.drop_table("page_link")
    op.drop_table("identity")

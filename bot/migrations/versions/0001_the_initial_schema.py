"""the initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 06:48:34.108317
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.repo.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkpoint",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "lease",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("expires_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("to_user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("in_reply_to", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", bot.repo.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("x_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("transfer_root", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("about_user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "priority", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_priority"), ["priority"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_status"), ["status"], unique=False)

    op.create_table(
        "processeddm",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("processed_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "processedtweet",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("processed_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("lang", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("root_tweet_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("command_tweet_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sender_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recipient_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("memo", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("pay_key", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("payment_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("settle_key", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("settle_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("hold_until", bot.repo.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("root_tweet_id", "sender_id", "recipient_id"),
    )
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfer_recipient_id"), ["recipient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transfer_root_tweet_id"), ["root_tweet_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transfer_sender_id"), ["sender_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_transfer_status"), ["status"], unique=False)

    op.create_table(
        "user",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("handle", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("privacy", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("updated_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_handle"), ["handle"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_handle"))

    op.drop_table("user")
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfer_status"))
        batch_op.drop_index(batch_op.f("ix_transfer_sender_id"))
        batch_op.drop_index(batch_op.f("ix_transfer_root_tweet_id"))
        batch_op.drop_index(batch_op.f("ix_transfer_recipient_id"))

    op.drop_table("transfer")
    op.drop_table("processedtweet")
    op.drop_table("processeddm")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_status"))
        batch_op.drop_index(batch_op.f("ix_outbox_priority"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    op.drop_table("lease")
    op.drop_table("checkpoint")

"""console: operators, their sessions and sign-in attempts; the indexes the console's pages read by

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-07 10:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.repo.types

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

INDEXES = [
    ("transfer", "ix_transfer_created", ["created_at", "id"]),
    ("transfer", "ix_transfer_status_created", ["status", "created_at", "id"]),
    ("transfer", "ix_transfer_sender_created", ["sender_id", "created_at", "id"]),
    ("transfer", "ix_transfer_recipient_created", ["recipient_id", "created_at", "id"]),
    ("transferevent", "ix_transferevent_at_status", ["at", "status"]),
    ("outbox", "ix_outbox_transfer_root", ["transfer_root", "id"]),
    ("outbox", "ix_outbox_sent", ["sent_at", "kind", "created_at"]),
    ("outbox", "ix_outbox_created", ["created_at"]),
]


def upgrade() -> None:
    op.create_table(
        "operator",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("totp_secret", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("created_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "operator_session",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("operator", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("operator_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operator_session_operator"), ["operator"], unique=False)
    op.create_table(
        "sign_in_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_attempt_name_at", ["name", "at"], unique=False)
        batch_op.create_index("ix_sign_in_attempt_ip_at", ["ip", "at"], unique=False)
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_attempt_ip_at")
        batch_op.drop_index("ix_sign_in_attempt_name_at")
    op.drop_table("sign_in_attempt")
    with op.batch_alter_table("operator_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_session_operator"))
    op.drop_table("operator_session")
    op.drop_table("operator")

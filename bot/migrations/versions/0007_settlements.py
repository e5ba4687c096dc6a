"""settlements: one row per money step after the payment (release, return, refund, reverse)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00.000000

Each transfer's one `settle_key`/`settle_ref` pair becomes a settlement row
(sequence 1, the key unchanged, the whole amount): succeeded when the
provider's reference was recorded (the old code wrote it with the new status),
else pending with no reference, which crash recovery drives again with the
same key. A returned transfer with no key was refunded at the provider (the
dashboard): it gets a keyless refund row, so reconciliation still finds its
refund accounted for. Then the two columns go. A downgrade writes each
transfer's latest keyed settlement back into them.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.repo.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# What started each kind of step when only its key was kept.
_CAUSE = {"release": "claim", "return": "window", "refund": "operator", "reverse": "operator"}


def upgrade() -> None:
    op.create_table(
        "settlement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("cause", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("failure", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.repo.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("transfer_id", "step", "seq"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("settlement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settlement_ref"), ["ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_settlement_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_settlement_transfer_id"), ["transfer_id"], unique=False)

    conn = op.get_bind()
    transfer = sa.table(
        "transfer",
        sa.column("id", sa.Integer()),
        sa.column("amount_minor", sa.Integer()),
        sa.column("settle_key", sa.String()),
        sa.column("settle_ref", sa.String()),
        sa.column("updated_at", bot.repo.types.UTCDateTime(timezone=True)),
        sa.column("status", sa.String()),
    )
    settlement = sa.table(
        "settlement",
        *(sa.column(c) for c in ("transfer_id", "step", "seq", "amount_minor", "key", "ref", "status", "cause")),
        sa.column("created_at", bot.repo.types.UTCDateTime(timezone=True)),
        sa.column("updated_at", bot.repo.types.UTCDateTime(timezone=True)),
    )
    rows = conn.execute(
        sa.select(
            transfer.c.id,
            transfer.c.amount_minor,
            transfer.c.settle_key,
            transfer.c.settle_ref,
            transfer.c.updated_at,
            transfer.c.status,
        )
    ).all()
    moved = []
    for tid, amount, key, ref, at, status in rows:
        if key:
            step = key.partition(":")[0]
            moved.append(
                {
                    "transfer_id": tid,
                    "step": step,
                    "seq": 1,
                    "amount_minor": amount,
                    "key": key,
                    "ref": ref,
                    "status": "succeeded" if ref else "pending",
                    "cause": _CAUSE.get(step),
                    "created_at": at,
                    "updated_at": at,
                }
            )
        elif status == "returned":  # returned with no key of paybot's: a refund made at the provider
            moved.append(
                {
                    "transfer_id": tid,
                    "step": "refund",
                    "seq": 1,
                    "amount_minor": amount,
                    "key": None,
                    "ref": None,
                    "status": "succeeded",
                    "cause": "provider",
                    "created_at": at,
                    "updated_at": at,
                }
            )
    if moved:
        conn.execute(settlement.insert(), moved)

    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.drop_column("settle_ref")
        batch_op.drop_column("settle_key")


def downgrade() -> None:
    with op.batch_alter_table("transfer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settle_key", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("settle_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    conn = op.get_bind()
    latest = conn.execute(
        sa.text("SELECT transfer_id, key, ref FROM settlement WHERE key IS NOT NULL ORDER BY transfer_id, id")
    ).all()
    last = {tid: (key, ref) for tid, key, ref in latest}
    for tid, (key, ref) in last.items():
        conn.execute(
            sa.text("UPDATE transfer SET settle_key = :k, settle_ref = :r WHERE id = :i"),
            {"k": key, "r": ref, "i": tid},
        )
    with op.batch_alter_table("settlement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_transfer_id"))
        batch_op.drop_index(batch_op.f("ix_settlement_status"))
        batch_op.drop_index(batch_op.f("ix_settlement_ref"))

    op.drop_table("settlement")

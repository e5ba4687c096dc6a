"""domain: every stored status, kind, privacy, category, cause and page purpose is one of its enum's words (CHECK);
a timeline line records a dispute as a fact, not only in its words

Each column gets a CHECK constraint named `ck_<table>_<column>` listing the words of its domain enum (bot.domain),
the same ones bot.repo.schema's tables declare. Every row written by paybot so far holds one of them, so every row is
kept as it is. A row holding any other word (written by hand) stops the upgrade before anything changes, naming
the table, the column and the words, for the operator to decide: the migration never rewrites a money record.
On SQLite the tables are rebuilt (alembic's batch mode), indexes and unique keys included.

`transferevent.fact` is new (a domain.Fact, or NULL): what the code reads back from a transfer's timeline, which
it found before by the words of a note. The lines paybot wrote for a dispute ("disputed at the provider (...)",
"funds withdrawn by a dispute (...)") get their fact; a downgrade drops the column (the notes stay).

The words are written out here, not read from the enums: a later change of an enum comes with a migration of
its own, and this one keeps meaning what it meant.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TRANSFER_STATUSES = (
    "pending",
    "executing",
    "completed",
    "held",
    "failed",
    "cancelled",
    "expired",
    "returned",
    "needs_auth",
)
CHECKS: dict[str, dict[str, tuple[str, ...]]] = {
    "user": {"privacy": ("public", "private", "quiet")},
    "transfer": {"kind": ("send", "request"), "status": TRANSFER_STATUSES},
    "transferevent": {"status": TRANSFER_STATUSES},
    "settlement": {
        "step": ("release", "return", "refund", "reverse"),
        "status": ("pending", "succeeded", "failed"),
        "cause": ("claim", "window", "closing", "operator", "provider", "undeliverable"),
    },
    "outbox": {
        "kind": ("dm", "reply"),
        "status": ("queued", "sending", "sent", "failed", "dropped"),
        "category": ("ask", "ask_by_dm", "dm_answer", "closing_cashout", "help", "maintenance", "limit", "error"),
    },
    "payout": {"status": ("created", "succeeded", "failed", "not_made", "confirm_account")},
    "page_link": {"purpose": ("pay", "receive", "card", "recipient", "enrolled", "wallet")},
}
FACTS = ("disputed", "funds_withdrawn")
# The notes bot.app.events wrote for each fact, as they begin.
FACT_NOTES = {"disputed": "disputed at the provider", "funds_withdrawn": "funds withdrawn by a dispute"}


def _condition(column: str, words: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(w) for w in words)})"


def _refuse_strangers() -> None:
    """Stop before any change when a row holds a word its column's CHECK would refuse."""
    conn = op.get_bind()
    for table, columns in CHECKS.items():
        quoted = conn.dialect.identifier_preparer.quote(table)
        for column, words in columns.items():
            found = conn.execute(
                sa.text(
                    f"SELECT DISTINCT {column} FROM {quoted} "  # noqa: S608 (names from CHECKS)
                    f"WHERE {column} IS NOT NULL AND NOT ({_condition(column, words)})"
                )
            ).all()
            if found:
                strangers = ", ".join(sorted(repr(r[0]) for r in found))
                raise RuntimeError(
                    f"table {table}, column {column} holds {strangers}, which paybot never writes: "
                    f"change those rows to one of {', '.join(words)}, then upgrade again"
                )


def upgrade() -> None:
    _refuse_strangers()
    with op.batch_alter_table("transferevent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fact", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    for fact, start in FACT_NOTES.items():  # no LIKE wildcard in these words
        op.execute(
            sa.text("UPDATE transferevent SET fact = :fact WHERE note LIKE :start").bindparams(
                fact=fact, start=f"{start} (%"
            )
        )
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, words in columns.items():
                batch_op.create_check_constraint(f"ck_{table}_{column}", _condition(column, words))
            if table == "transferevent":
                batch_op.create_check_constraint("ck_transferevent_fact", _condition("fact", FACTS))


def downgrade() -> None:
    for table, columns in reversed(CHECKS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "transferevent":
                batch_op.drop_constraint("ck_transferevent_fact", type_="check")
            for column in reversed(columns):
                batch_op.drop_constraint(f"ck_{table}_{column}", type_="check")
    with op.batch_alter_table("transferevent", schema=None) as batch_op:
        batch_op.drop_column("fact")

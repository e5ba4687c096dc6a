"""What the sandbox provider keeps, in its own SQLite file: the people behind the cards (a saved card, able to
receive), each idempotency key's first result, payments, approvals waiting on the pretend page, the events it tells,
and the money that moved after a payment (refunds and reversals).

`SandboxRecords` owns the file: its tables (made, and widened by the columns added since their first version), one
write transaction at a time on one connection shared under a lock (`tx`), and the key rule (`once`: the same key with
the same arguments answers the first result; with others, IdempotencyError). The functions below work inside one such
transaction; none of this module decides what a payment does.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.errors import IdempotencyError, ProviderError, ProviderTransient
from bot.money import Money
from bot.ports import PayOutcome

CARDS = ("ok", "declined", "needs_auth")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (user_id TEXT PRIMARY KEY, card TEXT);
CREATE TABLE IF NOT EXISTS accounts (user_id TEXT PRIMARY KEY, payouts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS operations (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, params TEXT NOT NULL, result TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS payments (
    ref TEXT PRIMARY KEY, sender_id TEXT NOT NULL, recipient_id TEXT NOT NULL,
    amount_minor INTEGER NOT NULL, currency TEXT NOT NULL,
    state TEXT NOT NULL, settle_ref TEXT);
CREATE TABLE IF NOT EXISTS approvals (
    key TEXT PRIMARY KEY, sender_id TEXT NOT NULL, recipient_id TEXT NOT NULL,
    amount_minor INTEGER NOT NULL, currency TEXT NOT NULL, state TEXT NOT NULL, ref TEXT);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, user_id TEXT, key TEXT, ref TEXT, outcome TEXT);
CREATE TABLE IF NOT EXISTS movements (
    ref TEXT PRIMARY KEY, payment_ref TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
    amount_minor INTEGER NOT NULL, state TEXT NOT NULL);
"""
# Columns added to a table after its first version (a sandbox file made before keeps working).
_ADDED = {
    "events": ("settle_ref TEXT", "amount_minor INTEGER", "reason TEXT", "pending INTEGER"),
    "payments": ("before_refund TEXT",),
}


class SandboxRecords:
    """The sandbox's SQLite file: its tables, its one connection, and what each key first answered."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.fail_next = 0  # money calls that time out after doing their work (tests)
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.executescript(_SCHEMA)
            for table, columns in _ADDED.items():
                have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                for column in columns:
                    if column.split()[0] not in have:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
            db.commit()
        finally:
            db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the provider's own connection (opened once, shared under a lock)."""
        with self._lock:
            if self._db is None:
                self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the provider's connection (a new call opens it again)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def once(
        self, key: str, kind: str, params: dict[str, Any], run: Callable[[sqlite3.Connection], dict[str, Any]]
    ) -> dict[str, Any]:
        """`run`'s result the first time `key` is used; the same result for the same `kind` and `params` after that;
        IdempotencyError for the key used with others. `fail_next` makes it time out after the work is done."""
        blob = json.dumps(params, sort_keys=True)
        with self.tx() as db:
            row = db.execute("SELECT kind, params, result FROM operations WHERE key = ?", (key,)).fetchone()
            if row is not None:
                if (row[0], row[1]) != (kind, blob):
                    raise IdempotencyError(f"key {key} was used with other parameters")
                return dict(json.loads(row[2]))
            result = run(db)
            db.execute("INSERT INTO operations VALUES (?, ?, ?, ?)", (key, kind, blob, json.dumps(result)))
        if self.fail_next:
            self.fail_next -= 1
            raise ProviderTransient("the sandbox timed out after doing the work")
        return dict(result)

    # ---- the people behind the cards

    def card(self, user_id: str) -> str | None:
        """The user's saved card ("ok", "declined", "needs_auth"), None without one."""
        with self.tx() as db:
            row = db.execute("SELECT card FROM customers WHERE user_id = ?", (user_id,)).fetchone()
        return row[0] if row else None

    def can_receive(self, user_id: str) -> bool:
        with self.tx() as db:
            row = db.execute("SELECT payouts FROM accounts WHERE user_id = ?", (user_id,)).fetchone()
        return bool(row and row[0])

    def set_card(self, user_id: str, card: str | None) -> None:
        """Save (or remove, with None) the user's card: "ok", "declined" or "needs_auth"."""
        if card is not None and card not in CARDS:
            raise ValueError(f"card must be one of {CARDS} or None, not {card!r}")
        with self.tx() as db:
            db.execute(
                "INSERT INTO customers(user_id, card) VALUES (?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET card = excluded.card",
                (user_id, card),
            )

    def set_cards(self, cards: dict[str, str | None]) -> None:
        """Save many users' cards in one transaction (test and benchmark set-up)."""
        with self.tx() as db:
            db.executemany(
                "INSERT INTO customers(user_id, card) VALUES (?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET card = excluded.card",
                list(cards.items()),
            )

    def set_payouts_many(self, user_ids: list[str]) -> None:
        """Mark many users as onboarded in one transaction (test and benchmark set-up)."""
        with self.tx() as db:
            db.executemany(
                "INSERT INTO accounts(user_id, payouts) VALUES (?, 1) ON CONFLICT(user_id) DO UPDATE SET payouts = 1",
                [(u,) for u in user_ids],
            )

    def set_payouts(self, user_id: str, enabled: bool) -> None:
        """Mark the user as onboarded (able to receive) or not."""
        with self.tx() as db:
            db.execute(
                "INSERT INTO accounts(user_id, payouts) VALUES (?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET payouts = excluded.payouts",
                (user_id, int(enabled)),
            )

    # ---- records, for tests and reconciliation

    def payments(self) -> list[dict[str, Any]]:
        """Every payment the sandbox holds, oldest first."""
        return self._rows("SELECT * FROM payments ORDER BY ref")

    def movements(self) -> list[dict[str, Any]]:
        """Every refund and reversal, in order: ref, payment_ref, kind, key, amount_minor, state."""
        return self._rows("SELECT * FROM movements ORDER BY rowid")

    def operations(self) -> int:
        """How many distinct idempotency keys were used."""
        with self.tx() as db:
            return int(db.execute("SELECT COUNT(*) FROM operations").fetchone()[0])

    def _rows(self, query: str) -> list[dict[str, Any]]:
        with self.tx() as db:
            cur = db.execute(query)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return [dict(zip(names, r, strict=True)) for r in rows]


def charge(db: sqlite3.Connection, sender_id: str, recipient_id: str, minor: int, currency: str) -> dict[str, Any]:
    """A payment made: paid to a recipient who can receive, else held for them."""
    acct = db.execute("SELECT payouts FROM accounts WHERE user_id = ?", (recipient_id,)).fetchone()
    n = db.execute("SELECT COUNT(*) FROM payments").fetchone()[0]
    ref = f"py_sandbox_{n + 1:06d}"
    state = "paid" if acct and acct[0] else "held"
    db.execute(
        "INSERT INTO payments(ref, sender_id, recipient_id, amount_minor, currency, state) VALUES (?, ?, ?, ?, ?, ?)",
        (ref, sender_id, recipient_id, minor, currency, state),
    )
    return {"outcome": PayOutcome.PAID if state == "paid" else PayOutcome.HELD, "ref": ref}


def mark_refunded(db: sqlite3.Connection, payment_ref: str) -> None:
    """A payment refunded in full (refunds done or in progress) is 'refunded'; one whose refund failed goes
    back to where it was (what the recipient gave back stays with the platform, as the refund took it)."""
    minor, state = db.execute("SELECT amount_minor, state FROM payments WHERE ref = ?", (payment_ref,)).fetchone()
    refunds = db.execute(
        "SELECT ref, amount_minor FROM movements WHERE payment_ref = ? AND kind = 'refund' "
        "AND state != 'failed' ORDER BY rowid",
        (payment_ref,),
    ).fetchall()
    back = sum(m for _, m in refunds)
    if back >= minor and state != "refunded":
        db.execute(
            "UPDATE payments SET state = 'refunded', settle_ref = ?, before_refund = ? WHERE ref = ?",
            (refunds[-1][0], state, payment_ref),
        )
    elif back < minor and state == "refunded":
        db.execute("UPDATE payments SET state = COALESCE(before_refund, 'paid') WHERE ref = ?", (payment_ref,))


def held(db: sqlite3.Connection, payment_ref: str, amount: Money, also: tuple[str, ...] = ()) -> None:
    """ProviderError unless the payment is held (or in one of the states `also` names) for exactly `amount`."""
    row = db.execute("SELECT state, amount_minor FROM payments WHERE ref = ?", (payment_ref,)).fetchone()
    if row is None:
        raise ProviderError(f"no such payment {payment_ref}")
    if row[0] != "held" and row[0] not in also:
        raise ProviderError(f"payment {payment_ref} is {row[0]}, not held")
    if row[1] != amount.minor:
        raise ProviderError(f"payment {payment_ref} holds {row[1]}, not {amount.minor}")

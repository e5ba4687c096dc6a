"""The sandbox provider: a pretend payment provider with its own SQLite file.

It keeps its records apart from the bot's store, as a real provider would, so
a crash between a provider call and the bot's commit is a real possibility.
Every money-moving call takes an idempotency key: the same key with the same
arguments returns the first result; with other arguments it is refused.

Users' saved cards are "ok", "declined" or "needs_auth" (or none). A
recipient who has not onboarded cannot receive: their money is charged to the
platform and held until it is released (claim) or refunded.

A "needs_auth" card behaves like a card whose bank wants the payer present:
the payment waits on a pretend approval page (`approve` plays the sender
there) and completes then, with an event, as Stripe's hosted page does.

Money that moved can go back in parts: refunds (each with its own key, up to
the payment's amount) and reversals (what the recipient still holds, back to
the platform). Three switches play what Stripe does to a platform: the
platform's balance too low for a release (`set_balance_short`), refunds that
stay pending until `finish_refund` says how they end (`hold_refunds`), and a
dispute that takes a payment's money back (`dispute`), each told by an event.

A cash-out (CASHOUT) is AUTOMATIC, as on Stripe Connect, which the sandbox
plays: see `cash_out`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.errors import IdempotencyError, InsufficientBalance, ProviderError, ProviderTransient
from bot.money import Money
from bot.ports import (
    NO_ACCOUNTS,
    CashOut,
    CashOutOutcome,
    EventKind,
    Onboarding,
    PayoutAccounts,
    PayOutcome,
    PayResult,
    ProviderEvent,
    ProviderPayment,
    Registration,
    Settled,
)

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
APPROVAL_URL = "https://sandbox.paybot.invalid/approve/"


class SandboxProvider:
    """The embedded payment provider; see the module docstring."""

    name = "sandbox"
    min_charge: dict[str, int] = {}  # noqa: RUF012 (read only: the sandbox charges any amount)

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._fail_next = 0
        self._balance_short = False  # releases refused: the platform's balance cannot cover them
        self._hold_refunds = False  # refunds stay pending until finish_refund
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
    def _tx(self) -> Iterator[sqlite3.Connection]:
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

    # ---- the people behind the cards (set by the sandbox's "hosted pages" and by tests)

    def set_card(self, user_id: str, card: str | None) -> None:
        """Save (or remove, with None) the user's card: "ok", "declined" or "needs_auth"."""
        if card is not None and card not in CARDS:
            raise ValueError(f"card must be one of {CARDS} or None, not {card!r}")
        with self._tx() as db:
            db.execute(
                "INSERT INTO customers(user_id, card) VALUES (?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET card = excluded.card",
                (user_id, card),
            )

    def set_cards(self, cards: dict[str, str | None]) -> None:
        """Save many users' cards in one transaction (test and benchmark set-up)."""
        with self._tx() as db:
            db.executemany(
                "INSERT INTO customers(user_id, card) VALUES (?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET card = excluded.card",
                list(cards.items()),
            )

    def set_payouts_many(self, user_ids: list[str]) -> None:
        """Mark many users as onboarded in one transaction (test and benchmark set-up)."""
        with self._tx() as db:
            db.executemany(
                "INSERT INTO accounts(user_id, payouts) VALUES (?, 1) ON CONFLICT(user_id) DO UPDATE SET payouts = 1",
                [(u,) for u in user_ids],
            )

    def set_payouts(self, user_id: str, enabled: bool) -> None:
        """Mark the user as onboarded (able to receive) or not."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO accounts(user_id, payouts) VALUES (?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET payouts = excluded.payouts",
                (user_id, int(enabled)),
            )

    def fail_next(self, n: int = 1) -> None:
        """Make the next n money calls time out after doing their work (tests)."""
        self._fail_next = n

    def set_balance_short(self, short: bool) -> None:
        """The platform's balance cannot cover releases (they raise InsufficientBalance) until set back."""
        self._balance_short = short

    def hold_refunds(self, hold: bool) -> None:
        """Refunds made from now on stay pending until `finish_refund` (as a bank can take days)."""
        self._hold_refunds = hold

    def finish_refund(self, ref: str, ok: bool, reason: str = "declined") -> None:
        """A refund ends: it went through, or it failed (the money comes back to the platform), even one
        that had gone through; an event tells it."""
        with self._tx() as db:
            row = db.execute(
                "SELECT payment_ref, key, amount_minor, state FROM movements WHERE ref = ? AND kind = 'refund'", (ref,)
            ).fetchone()
            if row is None:
                raise ValueError(f"no refund {ref}")
            payment_ref, key, minor, state = row
            new = "succeeded" if ok else "failed"
            if state == new:
                return
            db.execute("UPDATE movements SET state = ? WHERE ref = ?", (new, ref))
            self._mark_refunded(db, payment_ref)
            db.execute(
                "INSERT INTO events(kind, key, ref, settle_ref, amount_minor, reason) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    EventKind.REFUND_SETTLED if ok else EventKind.REFUND_FAILED,
                    key,
                    payment_ref,
                    ref,
                    minor,
                    None if ok else reason,
                ),
            )

    def dispute(self, payment_ref: str) -> None:
        """The payer's bank disputes the payment and takes its money back from the platform."""
        with self._tx() as db:
            row = db.execute("SELECT amount_minor FROM payments WHERE ref = ?", (payment_ref,)).fetchone()
            if row is None:
                raise ValueError(f"no payment {payment_ref}")
            n = db.execute(
                "SELECT COUNT(*) FROM events WHERE kind = ? AND ref = ?", (EventKind.DISPUTED, payment_ref)
            ).fetchone()[0]
            dispute = f"dp_{payment_ref}" + (f"_{n + 1}" if n else "")
            db.execute(
                "INSERT INTO events(kind, ref, settle_ref, amount_minor) VALUES (?, ?, ?, ?)",
                (EventKind.DISPUTED, payment_ref, dispute, row[0]),
            )
            db.execute(
                "INSERT INTO events(kind, ref, settle_ref, amount_minor) VALUES (?, ?, ?, ?)",
                (EventKind.FUNDS_WITHDRAWN, payment_ref, dispute, row[0]),
            )

    # ---- the port

    def has_card(self, user_id: str) -> bool:
        with self._tx() as db:
            row = db.execute("SELECT card FROM customers WHERE user_id = ?", (user_id,)).fetchone()
        return bool(row and row[0])

    def register(self, user_id: str) -> Registration:
        with self._tx() as db:
            row = db.execute("SELECT card FROM customers WHERE user_id = ?", (user_id,)).fetchone()
        if row and row[0]:
            return Registration(already=True)
        self.set_card(user_id, "ok")  # the sandbox's test card, ending 4242
        return Registration()

    def onboard(self, user_id: str, *, holds_for_others: bool = False) -> Onboarding:
        self.set_payouts(user_id, True)
        return Onboarding(ready=True)

    def can_receive(self, user_id: str) -> bool:
        with self._tx() as db:
            row = db.execute("SELECT payouts FROM accounts WHERE user_id = ?", (user_id,)).fetchone()
        return bool(row and row[0])

    def pay(
        self,
        *,
        key: str,
        sender_id: str,
        recipient_id: str,
        amount: Money,
        memo: str | None,
        reference: dict[str, str] | None = None,
    ) -> PayResult:
        params = {
            "sender": sender_id,
            "recipient": recipient_id,
            "amount": amount.minor,
            "currency": amount.currency,
            "memo": memo,
        }

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            row = db.execute("SELECT card FROM customers WHERE user_id = ?", (sender_id,)).fetchone()
            card = row[0] if row else None
            if card is None:
                return {"outcome": PayOutcome.NO_CARD, "reason": "no saved card"}
            if card == "declined":
                return {"outcome": PayOutcome.DECLINED, "reason": "card declined by the bank"}
            if card == "needs_auth":
                db.execute(
                    "INSERT INTO approvals VALUES (?, ?, ?, ?, ?, 'open', NULL)",
                    (key, sender_id, recipient_id, amount.minor, amount.currency),
                )
                return {
                    "outcome": PayOutcome.NEEDS_AUTH,
                    "reason": "authentication required",
                    "url": APPROVAL_URL + key.replace(":", "-"),
                }
            return self._charge(db, sender_id, recipient_id, amount.minor, amount.currency)

        result = self._once(key, "pay", params, run)
        return PayResult(PayOutcome(result["outcome"]), result.get("ref"), result.get("reason"), result.get("url"))

    @staticmethod
    def _charge(db: sqlite3.Connection, sender_id: str, recipient_id: str, minor: int, currency: str) -> dict[str, Any]:
        acct = db.execute("SELECT payouts FROM accounts WHERE user_id = ?", (recipient_id,)).fetchone()
        n = db.execute("SELECT COUNT(*) FROM payments").fetchone()[0]
        ref = f"py_sandbox_{n + 1:06d}"
        state = "paid" if acct and acct[0] else "held"
        db.execute(
            "INSERT INTO payments(ref, sender_id, recipient_id, amount_minor, currency, state) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (ref, sender_id, recipient_id, minor, currency, state),
        )
        return {"outcome": PayOutcome.PAID if state == "paid" else PayOutcome.HELD, "ref": ref}

    def approve(self, user_id: str) -> int:
        """The sender approves every payment waiting on their approval page; returns how many."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT key, recipient_id, amount_minor, currency FROM approvals "
                "WHERE sender_id = ? AND state = 'open' ORDER BY rowid",
                (user_id,),
            ).fetchall()
            for key, recipient_id, minor, currency in rows:
                paid = self._charge(db, user_id, recipient_id, minor, currency)
                db.execute("UPDATE approvals SET state = 'paid', ref = ? WHERE key = ?", (paid["ref"], key))
                db.execute(
                    "INSERT INTO events(kind, key, ref, outcome) VALUES (?, ?, ?, ?)",
                    (EventKind.PAID, key, paid["ref"], paid["outcome"]),
                )
        return len(rows)

    def lookup(self, key: str, sender_id: str) -> PayResult | None:
        with self._tx() as db:
            row = db.execute("SELECT kind, result FROM operations WHERE key = ?", (key,)).fetchone()
            if row is None or row[0] != "pay":  # a release or a refund made no payment
                return None
            first = json.loads(row[1])
            approval = db.execute("SELECT state, ref FROM approvals WHERE key = ?", (key,)).fetchone()
            if approval is None:
                return PayResult(PayOutcome(first["outcome"]), first.get("ref"), first.get("reason"))
            if approval[0] == "open":  # the page closes: it cannot be approved any more
                db.execute("UPDATE approvals SET state = 'lapsed' WHERE key = ?", (key,))
            if approval[0] != "paid":
                return PayResult(PayOutcome.NEEDS_AUTH, reason="not approved in time")
            state = db.execute("SELECT state FROM payments WHERE ref = ?", (approval[1],)).fetchone()[0]
            return PayResult(PayOutcome.HELD if state == "held" else PayOutcome.PAID, approval[1])

    def events(self, after: str | None) -> tuple[list[ProviderEvent], str | None]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT id, kind, user_id, key, ref, outcome, settle_ref, amount_minor, reason, pending "
                "FROM events WHERE id > ? ORDER BY id",
                (int(after or 0),),
            ).fetchall()
        events = [
            ProviderEvent(
                id=str(r[0]),
                kind=EventKind(r[1]),
                user_id=r[2],
                key=r[3],
                ref=r[4],
                outcome=PayOutcome(r[5]) if r[5] else None,
                settle_ref=r[6],
                amount_minor=r[7],
                reason=r[8],
                pending=bool(r[9]),
            )
            for r in rows
        ]
        return events, str(rows[-1][0]) if rows else after

    def payments_since(self, since: datetime) -> list[ProviderPayment]:
        """Reconciliation's view (the sandbox keeps no times, so `since` is every payment)."""
        with self._tx() as db:
            ops = db.execute("SELECT key, result FROM operations WHERE kind = 'pay'").fetchall()
            approved = dict(db.execute("SELECT ref, key FROM approvals WHERE state = 'paid'").fetchall())
            rows = db.execute("SELECT ref, amount_minor, currency, state FROM payments").fetchall()
            back = dict(
                db.execute(
                    "SELECT payment_ref, SUM(amount_minor) FROM movements WHERE kind = 'refund' "
                    "AND state != 'failed' GROUP BY payment_ref"
                ).fetchall()
            )
        keys = {json.loads(r).get("ref"): k for k, r in ops} | approved
        return [
            ProviderPayment(
                key=keys.get(ref, ""),
                ref=ref,
                amount_minor=minor,
                currency=cur,
                charged=True,
                delivered=state in ("paid", "released"),
                refunded=back.get(ref, 0) >= minor,
                refunded_minor=back.get(ref, 0),
            )
            for ref, minor, cur, state in rows
        ]

    def release(self, *, key: str, payment_ref: str, recipient_id: str, amount: Money) -> str:
        params = {"payment": payment_ref, "recipient": recipient_id, "amount": amount.minor}

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            self._held(db, payment_ref, amount)
            acct = db.execute("SELECT payouts FROM accounts WHERE user_id = ?", (recipient_id,)).fetchone()
            if not (acct and acct[0]):
                raise ProviderError("the recipient cannot receive payments yet")
            if self._balance_short:  # refused before anything moved: nothing is kept under the key
                raise InsufficientBalance("the platform's balance cannot cover this transfer now")
            ref = f"tr_{payment_ref}"
            db.execute("UPDATE payments SET state = 'released', settle_ref = ? WHERE ref = ?", (ref, payment_ref))
            return {"ref": ref}

        return str(self._once(key, "release", params, run)["ref"])

    def refund(self, *, key: str, payment_ref: str, amount: Money, keep: int = 0) -> Settled:
        """Give money back to the sender: held money, or (an operator's refund) a completed payment, in full
        or in parts up to the payment's amount. Pending while `hold_refunds` is on."""
        params = {"payment": payment_ref, "amount": amount.minor}

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            row = db.execute("SELECT state, amount_minor FROM payments WHERE ref = ?", (payment_ref,)).fetchone()
            if row is None:
                raise ProviderError(f"no such payment {payment_ref}")
            back, n = db.execute(
                "SELECT COALESCE(SUM(CASE WHEN state != 'failed' THEN amount_minor END), 0), "
                "COUNT(*) FROM movements WHERE payment_ref = ? AND kind = 'refund'",
                (payment_ref,),
            ).fetchone()
            if row[0] not in ("held", "paid", "released") or not 0 < amount.minor <= row[1] - back:
                raise ProviderError(f"payment {payment_ref} has {row[1] - back} left to refund, not {amount.minor}")
            ref = f"re_{payment_ref}" + (f"_{n + 1}" if n else "")
            state = "pending" if self._hold_refunds else "succeeded"
            db.execute(
                "INSERT INTO movements VALUES (?, ?, 'refund', ?, ?, ?)", (ref, payment_ref, key, amount.minor, state)
            )
            self._mark_refunded(db, payment_ref)
            return {"ref": ref, "pending": state == "pending"}

        result = self._once(key, "refund", params, run)
        return Settled(str(result["ref"]), pending=bool(result.get("pending")))

    def reverse(self, *, key: str, payment_ref: str, amount: Money) -> str:
        """Take back from the recipient `amount` of a payment that reached them, or what they still hold of it."""
        params = {"payment": payment_ref, "amount": amount.minor}

        def run(db: sqlite3.Connection) -> dict[str, Any]:
            row = db.execute("SELECT state, amount_minor FROM payments WHERE ref = ?", (payment_ref,)).fetchone()
            if row is None:
                raise ProviderError(f"no such payment {payment_ref}")
            # a refund took its share from the recipient first, and a failed refund does not give it back
            gone, n = db.execute(
                "SELECT COALESCE(SUM(amount_minor), 0), COUNT(*) FROM movements WHERE payment_ref = ?", (payment_ref,)
            ).fetchone()
            if row[0] not in ("paid", "released") or row[1] - gone <= 0:
                raise ProviderError(f"the recipient holds nothing of {payment_ref}")
            ref = f"rv_{payment_ref}_{n + 1}"
            db.execute(
                "INSERT INTO movements VALUES (?, ?, 'reversal', ?, ?, 'succeeded')",
                (ref, payment_ref, key, min(amount.minor, row[1] - gone)),
            )
            return {"ref": ref}

        return str(self._once(key, "reverse", params, run)["ref"])

    def holdings(self) -> list[tuple[str, Money]]:
        """None: Connect accounts are paid out to their banks by the provider itself."""
        return []

    def cash_out(
        self,
        *,
        key: str,
        user_id: str,
        currency: str,
        keep: int = 0,
        holds_for_others: bool = False,
        accounts: PayoutAccounts = NO_ACCOUNTS,
    ) -> CashOut:
        """AUTOMATIC: the sandbox plays Stripe Connect (money reaches a recipient's own account, and the provider
        pays accounts out by itself), and its money is pretend, with no bank to send it to; a simulated payout
        would show users a step the provider it stands for does not have. Asks and stores nothing."""
        return CashOut(CashOutOutcome.AUTOMATIC)

    @staticmethod
    def _mark_refunded(db: sqlite3.Connection, payment_ref: str) -> None:
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

    # ---- records, for tests and reconciliation

    def payments(self) -> list[dict[str, Any]]:
        """Every payment the sandbox holds, oldest first."""
        with self._tx() as db:
            cur = db.execute("SELECT * FROM payments ORDER BY ref")
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return [dict(zip(names, r, strict=True)) for r in rows]

    def movements(self) -> list[dict[str, Any]]:
        """Every refund and reversal, in order: ref, payment_ref, kind, key, amount_minor, state."""
        with self._tx() as db:
            cur = db.execute("SELECT * FROM movements ORDER BY rowid")
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return [dict(zip(names, r, strict=True)) for r in rows]

    def operations(self) -> int:
        """How many distinct idempotency keys were used."""
        with self._tx() as db:
            return int(db.execute("SELECT COUNT(*) FROM operations").fetchone()[0])

    # ---- internals

    @staticmethod
    def _held(db: sqlite3.Connection, payment_ref: str, amount: Money, also: tuple[str, ...] = ()) -> None:
        row = db.execute("SELECT state, amount_minor FROM payments WHERE ref = ?", (payment_ref,)).fetchone()
        if row is None:
            raise ProviderError(f"no such payment {payment_ref}")
        if row[0] != "held" and row[0] not in also:
            raise ProviderError(f"payment {payment_ref} is {row[0]}, not held")
        if row[1] != amount.minor:
            raise ProviderError(f"payment {payment_ref} holds {row[1]}, not {amount.minor}")

    def _once(self, key: str, kind: str, params: dict[str, Any], run: Any) -> dict[str, Any]:
        blob = json.dumps(params, sort_keys=True)
        with self._tx() as db:
            row = db.execute("SELECT kind, params, result FROM operations WHERE key = ?", (key,)).fetchone()
            if row is not None:
                if (row[0], row[1]) != (kind, blob):
                    raise IdempotencyError(f"key {key} was used with other parameters")
                return dict(json.loads(row[2]))
            result = run(db)
            db.execute("INSERT INTO operations VALUES (?, ?, ?, ?)", (key, kind, blob, json.dumps(result)))
        if self._fail_next:
            self._fail_next -= 1
            raise ProviderTransient("the sandbox timed out after doing the work")
        return dict(result)

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

In parts: `records` (the SQLite file, its tables and the key rule) and `bank`
(the approval page, refunds ending, disputes); `SandboxProvider` is the port.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.errors import InsufficientBalance, ProviderError
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
from bot.providers.sandbox.bank import SandboxBank
from bot.providers.sandbox.records import SandboxRecords, charge, held, mark_refunded

APPROVAL_URL = "https://sandbox.paybot.invalid/approve/"


class SandboxProvider:
    """The embedded payment provider; see the module docstring."""

    name = "sandbox"
    min_charge: dict[str, int] = {}  # noqa: RUF012 (read only: the sandbox charges any amount)

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.records = SandboxRecords(path)
        self.bank = SandboxBank(self.records)
        self._balance_short = False  # releases refused: the platform's balance cannot cover them
        self._hold_refunds = False  # refunds stay pending until finish_refund

    def close(self) -> None:
        """Close the provider's connection (a new call opens it again)."""
        self.records.close()

    # ---- the people behind the cards (set by the sandbox's "hosted pages" and by tests)

    def set_card(self, user_id: str, card: str | None) -> None:
        """Save (or remove, with None) the user's card: "ok", "declined" or "needs_auth"."""
        self.records.set_card(user_id, card)

    def set_cards(self, cards: dict[str, str | None]) -> None:
        """Save many users' cards in one transaction (test and benchmark set-up)."""
        self.records.set_cards(cards)

    def set_payouts_many(self, user_ids: list[str]) -> None:
        """Mark many users as onboarded in one transaction (test and benchmark set-up)."""
        self.records.set_payouts_many(user_ids)

    def set_payouts(self, user_id: str, enabled: bool) -> None:
        """Mark the user as onboarded (able to receive) or not."""
        self.records.set_payouts(user_id, enabled)

    def fail_next(self, n: int = 1) -> None:
        """Make the next n money calls time out after doing their work (tests)."""
        self.records.fail_next = n

    def set_balance_short(self, short: bool) -> None:
        """The platform's balance cannot cover releases (they raise InsufficientBalance) until set back."""
        self._balance_short = short

    def hold_refunds(self, hold: bool) -> None:
        """Refunds made from now on stay pending until `finish_refund` (as a bank can take days)."""
        self._hold_refunds = hold

    def finish_refund(self, ref: str, ok: bool, reason: str = "declined") -> None:
        """A refund ends; see `SandboxBank.finish_refund`."""
        self.bank.finish_refund(ref, ok, reason)

    def dispute(self, payment_ref: str) -> None:
        """The payer's bank disputes the payment and takes its money back from the platform."""
        self.bank.dispute(payment_ref)

    def approve(self, user_id: str) -> int:
        """The sender approves every payment waiting on their approval page; returns how many."""
        return self.bank.approve(user_id)

    # ---- the port

    def has_card(self, user_id: str) -> bool:
        return bool(self.records.card(user_id))

    def register(self, user_id: str) -> Registration:
        if self.records.card(user_id):
            return Registration(already=True)
        self.set_card(user_id, "ok")  # the sandbox's test card, ending 4242
        return Registration()

    def onboard(self, user_id: str, *, holds_for_others: bool = False) -> Onboarding:
        self.set_payouts(user_id, True)
        return Onboarding(ready=True)

    def can_receive(self, user_id: str) -> bool:
        return self.records.can_receive(user_id)

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
            return charge(db, sender_id, recipient_id, amount.minor, amount.currency)

        result = self.records.once(key, "pay", params, run)
        return PayResult(PayOutcome(result["outcome"]), result.get("ref"), result.get("reason"), result.get("url"))

    def lookup(self, key: str, sender_id: str) -> PayResult | None:
        with self.records.tx() as db:
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
        with self.records.tx() as db:
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
        with self.records.tx() as db:
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
            held(db, payment_ref, amount)
            acct = db.execute("SELECT payouts FROM accounts WHERE user_id = ?", (recipient_id,)).fetchone()
            if not (acct and acct[0]):
                raise ProviderError("the recipient cannot receive payments yet")
            if self._balance_short:  # refused before anything moved: nothing is kept under the key
                raise InsufficientBalance("the platform's balance cannot cover this transfer now")
            ref = f"tr_{payment_ref}"
            db.execute("UPDATE payments SET state = 'released', settle_ref = ? WHERE ref = ?", (ref, payment_ref))
            return {"ref": ref}

        return str(self.records.once(key, "release", params, run)["ref"])

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
            mark_refunded(db, payment_ref)
            return {"ref": ref, "pending": state == "pending"}

        result = self.records.once(key, "refund", params, run)
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

        return str(self.records.once(key, "reverse", params, run)["ref"])

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

    # ---- records, for tests and reconciliation

    def payments(self) -> list[dict[str, Any]]:
        """Every payment the sandbox holds, oldest first."""
        return self.records.payments()

    def movements(self) -> list[dict[str, Any]]:
        """Every refund and reversal, in order: ref, payment_ref, kind, key, amount_minor, state."""
        return self.records.movements()

    def operations(self) -> int:
        """How many distinct idempotency keys were used."""
        return self.records.operations()

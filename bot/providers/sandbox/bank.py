"""What the sandbox plays of the world outside paybot, each told by an event as a real provider tells it: the payer
on the pretend approval page (`approve`, as on Stripe's hosted page), a bank ending a refund that stayed pending
(`finish_refund`), and the payer's bank disputing a payment and taking its money back from the platform (`dispute`).
Tests, the scenario runner and the demo call these; paybot never does."""

from __future__ import annotations

from bot.ports import EventKind
from bot.providers.sandbox.records import SandboxRecords, charge, mark_refunded


class SandboxBank:
    """The payers' banks and their pages, on the sandbox's records."""

    def __init__(self, records: SandboxRecords) -> None:
        self.records = records

    def approve(self, user_id: str) -> int:
        """The sender approves every payment waiting on their approval page; returns how many."""
        with self.records.tx() as db:
            rows = db.execute(
                "SELECT key, recipient_id, amount_minor, currency FROM approvals "
                "WHERE sender_id = ? AND state = 'open' ORDER BY rowid",
                (user_id,),
            ).fetchall()
            for key, recipient_id, minor, currency in rows:
                paid = charge(db, user_id, recipient_id, minor, currency)
                db.execute("UPDATE approvals SET state = 'paid', ref = ? WHERE key = ?", (paid["ref"], key))
                db.execute(
                    "INSERT INTO events(kind, key, ref, outcome) VALUES (?, ?, ?, ?)",
                    (EventKind.PAID, key, paid["ref"], paid["outcome"]),
                )
        return len(rows)

    def finish_refund(self, ref: str, ok: bool, reason: str = "declined") -> None:
        """A refund ends: it went through, or it failed (the money comes back to the platform), even one
        that had gone through; an event tells it."""
        with self.records.tx() as db:
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
            mark_refunded(db, payment_ref)
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
        with self.records.tx() as db:
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

"""Reconciliation: the store's transfers against the provider's payments.

For each transfer with a payment key the store says what the provider must
hold: a completed transfer was charged and delivered (a destination charge
or a transfer to the recipient); a held one was charged and not delivered; a
failed one was never charged; and each was refunded exactly as much as its
settlements say (refunds and returns done or in progress: none for most, all
of it for a returned one, part of it for one refunded in parts).
Every payment the provider made for paybot must belong to a transfer.
Anything else is a mismatch, printed for the operator; nothing is changed,
except one thing: a transfer stuck in executing for longer than the provider
keeps idempotency keys is resolved by looking its payment up (never by a new
charge), as the worker would.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.app.holds import refunded
from bot.domain import Status
from bot.ports import ProviderPayment
from bot.service import Service

log = logging.getLogger(__name__)

# What the provider must say about a transfer in each status: (charged, delivered, refunds checked); None: any.
EXPECTED: dict[str, tuple[bool, bool | None, bool]] = {
    Status.COMPLETED: (True, True, True),
    Status.HELD: (True, False, True),
    Status.RETURNED: (True, None, True),
    Status.FAILED: (False, None, False),
    Status.NEEDS_AUTH: (False, None, False),
}


@dataclass(frozen=True)
class Mismatch:
    transfer_id: int | None
    ref: str | None
    store: str  # what the store says
    provider: str  # what the provider says
    what: str  # the sentence for the operator

    def as_dict(self) -> dict[str, object]:
        return {
            "transfer": self.transfer_id,
            "ref": self.ref,
            "store": self.store,
            "provider": self.provider,
            "what": self.what,
        }


def _describe(p: ProviderPayment | None) -> str:
    if p is None:
        return "no payment"
    state = "refunded" if p.refunded else "delivered" if p.delivered else "charged, not delivered"
    return f"{p.ref}: {p.amount_minor} {p.currency} {state}"


def reconcile(service: Service, since: datetime) -> tuple[list[Mismatch], int]:  # noqa: C901
    """Compare transfers created since `since` with the provider; returns the mismatches and how many
    transfers stuck in executing were resolved by lookup."""
    resolved = 0
    with service.uow() as s:
        lapsed = service.clock.now() - service.policy.key_lifetime
        stuck = [t.id for t in s.transfers.with_status(Status.EXECUTING) if t.updated_at < lapsed]
    for transfer_id in stuck:
        if transfer_id is not None:
            service.execute(transfer_id)  # past the key's lifetime, execute looks the payment up
            resolved += 1
    payments = {p.key: p for p in service.provider.payments_since(since)}
    with service.uow() as s:
        rows = s.transfers.paid_since(since)
        # a payment made in the window for a transfer created before it
        known = {t.pay_key for t in rows}
        older = [k for k in payments if k not in known]
        if older:
            rows += s.transfers.by_pay_keys(older)
        ledgers = {t.id: s.settlements.of(t.id) for t in rows}
    back = {tid: refunded(rows_, in_flight=True) for tid, rows_ in ledgers.items()}
    done = {tid: refunded(rows_) for tid, rows_ in ledgers.items()}
    out: list[Mismatch] = []
    for t in rows:
        p = payments.pop(t.pay_key or "", None)
        expected = EXPECTED.get(t.status)
        if expected is None:  # executing: in flight
            continue
        charged, delivered, refunds = expected
        problems = []
        if (p is not None) != charged:
            problems.append("charged at the provider" if p else "no charge at the provider")
        if p is not None:
            if p.amount_minor != t.amount_minor or p.currency != t.currency:
                problems.append(f"amount differs ({p.amount_minor} {p.currency})")
            if delivered is not None and p.delivered != delivered:
                problems.append("delivered to the recipient" if p.delivered else "not delivered to the recipient")
            # a returned transfer went back in full; any other as much as its refunds and returns say
            stored = t.amount_minor if t.status == Status.RETURNED else back.get(t.id, 0)
            if refunds and p.refunded_minor is not None and p.refunded_minor != stored:
                problems.append(
                    "not refunded"
                    if p.refunded_minor == 0
                    else "refunded"
                    if stored == 0
                    else f"refunded {p.refunded_minor} at the provider, {stored} in the store"
                )
            elif refunds and p.refunded_minor is None and p.refunded != (stored >= t.amount_minor):
                problems.append("refunded" if p.refunded else "not refunded")
            elif t.status != Status.RETURNED and done.get(t.id, 0) >= t.amount_minor:
                problems.append("refunded in full, by the store's own record")
        if problems:
            out.append(
                Mismatch(
                    t.id,
                    p.ref if p else t.payment_ref,
                    f"{t.status} {t.amount_minor} {t.currency}",
                    _describe(p),
                    f"transfer {t.id} is {t.status} but: " + "; ".join(problems),
                )
            )
    for p in payments.values():
        out.append(
            Mismatch(
                None, p.ref, "no transfer", _describe(p), f"payment {p.ref} (key {p.key}) has no transfer in the store"
            )
        )
    for m in out:
        log.warning("reconcile: %s", m.what, extra={"transfer_id": m.transfer_id})
    return out, resolved


def record(uow: Any, at: datetime, days: int, mismatches: list[Mismatch], resolved: int) -> None:
    """Keep a reconciliation's findings in the store (Mark.RECONCILED), for the console's page."""
    import json

    from bot.domain.marks import Mark

    with uow() as s:
        s.checkpoints.set(
            Mark.RECONCILED,
            json.dumps(
                {
                    "at": at.isoformat(),
                    "days": days,
                    "resolved": resolved,
                    "mismatches": [m.as_dict() for m in mismatches],
                }
            ),
        )
        s.commit()

"""The approval page of a payment the bank wanted the sender present for: whether it was paid or lapsed, read
again on the platform. The transfer completes when that page, read again, was paid by the sender for the amount
(`StripeApprovals.paid`): an event only says when to look."""

from __future__ import annotations

import logging
from typing import Any

import stripe

from bot.money import Money
from bot.ports import EventKind, PayOutcome, ProviderEvent
from bot.ports.records import StripePayment
from bot.providers.stripe.transport import StripeTransport, field
from bot.repo.provider_records import StripeRecords

log = logging.getLogger(__name__)


class StripeApprovals:
    """Payments of a key, confirmed from the platform (never from an event's word)."""

    def __init__(self, transport: StripeTransport, records: StripeRecords) -> None:
        self.transport = transport
        self.records = records

    def paid(self, eid: str, key: str) -> list[ProviderEvent]:
        """PAID for `key` when the payment paybot made for it succeeded, as the platform says now: never from the
        event (which only names the key). The approval page paybot stored is read again on the platform, with
        its PaymentIntent (by that page, not by any id an event names), and the PaymentIntent must be the
        stored Customer's, for the stored amount and currency, with the key in its metadata. A payment already
        seen succeeding (pay's own answer, or a page checked before) needs no request."""
        row = self.records.payment(key)
        if row is None:
            log.warning("Stripe event %s names key %s, for which paybot made no payment: not applied", eid, key)
            return []
        if row.outcome is None:
            if row.session_id is None:
                return []
            page = self._page(row.session_id, key)
            pi = field(page, "payment_intent")
            if page is None or field(page, "status") != "complete" or pi is None:
                return []  # not paid (yet): the page's own event will say so
            if isinstance(pi, str):
                pi = self.transport.client.v1.payment_intents.retrieve(pi)
            problem = _not_ours(pi, row, key)
            if problem:
                log.warning(
                    "Stripe event %s: the payment of key %s's approval page is not the one paybot asked "
                    "for (%s): not applied",
                    eid,
                    key,
                    problem,
                )
                return []
            if field(pi, "status") != "succeeded":
                return []
            outcome = PayOutcome.PAID if field(pi, "transfer_data") else PayOutcome.HELD
            self.records.record(
                key,
                row.customer_id,
                Money(row.amount_minor, row.currency.upper()),
                payment_intent=pi.id,
                outcome=outcome,
            )
            row.payment_intent_id, row.outcome = pi.id, outcome
        return [ProviderEvent(eid, EventKind.PAID, key=key, ref=row.payment_intent_id, outcome=PayOutcome(row.outcome))]

    def lapsed(self, eid: str, key: str) -> list[ProviderEvent]:
        """AUTH_LAPSED for `key` when the approval page paybot stored for it expired, as the platform says now
        (another page with the key in its metadata, expiring, says nothing of paybot's)."""
        row = self.records.payment(key)
        if row is None or row.session_id is None or row.outcome is not None:
            return []
        page = self._page(row.session_id, key)
        if field(page, "status") != "expired":
            return []
        return [ProviderEvent(eid, EventKind.AUTH_LAPSED, key=key)]

    def _page(self, session_id: str, key: str) -> Any | None:
        """The approval page paybot stored, read again on the platform with its PaymentIntent; None when Stripe
        does not know it."""
        try:
            return self.transport.client.v1.checkout.sessions.retrieve(
                session_id, params={"expand": ["payment_intent"]}
            )
        except stripe.InvalidRequestError as err:
            if err.http_status != 404:
                raise
            log.warning("Stripe does not know the approval page %s of key %s", session_id, key)
            return None


def _not_ours(pi: Any, row: StripePayment, key: str) -> str | None:
    """What makes a PaymentIntent another than the one paybot made for `row` (None: it is that one)."""
    customer = field(pi, "customer")
    if (
        field(customer, "id") if customer is not None and not isinstance(customer, str) else customer
    ) != row.customer_id:
        return "another customer"
    if (field(pi, "amount"), field(pi, "currency")) != (row.amount_minor, row.currency):
        return "another amount"
    if field(pi, "metadata", "paybot_key") != key:
        return "another key"
    return None

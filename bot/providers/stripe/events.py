"""Stripe's events in the port's words: the platform's own (polled from its event list, or brought by the platform's
webhook endpoint), a connected account's account.updated (brought by the Connect endpoint), and the onboarding
watch's ACCOUNT_READY. No event is taken at its word for a payment: the payment paybot made for the key an event
names is read again from the platform (`approvals`).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import stripe

from bot.errors import ProviderTransient
from bot.ports import EventKind, ProviderEvent
from bot.providers.stripe.accounts import StripeAccounts
from bot.providers.stripe.approvals import StripeApprovals
from bot.providers.stripe.cards import StripeCards
from bot.providers.stripe.transport import StripeTransport, field, translate
from bot.repo.provider_records import StripeRecords

log = logging.getLogger(__name__)

# The platform's own events paybot reads. account.updated of a connected account is not among them: it is a
# Connect event (see `StripeAccounts.onboarding_events`); `translate_connect_event` reads it when a Connect webhook
# brings it.
EVENT_TYPES = (
    "checkout.session.completed",
    "checkout.session.expired",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
    "charge.dispute.created",
    # A refund that was pending ends (succeeded or failed); Stripe sends both for one change.
    "charge.refund.updated",
    "refund.updated",
    "charge.dispute.funds_withdrawn",
)


class StripeEvents:
    """Reading Stripe's events, and translating each into what paybot learns from it."""

    def __init__(
        self,
        transport: StripeTransport,
        records: StripeRecords,
        cards: StripeCards,
        accounts: StripeAccounts,
        approvals: StripeApprovals,
    ) -> None:
        self.transport = transport
        self.records = records
        self.cards = cards
        self.accounts = accounts
        self.approvals = approvals

    def events(self, after: str | None) -> tuple[list[ProviderEvent], str | None]:
        """Stripe's events since `after`, oldest first. Without a cursor, every event Stripe still keeps."""
        client = self.transport.client
        raw: list[Any] = []
        if after is None:
            params: Any = {"limit": 100, "types": list(EVENT_TYPES)}
            for _ in range(20):
                page = self.transport.call(partial(client.v1.events.list, params=params))
                raw += page.data
                if not page.has_more or not page.data:
                    break
                params = {**params, "starting_after": page.data[-1].id}
            raw.reverse()
        else:
            cursor = after
            for _ in range(20):
                newer: Any = {"limit": 100, "ending_before": cursor, "types": list(EVENT_TYPES)}
                page = self.transport.call(partial(client.v1.events.list, params=newer))
                if not page.data:
                    break
                raw += reversed(page.data)
                cursor = page.data[0].id
                if not page.has_more:
                    break
        out = []
        for event in raw:
            try:
                out += self.translate_event(event)
            except stripe.StripeError as err:
                problem = translate(err)
                if isinstance(problem, ProviderTransient):
                    raise problem from None  # read again from the same cursor next time
                log.warning("skipped Stripe event %s (%s): %s", event.id, event.type, problem)
        cursor_out = raw[-1].id if raw else after
        return out + self.accounts.onboarding_events(), cursor_out

    def fetch_event(self, event_id: str, *, account: str | None = None) -> Any | None:
        """Stripe's own copy of an event (as the connected `account` for a Connect event); None when
        Stripe has no such event. StripeError when Stripe cannot answer now."""
        options: dict[str, Any] = {"stripe_account": account} if account else {}
        try:
            return self.transport.client.v1.events.retrieve(event_id, options=options)  # type: ignore[arg-type]
        except stripe.InvalidRequestError as err:
            if err.http_status == 404:
                return None
            raise

    def translate_event(self, event: Any) -> list[ProviderEvent]:
        """One of the platform's own Stripe events (polled, or from the platform's webhook endpoint) in the
        port's words; records what it teaches. A connected account's event is not one (see
        `translate_connect_event`): it is refused here. No payment is taken from what an event says: a
        payment event names paybot's key, and the payment paybot made for that key is read again from the
        platform and checked (`StripeApprovals.paid`)."""
        obj = event.data.object
        kind, eid = event.type, event.id
        if field(event, "account"):
            log.warning(
                "refused Stripe event %s (%s): it is connected account %s's, not the platform's",
                eid,
                kind,
                field(event, "account"),
            )
            return []
        key = field(obj, "metadata", "paybot_key")
        client = self.transport.client
        if kind == "checkout.session.completed" and field(obj, "mode") == "setup":
            intent = client.v1.setup_intents.retrieve(obj.setup_intent)
            user_id = self.cards.save_card_of_customer(obj.customer, field(intent, "payment_method"))
            return [ProviderEvent(eid, EventKind.CARD_SAVED, user_id=user_id)] if user_id else []
        if kind in ("checkout.session.completed", "payment_intent.succeeded") and key:
            return self.approvals.paid(eid, key)
        if kind == "checkout.session.expired" and key:
            return self.approvals.lapsed(eid, key)
        if kind == "charge.refunded" and field(obj, "payment_intent"):
            # The charge's refunds (listed: API versions since 2022-11-15 leave them out of the charge), each with
            # paybot's key when paybot made it; every copy of one refund says the same.
            return [
                ProviderEvent(
                    f"{eid}:{r.id}",
                    EventKind.REFUNDED,
                    ref=obj.payment_intent,
                    settle_ref=r.id,
                    key=field(r, "metadata", "paybot_key"),
                    amount_minor=int(r.amount),
                    pending=r.status == "pending",
                )
                for r in self.transport.each(
                    lambda p: client.v1.refunds.list(params=p), {"payment_intent": obj.payment_intent, "limit": 100}
                )
                if r.status != "failed"
            ]
        if kind in ("charge.refund.updated", "refund.updated") and field(obj, "status") in ("succeeded", "failed"):
            ended = EventKind.REFUND_SETTLED if obj.status == "succeeded" else EventKind.REFUND_FAILED
            return [
                ProviderEvent(
                    eid,
                    ended,
                    ref=field(obj, "payment_intent"),
                    settle_ref=obj.id,
                    key=field(obj, "metadata", "paybot_key"),
                    amount_minor=int(obj.amount),
                    reason=field(obj, "failure_reason") if ended == EventKind.REFUND_FAILED else None,
                )
            ]
        if kind == "charge.dispute.created" and field(obj, "payment_intent"):
            return [
                ProviderEvent(
                    eid,
                    EventKind.DISPUTED,
                    ref=obj.payment_intent,
                    settle_ref=obj.id,
                    amount_minor=field(obj, "amount"),
                )
            ]
        if kind == "charge.dispute.funds_withdrawn" and field(obj, "payment_intent"):
            return [
                ProviderEvent(
                    eid,
                    EventKind.FUNDS_WITHDRAWN,
                    ref=obj.payment_intent,
                    settle_ref=obj.id,
                    amount_minor=field(obj, "amount"),
                )
            ]
        return []

    def translate_connect_event(self, event: Any, account: str) -> list[ProviderEvent] | None:
        """A connected account's event (from the Connect webhook endpoint, fetched again as `account`) in the
        port's words: only `account.updated` of that very account, one paybot created (in table stripeuser),
        teaches anything (ACCOUNT_READY once it can take transfers). None for anything else: the event is
        refused (a Connect event can never pay, refund or save a card for anyone)."""
        obj = event.data.object
        if (
            event.type != "account.updated"
            or field(event, "account") != account
            or field(obj, "id") != account
            or self.records.user_of_account(account) is None
        ):
            return None
        if field(obj, "capabilities", "transfers") != "active":
            return []
        user_id = self.records.mark_ready(account)
        return [ProviderEvent(event.id, EventKind.ACCOUNT_READY, user_id=user_id)] if user_id else []

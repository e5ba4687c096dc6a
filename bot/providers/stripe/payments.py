"""Charges on the Stripe adapter: off-session PaymentIntents on the sender's saved card, and what Stripe says of
a payment key afterwards.

A recipient who can receive gets a destination charge; for anyone else the money is charged to the platform with
a transfer_group and held (released or returned by `settlements`). A bank that wants the sender present (402
authentication_required) gets a Checkout Session in payment mode for exactly that transfer (completed by
`approvals`). The charge's idempotency key is the service's (`pay:...`, stored before the call); the approval page's
is derived from it (`auth:...`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import stripe

from bot.errors import IdempotencyError, ProviderError
from bot.money import Money
from bot.ports import Clock, PayOutcome, PayResult, ProviderPayment
from bot.providers.stripe.accounts import StripeAccounts
from bot.providers.stripe.cards import CHECKOUT_LIFETIME, StripeCards
from bot.providers.stripe.transport import StripeTransport, field, translate
from bot.repo.provider_records import StripeRecords

log = logging.getLogger(__name__)

# What the sender reads when their bank declines: never the card number, never Stripe's raw error.
DECLINE_WORDS = {
    "insufficient_funds": "insufficient funds",
    "expired_card": "the card has expired",
    "card_velocity_exceeded": "the card's spending limit was reached",
    "withdrawal_count_limit_exceeded": "the card's spending limit was reached",
    "incorrect_cvc": "the card's security code was refused",
    "processing_error": "the bank had a processing error; try again later",
    "currency_not_supported": "the card does not take this currency",
}
DEFAULT_DECLINE = "declined by the bank"
# Stripe's smallest charge in each currency paybot knows, in minor units (docs: Currencies, "Minimum and
# maximum charge amounts"). Stripe checks it after converting to the platform's settlement currency, so a
# charge in another currency can still be refused: that answer is AmountTooSmall.
MIN_CHARGE = {"USD": 50, "EUR": 50, "GBP": 30, "CAD": 50, "AUD": 50, "CHF": 50, "JPY": 50}
AUTH_PAGE_LIFETIME = 24 * 3600 - 60  # Checkout Sessions live at most 24 h


def application_fee(minor: int, fee_bps: int) -> int:
    """The platform's fee on a payment of `minor`, in basis points, rounded down."""
    return minor * fee_bps // 10_000


class StripePayments:
    """Charging a sender, and finding what was charged under a key."""

    def __init__(
        self,
        transport: StripeTransport,
        records: StripeRecords,
        cards: StripeCards,
        accounts: StripeAccounts,
        clock: Clock,
        *,
        return_url: str,
        fee_bps: int,
        connect: bool,
    ) -> None:
        self.transport = transport
        self.records = records
        self.cards = cards
        self.accounts = accounts
        self.clock = clock
        self.return_url = return_url
        self.fee_bps = fee_bps
        self.connect = connect

    def pay(  # noqa: C901
        self,
        *,
        key: str,
        sender_id: str,
        recipient_id: str,
        amount: Money,
        memo: str | None,
        reference: dict[str, str] | None = None,
    ) -> PayResult:
        """Charge the sender's saved card under `key`: paid to the recipient's account, or held for them."""
        customer, card = self.records.row(sender_id).customer_id, self.cards.card(sender_id)
        if customer is None or card is None:
            return PayResult(PayOutcome.NO_CARD, reason="no saved card")
        destination = self.accounts.destination(recipient_id)
        # The recipient is part of what the key pays for, even when no destination carries it (held money).
        metadata = {"paybot_key": key, "paybot_recipient": recipient_id, **(reference or {})}
        if memo:
            metadata["memo"] = memo[:500]
        charge = self._charge_params(amount, destination, metadata)
        params: Any = {**charge, "customer": customer, "payment_method": card, "off_session": True, "confirm": True}
        try:
            pi = self.transport.client.v1.payment_intents.create(params=params, options={"idempotency_key": key})
        except stripe.InvalidRequestError as err:
            if destination is None or err.code != "insufficient_capabilities_for_transfer":
                raise translate(err) from None
            # The recipient's account lost its transfers capability since paybot saw it ready: hold the
            # money instead. Stripe saves no result for a refused request, so the key is still free.
            log.warning("recipient %s cannot take transfers any more; holding the payment", recipient_id)
            self.records.save(recipient_id, account_ready=False)
            return self.pay(
                key=key, sender_id=sender_id, recipient_id=recipient_id, amount=amount, memo=memo, reference=reference
            )
        except stripe.CardError as err:
            return self._declined(err, key, customer, amount, charge)
        except stripe.IdempotencyError:
            # Another attempt with this key chose differently (the recipient onboarded in between):
            # what that attempt did is the answer, if it paid the same amount to the same person.
            if self._paid_otherwise(key, customer, amount, recipient_id, metadata.get("memo")):
                raise IdempotencyError(f"key {key} was used with other parameters") from None
            found = self.lookup(key, sender_id)
            if found is None:
                raise IdempotencyError(f"key {key} was used with other parameters") from None
            return found
        except stripe.StripeError as err:
            if (getattr(err, "http_status", None) or 0) >= 500:
                # Stripe saves a 500 under the key and replays it for a day, whether or not the charge was
                # made before it failed: what was charged under the key is the answer, when there is one.
                paid = self._paid_with(key, customer)
                if paid is not None:
                    return paid
            raise translate(err) from None
        if pi.status != "succeeded":
            return PayResult(PayOutcome.DECLINED, ref=pi.id, reason=f"the payment is {pi.status}")
        outcome = PayOutcome.PAID if destination else PayOutcome.HELD
        self.records.record(key, customer, amount, payment_intent=pi.id, outcome=outcome)
        return PayResult(outcome, ref=pi.id)

    def _charge_params(self, amount: Money, destination: str | None, metadata: dict[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = {"amount": amount.minor, "currency": amount.currency.lower(), "metadata": metadata}
        if destination:
            params["transfer_data"] = {"destination": destination}
            fee = application_fee(amount.minor, self.fee_bps)
            if fee:
                params["application_fee_amount"] = fee
        elif self.connect:
            params["transfer_group"] = f"paybot-{metadata.get('transfer_id') or metadata['paybot_key']}"
        return params

    def _declined(
        self, err: stripe.CardError, key: str, customer: str, amount: Money, charge: dict[str, Any]
    ) -> PayResult:
        error = err.error
        pi = getattr(error, "payment_intent", None) if error else None
        ref = field(pi, "id")
        if err.code == "authentication_required":
            # The bank wants the sender present: a hosted page for exactly this payment.
            created = int(field(pi, "created") or self.clock.now().timestamp())
            data = {
                k: charge[k]
                for k in ("metadata", "transfer_data", "transfer_group", "application_fee_amount")
                if k in charge
            }
            page: Any = {
                "mode": "payment",
                "customer": customer,
                "success_url": self.return_url,
                "cancel_url": self.return_url,
                "expires_at": created + AUTH_PAGE_LIFETIME,
                "metadata": {"paybot_key": key},
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": charge["currency"],
                            "unit_amount": amount.minor,
                            "product_data": {"name": "Payment sent with paybot"},
                        },
                    }
                ],
                "payment_intent_data": data,
            }
            client = self.transport.client
            session = self.transport.call(
                lambda: client.v1.checkout.sessions.create(
                    params=page, options={"idempotency_key": "auth:" + key.removeprefix("pay:")}
                )
            )
            self.records.record(key, customer, amount, payment_intent=ref, session=session.id)
            self._abandon(ref, "cancel:" + key.removeprefix("pay:"))
            return PayResult(
                PayOutcome.NEEDS_AUTH,
                ref=ref,
                reason="authentication required",
                url=session.url,
                valid_for=CHECKOUT_LIFETIME,
            )
        decline = getattr(error, "decline_code", None) or err.code or ""
        return PayResult(PayOutcome.DECLINED, ref=ref, reason=DECLINE_WORDS.get(decline, DEFAULT_DECLINE))

    def _abandon(self, ref: str | None, key: str) -> None:
        """Cancel the off-session PaymentIntent the bank refused: the page's own PaymentIntent replaces
        it, and the dashboard shows one canceled attempt instead of an incomplete payment forever."""
        if ref is None:
            return
        try:
            self.transport.client.v1.payment_intents.cancel(
                ref, params={"cancellation_reason": "abandoned"}, options={"idempotency_key": key}
            )
        except stripe.StripeError as err:  # tidiness only: the payment goes on without it
            log.warning(
                "could not cancel the refused PaymentIntent %s: %s", ref, err.user_message or type(err).__name__
            )

    def _intents(self, params: dict[str, Any]) -> Any:
        client = self.transport.client
        return self.transport.each(lambda p: client.v1.payment_intents.list(params=p), params)

    def _paid_otherwise(self, key: str, customer: str, amount: Money, recipient_id: str, memo: str | None) -> bool:
        """Whether a payment made with `key` was for another amount, currency, recipient or memo."""
        for pi in self._intents({"customer": customer, "limit": 100}):
            if field(pi, "metadata", "paybot_key") != key:
                continue
            if (field(pi, "amount"), field(pi, "currency")) != (amount.minor, amount.currency.lower()):
                return True
            if field(pi, "metadata", "paybot_recipient") not in (None, recipient_id):
                return True
            if field(pi, "metadata", "memo") != memo:
                return True
        return False

    def _paid_with(self, key: str, customer: str) -> PayResult | None:
        """The succeeded PaymentIntent made with `key`, if Stripe can say now; None otherwise."""
        try:
            for pi in self._intents({"customer": customer, "limit": 100}):
                if field(pi, "metadata", "paybot_key") == key and pi.status == "succeeded":
                    return PayResult(PayOutcome.PAID if field(pi, "transfer_data") else PayOutcome.HELD, ref=pi.id)
        except ProviderError:
            return None
        return None

    def lookup(self, key: str, sender_id: str) -> PayResult | None:
        """What the payment made with `key` came to, as Stripe says now (an open approval page is closed first);
        None when nothing was made with it."""
        customer = self.records.row(sender_id).customer_id
        if customer is None:
            return None
        client = self.transport.client
        intents = [
            pi
            for pi in self._intents({"customer": customer, "limit": 100})
            if field(pi, "metadata", "paybot_key") == key
        ]
        for pi in intents:
            if pi.status == "succeeded":
                return PayResult(PayOutcome.PAID if field(pi, "transfer_data") else PayOutcome.HELD, ref=pi.id)
        sessions = [
            cs
            for cs in self.transport.each(
                lambda p: client.v1.checkout.sessions.list(params=p), {"customer": customer, "limit": 100}
            )
            if field(cs, "metadata", "paybot_key") == key
        ]
        for cs in sessions:
            if cs.status == "open":  # the page closes now: it cannot be paid after this answer
                try:
                    client.v1.checkout.sessions.expire(cs.id, options={"idempotency_key": f"expire:{cs.id}"})
                except stripe.InvalidRequestError:
                    return self.lookup(key, sender_id)  # it was completed meanwhile
                except stripe.StripeError as err:
                    raise translate(err) from None
        if sessions:
            return PayResult(
                PayOutcome.NEEDS_AUTH, ref=intents[0].id if intents else None, reason="not approved in time"
            )
        if intents:
            error = field(intents[0], "last_payment_error")
            decline = field(error, "decline_code") or field(error, "code") or ""
            return PayResult(PayOutcome.DECLINED, ref=intents[0].id, reason=DECLINE_WORDS.get(decline, DEFAULT_DECLINE))
        return None

    def payments_since(self, since: datetime) -> list[ProviderPayment]:
        """Every payment paybot made (a succeeded PaymentIntent with its key) since `since`, for reconciliation."""
        client = self.transport.client
        created = {"gte": int(since.timestamp())}
        transfers = {
            t.source_transaction
            for t in self.transport.each(
                lambda p: client.v1.transfers.list(params=p), {"created": created, "limit": 100}
            )
        }
        refunded: dict[str, int] = {}
        for r in self.transport.each(lambda p: client.v1.refunds.list(params=p), {"created": created, "limit": 100}):
            if r.status != "failed" and r.payment_intent:
                refunded[r.payment_intent] = refunded.get(r.payment_intent, 0) + int(r.amount)
        out = []
        for pi in self._intents({"created": created, "limit": 100}):
            key = field(pi, "metadata", "paybot_key")
            if not key or pi.status != "succeeded":
                continue
            out.append(
                ProviderPayment(
                    key=key,
                    ref=pi.id,
                    amount_minor=pi.amount,
                    currency=pi.currency.upper(),
                    charged=True,
                    delivered=bool(field(pi, "transfer_data")) or pi.latest_charge in transfers,
                    refunded=refunded.get(pi.id, 0) >= pi.amount,
                    refunded_minor=refunded.get(pi.id, 0),
                )
            )
        return out

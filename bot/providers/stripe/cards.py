"""Senders' side of the Stripe adapter: each X user's Customer and the card they saved on a Checkout Session in
setup mode (charges are off-session PaymentIntents on that card). The Customer is created once, by a per-user
idempotency key."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bot.ports import Registration
from bot.providers.stripe.transport import StripeTransport
from bot.repo.provider_records import StripeRecords

log = logging.getLogger(__name__)

CHECKOUT_LIFETIME = timedelta(hours=24)  # what the DM says of a Checkout page (setup or approval)


class StripeCards:
    """Customers and saved cards: the setup page, and what paybot knows of each user's card."""

    def __init__(self, transport: StripeTransport, records: StripeRecords, *, return_url: str, currency: str) -> None:
        self.transport = transport
        self.records = records
        self.return_url = return_url
        self.currency = currency  # the card-setup page's currency (the operator's default), lower case

    def has_card(self, user_id: str) -> bool:
        """Whether the user has a saved card (asking Stripe when a Customer exists but no card is known yet)."""
        return self.card(user_id) is not None

    def register(self, user_id: str) -> Registration:
        """A setup page for the user's card, or `already` when they have one."""
        if self.card(user_id):
            return Registration(already=True)
        customer = self.customer(user_id)
        client = self.transport.client
        session = self.transport.call(
            lambda: client.v1.checkout.sessions.create(
                params={
                    "mode": "setup",
                    "customer": customer,
                    "currency": self.currency,
                    "success_url": self.return_url,
                    "cancel_url": self.return_url,
                    "metadata": {"paybot_user": user_id},
                    "setup_intent_data": {"metadata": {"paybot_user": user_id}},
                }
            )
        )
        return Registration(url=session.url, valid_for=CHECKOUT_LIFETIME)

    def customer(self, user_id: str) -> str:
        """The user's Customer id, created (once, by its idempotency key) the first time."""
        row = self.records.row(user_id)
        if row.customer_id:
            return row.customer_id
        client = self.transport.client
        customer = self.transport.call(
            lambda: client.v1.customers.create(
                params={"metadata": {"x_user_id": user_id}}, options={"idempotency_key": f"customer:{user_id}"}
            )
        )
        self.records.save(user_id, customer_id=customer.id)
        return str(customer.id)

    def card(self, user_id: str) -> str | None:
        """The saved card; asks Stripe when a Customer exists but no card is known yet."""
        row = self.records.row(user_id)
        if row.payment_method_id or not row.customer_id:
            return row.payment_method_id
        query: Any = {"customer": row.customer_id, "type": "card", "limit": 1}
        client = self.transport.client
        cards = self.transport.call(lambda: client.v1.payment_methods.list(params=query))
        if not cards.data:
            return None
        self.records.save(user_id, payment_method_id=cards.data[0].id)
        return str(cards.data[0].id)

    def attach_card(self, user_id: str, payment_method: str) -> str:
        """Attach a payment method (a test one, e.g. "pm_card_visa") to the user's Customer and save it."""
        client = self.transport.client
        pm = self.transport.call(
            lambda: client.v1.payment_methods.attach(payment_method, params={"customer": self.customer(user_id)})
        )
        self.save_card(user_id, pm.id)
        return str(pm.id)

    def save_card(self, user_id: str, payment_method: str) -> None:
        """Remember the card the user saved (a payment method attached to their Customer)."""
        self.records.save(user_id, payment_method_id=payment_method)

    def save_card_of_customer(self, customer_id: str, payment_method: str) -> str | None:
        """Remember the card saved for the Customer; its user, or None for a Customer paybot does not know."""
        user_id = self.records.user_of_customer(customer_id)
        if user_id is None:
            log.warning("a card was saved for customer %s, whom paybot does not know", customer_id)
            return None
        self.save_card(user_id, payment_method)
        return user_id

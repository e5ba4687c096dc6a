"""The Stripe provider: paybot's payment port on Stripe Connect, delegated to the parts of this package.

- `transport`: stripe-python's client, its errors in the port's words, its lists walked;
- `records`: what the adapter remembers (tables stripeuser, stripepayment), the port
  `bot.repo.provider_records.StripeRecords` the provider is given: no SQL here;
- `cards`: senders' Customers and saved cards; `accounts`: recipients' Connect accounts and onboarding;
- `payments`: charges and what was charged under a key; `approvals`: a bank-approved payment's page;
- `settlements`: releases, refunds, reversals; `events`: Stripe's events in the port's words.

Payouts need no part: a Connect account is paid out to its bank by Stripe itself (`cash_out` says so).
Stripe objects never leave this package: the port speaks PayResult, ProviderEvent and ProviderPayment. The
records live in the bot's PostgreSQL database, or in a SQLite file of their own (see `from_settings`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import stripe

from bot.money import Money
from bot.ports import (
    NO_ACCOUNTS,
    CashOut,
    CashOutOutcome,
    Clock,
    Onboarding,
    PayoutAccounts,
    PayResult,
    ProviderEvent,
    ProviderPayment,
    Registration,
    Settled,
)
from bot.ports.records import StripeUser
from bot.providers.stripe.accounts import StripeAccounts
from bot.providers.stripe.approvals import StripeApprovals
from bot.providers.stripe.cards import StripeCards
from bot.providers.stripe.events import StripeEvents
from bot.providers.stripe.payments import MIN_CHARGE, StripePayments
from bot.providers.stripe.settlements import StripeSettlements
from bot.providers.stripe.transport import StripeTransport
from bot.repo.engine import database_url
from bot.repo.provider_records import SqlStripeRecords, StripeRecords


def is_live_key(key: str) -> bool:
    """Whether a Stripe API key moves real money (a live secret or restricted key)."""
    return key.startswith(("sk_live_", "rk_live_"))


class StripeProvider:
    """The payment port on Stripe: each method hands over to the part that does it (see the module docstring)."""

    name = "stripe"
    min_charge = MIN_CHARGE

    def __init__(
        self,
        client: stripe.StripeClient,
        records: StripeRecords,
        clock: Clock,
        *,
        return_url: str = "https://x.com/messages",
        currency: str = "USD",
        fee_bps: int = 0,
        connect: bool = True,
    ) -> None:
        """`records`: what the adapter remembers (`SqlStripeRecords` on the SQL database that holds them)."""
        self.client = client
        transport = StripeTransport(client)
        self.records = records
        self.cards = StripeCards(transport, self.records, return_url=return_url, currency=currency.lower())
        self.accounts = StripeAccounts(transport, self.records, clock, return_url=return_url, connect=connect)
        self.payments = StripePayments(
            transport,
            self.records,
            self.cards,
            self.accounts,
            clock,
            return_url=return_url,
            fee_bps=fee_bps,
            connect=connect,
        )
        self.settlements = StripeSettlements(transport, self.accounts, fee_bps=fee_bps, connect=connect)
        self.event_source = StripeEvents(
            transport, self.records, self.cards, self.accounts, StripeApprovals(transport, self.records)
        )

    @classmethod
    def from_settings(cls, settings: Any, clock: Clock) -> StripeProvider:
        """The provider the settings describe: ConfigError for a missing, malformed or unannounced live key.

        Its records live in DATABASE_URL when that is set (PostgreSQL), else in
        their own SQLite file (STRIPE_DB_PATH): the service calls the provider
        inside its own transactions, and SQLite has one writer at a time."""
        key = settings.require_stripe()
        options: dict[str, Any] = {"max_network_retries": settings.stripe_max_network_retries}
        if settings.stripe_api_base:
            options["base_addresses"] = {"api": settings.stripe_api_base}
        client = stripe.StripeClient(key, **options)
        return cls(
            client,
            SqlStripeRecords.open(database_url(settings.database_url, settings.stripe_db_path), clock),
            clock,
            return_url=settings.stripe_return_url,
            currency=settings.paybot_currency,
            fee_bps=settings.stripe_application_fee_bps,
        )

    def close(self) -> None:
        self.records.close()

    # ------------------------------------------------------------------ people

    def has_card(self, user_id: str) -> bool:
        return self.cards.has_card(user_id)

    def register(self, user_id: str) -> Registration:
        return self.cards.register(user_id)

    def onboard(self, user_id: str, *, holds_for_others: bool = False) -> Onboarding:
        return self.accounts.onboard(user_id)

    def can_receive(self, user_id: str) -> bool:
        return self.accounts.destination(user_id) is not None

    def customer(self, user_id: str) -> str:
        """The user's Customer id, created (once, by its idempotency key) the first time."""
        return self.cards.customer(user_id)

    def account(self, user_id: str) -> str:
        """The user's Connect account id, created (once) the first time."""
        return self.accounts.account(user_id)

    def attach_card(self, user_id: str, payment_method: str) -> str:
        """Attach a payment method (a test one, e.g. "pm_card_visa") to the user's Customer and save it."""
        return self.cards.attach_card(user_id, payment_method)

    def save_card(self, user_id: str, payment_method: str) -> None:
        """Remember the card the user saved (a payment method attached to their Customer)."""
        self.cards.save_card(user_id, payment_method)

    def user_of_account(self, account_id: str) -> str | None:
        """The X user whose Connect account paybot created with this id; None for any other account."""
        return self.records.user_of_account(account_id)

    # What tests and the simulator runner read and set directly (the records, the card as paybot knows it).
    def _row(self, user_id: str) -> StripeUser:
        return self.records.row(user_id)

    def _save(self, user_id: str, **fields: Any) -> None:
        self.records.save(user_id, **fields)

    def _card(self, user_id: str) -> str | None:
        return self.cards.card(user_id)

    # ------------------------------------------------------------------ money

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
        return self.payments.pay(
            key=key, sender_id=sender_id, recipient_id=recipient_id, amount=amount, memo=memo, reference=reference
        )

    def lookup(self, key: str, sender_id: str) -> PayResult | None:
        return self.payments.lookup(key, sender_id)

    def payments_since(self, since: datetime) -> list[ProviderPayment]:
        return self.payments.payments_since(since)

    def release(self, *, key: str, payment_ref: str, recipient_id: str, amount: Money) -> str:
        return self.settlements.release(key=key, payment_ref=payment_ref, recipient_id=recipient_id, amount=amount)

    def refund(self, *, key: str, payment_ref: str, amount: Money, keep: int = 0) -> Settled:
        """See `StripeSettlements.refund`."""
        return self.settlements.refund(key=key, payment_ref=payment_ref, amount=amount)

    def reverse(self, *, key: str, payment_ref: str, amount: Money) -> str:
        """See `StripeSettlements.reverse`."""
        return self.settlements.reverse(key=key, payment_ref=payment_ref, amount=amount)

    # ------------------------------------------------------------------ payouts

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
        """Nothing to do: a Connect account is paid out to its bank account by Stripe itself, on the payout
        schedule of the account (Express dashboard), so paybot makes no payout and asks Stripe nothing."""
        return CashOut(CashOutOutcome.AUTOMATIC)

    # ------------------------------------------------------------------ events

    def events(self, after: str | None) -> tuple[list[ProviderEvent], str | None]:
        """Stripe's events since `after`, oldest first. Without a cursor, every event Stripe still keeps."""
        return self.event_source.events(after)

    def fetch_event(self, event_id: str, *, account: str | None = None) -> Any | None:
        """Stripe's own copy of an event; see `StripeEvents.fetch_event`."""
        return self.event_source.fetch_event(event_id, account=account)

    def translate_event(self, event: Any) -> list[ProviderEvent]:
        """One of the platform's own Stripe events in the port's words; see `StripeEvents.translate_event`."""
        return self.event_source.translate_event(event)

    def translate_connect_event(self, event: Any, account: str) -> list[ProviderEvent] | None:
        """A connected account's event in the port's words; see `StripeEvents.translate_connect_event`."""
        return self.event_source.translate_connect_event(event, account)

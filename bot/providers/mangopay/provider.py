"""The Mangopay provider: paybot's payment port on Mangopay, a licensed e-money institution (friends paying friends:
wallets and wallet-to-wallet transfers), delegated to the parts of this package.

The model. Each X user who sends or receives gets a Natural User (kept by X id, table mangopayuser) and one wallet
per currency. A payment is a pay-in from the sender's saved card into the sender's own wallet, then a Transfer from
that wallet to the recipient's when the recipient can receive (PAID). Anyone else's money stays in the sender's wallet
(HELD, the reference being the pay-in's id): a CLAIM makes the recipient an OWNER (Mangopay's terms accepted) and opens
Mangopay's hosted identity verification; once their KYC level is REGULAR `release` is that Transfer. Money back is a
refund of the pay-in, to the card; an operator's refund of delivered money first takes it back from the recipient's
wallet. A CASHOUT pays a verified Owner's wallet out to their bank account. Every POST carries an Idempotency-Key
mapped from a name built from paybot's key, and every transaction's Tag carries paybot's key, so a step is made once
and found again by its Tag whatever happened to its first answer. Money is integer minor units throughout.

The parts, each given what it uses (none inherits from another):
- `transport`: the official SDK's `APIRequest` on one explicit handler, errors in the port's words, lists, POSTs made
  once under their Idempotency-Key; `records`: what the adapter remembers (table mangopayuser), no Mangopay call,
  the port `bot.repo.provider_records.MangopayRecords` the provider is given: no SQL here;
- `pages`: who people are (`people`: the identity page's record) and the links they are sent (paybot's pages, the
  card page, the return URL of Mangopay's SCA sessions); `users`: Natural Users and wallets;
- `kyc`: becoming an Owner who can receive (category, SCA enrolment, identity verification);
- `cards`: card registrations and the recurring registrations pay-ins run on; `transactions`: what paybot made,
  found again by its Tag among a user's transactions;
- `payments`: pay-ins, the transfers they lead to, lookups by key, reconciliation's view; `settlements`: releases
  and refunds; `payouts`: cash-outs and the balances a wind-down reads; `recipients`: paybot's cash-out account page's
  calls; `events`: Mangopay's events in the port's words;
- `card_page`: paybot's own card page's side (`MangopayCards`, composed on this provider by bot.cli).

Mangopay objects never leave this package: the port speaks PayResult, ProviderEvent, ProviderPayment and CashOut.
The records live in the bot's PostgreSQL database, or in a SQLite file of their own (see `from_settings`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mangopay.api import APIRequest

from bot import links
from bot.config import parse_duration
from bot.money import Money
from bot.ports import (
    NO_ACCOUNTS,
    CashOut,
    Clock,
    Onboarding,
    PayoutAccounts,
    PayResult,
    ProviderEvent,
    ProviderPayment,
    Registration,
    Settled,
)
from bot.ports.records import MangopayUser
from bot.providers.mangopay.cards import MangopayCardRegistrations
from bot.providers.mangopay.events import MangopayEvents
from bot.providers.mangopay.kyc import MangopayKyc
from bot.providers.mangopay.pages import MangopayPages
from bot.providers.mangopay.payments import MangopayPayments
from bot.providers.mangopay.payouts import MangopayPayouts
from bot.providers.mangopay.people import NoPages, PagesDesk, People
from bot.providers.mangopay.recipients import MangopayRecipients
from bot.providers.mangopay.settlements import MangopaySettlements
from bot.providers.mangopay.transactions import MangopayTransactions
from bot.providers.mangopay.transport import MangopayTransport
from bot.providers.mangopay.users import MangopayUsers
from bot.repo.engine import database_url
from bot.repo.port import Store
from bot.repo.provider_records import MangopayRecords, SqlMangopayRecords


class MangopayProvider:
    """The payment port on Mangopay: each method hands over to the part that does it (see the module docstring)."""

    name = "mangopay"
    min_charge: dict[str, int] = {}  # noqa: RUF012 (read only: Mangopay sets no per-currency floor paybot knows)

    def __init__(
        self,
        handler: APIRequest,
        records: MangopayRecords,
        clock: Clock,
        *,
        card_page_url: str,
        return_url: str = "https://x.com/messages",
        currency: str = "USD",
        retries: int = 2,
        link_secret: str | None = None,
        link_lifetime: timedelta = links.DEFAULT_LIFETIME,
        people: People | None = None,
    ) -> None:
        """`records`: what the adapter remembers (`SqlMangopayRecords` on the SQL database that holds them)."""
        self.handler = handler
        self.clock = clock
        self.currency = currency.upper()  # the card registration's currency (the operator's default)
        self.transport = transport = MangopayTransport(handler, retries=retries)
        self.records = records
        self.pages = pages = MangopayPages(
            people or NoPages(),
            clock,
            card_page_url=card_page_url,
            return_url=return_url,
            link_key=links.link_key(link_secret) if link_secret else None,
            link_lifetime=link_lifetime,
        )
        self.users = users = MangopayUsers(transport, records, pages)
        self.kyc = kyc = MangopayKyc(transport, records, users, pages, clock)
        self.cards = cards = MangopayCardRegistrations(transport, records, users, pages, clock, currency=self.currency)
        found = MangopayTransactions(transport)
        self.payments = payments = MangopayPayments(transport, records, users, kyc, cards, pages, found)
        self.settlements = MangopaySettlements(transport, records, users, kyc, found)
        self.payouts = MangopayPayouts(transport, records, kyc, pages, found)
        self.recipients = MangopayRecipients(transport, records, users)
        self.event_source = MangopayEvents(transport, records, payments, cards, clock)

    @classmethod
    def from_settings(cls, settings: Any, clock: Clock, store: Store | None = None) -> MangopayProvider:
        """The provider the settings describe (ConfigError for a missing or unannounced live setting). Its
        records live in DATABASE_URL when set, else in their own SQLite file (MANGOPAY_DB_PATH); people's
        identities and page links in paybot's store (`store`, else one on DATABASE_URL or PAYBOT_DB_PATH)."""
        client, key, base = settings.require_mangopay()
        handler = APIRequest(
            client_id=client,
            apikey=key,
            api_url=base + "/v2.01/",
            api_sandbox_url=base + "/v2.01/",
            sandbox=False,
            timeout=30.0,
        )
        handler._session.trust_env = False  # no proxy variable captures a request with the bearer token
        return cls(
            handler,
            SqlMangopayRecords.open(database_url(settings.database_url, settings.mangopay_db_path), clock),
            clock,
            card_page_url=settings.mangopay_card_page_url or "",
            return_url=settings.mangopay_return_url,
            currency=settings.paybot_currency,
            retries=settings.mangopay_max_network_retries,
            link_secret=settings.paybot_link_secret.get_secret_value() if settings.paybot_link_secret else None,
            link_lifetime=parse_duration(settings.paybot_link_ttl),
            people=PagesDesk.from_settings(settings, clock, store),
        )

    def close(self) -> None:
        self.records.close()
        close = getattr(self.people, "close", None)
        if close is not None:
            close()

    # ------------------------------------------------------------------ settings every part sees (`pages`)

    @property
    def people(self) -> People:
        """Who people are and links to paybot's pages (bot.providers.mangopay.people)."""
        return self.pages.people

    @people.setter
    def people(self, people: People) -> None:
        self.pages.people = people

    @property
    def own_card_page(self) -> bool:
        """REGISTER sends paybot's own card page (bot.web.card_page; bot.bootstrap sets it when PAYBOT_WEB_URL is
        set), whose link the service makes; False: the operator's page, MANGOPAY_CARD_PAGE_URL."""
        return self.pages.own_card_page

    @own_card_page.setter
    def own_card_page(self, own: bool) -> None:
        self.pages.own_card_page = own

    @property
    def card_page_url(self) -> str:
        return self.pages.card_page_url

    @card_page_url.setter
    def card_page_url(self, url: str) -> None:
        self.pages.card_page_url = url

    @property
    def return_url(self) -> str:
        return self.pages.return_url

    @return_url.setter
    def return_url(self, url: str) -> None:
        self.pages.return_url = url

    @property
    def link_key(self) -> bytes | None:
        return self.pages.link_key

    @property
    def link_lifetime(self) -> timedelta:
        return self.pages.link_lifetime

    # ------------------------------------------------------------------ people

    def has_card(self, user_id: str) -> bool:
        return self.cards.has_card(user_id)

    def register(self, user_id: str) -> Registration:
        return self.cards.register(user_id)

    def onboard(self, user_id: str, *, holds_for_others: bool = False) -> Onboarding:
        """See `MangopayKyc.onboard`."""
        return self.kyc.onboard(user_id, holds_for_others=holds_for_others)

    def can_receive(self, user_id: str) -> bool:
        return self.kyc.regular(user_id)

    def user(self, user_id: str) -> str:
        """The X user's Natural User id, created (once) the first time; see `MangopayUsers.user`."""
        return self.users.user(user_id)

    def wallet(self, user_id: str, currency: str) -> str:
        """The user's wallet in `currency`, created (once) the first time."""
        return self.users.wallet(user_id, currency)

    # What tests and the simulator runner read and set directly (the records, one resource, the card poll, the rate).
    def _row(self, user_id: str) -> MangopayUser:
        return self.records.row(user_id)

    def _save(self, user_id: str, **fields: Any) -> MangopayUser:
        return self.records.save(user_id, **fields)

    def _get(self, path: str, **params: Any) -> dict[str, Any] | None:
        return self.transport.get(path, **params)

    def _cards_saved(self) -> list[ProviderEvent]:
        return self.cards.saved()

    @property
    def _rate_left(self) -> int | None:
        return self.transport.rate_left

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
        return self.payments.pay(key=key, sender_id=sender_id, recipient_id=recipient_id, amount=amount, memo=memo)

    def lookup(self, key: str, sender_id: str) -> PayResult | None:
        return self.payments.lookup(key, sender_id)

    def payments_since(self, since: datetime) -> list[ProviderPayment]:
        """See `MangopayPayments.payments_since`."""
        return self.payments.payments_since(since)

    def release(self, *, key: str, payment_ref: str, recipient_id: str, amount: Money) -> str:
        return self.settlements.release(key=key, payment_ref=payment_ref, recipient_id=recipient_id, amount=amount)

    def refund(self, *, key: str, payment_ref: str, amount: Money, keep: int = 0) -> Settled:
        """See `MangopaySettlements.refund`."""
        return self.settlements.refund(key=key, payment_ref=payment_ref, amount=amount, keep=keep)

    def reverse(self, *, key: str, payment_ref: str, amount: Money) -> str:
        """See `MangopaySettlements.reverse` (not built on Mangopay)."""
        return self.settlements.reverse(key=key, payment_ref=payment_ref, amount=amount)

    # ------------------------------------------------------------------ cash-outs

    def holdings(self) -> list[tuple[str, Money]]:
        """See `MangopayPayouts.holdings`."""
        return self.payouts.holdings()

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
        """See `MangopayPayouts.cash_out`."""
        return self.payouts.cash_out(
            key=key,
            user_id=user_id,
            currency=currency,
            keep=keep,
            holds_for_others=holds_for_others,
            accounts=accounts,
        )

    # ------------------------------------------------------------------ paybot's pages (bot.web.recipient_pages)

    def payout_currencies(self, user_id: str) -> list[str]:
        return self.recipients.payout_currencies(user_id)

    def recipient_schema(self, country: str, currency: str) -> tuple[str, dict[str, Any]]:
        return self.recipients.recipient_schema(country, currency)

    def check_recipient(self, user_id: str, body: dict[str, Any]) -> dict[str, str]:
        return self.recipients.check_recipient(user_id, body)

    def add_recipient(self, user_id: str, body: dict[str, Any], name: str, return_url: str) -> tuple[str, str]:
        return self.recipients.add_recipient(user_id, body, name, return_url)

    def recipient_status(self, user_id: str, recipient_id: str) -> str | None:
        return self.recipients.recipient_status(user_id, recipient_id)

    def enrolment_status(self, user_id: str) -> str | None:
        return self.kyc.enrolment_status(user_id)

    def wallet_open(self, user_id: str) -> bool:
        return self.kyc.wallet_open(user_id)

    # ------------------------------------------------------------------ events

    def events(self, after: str | None) -> tuple[list[ProviderEvent], str | None]:
        """See `MangopayEvents.events`."""
        return self.event_source.events(after)

"""What the payment-provider adapters remember, as plain dataclasses (no persistence): the Stripe adapter's record
per X user and per payment key, the Mangopay adapter's per X user. Their ports (`StripeRecords`, `MangopayRecords`)
answer in them; the SQL store maps them onto its tables (bot.repo.record_tables), as it maps the entities.

Here in bot.ports rather than in bot.providers: the store maps them, and bot.repo may import the ports (held pure:
no SQL) but not the adapters, which import the store; nor may the pages or the use cases reach bot.providers.

Built by keyword only, as the entities are; a field with no default must be given."""

from __future__ import annotations

from datetime import datetime

from bot.domain.entities import entity
from bot.ports.provider import PayOutcome

__all__ = ["MangopayUser", "StripePayment", "StripeUser"]


@entity
class StripeUser:
    """What the Stripe provider knows of an X user: their Customer, saved card and Connect account."""

    user_id: str
    customer_id: str | None = None
    payment_method_id: str | None = None
    account_id: str | None = None
    account_ready: bool = False
    updated_at: datetime


@entity
class StripePayment:
    """A payment the Stripe provider made on the platform, by the service's key: what an event naming that key is
    checked against. An event is a hint that names objects (any connected account can write paybot's key in its
    own metadata); this record names the ones paybot made: the Customer charged, the amount, the PaymentIntent, and
    the approval page (Checkout Session) when the bank wanted the sender."""

    key: str
    customer_id: str
    amount_minor: int
    currency: str  # lower case, as Stripe writes it
    payment_intent_id: str | None = None  # the paying PaymentIntent once known (the refused one while a page is open)
    session_id: str | None = None  # the approval page, when there is one
    outcome: PayOutcome | None = None  # PAID or HELD once the platform said the payment succeeded
    updated_at: datetime


@entity
class MangopayUser:
    """What the Mangopay provider knows of an X user: their Natural User, one wallet per currency, the saved
    card (and the registration still waiting for one), the recurring registration per currency, and whether
    they can receive (an OWNER whose KYC level is REGULAR)."""

    user_id: str
    mangopay_user_id: str | None = None
    owner: bool = False  # UserCategory OWNER (terms accepted): may receive transfers once KYC-verified
    kyc_regular: bool = False  # KYCLevel REGULAR: can receive
    kyc_session_id: str | None = None  # the last hosted identity verification session
    wallets: str = "{}"  # JSON: currency -> wallet id
    card_id: str | None = None
    card_registration_id: str | None = None  # a card page opened and not yet completed
    recurring: str = "{}"  # JSON: "currency:card id" -> recurring pay-in registration id
    # What the person's browser said on paybot's card page (JSON: Mangopay's BrowserInfo) and their IP address:
    # sent with each customer-initiated pay-in made in their name (bot.providers.mangopay_cards).
    browser_info: str | None = None
    ip_address: str | None = None
    updated_at: datetime

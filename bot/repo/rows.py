"""The SQL store's rows that have no entity in bot.domain: the provider adapters' own records (Stripe's and
Mangopay's) and the operator console's (operators, sessions, confirmation pages, sign-in attempts, the charts'
hours). SQLModel tables on the same metadata as bot.repo.schema's, read and written by their own modules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from bot.repo.types import time_field as _time

__all__ = [
    "ChartHour",
    "ConsoleAction",
    "MangopayUser",
    "Operator",
    "OperatorSession",
    "SignInAttempt",
    "StripePayment",
    "StripeUser",
]


class StripeUser(SQLModel, table=True):
    """What the Stripe provider knows of an X user: their Customer, saved card and Connect account."""

    user_id: str = Field(primary_key=True)
    customer_id: str | None = Field(default=None, index=True)
    payment_method_id: str | None = None
    account_id: str | None = Field(default=None, index=True)
    account_ready: bool = False
    updated_at: datetime = _time()


class StripePayment(SQLModel, table=True):
    """A payment the Stripe provider made on the platform, by the service's key: what an event naming that key is
    checked against. An event is a hint that names objects (any connected account can write paybot's key in its
    own metadata); this row names the ones paybot made: the Customer charged, the amount, the PaymentIntent, and
    the approval page (Checkout Session) when the bank wanted the sender."""

    key: str = Field(primary_key=True)
    customer_id: str
    amount_minor: int
    currency: str  # lower case, as Stripe writes it
    payment_intent_id: str | None = None  # the paying PaymentIntent once known (the refused one while a page is open)
    session_id: str | None = None  # the approval page, when there is one
    outcome: str | None = None  # "paid" or "held" once the platform said the payment succeeded
    updated_at: datetime = _time()


class MangopayUser(SQLModel, table=True):
    """What the Mangopay provider knows of an X user: their Natural User, one wallet per currency, the saved
    card (and the registration still waiting for one), the recurring registration per currency, and whether
    they can receive (an OWNER whose KYC level is REGULAR)."""

    user_id: str = Field(primary_key=True)
    mangopay_user_id: str | None = Field(default=None, index=True)
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
    updated_at: datetime = _time()


class Operator(SQLModel, table=True):
    """Someone who may sign in to the console (`paybot operator add NAME`): the password's Argon2id hash (never
    the password), and the TOTP secret when they chose a second factor."""

    __tablename__ = "operator"

    name: str = Field(primary_key=True)
    password_hash: str
    totp_secret: str | None = None
    totp_last_step: int | None = None  # the 30-second step of the last TOTP code accepted: a code works once
    created_at: datetime = _time()


class OperatorSession(SQLModel, table=True):
    """A signed-in console session: the SHA-256 of its token (the cookie holds the token), whose it is, when it was
    last used and when it ends whatever happens (bot.console.operators)."""

    __tablename__ = "operator_session"

    token_hash: str = Field(primary_key=True)
    operator: str = Field(index=True)
    created_at: datetime = _time()
    seen_at: datetime = _time()
    expires_at: datetime = _time()


class ConsoleAction(SQLModel, table=True):
    """One confirmation page of the console (bot.console.pages): the SHA-256 of the single-use token its form
    carries, bound to the operator it was shown to, the session it was shown in, the action, the transfer and the
    exact amount it named (minor units; None where no amount is named). `used_at` is set, in one conditional
    UPDATE, when the form is posted: a second post finds it set and does nothing. `ok` and `outcome` are what the
    action came to, for the result page the post is redirected to."""

    __tablename__ = "console_action"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True)
    # The session the page was shown in (OperatorSession.token_hash): the token is spent only in that session, while
    # it lasts (bot.console.actions). None on rows stored before 0020: those are never spent.
    session_hash: str | None = None
    operator: str
    action: str
    transfer_id: int | None = None
    amount_minor: int | None = None
    question: str
    created_at: datetime = _time()
    used_at: datetime | None = _time(nullable=True)
    ok: bool | None = None
    outcome: str | None = None


class SignInAttempt(SQLModel, table=True):
    """One try at signing in to the console, kept to limit them per name and per address."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (Index("ix_sign_in_attempt_name_at", "name", "at"), Index("ix_sign_in_attempt_ip_at", "ip", "at"))

    id: int | None = Field(default=None, primary_key=True)
    name: str
    ip: str
    at: datetime = _time()
    ok: bool = False


class ChartHour(SQLModel, table=True):
    """What the console's charts count of one past UTC hour (bot.console.read), kept once the hour is over so that
    a drawing counts only the hours since: transfers made, messages sent (all, DMs, replies), the DMs of the
    hour's busiest 15-minute window, messages queued, timeline steps to failed. Written by the console when it
    draws, never by the worker; every column is a count of rows that do not change once the hour is over."""

    __tablename__ = "chart_hour"

    hour: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})  # hours since 1970-01-01 UTC
    made: int = 0
    sent: int = 0
    sent_dm: int = 0
    sent_reply: int = 0
    dm_peak: int = 0
    queued: int = 0
    failed: int = 0

"""The SQL store's tables of the records that are no entity of the domain: the payment adapters' (bot.ports.records:
Stripe's and Mangopay's) and the operator console's (bot.console.records: operators, sessions, confirmation pages,
sign-in attempts, the charts' hours). Plain dataclasses, mapped onto these tables by bot.repo.schema with the
entities (SQLAlchemy's imperative mapping), on the same metadata.

The tables are exactly those the SQLModel rows declared before (and the migrations build): the same names, column
order, types (AutoString for text, UTCDateTime for every time), defaults and indexes; no CHECK constraints (the one
word-valued column, `stripepayment.outcome`, is read back as a `PayOutcome` by `Word` and has none, as before)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, Table

from bot.console.records import ChartHour, ConsoleAction, Operator, OperatorSession, SignInAttempt
from bot.ports.provider import PayOutcome
from bot.ports.records import MangopayUser, StripePayment, StripeUser
from bot.repo.types import id_column, int_column, key_column, metadata, text_column, time_column, word_column

__all__ = ["RECORDS"]


def _flag(name: str, *, nullable: bool = False, default: bool | None = None) -> Column[bool]:
    return Column(name, Boolean(), nullable=nullable, index=False, unique=False, default=default)


stripeuser_table = Table(
    "stripeuser",
    metadata,
    key_column("user_id"),
    text_column("customer_id", nullable=True, index=True),
    text_column("payment_method_id", nullable=True),
    text_column("account_id", nullable=True, index=True),
    _flag("account_ready", default=False),
    time_column("updated_at"),
)

stripepayment_table = Table(
    "stripepayment",
    metadata,
    key_column("key"),
    text_column("customer_id"),
    int_column("amount_minor"),
    text_column("currency"),
    text_column("payment_intent_id", nullable=True),
    text_column("session_id", nullable=True),
    word_column("stripepayment", "outcome", PayOutcome, nullable=True),
    time_column("updated_at"),
)

mangopayuser_table = Table(
    "mangopayuser",
    metadata,
    key_column("user_id"),
    text_column("mangopay_user_id", nullable=True, index=True),
    _flag("owner", default=False),
    _flag("kyc_regular", default=False),
    text_column("kyc_session_id", nullable=True),
    text_column("wallets", default="{}"),
    text_column("card_id", nullable=True),
    text_column("card_registration_id", nullable=True),
    text_column("recurring", default="{}"),
    text_column("browser_info", nullable=True),
    text_column("ip_address", nullable=True),
    time_column("updated_at"),
)

operator_table = Table(
    "operator",
    metadata,
    key_column("name"),
    text_column("password_hash"),
    text_column("totp_secret", nullable=True),
    int_column("totp_last_step", nullable=True),
    time_column("created_at"),
)

operator_session_table = Table(
    "operator_session",
    metadata,
    key_column("token_hash"),
    text_column("operator", index=True),
    time_column("created_at"),
    time_column("seen_at"),
    time_column("expires_at"),
)

console_action_table = Table(
    "console_action",
    metadata,
    id_column(),
    text_column("token_hash", index=True, unique=True),
    text_column("session_hash", nullable=True),
    text_column("operator"),
    text_column("action"),
    int_column("transfer_id", nullable=True),
    int_column("amount_minor", nullable=True),
    text_column("question"),
    time_column("created_at"),
    time_column("used_at", nullable=True),
    _flag("ok", nullable=True),
    text_column("outcome", nullable=True),
)

sign_in_attempt_table = Table(
    "sign_in_attempt",
    metadata,
    id_column(),
    text_column("name"),
    text_column("ip"),
    time_column("at"),
    _flag("ok", default=False),
    Index("ix_sign_in_attempt_name_at", "name", "at"),
    Index("ix_sign_in_attempt_ip_at", "ip", "at"),
)

chart_hour_table = Table(
    "chart_hour",
    metadata,
    Column("hour", Integer(), primary_key=True, index=False, unique=False, autoincrement=False),  # since 1970, UTC
    *(int_column(name, default=0) for name in ("made", "sent", "sent_dm", "sent_reply", "dm_peak", "queued", "failed")),
)

# Each record and its table.
RECORDS: dict[type, Table] = {
    StripeUser: stripeuser_table,
    StripePayment: stripepayment_table,
    MangopayUser: mangopayuser_table,
    Operator: operator_table,
    OperatorSession: operator_session_table,
    ConsoleAction: console_action_table,
    SignInAttempt: sign_in_attempt_table,
    ChartHour: chart_hour_table,
}

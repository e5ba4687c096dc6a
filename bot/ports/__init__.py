"""The ports: what the service needs from the world, and the value types it speaks.

Adapters (bot/x, bot/mastodon, bot/providers) implement these; tweepy and stripe objects never cross this line.
One module per port, every name importable from `bot.ports`:

- `clock`: `Clock`, `SystemClock` (UTC), `FakeClock`.
- `timeline`: `Timeline` (X, Mastodon) and what it speaks: `XUser`, `Mention`, `DirectMessage`, `DmPage`, `SentDm`.
- `provider`: `PaymentProvider` and what it speaks: payments, events, settlements, registrations, cash-outs.
- `records`: what the Stripe and Mangopay adapters remember (`StripeUser`, `StripePayment`, `MangopayUser`),
  plain dataclasses the store maps.
"""

from bot.ports.clock import Clock, FakeClock, SystemClock
from bot.ports.provider import (
    NO_ACCOUNTS,
    CashOut,
    CashOutOutcome,
    EventKind,
    Onboarding,
    PaymentProvider,
    PayoutAccounts,
    PayOutcome,
    PayResult,
    ProviderEvent,
    ProviderPayment,
    Registration,
    Settled,
)
from bot.ports.records import MangopayUser, StripePayment, StripeUser
from bot.ports.timeline import DirectMessage, DmPage, Mention, SentDm, Timeline, XUser

__all__ = [
    "NO_ACCOUNTS",
    "CashOut",
    "CashOutOutcome",
    "Clock",
    "DirectMessage",
    "DmPage",
    "EventKind",
    "FakeClock",
    "MangopayUser",
    "Mention",
    "Onboarding",
    "PayOutcome",
    "PayResult",
    "PaymentProvider",
    "PayoutAccounts",
    "ProviderEvent",
    "ProviderPayment",
    "Registration",
    "SentDm",
    "Settled",
    "StripePayment",
    "StripeUser",
    "SystemClock",
    "Timeline",
    "XUser",
]

"""Where the Mangopay provider used to live, kept for the code and tests that import it from here: the adapter is
the package `bot.providers.mangopay` (one part per responsibility, behind `MangopayProvider`)."""

from bot.providers.mangopay.cards import REGISTRATION_MAX_AGE
from bot.providers.mangopay.events import EVENT_RETENTION, EVENT_TYPES, EVENTS_RESERVE
from bot.providers.mangopay.pages import SCA_SESSION_LIFETIME, IdentityNeeded, sca_url
from bot.providers.mangopay.payments import DECLINE_WORDS, DEFAULT_DECLINE, NOT_ENROLLED, NOT_VERIFIED, RENEW_AFTER
from bot.providers.mangopay.provider import MangopayProvider
from bot.providers.mangopay.transport import idempotency_key

__all__ = [
    "DECLINE_WORDS",
    "DEFAULT_DECLINE",
    "EVENTS_RESERVE",
    "EVENT_RETENTION",
    "EVENT_TYPES",
    "NOT_ENROLLED",
    "NOT_VERIFIED",
    "REGISTRATION_MAX_AGE",
    "RENEW_AFTER",
    "SCA_SESSION_LIFETIME",
    "IdentityNeeded",
    "MangopayProvider",
    "idempotency_key",
    "sca_url",
]

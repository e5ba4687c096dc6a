"""Where the Stripe provider used to live, kept for the code and tests that import it from here: the adapter is
the package `bot.providers.stripe` (one part per responsibility, behind `StripeProvider`)."""

from bot.providers.stripe.payments import DECLINE_WORDS, DEFAULT_DECLINE, MIN_CHARGE
from bot.providers.stripe.provider import StripeProvider, is_live_key

__all__ = ["DECLINE_WORDS", "DEFAULT_DECLINE", "MIN_CHARGE", "StripeProvider", "is_live_key"]

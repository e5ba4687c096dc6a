"""paybot's payment port on Stripe Connect, in parts: see `bot.providers.stripe.provider` for the map."""

from bot.providers.stripe.payments import DECLINE_WORDS, DEFAULT_DECLINE, MIN_CHARGE
from bot.providers.stripe.provider import StripeProvider, is_live_key

__all__ = ["DECLINE_WORDS", "DEFAULT_DECLINE", "MIN_CHARGE", "StripeProvider", "is_live_key"]

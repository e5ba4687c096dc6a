"""paybot's payment port on Mangopay, in parts: see `bot.providers.mangopay.provider` for the map."""

from bot.providers.mangopay.pages import IdentityNeeded
from bot.providers.mangopay.provider import MangopayProvider
from bot.providers.mangopay.transport import idempotency_key

__all__ = ["IdentityNeeded", "MangopayProvider", "idempotency_key"]

"""Where the card page's side on Mangopay used to live, kept for the code and tests that import it from here: it is
`bot.providers.mangopay.card_page`."""

from bot.providers.mangopay.card_page import CARD_REASONS, NOT_APPROVED, MangopayCards

__all__ = ["CARD_REASONS", "NOT_APPROVED", "MangopayCards"]

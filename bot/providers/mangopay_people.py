"""Where the Mangopay adapter's `People` port used to live, kept for the code and tests that import it from here: it
is `bot.providers.mangopay.people`."""

from bot.providers.mangopay.people import ENROLLED, PAY, RECEIVE, RECIPIENT, WALLET, NoPages, PagesDesk, People

__all__ = ["ENROLLED", "PAY", "RECEIVE", "RECIPIENT", "WALLET", "NoPages", "PagesDesk", "People"]

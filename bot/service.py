"""The use cases: a mention arrives, a DM arrives, time passes, money moves.

The service receives its ports (store, provider, clock) and touches X only
through the outbox table. Money moves in three steps so that a crash at any
point is recoverable: (1) commit the transfer as executing with its
idempotency key, (2) call the provider with that key, (3) commit the result.
A transfer left in executing is driven again with the same key, which the
provider answers with the first result.
"""

from __future__ import annotations

from bot.app.base import ERROR_REPLY_EVERY, Ask, ServiceBase, answers, money, party
from bot.app.winddown import WindDown

__all__ = ["ERROR_REPLY_EVERY", "Ask", "Service", "ServiceBase", "answers", "money", "party"]


class Service(WindDown):
    """Every use case, on one set of ports (see bot/app/ for each)."""

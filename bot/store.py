"""The store's names by their first import path, which the use cases (bot.app) import them by: the domain's entities
(bot.domain.entities), the checkpoint names and cursors (bot.domain.marks) and the stored words, re-exported. No
SQL here: the tables, the engine and the unit of work are in bot.repo (schema, engine, rows)."""

from __future__ import annotations

from bot.domain import WAITING, PayoutStatus, Send
from bot.domain.entities import (
    BALANCE,
    PRIORITY_CONFIRM,
    PRIORITY_OUTCOME,
    PRIORITY_REPLY,
    PRIORITY_URGENT,
    Checkpoint,
    IdentityRecord,
    Lease,
    Outbox,
    PageLink,
    Payout,
    ProcessedDm,
    ProcessedTweet,
    Settlement,
    Transfer,
    TransferEvent,
    User,
)
from bot.domain.marks import DmCursor, Mark, Marks, MentionCursor

__all__ = [
    "BALANCE",
    "PRIORITY_CONFIRM",
    "PRIORITY_OUTCOME",
    "PRIORITY_REPLY",
    "PRIORITY_URGENT",
    "WAITING",
    "Checkpoint",
    "DmCursor",
    "IdentityRecord",
    "Lease",
    "Mark",
    "Marks",
    "MentionCursor",
    "Outbox",
    "PageLink",
    "Payout",
    "PayoutStatus",
    "ProcessedDm",
    "ProcessedTweet",
    "Send",
    "Settlement",
    "Transfer",
    "TransferEvent",
    "User",
]

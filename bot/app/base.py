"""What every use case works with: the ports and settings (`Context`), the little state they share
(`Shared`), and the rules several of them apply (the version rule `answers`, what a request shows `Ask`,
a transfer's move along its state machine `set_status`). Pure, or functions of one unit of work; the
helpers that need the clock or the policy are `bot.app.common.Common`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.commands import DEFAULT_ENABLED
from bot.domain import CodeFactory, PagePurpose, Policy, Status, TransferKind, random_code, transition
from bot.domain.entities import Transfer, TransferEvent
from bot.money import Money
from bot.ports import Clock, PaymentProvider, XUser
from bot.repo.port import Store, Tx

log = logging.getLogger(__name__)

ERROR_REPLY_EVERY = timedelta(hours=1)
MAX_VERSIONS = 3  # a command and two edits are asked; a further edit cancels it
SEEN_EVERY = timedelta(minutes=5)  # how stale a user's "seen" time may grow before it is written again
# A public reply names people by the handle X showed within this time (longer than a send's confirmation
# window, so a plain send needs no lookup); anyone not seen since is looked up just before it is sent.
HANDLE_FRESH = timedelta(minutes=15)
CAP_WINDOW = timedelta(hours=24)  # the rolling daily cap counts what a sender confirmed within it


def party(t: Transfer) -> str:
    """The person the command named: the recipient of a send, the payer of a request."""
    return t.recipient_id if t.kind == TransferKind.SEND else t.sender_id


def named_pairs(names: str | None) -> list[tuple[str, str]]:
    """The (user id, handle) pairs an outbox reply names (`Outbox.names`)."""
    return [(uid, handle) for uid, _, handle in (pair.partition(":") for pair in (names or "").split())]


def saved_id(t: Transfer) -> int:
    """The id of a transfer row already written (flushed): its timeline refers to it."""
    if t.id is None:
        raise ValueError("a transfer needs to be saved before its timeline is written")
    return t.id


def money(t: Transfer) -> Money:
    return Money(t.amount_minor, t.currency)


def id_after(a: str | None, b: str | None) -> bool | None:
    """Whether X's id `a` came after X's id `b` (ids grow with time); None when either is unknown."""
    return int(a) > int(b) if a and b and a.isdigit() and b.isdigit() else None


def answers(t: Transfer, said_at: datetime, said_id: str | None) -> bool:
    """Whether an answer sent at `said_at` (X's event `said_id`) can answer the version `t` shows:
    only once its confirmation reached X, and only if sent after it, and after the post that made
    this version. X's ids grow with time, so they decide when known; else X's timestamp against
    when the bot saw the confirmation's send succeed."""
    if t.asked_at is None or id_after(said_id, t.command_tweet_id) is False:
        return False
    after_ask = id_after(said_id, t.asked_id)
    return after_ask if after_ask is not None else said_at > t.asked_at  # a tie is no proof of "after"


@dataclass(frozen=True)
class Ask:
    """What a request shows its payers: the amount, the memo, who asks, in the command's language."""

    amount: Money
    lang: str
    memo: str | None
    requester: XUser


def set_status(
    s: Tx, t: Transfer, new: Status, now: datetime, reason: str | None = None, note: str | None = None
) -> None:
    """Move a transfer along the state machine and write the step to its timeline (`reason`: why it
    ended, kept on the transfer too; `note`: what happened, on the timeline only)."""
    t.status = transition(t.status, new)
    t.updated_at = now
    if reason:
        t.reason = reason
    s.timeline.add(TransferEvent(transfer_id=saved_id(t), at=now, status=new, note=reason or note))


def handle_of(s: Tx, user_id: str) -> str:
    """A user's handle as last seen (their id when the store knows none)."""
    row = s.users.get(user_id)
    return row.handle if row else user_id


def lang_of(s: Tx, user_id: str) -> str:
    """The language the user last wrote a command in (English when none)."""
    return s.transfers.lang_of(user_id) or "en"


@dataclass
class Context:
    """The ports and settings every use case works with: given once, by `bot.service.Service` (which
    lets a test swap a port or a setting in place, for every use case at once)."""

    uow: Store
    provider: PaymentProvider
    clock: Clock
    policy: Policy
    bot_id: str
    bot_handle: str
    currency: str = "USD"
    enabled: tuple[str, ...] = DEFAULT_ENABLED
    new_code: CodeFactory = random_code
    fediverse: bool = False  # handles may name their instance (@alice@other.example): the Mastodon timeline
    # `page_link(tx, purpose, user_id, lang)`: a new link to paybot's page of that purpose, stored in `tx`
    # (bot.web.page_links.issue; set by bot.bootstrap when PAYBOT_WEB_URL is set). None: no such pages.
    page_link: Callable[[Tx, PagePurpose, str, str], str] | None = None


@dataclass
class Shared:
    """The small state the use cases share and the worker reads or sets."""

    provider_errors: list[datetime] = field(default_factory=list)  # when the provider failed us, for status
    # When the worker's last mentions reading began (set by the worker; None, without a worker, judges every
    # answer at once): an answer sent after it waits, since a post or edit sent before it may be unread.
    mentions_read_at: datetime | None = None

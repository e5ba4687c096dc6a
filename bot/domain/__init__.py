"""The domain: the transfer's state machine and the money policy here; the other lifecycles (a settlement, a
payout, an outbox message) in bot.domain.lifecycles, each a table of bot.domain.lifecycle.Lifecycle; the closed
sets of stored words (kinds, privacy, categories, causes, paybot's own reasons) in bot.domain.values. All are
importable from `bot.domain`. Pure: no I/O.

    pending ──yes──▶ executing ──ok──▶ completed
       │                 │     └──recipient can't receive──▶ held ──claimed──▶ completed
       │                 │                                     └──window over──▶ returned
       │                 │                                                   ▲
       │                 │     completed ──operator refund (all of it, in one or several parts)──┘
       │                 ├──bank wants approval──▶ needs_auth ──approved──▶ completed (or held)
       │                 │                              └──page expired──▶ failed
       │                 └──declined──▶ failed
       ├──no / cancel──▶ cancelled
       └──TTL passed──▶ expired
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from bot.domain.lifecycle import Lifecycle
from bot.domain.lifecycles import (
    CARD,
    IDENTITY,
    OUTBOX,
    PAYOUT,
    SETTLEMENT,
    WAITING,
    CardStep,
    IdentityStep,
    PayoutStatus,
    Send,
    Settle,
    card_step,
    identity_step,
)
from bot.domain.values import (
    Category,
    Cause,
    Fact,
    MessageKind,
    PagePurpose,
    Privacy,
    Reason,
    SettleFailure,
    TransferKind,
)
from bot.errors import CommandError
from bot.money import Money

__all__ = [
    "ALLOWED",
    "CARD",
    "CODE_ALPHABET",
    "EDIT_REASONS",
    "ENDED_BY_EDIT",
    "FINAL",
    "IDENTITY",
    "MOVED",
    "OUTBOX",
    "PAYOUT",
    "REFUNDS",
    "RELEASE_RETRY",
    "SETTLEMENT",
    "TRANSFER",
    "WAITING",
    "CardStep",
    "Category",
    "Cause",
    "CodeFactory",
    "Fact",
    "IdentityStep",
    "Lifecycle",
    "MessageKind",
    "PagePurpose",
    "PayoutStatus",
    "Policy",
    "Privacy",
    "Reason",
    "Send",
    "Settle",
    "SettleFailure",
    "Status",
    "Step",
    "TransferKind",
    "card_step",
    "identity_step",
    "money_key",
    "random_code",
    "release_retry_after",
    "step_of",
    "transition",
]

ENDED_BY_EDIT = Reason.ENDED_BY_EDIT  # the command is over: needs a new post
EDIT_REASONS = (Reason.EDITED, Reason.ENDED_BY_EDIT)  # why a transfer cancelled by an edit of its post was cancelled


class Status(StrEnum):
    PENDING = "pending"
    EXECUTING = "executing"
    COMPLETED = "completed"
    HELD = "held"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    RETURNED = "returned"
    NEEDS_AUTH = "needs_auth"  # the sender's bank wants them to approve it on the provider's page


ALLOWED: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.EXECUTING, Status.CANCELLED, Status.EXPIRED}),
    Status.EXECUTING: frozenset({Status.COMPLETED, Status.HELD, Status.FAILED, Status.NEEDS_AUTH}),
    Status.NEEDS_AUTH: frozenset({Status.COMPLETED, Status.HELD, Status.FAILED}),
    Status.HELD: frozenset({Status.COMPLETED, Status.RETURNED}),
    # an operator's refund (`paybot refund`) of a completed payment
    Status.COMPLETED: frozenset({Status.RETURNED}),
}
TRANSFER = Lifecycle("transfer", Status, starts=frozenset({Status.PENDING}), moves=ALLOWED)
FINAL = TRANSFER.final
# Statuses of money that moved (or is moving, or came back): what the rolling daily cap counts,
# from the moment a transfer became executing.
MOVED = frozenset({Status.EXECUTING, Status.NEEDS_AUTH, Status.COMPLETED, Status.HELD, Status.RETURNED})


def transition(current: Status, new: Status) -> Status:
    """Return `new` if a transfer in `current` may move to it; IllegalTransition otherwise."""
    return TRANSFER.move(current, new)


class Step(StrEnum):
    """A money step of a transfer, each with its own idempotency key (stored before the provider call)."""

    PAY = "pay"  # the sender's charge (to the recipient, or held by the platform)
    RELEASE = "release"  # held money paid out to the recipient who claimed it
    RETURN = "return"  # held money given back to the sender (claim window over, or an operator's refund)
    REFUND = "refund"  # money that reached the recipient given back to the sender (an operator's refund, or part)
    REVERSE = "reverse"  # money that reached the recipient taken back to the platform (an operator's reversal)


def money_key(step: Step, root_tweet_id: str, sender_id: str, recipient_id: str, seq: int = 1) -> str:
    """The idempotency key of one money step of one transfer: unique per (post, sender, recipient, step,
    seq), so a retry after a crash repeats the same step and nothing else. `seq` numbers the steps of one
    kind of a transfer (several partial refunds, a release tried again after a refusal); the first has
    no number, so keys stored before there could be several keep their meaning."""
    key = f"{step}:{root_tweet_id}:{sender_id}:{recipient_id}"
    if seq < 1:
        raise ValueError("a money step's sequence number counts from 1")
    return key if seq == 1 else f"{key}:{seq}"


def step_of(key: str | None) -> Step | None:
    """Which money step a stored key belongs to; None for no key."""
    if not key:
        return None
    return Step(key.partition(":")[0])


REFUNDS = frozenset({Step.RETURN, Step.REFUND})  # paybot's own ways of giving money back


# A release the provider refused because the platform's balance cannot cover it now is tried again, each time
# with a new key, this long after its 1st, 2nd, ... refusal; every 6 hours after the 5th, until it goes
# through or the operator gives the money back.
RELEASE_RETRY = (
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
)


def release_retry_after(refusals: int) -> timedelta:
    """How long after its latest refusal for the platform's balance a release is tried again."""
    if refusals < 1:
        raise ValueError("a release is retried after a refusal")
    return RELEASE_RETRY[min(refusals, len(RELEASE_RETRY)) - 1]


@dataclass(frozen=True)
class Policy:
    """Limits and time windows; amounts are minor units of any enabled currency."""

    min_minor: int = 50
    max_minor: int = 250_00
    daily_max_minor: int = 500_00
    confirm_ttl: timedelta = timedelta(minutes=10)
    request_ttl: timedelta = timedelta(days=7)
    claim_window: timedelta = timedelta(days=14)
    cashout_hold: timedelta = timedelta(days=7)  # money received is kept from CASHOUT this long (card disputes)
    cashouts_per_day: int = 2  # cash-outs per user in any 24 hours
    auth_window: timedelta = timedelta(hours=24)  # how long a sender has to approve on the bank's page
    key_lifetime: timedelta = timedelta(hours=24)  # after this, a payment in doubt is looked up, not retried
    dm_answers_per_hour: int = 10  # answers to DMs that move no money, per person (the last says so)
    # What one post can make the bot say to others (each refusal a "limit" answer, at most once an hour):
    requests_per_hour: int = 10  # request commands per requester, in any hour
    requests_per_payer_day: int = 5  # request commands naming one payer, in any 24 hours, from anyone
    strangers_per_day: int = 5  # people per sender, in any 24 hours, paid without ever having written to the bot
    sends_per_hour: int = 20  # send commands per sender, in any hour (each asks a confirmation DM)
    pending_sends: int = 5  # send commands per sender waiting for their answer at once
    pending_sends_no_card: int = 1  # the same for a sender without a saved card (each DM says to REGISTER)
    # The provider's own smallest charge per currency (Stripe's), when above min_minor.
    currency_min: Mapping[str, int] = field(default_factory=dict)

    def min_for(self, currency: str) -> int:
        """The smallest amount accepted in `currency`, in its minor units."""
        return max(self.min_minor, self.currency_min.get(currency, 0))

    def check(self, amount: Money, n_recipients: int, spent_today: Money) -> None:
        """Refuse, with a sentence for the sender, an amount outside the limits."""
        self.check_amount(amount)
        total = amount * n_recipients
        if spent_today.minor + total.minor > self.daily_max_minor:
            cap = Money(self.daily_max_minor, amount.currency)
            left = Money(max(0, self.daily_max_minor - spent_today.minor), amount.currency)
            raise CommandError("limit.daily", cap=cap, left=left)

    def check_amount(self, amount: Money) -> None:
        """Refuse an amount below the minimum or above the maximum per transfer."""
        smallest = self.min_for(amount.currency)
        if amount.minor < smallest:
            raise CommandError("limit.min", amount=Money(smallest, amount.currency))
        if amount.minor > self.max_minor:
            raise CommandError("limit.max", amount=Money(self.max_minor, amount.currency))


CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L


def random_code() -> str:
    """A four-character confirmation code that is easy to read and type."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))


CodeFactory = Callable[[], str]

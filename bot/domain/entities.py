"""The entities the use cases read and change: plain dataclasses, no persistence.

Each is one stored row's worth of facts (a transfer, a step of its timeline, a settlement, a message to post, a
cash-out, a person). The SQL store maps them to its tables (bot.repo.schema, SQLAlchemy's imperative mapping);
the memory store keeps them in dictionaries. Both build them with keywords only, as the use cases do:
`Transfer(amount_minor=500, currency="USD", ...)`; a field with no default here must be given."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any, TypeVar, dataclass_transform

from bot.domain import Status, Step
from bot.domain.lifecycles import PayoutStatus, Send, Settle
from bot.domain.values import Category, Cause, Fact, MessageKind, PagePurpose, Privacy, SettleFailure, TransferKind

__all__ = [
    "BALANCE",
    "ENTITIES",
    "PRIORITY_CONFIRM",
    "PRIORITY_OUTCOME",
    "PRIORITY_REPLY",
    "PRIORITY_URGENT",
    "Checkpoint",
    "IdentityRecord",
    "Lease",
    "Outbox",
    "PageLink",
    "Payout",
    "ProcessedDm",
    "ProcessedTweet",
    "Settlement",
    "Transfer",
    "TransferEvent",
    "User",
    "entity",
]

E = TypeVar("E")


def _time() -> Any:
    """A UTC time the use case sets before the entity is saved (the store refuses to save one without it); until
    then None, as an entity built only to be read (a placeholder user) leaves it."""
    return None


@dataclass_transform(kw_only_default=True)
def entity(cls: type[E]) -> type[E]:
    """A dataclass whose fields are given by keyword (a field with no default is required). Declared as a
    dataclass transform so a type checker also lets the store's queries name the class's fields
    (`Transfer.status`), which SQLAlchemy's mapping makes columns."""
    return dataclasses.dataclass(kw_only=True)(cls)


@entity
class User:
    """Someone paybot has seen on X, keyed by the numeric id; the handle can change."""

    id: str
    handle: str
    name: str = ""
    privacy: Privacy = Privacy.PUBLIC  # what the public reply about their payments shows
    opted_out: bool = False  # STOP: nobody may pay them or ask them for money, and they are not mentioned
    updated_at: datetime = _time()
    seen_at: datetime | None = None  # when X last showed us this handle (a post, a DM, a lookup)
    wrote_at: datetime | None = None  # when they last wrote to the bot (a command or a DM)
    # X's id of their newest post to the bot, while it made no confirmation (a command refused, even silently, an
    # edit into help or chatter): a bare answer sent after it, and after every confirmation it could answer, may be
    # meant for that post (see `Confirming.answer`). A post that is asked about clears it.
    last_post_id: str | None = None


@entity
class Transfer:
    """One payment from a sender to one recipient, born from one command post.

    A send names its recipients; a request names its payers (the senders).
    Either way it is unique per post and pair of people, so an edit or a
    repeated delivery can never make a second one."""

    id: int | None = None
    kind: TransferKind = TransferKind.SEND
    lang: str = "en"  # the language of the command, for every answer about it
    root_tweet_id: str
    command_tweet_id: str  # the version (edit) of the post that was confirmed
    sender_id: str
    recipient_id: str
    amount_minor: int
    currency: str
    memo: str | None = None
    code: str
    status: Status  # moved by domain.transition only
    reason: str | None = None  # a domain.Reason, or a provider's words for a decline
    pay_key: str | None = None  # idempotency key, stored before the provider call
    payment_ref: str | None = None  # the provider's id of the payment; what came after it is in Settlement
    created_at: datetime = _time()
    updated_at: datetime = _time()
    expires_at: datetime = _time()
    hold_until: datetime | None = None
    # When this version's confirmation (the DM of a send, the public reply of a request) reached X,
    # and X's id for it: a yes or no counts only if sent after it. None: not asked yet.
    asked_at: datetime | None = None
    asked_id: str | None = None
    # The same for the first version ever asked: the payer knew of this payment from then on, so a bare answer
    # sent after it may be meant for it even when an edit replaced the version it saw (see `Confirming.answer`).
    first_asked_at: datetime | None = None
    first_asked_id: str | None = None
    # When the yes or no that answered it was sent, by X's clock, and X's id for it: a bare answer sent before that
    # one was given while this payment still waited (see `Confirming.answer`).
    answered_at: datetime | None = None
    answered_id: str | None = None
    confirmed_at: datetime | None = None  # became executing: the cap counts from it


@entity
class TransferEvent:
    """One step in a transfer's life, for `paybot show`: when, which status, why."""

    id: int | None = None
    transfer_id: int
    at: datetime = _time()
    status: Status
    note: str | None = None
    fact: Fact | None = None  # what the code reads back from this line (a dispute), if anything


@entity
class Settlement:
    """One money step of a transfer after its payment: a release to the recipient, a return or refund to
    the sender (in full or in part), or a reversal from the recipient; one per step, each with its own
    idempotency key (domain.money_key), written and committed before the provider is called.

    A refund made outside paybot (the provider's dashboard) has one too, with no key."""

    id: int | None = None
    transfer_id: int
    step: Step  # any but Step.PAY
    seq: int  # 1, 2, ... per transfer and step: part of the key
    amount_minor: int  # in the transfer's currency
    key: str | None = None  # None: made outside paybot
    ref: str | None = None  # the provider's id for it, once it answered
    status: Settle  # moved by domain.SETTLEMENT only
    cause: Cause | None = None  # who started it
    failure: str | None = None  # why it failed: a domain.SettleFailure, or the provider's words
    created_at: datetime = _time()
    updated_at: datetime = _time()


BALANCE = SettleFailure.BALANCE  # Settlement.failure of a release the platform's balance could not cover


@entity
class ProcessedTweet:
    id: str
    processed_at: datetime = _time()


@entity
class ProcessedDm:
    id: str
    processed_at: datetime = _time()


@entity
class Checkpoint:
    name: str
    value: str


@entity
class Outbox:
    """A message to post on X. Sent by the worker, at least once, in priority order."""

    id: int | None = None
    kind: MessageKind
    priority: int  # 0 confirmation requests, 1 outcomes, 2 public replies
    to_user_id: str | None = None
    in_reply_to: str | None = None
    text: str
    status: Send = Send.QUEUED  # moved by domain.OUTBOX only
    attempts: int = 0
    next_attempt_at: datetime = _time()
    created_at: datetime = _time()
    sent_at: datetime | None = None
    x_id: str | None = None
    error: str | None = None
    transfer_root: str | None = None  # the command this message is about, if any
    version: str | None = None  # for a confirmation: the post (version of the command) it shows
    attempted_at: datetime | None = None  # when the first attempt to send it began
    category: Category | None = None  # what the message is, when that matters later (see it)
    about_user_id: str | None = None
    # A public reply's @-named people as "id:handle" pairs, checked just before it is first sent (STOP,
    # privacy, current handle) and cleared once its text is final. None: nothing to check.
    names: str | None = None


@entity
class Lease:
    """Who may run the worker's jobs: one leader at a time, renewed while it lives."""

    name: str
    holder: str
    expires_at: datetime = _time()


PRIORITY_CONFIRM, PRIORITY_OUTCOME, PRIORITY_REPLY = 0, 1, 2
# An approval link whose page closes soon (Mangopay's, after 10 or 15 minutes) goes before every other message.
PRIORITY_URGENT = -1


@entity
class Payout:
    """One cash-out (CASHOUT by DM): the user's balance at the provider paid out to their bank account. Written
    with its idempotency key (`cashout:<DM event id>`) and committed before the provider is called; the amount
    is the provider's (the balance when it made the payout). Of the bank account only the provider's id and the
    last four characters its confirmation showed are kept."""

    id: int | None = None
    user_id: str  # the X user
    key: str
    currency: str
    amount_minor: int | None = None  # what the payout took, once the provider said
    ref: str | None = None  # the provider's id of the payout, once it answered
    status: PayoutStatus  # moved by domain.PAYOUT only
    failure: str | None = None  # why nothing was paid out, or why the payout failed
    lang: str = "en"  # the language of the CASHOUT, for every answer about it
    account_ref: str | None = None  # the provider's id of the account paid, or to confirm (CONFIRM_ACCOUNT)
    account_code: str | None = None  # what its confirmation asked the user to reply with (YES <code>)
    # When the user confirmed `account_ref` by DM (it is then this cash-out's for good, and theirs to be paid), or
    # refused it (never paid). A cash-out with either keeps its `account_ref`.
    account_confirmed_at: datetime | None = None
    account_refused_at: datetime | None = None
    created_at: datetime = _time()
    updated_at: datetime = _time()


@entity
class IdentityRecord:
    """What a person typed on the identity-and-terms page (`paybot web`), for the payment provider's user: their
    name and e-mail, and, to receive money, their birthday, nationality, country of residence and address (the
    address is in the country of residence). Mangopay's terms: the address shown and when they were accepted.
    Read through `bot.identity.identity_of`; one per X user, replaced by each new form."""

    user_id: str  # the X user
    first_name: str
    last_name: str
    email: str
    birthday: date | None = None  # these five: only to receive money
    nationality: str | None = None  # ISO 3166-1 alpha-2
    residence: str | None = None  # ISO 3166-1 alpha-2, also the address's country
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    terms_url: str  # the terms the person was shown and accepted
    terms_accepted_at: datetime = _time()
    lang: str = "en"  # the language the page was shown in
    updated_at: datetime = _time()


@entity
class PageLink:
    """A link to one of paybot's pages that the bot sent someone (`bot.web.page_links`): its nonce (the link's
    token is `<expires>.<nonce>.<mac>`, bot.links, the MAC never stored), what it opens and for whom, and when it
    ends; `used_at` once its form was saved (a link works once); `claim`, the card page's hold on the link while a
    card form is with the provider (`PageLinks.claim`: a random token the holding browser keeps in its session)."""

    nonce: str
    purpose: PagePurpose  # what the page is for
    user_id: str  # the X user it was sent to
    lang: str = "en"  # the language of its pages
    created_at: datetime = _time()
    expires_at: datetime = _time()
    used_at: datetime | None = None
    claim: str | None = None  # who holds the link (bot.web.card_page): one card form at a time with the provider


# Every entity a store keeps, in the order of their tables.
ENTITIES: tuple[type, ...] = (
    User,
    Transfer,
    TransferEvent,
    Settlement,
    ProcessedTweet,
    ProcessedDm,
    Checkpoint,
    Outbox,
    Lease,
    Payout,
    IdentityRecord,
    PageLink,
)

"""The store: SQLModel tables and a unit of work. SQLite by default, Postgres by URL.

Nothing here runs at import time but the table definitions; `make_engine`
builds an engine when the caller asks for one.

SQLite is opened for durability and for one writer at a time: WAL journal,
synchronous=FULL, a busy timeout, and BEGIN IMMEDIATE for every transaction so
two processes never both think they hold the write lock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import CheckConstraint, Column, DateTime, Engine, Index, TypeDecorator, UniqueConstraint, event
from sqlalchemy.engine import Dialect
from sqlmodel import Field, Session, SQLModel, create_engine

from bot.domain import WAITING as WAITING
from bot.domain import (
    Category,
    Cause,
    Fact,
    MessageKind,
    PagePurpose,
    Privacy,
    Settle,
    SettleFailure,
    Status,
    Step,
    TransferKind,
)
from bot.domain import PayoutStatus as PayoutStatus
from bot.domain import Send as Send


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; always returns them UTC-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _time(nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def one_of(table: str, column: str, values: Iterable[str]) -> CheckConstraint:
    """A CHECK constraint, named `ck_<table>_<column>`, that `column` holds one of `values` (a domain enum): the
    store refuses any other word (NULL passes, for a column that may stay empty). Migration 0016 adds the same."""
    words = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({words})", name=f"ck_{table}_{column}")


class User(SQLModel, table=True):
    """Someone paybot has seen on X, keyed by the numeric id; the handle can change."""

    __table_args__ = (one_of("user", "privacy", Privacy),)

    id: str = Field(primary_key=True)
    handle: str = Field(index=True)
    name: str = ""
    privacy: str = Privacy.PUBLIC  # a Privacy: what the public reply about their payments shows
    opted_out: bool = False  # STOP: nobody may pay them or ask them for money, and they are not mentioned
    updated_at: datetime = _time()
    seen_at: datetime | None = _time(nullable=True)  # when X last showed us this handle (a post, a DM, a lookup)
    wrote_at: datetime | None = _time(nullable=True)  # when they last wrote to the bot (a command or a DM)
    # X's id of their newest post to the bot, while it made no confirmation (a command refused, even silently, an
    # edit into help or chatter): a bare answer sent after it, and after every confirmation it could answer, may be
    # meant for that post (see `Confirming.answer`). A post that is asked about clears it.
    last_post_id: str | None = None


class Transfer(SQLModel, table=True):
    """One payment from a sender to one recipient, born from one command post.

    A send names its recipients; a request names its payers (the senders).
    Either way the row is unique per post and pair of people, so an edit or a
    repeated delivery can never make a second one."""

    # The indexes after the unique key serve the console's pages (bot.console.pages), newest first: all transfers,
    # by status, by either party (keyset pagination on created_at, id).
    __table_args__ = (
        UniqueConstraint("root_tweet_id", "sender_id", "recipient_id"),
        Index("ix_transfer_created", "created_at", "id"),
        Index("ix_transfer_status_created", "status", "created_at", "id"),
        Index("ix_transfer_sender_created", "sender_id", "created_at", "id"),
        Index("ix_transfer_recipient_created", "recipient_id", "created_at", "id"),
        one_of("transfer", "kind", TransferKind),
        one_of("transfer", "status", Status),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = TransferKind.SEND  # a TransferKind
    lang: str = "en"  # the language of the command, for every answer about it
    root_tweet_id: str = Field(index=True)
    command_tweet_id: str  # the version (edit) of the post that was confirmed
    sender_id: str = Field(index=True)
    recipient_id: str = Field(index=True)
    amount_minor: int
    currency: str
    memo: str | None = None
    code: str
    status: str = Field(index=True)  # a Status, moved by domain.transition only
    reason: str | None = None  # a domain.Reason, or a provider's words for a decline
    pay_key: str | None = None  # idempotency key, stored before the provider call
    payment_ref: str | None = None  # the provider's id of the payment; what came after it is in Settlement
    created_at: datetime = _time()
    updated_at: datetime = _time()
    expires_at: datetime = _time()
    hold_until: datetime | None = _time(nullable=True)
    # When this version's confirmation (the DM of a send, the public reply of a request) reached X,
    # and X's id for it: a yes or no counts only if sent after it. None: not asked yet.
    asked_at: datetime | None = _time(nullable=True)
    asked_id: str | None = None
    # The same for the first version ever asked: the payer knew of this payment from then on, so a bare answer
    # sent after it may be meant for it even when an edit replaced the version it saw (see `Confirming.answer`).
    first_asked_at: datetime | None = _time(nullable=True)
    first_asked_id: str | None = None
    # When the yes or no that answered it was sent, by X's clock, and X's id for it: a bare answer sent before that
    # one was given while this payment still waited (see `Confirming.answer`).
    answered_at: datetime | None = _time(nullable=True)
    answered_id: str | None = None
    confirmed_at: datetime | None = _time(nullable=True, index=True)  # became executing: the cap counts from it


class TransferEvent(SQLModel, table=True):
    """One step in a transfer's life, for `paybot show`: when, which status, why."""

    __table_args__ = (
        Index("ix_transferevent_at_status", "at", "status"),  # the console's charts, the warnings
        one_of("transferevent", "status", Status),
        one_of("transferevent", "fact", Fact),
    )

    id: int | None = Field(default=None, primary_key=True)
    transfer_id: int = Field(index=True)
    at: datetime = _time()
    status: str
    note: str | None = None
    fact: str | None = None  # a domain.Fact: what the code reads back from this line (a dispute), if anything


class Settlement(SQLModel, table=True):
    """One money step of a transfer after its payment: a release to the recipient, a return or refund to
    the sender (in full or in part), or a reversal from the recipient; one row per step, each with its own
    idempotency key (domain.money_key), written and committed before the provider is called.

    A refund made outside paybot (the provider's dashboard) has a row too, with no key."""

    __table_args__ = (
        UniqueConstraint("transfer_id", "step", "seq"),
        one_of("settlement", "step", (s for s in Step if s != Step.PAY)),
        one_of("settlement", "status", Settle),
        one_of("settlement", "cause", Cause),
    )

    id: int | None = Field(default=None, primary_key=True)
    transfer_id: int = Field(index=True)
    step: str  # a domain.Step other than pay
    seq: int  # 1, 2, ... per transfer and step: part of the key
    amount_minor: int  # in the transfer's currency
    key: str | None = Field(default=None, unique=True)  # None: made outside paybot
    ref: str | None = Field(default=None, index=True)  # the provider's id for it, once it answered
    status: str = Field(index=True)  # a domain.Settle, moved by domain.SETTLEMENT only
    cause: str | None = None  # a domain.Cause: who started it
    failure: str | None = None  # why it failed: a domain.SettleFailure, or the provider's words
    created_at: datetime = _time()
    updated_at: datetime = _time()


BALANCE = SettleFailure.BALANCE  # Settlement.failure of a release the platform's balance could not cover


class ProcessedTweet(SQLModel, table=True):
    id: str = Field(primary_key=True)
    processed_at: datetime = _time()


class ProcessedDm(SQLModel, table=True):
    id: str = Field(primary_key=True)
    processed_at: datetime = _time()


class Checkpoint(SQLModel, table=True):
    name: str = Field(primary_key=True)
    value: str


class Outbox(SQLModel, table=True):
    """A message to post on X. Sent by the worker, at least once, in priority order."""

    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "id"),
        Index("ix_outbox_transfer_root", "transfer_root", "id"),  # a transfer's messages (show)
        # the console's charts of what went out and when it was queued
        Index("ix_outbox_sent", "sent_at", "kind", "created_at"),
        Index("ix_outbox_created", "created_at"),
        one_of("outbox", "kind", MessageKind),
        one_of("outbox", "status", Send),
        one_of("outbox", "category", Category),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # a MessageKind
    priority: int = Field(index=True)  # 0 confirmation requests, 1 outcomes, 2 public replies
    to_user_id: str | None = None
    in_reply_to: str | None = None
    text: str
    status: str = Field(default=Send.QUEUED, index=True)  # a Send, moved by domain.OUTBOX only
    attempts: int = 0
    next_attempt_at: datetime = _time()
    created_at: datetime = _time()
    sent_at: datetime | None = _time(nullable=True)
    x_id: str | None = None
    error: str | None = None
    transfer_root: str | None = None  # the command this message is about, if any
    version: str | None = None  # for a confirmation: the post (version of the command) it shows
    attempted_at: datetime | None = _time(nullable=True)  # when the first attempt to send it began
    category: str | None = None  # a Category: what the message is, when that matters later (see it)
    about_user_id: str | None = None
    # A public reply's @-named people as "id:handle" pairs, checked just before it is first sent (STOP,
    # privacy, current handle) and cleared once its text is final. None: nothing to check.
    names: str | None = None


class Lease(SQLModel, table=True):
    """Who may run the worker's jobs: one leader at a time, renewed while it lives."""

    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime = _time()


class StripeUser(SQLModel, table=True):
    """What the Stripe provider knows of an X user: their Customer, saved card and Connect account."""

    user_id: str = Field(primary_key=True)
    customer_id: str | None = Field(default=None, index=True)
    payment_method_id: str | None = None
    account_id: str | None = Field(default=None, index=True)
    account_ready: bool = False
    updated_at: datetime = _time()


class StripePayment(SQLModel, table=True):
    """A payment the Stripe provider made on the platform, by the service's key: what an event naming that key is
    checked against. An event is a hint that names objects (any connected account can write paybot's key in its
    own metadata); this row names the ones paybot made: the Customer charged, the amount, the PaymentIntent, and
    the approval page (Checkout Session) when the bank wanted the sender."""

    key: str = Field(primary_key=True)
    customer_id: str
    amount_minor: int
    currency: str  # lower case, as Stripe writes it
    payment_intent_id: str | None = None  # the paying PaymentIntent once known (the refused one while a page is open)
    session_id: str | None = None  # the approval page, when there is one
    outcome: str | None = None  # "paid" or "held" once the platform said the payment succeeded
    updated_at: datetime = _time()


PRIORITY_CONFIRM, PRIORITY_OUTCOME, PRIORITY_REPLY = 0, 1, 2
# An approval link whose page closes soon (Mangopay's, after 10 or 15 minutes) goes before every other message.
PRIORITY_URGENT = -1


def database_url(url: str | None, sqlite_path: str | Path) -> str:
    """The SQLAlchemy URL: DATABASE_URL when set (postgres:// accepted), else the SQLite file."""
    if url:
        for old in ("postgres://", "postgresql://"):
            if url.startswith(old):
                return "postgresql+psycopg://" + url[len(old) :]
        return url
    return f"sqlite:///{Path(sqlite_path)}"


WAL_SWITCH_PATIENCE = 30.0  # seconds, the same as the busy timeout


def _journal_to_wal(cur: Any) -> None:
    """Put the database in WAL mode, waiting out another connection doing the same.

    Two processes opening a new database at once both switch it to WAL, and
    SQLite answers the loser "database is locked" at once, without calling
    the busy handler, so the wait is here."""
    deadline = time.monotonic() + WAL_SWITCH_PATIENCE
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def make_engine(url: str, *, create_tables: bool = True) -> Engine:
    """An engine for `url`, with SQLite tuned for durability.

    `create_tables` makes any missing table straight from the models (tests,
    simulations); a real store is brought up to date by bot.migrate instead."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN
            cur = dbapi_conn.cursor()
            _journal_to_wal(cur)
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    else:
        engine = create_engine(url, pool_pre_ping=True)
    if create_tables:
        SQLModel.metadata.create_all(engine)
    return engine


class UnitOfWork:
    """Opens one transaction; nothing is saved unless `commit()` is called."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                if session.in_transaction():
                    # Detach first, so objects read here stay readable (a rollback
                    # would expire them); nothing uncommitted reaches the database.
                    session.expunge_all()
                    session.rollback()


class Mark(StrEnum):
    """The name of every checkpoint the bot keeps: a typo is a type error, not a silently new row."""

    BOT_ID = "bot_id"  # the bot's X user id, checked against PAYBOT_HANDLE once
    STARTED_AT = "started_at"  # the first start: older posts and DMs are history
    HEARTBEAT = "heartbeat"  # the worker's last jobs, for `paybot status`
    PAUSED = "paused"  # "1": `paybot pause`, no money moves
    PAUSED_AT = "paused_at"  # when `paybot pause` last began (ISO 8601)
    WINDING_DOWN = "winding_down"  # "1": `paybot wind-down`, no new command is taken
    MENTIONS_SINCE = "mentions_since"
    MENTIONS_NEWEST = "mentions_newest"
    DM_NEWEST = "dm_newest"
    DM_RESUME = "dm_resume"
    DM_SWEEP_TOP = "dm_sweep_top"
    PROVIDER_EVENTS = "provider_events"  # the provider's event cursor
    RECONCILED = "reconciled"  # the last reconciliation's findings (JSON), for the console


class Marks(Protocol):
    """Where checkpoints are read and written (the repository port's `Checkpoints`)."""

    def get(self, name: Mark) -> str | None: ...

    def set(self, name: Mark, value: str) -> None: ...


@dataclass(frozen=True)
class MentionCursor:
    """Where the mentions poll reads from: `since` (X's since_id) trails `newest` by one poll, so a
    mention X indexed late still falls inside the next window. Both None before the first poll."""

    since: str | None = None
    newest: str | None = None

    @classmethod
    def read(cls, marks: Marks) -> MentionCursor:
        return cls(marks.get(Mark.MENTIONS_SINCE) or None, marks.get(Mark.MENTIONS_NEWEST) or None)

    def after(self, top: str) -> MentionCursor | None:
        """The cursor once a poll whose newest mention is `top` was handled; None: unchanged."""
        if self.newest is None:
            return MentionCursor(top, top)
        if int(top) > int(self.newest):
            return MentionCursor(self.newest, top)
        return None

    def write(self, marks: Marks) -> None:
        marks.set(Mark.MENTIONS_SINCE, self.since or "")
        marks.set(Mark.MENTIONS_NEWEST, self.newest or "")


@dataclass(frozen=True)
class DmCursor:
    """Where the DM reading stands: `newest` is the stop mark (every event up to it was read);
    while older unread events remain below a page, `resume` says where reading goes on and
    `sweep_top` keeps the newest id seen meanwhile, which becomes the stop mark at the end."""

    newest: str | None = None
    resume: str | None = None
    sweep_top: str | None = None

    @classmethod
    def read(cls, marks: Marks) -> DmCursor:
        return cls(
            marks.get(Mark.DM_NEWEST) or None, marks.get(Mark.DM_RESUME) or None, marks.get(Mark.DM_SWEEP_TOP) or None
        )

    def after(self, ids: list[str], resume: str | None) -> DmCursor:
        """The cursor once a page of these event ids was handled (`resume`: the page said more remain)."""
        seen = [*ids, *([self.sweep_top] if self.sweep_top else [])]
        top = max(seen, key=int) if seen else None
        if resume:
            return DmCursor(self.newest, resume, top or self.sweep_top)
        return DmCursor(top or self.newest, None, None)

    def write(self, marks: Marks) -> None:
        if self.newest is not None:
            marks.set(Mark.DM_NEWEST, self.newest)
        marks.set(Mark.DM_RESUME, self.resume or "")
        marks.set(Mark.DM_SWEEP_TOP, self.sweep_top or "")


class MangopayUser(SQLModel, table=True):
    """What the Mangopay provider knows of an X user: their Natural User, one wallet per currency, the saved
    card (and the registration still waiting for one), the recurring registration per currency, and whether
    they can receive (an OWNER whose KYC level is REGULAR)."""

    user_id: str = Field(primary_key=True)
    mangopay_user_id: str | None = Field(default=None, index=True)
    owner: bool = False  # UserCategory OWNER (terms accepted): may receive transfers once KYC-verified
    kyc_regular: bool = False  # KYCLevel REGULAR: can receive
    kyc_session_id: str | None = None  # the last hosted identity verification session
    wallets: str = "{}"  # JSON: currency -> wallet id
    card_id: str | None = None
    card_registration_id: str | None = None  # a card page opened and not yet completed
    recurring: str = "{}"  # JSON: "currency:card id" -> recurring pay-in registration id
    # What the person's browser said on paybot's card page (JSON: Mangopay's BrowserInfo) and their IP address:
    # sent with each customer-initiated pay-in made in their name (bot.providers.mangopay_cards).
    browser_info: str | None = None
    ip_address: str | None = None
    updated_at: datetime = _time()


class Payout(SQLModel, table=True):
    """One cash-out (CASHOUT by DM): the user's balance at the provider paid out to their bank account. Written
    with its idempotency key (`cashout:<DM event id>`) and committed before the provider is called; the amount
    is the provider's (the balance when it made the payout). Of the bank account only the provider's id and the
    last four characters its confirmation showed are kept."""

    __table_args__ = (one_of("payout", "status", PayoutStatus),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(index=True)  # the X user
    key: str = Field(unique=True)
    currency: str
    amount_minor: int | None = None  # what the payout took, once the provider said
    ref: str | None = Field(default=None, index=True)  # the provider's id of the payout, once it answered
    status: str = Field(index=True)  # a PayoutStatus, moved by domain.PAYOUT only
    failure: str | None = None  # why nothing was paid out, or why the payout failed
    lang: str = "en"  # the language of the CASHOUT, for every answer about it
    account_ref: str | None = None  # the provider's id of the account paid, or to confirm (CONFIRM_ACCOUNT)
    account_code: str | None = None  # what its confirmation asked the user to reply with (YES <code>)
    # When the user confirmed `account_ref` by DM (it is then this cash-out's for good, and theirs to be paid), or
    # refused it (never paid). A cash-out with either keeps its `account_ref`.
    account_confirmed_at: datetime | None = _time(nullable=True)
    account_refused_at: datetime | None = _time(nullable=True)
    created_at: datetime = _time()
    updated_at: datetime = _time()


class IdentityRecord(SQLModel, table=True):
    """What a person typed on the identity-and-terms page (`paybot web`), for the payment provider's user: their
    name and e-mail, and, to receive money, their birthday, nationality, country of residence and address (the
    address is in the country of residence). Mangopay's terms: the address shown and when they were accepted.
    Read through `bot.identity.identity_of`; one row per X user, replaced by each new form."""

    __tablename__ = "identity"

    user_id: str = Field(primary_key=True)  # the X user
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


class PageLink(SQLModel, table=True):
    """A link to one of paybot's pages that the bot sent someone (`bot.web.page_links`): its nonce (the link's
    token is `<expires>.<nonce>.<mac>`, bot.links, the MAC never stored), what it opens and for whom, and when it
    ends; `used_at` once its form was saved (a link works once); `claim`, the card page's hold on the link while a
    card form is with the provider (`PageLinks.claim`: a random token the holding browser keeps in its session)."""

    __tablename__ = "page_link"
    __table_args__ = (one_of("page_link", "purpose", PagePurpose),)

    nonce: str = Field(primary_key=True)
    purpose: str  # a domain.PagePurpose: what the page is for
    user_id: str = Field(index=True)  # the X user it was sent to
    lang: str = "en"  # the language of its pages
    created_at: datetime = _time()
    expires_at: datetime = _time()
    used_at: datetime | None = _time(nullable=True)
    claim: str | None = None  # who holds the link (bot.web.card_page): one card form at a time with the provider


class Operator(SQLModel, table=True):
    """Someone who may sign in to the console (`paybot operator add NAME`): the password's Argon2id hash (never
    the password), and the TOTP secret when they chose a second factor."""

    __tablename__ = "operator"

    name: str = Field(primary_key=True)
    password_hash: str
    totp_secret: str | None = None
    totp_last_step: int | None = None  # the 30-second step of the last TOTP code accepted: a code works once
    created_at: datetime = _time()


class OperatorSession(SQLModel, table=True):
    """A signed-in console session: the SHA-256 of its token (the cookie holds the token), whose it is, when it was
    last used and when it ends whatever happens (bot.console.operators)."""

    __tablename__ = "operator_session"

    token_hash: str = Field(primary_key=True)
    operator: str = Field(index=True)
    created_at: datetime = _time()
    seen_at: datetime = _time()
    expires_at: datetime = _time()


class ConsoleAction(SQLModel, table=True):
    """One confirmation page of the console (bot.console.pages): the SHA-256 of the single-use token its form
    carries, bound to the operator it was shown to, the session it was shown in, the action, the transfer and the
    exact amount it named (minor units; None where no amount is named). `used_at` is set, in one conditional
    UPDATE, when the form is posted: a second post finds it set and does nothing. `ok` and `outcome` are what the
    action came to, for the result page the post is redirected to."""

    __tablename__ = "console_action"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True)
    # The session the page was shown in (OperatorSession.token_hash): the token is spent only in that session, while
    # it lasts (bot.console.actions). None on rows stored before 0020: those are never spent.
    session_hash: str | None = None
    operator: str
    action: str
    transfer_id: int | None = None
    amount_minor: int | None = None
    question: str
    created_at: datetime = _time()
    used_at: datetime | None = _time(nullable=True)
    ok: bool | None = None
    outcome: str | None = None


class SignInAttempt(SQLModel, table=True):
    """One try at signing in to the console, kept to limit them per name and per address."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (Index("ix_sign_in_attempt_name_at", "name", "at"), Index("ix_sign_in_attempt_ip_at", "ip", "at"))

    id: int | None = Field(default=None, primary_key=True)
    name: str
    ip: str
    at: datetime = _time()
    ok: bool = False


class ChartHour(SQLModel, table=True):
    """What the console's charts count of one past UTC hour (bot.console.read), kept once the hour is over so that
    a drawing counts only the hours since: transfers made, messages sent (all, DMs, replies), the DMs of the
    hour's busiest 15-minute window, messages queued, timeline steps to failed. Written by the console when it
    draws, never by the worker; every column is a count of rows that do not change once the hour is over."""

    __tablename__ = "chart_hour"

    hour: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})  # hours since 1970-01-01 UTC
    made: int = 0
    sent: int = 0
    sent_dm: int = 0
    sent_reply: int = 0
    dm_peak: int = 0
    queued: int = 0
    failed: int = 0

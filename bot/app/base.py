"""The service's state and its shared helpers: ports, the outbox, users, statuses; the rules that
several use cases apply (the version rule `answers`, what a request shows `Ask`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.commands import DEFAULT_ENABLED
from bot.domain import Category, CodeFactory, MessageKind, Policy, Status, TransferKind, random_code, transition
from bot.errors import ProviderError
from bot.messages import text as say
from bot.money import Money
from bot.ports import Clock, PaymentProvider, XUser
from bot.repo.port import Store, Tx
from bot.store import PRIORITY_OUTCOME, PRIORITY_REPLY, Mark, Outbox, Transfer, TransferEvent, User

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


@dataclass
class ServiceBase:
    """The ports and settings every use case works with, and the helpers they share."""

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
    provider_errors: list[datetime] = field(default_factory=list)  # when the provider failed us, for status
    # When the worker's last mentions reading began (set by the worker; None, without a worker, judges every
    # answer at once): an answer sent after it waits, since a post or edit sent before it may be unread.
    mentions_read_at: datetime | None = None
    # `page_link(tx, purpose, user_id, lang)`: a new link to paybot's page of that purpose, stored in `tx`
    # (bot.web.page_links.issue; set by bot.bootstrap when PAYBOT_WEB_URL is set). None: no such pages.
    page_link: Callable[[Tx, str, str, str], str] | None = None

    def provider_failed(self) -> None:
        now = self.clock.now()
        self.provider_errors = [t for t in self.provider_errors if now - t < timedelta(hours=1)] + [now]

    def unseen(self, ids: list[str], *, dms: bool = False) -> set[str]:
        """Which of these post (or DM event) ids have not been processed yet: one query per page."""
        with self.uow() as s:
            return (s.dms if dms else s.mentions).unseen(ids)

    def awaiting_answers(self) -> bool:
        """Whether anyone has a confirmation to answer (pending transfers)."""
        with self.uow() as s:
            return s.transfers.has_status(Status.PENDING)

    def set_aside(self, what: str) -> None:
        """Mark a mention or DM that keeps failing as processed, so it stops blocking the rest."""
        kind, _, xid = what.partition(" ")
        with self.uow() as s:
            done = s.mentions if kind == "mention" else s.dms
            if not done.has(xid):
                done.add(xid, self.clock.now())
                s.commit()
        log.error("%s set aside after repeated failures", what)

    def next_due(self) -> datetime | None:
        """The next time something becomes due (an expiry or the end of a claim window)."""
        with self.uow() as s:
            return s.transfers.next_deadline()

    def paused(self) -> bool:
        """Whether an operator paused payments (`paybot pause`)."""
        with self.uow() as s:
            return s.checkpoints.flag(Mark.PAUSED)

    def set_paused(self, on: bool) -> None:
        """`paybot pause` / `paybot resume`. Payments confirmed while paused were never sent to the provider: on
        resume their key's lifetime (`Policy.key_lifetime`, counted from `updated_at`) starts now, so a pause
        longer than it does not make them looked up (and failed) instead of paid."""
        now = self.clock.now()
        with self.uow() as s:
            was = s.checkpoints.flag(Mark.PAUSED)
            if on and not was:
                s.checkpoints.set(Mark.PAUSED_AT, now.isoformat())
            if was and not on and (began := s.checkpoints.get(Mark.PAUSED_AT)):
                since = datetime.fromisoformat(began)
                for t in s.transfers.with_status(Status.EXECUTING):
                    if t.confirmed_at is not None and t.confirmed_at >= since:
                        t.updated_at = now
            s.checkpoints.set(Mark.PAUSED, "1" if on else "")
            s.commit()

    def _may_have_card(self, user_id: str) -> bool:
        """Whether the user has a saved card; True when the provider cannot say right now.

        The answer only shapes a message or lets a payment start: a payment
        without a card comes back NO_CARD from pay() and is told as such, so a
        provider outage must not stop (or lose) a command here."""
        try:
            return self.provider.has_card(user_id)
        except ProviderError as err:
            log.warning(
                "could not ask the provider whether user %s has a card (%s); going on",
                user_id,
                err,
                extra={"user_id": user_id},
            )
            self.provider_failed()
            return True

    def _read_ahead(self, s: Tx, people: set[str], roots: set[str] | None = None) -> None:
        """Read at once what a page of events will ask of the store about these people (their rows, what they
        have pending or confirmed within the cap's window) and these commands (their transfers)."""
        s.users.many(people)
        s.transfers.warm(people, self.clock.now() - CAP_WINDOW)
        if roots:
            s.transfers.of_roots(roots)

    def _moved_24h(self, s: Tx, sender_id: str, currency: str) -> Money:
        """What the sender confirmed in the last 24 hours, every currency counted in its minor units
        (see `moved_since`), shown in `currency`: the rolling cap's measure."""
        return Money(s.transfers.moved_since(sender_id, self.clock.now() - CAP_WINDOW), currency)

    def _lang_of(self, s: Tx, user_id: str) -> str:
        return s.transfers.lang_of(user_id) or "en"

    def _set_status(
        self, s: Tx, t: Transfer, new: Status, now: datetime, reason: str | None = None, note: str | None = None
    ) -> None:
        """Move a transfer along the state machine and write the step to its timeline (`reason`: why it
        ended, kept on the transfer too; `note`: what happened, on the timeline only)."""
        t.status = transition(t.status, new)
        t.updated_at = now
        if reason:
            t.reason = reason
        s.timeline.add(TransferEvent(transfer_id=saved_id(t), at=now, status=str(new), note=reason or note))

    def _remember(self, s: Tx, user: XUser, *, wrote: bool = False) -> None:
        """Keep what X just showed of a user: the handle (renames), when it was seen, and whether they
        wrote to the bot. The times are only rewritten when older than SEEN_EVERY (fewer writes)."""
        if not user.id or not user.handle:
            return
        now = self.clock.now()
        row = s.users.get(user.id)
        if row is None:
            row = User(
                id=user.id,
                handle=user.handle,
                name=user.name,
                updated_at=now,
                seen_at=now,
                wrote_at=now if wrote else None,
            )
        elif (
            row.handle != user.handle
            or (user.name and row.name != user.name)
            or row.seen_at is None
            or now - row.seen_at > SEEN_EVERY
            or (wrote and (row.wrote_at is None or now - row.wrote_at > SEEN_EVERY))
        ):
            if row.handle != user.handle or (user.name and row.name != user.name):
                row.handle = user.handle
                row.name = user.name or row.name
                row.updated_at = now
            row.seen_at = now
            if wrote:
                row.wrote_at = now
        else:
            return
        s.users.add(row)

    def _handle(self, s: Tx, user_id: str) -> str:
        row = s.users.get(user_id)
        return row.handle if row else user_id

    def _queue_dm(
        self,
        s: Tx,
        user_id: str,
        text: str,
        priority: int,
        root: str | None = None,
        version: str | None = None,
        category: Category | None = None,
    ) -> None:
        now = self.clock.now()
        s.outbox.add(
            Outbox(
                kind=MessageKind.DM,
                priority=priority,
                to_user_id=user_id,
                text=text,
                next_attempt_at=now,
                created_at=now,
                transfer_root=root,
                version=version,
                category=category,
                about_user_id=user_id if category else None,
            )
        )

    def _may_answer(self, s: Tx, user_id: str, lang: str) -> bool:
        """Whether a DM that moves no money (help, history, settings, an unreadable or unmatched
        answer) may still be answered: at most `policy.dm_answers_per_hour` an hour per person, the
        last of them saying so. Each answer is a paid DM from a shared daily budget."""
        since = self.clock.now() - timedelta(hours=1)
        sent = s.outbox.count_about(user_id, Category.DM_ANSWER, since)
        limit = self.policy.dm_answers_per_hour
        if sent == limit - 1:
            self._queue_dm(s, user_id, say("dm.slow_down", lang), PRIORITY_OUTCOME, category=Category.DM_ANSWER)
        if sent >= limit - 1:
            log.info(
                "not answering user %s again within the hour: %d answers already",
                user_id,
                sent,
                extra={"user_id": user_id},
            )
            return False
        return True

    def _answer_dm(self, s: Tx, user_id: str, text: str, lang: str, priority: int = PRIORITY_OUTCOME) -> None:
        """Queue an answer that moves no money, within the per-person hourly allowance."""
        if self._may_answer(s, user_id, lang):
            self._queue_dm(s, user_id, text, priority, category=Category.DM_ANSWER)

    def _queue_reply(
        self,
        s: Tx,
        tweet_id: str,
        text: str,
        *,
        root: str | None = None,
        priority: int = PRIORITY_REPLY,
        category: Category | None = None,
        about: str | None = None,
        version: str | None = None,
        names: list[str] | None = None,
    ) -> None:
        """Queue a public reply. `names`: the user ids it @-names, checked again before it is sent."""
        now = self.clock.now()
        named = " ".join(f"{uid}:{self._handle(s, uid)}" for uid in dict.fromkeys(names)) if names else None
        s.outbox.add(
            Outbox(
                kind=MessageKind.REPLY,
                priority=priority,
                in_reply_to=tweet_id,
                text=text,
                next_attempt_at=now,
                created_at=now,
                transfer_root=root,
                category=category,
                about_user_id=about,
                version=version,
                names=named,
            )
        )

"""The helpers every use case shares that need the clock, the policy or the provider: the outbox (a DM, a
public reply, an answer within the hourly allowance), what X showed of a user, what a page of events will
read, and the provider's failures. `Common` takes the context and the shared state; the use cases receive it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from bot.app.base import CAP_WINDOW, SEEN_EVERY, Context, Shared, handle_of
from bot.domain import Category, MessageKind
from bot.domain.entities import PRIORITY_OUTCOME, PRIORITY_REPLY, Outbox, User
from bot.errors import ProviderError
from bot.messages import text as say
from bot.money import Money
from bot.ports import XUser
from bot.repo.port import Tx

log = logging.getLogger(__name__)


class Common:
    """The outbox, users and the provider's failures, on one context."""

    def __init__(self, ctx: Context, shared: Shared) -> None:
        self.ctx = ctx
        self.shared = shared

    def provider_failed(self) -> None:
        now = self.ctx.clock.now()
        self.shared.provider_errors = [t for t in self.shared.provider_errors if now - t < timedelta(hours=1)] + [now]

    def cards_of(self, user_ids: Iterable[str]) -> dict[str, bool]:
        """Whether each of these users has a saved card; True when the provider cannot say right now. Asked
        before a unit of work opens (a provider call may take seconds: read, commit, call, commit), its answers
        handed to the use case that needs them.

        The answer only shapes a message or lets a payment start: a payment
        without a card comes back NO_CARD from pay() and is told as such, so a
        provider outage must not stop (or lose) a command here."""
        out: dict[str, bool] = {}
        for user_id in sorted(set(user_ids)):
            try:
                out[user_id] = self.ctx.provider.has_card(user_id)
            except ProviderError as err:
                log.warning(
                    "could not ask the provider whether user %s has a card (%s); going on",
                    user_id,
                    err,
                    extra={"user_id": user_id},
                )
                self.provider_failed()
                out[user_id] = True
        return out

    def read_ahead(self, s: Tx, people: set[str], roots: set[str] | None = None) -> None:
        """Read at once what a page of events will ask of the store about these people (their rows, what they
        have pending or confirmed within the cap's window) and these commands (their transfers)."""
        s.users.many(people)
        s.transfers.warm(people, self.ctx.clock.now() - CAP_WINDOW)
        if roots:
            s.transfers.of_roots(roots)

    def moved_24h(self, s: Tx, sender_id: str, currency: str) -> Money:
        """What the sender confirmed in the last 24 hours, every currency counted in its minor units
        (see `moved_since`), shown in `currency`: the rolling cap's measure."""
        return Money(s.transfers.moved_since(sender_id, self.ctx.clock.now() - CAP_WINDOW), currency)

    def remember(self, s: Tx, user: XUser, *, wrote: bool = False) -> None:
        """Keep what X just showed of a user: the handle (renames), when it was seen, and whether they
        wrote to the bot. The times are only rewritten when older than SEEN_EVERY (fewer writes)."""
        if not user.id or not user.handle:
            return
        now = self.ctx.clock.now()
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

    def queue_dm(
        self,
        s: Tx,
        user_id: str,
        text: str,
        priority: int,
        root: str | None = None,
        version: str | None = None,
        category: Category | None = None,
    ) -> None:
        now = self.ctx.clock.now()
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

    def may_answer(self, s: Tx, user_id: str, lang: str) -> bool:
        """Whether a DM that moves no money (help, history, settings, an unreadable or unmatched
        answer) may still be answered: at most `policy.dm_answers_per_hour` an hour per person, the
        last of them saying so. Each answer is a paid DM from a shared daily budget."""
        since = self.ctx.clock.now() - timedelta(hours=1)
        sent = s.outbox.count_about(user_id, Category.DM_ANSWER, since)
        limit = self.ctx.policy.dm_answers_per_hour
        if sent == limit - 1:
            self.queue_dm(s, user_id, say("dm.slow_down", lang), PRIORITY_OUTCOME, category=Category.DM_ANSWER)
        if sent >= limit - 1:
            log.info(
                "not answering user %s again within the hour: %d answers already",
                user_id,
                sent,
                extra={"user_id": user_id},
            )
            return False
        return True

    def answer_dm(self, s: Tx, user_id: str, text: str, lang: str, priority: int = PRIORITY_OUTCOME) -> None:
        """Queue an answer that moves no money, within the per-person hourly allowance."""
        if self.may_answer(s, user_id, lang):
            self.queue_dm(s, user_id, text, priority, category=Category.DM_ANSWER)

    def queue_reply(
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
        now = self.ctx.clock.now()
        named = " ".join(f"{uid}:{handle_of(s, uid)}" for uid in dict.fromkeys(names)) if names else None
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

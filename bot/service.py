"""The use cases: a mention arrives, a DM arrives, time passes, money moves.

The service receives its ports (store, provider, clock) and touches X only
through the outbox table. Money moves in three steps so that a crash at any
point is recoverable: (1) commit the transfer as executing with its
idempotency key, (2) call the provider with that key, (3) commit the result.
A transfer left in executing is driven again with the same key, which the
provider answers with the first result.

`Service` is the one facade: it builds each use case of bot/app (a handler that receives the context and the
handlers it calls, nothing else), hands each typed input (`bot.app.inputs`) to its handler through one table
(`Service.table`, `handle`), and offers every use case's entry points as thin delegations.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.app.answers import Answers
from bot.app.asking import Asking
from bot.app.base import ERROR_REPLY_EVERY, Ask, Context, Shared, answers, money, party
from bot.app.cashout import Cashout
from bot.app.common import Common
from bot.app.confirming import Confirming
from bot.app.events import Events
from bot.app.holds import Holds
from bot.app.inputs import DmPage, Expire, Input, LapseApprovals, MentionPage, ReadEvents, Resume, ReturnDue
from bot.app.payments import Payments
from bot.app.refunds import Refunds
from bot.app.settling import Settling
from bot.app.upkeep import Upkeep
from bot.app.voice import Voice
from bot.app.winddown import WindDown, WindDownReport
from bot.commands import DEFAULT_ENABLED
from bot.domain import CodeFactory, PagePurpose, Policy, random_code
from bot.domain.entities import Outbox, Transfer
from bot.domain.marks import DmCursor, MentionCursor
from bot.ports import Clock, DirectMessage, Mention, PaymentProvider, ProviderEvent, XUser
from bot.repo.port import Store, Tx

__all__ = ["ERROR_REPLY_EVERY", "Ask", "Context", "Service", "Shared", "answers", "money", "party"]


class Service:
    """Every use case, on one set of ports (see bot/app/ for each), composed: each handler receives only the
    context and the handlers it calls."""

    def __init__(
        self,
        uow: Store,
        provider: PaymentProvider,
        clock: Clock,
        policy: Policy,
        bot_id: str,
        bot_handle: str,
        currency: str = "USD",
        enabled: tuple[str, ...] = DEFAULT_ENABLED,
        new_code: CodeFactory = random_code,
        fediverse: bool = False,
        page_link: Callable[[Tx, PagePurpose, str, str], str] | None = None,
    ) -> None:
        ctx = Context(
            uow=uow,
            provider=provider,
            clock=clock,
            policy=policy,
            bot_id=bot_id,
            bot_handle=bot_handle,
            currency=currency,
            enabled=enabled,
            new_code=new_code,
            fediverse=fediverse,
            page_link=page_link,
        )
        self.ctx, self.shared = ctx, Shared()
        common = self.common = Common(ctx, self.shared)
        self.upkeep = Upkeep(ctx)
        self.asking = Asking(ctx, common)
        self.payments = Payments(ctx, common)
        self.settling = Settling(ctx, common)
        self.refunds = Refunds(ctx, common, self.settling)
        self.holds = Holds(ctx, common, self.payments, self.settling)
        self.cashout = Cashout(ctx, common)
        self.confirming = Confirming(ctx, self.shared, common)
        self.answers = Answers(ctx, self.shared, common, self.confirming, self.payments, self.holds, self.cashout)
        self.events = Events(ctx, common, self.payments, self.settling, self.holds, self.cashout)
        self.voice = Voice(ctx, common)
        self.winddown = WindDown(ctx, common, self.holds, self.cashout)
        # Each input the worker or the web app hands the core, by its type, to the handler that takes it.
        self.table: dict[type[Any], Callable[[Any], int]] = {
            MentionPage: lambda p: self.asking.on_mentions(list(p.mentions), since=p.since, cursor=p.cursor),
            DmPage: lambda p: self.answers.on_dms(list(p.dms), cursor=p.cursor),
            Expire: lambda e: self.payments.expire_due(read_until=e.read_until),
            Resume: lambda _: self.resume(),
            ReadEvents: lambda _: self.events.provider_events(),
            LapseApprovals: lambda _: self.holds.lapse_auth(),
            ReturnDue: lambda _: self.holds.return_due(),
            ProviderEvent: self._apply,
        }

    def handle(self, what: Input) -> int:
        """Hand one input to the use case that takes it; how many things it did (an event: 1)."""
        return self.table[type(what)](what)

    def _apply(self, event: ProviderEvent) -> int:
        self.events.apply_event(event)
        return 1

    # ---------------------------------------------------------------- the context, set from outside

    @property
    def uow(self) -> Store:
        return self.ctx.uow

    @uow.setter
    def uow(self, value: Store) -> None:
        self.ctx.uow = value

    @property
    def provider(self) -> PaymentProvider:
        return self.ctx.provider

    @provider.setter
    def provider(self, value: PaymentProvider) -> None:
        self.ctx.provider = value

    @property
    def clock(self) -> Clock:
        return self.ctx.clock

    @property
    def policy(self) -> Policy:
        return self.ctx.policy

    @policy.setter
    def policy(self, value: Policy) -> None:
        self.ctx.policy = value

    @property
    def bot_id(self) -> str:
        return self.ctx.bot_id

    @property
    def bot_handle(self) -> str:
        return self.ctx.bot_handle

    @property
    def currency(self) -> str:
        return self.ctx.currency

    @property
    def enabled(self) -> tuple[str, ...]:
        return self.ctx.enabled

    @enabled.setter
    def enabled(self, value: tuple[str, ...]) -> None:
        self.ctx.enabled = value

    @property
    def fediverse(self) -> bool:
        return self.ctx.fediverse

    @fediverse.setter
    def fediverse(self, value: bool) -> None:
        self.ctx.fediverse = value

    @property
    def page_link(self) -> Callable[[Tx, PagePurpose, str, str], str] | None:
        return self.ctx.page_link

    @page_link.setter
    def page_link(self, value: Callable[[Tx, PagePurpose, str, str], str] | None) -> None:
        self.ctx.page_link = value

    @property
    def provider_errors(self) -> list[datetime]:
        return self.shared.provider_errors

    @provider_errors.setter
    def provider_errors(self, value: list[datetime]) -> None:
        self.shared.provider_errors = value

    @property
    def mentions_read_at(self) -> datetime | None:
        return self.shared.mentions_read_at

    @mentions_read_at.setter
    def mentions_read_at(self, value: datetime | None) -> None:
        self.shared.mentions_read_at = value

    # ---------------------------------------------------------------- composed from several handlers

    def resume(self) -> int:
        """Finish what a crash interrupted: payments and settlements (holds), then cash-outs."""
        return self.holds.resume() + self.cashout.resume_cashouts()

    def next_due(self) -> datetime | None:
        """The next time something becomes due: an expiry, the end of a claim window, or a release to try
        again after the platform's balance could not cover it."""
        found = [t for t in (self.upkeep.next_deadline(), self.holds.next_due()) if t is not None]
        return min(found) if found else None

    # ---------------------------------------------------------------- mentions and DMs

    def on_mention(self, m: Mention, *, since: datetime | None = None) -> bool:
        return self.asking.on_mention(m, since=since)

    def on_mentions(
        self, page: list[Mention], *, since: datetime | None = None, cursor: MentionCursor | None = None
    ) -> int:
        return self.asking.on_mentions(page, since=since, cursor=cursor)

    def on_dm(self, dm: DirectMessage) -> bool:
        return self.answers.on_dm(dm)

    def on_dms(self, page: list[DirectMessage], *, cursor: DmCursor | None = None) -> int:
        return self.answers.on_dms(page, cursor=cursor)

    def register(self, user_id: str, *, lang: str) -> None:
        self.answers.register(user_id, lang=lang)

    def unseen(self, ids: list[str], *, dms: bool = False) -> set[str]:
        return self.upkeep.unseen(ids, dms=dms)

    def awaiting_answers(self) -> bool:
        return self.upkeep.awaiting_answers()

    def set_aside(self, what: str) -> None:
        self.upkeep.set_aside(what)

    def paused(self) -> bool:
        return self.upkeep.paused()

    def set_paused(self, on: bool) -> None:
        self.upkeep.set_paused(on)

    # ---------------------------------------------------------------- money

    def execute(self, transfer_id: int) -> None:
        self.payments.execute(transfer_id)

    def execute_many(self, ids: list[int]) -> None:
        self.payments.execute_many(ids)

    def expire_due(self, *, read_until: datetime | None = None) -> int:
        return self.payments.expire_due(read_until=read_until)

    def claim(self, user_id: str, *, resuming: bool = False, lang: str = "en") -> None:
        self.holds.claim(user_id, resuming=resuming, lang=lang)

    def return_due(self, *, everything: bool = False, why: str = "returned") -> int:
        return self.holds.return_due(everything=everything, why=why)

    def lapse_auth(self) -> int:
        return self.holds.lapse_auth()

    def cash_out(self, user_id: str, dm_id: str, currency: str | None = None, *, lang: str = "en") -> None:
        self.cashout.cash_out(user_id, dm_id, currency, lang=lang)

    def drive_cashout(self, payout_id: int) -> str:
        return self.cashout.drive_cashout(payout_id)

    def resume_cashouts(self) -> int:
        return self.cashout.resume_cashouts()

    def operator_cancel(self, transfer_id: int) -> tuple[bool, str]:
        return self.refunds.operator_cancel(transfer_id)

    def refund_plan(self, transfer_id: int) -> tuple[Transfer | None, int, int]:
        return self.refunds.refund_plan(transfer_id)

    def operator_refund(
        self, transfer_id: int, amount_minor: int | None = None, *, finish_interrupted: bool = True
    ) -> tuple[bool, str]:
        return self.refunds.operator_refund(transfer_id, amount_minor, finish_interrupted=finish_interrupted)

    def operator_reverse(self, transfer_id: int) -> tuple[bool, str]:
        return self.refunds.operator_reverse(transfer_id)

    # ---------------------------------------------------------------- the provider's events

    def provider_events(self) -> int:
        return self.events.provider_events()

    def apply_event(self, event: ProviderEvent) -> None:
        self.events.apply_event(event)

    def payout_ended(self, event: ProviderEvent) -> None:
        self.cashout.payout_ended(event)

    # ---------------------------------------------------------------- the outbox's hooks

    def dm_undeliverable(self, message: Outbox) -> None:
        self.voice.dm_undeliverable(message)

    def reply_undeliverable(self, message: Outbox) -> None:
        self.voice.reply_undeliverable(message)

    def stale_names(self, items: list[Outbox]) -> set[str]:
        return self.voice.stale_names(items)

    def saw_users(self, found: dict[str, XUser]) -> None:
        self.voice.saw_users(found)

    def drop_superseded(self, items: list[Outbox]) -> set[int]:
        return self.voice.drop_superseded(items)

    def prepare_reply(self, item_id: int, missing: frozenset[str] = frozenset()) -> Outbox | None:
        return self.voice.prepare_reply(item_id, missing)

    def prepare_replies(self, item_ids: list[int], missing: frozenset[str] = frozenset()) -> dict[int, Outbox | None]:
        return self.voice.prepare_replies(item_ids, missing)

    def confirmation_sent(self, s: Tx, message: Outbox) -> None:
        self.voice.confirmation_sent(s, message)

    def confirmations_sent(self, s: Tx, messages: list[Outbox]) -> None:
        self.voice.confirmations_sent(s, messages)

    # ---------------------------------------------------------------- closing

    def winding_down(self) -> bool:
        return self.winddown.winding_down()

    def wind_down(self) -> WindDownReport:
        return self.winddown.wind_down()

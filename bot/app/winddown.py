"""Closing paybot without losing anyone's money: stop taking commands, cancel what is pending, give
all held money back, finish what is executing, and say what is left. Safe to run again and again."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from bot import messages as msg
from bot.app.base import Context, handle_of, money, set_status
from bot.app.cashout import Cashout
from bot.app.common import Common
from bot.app.holds import Holds
from bot.app.ledger import kept_for
from bot.domain import Category, Reason, Status, TransferKind
from bot.domain.entities import PRIORITY_OUTCOME, Transfer
from bot.domain.marks import Mark
from bot.errors import ProviderError
from bot.messages import text as say
from bot.money import Money

log = logging.getLogger(__name__)

CLOSING = Reason.CLOSING
TOLD_TO_CASH_OUT = Category.CLOSING_CASHOUT  # the outbox category of the one DM that tells a holder to cash out
EVER = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class WindDownReport:
    """What one wind-down pass did, and what is still left (all zero: nothing more to do)."""

    cancelled: int
    returned: int
    finished: int
    executing: int  # money in flight at the provider: run the worker (or this again) until it settles
    needs_auth: int  # waiting for the sender's approval: they lapse when their window ends
    held: int  # a return the provider refused or did not answer: run this again
    outbox: int  # messages still to send: run the worker until they are out
    cashouts: int = 0  # cash-outs not ended (not answered yet, or on their way to the bank): keep the worker running
    # people whose account at the provider still holds money only their CASHOUT takes out (a wallet provider);
    # each is told once to cash out; -1: the provider could not say
    wallets: int = 0

    @property
    def done(self) -> bool:
        return not (self.executing or self.needs_auth or self.held or self.outbox or self.cashouts or self.wallets)


class WindDown:
    """`paybot wind-down`: the way paybot promises that closing it loses nobody's balance."""

    def __init__(self, ctx: Context, common: Common, holds: Holds, cashout: Cashout) -> None:
        self.ctx = ctx
        self.common = common
        self.holds = holds
        self.cashout = cashout

    def winding_down(self) -> bool:
        with self.ctx.uow() as s:
            return s.checkpoints.flag(Mark.WINDING_DOWN)

    def wind_down(self) -> WindDownReport:
        """One pass; each step is idempotent (a status changes once, a money step has its own key)."""
        with self.ctx.uow() as s:
            s.checkpoints.set(Mark.WINDING_DOWN, "1")
            s.commit()
        cancelled = self._cancel_pending()
        # executing transfers, half-done releases and cash-outs, with their own keys (as `Service.resume`)
        finished = self.holds.resume() + self.cashout.resume_cashouts()
        returned = self.holds.return_due(everything=True, why="closing.returned")
        wallets = self._tell_holders()
        with self.ctx.uow() as s:
            counts = s.transfers.count_by_status([Status.EXECUTING, Status.NEEDS_AUTH, Status.HELD])
            outbox = s.outbox.waiting()
            cashouts = s.payouts.open()
        report = WindDownReport(
            cancelled=cancelled,
            returned=returned,
            finished=finished,
            executing=counts.get(Status.EXECUTING, 0),
            needs_auth=counts.get(Status.NEEDS_AUTH, 0),
            held=counts.get(Status.HELD, 0),
            outbox=outbox,
            cashouts=cashouts,
            wallets=wallets,
        )
        log.info("wind-down pass: %s", report)
        return report

    def _tell_holders(self) -> int:
        """Tell (once each) everyone whose account at the provider holds money of their own, which only their
        CASHOUT takes out (money they keep for their own payments in flight is not counted: it moves by
        itself); returns how many such people there are, or -1 when the provider could not say."""
        try:
            holdings = self.ctx.provider.holdings()
        except ProviderError as err:
            log.warning("wind-down: the provider could not list what users hold (%s); run it again", err)
            self.common.provider_failed()
            return -1
        left = 0
        with self.ctx.uow() as s:
            mine: dict[str, list[Money]] = defaultdict(list)
            for user_id, amount in holdings:
                own = amount.minor - kept_for(s, user_id, amount.currency)
                if own > 0:
                    mine[user_id].append(Money(own, amount.currency))
            for user_id, amounts in sorted(mine.items()):
                left += 1
                if s.outbox.count_about(user_id, TOLD_TO_CASH_OUT, EVER):
                    continue
                lang = s.transfers.lang_of(user_id) or "en"
                self.common.queue_dm(
                    s,
                    user_id,
                    say("closing.cashout", lang, amounts=msg.listing(amounts, lang)),
                    PRIORITY_OUTCOME,
                    category=TOLD_TO_CASH_OUT,
                )
            s.commit()
        return left

    def _cancel_pending(self) -> int:
        """Cancel every pending send and request; each payer of a send and each requester hears it once
        per command, in the transaction that cancels it."""
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            pending = s.transfers.with_status(Status.PENDING)
            told: dict[tuple[str, str, str], list[Transfer]] = defaultdict(list)
            for t in pending:
                set_status(s, t, Status.CANCELLED, now, reason=CLOSING)
                # a send: its sender is told; a request: its requester (the payers were only asked)
                who = t.sender_id if t.kind == TransferKind.SEND else t.recipient_id
                told[(t.root_tweet_id, who, t.kind)].append(t)
            for (root, who, kind), rows in told.items():
                first = rows[0]
                others = [t.recipient_id if kind == TransferKind.SEND else t.sender_id for t in rows]
                key = "closing.cancelled" if kind == TransferKind.SEND else "closing.request_cancelled"
                text = say(
                    key,
                    first.lang,
                    amount=money(first),
                    code=first.code,
                    handles=msg.handles([handle_of(s, uid) for uid in others]),
                )
                self.common.queue_dm(s, who, text, PRIORITY_OUTCOME, root=root)
            s.commit()
        return len(pending)

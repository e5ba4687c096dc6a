"""Held money: claims (releases to the recipient), returns when the claim window ends, approvals that
lapse, and finishing what a crash interrupted (with the releases the platform's balance could not cover,
tried again in their time).

Each release or return is a settlement, begun and driven as bot.app.settling does every one; the
operator's refunds, reversals and cancels are in bot.app.refunds."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.app.base import Context, handle_of, money, saved_id
from bot.app.common import Common
from bot.app.ledger import (
    DISPUTE_NOTES,
    FUNDS_WITHDRAWN,
    claimed,
    disputed,
    holds_for_others,
    ledger,
    refunded,
    release_due,
    sid,
)
from bot.app.payments import Payments
from bot.app.settling import Driven, Settling
from bot.domain import Category, Cause, Reason, Settle, Status, Step
from bot.domain.entities import BALANCE, PRIORITY_OUTCOME, Settlement, Transfer
from bot.domain.marks import Mark
from bot.errors import ProviderError, ProviderTransient
from bot.logs import transfer_context
from bot.messages import span
from bot.messages import text as say
from bot.ports import Onboarding, PayOutcome, PayResult
from bot.repo.port import Tx

# The settlement helpers stay importable from here (bot.admin, bot.reconcile).
__all__ = ["BALANCE", "DISPUTE_NOTES", "FUNDS_WITHDRAWN", "Holds", "disputed", "ledger", "refunded", "release_due"]

log = logging.getLogger(__name__)


class Holds:
    """Claims, returns, lapsed approvals, crash recovery."""

    def __init__(self, ctx: Context, common: Common, payments: Payments, settling: Settling) -> None:
        self.ctx = ctx
        self.common = common
        self.payments = payments
        self.settling = settling

    # ------------------------------------------------------------------ recovery

    def resume(self) -> int:
        """Finish what a crash interrupted (executing transfers; settlements whose answer was not recorded),
        and try again the releases refused for the platform's balance whose time has come."""
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            # While payments are paused, confirmed transfers wait: nothing to drive (nor to count as work done).
            executing = (
                [] if s.checkpoints.flag(Mark.PAUSED) else [t.id for t in s.transfers.with_status(Status.EXECUTING)]
            )
            unsent = s.settlements.unsent()
        due = [tid for tid, at in self.release_retries().items() if at <= now]
        with self.ctx.uow() as s:
            releasing = [st.transfer_id for st in unsent if st.step == Step.RELEASE] + due
            recipients = {t.recipient_id for t in s.transfers.many(releasing)}
        for transfer_id in executing:
            if transfer_id is not None:
                self.payments.execute(transfer_id)
        moved = 0
        for st in unsent:
            if st.step != Step.RELEASE:
                moved += self.settling.drive(sid(st)) in (Driven.DONE, Driven.PENDING, Driven.REFUSED)
        for user_id in sorted(recipients):
            self.claim(user_id, resuming=True)
        return len(executing) + moved + len(recipients)

    def next_due(self) -> datetime | None:
        """The next release to try again after the platform's balance could not cover it (None: none waits)."""
        return min(self.release_retries().values(), default=None)

    def release_retries(self) -> dict[int, datetime]:
        """Held transfers whose release was refused for the platform's balance, and when each is tried again."""
        with self.ctx.uow() as s:
            waiting = s.settlements.refused_for_balance()
            if not waiting:
                return {}
            held = [t.id for t in s.transfers.many(waiting, status=Status.HELD)]
            out = {tid: release_due(ledger(s, tid)) for tid in held if tid is not None}
        return {tid: due for tid, due in out.items() if due is not None}

    # ------------------------------------------------------------------ claims

    def _held_for(self, user_id: str) -> list[Transfer]:
        """The money held for `user_id` that a claim may release (not what is already going back)."""
        with self.ctx.uow() as s:
            held = s.transfers.held_for(user_id)
            going_back = {
                t.id
                for t in held
                if any(st.step == Step.RETURN and st.status != Settle.FAILED for st in ledger(s, t.id))
            }
        return [t for t in held if t.id not in going_back]

    def claim(self, user_id: str, *, resuming: bool = False, lang: str = "en") -> None:  # noqa: C901
        """The recipient asked for the money held for them: onboard, then release each transfer.

        `resuming` finishes releases a crash interrupted and tries again those the platform's balance could
        not cover, without onboarding again. With nothing held, the provider is not asked for anything (no
        account is made for a stranger's CLAIM). The recipient is told what arrived, and (once) what is
        delayed; never that money arrived before it did."""
        if not resuming and not self._held_for(user_id):
            with self.ctx.uow() as s:
                self.common.queue_dm(
                    s, user_id, say("claim_nothing", lang), PRIORITY_OUTCOME, category=Category.DM_ANSWER
                )
                s.commit()
            return
        others = False
        if not resuming:
            with self.ctx.uow() as s:
                others = holds_for_others(s, user_id)
        try:
            onboarding = (
                Onboarding(ready=True) if resuming else self.ctx.provider.onboard(user_id, holds_for_others=others)
            )
        except ProviderError as err:
            # The user asked: they hear why nothing happened. Held money stays held either way.
            transient = isinstance(err, ProviderTransient)
            log.log(
                logging.WARNING if transient else logging.ERROR,
                "onboarding failed for user %s: %s",
                user_id,
                err,
                extra={"user_id": user_id},
            )
            self.common.provider_failed()
            with self.ctx.uow() as s:
                self.common.queue_dm(
                    s,
                    user_id,
                    say("claim.retry" if transient else "claim.failed", lang),
                    PRIORITY_OUTCOME,
                    category=Category.DM_ANSWER,
                )
                s.commit()
            return
        if onboarding.wait:  # what they sent must stay releasable: what is held for them stays held meanwhile
            with self.ctx.uow() as s:
                self.common.queue_dm(s, user_id, say("claim.wait", lang), PRIORITY_OUTCOME, category=Category.DM_ANSWER)
                s.commit()
            return
        if not onboarding.ready:
            text = (
                say(
                    "onboarding.enrol",
                    lang,
                    url=onboarding.url or "",
                    within=span(onboarding.valid_for or timedelta(minutes=10), lang),
                )
                if onboarding.enrol
                else say("onboarding", lang, url=onboarding.url or "")
            )
            with self.ctx.uow() as s:
                self.common.queue_dm(s, user_id, text, PRIORITY_OUTCOME, category=Category.DM_ANSWER)
                s.commit()
            return
        done: list[str] = []
        delayed: list[Transfer] = []
        undelivered: list[Transfer] = []

        def record(s: Tx, t: Transfer, _st: Settlement) -> None:
            done.append(say("claimed.item", lang, amount=money(t), sender=handle_of(s, t.sender_id)))

        for t in self._held_for(user_id):
            st_id, first = self._release_of(t)
            outcome = self.settling.drive(st_id, on_done=record) if st_id is not None else Driven.RETRY
            if outcome == Driven.DONE:
                continue
            if outcome == Driven.UNDELIVERED:
                undelivered.append(t)
                continue
            if not resuming or (outcome == Driven.REFUSED and first):
                delayed.append(t)
        with self.ctx.uow() as s:
            if done:
                self.common.queue_dm(s, user_id, say("claimed", lang, items=", ".join(done)), PRIORITY_OUTCOME)
            if delayed:
                items = ", ".join(
                    say("claimed.item", lang, amount=money(t), sender=handle_of(s, t.sender_id)) for t in delayed
                )
                self.common.queue_dm(s, user_id, say("claim.delayed", lang, items=items), PRIORITY_OUTCOME)
            if undelivered:
                items = ", ".join(
                    say("claimed.item", lang, amount=money(t), sender=handle_of(s, t.sender_id)) for t in undelivered
                )
                self.common.queue_dm(s, user_id, say("claim.undeliverable", lang, items=items), PRIORITY_OUTCOME)
            if not done and not delayed and not undelivered and not resuming:
                self.common.queue_dm(s, user_id, say("claim_nothing", lang), PRIORITY_OUTCOME)
            s.commit()
        for t in undelivered:
            self._return_now(t)

    def _return_now(self, t: Transfer) -> None:
        """Held money its provider will never deliver goes back to its sender now (told by `_tell_refund`)."""
        with self.ctx.uow() as s:
            row = s.transfers.get(saved_id(t))
            if row is None or row.status != Status.HELD:
                return
            rows = ledger(s, row.id)
            returns = [st for st in rows if st.step == Step.RETURN and st.status == Settle.PENDING and st.ref is None]
            if claimed(rows) or any(st.step == Step.RETURN and st.status != Settle.PENDING for st in rows):
                return
            st_id = (
                sid(returns[-1])
                if returns
                else sid(self.settling.begin(s, row, Step.RETURN, row.amount_minor, Cause.UNDELIVERABLE))
            )
            if not self.settling.commit(s):
                return
        self.settling.drive(st_id)

    def _release_of(self, t: Transfer) -> tuple[int | None, bool]:
        """The release to drive for a held transfer: the one under way, or a new one (a new key) when none
        is and no refusal for the platform's balance is still waiting its time; None while one waits.
        Also: whether a refusal now would be its first."""
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            rows = ledger(s, t.id)
            first = not any(st.failure == BALANCE for st in rows)
            under_way = [st for st in rows if st.step == Step.RELEASE and st.status == Settle.PENDING]
            if under_way:
                return sid(under_way[-1]), first
            due = release_due(rows)
            if due is not None and due > now:
                return None, first
            row = s.transfers.get(saved_id(t))
            if row is None or row.status != Status.HELD:
                return None, first
            st = self.settling.begin(s, row, Step.RELEASE, row.amount_minor, Cause.CLAIM)
            if not self.settling.commit(s):
                return None, first
            return sid(st), first

    # ------------------------------------------------------------------ returns

    def return_due(self, *, everything: bool = False, why: str = "returned") -> int:
        """Give held money back to the sender when the claim window is over (`everything`: all of it now,
        as a wind-down does; `why`: the message that tells the sender, "returned" or "closing.returned").

        Not what the recipient claimed (a release under way, or waiting for the platform's balance: theirs
        now), nor a transfer whose return failed (the operator decides: `paybot refund`)."""
        cause = Cause.CLOSING if why.startswith("closing") else Cause.WINDOW
        todo: list[int] = []
        with self.ctx.uow() as s:
            for t in s.transfers.with_status(Status.HELD, hold_by=None if everything else self.ctx.clock.now()):
                rows = ledger(s, t.id)
                returns = [st for st in rows if st.step == Step.RETURN]
                if claimed(rows) or any(st.status == Settle.FAILED for st in returns) or disputed(s, t.id):
                    continue  # a disputed payment goes back through the payer's bank, not paybot
                unsent = [st for st in returns if st.status == Settle.PENDING and st.ref is None]
                if unsent:
                    todo.append(sid(unsent[-1]))
                elif not returns:
                    todo.append(sid(self.settling.begin(s, t, Step.RETURN, t.amount_minor, cause)))
            if not self.settling.commit(s):
                return 0
        return sum(self.settling.drive(st_id) == Driven.DONE for st_id in todo)

    # ------------------------------------------------------------------ approvals

    def lapse_auth(self) -> int:
        """Close the approvals nobody gave in time: look each payment up, record what the provider says."""
        with self.ctx.uow() as s:
            due = s.transfers.with_status(Status.NEEDS_AUTH, hold_by=self.ctx.clock.now())
        done = 0
        for t in due:
            try:
                found = self.ctx.provider.lookup(t.pay_key or "", t.sender_id)
            except ProviderError:
                log.warning("could not look up transfer %s; will retry", t.id, extra=transfer_context(t))
                self.common.provider_failed()
                continue
            if found is None or found.outcome == PayOutcome.NEEDS_AUTH:
                found = PayResult(PayOutcome.NEEDS_AUTH, reason=Reason.NOT_APPROVED)
            done += self.payments.apply_result(t.id or 0, found, (Status.NEEDS_AUTH,))
        return done

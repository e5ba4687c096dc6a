"""Settlements: every money step after a payment (a release to the recipient, a return or refund to the
sender, a reversal from the recipient), and how one is driven to its end.

Each step is a Settlement row with its own idempotency key, stored and committed before the provider is
called, like a payment: store, call, record. A row left pending with no provider reference is driven
again with the same key; one the provider took but has not finished (a refund in progress) waits for the
provider's event. See docs/DESIGN.md, "Settlements". Who starts each step: bot.app.holds (claims,
returns, recovery) and bot.app.refunds (the operator)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

from bot import messages as msg
from bot.app.base import Context, handle_of, money, saved_id, set_status
from bot.app.common import Common
from bot.app.ledger import claimed, kept_for, ledger, refunded
from bot.domain import (
    REFUNDS,
    SETTLEMENT,
    Cause,
    Settle,
    SettleFailure,
    Status,
    Step,
    money_key,
)
from bot.domain.entities import BALANCE, PRIORITY_OUTCOME, Settlement, Transfer, TransferEvent
from bot.errors import IdempotencyError, InsufficientBalance, ProviderError, ProviderTransient, Undeliverable
from bot.faults import fault_point
from bot.logs import transfer_context
from bot.messages import span
from bot.messages import text as say
from bot.money import Money
from bot.ports import Settled
from bot.repo.port import Conflict, Tx

log = logging.getLogger(__name__)


class Driven(StrEnum):
    """What `_drive` did with a settlement."""

    DONE = "done"  # it went through, and what it changes is recorded
    PENDING = "pending"  # the provider took it and has not finished it
    REFUSED = "refused"  # refused: failed, or (the platform's balance) to be tried again with a new key
    RETRY = "retry"  # no answer: driven again with the same key
    GONE = "gone"  # nothing to drive: recorded meanwhile
    UNDELIVERED = "undelivered"  # a release the provider will never make: the money goes back to its sender


OnDone = Callable[[Tx, Transfer, Settlement], None]


class Settling:
    """The three steps of every settlement: begin (store it with its key), drive (call the provider), and
    record what the provider answered (and tell whom it concerns)."""

    def __init__(self, ctx: Context, common: Common) -> None:
        self.ctx = ctx
        self.common = common

    def begin(self, s: Tx, t: Transfer, step: Step, amount_minor: int, cause: Cause) -> Settlement:
        """A new settlement of `t` with its own key (the next in its step's sequence), added to `s` and
        flushed; the caller commits it before the provider is called."""
        now = self.ctx.clock.now()
        seq = 1 + len([st for st in ledger(s, t.id) if st.step == step])
        st = Settlement(
            transfer_id=saved_id(t),
            step=step,
            seq=seq,
            amount_minor=amount_minor,
            key=money_key(step, t.root_tweet_id, t.sender_id, t.recipient_id, seq),
            status=SETTLEMENT.begin(Settle.PENDING),
            cause=cause,
            created_at=now,
            updated_at=now,
        )
        s.settlements.add(st)
        s.flush()
        return st

    @staticmethod
    def commit(s: Tx) -> bool:
        """Commit; False when another process began the same step first (its key is taken)."""
        try:
            s.commit()
        except Conflict:
            s.rollback()
            log.info("another process began the same money step first; it finishes it")
            return False
        return True

    def _call(self, t: Transfer, st: Settlement, keep: int = 0) -> Settled:
        amount = Money(st.amount_minor, t.currency)
        key, ref = st.key or "", t.payment_ref or ""
        if st.step == Step.RELEASE:
            return Settled(
                self.ctx.provider.release(key=key, payment_ref=ref, recipient_id=t.recipient_id, amount=amount)
            )
        if st.step == Step.REVERSE:
            return Settled(self.ctx.provider.reverse(key=key, payment_ref=ref, amount=amount))
        return self.ctx.provider.refund(key=key, payment_ref=ref, amount=amount, keep=keep)

    def drive(self, st_id: int, on_done: OnDone | None = None) -> Driven:
        """Call the provider for a settlement whose answer is not recorded, with its key, and record the
        answer: what it changes is written (and told) in the transaction that records it (`on_done` instead
        of telling, for a claim that lists what arrived in one DM)."""
        with self.ctx.uow() as s:
            st = s.settlements.get(st_id)
            t = s.transfers.get(st.transfer_id) if st is not None else None
            # money taken back from a recipient must not be money they keep for their own payments
            keep = (
                kept_for(s, t.recipient_id, t.currency, but=st.id)
                if st is not None and t is not None and st.step in REFUNDS and t.status == Status.COMPLETED
                else 0
            )
        if st is None or t is None or st.status != Settle.PENDING or st.ref is not None:
            return Driven.GONE
        what = _what(st, t)
        try:
            settled = self._call(t, st, keep)
        except InsufficientBalance as err:
            self._fail(
                st_id, BALANCE, f"{what} refused: the platform's balance cannot cover it now ({err}); tried again later"
            )
            log.warning(
                "transfer %s: %s refused for the platform's balance; tried again later",
                t.id,
                what,
                extra=transfer_context(t),
            )
            self.common.provider_failed()
            return Driven.REFUSED
        except ProviderTransient:
            log.warning("%s of transfer %s did not finish; will retry", st.step, t.id, extra=transfer_context(t))
            self.common.provider_failed()
            return Driven.RETRY
        except Undeliverable as err:
            self.common.provider_failed()
            self._fail(
                st_id,
                SettleFailure.UNDELIVERABLE,
                f"{what} refused for good by the provider ({err}); the money goes back to its sender",
            )
            log.warning("transfer %s: %s undeliverable (%s); returning it", t.id, what, err, extra=transfer_context(t))
            return Driven.UNDELIVERED
        except IdempotencyError:
            log.error(
                "transfer %s: the key of its %s was used with other parameters; left for the operator",
                t.id,
                what,
                extra=transfer_context(t),
            )
            self.common.provider_failed()
            return Driven.RETRY
        except ProviderError as err:
            self.common.provider_failed()
            if st.step == Step.RELEASE:  # e.g. the recipient cannot receive yet: tried again at the next tick
                log.exception("%s of transfer %s was refused by the provider", st.step, t.id, extra=transfer_context(t))
                return Driven.RETRY
            # Nothing moved; giving money back (or taking it) is the operator's decision from here.
            self._fail(st_id, f"refused: {err}", f"{what} refused by the provider ({err}); the operator decides")
            log.error("transfer %s: %s refused by the provider: %s", t.id, what, err, extra=transfer_context(t))
            return Driven.REFUSED
        fault_point("settle_called")
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            st = s.settlements.get(st_id)
            t = s.transfers.get(st.transfer_id) if st is not None else None
            if st is None or t is None or st.status != Settle.PENDING or st.ref is not None:
                return Driven.GONE  # recorded meanwhile (another operator, the provider's event)
            st.ref, st.updated_at = settled.ref, now
            s.settlements.add(st)
            if settled.pending:
                s.timeline.add(
                    TransferEvent(
                        transfer_id=saved_id(t),
                        at=now,
                        status=t.status,
                        note=f"{what} pending at the provider ({settled.ref}): the sender is told when it goes through",
                    )
                )
                s.commit()
                log.info("transfer %s: %s pending at the provider", t.id, what, extra=transfer_context(t))
                return Driven.PENDING
            self.succeeded(s, t, st, on_done)
            s.commit()
        log.info("transfer %s: %s done", t.id, what, extra=transfer_context(t))
        return Driven.DONE

    def _fail(self, st_id: int, failure: str, note: str) -> None:
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            st = s.settlements.get(st_id)
            t = s.transfers.get(st.transfer_id) if st is not None else None
            if st is None or t is None or st.status != Settle.PENDING:
                return
            st.status, st.failure, st.updated_at = SETTLEMENT.move(st.status, Settle.FAILED), failure, now
            s.settlements.add(st)
            s.timeline.add(TransferEvent(transfer_id=saved_id(t), at=now, status=t.status, note=note))
            s.commit()

    def succeeded(self, s: Tx, t: Transfer, st: Settlement, on_done: OnDone | None = None) -> None:
        """A settlement went through: the transfer's status and timeline, and who is told."""
        now = self.ctx.clock.now()
        st.status, st.updated_at = SETTLEMENT.move(st.status, Settle.SUCCEEDED), now
        s.settlements.add(st)
        s.flush()
        what = _what(st, t)
        if st.step == Step.RELEASE:
            if t.status == Status.HELD:
                set_status(s, t, Status.COMPLETED, now, note=f"{what} ({st.ref})")
            if on_done is not None:
                on_done(s, t, st)
            else:
                self.common.queue_dm(
                    s,
                    t.recipient_id,
                    say(
                        "claimed",
                        t.lang,
                        items=say("claimed.item", t.lang, amount=money(t), sender=handle_of(s, t.sender_id)),
                    ),
                    PRIORITY_OUTCOME,
                )
        elif st.step in REFUNDS:
            rows = ledger(s, t.id)
            back = refunded(rows)
            in_all = f"; {Money(back, t.currency)} of {money(t)} in all" if back != st.amount_minor else ""
            note = f"{what} ({st.ref}){in_all}"
            if back >= t.amount_minor and t.status in (Status.HELD, Status.COMPLETED):
                set_status(s, t, Status.RETURNED, now, note=note)
            else:
                s.timeline.add(TransferEvent(transfer_id=saved_id(t), at=now, status=t.status, note=note))
            if on_done is not None:
                on_done(s, t, st)
            else:
                self._tell_refund(s, t, st, back)
        else:
            s.timeline.add(TransferEvent(transfer_id=saved_id(t), at=now, status=t.status, note=f"{what} ({st.ref})"))
            if on_done is not None:
                on_done(s, t, st)
        s.transfers.add(t)

    def _tell_refund(self, s: Tx, t: Transfer, st: Settlement, back: int) -> None:
        """Tell the sender their money came back, in the transaction that records it (so a crash can neither
        lose nor repeat it). A refund made outside paybot is not told (the provider's dashboard did it)."""
        if st.cause == Cause.PROVIDER:
            return
        amount = Money(st.amount_minor, t.currency)
        if st.step == Step.RETURN and st.cause in (Cause.WINDOW, Cause.CLOSING):
            self._tell_return(s, t, "closing.returned" if st.cause == Cause.CLOSING else "returned")
        elif st.step == Step.RETURN and st.cause == Cause.UNDELIVERABLE:
            text = say(
                "returned.undeliverable", t.lang, recipient=handle_of(s, t.recipient_id), amount=amount, code=t.code
            )
            self.common.queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
        elif st.amount_minor == t.amount_minor:
            text = say("operator_refund", t.lang, recipient=handle_of(s, t.recipient_id), amount=amount, code=t.code)
            self.common.queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
        else:
            text = say(
                "refund.part",
                t.lang,
                recipient=handle_of(s, t.recipient_id),
                amount=amount,
                total=money(t),
                back=Money(back, t.currency),
                code=t.code,
            )
            self.common.queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)

    def _tell_return(self, s: Tx, t: Transfer, why: str) -> None:
        """One DM per command, however many of its recipients never claimed: the last of them to go back
        tells (recipients who claimed are not waited for: their money is theirs)."""
        group = s.transfers.of_root(t.root_tweet_id, sender_id=t.sender_id, code=t.code)
        if any(g.status == Status.HELD and not claimed(ledger(s, g.id)) for g in group if g.id != t.id):
            return
        back = [
            g
            for g in group
            if g.id == t.id
            or (
                g.status == Status.RETURNED
                and any(
                    st.step == Step.RETURN
                    and st.status == Settle.SUCCEEDED
                    and st.cause in (Cause.WINDOW, Cause.CLOSING)
                    for st in ledger(s, g.id)
                )
            )
        ]  # not those an operator refunded or that were undeliverable: told apart
        key = why if len(back) == 1 else f"{why}.many"
        text = say(
            key,
            t.lang,
            recipient=handle_of(s, t.recipient_id),
            amount=money(t),
            handles=msg.handles([handle_of(s, g.recipient_id) for g in back]),
            total=money(t) * len(back),
            within=span(self.ctx.policy.claim_window, t.lang),
            code=t.code,
        )
        self.common.queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)


def _what(st: Settlement, t: Transfer) -> str:
    """A settlement in the words of a transfer's timeline."""
    amount = Money(st.amount_minor, t.currency)
    return {
        Step.RELEASE: f"released {amount} to the recipient",
        Step.RETURN: f"returned {amount} to the sender",
        Step.REFUND: f"refunded {amount} to the sender",
        Step.REVERSE: f"took {amount} back from the recipient",
    }.get(Step(st.step), f"{st.step} of {amount}")

"""Held money and refunds: claims, returns when the claim window ends, approvals that lapse, the
operator's cancel and refund, and finishing what a crash interrupted."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlmodel import Session, col, select

from bot import messages as msg
from bot.app.base import money
from bot.app.payments import Payments
from bot.domain import Status, Step, money_key, step_of
from bot.errors import ProviderError, ProviderTransient
from bot.faults import fault_point
from bot.logs import transfer_context
from bot.messages import text as say
from bot.ports import Onboarding, PayOutcome, PayResult
from bot.store import PRIORITY_OUTCOME, Transfer

log = logging.getLogger(__name__)


class Holds(Payments):
    """Claims, returns, lapsed approvals, operator refunds and cancels, crash recovery."""

    def resume(self) -> int:
        """Finish what a crash interrupted: executing transfers and half-done releases."""
        with self.uow() as s:
            executing = list(s.exec(select(Transfer.id).where(Transfer.status == Status.EXECUTING)))
            releasing = list(
                s.exec(
                    select(Transfer.recipient_id).where(
                        Transfer.status == Status.HELD, col(Transfer.settle_key).startswith(f"{Step.RELEASE}:")
                    )
                )
            )
        for transfer_id in executing:
            if transfer_id is not None:
                self.execute(transfer_id)
        for user_id in set(releasing):
            self.claim(user_id, resuming=True)
        return len(executing) + len(set(releasing))

    def _held_for(self, user_id: str) -> list[Transfer]:
        """The money held for `user_id` that a claim may release (not what is already going back)."""
        with self.uow() as s:
            held = list(s.exec(
                select(Transfer)
                .where(Transfer.recipient_id == user_id, Transfer.status == Status.HELD)
                .order_by(col(Transfer.id))
            ))
        return [t for t in held if step_of(t.settle_key) != Step.RETURN]

    def claim(self, user_id: str, *, resuming: bool = False, lang: str = "en") -> None:
        """The recipient asked for the money held for them: onboard, then release each transfer.

        `resuming` finishes releases a crash interrupted, without onboarding again. With nothing
        held, the provider is not asked for anything (no account is made for a stranger's CLAIM)."""
        if not resuming and not self._held_for(user_id):
            with self.uow() as s:
                self._queue_dm(s, user_id, say("claim_nothing", lang), PRIORITY_OUTCOME, category="dm_answer")
                s.commit()
            return
        try:
            onboarding = Onboarding(ready=True) if resuming else self.provider.onboard(user_id)
        except ProviderError as err:
            # The user asked: they hear why nothing happened. Held money stays held either way.
            transient = isinstance(err, ProviderTransient)
            log.log(logging.WARNING if transient else logging.ERROR, "onboarding failed for user %s: %s",
                    user_id, err, extra={"user_id": user_id})
            self.provider_failed()
            with self.uow() as s:
                self._queue_dm(s, user_id, say("claim.retry" if transient else "claim.failed", lang),
                               PRIORITY_OUTCOME, category="dm_answer")
                s.commit()
            return
        if not onboarding.ready:
            with self.uow() as s:
                self._queue_dm(s, user_id, say("onboarding", lang, url=onboarding.url or ""), PRIORITY_OUTCOME,
                               category="dm_answer")
                s.commit()
            return
        held = self._held_for(user_id)
        done: list[str] = []

        def release(t: Transfer) -> str:
            return self.provider.release(key=t.settle_key or "", payment_ref=t.payment_ref or "",
                                         recipient_id=user_id, amount=money(t))

        def record(s: Session, t: Transfer) -> None:
            done.append(say("claimed.item", lang, amount=money(t), sender=self._handle(s, t.sender_id)))

        self._settle(held, Step.RELEASE, release, Status.COMPLETED, record)
        if done or not resuming:
            with self.uow() as s:
                text = say("claimed", lang, items=", ".join(done)) if done else say("claim_nothing", lang)
                self._queue_dm(s, user_id, text, PRIORITY_OUTCOME)
                s.commit()

    def return_due(self, *, everything: bool = False, why: str = "returned") -> int:
        """Give held money back to the sender when the claim window is over (`everything`: all of it now,
        as a wind-down does; `why`: the message that tells the sender, "returned" or "closing.returned")."""
        with self.uow() as s:
            query = select(Transfer).where(Transfer.status == Status.HELD)
            if not everything:
                query = query.where(col(Transfer.hold_until) <= self.clock.now())
            due = list(s.exec(query))
        # A release under way (the recipient claimed) wins over the return.
        due = [t for t in due if step_of(t.settle_key) != Step.RELEASE]

        def refund(t: Transfer) -> str:
            return self.provider.refund(key=t.settle_key or "", payment_ref=t.payment_ref or "", amount=money(t))

        def tell_sender(s: Session, t: Transfer) -> None:
            # One DM per command, however many of its recipients never claimed: the last of them to go
            # back tells, in the transaction that returns it (so a crash can neither lose nor repeat it).
            group = list(s.exec(select(Transfer).where(Transfer.root_tweet_id == t.root_tweet_id,
                                                       Transfer.sender_id == t.sender_id, Transfer.code == t.code)))
            if any(g.status == Status.HELD for g in group if g.id != t.id):
                return
            back = [g for g in group if g.id == t.id or (g.status == Status.RETURNED
                                                         and step_of(g.settle_key) == Step.RETURN)]
            key = why if len(back) == 1 else f"{why}.many"
            text = say(key, t.lang, recipient=self._handle(s, t.recipient_id), amount=money(t),
                       handles=msg.handles([self._handle(s, g.recipient_id) for g in back]),
                       total=money(t) * len(back), days=self.policy.claim_window.days, code=t.code)
            self._queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)

        return len(self._settle(due, Step.RETURN, refund, Status.RETURNED, tell_sender))

    def lapse_auth(self) -> int:
        """Close the approvals nobody gave in time: look each payment up, record what the provider says."""
        with self.uow() as s:
            due = list(s.exec(select(Transfer).where(Transfer.status == Status.NEEDS_AUTH,
                                                     col(Transfer.hold_until) <= self.clock.now())))
        done = 0
        for t in due:
            try:
                found = self.provider.lookup(t.pay_key or "", t.sender_id)
            except ProviderError:
                log.warning("could not look up transfer %s; will retry", t.id, extra=transfer_context(t))
                self.provider_failed()
                continue
            if found is None or found.outcome == PayOutcome.NEEDS_AUTH:
                found = PayResult(PayOutcome.NEEDS_AUTH, reason="not approved in time")
            done += self._apply_result(t.id or 0, found, (Status.NEEDS_AUTH,))
        return done

    def _settle(
        self,
        transfers: list[Transfer],
        step: Step,
        call: Callable[[Transfer], str],
        new: Status,
        on_done: Callable[[Session, Transfer], None],
        from_status: Status = Status.HELD,
    ) -> list[Transfer]:
        """Settle held money in the same three steps as a payment: store the key, call, record.

        `on_done` runs in the transaction that records the new status, so a
        message about it is queued exactly when the status changes."""
        with self.uow() as s:
            for t in transfers:
                row = s.get(Transfer, t.id)
                if row is not None and not row.settle_key:
                    row.settle_key = t.settle_key = money_key(step, row.root_tweet_id, row.sender_id, row.recipient_id)
                    s.add(row)
            s.commit()
        settled = []
        for t in transfers:
            try:
                ref = call(t)
            except ProviderTransient:
                log.warning("%s of transfer %s did not finish; will retry", step, t.id, extra=transfer_context(t))
                self.provider_failed()
                continue
            except ProviderError:
                log.exception("%s of transfer %s was refused by the provider", step, t.id, extra=transfer_context(t))
                self.provider_failed()
                continue
            fault_point("settle_called")
            with self.uow() as s:
                row = s.get(Transfer, t.id)
                if row is None or row.status != from_status:
                    continue
                row.settle_ref = ref
                self._set_status(s, row, new, self.clock.now())
                s.add(row)
                on_done(s, row)
                s.commit()
                settled.append(row)
        return settled

    def operator_cancel(self, transfer_id: int) -> tuple[bool, str]:
        """Cancel a pending transfer and tell its sender; anything else is refused with the reason."""
        with self.uow() as s:
            t = s.get(Transfer, transfer_id)
            if t is None:
                return False, f"no transfer {transfer_id}"
            if t.status != Status.PENDING:
                return False, f"transfer {transfer_id} is {t.status}; only a pending one can be cancelled"
            self._set_status(s, t, Status.CANCELLED, self.clock.now(), reason="cancelled by the operator")
            s.add(t)
            self._queue_dm(s, t.sender_id, say("cancelled", t.lang, code=t.code), PRIORITY_OUTCOME,
                           root=t.root_tweet_id)
            s.commit()
        return True, f"transfer {transfer_id} cancelled"

    def operator_refund(self, transfer_id: int) -> tuple[bool, str]:
        """Give a completed or held transfer's money back to its sender, once (the key makes it idempotent)."""
        with self.uow() as s:
            t = s.get(Transfer, transfer_id)
        if t is None:
            return False, f"no transfer {transfer_id}"
        if t.status == Status.RETURNED:
            return True, f"transfer {transfer_id} was already returned ({t.settle_ref})"
        if t.status not in (Status.COMPLETED, Status.HELD) or not t.payment_ref:
            return False, f"transfer {transfer_id} is {t.status}: no money moved, nothing to refund"

        def refund(row: Transfer) -> str:
            return self.provider.refund(key=row.settle_key or "", payment_ref=row.payment_ref or "",
                                        amount=money(row))

        def tell_sender(s: Session, row: Transfer) -> None:
            text = say("operator_refund", row.lang, recipient=self._handle(s, row.recipient_id), amount=money(row),
                       code=row.code)
            self._queue_dm(s, row.sender_id, text, PRIORITY_OUTCOME, root=row.root_tweet_id)

        if t.status == Status.COMPLETED:
            if step_of(t.settle_key) != Step.REFUND:
                # A claimed transfer's release key is spent; the refund gets one of its own.
                with self.uow() as s:
                    row = s.get(Transfer, t.id)
                    assert row is not None
                    row.settle_key = t.settle_key = None
                    s.add(row)
                    s.commit()
            done = self._settle([t], Step.REFUND, refund, Status.RETURNED, tell_sender, from_status=Status.COMPLETED)
        else:
            done = self._settle([t], Step.RETURN, refund, Status.RETURNED, tell_sender)
        if done:
            return True, f"transfer {transfer_id} refunded"
        with self.uow() as s:  # another refund of it (a second operator, the claim window) may have won
            now_row = s.get(Transfer, transfer_id)
        if now_row is not None and now_row.status == Status.RETURNED:
            return True, f"transfer {transfer_id} was already returned ({now_row.settle_ref})"
        return False, f"transfer {transfer_id}: the refund did not go through (see the log); try again"

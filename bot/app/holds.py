"""Held money and every money step after a payment: claims (releases), returns when the claim window
ends, the operator's refunds (whole or in parts) and reversals, approvals that lapse, the operator's
cancel, and finishing what a crash interrupted.

Each step is a Settlement row with its own idempotency key, stored and committed before the provider is
called, like a payment: store, call, record. A row left pending with no provider reference is driven
again with the same key; one the provider took but has not finished (a refund in progress) waits for the
provider's event. See docs/DESIGN.md, "Settlements"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from bot import messages as msg
from bot.app.base import money, saved_id
from bot.app.payments import Payments
from bot.domain import REFUNDS, Settle, Status, Step, money_key, release_retry_after
from bot.errors import IdempotencyError, InsufficientBalance, ProviderError, ProviderTransient, Undeliverable
from bot.faults import fault_point
from bot.logs import transfer_context
from bot.messages import text as say
from bot.money import Money
from bot.ports import Onboarding, PayOutcome, PayResult, Settled
from bot.store import PRIORITY_OUTCOME, Settlement, Transfer, TransferEvent

log = logging.getLogger(__name__)

BALANCE = "balance"  # Settlement.failure of a release the platform's balance could not cover
# What `_drive` did with a settlement.
DONE, PENDING, REFUSED, RETRY, GONE = "done", "pending", "refused", "retry", "gone"
UNDELIVERED = "undelivered"  # a release the provider will never make: the money goes back to its sender
OnDone = Callable[[Session, Transfer, Settlement], None]


def ledger(s: Session, transfer_id: int | None) -> list[Settlement]:
    """A transfer's settlements, oldest first."""
    return list(s.exec(select(Settlement).where(Settlement.transfer_id == transfer_id).order_by(col(Settlement.id))))


def sid(st: Settlement) -> int:
    """The id of a settlement row already written (flushed)."""
    if st.id is None:
        raise ValueError("a settlement needs to be saved first")
    return st.id


def refunded(rows: list[Settlement], *, in_flight: bool = False) -> int:
    """Minor units given back to the sender: refunds and returns that went through (`in_flight`: and those
    started and not failed, which may still go through)."""
    counted = (Settle.SUCCEEDED, Settle.PENDING) if in_flight else (Settle.SUCCEEDED,)
    return sum(st.amount_minor for st in rows if st.step in REFUNDS and st.status in counted)


def reversed_(rows: list[Settlement], *, in_flight: bool = True) -> int:
    counted = (Settle.SUCCEEDED, Settle.PENDING) if in_flight else (Settle.SUCCEEDED,)
    return sum(st.amount_minor for st in rows if st.step == Step.REVERSE and st.status in counted)


FUNDS_WITHDRAWN = "funds withdrawn by a dispute"  # how a transfer's timeline says it (and `paybot status` finds it)
DISPUTE_NOTES = (FUNDS_WITHDRAWN, "disputed at the provider")  # the timeline notes of a dispute


def disputed(s: Session, transfer_id: int | None) -> bool:
    """Whether the payer's bank disputed the payment (its timeline says so): the bank gives the payer their
    money back itself, so paybot must not refund it too (Stripe refuses such refunds: charge_disputed)."""
    return s.exec(select(TransferEvent.id).where(TransferEvent.transfer_id == transfer_id, or_(
        *(col(TransferEvent.note).startswith(n) for n in DISPUTE_NOTES)))).first() is not None


def claimed(rows: list[Settlement]) -> bool:
    """Whether the recipient claimed it and its release is under way: started, or refused for the platform's
    balance and waiting for its next attempt."""
    return any(st.step == Step.RELEASE and (st.status == Settle.PENDING or st.failure == BALANCE) for st in rows)


def release_due(rows: list[Settlement]) -> datetime | None:
    """When a release refused for the platform's balance is tried again (None: it is not waiting)."""
    releases = [st for st in rows if st.step == Step.RELEASE]
    if not releases or releases[-1].status != Settle.FAILED or releases[-1].failure != BALANCE:
        return None
    refusals = sum(st.failure == BALANCE for st in releases)
    return releases[-1].updated_at + release_retry_after(refusals)


class Holds(Payments):
    """Claims, returns, lapsed approvals, operator refunds, reversals and cancels, crash recovery."""

    # ------------------------------------------------------------------ recovery

    def resume(self) -> int:
        """Finish what a crash interrupted (executing transfers; settlements whose answer was not recorded),
        and try again the releases refused for the platform's balance whose time has come."""
        now = self.clock.now()
        with self.uow() as s:
            executing = list(s.exec(select(Transfer.id).where(Transfer.status == Status.EXECUTING)))
            unsent = list(s.exec(select(Settlement).where(Settlement.status == Settle.PENDING,
                                                          col(Settlement.ref).is_(None)).order_by(col(Settlement.id))))
        due = [tid for tid, at in self._release_retries().items() if at <= now]
        with self.uow() as s:
            releasing = [st.transfer_id for st in unsent if st.step == Step.RELEASE] + due
            recipients = set(s.exec(select(Transfer.recipient_id).where(col(Transfer.id).in_(releasing))))
        for transfer_id in executing:
            if transfer_id is not None:
                self.execute(transfer_id)
        moved = 0
        for st in unsent:
            if st.step != Step.RELEASE:
                moved += self._drive(sid(st)) in (DONE, PENDING, REFUSED)
        for user_id in sorted(recipients):
            self.claim(user_id, resuming=True)
        return len(executing) + moved + len(recipients)

    def next_due(self) -> datetime | None:
        """The next time something becomes due: an expiry, the end of a claim window, or a release to try
        again after the platform's balance could not cover it."""
        found = [t for t in (super().next_due(), *self._release_retries().values()) if t is not None]
        return min(found) if found else None

    def _release_retries(self) -> dict[int, datetime]:
        """Held transfers whose release was refused for the platform's balance, and when each is tried again."""
        with self.uow() as s:
            waiting = set(s.exec(select(Settlement.transfer_id).where(Settlement.failure == BALANCE)))
            if not waiting:
                return {}
            held = list(s.exec(select(Transfer.id).where(col(Transfer.id).in_(waiting),
                                                         Transfer.status == Status.HELD)))
            out = {tid: release_due(ledger(s, tid)) for tid in held if tid is not None}
        return {tid: due for tid, due in out.items() if due is not None}

    # ------------------------------------------------------------------ claims

    def _held_for(self, user_id: str) -> list[Transfer]:
        """The money held for `user_id` that a claim may release (not what is already going back)."""
        with self.uow() as s:
            held = list(s.exec(
                select(Transfer)
                .where(Transfer.recipient_id == user_id, Transfer.status == Status.HELD)
                .order_by(col(Transfer.id))
            ))
            going_back = {t.id for t in held if any(st.step == Step.RETURN and st.status != Settle.FAILED
                                                    for st in ledger(s, t.id))}
        return [t for t in held if t.id not in going_back]

    def claim(self, user_id: str, *, resuming: bool = False, lang: str = "en") -> None:
        """The recipient asked for the money held for them: onboard, then release each transfer.

        `resuming` finishes releases a crash interrupted and tries again those the platform's balance could
        not cover, without onboarding again. With nothing held, the provider is not asked for anything (no
        account is made for a stranger's CLAIM). The recipient is told what arrived, and (once) what is
        delayed; never that money arrived before it did."""
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
        done: list[str] = []
        delayed: list[Transfer] = []
        undelivered: list[Transfer] = []

        def record(s: Session, t: Transfer, _st: Settlement) -> None:
            done.append(say("claimed.item", lang, amount=money(t), sender=self._handle(s, t.sender_id)))

        for t in self._held_for(user_id):
            st_id, first = self._release_of(t)
            outcome = self._drive(st_id, on_done=record) if st_id is not None else RETRY
            if outcome == DONE:
                continue
            if outcome == UNDELIVERED:
                undelivered.append(t)
                continue
            if not resuming or (outcome == REFUSED and first):
                delayed.append(t)
        with self.uow() as s:
            if done:
                self._queue_dm(s, user_id, say("claimed", lang, items=", ".join(done)), PRIORITY_OUTCOME)
            if delayed:
                items = ", ".join(say("claimed.item", lang, amount=money(t), sender=self._handle(s, t.sender_id))
                                  for t in delayed)
                self._queue_dm(s, user_id, say("claim.delayed", lang, items=items), PRIORITY_OUTCOME)
            if undelivered:
                items = ", ".join(say("claimed.item", lang, amount=money(t), sender=self._handle(s, t.sender_id))
                                  for t in undelivered)
                self._queue_dm(s, user_id, say("claim.undeliverable", lang, items=items), PRIORITY_OUTCOME)
            if not done and not delayed and not undelivered and not resuming:
                self._queue_dm(s, user_id, say("claim_nothing", lang), PRIORITY_OUTCOME)
            s.commit()
        for t in undelivered:
            self._return_now(t)

    def _return_now(self, t: Transfer) -> None:
        """Held money its provider will never deliver goes back to its sender now (told by `_tell_refund`)."""
        with self.uow() as s:
            row = s.get(Transfer, t.id)
            if row is None or row.status != Status.HELD:
                return
            rows = ledger(s, row.id)
            returns = [st for st in rows if st.step == Step.RETURN and st.status == Settle.PENDING and st.ref is None]
            if claimed(rows) or any(st.step == Step.RETURN and st.status != Settle.PENDING for st in rows):
                return
            st_id = sid(returns[-1]) if returns else sid(self._begin(s, row, Step.RETURN, row.amount_minor,
                                                                     "undeliverable"))
            if not self._commit(s):
                return
        self._drive(st_id)

    def _release_of(self, t: Transfer) -> tuple[int | None, bool]:
        """The release to drive for a held transfer: the one under way, or a new one (a new key) when none
        is and no refusal for the platform's balance is still waiting its time; None while one waits.
        Also: whether a refusal now would be its first."""
        now = self.clock.now()
        with self.uow() as s:
            rows = ledger(s, t.id)
            first = not any(st.failure == BALANCE for st in rows)
            under_way = [st for st in rows if st.step == Step.RELEASE and st.status == Settle.PENDING]
            if under_way:
                return sid(under_way[-1]), first
            due = release_due(rows)
            if due is not None and due > now:
                return None, first
            row = s.get(Transfer, t.id)
            if row is None or row.status != Status.HELD:
                return None, first
            st = self._begin(s, row, Step.RELEASE, row.amount_minor, "claim")
            if not self._commit(s):
                return None, first
            return sid(st), first

    # ------------------------------------------------------------------ returns

    def return_due(self, *, everything: bool = False, why: str = "returned") -> int:
        """Give held money back to the sender when the claim window is over (`everything`: all of it now,
        as a wind-down does; `why`: the message that tells the sender, "returned" or "closing.returned").

        Not what the recipient claimed (a release under way, or waiting for the platform's balance: theirs
        now), nor a transfer whose return failed (the operator decides: `paybot refund`)."""
        cause = "closing" if why.startswith("closing") else "window"
        todo: list[int] = []
        with self.uow() as s:
            query = select(Transfer).where(Transfer.status == Status.HELD)
            if not everything:
                query = query.where(col(Transfer.hold_until) <= self.clock.now())
            for t in list(s.exec(query.order_by(col(Transfer.id)))):
                rows = ledger(s, t.id)
                returns = [st for st in rows if st.step == Step.RETURN]
                if claimed(rows) or any(st.status == Settle.FAILED for st in returns) or disputed(s, t.id):
                    continue  # a disputed payment goes back through the payer's bank, not paybot
                unsent = [st for st in returns if st.status == Settle.PENDING and st.ref is None]
                if unsent:
                    todo.append(sid(unsent[-1]))
                elif not returns:
                    todo.append(sid(self._begin(s, t, Step.RETURN, t.amount_minor, cause)))
            if not self._commit(s):
                return 0
        return sum(self._drive(st_id) == DONE for st_id in todo)

    # ------------------------------------------------------------------ the three steps

    def _begin(self, s: Session, t: Transfer, step: Step, amount_minor: int, cause: str) -> Settlement:
        """A new settlement of `t` with its own key (the next in its step's sequence), added to `s` and
        flushed; the caller commits it before the provider is called."""
        now = self.clock.now()
        seq = 1 + len([st for st in ledger(s, t.id) if st.step == step])
        st = Settlement(transfer_id=saved_id(t), step=str(step), seq=seq, amount_minor=amount_minor,
                        key=money_key(step, t.root_tweet_id, t.sender_id, t.recipient_id, seq),
                        status=Settle.PENDING, cause=cause, created_at=now, updated_at=now)
        s.add(st)
        s.flush()
        return st

    @staticmethod
    def _commit(s: Session) -> bool:
        """Commit; False when another process began the same step first (its key is taken)."""
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            log.info("another process began the same money step first; it finishes it")
            return False
        return True

    def _call(self, t: Transfer, st: Settlement) -> Settled:
        amount = Money(st.amount_minor, t.currency)
        key, ref = st.key or "", t.payment_ref or ""
        if st.step == Step.RELEASE:
            return Settled(self.provider.release(key=key, payment_ref=ref, recipient_id=t.recipient_id, amount=amount))
        if st.step == Step.REVERSE:
            return Settled(self.provider.reverse(key=key, payment_ref=ref, amount=amount))
        return self.provider.refund(key=key, payment_ref=ref, amount=amount)

    def _drive(self, st_id: int, on_done: OnDone | None = None) -> str:
        """Call the provider for a settlement whose answer is not recorded, with its key, and record the
        answer: what it changes is written (and told) in the transaction that records it (`on_done` instead
        of telling, for a claim that lists what arrived in one DM)."""
        with self.uow() as s:
            st = s.get(Settlement, st_id)
            t = s.get(Transfer, st.transfer_id) if st is not None else None
        if st is None or t is None or st.status != Settle.PENDING or st.ref is not None:
            return GONE
        what = _what(st, t)
        try:
            settled = self._call(t, st)
        except InsufficientBalance as err:
            self._fail(st_id, BALANCE, f"{what} refused: the platform's balance cannot cover it now ({err}); "
                                       "tried again later")
            log.warning("transfer %s: %s refused for the platform's balance; tried again later", t.id, what,
                        extra=transfer_context(t))
            self.provider_failed()
            return REFUSED
        except ProviderTransient:
            log.warning("%s of transfer %s did not finish; will retry", st.step, t.id, extra=transfer_context(t))
            self.provider_failed()
            return RETRY
        except Undeliverable as err:
            self.provider_failed()
            self._fail(st_id, "undeliverable", f"{what} refused for good by the provider ({err}); the money goes "
                                               "back to its sender")
            log.warning("transfer %s: %s undeliverable (%s); returning it", t.id, what, err,
                        extra=transfer_context(t))
            return UNDELIVERED
        except IdempotencyError:
            log.error("transfer %s: the key of its %s was used with other parameters; left for the operator",
                      t.id, what, extra=transfer_context(t))
            self.provider_failed()
            return RETRY
        except ProviderError as err:
            self.provider_failed()
            if st.step == Step.RELEASE:  # e.g. the recipient cannot receive yet: tried again at the next tick
                log.exception("%s of transfer %s was refused by the provider", st.step, t.id,
                              extra=transfer_context(t))
                return RETRY
            # Nothing moved; giving money back (or taking it) is the operator's decision from here.
            self._fail(st_id, f"refused: {err}", f"{what} refused by the provider ({err}); the operator decides")
            log.error("transfer %s: %s refused by the provider: %s", t.id, what, err, extra=transfer_context(t))
            return REFUSED
        fault_point("settle_called")
        now = self.clock.now()
        with self.uow() as s:
            st = s.get(Settlement, st_id)
            t = s.get(Transfer, st.transfer_id) if st is not None else None
            if st is None or t is None or st.status != Settle.PENDING or st.ref is not None:
                return GONE  # recorded meanwhile (another operator, the provider's event)
            st.ref, st.updated_at = settled.ref, now
            s.add(st)
            if settled.pending:
                s.add(TransferEvent(transfer_id=saved_id(t), at=now, status=t.status,
                                    note=f"{what} pending at the provider ({settled.ref}): the sender is told when "
                                         "it goes through"))
                s.commit()
                log.info("transfer %s: %s pending at the provider", t.id, what, extra=transfer_context(t))
                return PENDING
            self._succeeded(s, t, st, on_done)
            s.commit()
        log.info("transfer %s: %s done", t.id, what, extra=transfer_context(t))
        return DONE

    def _fail(self, st_id: int, failure: str, note: str) -> None:
        now = self.clock.now()
        with self.uow() as s:
            st = s.get(Settlement, st_id)
            t = s.get(Transfer, st.transfer_id) if st is not None else None
            if st is None or t is None or st.status != Settle.PENDING:
                return
            st.status, st.failure, st.updated_at = Settle.FAILED, failure, now
            s.add(st)
            s.add(TransferEvent(transfer_id=saved_id(t), at=now, status=t.status, note=note))
            s.commit()

    def _succeeded(self, s: Session, t: Transfer, st: Settlement, on_done: OnDone | None = None) -> None:
        """A settlement went through: the transfer's status and timeline, and who is told."""
        now = self.clock.now()
        st.status, st.updated_at = Settle.SUCCEEDED, now
        s.add(st)
        s.flush()
        what = _what(st, t)
        if st.step == Step.RELEASE:
            if t.status == Status.HELD:
                self._set_status(s, t, Status.COMPLETED, now, note=f"{what} ({st.ref})")
            if on_done is not None:
                on_done(s, t, st)
            else:
                self._queue_dm(s, t.recipient_id, say("claimed", t.lang, items=say(
                    "claimed.item", t.lang, amount=money(t), sender=self._handle(s, t.sender_id))), PRIORITY_OUTCOME)
        elif st.step in REFUNDS:
            rows = ledger(s, t.id)
            back = refunded(rows)
            in_all = f"; {Money(back, t.currency)} of {money(t)} in all" if back != st.amount_minor else ""
            note = f"{what} ({st.ref}){in_all}"
            if back >= t.amount_minor and t.status in (Status.HELD, Status.COMPLETED):
                self._set_status(s, t, Status.RETURNED, now, note=note)
            else:
                s.add(TransferEvent(transfer_id=saved_id(t), at=now, status=t.status, note=note))
            if on_done is not None:
                on_done(s, t, st)
            else:
                self._tell_refund(s, t, st, back)
        else:
            s.add(TransferEvent(transfer_id=saved_id(t), at=now, status=t.status, note=f"{what} ({st.ref})"))
            if on_done is not None:
                on_done(s, t, st)
        s.add(t)

    def _tell_refund(self, s: Session, t: Transfer, st: Settlement, back: int) -> None:
        """Tell the sender their money came back, in the transaction that records it (so a crash can neither
        lose nor repeat it). A refund made outside paybot is not told (the provider's dashboard did it)."""
        if st.cause == "provider":
            return
        amount = Money(st.amount_minor, t.currency)
        if st.step == Step.RETURN and st.cause in ("window", "closing"):
            self._tell_return(s, t, "closing.returned" if st.cause == "closing" else "returned")
        elif st.step == Step.RETURN and st.cause == "undeliverable":
            text = say("returned.undeliverable", t.lang, recipient=self._handle(s, t.recipient_id), amount=amount,
                       code=t.code)
            self._queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
        elif st.amount_minor == t.amount_minor:
            text = say("operator_refund", t.lang, recipient=self._handle(s, t.recipient_id), amount=amount,
                       code=t.code)
            self._queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
        else:
            text = say("refund.part", t.lang, recipient=self._handle(s, t.recipient_id), amount=amount,
                       total=money(t), back=Money(back, t.currency), code=t.code)
            self._queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)

    def _tell_return(self, s: Session, t: Transfer, why: str) -> None:
        """One DM per command, however many of its recipients never claimed: the last of them to go back
        tells (recipients who claimed are not waited for: their money is theirs)."""
        group = list(s.exec(select(Transfer).where(Transfer.root_tweet_id == t.root_tweet_id,
                                                   Transfer.sender_id == t.sender_id, Transfer.code == t.code)))
        if any(g.status == Status.HELD and not claimed(ledger(s, g.id)) for g in group if g.id != t.id):
            return
        back = [g for g in group if g.id == t.id or (g.status == Status.RETURNED and any(
            st.step == Step.RETURN and st.status == Settle.SUCCEEDED and st.cause in ("window", "closing")
            for st in ledger(s, g.id)))]  # not those an operator refunded or that were undeliverable: told apart
        key = why if len(back) == 1 else f"{why}.many"
        text = say(key, t.lang, recipient=self._handle(s, t.recipient_id), amount=money(t),
                   handles=msg.handles([self._handle(s, g.recipient_id) for g in back]),
                   total=money(t) * len(back), days=self.policy.claim_window.days, code=t.code)
        self._queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)

    # ------------------------------------------------------------------ approvals

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

    # ------------------------------------------------------------------ the operator

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

    def refund_plan(self, transfer_id: int) -> tuple[Transfer | None, int, int]:
        """The transfer, what went back to its sender so far and what may still be refunded (minor units)."""
        with self.uow() as s:
            t = s.get(Transfer, transfer_id)
            rows = ledger(s, transfer_id)
        if t is None:
            return None, 0, 0
        return t, refunded(rows), t.amount_minor - refunded(rows, in_flight=True)

    def operator_refund(self, transfer_id: int, amount_minor: int | None = None) -> tuple[bool, str]:
        """Give a completed or held transfer's money back to its sender: all that is left (the default, safe to
        repeat), or `amount_minor` of a completed one (several times, up to its amount). A refund a crash
        interrupted is finished first, with its own key; the sender is told when the money is back."""
        with self.uow() as s:
            t = s.get(Transfer, transfer_id)
            rows = ledger(s, transfer_id)
            contested = disputed(s, transfer_id)
        if t is None:
            return False, f"no transfer {transfer_id}"
        if contested:
            return False, (f"transfer {transfer_id} is disputed: the payer's bank gives them their money back "
                           "itself, so a refund would pay them twice (see `paybot show`)")
        if t.status not in (Status.COMPLETED, Status.HELD, Status.RETURNED) or not t.payment_ref:
            return False, f"transfer {transfer_id} is {t.status}: no money moved, nothing to refund"
        unsent = [st for st in rows if st.step in REFUNDS and st.status == Settle.PENDING and st.ref is None]
        if unsent:  # a refund a crash (or another operator, right now) left without its answer: finish it first
            st = unsent[-1]
            return self._refund_said(transfer_id, self._drive(sid(st)), Money(st.amount_minor, t.currency),
                                     interrupted=True)
        if t.status == Status.HELD and any(st.step == Step.RELEASE and st.status == Settle.PENDING for st in rows):
            return False, f"transfer {transfer_id}: a release to the recipient is under way; try again in a minute"
        left = t.amount_minor - refunded(rows, in_flight=True)
        if left <= 0:
            if t.status == Status.RETURNED:
                last = next((st.ref for st in reversed(rows) if st.step in REFUNDS and st.ref), None)
                return True, f"transfer {transfer_id} was already returned ({last})"
            return True, (f"transfer {transfer_id}: its refund is in progress at the provider; the sender is told "
                          "when it goes through")
        amount = left if amount_minor is None else amount_minor
        if amount <= 0 or amount > left:
            return False, (f"transfer {transfer_id}: {Money(left, t.currency)} is left to refund, not "
                           f"{Money(max(amount, 0), t.currency)}")
        if t.status == Status.HELD and amount != t.amount_minor:
            return False, (f"transfer {transfer_id} is held: held money goes back whole (leave out --amount), "
                           "or is claimed whole")
        with self.uow() as s:
            row = s.get(Transfer, transfer_id)
            now_left = row.amount_minor - refunded(ledger(s, transfer_id), in_flight=True) if row else 0
            if row is None or row.status != t.status or amount > now_left:
                return False, f"transfer {transfer_id} changed meanwhile; try again"
            st = self._begin(s, row, Step.RETURN if t.status == Status.HELD else Step.REFUND, amount, "operator")
            if not self._commit(s):
                return False, f"transfer {transfer_id}: another refund of it began at the same moment; try again"
        return self._refund_said(transfer_id, self._drive(sid(st)), Money(amount, t.currency))

    def _refund_said(self, transfer_id: int, outcome: str, amount: Money, *,
                     interrupted: bool = False) -> tuple[bool, str]:
        """What `paybot refund` prints for what `_drive` did."""
        with self.uow() as s:
            t = s.get(Transfer, transfer_id)
            rows = ledger(s, transfer_id)
        assert t is not None
        first = "an interrupted refund was finished: " if interrupted else ""
        if outcome == DONE:
            if t.status == Status.RETURNED and amount.minor == t.amount_minor:
                return True, f"transfer {transfer_id} refunded"
            return True, (f"transfer {transfer_id}: {first}{amount} refunded; {Money(refunded(rows), t.currency)} of "
                          f"{money(t)} refunded in all" + (" (returned)" if t.status == Status.RETURNED else ""))
        if outcome == PENDING:
            return True, (f"transfer {transfer_id}: {first}the refund of {amount} is in progress at the provider; "
                          "the sender is told when it goes through (`paybot status` warns if it fails)")
        if outcome == GONE:
            if t.status == Status.RETURNED:
                last = next((st.ref for st in reversed(rows) if st.step in REFUNDS and st.ref), None)
                return True, f"transfer {transfer_id} was already returned ({last})"
            return True, f"transfer {transfer_id}: that refund was recorded by another process meanwhile"
        if outcome == REFUSED:
            failure = next((st.failure for st in reversed(rows) if st.step in REFUNDS and st.failure), "")
            return False, f"transfer {transfer_id}: the provider refused the refund ({failure}); nothing moved"
        return False, f"transfer {transfer_id}: the refund did not go through (see the log); try again"

    def operator_reverse(self, transfer_id: int) -> tuple[bool, str]:
        """Take back from the recipient what they still hold of a completed transfer (the platform keeps it:
        after a dispute took the payment back from the platform, say). Neither party is told by the bot."""
        with self.uow() as s:
            t = s.get(Transfer, transfer_id)
            rows = ledger(s, transfer_id)
        if t is None:
            return False, f"no transfer {transfer_id}"
        unsent = [st for st in rows if st.step == Step.REVERSE and st.status == Settle.PENDING and st.ref is None]
        if unsent:
            st = unsent[-1]
            return self._reverse_said(transfer_id, self._drive(sid(st)), Money(st.amount_minor, t.currency))
        if t.status != Status.COMPLETED or not t.payment_ref:
            return False, (f"transfer {transfer_id} is {t.status}: only a completed transfer's money is with its "
                           "recipient")
        holds = t.amount_minor - refunded(rows, in_flight=True) - reversed_(rows)
        if holds <= 0:
            return True, f"transfer {transfer_id}: the recipient holds nothing of it any more"
        with self.uow() as s:
            row = s.get(Transfer, transfer_id)
            if row is None or row.status != Status.COMPLETED:
                return False, f"transfer {transfer_id} changed meanwhile; try again"
            st = self._begin(s, row, Step.REVERSE, holds, "operator")
            if not self._commit(s):
                return False, f"transfer {transfer_id}: another reversal of it began at the same moment; try again"
        return self._reverse_said(transfer_id, self._drive(sid(st)), Money(holds, t.currency))

    @staticmethod
    def _reverse_said(transfer_id: int, outcome: str, amount: Money) -> tuple[bool, str]:
        if outcome in (DONE, GONE):
            return True, (f"transfer {transfer_id}: {amount} taken back from the recipient; the platform keeps it "
                          f"(`paybot refund {transfer_id}` gives it to the sender)")
        if outcome == REFUSED:
            return False, (f"transfer {transfer_id}: the provider refused the reversal (see `paybot show`); "
                           "nothing moved")
        return False, f"transfer {transfer_id}: the reversal did not go through (see the log); try again"


def _what(st: Settlement, t: Transfer) -> str:
    """A settlement in the words of a transfer's timeline."""
    amount = Money(st.amount_minor, t.currency)
    return {Step.RELEASE: f"released {amount} to the recipient",
            Step.RETURN: f"returned {amount} to the sender",
            Step.REFUND: f"refunded {amount} to the sender",
            Step.REVERSE: f"took {amount} back from the recipient"}.get(Step(st.step), f"{st.step} of {amount}")

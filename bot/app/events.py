"""The provider's events: cards saved, approvals, onboarding, refunds made elsewhere or finished late (or
failed), disputes and the money they take back."""

from __future__ import annotations

import logging

from bot.app.base import Context, handle_of, lang_of, money, saved_id, set_status
from bot.app.cashout import Cashout
from bot.app.common import Common
from bot.app.holds import Holds
from bot.app.ledger import DISPUTE_NOTES, FUNDS_WITHDRAWN, ledger, refunded
from bot.app.payments import Payments
from bot.app.settling import Settling
from bot.domain import REFUNDS, SETTLEMENT, Cause, Fact, Reason, Settle, Status, Step
from bot.domain.entities import PRIORITY_OUTCOME, Settlement, Transfer, TransferEvent
from bot.domain.marks import Mark
from bot.errors import ProviderError
from bot.logs import transfer_context
from bot.messages import text as say
from bot.money import Money
from bot.ports import EventKind, PayOutcome, PayResult, ProviderEvent
from bot.repo.port import Tx

log = logging.getLogger(__name__)


class Events:
    """The provider's events, applied once each."""

    def __init__(
        self, ctx: Context, common: Common, payments: Payments, settling: Settling, holds: Holds, cashout: Cashout
    ) -> None:
        self.ctx = ctx
        self.common = common
        self.payments = payments
        self.settling = settling
        self.holds = holds
        self.cashout = cashout

    def provider_events(self) -> int:
        """Apply the provider's new events (cards saved, approvals, onboarding, refunds, disputes) once each."""
        with self.ctx.uow() as s:
            cursor = s.checkpoints.get(Mark.PROVIDER_EVENTS)
        try:
            events, new_cursor = self.ctx.provider.events(cursor or None)
        except ProviderError as err:
            log.warning("could not read the provider's events: %s", err)
            self.common.provider_failed()
            return 0
        for event in events:
            self.apply_event(event)
        if new_cursor and new_cursor != cursor:
            with self.ctx.uow() as s:
                s.checkpoints.set(Mark.PROVIDER_EVENTS, new_cursor)
                s.commit()
        return len(events)

    def apply_event(self, event: ProviderEvent) -> None:  # noqa: C901
        """Apply one provider event; applying it twice changes nothing more."""
        if event.kind == EventKind.CARD_SAVED and event.user_id:
            with self.ctx.uow() as s:  # remembered beside the DM ids ("event:" never starts an X id)
                if not s.dms.has(f"event:{event.id}"):
                    s.dms.add(f"event:{event.id}", self.ctx.clock.now())
                    self.common.queue_dm(
                        s, event.user_id, say("card_saved", lang_of(s, event.user_id)), PRIORITY_OUTCOME
                    )
                    s.commit()
        elif event.kind in (EventKind.PAID, EventKind.AUTH_LAPSED) and event.key:
            with self.ctx.uow() as s:
                t = s.transfers.by_pay_key(event.key)
            if t is None or t.id is None:
                return
            if event.kind == EventKind.PAID:
                result = PayResult(event.outcome or PayOutcome.PAID, ref=event.ref)
            else:
                result = PayResult(PayOutcome.NEEDS_AUTH, reason=Reason.NOT_APPROVED, charged=event.charged)
            self.payments.apply_result(t.id, result, (Status.NEEDS_AUTH,))
        elif event.kind == EventKind.APPROVAL_NEEDED and event.key and event.url:
            self._approval_needed(event, event.url)
        elif event.kind == EventKind.ACCOUNT_READY and event.user_id:
            with self.ctx.uow() as s:
                waiting = bool(s.transfers.held_for(event.user_id))
            if waiting:  # they finished onboarding: pay out what waits for them
                self.holds.claim(event.user_id, resuming=True)
        elif event.kind == EventKind.ENROLLED and event.user_id:
            with self.ctx.uow() as s:
                waiting = bool(s.transfers.held_for(event.user_id))
            if waiting:  # they secured their account: the next step of their CLAIM (identity) is sent
                self.holds.claim(event.user_id)
        elif event.kind == EventKind.REFUNDED and event.ref:
            self._refunded_at_provider(event)
        elif event.kind in (EventKind.REFUND_SETTLED, EventKind.REFUND_FAILED) and (event.key or event.settle_ref):
            self._refund_ended(event)
        elif event.kind in (EventKind.DISPUTED, EventKind.FUNDS_WITHDRAWN) and event.ref:
            self._disputed(event)
        elif event.kind in (EventKind.PAYOUT_SUCCEEDED, EventKind.PAYOUT_FAILED, EventKind.PAYOUT_RETURNED) and (
            event.key or event.settle_ref
        ):
            self.cashout.payout_ended(event)

    def _approval_needed(self, event: ProviderEvent, url: str) -> None:
        """A payment waiting for its sender's approval needs another one (the bank's passed, the provider's
        own now): the sender gets that page's link, once (events are applied once each)."""
        with self.ctx.uow() as s:
            t = s.transfers.by_pay_key(event.key) if event.key else None
            if t is None or t.status != Status.NEEDS_AUTH:
                return
            words = dict(
                sender=handle_of(s, t.sender_id),
                recipient=handle_of(s, t.recipient_id),
                amount=money(t),
                code=t.code,
            )
            self.payments.queue_approval(s, t, t.lang, url, event.valid_for, event.charged, words)
            s.timeline.add(
                TransferEvent(
                    transfer_id=saved_id(t),
                    at=self.ctx.clock.now(),
                    status=t.status,
                    note="the provider wants the sender's approval again (its own, after the bank's)",
                )
            )
            s.commit()

    def _transfer_of(self, s: Tx, event: ProviderEvent) -> Transfer | None:
        t = s.transfers.by_payment_ref(event.ref) if event.ref else None
        if t is None:
            log.warning("%s of payment %s, which no transfer knows", event.kind, event.ref)
        return t

    def _refunded_at_provider(self, event: ProviderEvent) -> None:
        """A refund seen at the provider: paybot's own (recorded where it was made), or one made outside
        paybot (the provider's dashboard), which is recorded as a settlement without a key: the money
        counts as returned when it went through, and all of it makes the transfer returned."""
        if event.key:
            return  # paybot's own: `_drive` records it (or its REFUND_SETTLED / REFUND_FAILED event does)
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            t = self._transfer_of(s, event)
            if t is None:
                return
            rows = ledger(s, t.id)
            if event.settle_ref is None:
                # A provider that does not say which refund: one of paybot's own if paybot refunded it.
                if any(st.step in REFUNDS and st.key for st in rows):
                    return
            elif any(st.ref == event.settle_ref for st in rows):
                return  # already known (a refund's events come more than once)
            note = f"refunded at the provider ({event.id})"
            if any(e.note == note for e in s.timeline.of(saved_id(t))):
                return
            left = t.amount_minor - refunded(rows, in_flight=True)
            amount = min(event.amount_minor or left, max(left, 0))
            if amount <= 0 or t.status not in (Status.COMPLETED, Status.HELD, Status.RETURNED):
                s.timeline.add(TransferEvent(transfer_id=saved_id(t), at=now, status=t.status, note=note))
                s.commit()
                log.warning("transfer %s: %s", t.id, note, extra=transfer_context(t))
                return
            seq = 1 + len([st for st in rows if st.step == Step.REFUND])
            st = Settlement(
                transfer_id=saved_id(t),
                step=Step.REFUND,
                seq=seq,
                amount_minor=amount,
                key=None,
                ref=event.settle_ref,
                status=SETTLEMENT.begin(Settle.PENDING if event.pending else Settle.SUCCEEDED),
                cause=Cause.PROVIDER,
                created_at=now,
                updated_at=now,
            )
            s.settlements.add(st)
            s.flush()
            back = refunded(ledger(s, t.id))
            if st.status == Settle.SUCCEEDED and back >= t.amount_minor and t.status in (Status.COMPLETED, Status.HELD):
                set_status(s, t, Status.RETURNED, now, reason=note)
            else:
                pending = " (in progress)" if event.pending else ""
                s.timeline.add(
                    TransferEvent(
                        transfer_id=saved_id(t),
                        at=now,
                        status=t.status,
                        note=f"{note}: {Money(amount, t.currency)}{pending}",
                    )
                )
            s.transfers.add(t)
            s.commit()
            log.warning("transfer %s: %s", t.id, note, extra=transfer_context(t))

    def _refund_ended(self, event: ProviderEvent) -> None:
        """A refund that was in progress went through, or a refund failed (even one that had gone through):
        the sender is told when their money is back, never before; a failure is the operator's to act on."""
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            st = None
            if event.key:
                st = s.settlements.by_key(event.key)
            if st is None and event.settle_ref:
                st = s.settlements.by_ref(event.settle_ref)
            if st is None:
                if event.key:
                    log.warning("%s of a refund with key %s, which paybot does not know", event.kind, event.key)
                    return
                if event.kind == EventKind.REFUND_SETTLED:  # made outside paybot, its creation not seen yet
                    self._refunded_at_provider(
                        ProviderEvent(
                            id=event.id,
                            kind=EventKind.REFUNDED,
                            ref=event.ref,
                            settle_ref=event.settle_ref,
                            amount_minor=event.amount_minor,
                        )
                    )
                    return
                t = self._transfer_of(s, event)
                if t is None:
                    return
                amount = Money(event.amount_minor or t.amount_minor, t.currency)
                self._refund_failed_note(
                    s,
                    t,
                    f"a refund of {amount} made outside paybot failed at the provider "
                    f"({event.reason or 'no reason given'}; {event.settle_ref})",
                )
                s.commit()
                return
            t = s.transfers.get(st.transfer_id)
            if t is None:
                return
            if event.kind == EventKind.REFUND_SETTLED:
                if st.status != Settle.PENDING:
                    return  # recorded already (the two events of one refund), or failed meanwhile
                st.ref = st.ref or event.settle_ref
                self.settling.succeeded(s, t, st)
                s.commit()
                log.info("transfer %s: the refund %s went through", t.id, st.ref, extra=transfer_context(t))
                return
            if st.status == Settle.FAILED:
                return
            was = st.status
            st.status = SETTLEMENT.move(st.status, Settle.FAILED)
            st.failure, st.updated_at = event.reason or "failed", now
            st.ref = st.ref or event.settle_ref
            s.settlements.add(st)
            amount = Money(st.amount_minor, t.currency)
            late = " after it had gone through" if was == Settle.SUCCEEDED else ""
            self._refund_failed_note(
                s,
                t,
                f"the refund of {amount} failed at the provider{late} "
                f"({st.failure}; {st.ref}): the money is back with the platform, not "
                f"with the sender; `paybot refund {t.id}` tries again",
            )
            s.commit()

    def _refund_failed_note(self, s: Tx, t: Transfer, note: str) -> None:
        s.timeline.add(TransferEvent(transfer_id=saved_id(t), at=self.ctx.clock.now(), status=t.status, note=note))
        log.error("transfer %s: %s", t.id, note, extra=transfer_context(t))

    def _disputed(self, event: ProviderEvent) -> None:
        """A dispute opened by the payer's bank, or the money it took back from the platform: written to the
        transfer's timeline once and logged for the operator (`paybot status` lists the withdrawals). The
        recipient's share is taken back only if the operator asks (`paybot reverse`)."""
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            t = self._transfer_of(s, event)
            if t is None:
                return
            if event.kind == EventKind.FUNDS_WITHDRAWN:
                amount = Money(event.amount_minor or t.amount_minor, t.currency)
                note = (
                    f"{FUNDS_WITHDRAWN} ({event.settle_ref or event.id}): the payer's bank took {amount} back "
                    f"from the platform; `paybot reverse {t.id}` takes the recipient's share back"
                )
                mark, fact = f"{FUNDS_WITHDRAWN} ({event.settle_ref or event.id})", Fact.FUNDS_WITHDRAWN
            else:
                note = mark = f"{DISPUTE_NOTES[1]} ({event.id})"
                fact = Fact.DISPUTED
            if s.timeline.noted(t.id, mark):  # this very dispute (or withdrawal), told again
                return
            s.timeline.add(TransferEvent(transfer_id=saved_id(t), at=now, status=t.status, note=note, fact=fact))
            s.commit()
            log.warning("transfer %s: %s", t.id, note, extra=transfer_context(t))

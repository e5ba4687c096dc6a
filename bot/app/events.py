"""The provider's events: cards saved, approvals, onboarding, refunds and disputes made elsewhere."""

from __future__ import annotations

import logging

from sqlmodel import select

from bot.app.answers import Answers
from bot.app.base import saved_id
from bot.domain import REFUNDS, Status, step_of
from bot.errors import ProviderError
from bot.logs import transfer_context
from bot.messages import text as say
from bot.ports import EventKind, PayOutcome, PayResult, ProviderEvent
from bot.store import PRIORITY_OUTCOME, Mark, ProcessedDm, Transfer, TransferEvent, get_checkpoint, set_checkpoint

log = logging.getLogger(__name__)


class Events(Answers):
    """The provider's events, applied once each."""

    def provider_events(self) -> int:
        """Apply the provider's new events (cards saved, approvals, onboarding, refunds, disputes) once each."""
        with self.uow() as s:
            cursor = get_checkpoint(s, Mark.PROVIDER_EVENTS)
        try:
            events, new_cursor = self.provider.events(cursor or None)
        except ProviderError as err:
            log.warning("could not read the provider's events: %s", err)
            self.provider_failed()
            return 0
        for event in events:
            self.apply_event(event)
        if new_cursor and new_cursor != cursor:
            with self.uow() as s:
                set_checkpoint(s, Mark.PROVIDER_EVENTS, new_cursor)
                s.commit()
        return len(events)

    def apply_event(self, event: ProviderEvent) -> None:
        """Apply one provider event; applying it twice changes nothing more."""
        if event.kind == EventKind.CARD_SAVED and event.user_id:
            with self.uow() as s:  # remembered beside the DM ids ("event:" never starts an X id)
                if s.get(ProcessedDm, f"event:{event.id}") is None:
                    s.add(ProcessedDm(id=f"event:{event.id}", processed_at=self.clock.now()))
                    self._queue_dm(s, event.user_id, say("card_saved", self._lang_of(s, event.user_id)),
                                   PRIORITY_OUTCOME)
                    s.commit()
        elif event.kind in (EventKind.PAID, EventKind.AUTH_LAPSED) and event.key:
            with self.uow() as s:
                t = s.exec(select(Transfer).where(Transfer.pay_key == event.key)).first()
            if t is None or t.id is None:
                return
            if event.kind == EventKind.PAID:
                result = PayResult(event.outcome or PayOutcome.PAID, ref=event.ref)
            else:
                result = PayResult(PayOutcome.NEEDS_AUTH, reason="not approved in time")
            self._apply_result(t.id, result, (Status.NEEDS_AUTH,))
        elif event.kind == EventKind.ACCOUNT_READY and event.user_id:
            with self.uow() as s:
                waiting = s.exec(select(Transfer.id).where(Transfer.recipient_id == event.user_id,
                                                           Transfer.status == Status.HELD).limit(1)).first()
            if waiting is not None:  # they finished onboarding: pay out what waits for them
                self.claim(event.user_id, resuming=True)
        elif event.kind in (EventKind.REFUNDED, EventKind.DISPUTED) and event.ref:
            self._note_at_provider(event)

    def _note_at_provider(self, event: ProviderEvent) -> None:
        """A refund or dispute made outside paybot (the provider's dashboard, the payer's bank)."""
        now = self.clock.now()
        with self.uow() as s:
            t = s.exec(select(Transfer).where(Transfer.payment_ref == event.ref)).first()
            if t is None:
                log.warning("%s of payment %s, which no transfer knows", event.kind, event.ref)
                return
            if event.kind == EventKind.REFUNDED and step_of(t.settle_key) in REFUNDS:
                return  # paybot's own refund (a return, or an operator's refund): recorded by `_settle`
            note = f"{event.kind} at the provider ({event.id})"
            if s.exec(select(TransferEvent).where(TransferEvent.transfer_id == t.id,
                                                  TransferEvent.note == note)).first() is not None:
                return
            if event.kind == EventKind.REFUNDED and t.status in (Status.COMPLETED, Status.HELD):
                self._set_status(s, t, Status.RETURNED, now, reason=note)
            else:
                s.add(TransferEvent(transfer_id=saved_id(t), at=now, status=t.status, note=note))
            s.add(t)
            s.commit()
            log.warning("transfer %s: %s", t.id, note, extra=transfer_context(t))

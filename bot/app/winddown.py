"""Closing paybot without losing anyone's money: stop taking commands, cancel what is pending, give
all held money back, finish what is executing, and say what is left. Safe to run again and again."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from bot import messages as msg
from bot.app.base import money
from bot.app.voice import Voice
from bot.domain import Status
from bot.messages import text as say
from bot.store import PRIORITY_OUTCOME, Mark, Transfer

log = logging.getLogger(__name__)

CLOSING = "paybot is closing down"


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

    @property
    def done(self) -> bool:
        return not (self.executing or self.needs_auth or self.held or self.outbox)


class WindDown(Voice):
    """`paybot wind-down`: the way paybot promises that closing it loses nobody's balance."""

    def winding_down(self) -> bool:
        with self.uow() as s:
            return s.checkpoints.flag(Mark.WINDING_DOWN)

    def wind_down(self) -> WindDownReport:
        """One pass; each step is idempotent (a status changes once, a money step has its own key)."""
        with self.uow() as s:
            s.checkpoints.set(Mark.WINDING_DOWN, "1")
            s.commit()
        cancelled = self._cancel_pending()
        finished = self.resume()  # executing transfers and half-done releases, with their own keys
        returned = self.return_due(everything=True, why="closing.returned")
        with self.uow() as s:
            counts = s.transfers.count_by_status([Status.EXECUTING, Status.NEEDS_AUTH, Status.HELD])
            outbox = s.outbox.waiting()
        report = WindDownReport(cancelled=cancelled, returned=returned, finished=finished,
                                executing=counts.get(Status.EXECUTING, 0), needs_auth=counts.get(Status.NEEDS_AUTH, 0),
                                held=counts.get(Status.HELD, 0), outbox=outbox)
        log.info("wind-down pass: %s", report)
        return report

    def _cancel_pending(self) -> int:
        """Cancel every pending send and request; each payer of a send and each requester hears it once
        per command, in the transaction that cancels it."""
        now = self.clock.now()
        with self.uow() as s:
            pending = s.transfers.with_status(Status.PENDING)
            told: dict[tuple[str, str, str], list[Transfer]] = defaultdict(list)
            for t in pending:
                self._set_status(s, t, Status.CANCELLED, now, reason=CLOSING)
                # a send: its sender is told; a request: its requester (the payers were only asked)
                who = t.sender_id if t.kind == "send" else t.recipient_id
                told[(t.root_tweet_id, who, t.kind)].append(t)
            for (root, who, kind), rows in told.items():
                first = rows[0]
                others = [t.recipient_id if kind == "send" else t.sender_id for t in rows]
                key = "closing.cancelled" if kind == "send" else "closing.request_cancelled"
                text = say(key, first.lang, amount=money(first), code=first.code,
                           handles=msg.handles([self._handle(s, uid) for uid in others]))
                self._queue_dm(s, who, text, PRIORITY_OUTCOME, root=root)
            s.commit()
        return len(pending)

"""What the worker and the operator ask of the store around the use cases: which posts and DMs are new, one
set aside after repeated failures, whether anyone has a confirmation to answer, the pause switch, and the
next deadline of a transfer."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.app.base import Context
from bot.domain import Status
from bot.domain.marks import Mark

log = logging.getLogger(__name__)


class Upkeep:
    """The store's switches and marks, on one context."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def unseen(self, ids: list[str], *, dms: bool = False) -> set[str]:
        """Which of these post (or DM event) ids have not been processed yet: one query per page."""
        with self.ctx.uow() as s:
            return (s.dms if dms else s.mentions).unseen(ids)

    def awaiting_answers(self) -> bool:
        """Whether anyone has a confirmation to answer (pending transfers)."""
        with self.ctx.uow() as s:
            return s.transfers.has_status(Status.PENDING)

    def set_aside(self, what: str) -> None:
        """Mark a mention or DM that keeps failing as processed, so it stops blocking the rest."""
        kind, _, xid = what.partition(" ")
        with self.ctx.uow() as s:
            done = s.mentions if kind == "mention" else s.dms
            if not done.has(xid):
                done.add(xid, self.ctx.clock.now())
                s.commit()
        log.error("%s set aside after repeated failures", what)

    def next_deadline(self) -> datetime | None:
        """The next time a transfer's deadline comes (an expiry or the end of a claim window)."""
        with self.ctx.uow() as s:
            return s.transfers.next_deadline()

    def paused(self) -> bool:
        """Whether an operator paused payments (`paybot pause`)."""
        with self.ctx.uow() as s:
            return s.checkpoints.flag(Mark.PAUSED)

    def set_paused(self, on: bool) -> None:
        """`paybot pause` / `paybot resume`. Payments confirmed while paused were never sent to the provider: on
        resume their key's lifetime (`Policy.key_lifetime`, counted from `updated_at`) starts now, so a pause
        longer than it does not make them looked up (and failed) instead of paid."""
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            was = s.checkpoints.flag(Mark.PAUSED)
            if on and not was:
                s.checkpoints.set(Mark.PAUSED_AT, now.isoformat())
            if was and not on and (began := s.checkpoints.get(Mark.PAUSED_AT)):
                since = datetime.fromisoformat(began)
                for t in s.transfers.with_status(Status.EXECUTING):
                    if t.confirmed_at is not None and t.confirmed_at >= since:
                        t.updated_at = now
            s.checkpoints.set(Mark.PAUSED, "1" if on else "")
            s.commit()

"""Sending the outbox: each message at least once, a DM never twice, in priority order; and the X calls'
rate-limit pauses, which the worker's polls share.

A DM's row is marked "sending" before its call; one found "sending" is looked for among the bot's sent
DMs before it is sent again. A reply is simply sent again: X refuses a duplicate, taken as sent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.domain import OUTBOX, MessageKind, Send
from bot.domain.entities import PRIORITY_CONFIRM, Outbox
from bot.errors import XAuthError, XError, XForbidden, XRateLimited, XTransient
from bot.faults import fault_point
from bot.messages import without_links
from bot.ports import Clock, Timeline
from bot.repo.port import Store
from bot.service import Service

log = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 8
# Messages sent per chunk: one commit marks a chunk's DMs "sending", one records their outcomes. A crash
# mid-chunk leaves at most this many DMs in doubt, each then looked for on X (one read) before a resend.
SEND_CHUNK = 10
# What a send came to: the message, its status (a Send, or "retry"), X's id, the error, when it was sent.
Outcome = tuple[Outbox, str, str | None, str | None, datetime | None]


def endpoint_of(item: Outbox) -> str:
    """The X endpoint (and rate limit) a message goes through."""
    return "dm_post" if item.kind == MessageKind.DM else "tweets_post"


def fair(batch: list[Outbox]) -> list[Outbox]:
    """The due messages in the order they go out: by priority, and within a priority one person's at a time,
    round-robin (each person's in the order they were queued), so no one account's flood of commands holds
    the head of the queue (confirmations are the first priority, and the DM allowance is shared)."""
    turn: dict[tuple[int, str], int] = {}
    ranked = []
    for item in batch:  # `due` gives them by priority, then as queued
        who = (item.priority, item.to_user_id or item.about_user_id or item.in_reply_to or "")
        turn[who] = turn.get(who, -1) + 1
        ranked.append((item.priority, turn[who], item.id or 0, item))
    return [item for *_, item in sorted(ranked, key=lambda r: r[:3])]


def saved(item: Outbox) -> int:
    """The id of an outbox row read from the store."""
    if item.id is None:
        raise ValueError("an outbox message needs to be saved before it is sent")
    return item.id


@dataclass
class Sender:
    """The outbox's sending, and the pauses X's rate limits impose on each endpoint."""

    service: Service
    timeline: Timeline
    uow: Store
    clock: Clock
    paused_until: dict[str, datetime] = field(default_factory=dict, kw_only=True)
    # every DM sent before this has been read (set by the DM poll): a request's reply waits for it
    dms_read_until: datetime | None = field(default=None, kw_only=True)

    def drain_outbox(self, limit: int = 100) -> int:
        """Send up to `limit` due messages: confirmations first, then outcomes, then public replies.

        They go in chunks of SEND_CHUNK: the chunk's DMs are marked "sending" in one commit, then
        each message is sent, then every outcome is recorded in one commit."""
        now = self.clock.now()
        with self.uow() as s:
            batch = fair(s.outbox.due(now, limit))
        sent = 0
        blocked: set[str] = set()
        waiting, missing = self._check_names(batch)
        todo = [item for item in batch if item.id not in waiting]
        for start in range(0, len(todo), SEND_CHUNK):
            ready: list[Outbox] = []
            for item in todo[start : start + SEND_CHUNK]:
                if item.kind in blocked or self.x_paused(endpoint_of(item)):
                    blocked.add(item.kind)
                    continue
                ready.append(item)
            asking = [i for i in ready if i.version and i.priority == PRIORITY_CONFIRM]
            if asking and (stale := self.service.drop_superseded(asking)):
                ready = [i for i in ready if i.id not in stale]
            named = [saved(i) for i in ready if i.kind == MessageKind.REPLY and i.names is not None]
            prepared = self.service.prepare_replies(named, missing) if named else {}
            chunk: list[Outbox] = []
            for item in ready:
                if item.id in prepared:
                    final = prepared[saved(item)]
                    if final is None:
                        continue
                    item = final
                chunk.append(item)
            if chunk:
                sent += self._send_chunk(chunk, blocked)
        return sent

    def _check_names(self, batch: list[Outbox]) -> tuple[set[int | None], frozenset[str]]:
        """Which replies wait, and whom X no longer knows, before the replies naming people are sent.

        A request's reply waits until every DM sent before it was queued has been read (a STOP or a
        privacy change sent first must count). The handles of people not seen lately are looked up in
        one batched request; a failed lookup keeps those replies for the next round."""
        named = [i for i in batch if i.kind == MessageKind.REPLY and i.names is not None]
        read = self.dms_read_until
        waiting = {i.id for i in named if i.priority == PRIORITY_CONFIRM and (read is None or read < i.created_at)}
        ready = [i for i in named if i.id not in waiting]
        stale = self.service.stale_names(ready) if ready else set()
        if not stale:
            return waiting, frozenset()
        found = self.x_call("users", lambda: self.timeline.users(sorted(stale)))
        if found is None:
            return waiting | {i.id for i in ready}, frozenset()
        self.service.saw_users(found)
        return waiting, frozenset(stale - found.keys())

    def x_call(self, endpoint: str, fn: Callable[[], Any]) -> Any:
        """Call X at `endpoint`; None when it failed (logged) or a rate limit paused the endpoint (noted)."""
        try:
            return fn()
        except XRateLimited as err:
            self._pause(endpoint, err)
        except XTransient as err:
            log.warning("%s: %s; will try again", endpoint, err)
        except XAuthError:
            raise
        except XError as err:
            log.error("%s: %s", endpoint, err)
        return None

    def _pause(self, endpoint: str, err: XRateLimited) -> None:
        now = self.clock.now()
        if err.capped:
            until = now + timedelta(hours=1)
            log.error("%s: X usage cap reached; pausing this endpoint for an hour, the rest keeps running", endpoint)
        else:
            until = err.reset_at or now + timedelta(minutes=15)
            log.warning("%s: rate limited until %s", endpoint, f"{until:%H:%M:%S} UTC")
        self.paused_until[endpoint] = until

    def x_paused(self, endpoint: str) -> bool:
        """Whether X's rate limit still pauses this endpoint."""
        until = self.paused_until.get(endpoint)
        return bool(until and until > self.clock.now())

    def _send_chunk(self, chunk: list[Outbox], blocked: set[str]) -> int:
        """Send these messages; returns how many were sent. A DM's row is marked "sending" before its call:
        one found "sending" was interrupted (a crash, a timeout) after the call may have reached X, and is
        looked for among the bot's sent DMs before it is sent again. A reply is simply sent again: X refuses
        a duplicate, which is taken as sent. A rate limit stops the chunk's messages of that kind."""
        outcomes: list[Outcome] = []
        fresh: list[Outbox] = []
        try:
            for item in chunk:
                if item.kind == MessageKind.DM and item.status == Send.SENDING:
                    found = self._x_found(item, blocked)
                    if found is not None:
                        outcomes.append(found)
                        continue
                    if item.kind in blocked:
                        continue
                fresh.append(item)
            self._mark_sending([i for i in fresh if i.kind == MessageKind.DM])
            for item in fresh:
                if item.kind in blocked:
                    self._unmark_sending([item])
                    continue
                outcome = self._deliver(item)
                if outcome is None:
                    blocked.add(item.kind)
                    self._unmark_sending([item])  # a 429 (or our own pacing) means it was not sent
                else:
                    outcomes.append(outcome)
        except XAuthError:
            done = {id(o[0]) for o in outcomes}
            self._unmark_sending([i for i in fresh if id(i) not in done])
            self._settle(outcomes)
            raise
        return self._settle(outcomes)

    def _x_found(self, item: Outbox, blocked: set[str]) -> Outcome | None:
        """A DM in doubt, if X shows it sent (the outcome to record); None: send it (or, rate-limited, wait)."""
        try:
            found = self.timeline.dm_sent(item.to_user_id or "", item.text, item.created_at)
        except XRateLimited as err:
            self._pause("dm_post", err)
            blocked.add(item.kind)
            return None
        except XTransient as err:
            return (item, "retry", None, str(err), None)
        except XError as err:
            if isinstance(err, XAuthError):
                raise
            return (item, Send.FAILED, None, str(err), None)
        if found is None:
            return None
        return (item, Send.SENT, found.id, "found already sent", found.at)

    def _deliver(self, item: Outbox) -> Outcome | None:
        """Send one message to X; its outcome to record, or None when a rate limit stopped it (not sent)."""
        endpoint = endpoint_of(item)
        x_id: str | None = None
        error: str | None = None
        status: str  # a Send, or "retry" (kept "sending" for the next attempt)
        try:
            fault_point("before_send")
            if item.kind == MessageKind.DM:
                x_id = self.timeline.send_dm(item.to_user_id or "", item.text)
            else:
                x_id = self.timeline.reply(item.in_reply_to or "", item.text)
            fault_point("after_send")
            status = Send.SENT
        except XForbidden as err:
            if err.reason == "duplicate":
                status, error = Send.SENT, "duplicate content: already posted"
            else:
                status, error = Send.FAILED, str(err)
        except XRateLimited as err:
            self._pause(endpoint, err)
            return None
        except XTransient as err:
            status, error = "retry", str(err)
        except XAuthError:
            raise
        except XError as err:
            status, error = Send.FAILED, str(err)
        return (item, status, x_id, error, self.clock.now() if status == Send.SENT else None)

    def _mark_sending(self, items: list[Outbox]) -> None:
        if not items:
            return
        now = self.clock.now()
        with self.uow() as s:
            for row in s.outbox.many([saved(i) for i in items]):
                if row.status != Send.SENDING:  # a DM in doubt, not found on X, is sent again: still "sending"
                    row.status = OUTBOX.move(row.status, Send.SENDING)
                row.attempts += 1
                row.attempted_at = row.attempted_at or now
            s.commit()

    def _unmark_sending(self, items: list[Outbox]) -> None:
        """Put back DMs marked "sending" whose call was never made (those in doubt before stay so)."""
        items = [i for i in items if i.kind == MessageKind.DM and i.status != Send.SENDING]
        if not items:
            return
        with self.uow() as s:
            for row in s.outbox.many([saved(i) for i in items]):
                if row.status == Send.SENDING:
                    row.status = OUTBOX.move(row.status, Send.QUEUED)
                    row.attempts = max(0, row.attempts - 1)
            s.commit()

    def _settle(self, outcomes: list[Outcome]) -> int:  # noqa: C901
        """Record the sends' outcomes in one commit; returns how many were sent. `sent_at` is when the send
        returned, or X's time for a send found in doubt."""
        if not outcomes:
            return 0
        now = self.clock.now()
        final: list[tuple[Outbox, str, str | None]] = []
        sent: list[Outbox] = []
        with self.uow() as s:
            rows = {r.id: r for r in s.outbox.many([saved(o[0]) for o in outcomes])}
            for item, status, x_id, error, sent_at in outcomes:
                row = rows.get(item.id)
                if row is None:
                    continue
                row.error = error
                if item.kind != MessageKind.DM:
                    row.attempts += 1  # a DM counted its attempt when it was marked "sending"
                if status == "retry" and row.attempts >= MAX_SEND_ATTEMPTS:
                    status = Send.FAILED
                if status == "retry":
                    # still "sending": the next attempt first checks whether this one got through
                    row.next_attempt_at = now + timedelta(seconds=min(600, 5 * 2**row.attempts))
                else:
                    row.status = OUTBOX.move(row.status, Send(status))
                    row.x_id = x_id
                    row.sent_at = (sent_at or now) if status == Send.SENT else None
                final.append((item, status, error))
                if status == Send.SENT:
                    sent.append(row)
            # after every row is set, so their updates go out together
            self.service.confirmations_sent(s, sent)
            for row in sent:  # a DM's links work once and for minutes; the store keeps none once it is sent
                if row.kind == MessageKind.DM:
                    row.text = without_links(row.text)
            s.commit()
        for item, status, error in final:
            if status == Send.FAILED:
                log.warning("could not send %s %s: %s", item.kind, item.id, error)
                if item.kind == MessageKind.DM:
                    self.service.dm_undeliverable(item)
                else:
                    self.service.reply_undeliverable(item)
        return sum(status == Send.SENT for _, status, _ in final)

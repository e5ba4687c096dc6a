"""The worker: the jobs that poll X, move time-driven transfers, and send the outbox.

`Worker` holds the jobs; `run_until_idle` drives them by hand (tests, demo,
simulate) and `run_scheduler` runs them on an APScheduler BackgroundScheduler in
UTC, one at a time, until SIGTERM or SIGINT.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bot.app.inputs import DmPage, Expire, LapseApprovals, MentionPage, ReadEvents, Resume, ReturnDue
from bot.domain.marks import DmCursor, Mark, MentionCursor
from bot.errors import AnswerInDoubt, XAuthError
from bot.ports import Clock, Timeline
from bot.repo.port import Store
from bot.sending import MAX_SEND_ATTEMPTS, Sender
from bot.service import Service

__all__ = ["MAX_SEND_ATTEMPTS", "Worker"]

log = logging.getLogger(__name__)


# A DM reading first reads mentions again when they were last read longer ago than this.
MENTIONS_FRESH = timedelta(seconds=5)
# An answer counts as sent before a reading of mentions only when X's time for it is this much earlier than the
# bot's for the reading: X's times are cut to the millisecond, and the two clocks may differ (`paybot doctor`
# fails beyond MAX_CLOCK_SKEW, as much); a tie proves nothing.
READ_MARGIN = timedelta(seconds=5)
NOTHING_READ = datetime.min.replace(tzinfo=UTC)


@dataclass
class Worker:
    """The jobs, and when they run: polls of X, the tick, the outbox (sent by its `Sender`), the daily
    reconciliation. Each input is handed to the service as a typed value (`bot.app.inputs`)."""

    service: Service
    timeline: Timeline
    uow: Store
    clock: Clock
    started_at: datetime
    # DM reads are scarce (15 per 15 minutes): read at full speed only while a
    # confirmation is awaited, else once per dm_idle_interval. None: always read.
    dm_idle_interval: timedelta | None = None
    _failures: dict[str, int] = field(default_factory=dict)
    _last_dm_poll: datetime | None = None
    # Several workers may run against one PostgreSQL database; only the holder
    # of the "worker" lease runs jobs, the others wait as hot standbys.
    instance: str = field(default_factory=lambda: uuid.uuid4().hex)
    lease_ttl: timedelta = timedelta(seconds=30)
    _leading: bool = False
    _jobs: dict[str, dict[str, str]] = field(default_factory=dict)  # job -> last "ok" / "error" time
    _last_heartbeat: datetime | None = None
    read_margin: timedelta = READ_MARGIN  # none on a virtual clock (`paybot simulate`): one clock, no rounding
    sender: Sender = field(init=False)  # the outbox, and X's rate-limit pauses, which the polls share

    @property
    def _mentions_read_at(self) -> datetime | None:
        """When the last mentions reading that reached X began (None: none yet since this worker started)."""
        read = self.service.mentions_read_at
        return None if read == NOTHING_READ else read

    @_mentions_read_at.setter
    def _mentions_read_at(self, at: datetime) -> None:
        self.service.mentions_read_at = at

    def __post_init__(self) -> None:
        self.sender = Sender(self.service, self.timeline, self.uow, self.clock)
        # Until this worker has read its mentions once, every answer waits (AnswerInDoubt): an edit posted
        # before it may not be read yet.
        self.service.mentions_read_at = NOTHING_READ

    @property
    def paused_until(self) -> dict[str, datetime]:
        """Until when X's rate limits pause each endpoint (the sender's, shared with the polls)."""
        return self.sender.paused_until

    def drain_outbox(self, limit: int = 100) -> int:
        """Send up to `limit` due messages (see `Sender.drain_outbox`)."""
        return self.sender.drain_outbox(limit)

    # ------------------------------------------------------------------- jobs

    def poll_mentions(self) -> int:
        """Read new mentions and handle each once. The poll overlaps the previous one."""
        if self.sender.x_paused("mentions"):
            return 0
        with self.uow() as s:
            cursor = MentionCursor.read(s.checkpoints)
        reading = self.clock.now()
        mentions = self.sender.x_call("mentions", lambda: self.timeline.mentions(self.service.bot_id, cursor.since))
        if mentions is None:
            return 0
        # Every post sent before `reading` is now read (or kept to be read again): answers sent up to then can
        # be judged against the versions they make (see `Confirming.answer`).
        self._mentions_read_at = reading - self.read_margin
        if not mentions:
            return 0
        moved = cursor.after(max((m.id for m in mentions), key=int))
        if not any(f"mention {m.id}" in self._failures for m in mentions):
            try:  # the page in one commit, with the cursor
                return self.service.handle(MentionPage(tuple(mentions), since=self.started_at, cursor=moved))
            except XAuthError:
                raise
            except Exception:  # an injected crash is a BaseException: it goes through
                log.warning(
                    "a page of %d mentions failed as a whole; handling them one by one", len(mentions), exc_info=True
                )
        handled, failed = 0, False
        fresh = self.service.unseen([m.id for m in mentions])
        for m in mentions:
            if m.id not in fresh:
                continue  # the overlap with the previous poll
            result = self._guard(f"mention {m.id}", partial(self._one, MentionPage((m,), since=self.started_at)))
            handled += bool(result)
            failed |= result is None
        if not failed:  # a failed mention keeps the window open to be read again
            if moved is not None:
                with self.uow() as s:
                    moved.write(s.checkpoints)
                    s.commit()
        return handled

    def poll_dms(self) -> int:  # noqa: C901
        """Read DM events newer than the last one seen and handle each once."""
        if self.sender.x_paused("dm_events"):
            return 0
        now = self.clock.now()
        if (
            self.dm_idle_interval is not None
            and self._last_dm_poll is not None
            and now - self._last_dm_poll < self.dm_idle_interval
            and not self.service.awaiting_answers()
        ):
            return 0
        self._last_dm_poll = now
        if self._mentions_read_at is None or now - self._mentions_read_at > MENTIONS_FRESH:
            self.poll_mentions()  # an answer is judged only once the posts sent before it are read
        with self.uow() as s:
            cursor = DmCursor.read(s.checkpoints)
        stop_at = cursor.newest
        # Until a first reading is complete, the mark is the bot's first start: everything sent since
        # then is read, however many pages it takes (a crash may have stopped the first readings).
        page = self.sender.x_call(
            "dm_events", lambda: self.timeline.dm_events(stop_at, cursor.resume, not_before=self.started_at)
        )
        if page is None:
            return 0
        # The newest id seen only becomes the stop mark once every older unread event down to the
        # previous mark has been read.
        moved = cursor.after([e.id for e in page.events], page.resume)
        mine = [
            dm
            for dm in page.events
            if not (dm.created_at < self.started_at and stop_at is None) and dm.sender_id != self.service.bot_id
        ]  # not history from before the first start, nor ours
        if not any(f"dm {dm.id}" in self._failures for dm in mine):
            try:  # the page in one commit, with the cursor
                handled = self.service.handle(DmPage(tuple(mine), cursor=moved))
            except XAuthError:
                raise
            except Exception as err:  # an injected crash is a BaseException: it goes through
                if not isinstance(err, AnswerInDoubt):
                    log.warning(
                        "a page of %d DM events failed as a whole; handling them one by one", len(mine), exc_info=True
                    )
            else:
                if not page.resume:
                    self.sender.dms_read_until = now
                return handled + (1 if page.resume else 0)
        handled, failed = 0, False
        fresh = self.service.unseen([e.id for e in page.events], dms=True) if page.events else set()
        for dm in page.events:
            if dm.created_at < self.started_at and stop_at is None:
                continue  # history from before this bot's first start
            if dm.id not in fresh or dm.sender_id == self.service.bot_id:
                continue  # already applied, or the bot's own message
            try:
                result = self._guard(f"dm {dm.id}", partial(self._one, DmPage((dm,))))
            except AnswerInDoubt as held:
                # Judged once what it waits for is settled (the mentions sent before it read, or its
                # confirmation's send found or given up): this page (oldest first, so nothing after it
                # either) is read again then; nothing expires meanwhile. The log says which wait it is.
                log.info("dm %s is held: %s; reading it again later", dm.id, held)
                return handled
            handled += bool(result)
            failed |= result is None
        if failed:
            return handled  # read the same events again next time
        with self.uow() as s:
            moved.write(s.checkpoints)
            s.commit()
        if not page.resume:
            self.sender.dms_read_until = now
        return handled + (1 if page.resume else 0)

    def tick(self) -> int:
        """Expire, resume, apply the provider's events, and close or return what is due."""
        done = 0

        def expire() -> int:
            # Nothing expires before the DMs that could have answered it are read.
            if self.sender.dms_read_until is None:
                return 0
            return self.service.handle(Expire(read_until=self.sender.dms_read_until))

        for name, job in (
            ("expire", expire),
            ("resume", partial(self.service.handle, Resume())),
            ("events", partial(self.service.handle, ReadEvents())),
            ("lapse", partial(self.service.handle, LapseApprovals())),
            ("return", partial(self.service.handle, ReturnDue())),
        ):
            result = self._guard(name, job)
            done += result if isinstance(result, int) else 0
        return done

    def reconcile(self, days: int = 7) -> int:
        """Compare the last `days` days of transfers with the provider; logs each mismatch."""
        from bot.reconcile import reconcile, record

        mismatches, resolved = reconcile(self.service, self.clock.now() - timedelta(days=days))
        record(self.uow, self.clock.now(), days, mismatches, resolved)
        log.info(
            "reconciled %d days with the provider: %d mismatches, %d resolved by lookup",
            days,
            len(mismatches),
            resolved,
        )
        return len(mismatches)

    # ---------------------------------------------------------------- drivers

    def run_until_idle(self, max_rounds: int = 50) -> None:
        """Run every job until a whole round does nothing (tests, demo, simulate)."""
        for _ in range(max_rounds):
            work = self.poll_mentions() + self.poll_dms() + self.tick() + self.drain_outbox()
            if work == 0:
                return
        log.warning("still busy after %d rounds", max_rounds)

    def run_scheduler(self, intervals: dict[str, float], stop_event: threading.Event | None = None) -> None:
        """Run the jobs on a scheduler thread until SIGTERM/SIGINT (or stop_event).

        The signal handler only notes the signal; the main thread, which does
        nothing else, then shuts the scheduler down. (Shutting it down from the
        handler deadlocked when the signal interrupted the main thread inside
        the job pool's lock.)"""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        executor = ThreadPoolExecutor(max_workers=1)
        scheduler = BackgroundScheduler(
            timezone="UTC",
            executors={"default": executor},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        )
        jobs: dict[str, Callable[[], Any]] = {
            "mentions": self.poll_mentions,
            "dms": self.poll_dms,
            "tick": self.tick,
            "outbox": self.drain_outbox,
            "reconcile": self.reconcile,
        }
        for name, job in jobs.items():
            if name not in intervals:
                continue
            # The daily reconciliation first runs a minute after the start, out of the way of the backlog.
            first = self.clock.now() + (timedelta(minutes=1) if name == "reconcile" else timedelta(0))
            scheduler.add_job(
                self._guarded_job(name, job), "interval", seconds=intervals[name], id=name, next_run_time=first
            )

        received: list[int] = []

        def stop(signum: int, _frame: Any) -> None:
            received.append(signum)  # nothing that takes a lock: see the docstring

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        log.info("worker started")
        scheduler.start()
        stop_listening = self._listen(scheduler, intervals)
        while not received and not (stop_event is not None and stop_event.is_set()):
            time.sleep(0.05)
        if received:
            log.info("received %s: stopping after the current job", signal.Signals(received[0]).name)
        if stop_listening is not None:
            stop_listening()
        scheduler.shutdown(wait=True)  # let the job under way finish before giving up the lease
        if self._leading:
            self.uow.release_lease("worker", self.instance, self.clock.now())
        log.info("worker stopped")

    def _listen(self, scheduler: Any, intervals: dict[str, float]) -> Callable[[], None] | None:
        """When the timeline pushes events (Mastodon's user stream: a `listen(on_event)` method), each one
        runs the mentions and DM readings at once, and the outbox just after; the intervals stay, for what a
        dropped stream missed. Returns what stops the listening, or None (X: polling only)."""
        listen = getattr(self.timeline, "listen", None)
        if not callable(listen):
            return None

        def wake() -> None:
            now = self.clock.now()
            for name, delay in (("mentions", 0.0), ("dms", 0.0), ("outbox", 0.5)):
                if name in intervals:
                    try:
                        scheduler.modify_job(name, next_run_time=now + timedelta(seconds=delay))
                    except Exception:  # the scheduler is shutting down
                        log.debug("could not wake the %s job", name)

        stop: Callable[[], None] = listen(wake)
        return stop

    # ---------------------------------------------------------------- helpers

    def _one(self, page: MentionPage | DmPage) -> bool:
        """Hand the service a page of one mention or DM; whether it was new."""
        return self.service.handle(page) == 1

    def lead(self) -> bool:
        """Take or renew the worker lease; logs when leadership changes hands."""
        try:
            leading = self.uow.take_lease("worker", self.instance, self.clock.now(), self.lease_ttl)
        except Exception:
            log.exception("could not reach the store to renew the worker lease")
            leading = False
        if leading != self._leading:
            log.info("this worker %s the leader", "is now" if leading else "is no longer")
            self._leading = leading
        return leading

    def heartbeat(self, *, every: timedelta = timedelta(seconds=10)) -> None:
        """Write, at most once per `every`, what `paybot status` shows from another process."""
        now = self.clock.now()
        if self._last_heartbeat and now - self._last_heartbeat < every:
            return
        self._last_heartbeat = now
        limits = getattr(self.timeline, "limits", {})
        meter = getattr(self.timeline, "meter", None)
        data = {
            "at": now.isoformat(),
            "instance": self.instance,
            "leading": self._leading,
            "jobs": self._jobs,
            "x_limits": {k: {"limit": v[0], "remaining": v[1], "reset": v[2].isoformat()} for k, v in limits.items()},
            "x_paused": {k: v.isoformat() for k, v in self.paused_until.items() if v > now},
            "x_usage": meter.summary() if meter else None,
            "provider_errors_last_hour": sum(now - t < timedelta(hours=1) for t in self.service.provider_errors),
        }
        with self.uow() as s:
            s.checkpoints.set(Mark.HEARTBEAT, json.dumps(data))
            s.commit()

    def _guarded_job(self, name: str, job: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            if self.lead():
                result = self._guard(f"job {name}", job)
                self._jobs.setdefault(name, {})["ok" if result is not None else "error"] = self.clock.now().isoformat()
                self._guard("heartbeat", self.heartbeat)

        run.__name__ = name
        return run

    def _guard(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run fn; log an exception instead of letting it stop the loop.

        A mention or DM that fails three times is set aside (logged) so one bad
        input cannot block the ones behind it."""
        try:
            return fn()
        except AnswerInDoubt:
            raise  # not a failure: the caller reads it again later
        except XAuthError:
            log.error("%s: X refused the credentials; fix the X_* settings", what)
        except Exception:
            count = self._failures.get(what, 0) + 1
            self._failures[what] = count
            log.exception("%s failed (attempt %d)", what, count)
            if count >= 3 and what.startswith(("mention ", "dm ")):
                self.service.set_aside(what)
        return None

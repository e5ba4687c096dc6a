"""A day on X (or Mastodon) in a few seconds: the real worker on virtual time against a simulator.

`VirtualDay` builds the bot as `paybot run` would (real tweepy over loopback,
a SQLite file, the sandbox), runs its four jobs at their configured intervals
on a virtual clock, and plays people: senders post commands on a schedule and
answer "yes" a few seconds after their confirmation DM arrives.

With `timeline="mastodon"` the bot is the Mastodon adapter (Mastodon.py over
loopback to the Mastodon simulator, its 300 requests per 5 minutes enforced),
and with `stream=True` it follows the real user stream as `paybot run` does:
each notification the stream delivers runs the mentions and DM readings at
once and the outbox half a second later (bot/worker.py `_listen`), on the
virtual clock. The stream's own delivery takes no virtual time.

X's prices and the billing rules are in bot/x/pricing.py.
"""

from __future__ import annotations

import heapq
import itertools
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast

from sqlmodel import col, select

from bot.bootstrap import Bot
from bot.domain.entities import Transfer
from bot.ports import FakeClock
from bot.providers.sandbox import SandboxProvider
from bot.repo.sql import SqlStore
from bot.sims.mastodon import RATE_LIMIT, SIM_TOKEN
from bot.sims.mastodon_world import MastodonWorld
from bot.sims.runner import ScenarioSettings, build_on_sim
from bot.sims.x import (
    SIM_ACCESS_TOKEN,
    SIM_ACCESS_TOKEN_SECRET,
    SIM_CONSUMER_KEY,
    SIM_CONSUMER_SECRET,
    XSim,
)

START = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
STREAM_WAIT = 5.0  # seconds (real) the stream has to deliver a notification before the polls are left to read it
OUTBOX_AFTER_WAKE = timedelta(seconds=0.5)  # bot/worker.py `_listen`: the outbox runs this long after a wake


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    action: Callable[[], object] = field(compare=False)


class VirtualDay:
    """The bot, the simulator and the people, on one virtual clock."""

    def __init__(
        self,
        *,
        limits: dict[str, int],
        n_people: int = 200,
        settings: dict[str, Any] | None = None,
        think: timedelta = timedelta(seconds=20),
        seed: int = 0,
        timeline: str = "x",
        stream: bool = False,
    ) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="paybot-bench-")
        work = Path(self.tmp.name)
        self.clock = FakeClock(START)
        self.timeline = timeline
        self.sim: XSim | MastodonWorld = (
            MastodonWorld(self.clock, rate_limit=RATE_LIMIT)
            if timeline == "mastodon"
            else XSim(self.clock, limits=limits)
        )
        self.base = self.sim.start()
        self.sandbox = SandboxProvider(work / "sandbox.db")
        self.rng = random.Random(seed)
        self.think = think
        self.senders = [f"s{i}" for i in range(n_people)]
        self.recipients = [f"r{i}" for i in range(n_people)]
        for h in self.senders:
            self.sandbox.set_card(self.sim.add_user(h), "ok")
        for h in self.recipients:
            self.sandbox.set_payouts(self.sim.add_user(h), True)
        chosen: dict[str, Any] = dict(
            paybot_db_path=str(work / "paybot.db"),
            sandbox_db_path=str(work / "sandbox.db"),
            x_consumer_key=SIM_CONSUMER_KEY,
            x_consumer_secret=SIM_CONSUMER_SECRET,
            x_access_token=SIM_ACCESS_TOKEN,
            x_access_token_secret=SIM_ACCESS_TOKEN_SECRET,
            x_api_base=self.base,
        )
        if timeline == "mastodon":
            chosen.update(
                paybot_timeline="mastodon",
                mastodon_base_url=self.base,
                mastodon_access_token=SIM_TOKEN,
                x_api_base=None,
            )
        self.settings = ScenarioSettings(**chosen, **(settings or {}))
        self.bot = self._build()
        w = self.bot.worker
        s = self.settings
        self.jobs: list[tuple[str, Callable[[], Any], timedelta]] = [
            ("mentions", w.poll_mentions, timedelta(seconds=s.paybot_mentions_interval)),
            ("dms", w.poll_dms, timedelta(seconds=s.paybot_dms_interval)),
            ("tick", w.tick, timedelta(seconds=s.paybot_tick_interval)),
            ("outbox", w.drain_outbox, timedelta(seconds=s.paybot_outbox_interval)),
        ]
        self.queue: list[_Event] = []
        self.seq = itertools.count()
        self.posted: dict[str, datetime] = {}  # post id -> time
        self.yes_at: dict[str, list[datetime]] = {}  # sender id -> times they said yes
        self._dms_seen = 0
        self._asked: set[str] = set()  # the bot's confirmations already answered (Mastodon: status ids)
        self.due: dict[str, datetime] = {}
        self.woken = 0  # notifications the user stream delivered
        self._handled = 0  # of which the worker was woken for
        self.stream_missed = 0  # notifications it had not delivered within STREAM_WAIT (polling read them)
        self._wakes = threading.Condition()
        self._stop_stream = self._follow_stream() if stream else None

    def _build(self) -> Bot:
        return build_on_sim(self.settings, self.clock, self.sandbox, self.rng)

    def _follow_stream(self) -> Any:
        """Open the adapter's user stream (`listen`, as `paybot run` does) and wait until it is connected."""

        def woken() -> None:
            with self._wakes:
                self.woken += 1
                self._wakes.notify_all()

        sim = self.sim
        assert isinstance(sim, MastodonWorld)
        stop = self.bot.worker.timeline.listen(woken)  # type: ignore[attr-defined]
        opening = time.monotonic()
        while sim.streams < 1 and time.monotonic() - opening < STREAM_WAIT:
            time.sleep(0.01)
        self._opened_at = self._to_bot()  # the stream reports what comes after it opened
        return stop

    def _to_bot(self) -> int:
        """How many notifications the bot's account has had."""
        assert isinstance(self.sim, MastodonWorld)
        with self.sim.lock:
            return sum(1 for n in self.sim.notifications if n["to"] == self.sim.bot_id)

    def _stream_woke(self) -> bool:
        """Wait (real time, at most STREAM_WAIT) for the stream to deliver what people just did; whether it woke
        the worker. What it did not deliver in time is left to the polls (and counted in `stream_missed`)."""
        if self._stop_stream is None:
            return False
        expected = self._to_bot() - self._opened_at
        if expected <= self._handled:
            return False
        with self._wakes:
            if not self._wakes.wait_for(lambda: self.woken >= expected, timeout=STREAM_WAIT):
                self.stream_missed += 1
            woke, self._handled = self.woken > self._handled, self.woken
        return woke

    def close(self) -> None:
        if self._stop_stream is not None:
            self._stop_stream()
        self.bot.close()
        self.sandbox.close()
        self.sim.stop()
        self.tmp.cleanup()

    # -------------------------------------------------------------- people

    def at(self, when: datetime, action: Callable[[], object]) -> None:
        heapq.heappush(self.queue, _Event(when, next(self.seq), action))

    def post_payment(self, sender: str, recipient: str, amount: str = "5") -> None:
        post = self.sim.tweet(sender, f"@paybot send {amount} to @{recipient}")
        self.posted[post["id"]] = self.clock.now()

    def _answer_new_dms(self) -> None:
        """Each sender answers YES `think` after a confirmation DM reaches them."""
        for _, sender, _ in self._confirmations(fresh=True):
            handle = self.sim.handle(sender)
            self.at(self.clock.now() + self.think, partial(self._yes, handle, sender))

    def _confirmations(self, *, fresh: bool = False) -> list[tuple[str, str, datetime]]:
        """The bot's confirmations (id, to whom, when), oldest first: X's DMs, or Mastodon's direct statuses;
        `fresh`: only those not seen by an earlier call with `fresh`."""
        out = []
        if isinstance(self.sim, MastodonWorld):
            with self.sim.lock:
                statuses = list(itertools.islice(self.sim.statuses.values(), self._dms_seen if fresh else 0, None))
            for st in statuses:
                if st["account_id"] == self.sim.bot_id and st["visibility"] == "direct" and "Reply YES" in st["text"]:
                    out.append((str(st["id"]), str(st["mentions"][0]), st["created_at"]))
            seen = len(statuses)
        else:
            events = self.sim.dms[self._dms_seen if fresh else 0 :]
            for e in events:
                if e["sender_id"] == self.sim.bot_id and "Reply YES" in e["text"]:
                    to = next(p for p in e["participant_ids"] if p != self.sim.bot_id)
                    out.append((str(e["id"]), str(to), _parse(e["created_at"])))
            seen = len(events)
        if fresh:
            self._dms_seen += seen
        return out

    def _yes(self, handle: str, user_id: str) -> None:
        self.sim.dm(handle, "yes")
        self.yes_at.setdefault(user_id, []).append(self.clock.now())

    # ---------------------------------------------------------------- time

    def run_until(self, end: datetime) -> None:
        """Run jobs at their intervals and people's actions at their times, up to `end`."""
        due = {name: self.clock.now() for name, _, _ in self.jobs}
        while True:
            next_job = min(due.values())
            next_event = self.queue[0].at if self.queue else None
            now = min(next_job, next_event) if next_event else next_job
            if now > end:
                break
            self.clock.set(now)
            while self.queue and self.queue[0].at <= now:
                heapq.heappop(self.queue).action()
            if self._stream_woke():  # as bot/worker.py `_listen` reschedules the jobs
                due["mentions"] = due["dms"] = now
                due["outbox"] = now + OUTBOX_AFTER_WAKE
            for name, job, every in self.jobs:
                if due[name] <= now:
                    job()
                    due[name] = now + every
            self._answer_new_dms()
        self.clock.set(end)

    # ------------------------------------------------------------- figures

    def transfers(self) -> list[Transfer]:
        with cast(SqlStore, self.bot.service.uow)() as s:
            return list(s.exec(select(Transfer).order_by(col(Transfer.id))))

    def latencies(self) -> tuple[list[float], list[float]]:
        """Seconds from post to confirmation DM, and from "yes" to completion, per completed transfer."""
        dm_time: dict[str, list[datetime]] = {}
        for _, to, at in self._confirmations():
            dm_time.setdefault(to, []).append(at)
        to_confirm, to_execute = [], []
        for t in self.transfers():
            posted = self.posted.get(t.root_tweet_id)
            sent = [d for d in dm_time.get(t.sender_id, []) if posted and d >= posted]
            if posted and sent:
                to_confirm.append((min(sent) - posted).total_seconds())
            yes = [y for y in self.yes_at.get(t.sender_id, []) if t.created_at <= y <= t.updated_at]
            if t.status == "completed" and yes:
                to_execute.append((t.updated_at - max(yes)).total_seconds())
        return to_confirm, to_execute


def _parse(raw: str) -> datetime:
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]

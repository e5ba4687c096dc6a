"""A day on X in a few seconds: the real worker on virtual time against the X simulator.

`VirtualDay` builds the bot as `paybot run` would (real tweepy over loopback,
a SQLite file, the sandbox), runs its four jobs at their configured intervals
on a virtual clock, and plays people: senders post commands on a schedule and
answer "yes" a few seconds after their confirmation DM arrives.

X's prices and the billing rules are in bot/x/pricing.py.
"""

from __future__ import annotations

import heapq
import itertools
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast

from sqlmodel import col, select

from bot.bootstrap import Bot
from bot.ports import FakeClock
from bot.providers.sandbox import SandboxProvider
from bot.repo.sql import SqlStore
from bot.sims.runner import ScenarioSettings, build_on_sim
from bot.sims.x import (
    SIM_ACCESS_TOKEN,
    SIM_ACCESS_TOKEN_SECRET,
    SIM_CONSUMER_KEY,
    SIM_CONSUMER_SECRET,
    XSim,
)
from bot.store import Transfer

START = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    action: Callable[[], object] = field(compare=False)


class VirtualDay:
    """The bot, the simulator and the people, on one virtual clock."""

    def __init__(self, *, limits: dict[str, int], n_people: int = 200, settings: dict[str, Any] | None = None,
                 think: timedelta = timedelta(seconds=20), seed: int = 0) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="paybot-bench-")
        work = Path(self.tmp.name)
        self.clock = FakeClock(START)
        self.sim = XSim(self.clock, limits=limits)
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
        self.settings = ScenarioSettings(
            paybot_db_path=str(work / "paybot.db"), sandbox_db_path=str(work / "sandbox.db"),
            x_consumer_key=SIM_CONSUMER_KEY, x_consumer_secret=SIM_CONSUMER_SECRET, x_access_token=SIM_ACCESS_TOKEN,
            x_access_token_secret=SIM_ACCESS_TOKEN_SECRET, x_api_base=self.base, **(settings or {}),
        )
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

    def _build(self) -> Bot:
        return build_on_sim(self.settings, self.clock, self.sandbox, self.rng)

    def close(self) -> None:
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
        fresh, self._dms_seen = self.sim.dms[self._dms_seen:], len(self.sim.dms)
        for e in fresh:
            if e["sender_id"] != self.sim.bot_id or "Reply YES" not in e["text"]:
                continue
            sender = next(p for p in e["participant_ids"] if p != self.sim.bot_id)
            handle = self.sim.handle(sender)
            self.at(self.clock.now() + self.think, partial(self._yes, handle, sender))

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
        for e in self.sim.dms:
            if e["sender_id"] == self.sim.bot_id and "Reply YES" in e["text"]:
                to = next(p for p in e["participant_ids"] if p != self.sim.bot_id)
                dm_time.setdefault(to, []).append(_parse(e["created_at"]))
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

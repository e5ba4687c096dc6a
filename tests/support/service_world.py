"""The use cases' world on fakes: a fake provider, a fake clock, the store on a file or in memory (World), and a test's
view of a whole table (rows)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from sqlmodel import col, select

from bot.domain import Policy, Send
from bot.domain.entities import Outbox, Transfer
from bot.ports import FakeClock
from bot.repo.engine import database_url, make_engine
from bot.repo.memory import MemoryStore
from bot.repo.port import Store
from bot.repo.sql import SqlStore
from bot.service import Service
from tests.support.fakes import FakeProvider, Posts

FAR = timedelta(days=3650)


R = TypeVar("R")


def rows(store: Store, model: type[R]) -> list[R]:
    """Every row of a table, by id (a test's view of the whole store, which the port does not offer)."""
    if isinstance(store, MemoryStore):
        return [model(**r) for _, r in sorted(store.tables[model].items())]
    assert isinstance(store, SqlStore)
    with store() as s:
        # (every table here has an id; R cannot say so)
        return list(s.session.exec(select(model).order_by(col(model.id))))  # type: ignore[attr-defined]


class World:
    def __init__(self, tmp: Path, kind: str = "sqlite") -> None:
        self.clock = FakeClock()
        self.provider = FakeProvider(cards={"10": "ok", "13": "declined"}, payouts={"11"})
        self.uow: Store = MemoryStore() if kind == "memory" else SqlStore(make_engine(database_url(None, tmp / "x.db")))
        codes = iter(["AAAA", "BBBB", "CCCC", "DDDD", "EEEE", "FFFF", "GGGG"])
        self.svc = Service(
            uow=self.uow,
            provider=self.provider,
            clock=self.clock,
            policy=Policy(),
            bot_id="1",
            bot_handle="paybot",
            new_code=lambda: next(codes),
        )
        self.posts = Posts(self.clock, before_dm=self.deliver)

    def transfers(self) -> list[Transfer]:
        return rows(self.uow, Transfer)

    def statuses(self) -> list[str]:
        return [t.status for t in self.transfers()]

    def deliver(self) -> None:
        """Mark every queued message as sent now, as the worker's outbox job would (a confirmation
        then counts as asked). Runs before each DM a test makes: people answer what reached them."""
        with self.uow() as s:
            for row in s.outbox.due(self.clock.now() + FAR, 10_000):
                if row.status != Send.QUEUED:
                    continue
                # X gives each message an id that grows with time, as it gives the people's DMs.
                row.status, row.sent_at, row.x_id = Send.SENT, self.clock.now(), self.posts._id()
                self.svc.confirmation_sent(s, row)
            s.commit()

    def outbox(self) -> list[tuple[str, str]]:
        return [(r.to_user_id or f"reply:{r.in_reply_to}", r.text) for r in rows(self.uow, Outbox)]

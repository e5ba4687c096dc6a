"""End to end with the scenario runner's pieces, for what a scenario file cannot say."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from sqlmodel import select

from bot.domain.entities import Checkpoint, Outbox, Transfer
from bot.repo.sql import SqlStore
from bot.sims.runner import Run


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    r = Run({"users": {"bob": {"card": "ok"}, "alice": {"payouts": True}, "carol": {}}}, tmp_path)
    yield r
    r.close()


def transfers(run: Run) -> list[Transfer]:
    with cast(SqlStore, run.bot.service.uow)() as s:
        return list(s.exec(select(Transfer)))


def test_dm_events_read_again_are_applied_once(run: Run) -> None:
    """If the DM checkpoint is lost, every event comes back, and none is applied twice."""
    run.step({"tweet": "@paybot send 5 to @alice", "by": "bob", "id": "t1"})
    run.step({"dm": "yes", "by": "bob"})
    with cast(SqlStore, run.bot.service.uow)() as s:
        s.session.delete(s.get(Checkpoint, "dm_newest"))
        s.commit()
    sent_before = len(run.sim.bot_messages())
    run.bot.worker.run_until_idle()
    assert len(run.sandbox.payments()) == 1
    assert len(run.sim.bot_messages()) == sent_before


def test_a_sender_who_refuses_dms_is_told_in_public(run: Run) -> None:
    """When X refuses the confirmation DM, the request is cancelled and the reply says why."""
    run.sim.add_user("shy", accepts_dms=False)
    run.sandbox.set_card(run.sim.user_id("shy"), "ok")
    run.step({"tweet": "@paybot send 5 to @alice", "by": "shy", "id": "t1"})
    [t] = transfers(run)
    assert t.status == "cancelled"
    [reply] = run.sim.bot_messages()
    assert reply["type"] == "reply" and "couldn't send you the confirmation by DM" in reply["text"]


def test_x_failures_while_sending_are_retried(run: Run) -> None:
    """A 503 on the DM send leaves it queued; it goes out on a later run, once."""
    run.sim.inject("dm_post", 503, times=1)
    run.step({"tweet": "@paybot send 5 to @alice", "by": "bob", "id": "t1"})
    assert run.sim.bot_messages() == []
    run._wait("1m")
    run.bot.worker.run_until_idle()
    assert [m["type"] for m in run.sim.bot_messages()] == ["dm"]


def test_a_rate_limited_outbox_waits_for_the_reset(run: Run) -> None:
    """A 429 on sending pauses that endpoint; the message is sent after the reset, not lost."""
    run.sim.inject("dm_post", 429, times=1)
    run.step({"tweet": "@paybot send 5 to @alice", "by": "bob", "id": "t1"})
    with cast(SqlStore, run.bot.service.uow)() as s:
        [queued] = s.exec(select(Outbox)).all()
    assert queued.status == "queued"
    run._wait("16m")
    run.bot.worker.run_until_idle()
    with cast(SqlStore, run.bot.service.uow)() as s:
        assert [o.status for o in s.exec(select(Outbox))] == ["sent"]


def test_a_job_error_does_not_stop_the_worker(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected exception in one mention is logged; the loop goes on and later ones work."""
    calls: list[Any] = []
    real = run.bot.service.asking._handle_mention

    def flaky(s: Any, m: Any, cards: Any) -> None:
        calls.append(m.id)
        if "boom" in m.text:
            raise RuntimeError("boom")
        real(s, m, cards)

    monkeypatch.setattr(run.bot.service.asking, "_handle_mention", flaky)
    run.step({"tweet": "@paybot send boom to @alice", "by": "bob", "id": "bad"})
    run.step({"tweet": "@paybot send 5 to @alice", "by": "bob", "id": "t1"})
    run.bot.worker.run_until_idle()
    assert [t.status for t in transfers(run)] == ["pending"]
    # the bad mention failed its page, then was tried three times on its own, then set aside
    assert calls.count(run.aliases["bad"]) == 4


def test_dm_reads_slow_down_when_nobody_owes_an_answer(run: Run) -> None:
    """With nothing pending, DMs are read once per idle interval; with a confirmation pending, every time."""
    from datetime import timedelta

    worker = run.bot.worker
    worker.dm_idle_interval = timedelta(minutes=5)
    reads = lambda: sum(e["endpoint"] == "dm_events" for e in run.sim.log)  # noqa: E731
    worker.poll_dms()
    before = reads()
    for _ in range(5):
        worker.poll_dms()
    assert reads() == before
    run._wait("5m")
    worker.poll_dms()
    assert reads() == before + 1
    run.sim.tweet("bob", "@paybot send 5 to @alice")
    worker.poll_mentions()
    for _ in range(3):
        worker.poll_dms()
    assert reads() == before + 4


def test_the_time_to_answer_runs_from_when_the_dm_was_sent(run: Run) -> None:
    """A confirmation held back by X's DM limit still gives its reader the full 10 minutes."""
    run.sim.inject("dm_post", 429, times=1)
    run.step({"tweet": "@paybot send 5 to @alice", "by": "bob", "id": "t1"})
    run._wait("16m")  # the DM goes out now, 16 minutes after the post
    run.bot.worker.run_until_idle()
    assert [m["type"] for m in run.sim.bot_messages()] == ["dm"]
    run._wait("9m")
    run.step({"dm": "yes", "by": "bob"})
    assert [t.status for t in transfers(run)] == ["completed"]


@pytest.mark.parametrize("point", ["before_send", "after_send"])
def test_a_crash_around_a_dm_send_sends_it_exactly_once(run: Run, monkeypatch: pytest.MonkeyPatch, point: str) -> None:
    """Crashed before the DM left, it is sent on the next run; crashed between X accepting it and the
    outbox saying so, the worker finds it among its sent DMs and does not send it again."""
    from bot.faults import InjectedFault

    monkeypatch.setenv("PAYBOT_FAULT", point)
    monkeypatch.setenv("PAYBOT_FAULT_MODE", "raise")
    run.sim.tweet("bob", "@paybot send 5 to @alice")
    run.bot.worker.poll_mentions()
    with pytest.raises(InjectedFault):
        run.bot.worker.drain_outbox()
    monkeypatch.delenv("PAYBOT_FAULT")
    run.bot.worker.drain_outbox()
    assert [m["type"] for m in run.sim.bot_messages()] == ["dm"]
    with cast(SqlStore, run.bot.service.uow)() as s:
        assert [o.status for o in s.exec(select(Outbox))] == ["sent"]


def test_a_yes_behind_a_long_backlog_before_the_first_dm_reading_is_not_lost(run: Run) -> None:
    """Until one DM reading has completed (a crash may stop the first ones), the mark is the bot's
    first start: a "yes" behind more DMs than one reading takes is still read, not taken for history."""
    worker = run.bot.worker
    with cast(SqlStore, run.bot.service.uow)() as s:
        assert s.get(Checkpoint, "dm_newest") is None  # no DM read yet
    run.sim.tweet("bob", "@paybot send 5 to @alice")
    worker.poll_mentions()
    worker.drain_outbox()  # the confirmation goes out; no DM is read yet
    run.sim.dm("bob", "yes")
    for i in range(70):  # more than the three pages of twenty a first reading used to stop at
        run.user(f"fan{i}")
        run.sim.dm(f"fan{i}", "hello")
    worker.run_until_idle()
    assert [t.status for t in transfers(run)] == ["completed"]
    with cast(SqlStore, run.bot.service.uow)() as s:
        assert s.get(Checkpoint, "dm_newest") is not None


def test_a_command_in_the_same_millisecond_as_the_first_start_is_not_history(tmp_path: Path) -> None:
    """X stamps posts to the millisecond; the bot's first start is recorded at that precision too,
    so a command posted right as the bot starts is acted on, not taken for history."""
    r = Run(
        {"users": {"bob": {"card": "ok"}, "alice": {"payouts": True}}, "start": "2026-11-28T12:08:33.973941+00:00"},
        tmp_path,
    )
    try:
        r.step({"tweet": "@paybot send 5 to @alice", "by": "bob"})
        assert [t["status"] for t in r.outcome()["transfers"]] == ["pending"]
    finally:
        r.close()

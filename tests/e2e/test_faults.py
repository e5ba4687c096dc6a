"""X misbehaving: 500s, 503s, timeouts, 429s and usage caps on every endpoint the bot uses.

The simulator enforces pay-per-use rate limits and counts every request made
past a limit (`violations`): the bot must recover from each fault, finish
every payment with each message sent once, and never make such a request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import cast

import pytest
from sqlmodel import select

from bot.domain.entities import Transfer
from bot.repo.sql import SqlStore
from bot.sims.runner import Run
from bot.sims.x import TIMEOUT, XSim

FAULTS = [
    ("mentions", 500),
    ("mentions", 503),
    ("mentions", TIMEOUT),
    ("mentions", 429),
    ("mentions", 4290),
    ("dm_events", 500),
    ("dm_events", 503),
    ("dm_events", TIMEOUT),
    ("dm_events", 429),
    ("dm_events", 4290),
    ("dm_post", 500),
    ("dm_post", 503),
    ("dm_post", TIMEOUT),
    ("dm_post", 429),
    ("dm_post", 4290),
    ("tweets_post", 500),
    ("tweets_post", 503),
    ("tweets_post", TIMEOUT),
    ("tweets_post", 429),
    ("tweets_post", 4290),
]


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    scenario = {
        "limits": "pay_per_use",
        "settings": {"x_timeout": 0.3},
        "users": {"bob": {"card": "ok"}, "alice": {"payouts": True}},
    }
    r = Run(scenario, tmp_path)
    assert isinstance(r.sim, XSim)  # the run is on X
    r.sim.timeout_delay = 0.6
    yield r
    r.close()


@pytest.mark.parametrize(("endpoint", "status"), FAULTS, ids=[f"{e}-{s or 'timeout'}" for e, s in FAULTS])
def test_the_bot_recovers_from_each_fault(run: Run, endpoint: str, status: int) -> None:
    """Whatever X answers wrongly, and twice in a row, the payment completes once, each message goes once."""
    run.sim.inject(endpoint, status, times=2)
    run.step({"tweet": "@paybot send 5 to @alice", "by": "bob", "id": "t1"})
    for _ in range(6):  # time passes: retries back off, rate limits reset, a usage cap's pause ends
        if any(m["type"] == "dm" for m in run.sim.bot_messages()):
            break
        run._wait("31m")
        run.bot.worker.run_until_idle()
    run.step({"dm": "yes", "by": "bob"})
    for _ in range(6):
        run._wait("31m")
        run.bot.worker.run_until_idle()
    with cast(SqlStore, run.bot.service.uow)() as s:
        assert [t.status for t in s.exec(select(Transfer))] == ["completed"]
    said = Counter(m["type"] for m in run.sim.bot_messages())
    assert said == {"dm": 1, "reply": 1}
    assert len(run.sandbox.payments()) == 1
    assert isinstance(run.sim, XSim)  # the run is on X
    assert run.sim.violations == 0
    assert (
        any(e["endpoint"] == endpoint and e["status"] != 200 and e["status"] != 201 for e in run.sim.log)
        or status == TIMEOUT
    )


def test_a_sustained_burst_stays_inside_every_limit() -> None:
    """Forty payments at once under pay-per-use limits, the worker on its real schedule (virtual time):
    all complete, and not one request goes over a limit."""
    from datetime import timedelta

    from bench.harness import START, VirtualDay
    from bot.sims.x import PAY_PER_USE

    day = VirtualDay(limits=PAY_PER_USE, n_people=40)
    try:
        for i in range(40):
            day.at(START + timedelta(seconds=1), partial(day.post_payment, day.senders[i], day.recipients[i]))
        day.run_until(START + timedelta(hours=2))
        assert Counter(t.status for t in day.transfers()) == {"completed": 40}
        assert isinstance(day.sim, XSim)
        assert day.sim.violations == 0
        assert sum(e["status"] == 429 for e in day.sim.log) == 0
    finally:
        day.close()

"""A worker as a process against the X simulator: the simulator (the fixture sim, with bob and alice), a started
worker (start), a payment whose worker is killed after the charge, and waiting for a condition."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import create_engine, text

from bot.sims.x import UNLIMITED, XSim
from tests.support.workers import spawn_worker, stop


@pytest.fixture
def sim() -> Iterator[XSim]:
    s = XSim(limits=UNLIMITED)
    s.base = s.start()
    s.add_user("bob")
    s.add_user("alice")
    yield s
    s.stop()


def wait_for(cond: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def start(
    sim: XSim, tmp: Path, *, log_name: str = "worker.log", leader: bool = True, **extra: str
) -> subprocess.Popen[bytes]:
    settings = {
        "PAYBOT_MENTIONS_INTERVAL": "0.2",
        "PAYBOT_DMS_INTERVAL": "0.2",
        "PAYBOT_TICK_INTERVAL": "0.5",
        "PAYBOT_OUTBOX_INTERVAL": "0.2",
        # a worker killed with SIGKILL keeps its lease until it lapses
        "PAYBOT_LEASE_TTL": "2",
        # The simulator keeps X's time by this machine's clock: no skew to allow for, so an answer is judged at the
        # next reading of mentions, not held the default 5 s (test_run_confirm_and_stop_on_sigterm keeps the default).
        "PAYBOT_ANSWER_MARGIN": "0s",
    } | extra
    polls = len([e for e in sim.log if e["endpoint"] == "mentions"])
    log = tmp / log_name
    proc = spawn_worker(sim, tmp, settings, log_name)
    if leader:
        wait_for(lambda: len([e for e in sim.log if e["endpoint"] == "mentions"]) > polls or proc.poll() is not None)
    else:
        wait_for(lambda: "worker started" in log.read_text() or proc.poll() is not None)
    assert proc.poll() is None, log.read_text()
    return proc


def statuses(tmp: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{tmp / 'paybot.db'}")
    with engine.connect() as conn:
        rows = [r[0] for r in conn.execute(text("SELECT status FROM transfer ORDER BY id"))]
    engine.dispose()
    return rows


def pay_killed_after_the_charge(sim: XSim, tmp: Path, **env: str) -> dict[str, Any]:
    """@bob sends @alice 5 and says yes; the worker dies (SIGKILL) right after the provider charged."""
    proc = start(sim, tmp, PAYBOT_FAULT="after_pay", **cast(dict[str, Any], env))
    try:
        post = sim.tweet("bob", "@paybot send 5 to @alice")
        wait_for(lambda: any(m["type"] == "dm" for m in sim.bot_messages()))
        sim.dm("bob", "yes")
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        stop(proc)
    return post


def restart_until_replied(sim: XSim, tmp: Path, post: dict[str, Any], **env: str) -> None:
    """A new worker runs until the post has its public reply."""
    proc = start(sim, tmp, **cast(dict[str, Any], env))
    try:
        wait_for(lambda: any(m["in_reply_to"] == post["id"] for m in sim.bot_messages() if m["type"] == "reply"))
    finally:
        stop(proc)

"""`paybot run` as a real process against the X simulator: it works, stops on SIGTERM,
and a SIGKILL between the charge and the commit loses nothing and charges once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

import pytest

from bot.providers.sandbox import SandboxProvider
from bot.sims.x import (
    SIM_ACCESS_TOKEN,
    SIM_ACCESS_TOKEN_SECRET,
    SIM_CONSUMER_KEY,
    SIM_CONSUMER_SECRET,
    XSim,
)
from tests.support.worker_kit import pay_killed_after_the_charge, restart_until_replied, start, statuses, wait_for
from tests.support.worker_kit import sim as sim  # a fixture (re-exported, so it is not unused)
from tests.support.workers import spawn_worker, stop

pytestmark = [pytest.mark.process, pytest.mark.slow]


def test_run_confirm_and_stop_on_sigterm(sim: XSim, tmp_path: Path) -> None:
    """The worker takes a command to completion (its answer held the default margin of 5 s before it is judged),
    then exits cleanly well inside 30 s of SIGTERM."""
    sandbox = SandboxProvider(tmp_path / "sandbox.db")
    sandbox.set_card(sim.user_id("bob"), "ok")
    sandbox.set_payouts(sim.user_id("alice"), True)
    proc = start(sim, tmp_path, PAYBOT_ANSWER_MARGIN="5s")
    try:
        post = sim.tweet("bob", "@paybot send 5 to @alice")
        wait_for(lambda: any(m["type"] == "dm" for m in sim.bot_messages()))
        sim.dm("bob", "yes")
        wait_for(lambda: any(m["in_reply_to"] == post["id"] for m in sim.bot_messages() if m["type"] == "reply"))
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - began < 10
    finally:
        stop(proc)
    assert statuses(tmp_path) == ["completed"]
    assert len(sandbox.payments()) == 1
    log = (tmp_path / "worker.log").read_text()
    assert "worker stopped" in log and SIM_ACCESS_TOKEN not in log
    assert SIM_CONSUMER_SECRET not in log and SIM_ACCESS_TOKEN_SECRET not in log
    # the yes, sent within the margin of the last reading of mentions, was held, and the log says for what
    assert "waits for the mentions sent before it to be read; reading it again later" in log
    assert "confirmation's send" not in log


def test_sigterm_at_the_very_start_stops_cleanly(sim: XSim, tmp_path: Path) -> None:
    """A SIGTERM that lands while the scheduler hands out its first jobs still stops the worker at once.
    (It used to deadlock: the signal handler shut the job pool down while the interrupted main thread
    held the pool's lock.) The race is narrow, so it is run a dozen times."""
    for n in range(12):
        log = tmp_path / f"worker{n}.log"
        proc = spawn_worker(
            sim,
            tmp_path,
            {"PAYBOT_MENTIONS_INTERVAL": "0.05", "PAYBOT_DMS_INTERVAL": "0.05", "PAYBOT_LEASE_TTL": "0.5"},
            log.name,
        )
        try:
            while "worker started" not in log.read_text() and proc.poll() is None:
                time.sleep(0.001)
            time.sleep(0.002 * (n % 4))
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0, log.read_text()
        finally:
            stop(proc)
        assert "worker stopped" in log.read_text()


def test_sigkill_after_the_charge_then_restart(sim: XSim, tmp_path: Path) -> None:
    """Killed right after the provider charged, the restarted worker completes it with the same key."""
    sandbox = SandboxProvider(tmp_path / "sandbox.db")
    sandbox.set_card(sim.user_id("bob"), "ok")
    sandbox.set_payouts(sim.user_id("alice"), True)
    post = pay_killed_after_the_charge(sim, tmp_path)
    assert statuses(tmp_path) == ["executing"] and len(sandbox.payments()) == 1
    restart_until_replied(sim, tmp_path, post)
    assert statuses(tmp_path) == ["completed"]
    assert len(sandbox.payments()) == 1 and sandbox.operations() == 1
    assert sum(m["type"] == "reply" for m in sim.bot_messages()) == 1


def test_two_workers_on_postgres_one_leads_and_the_other_takes_over(
    sim: XSim, tmp_path: Path, postgres_admin: str
) -> None:
    """Two workers on one PostgreSQL database never both act; when the leader dies the other carries on."""
    from tests.support.pg import new_database

    url = new_database(postgres_admin)
    sandbox = SandboxProvider(tmp_path / "sandbox.db")
    senders = [sim.add_user(f"payer{i}") for i in range(6)]
    for uid in senders:
        sandbox.set_card(uid, "ok")
    sandbox.set_payouts(sim.user_id("alice"), True)
    env: dict[str, Any] = {"DATABASE_URL": url, "PAYBOT_LEASE_TTL": "2"}
    first = start(sim, tmp_path, log_name="a.log", **env)
    second = start(sim, tmp_path, log_name="b.log", leader=False, **env)
    procs = {"a.log": first, "b.log": second}

    def pay(i: int) -> None:
        post = sim.tweet(f"payer{i}", "@paybot send 5 to @alice")
        wait_for(lambda: any(m["type"] == "dm" and m["to_id"] == senders[i] for m in sim.bot_messages()))
        sim.dm(f"payer{i}", "yes")
        wait_for(lambda: any(m.get("in_reply_to") == post["id"] for m in sim.bot_messages()))

    try:
        for i in range(3):
            pay(i)
        leader = next(name for name in procs if "is now the leader" in (tmp_path / name).read_text())
        procs[leader].kill()
        procs[leader].wait(timeout=10)
        for i in range(3, 6):
            pay(i)
    finally:
        for p in procs.values():
            stop(p)
    standby = next(name for name in procs if name != leader)
    assert "is now the leader" in (tmp_path / standby).read_text()
    assert len(sandbox.payments()) == 6
    dms = [m for m in sim.bot_messages() if m["type"] == "dm"]
    assert sorted(m["to_id"] for m in dms) == sorted(senders)  # one confirmation each, none twice
    assert sum(m["type"] == "reply" for m in sim.bot_messages()) == 6


def test_logs_are_json_lines_with_context_and_no_secret(sim: XSim, tmp_path: Path) -> None:
    """Off a terminal every log line is one JSON object; lines about a transfer say which; no secret appears
    in the logs, in what users are told, or when X refuses the credentials."""
    import json

    secrets = {"X_CONSUMER_SECRET": "S3CRET-consumer-5f1c", "X_ACCESS_TOKEN_SECRET": "S3CRET-token-9d2e"}
    sim.secrets = (secrets["X_CONSUMER_SECRET"], secrets["X_ACCESS_TOKEN_SECRET"])  # the sim checks signatures
    sandbox = SandboxProvider(tmp_path / "sandbox.db")
    sandbox.set_card(sim.user_id("bob"), "ok")
    sandbox.set_payouts(sim.user_id("alice"), True)
    proc = start(sim, tmp_path, LOG_LEVEL="DEBUG", **cast(dict[str, Any], secrets))
    try:
        post = sim.tweet("bob", "@paybot send 5 to @alice")
        wait_for(lambda: any(m["type"] == "dm" for m in sim.bot_messages()))
        sim.dm("bob", "yes")
        wait_for(lambda: any(m["in_reply_to"] == post["id"] for m in sim.bot_messages() if m["type"] == "reply"))
    finally:
        stop(proc)
    lines = [json.loads(line) for line in (tmp_path / "worker.log").read_text().splitlines() if line.strip()]
    assert lines and all({"at", "level", "logger", "message"} <= set(line) for line in lines)
    about = [line for line in lines if line.get("transfer_id")]
    assert about and about[-1]["tweet_id"] == post["id"] and about[-1]["user_id"] == sim.user_id("bob")
    everything = (tmp_path / "worker.log").read_text() + json.dumps(sim.bot_messages())
    for value in [*secrets.values(), SIM_ACCESS_TOKEN]:
        assert value not in everything
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYBOT_", "X_"))}
    env |= {
        "X_API_BASE": sim.base,
        "X_CONSUMER_KEY": SIM_CONSUMER_KEY,
        "X_ACCESS_TOKEN": "wrong-token-77ab",
        "PAYBOT_DB_PATH": str(tmp_path / "other.db"),
        **secrets,
    }
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "run"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert refused.returncode == 2 and "X refused the bot's credentials" in refused.stderr
    for value in [*secrets.values(), "wrong-token-77ab"]:
        assert value not in refused.stderr + refused.stdout

"""`paybot run` as a real process against an in-test X simulator: starting and stopping it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.sims.mastodon_world import MastodonWorld
from bot.sims.x import (
    SIM_ACCESS_TOKEN,
    SIM_ACCESS_TOKEN_SECRET,
    SIM_CONSUMER_KEY,
    SIM_CONSUMER_SECRET,
    XSim,
)


def spawn_worker(
    sim: XSim | MastodonWorld,
    tmp: Path,
    settings: dict[str, str],
    log_name: str = "worker.log",
    args: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:
    """Start `paybot run` on the simulator with the store and sandbox in `tmp`; output goes to tmp/log_name.

    The environment is cleaned of paybot's own variables first, then `settings` are applied; `args` follow `run`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYBOT_", "X_"))}
    env.update(
        {
            "X_API_BASE": sim.base,
            "X_CONSUMER_KEY": SIM_CONSUMER_KEY,
            "X_CONSUMER_SECRET": SIM_CONSUMER_SECRET,
            "X_ACCESS_TOKEN": SIM_ACCESS_TOKEN,
            "X_ACCESS_TOKEN_SECRET": SIM_ACCESS_TOKEN_SECRET,
            "PAYBOT_DB_PATH": str(tmp / "paybot.db"),
            "SANDBOX_DB_PATH": str(tmp / "sandbox.db"),
        }
    )
    env.update(settings)
    with (tmp / log_name).open("a") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", *args], cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, wait for the clean stop; SIGKILL if it is somehow still there."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)

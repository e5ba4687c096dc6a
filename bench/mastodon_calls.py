"""Benchmark: Mastodon API requests per completed transfer, against Mastodon's rate limit.

    python -m bench.mastodon_calls [--n 30]

The real worker and Mastodon adapter (Mastodon.py over loopback to the Mastodon simulator, through `paybot
simulate`'s runner, on the sandbox) make n payments: each sender posts "@paybot send 5 to @rN", is asked by
a direct status, answers "yes" by a direct status, and the bot replies publicly. It prints one JSON line:
the requests each completed transfer costs, by endpoint, with the notification readings apart (those are
polls: their number follows the worker's intervals, not the traffic; the runner reads after every step, far
more often than `paybot run`), and the share of Mastodon's default budget (300 requests per 5 minutes per
account) that `paybot run`'s default intervals take by polling alone, with what is left in transfers.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bot.sims.mastodon import RATE_LIMIT, WINDOW
from bot.sims.runner import Run

# `paybot run`'s default intervals (seconds): mentions every 10 s; DMs every 60 s while a transfer waits.
MENTIONS_EVERY, DMS_EVERY = 10, 60
POLLS = {"notifications"}


def run(n: int) -> dict[str, Any]:
    """n sends confirmed by DM; the requests they made, per completed transfer."""
    users: dict[str, Any] = {f"s{i}": {"card": "ok"} for i in range(n)} | {f"r{i}": {"payouts": True} for i in range(n)}
    with tempfile.TemporaryDirectory(prefix="paybot-bench-") as tmp:
        sim_run = Run({"users": users, "limits": None}, Path(tmp), timeline="mastodon")
        try:
            before = len(sim_run.sim.log)
            for i in range(n):
                sim_run.step({"tweet": f"@paybot send 5 to @r{i}", "by": f"s{i}"})
                sim_run.step({"dm": "yes", "by": f"s{i}"})
            log = sim_run.sim.log[before:]
            done = sum("✅" in m["text"] for m in sim_run.sim.bot_messages() if m["type"] == "reply")
        finally:
            sim_run.close()
    by_endpoint = Counter(str(e["endpoint"]) for e in log)
    per = {k: round(v / max(done, 1), 2) for k, v in sorted(by_endpoint.items()) if k not in POLLS}
    window = WINDOW.total_seconds()
    polling = window / MENTIONS_EVERY + window / DMS_EVERY  # one notifications page each, at the least
    per_transfer = sum(per.values())
    return {
        "transfers": done,
        "requests_per_transfer": round(per_transfer, 2),
        "by_endpoint": per,
        "polls_in_the_run": sum(by_endpoint[k] for k in POLLS),
        "budget_per_5_min": RATE_LIMIT,
        "polling_per_5_min": round(polling),
        "transfers_per_5_min_left": int((RATE_LIMIT - polling) // per_transfer) if per_transfer else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    print(json.dumps(run(parser.parse_args().n)))


if __name__ == "__main__":
    main()

"""Benchmark: how long a payment waits, on X (polling) and on Mastodon (the user stream), and what it costs
in requests against Mastodon's rate limit.

    python -m bench.latency --timeline mastodon [--transfers 60 --minutes 60]
    python -m bench.latency --timeline x
    python -m bench.latency --timeline mastodon --poll-only

The real worker on virtual time (bench/harness.py `VirtualDay`: the bot as `paybot run` builds it, its jobs at
the configured intervals, `paybot run`'s defaults unless `--set NAME=VALUE`), the real timeline adapter over
loopback to its simulator (X's pay-per-use limits, or Mastodon's 300 requests per 5 minutes, enforced), the
sandbox provider. `--transfers` senders post "@paybot send 5 to @rN" evenly over `--minutes`; each answers
"yes" 20 s after their confirmation reaches them. On Mastodon the bot follows the real user stream (server-sent
events over HTTP) unless `--poll-only`; the stream's delivery itself takes no virtual time, so the figures are
the worker's schedule, not the network's.

Prints one JSON line: p50 and p90 seconds from the post to the confirmation and from the "yes" to the payment
executed, the jobs' intervals they depend on, and the requests the bot made: per completed transfer (polls
included: they follow the intervals, not the traffic), the most in any 5-minute window (Mastodon's are aligned
on the period) against the budget, and the refusals (429).
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bench.harness import START, VirtualDay, percentile
from bot.sims.mastodon import RATE_LIMIT, WINDOW
from bot.sims.x import PAY_PER_USE

THINK = timedelta(seconds=20)
SETTLE = timedelta(minutes=10)  # after the last post: time for the last answers and payments


def run(
    *,
    timeline: str,
    transfers: int,
    minutes: float,
    stream: bool = True,
    settings: dict[str, Any] | None = None,
    settle: timedelta = SETTLE,
    seed: int = 0,
) -> dict[str, Any]:
    """`transfers` sends, evenly over `minutes`, confirmed by their senders; the latencies and requests."""
    day = VirtualDay(
        limits=PAY_PER_USE,
        n_people=transfers,
        settings=settings,
        think=THINK,
        timeline=timeline,
        stream=stream and timeline == "mastodon",
    )
    try:
        # Evenly spread, each at a random point of its slot (seeded): a post lands anywhere between two polls.
        every = timedelta(minutes=minutes) / max(transfers, 1)
        rng = random.Random(seed)
        for i in range(transfers):
            day.at(START + every * (i + rng.random()), partial(day.post_payment, f"s{i}", f"r{i}"))
        day.run_until(START + timedelta(minutes=minutes) + settle)
        to_confirm, to_execute = day.latencies()
        done = sum(t.status == "completed" for t in day.transfers())
        log = list(day.sim.log)
        s = day.settings
        return {
            "timeline": timeline,
            "delivery": ("stream" if stream else "polling") if timeline == "mastodon" else "polling",
            "transfers": transfers,
            "minutes": minutes,
            "completed": done,
            "post_to_confirmation_s": _summary(to_confirm),
            "yes_to_executed_s": _summary(to_execute),
            "intervals_s": {
                "mentions": s.paybot_mentions_interval,
                "dms": s.paybot_dms_interval,
                "tick": s.paybot_tick_interval,
                "outbox": s.paybot_outbox_interval,
            },
            "requests": len(log),
            "requests_per_transfer": round(len(log) / done, 1) if done else None,
            "by_endpoint": dict(Counter(str(e["endpoint"]) for e in log).most_common()),
            "most_in_5_min": _busiest(log),
            "budget_per_5_min": RATE_LIMIT if timeline == "mastodon" else None,
            "http_429": sum(e["status"] == 429 for e in log),
            "stream_wakes": day.woken,
            "stream_missed": day.stream_missed,
        }
    finally:
        day.close()


def _summary(values: list[float]) -> dict[str, float | int]:
    return {"n": len(values), "p50": round(percentile(values, 50), 1), "p90": round(percentile(values, 90), 1)}


def _busiest(log: list[dict[str, Any]]) -> int:
    """The most requests in one 5-minute window, windows aligned on the period as Mastodon's."""
    windows = Counter(
        int(datetime.fromisoformat(str(e["at"]).replace("Z", "+00:00")).timestamp() // WINDOW.total_seconds())
        for e in log
    )
    return max(windows.values(), default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeline", choices=("x", "mastodon"), default="mastodon")
    parser.add_argument("--transfers", type=int, default=60)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--poll-only", action="store_true", help="Mastodon without the user stream")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting, e.g. paybot_mentions_interval=30 (paybot run's defaults otherwise)",
    )
    args = parser.parse_args()
    settings = dict(kv.split("=", 1) for kv in args.set)
    print(
        json.dumps(
            run(
                timeline=args.timeline,
                transfers=args.transfers,
                minutes=args.minutes,
                stream=not args.poll_only,
                settings=settings,
            )
        )
    )


if __name__ == "__main__":
    main()

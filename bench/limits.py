"""Benchmark 2: transfers per day and latency under X's pay-per-use rate limits, on virtual time.

    python -m bench.limits [--hours 24] [--loads 0.5,1.0,1.25]

A day of traffic at loads relative to the most the DM limit allows (one
confirmation DM per transfer, 15 DM sends per 15 minutes: 1,440 a day), with
the simulator enforcing every limit. Prints, per load: transfers completed
against that maximum, p50/p95 seconds from post to confirmation DM and from
"yes" to executed, and every 429 received (target 0).
"""

from __future__ import annotations

import argparse
import json
import logging
from datetime import timedelta
from functools import partial

from bench.harness import START, VirtualDay, percentile
from bot.sims.x import PAY_PER_USE, XSim

DM_SENDS_PER_DAY = PAY_PER_USE["dm_post"] * 4 * 24  # 15 per 15 minutes


def run(load: float, hours: float) -> dict[str, float]:
    day = VirtualDay(limits=PAY_PER_USE, n_people=400)
    try:
        span = timedelta(hours=hours)
        n = round(DM_SENDS_PER_DAY * load * hours / 24)
        gap = span / max(n, 1)
        for i in range(n):  # evenly spread, each at a random moment within its slot
            when = START + gap * i + gap * day.rng.random()
            day.at(when, partial(day.post_payment, day.senders[i % 400], day.recipients[i % 400]))
        day.run_until(START + span)
        completed = sum(t.status == "completed" for t in day.transfers())
        confirm, execute = day.latencies()
        maximum = DM_SENDS_PER_DAY * hours / 24
        assert isinstance(day.sim, XSim)  # X's limits
        return {
            "load": load,
            "offered": n,
            "completed": completed,
            "max_allowed": round(maximum),
            "ratio_of_max": round(completed / maximum, 3),
            "p50_post_to_confirmation_s": percentile(confirm, 50),
            "p95_post_to_confirmation_s": percentile(confirm, 95),
            "p50_yes_to_executed_s": percentile(execute, 50),
            "p95_yes_to_executed_s": percentile(execute, 95),
            "http_429": sum(e["status"] == 429 for e in day.sim.log),
            "limit_violations": day.sim.violations,
            "mention_poll_interval_s": day.settings.paybot_mentions_interval,
        }
    finally:
        day.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--loads", default="0.5,1.0,1.25")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the worker's "rate limited until" notes are expected here
    rows = [run(float(x), args.hours) for x in args.loads.split(",")]
    head = (
        "load",
        "offered",
        "completed",
        "ratio_of_max",
        "p50_post_to_confirmation_s",
        "p95_post_to_confirmation_s",
        "p50_yes_to_executed_s",
        "p95_yes_to_executed_s",
        "http_429",
    )
    print(
        "  ".join(
            f"{h:>10}"
            for h in ("load", "offered", "done", "of max", "p50 conf", "p95 conf", "p50 exec", "p95 exec", "429s")
        )
    )
    for r in rows:
        print("  ".join(f"{r[h]:>10}" for h in head))
    print(json.dumps({"hours": args.hours, "dm_sends_per_day_allowed": DM_SENDS_PER_DAY, "runs": rows}))


if __name__ == "__main__":
    main()

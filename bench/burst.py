"""Benchmark 3: a burst of mentions at once, rate limits off.

    python -m bench.burst [--n 10000]

n people each post a payment command at the same moment, then each answers
YES. Prints wall time, the bot's CPU milliseconds per completed transfer (the
worker's thread only; the simulator serves from its own threads), peak RSS of
the process (bot and simulator together), and store commits per transfer.
Targets: at most 5 ms of CPU and 200 MB.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import time
from datetime import timedelta

from sqlalchemy import event

from bench.harness import VirtualDay
from bot.x.sim import UNLIMITED


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    day = VirtualDay(limits=UNLIMITED, n_people=0, settings={"paybot_dm_page_size": 100})
    try:
        senders = [day.sim.add_user(f"s{i}") for i in range(args.n)]
        recipients = [day.sim.add_user(f"r{i}") for i in range(args.n)]
        day.sandbox.set_cards(dict.fromkeys(senders, "ok"))
        day.sandbox.set_payouts_many(recipients)
        commits = 0

        def count(_conn: object) -> None:
            nonlocal commits
            commits += 1

        event.listen(day.bot.engine, "commit", count)
        worker = day.bot.worker
        wall, cpu = time.perf_counter(), time.thread_time()
        # X shows only the latest 800 mentions, so the burst arrives in waves of
        # 500 with a mention poll after each, as the worker's schedule would do.
        for i in range(args.n):
            day.post_payment(f"s{i}", f"r{i}")
            if i % 500 == 499:
                worker.poll_mentions()
        worker.run_until_idle(max_rounds=1000)
        for i in range(args.n):
            day.sim.dm(f"s{i}", "yes")
        day.clock.advance(timedelta(seconds=1))
        worker.run_until_idle(max_rounds=1000)
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        completed = sum(t.status == "completed" for t in day.transfers())
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        per = max(completed, 1)
        print(f"{completed} of {args.n} transfers completed in {wall:.1f} s wall; "
              f"{1000 * cpu / per:.2f} ms of bot CPU and {commits / per:.1f} store commits per transfer; "
              f"peak RSS {rss_mb:.0f} MB")
        print(json.dumps({"n": args.n, "completed": completed, "wall_s": round(wall, 2),
                          "cpu_ms_per_transfer": round(1000 * cpu / per, 3), "peak_rss_mb": round(rss_mb),
                          "commits_per_transfer": round(commits / per, 2),
                          "targets": {"cpu_ms_per_transfer": 5, "peak_rss_mb": 200}}))
    finally:
        day.close()


if __name__ == "__main__":
    main()

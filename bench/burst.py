"""Benchmark 3: a burst of mentions at once, rate limits off.

    python -m bench.burst [--n 10000]

n people each post a payment command within seconds, then each answers YES.
The X simulator runs in its own process (`paybot sim-x`), so the figures are
the bot's alone: wall time, CPU milliseconds per completed transfer, peak RSS,
and store commits and SQL statements per transfer (an executemany counts once, as one round trip);
`--sql` also lists the statements run most. Targets: at most 5 ms of CPU (and a third of the code
before the page transactions), 3 commits, 15 statements per transfer, and 200 MB.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import requests
from sqlalchemy import event, func
from sqlmodel import select

from bot.domain.entities import Transfer
from bot.ports import SystemClock
from bot.providers.sandbox import SandboxProvider
from bot.repo.sql import SqlStore
from bot.sims.runner import ScenarioSettings, build_on_sim
from bot.sims.x import (
    SIM_ACCESS_TOKEN,
    SIM_ACCESS_TOKEN_SECRET,
    SIM_CONSUMER_KEY,
    SIM_CONSUMER_SECRET,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--sql", action="store_true", help="also print the statements run most, per transfer")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    port = free_port()
    sim = subprocess.Popen(
        [sys.executable, "-m", "bot", "sim-x", "--port", str(port), "--limits", "none"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    http = requests.Session()
    http.trust_env = False

    def control(path: str, body: dict[str, Any] | None = None) -> Any:
        resp = (
            http.post(base + path, json=body or {}, timeout=300)
            if body is not None
            else http.get(base + path, timeout=300)
        )
        resp.raise_for_status()
        return resp.json()

    with tempfile.TemporaryDirectory(prefix="paybot-burst-") as tmp:
        try:
            for _ in range(100):
                try:
                    control("/_sim/stats")
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            senders = control("/_sim/batch", {"users": [f"s{i}" for i in range(args.n)]})["users"]
            recipients = control("/_sim/batch", {"users": [f"r{i}" for i in range(args.n)]})["users"]
            sandbox = SandboxProvider(Path(tmp) / "sandbox.db")
            sandbox.set_cards(dict.fromkeys(senders, "ok"))
            sandbox.set_payouts_many(recipients)
            settings = ScenarioSettings(
                paybot_db_path=str(Path(tmp) / "paybot.db"),
                sandbox_db_path=str(Path(tmp) / "sandbox.db"),
                x_consumer_key=SIM_CONSUMER_KEY,
                x_consumer_secret=SIM_CONSUMER_SECRET,
                x_access_token=SIM_ACCESS_TOKEN,
                x_access_token_secret=SIM_ACCESS_TOKEN_SECRET,
                x_api_base=base,
                paybot_dm_page_size=100,
                paybot_dms_idle_interval=0,
            )
            bot = build_on_sim(settings, SystemClock(), sandbox, random.Random(0))  # type: ignore[arg-type]
            commits = statements = 0

            def count(_conn: object) -> None:
                nonlocal commits
                commits += 1

            kinds: Counter[str] = Counter()

            def count_statement(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
                nonlocal statements
                statements += 1
                if args.sql:
                    flat = " ".join(sql.split())
                    cut = flat.find(" FROM ") if flat.startswith("SELECT") else -1
                    kinds[flat[:110] if cut < 0 else flat[:24] + " …" + flat[cut : cut + 130]] += 1

            event.listen(bot.engine, "commit", count)
            event.listen(bot.engine, "before_cursor_execute", count_statement)
            # SQLite's BEGIN IMMEDIATE goes to the driver directly (bot.repo.engine): counted here, as one statement
            event.listen(bot.engine, "begin", lambda conn: count_statement(conn, None, "BEGIN IMMEDIATE"))
            worker = bot.worker
            worker.run_until_idle()
            commits = statements = 0
            kinds.clear()
            wall, cpu = time.perf_counter(), time.process_time()
            # X shows only the latest 800 mentions, so the burst arrives in waves of
            # 500 with a mention poll after each, as the worker's schedule would do.
            for start in range(0, args.n, 500):
                control(
                    "/_sim/batch",
                    {
                        "tweets": [
                            {"by": f"s{i}", "text": f"@paybot send 5 to @r{i}"}
                            for i in range(start, min(args.n, start + 500))
                        ]
                    },
                )
                worker.poll_mentions()
            worker.run_until_idle(max_rounds=1000)
            control("/_sim/batch", {"dms": [{"by": f"s{i}", "text": "yes"} for i in range(args.n)]})
            worker.run_until_idle(max_rounds=1000)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            with cast(SqlStore, bot.service.uow)() as s:
                completed = s.exec(
                    select(func.count()).select_from(Transfer).where(Transfer.status == "completed")
                ).one()
            bot.close()
            sandbox.close()
        finally:
            sim.terminate()
            sim.wait(timeout=30)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    per = max(completed, 1)
    print(
        f"{completed} of {args.n} transfers completed in {wall:.1f} s wall; "
        f"{1000 * cpu / per:.2f} ms of bot CPU, {commits / per:.1f} store commits and {statements / per:.1f} "
        f"SQL statements per transfer; "
        f"peak RSS of the bot {rss_mb:.0f} MB"
    )
    for sql, n in kinds.most_common(25):
        print(f"{n / per:6.2f}  {sql}")
    print(
        json.dumps(
            {
                "n": args.n,
                "completed": completed,
                "wall_s": round(wall, 2),
                "cpu_ms_per_transfer": round(1000 * cpu / per, 3),
                "peak_rss_mb": round(rss_mb),
                "commits_per_transfer": round(commits / per, 2),
                "statements_per_transfer": round(statements / per, 2),
                "targets": {"cpu_ms_per_transfer": 5, "peak_rss_mb": 200},
            }
        )
    )


if __name__ == "__main__":
    main()

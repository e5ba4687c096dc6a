"""Benchmark 4: transfers committed per second by the store, against the disk's own durable-commit rate.

    python -m bench.store [--seconds 3]

The loops run on the same disk in the same run with SQLite in WAL mode and
synchronous=FULL: a bare sqlite3 insert+commit loop, and the store's unit of
work (the repository port on SQL, BEGIN IMMEDIATE) adding one Transfer per
transaction, then a page of them per transaction as the worker commits a poll's
mentions (`--page`, 100 by default). It also prints the CPU time each loop took per commit or transfer, which
a slow or busy disk does not hide (`--dir /dev/shm` takes the disk out altogether).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.domain import Status
from bot.domain.entities import Transfer
from bot.repo.engine import database_url, make_engine
from bot.repo.sql import SqlStore


def raw_rate(path: Path, seconds: float) -> float:
    return _raw(path, seconds)[0]


def _raw(path: Path, seconds: float) -> tuple[float, float]:
    """Bare commits per second, and the process's CPU seconds per commit."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, root TEXT, amount INTEGER)")
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (root, amount) VALUES (?, ?)", (str(n), 500))
        db.execute("COMMIT")
        n += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    db.close()
    return n / elapsed, cpu / n


def store_rate(path: Path, seconds: float, page: int = 1) -> float:
    """Transfers committed per second through the store, `page` per transaction."""
    return _store(path, seconds, page)[0]


def _store(path: Path, seconds: float, page: int = 1) -> tuple[float, float]:
    """Transfers committed per second through the store, and the process's CPU seconds per transfer."""
    store = SqlStore(make_engine(database_url(None, path)))
    now = datetime(2026, 11, 28, tzinfo=UTC)
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        with store() as s:
            for _ in range(page):
                s.transfers.add(
                    Transfer(
                        root_tweet_id=str(n),
                        command_tweet_id=str(n),
                        sender_id="1",
                        recipient_id="2",
                        amount_minor=500,
                        currency="USD",
                        code="K7Q2",
                        status=Status.PENDING,
                        created_at=now,
                        updated_at=now,
                        expires_at=now + timedelta(minutes=10),
                    )
                )
                n += 1
            s.commit()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    store.engine.dispose()
    return n / elapsed, cpu / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--dir", default=None, help="folder on the disk to measure (default: a temporary one)")
    ap.add_argument("--page", type=int, default=100, help="transfers per transaction in the paged loop")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        raw, raw_cpu = _raw(Path(tmp) / "raw.db", args.seconds)
        ours, ours_cpu = _store(Path(tmp) / "store.db", args.seconds)
        paged, _ = _store(Path(tmp) / "paged.db", args.seconds, args.page)
    print(
        f"bare durable commits: {raw:,.0f}/s   store transfers, one per commit: {ours:,.0f}/s (ratio "
        f"{ours / raw:.2f}); {args.page} per commit: {paged:,.0f}/s (ratio {paged / raw:.2f}); CPU (process time, "
        f"the kernel's share of the fsync included) per bare commit {raw_cpu * 1e6:.0f} us, per transfer through "
        f"the store {ours_cpu * 1e6:.0f} us"
    )
    print(
        json.dumps(
            {
                "raw_commits_per_second": round(raw),
                "store_transfers_per_second": round(ours),
                "ratio": round(ours / raw, 3),
                "page": args.page,
                "paged_transfers_per_second": round(paged),
                "paged_ratio": round(paged / raw, 3),
                "raw_cpu_us_per_commit": round(raw_cpu * 1e6),
                "store_cpu_us_per_transfer": round(ours_cpu * 1e6),
            }
        )
    )


if __name__ == "__main__":
    main()

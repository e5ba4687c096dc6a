"""Benchmark 4: transfers committed per second by the store, against the disk's own durable-commit rate.

    python -m bench.store [--seconds 3]

Both loops run on the same disk in the same run with SQLite in WAL mode and
synchronous=FULL: a bare sqlite3 insert+commit loop, and the store's unit of
work inserting one Transfer per transaction (BEGIN IMMEDIATE, SQLModel).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.store import Transfer, UnitOfWork, database_url, make_engine


def raw_rate(path: Path, seconds: float) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, root TEXT, amount INTEGER)")
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (root, amount) VALUES (?, ?)", (str(n), 500))
        db.execute("COMMIT")
        n += 1
    elapsed = time.perf_counter() - start
    db.close()
    return n / elapsed


def store_rate(path: Path, seconds: float) -> float:
    uow = UnitOfWork(make_engine(database_url(None, path)))
    now = datetime(2026, 11, 28, tzinfo=UTC)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        with uow() as s:
            s.add(Transfer(root_tweet_id=str(n), command_tweet_id=str(n), sender_id="1", recipient_id="2",
                           amount_minor=500, currency="USD", code="K7Q2", status="pending", created_at=now,
                           updated_at=now, expires_at=now + timedelta(minutes=10)))
            s.commit()
        n += 1
    elapsed = time.perf_counter() - start
    uow.engine.dispose()
    return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--dir", default=None, help="folder on the disk to measure (default: a temporary one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        raw = raw_rate(Path(tmp) / "raw.db", args.seconds)
        ours = store_rate(Path(tmp) / "store.db", args.seconds)
    print(f"bare durable commits: {raw:,.0f}/s   store transfers: {ours:,.0f}/s   ratio {ours / raw:.2f}")
    print(json.dumps({"raw_commits_per_second": round(raw), "store_transfers_per_second": round(ours),
                      "ratio": round(ours / raw, 3)}))


if __name__ == "__main__":
    main()

"""Benchmark: how fast the operator's console answers on a store holding 100,000 transfers.

    python -m bench.web [--transfers 100000] [--requests 100] [--no-postgres]

Fills a store (SQLite in a temporary file, then PostgreSQL when its binaries are installed, as tests/support/pg.py
starts it) through the migrations (so with the indexes a real store has): `--transfers` transfers over the last 400
days among 5,000 people (one of them on 1 transfer in 10), three timeline steps and two messages each, a refund
on 1 in 50. Then signs in to the console (Flask's test client: the app as waitress serves it, without the
network) and asks each page `--requests` times; prints p50 and p99 per page, in milliseconds. The target is
p99 <= 100 ms on every page. The charts are drawn at most once a minute (bot.console.views.CHARTS_FRESH):
"charts" is the page as most views get it, "charts, drawn afresh" the first view in a minute (past hours' counts
read from chart_hour), "charts, no hour kept" the first drawing on a store (every hour of the month counted and
kept).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert

from bot import migrate
from bot.console import operators
from bot.console.pages import register
from bot.console.records import ChartHour
from bot.console.views import CHARTS_CACHE
from bot.domain import Policy, Settle, Status, Step
from bot.domain.entities import Outbox, Settlement, Transfer, TransferEvent, User
from bot.ports import FakeClock
from bot.providers.sandbox import SandboxProvider
from bot.repo.engine import make_engine
from bot.repo.sql import SqlStore
from bot.service import Service
from bot.web.app import create_app

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PEOPLE = 5000
PASSWORD = "bench bench bench"
STATUSES = [Status.COMPLETED] * 14 + [
    Status.HELD,
    Status.PENDING,
    Status.FAILED,
    Status.CANCELLED,
    Status.EXPIRED,
    Status.RETURNED,
]


def fill(engine: Engine, transfers: int, seed: int = 7) -> None:
    """`transfers` transfers, their timelines, messages and some refunds, inserted in batches."""
    rng = random.Random(seed)
    with engine.begin() as db:
        db.execute(
            insert(User),
            [
                {
                    "id": str(i),
                    "handle": f"user{i}",
                    "name": f"User {i}",
                    "privacy": "public",
                    "opted_out": False,
                    "updated_at": NOW,
                }
                for i in range(PEOPLE)
            ],
        )
    batch = 5000
    for start in range(0, transfers, batch):
        rows, events, messages, settlements = [], [], [], []
        for n in range(start, min(start + batch, transfers)):
            at = NOW - timedelta(days=400) * (1 - n / transfers) + timedelta(seconds=rng.randint(0, 60))
            sender = "0" if n % 10 == 0 else str(rng.randrange(1, PEOPLE))
            recipient = str(rng.randrange(1, PEOPLE))
            status = rng.choice(STATUSES)
            tid = n + 1
            rows.append(
                {
                    "id": tid,
                    "kind": "send",
                    "lang": "en",
                    "root_tweet_id": str(10**15 + n),
                    "command_tweet_id": str(10**15 + n),
                    "sender_id": sender,
                    "recipient_id": recipient,
                    "amount_minor": rng.randrange(50, 25000),
                    "currency": "USD",
                    "memo": "lunch",
                    "code": "K7Q2",
                    "status": status,
                    "payment_ref": f"pay_{tid}" if status != Status.PENDING else None,
                    "created_at": at,
                    "updated_at": at,
                    "expires_at": at + timedelta(minutes=10),
                }
            )
            for k, step in enumerate((Status.PENDING, Status.EXECUTING, status)):
                events.append({"transfer_id": tid, "at": at + timedelta(seconds=k), "status": step, "note": None})
            for k, kind in enumerate(("dm", "reply")):
                messages.append(
                    {
                        "kind": kind,
                        "priority": 1,
                        "to_user_id": sender,
                        "text": "done",
                        "status": "sent",
                        "attempts": 1,
                        "next_attempt_at": at,
                        "created_at": at,
                        "sent_at": at + timedelta(seconds=k + 1),
                        "transfer_root": str(10**15 + n),
                    }
                )
            if status == Status.COMPLETED and n % 50 == 0:
                settlements.append(
                    {
                        "transfer_id": tid,
                        "step": Step.REFUND,
                        "seq": 1,
                        "amount_minor": 50,
                        "status": Settle.SUCCEEDED,
                        "key": f"k{tid}",
                        "ref": f"re_{tid}",
                        "cause": "operator",
                        "created_at": at,
                        "updated_at": at,
                    }
                )
        with engine.begin() as db:
            db.execute(insert(Transfer), rows)
            db.execute(insert(TransferEvent), events)
            db.execute(insert(Outbox), messages)
            if settlements:
                db.execute(insert(Settlement), settlements)
    with engine.begin() as db:  # the statistics a store that grew over months has (autovacuum, or SQLite's ANALYZE)
        db.exec_driver_sql("ANALYZE")


def pages(transfers: int, cursor: str) -> dict[str, str]:
    middle = transfers // 2
    return {
        "health": "/console/health",
        "charts": "/console/charts",
        "charts, drawn afresh": "/console/charts?afresh",
        "charts, no hour kept": "/console/charts?afresh&none-kept",
        "transfers": "/console/transfers",
        "transfers, deep page": f"/console/transfers?after={cursor}",
        "transfers, held": "/console/transfers?status=held",
        "transfers, last 2 days": "/console/transfers?since=2d",
        "transfers, busiest person": "/console/transfers?person=user0",
        "transfers, a person": "/console/transfers?person=user1234",
        "one transfer": f"/console/transfers/{middle}",
        "a person": "/console/people/user1234",
        "busiest person": "/console/people/user0",
        "reconciliation": "/console/reconciliation",
        "refund's confirmation": f"/console/transfers/{transfers - 20}/refund?amount=0.50",
    }


def measure(url: str, transfers: int, requests: int, workdir: Path) -> dict[str, tuple[float, float]]:
    """Fill the store at `url`, sign in, ask each page `requests` times: {page: (p50 ms, p99 ms)}."""
    engine = make_engine(url, create_tables=False)
    migrate.upgrade(engine)
    fill(engine, transfers)
    store, clock = SqlStore(engine), FakeClock(NOW)
    operators.add(store, "bench", PASSWORD, NOW)
    service = Service(
        uow=store,
        provider=SandboxProvider(workdir / "sandbox.db"),
        clock=clock,
        policy=Policy(),
        bot_id="1",
        bot_handle="paybot",
    )
    from tests.support.webworld import web_settings

    app = create_app(web_settings(), store, clock, console=partial(register, store=store, clock=clock, service=service))
    client = app.test_client()
    sign_in = client.get("/console/sign-in").get_data(as_text=True)
    token = sign_in.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    signed = client.post("/console/sign-in", data={"csrf": token, "name": "bench", "password": PASSWORD})
    assert signed.status_code == 303
    from bot.console.read import transfers as page_of

    deep = page_of(store, size=transfers // 2)  # a cursor half-way down
    out: dict[str, tuple[float, float]] = {}
    for name, path in pages(transfers, deep.next or "").items():
        times = []
        for _ in range(requests + 3):
            if "?afresh" in path:
                app.extensions[CHARTS_CACHE].clear()  # as at the first view in a minute
            if path.endswith("&none-kept"):
                with engine.begin() as db:  # as at the first drawing on a store, or after a month without one
                    db.execute(delete(ChartHour))
            began = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        times = sorted(times[3:])  # the first few warm the caches
        out[name] = (statistics.median(times), times[min(len(times) - 1, round(len(times) * 0.99) - 1)])
    engine.dispose()
    return out


@contextmanager
def postgres() -> Iterator[str | None]:
    """A throwaway PostgreSQL database's URL, or None when PostgreSQL is not installed."""
    try:
        from tests.support.pg import new_database, postgres_server

        server = postgres_server()
        admin = server.__enter__()
    except (ImportError, RuntimeError) as err:
        print(f"PostgreSQL skipped: {err}")
        yield None
        return
    try:
        yield new_database(admin)
    finally:
        server.__exit__(None, None, None)


def report(label: str, figures: dict[str, tuple[float, float]]) -> None:
    print(f"\n{label}; load average now {os.getloadavg()[0]:.1f}")
    print(f"  {'page':<28} {'p50 ms':>8} {'p99 ms':>8}")
    for name, (p50, p99) in figures.items():
        print(f"  {name:<28} {p50:8.1f} {p99:8.1f}{'  over 100 ms' if p99 > 100 else ''}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    # Figures depend on what else the machine runs: say how busy it was.
    print(f"{os.cpu_count()} CPUs; load average at the start {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        began = time.perf_counter()
        figures = measure(f"sqlite:///{path / 'store.db'}", args.transfers, args.requests, path)
        report(f"SQLite, {args.transfers:,} transfers ({time.perf_counter() - began:.0f} s with the filling)", figures)
        context: Callable[[], Any] = nullcontext if args.no_postgres else postgres
        with context() as url:
            if url:
                began = time.perf_counter()
                figures = measure(url, args.transfers, args.requests, path)
                report(
                    f"PostgreSQL, {args.transfers:,} transfers ({time.perf_counter() - began:.0f} s with the filling)",
                    figures,
                )


if __name__ == "__main__":
    main()

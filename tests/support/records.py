"""The payment adapters' records as the tests give them: on a SQLite file of their own, every table of the store
made in it (as `make_engine` makes them for tests)."""

from __future__ import annotations

from pathlib import Path

from bot.ports import Clock
from bot.repo.engine import UnitOfWork, make_engine
from bot.repo.provider_records import SqlMangopayRecords, SqlStripeRecords


def stripe_records(path: Path, clock: Clock) -> SqlStripeRecords:
    """The Stripe adapter's records in the SQLite file at `path`."""
    return SqlStripeRecords(UnitOfWork(make_engine(f"sqlite:///{path}")), clock)


def mangopay_records(path: Path, clock: Clock) -> SqlMangopayRecords:
    """The Mangopay adapter's records in the SQLite file at `path`."""
    return SqlMangopayRecords(UnitOfWork(make_engine(f"sqlite:///{path}")), clock)

"""The column types and constraints every table of the SQL store shares: times kept in UTC, and the CHECK that a
column holds one of a domain enum's words."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, DateTime, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlmodel import Field


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; always returns them UTC-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def time_field(nullable: bool = False, index: bool = False) -> Any:
    """A SQLModel field holding a UTC time (the rows bot.repo.rows declares)."""
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def one_of(table: str, column: str, values: Iterable[str]) -> CheckConstraint:
    """A CHECK constraint, named `ck_<table>_<column>`, that `column` holds one of `values` (a domain enum): the
    store refuses any other word (NULL passes, for a column that may stay empty). Migration 0016 adds the same."""
    words = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({words})", name=f"ck_{table}_{column}")

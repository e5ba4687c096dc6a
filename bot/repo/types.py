"""The column types and constraints every table of the SQL store shares: times kept in UTC, a domain enum's words
read back as its members, and the CHECK that a column holds one of them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, DateTime, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlmodel import Field
from sqlmodel.sql.sqltypes import AutoString

from bot.repo.errors import UnknownWord


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


class Word(TypeDecorator[str]):
    """A text column holding one of a domain enum's words (under its CHECK, `one_of`), read back as the enum's member;
    written as it is given (a member equals its word). A stored word that is no member (a row edited by hand) is
    `UnknownWord`, naming the column and the word, never a plain string."""

    impl = AutoString
    cache_ok = True

    def __init__(self, enum: type[StrEnum], column: str) -> None:
        super().__init__()
        self.enum = enum
        self.column = column
        self._members: dict[str | None, StrEnum | None] = {None: None, **{m.value: m for m in enum}}

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        try:
            return self._members[value]
        except KeyError:
            raise UnknownWord(f"{self.column} holds {value!r}, which is no {self.enum.__name__}") from None


def time_field(nullable: bool = False, index: bool = False) -> Any:
    """A SQLModel field holding a UTC time (the rows bot.repo.rows declares)."""
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def one_of(table: str, column: str, values: Iterable[str]) -> CheckConstraint:
    """A CHECK constraint, named `ck_<table>_<column>`, that `column` holds one of `values` (a domain enum): the
    store refuses any other word (NULL passes, for a column that may stay empty). Migration 0016 adds the same."""
    words = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({words})", name=f"ck_{table}_{column}")

"""What every table of the SQL store shares: the one metadata they are all on, the column types and builders (times
kept in UTC, a domain enum's words read back as its members, text as SQLModel declared it), and the CHECK that a
column holds one of a domain enum's words. bot.repo.schema (the entities' tables) and bot.repo.record_tables (the
records' tables) build on it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, DateTime, Integer, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlmodel.sql.sqltypes import AutoString

from bot.repo.errors import UnknownWord

# One metadata for every table of the store: the entities' (bot.repo.schema) and the records' (bot.repo.record_tables).
metadata = MetaData()


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


def text_column(
    name: str, *, nullable: bool = False, index: bool = False, unique: bool = False, default: str | None = None
) -> Column[str]:
    """A text column; `default`, the entity's, for an INSERT that leaves the column out."""
    return Column(name, AutoString(), nullable=nullable, index=index, unique=unique, default=default)


def word_column(
    table: str,
    name: str,
    enum: type[StrEnum],
    *,
    nullable: bool = False,
    index: bool = False,
    default: str | None = None,
) -> Column[str]:
    """A text column of one of `enum`'s words, read back as its members (`Word`); its CHECK is `one_of`'s."""
    return Column(name, Word(enum, f"{table}.{name}"), nullable=nullable, index=index, unique=False, default=default)


def int_column(name: str, *, nullable: bool = False, index: bool = False, default: int | None = None) -> Column[int]:
    return Column(name, Integer(), nullable=nullable, index=index, unique=False, default=default)


def time_column(name: str, *, nullable: bool = False, index: bool = False) -> Column[object]:
    return Column(name, UTCDateTime(), nullable=nullable, index=index)


def key_column(name: str) -> Column[str]:
    """A text primary key."""
    return Column(name, AutoString(), primary_key=True, index=False, unique=False)


def id_column() -> Column[int]:
    return Column("id", Integer(), primary_key=True, index=False, unique=False)


def one_of(table: str, column: str, values: Iterable[str]) -> CheckConstraint:
    """A CHECK constraint, named `ck_<table>_<column>`, that `column` holds one of `values` (a domain enum): the
    store refuses any other word (NULL passes, for a column that may stay empty). Migration 0016 adds the same."""
    words = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({words})", name=f"ck_{table}_{column}")

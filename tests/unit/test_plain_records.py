"""Every class the SQL store maps is a plain dataclass declared outside bot/repo, with no table of its own: the
entities (bot.domain.entities) and the records that are no entity (the payment adapters', bot.ports.records; the
console's, bot.console.records). Their tables, and the mapping onto them, are bot/repo's (bot.repo.schema,
bot.repo.record_tables). A SQLModel row, or a class that declares its table where it is defined, fails here."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import DeclarativeBase, Mapper
from sqlmodel import SQLModel
from sqlmodel.main import default_registry

import bot.repo.schema as schema
from bot.console.records import ChartHour, ConsoleAction, Operator, OperatorSession, SignInAttempt
from bot.ports.records import MangopayUser, StripePayment, StripeUser

ROOT = Path(__file__).resolve().parents[2]
TABLE_WORDS = {"__table__", "__tablename__", "__table_args__", "__mapper_args__"}


def mapped() -> dict[str, type]:
    """Each table of the store's metadata and the class mapped onto it, whichever registry mapped it (the store's
    imperative one, or SQLModel's, where a `table=True` class maps itself)."""
    mappers: list[Mapper[object]] = [*schema.mapper_registry.mappers, *default_registry.mappers]
    found: dict[str, type] = {}
    for mapper in mappers:
        name = mapper.local_table.name  # type: ignore[attr-defined]
        assert name not in found, f"table {name} mapped twice"
        found[name] = mapper.class_
    return found


def declares_a_table(source: str, name: str) -> list[str]:
    """What in class `name`'s own statement, in `source`, makes it a persistence row: a base (SQLModel, a declarative
    base), a keyword (SQLModel's `table=True`), a table-ish name assigned in its body."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.name == name:
            found = [f"base {ast.unparse(b)}" for b in node.bases]
            found += [f"keyword {k.arg}" for k in node.keywords]
            for stmt in node.body:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
                found += [t.id for t in targets if isinstance(t, ast.Name) and t.id in TABLE_WORDS]
            return found
    raise AssertionError(f"no class {name}")


def test_every_table_is_mapped_onto_one_class() -> None:
    assert set(mapped()) == set(schema.metadata.tables)


def test_every_mapped_class_is_a_plain_dataclass_declared_outside_the_adapter() -> None:
    rows = {}
    for table, cls in sorted(mapped().items()):
        problems = []
        if issubclass(cls, SQLModel | DeclarativeBase):
            problems.append("a SQLModel or declarative row")
        if not dataclasses.is_dataclass(cls):
            problems.append("not a dataclass")
        where = Path(inspect.getfile(cls)).resolve().relative_to(ROOT).as_posix()
        if where.startswith(("bot/repo/", "bot/migrations/")):
            problems.append(f"declared in {where}")
        problems += declares_a_table(Path(inspect.getfile(cls)).read_text(encoding="utf-8"), cls.__name__)
        if problems:
            rows[f"{table}: {cls.__module__}.{cls.__name__}"] = problems
    assert rows == {}


def test_the_records_are_the_ones_the_adapters_and_the_console_import() -> None:
    """The payment adapters' records and the console's are mapped onto the tables they had as SQLModel rows."""
    tables = mapped()
    records = {
        "bot.ports.records": {"stripeuser", "stripepayment", "mangopayuser"},
        "bot.console.records": {"operator", "operator_session", "console_action", "sign_in_attempt", "chart_hour"},
    }
    for module, names in records.items():
        loaded = importlib.import_module(module)
        assert {n: tables[n] for n in names} == {n: getattr(loaded, tables[n].__name__) for n in names}


def test_the_finder_sees_a_row_that_declares_its_table() -> None:
    source = (
        "class Row(SQLModel, table=True):\n    __tablename__ = 'row'\n    id: int | None = None\n"
        "@entity\nclass Plain:\n    id: int | None = None\n"
        "class Declared(Base):\n    __table__: Table = row_table\n"
    )
    assert declares_a_table(source, "Row") == ["base SQLModel", "keyword table", "__tablename__"]
    assert declares_a_table(source, "Plain") == []
    assert declares_a_table(source, "Declared") == ["base Base", "__table__"]


NOW = datetime(2026, 12, 8, tzinfo=UTC)


def test_the_records_keep_the_rows_defaults() -> None:
    """The defaults the SQLModel rows declared: None, False, "{}", 0; an id None until the store gives one."""
    assert StripeUser(user_id="1", updated_at=NOW) == StripeUser(
        user_id="1", customer_id=None, payment_method_id=None, account_id=None, account_ready=False, updated_at=NOW
    )
    paid = StripePayment(key="k", customer_id="c", amount_minor=1, currency="usd", updated_at=NOW)
    assert (paid.payment_intent_id, paid.session_id, paid.outcome) == (None, None, None)
    mangopay = MangopayUser(user_id="1", updated_at=NOW)
    assert (mangopay.owner, mangopay.kyc_regular, mangopay.wallets, mangopay.recurring) == (False, False, "{}", "{}")
    assert Operator(name="a", password_hash="h", created_at=NOW).totp_secret is None
    action = ConsoleAction(token_hash="t", operator="a", action="pause", question="?", created_at=NOW)
    assert (action.id, action.session_hash, action.used_at, action.ok, action.outcome) == (None,) * 5
    assert SignInAttempt(name="a", ip="192.0.2.1", at=NOW) == SignInAttempt(name="a", ip="192.0.2.1", at=NOW, ok=False)
    hour = ChartHour(hour=1)
    assert (hour.made, hour.sent, hour.sent_dm, hour.sent_reply, hour.dm_peak, hour.queued, hour.failed) == (0,) * 7
    OperatorSession(token_hash="t", operator="a", created_at=NOW, seen_at=NOW, expires_at=NOW)


def test_a_record_is_built_by_keyword_with_its_times_given() -> None:
    """By keyword only, as the entities; a time the row declared with no default must be given (the SQLModel row
    took none and failed at the INSERT, NOT NULL)."""
    with pytest.raises(TypeError):
        StripeUser("1", None, None, None, False, NOW)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="created_at"):
        Operator(name="a", password_hash="h")  # type: ignore[call-arg]

"""The console's sign-in and confirmation tokens on SQL: named statements on the console's own tables (operators,
their sessions, sign-in attempts, confirmation pages), each run in the caller's unit of work, so that
bot.console.operators and bot.console.actions keep their locks and their order of steps (the rules of sign-in and
of a token spent once are theirs; the SQL is here)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, delete, func, select, update

from bot.console.records import ConsoleAction, Operator, OperatorSession, SignInAttempt
from bot.repo.sql import SqlStore, SqlTx

__all__ = [
    "action_result",
    "any_operator",
    "count_alone",
    "delete_row",
    "end_session",
    "end_sessions_of",
    "failures_since",
    "forget_actions_before",
    "forget_attempts_before",
    "lock_operator",
    "operator_names",
    "record_action",
    "spend_action",
]


def any_operator(store: SqlStore) -> bool:
    with store() as s:
        return s.exec(select(Operator.name).limit(1)).first() is not None


def operator_names(store: SqlStore) -> list[str]:
    with store() as s:
        return list(s.exec(select(Operator.name).order_by(col(Operator.name))))


def lock_operator(s: SqlTx, name: str) -> Operator | None:
    """The operator's row, locked until the unit of work ends (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
    already serializes)."""
    return s.session.get(Operator, name, with_for_update=True)


def end_sessions_of(s: SqlTx, name: str) -> None:
    s.session.execute(delete(OperatorSession).where(col(OperatorSession.operator) == name))


def end_session(s: SqlTx, token_hash: str) -> None:
    s.session.execute(delete(OperatorSession).where(col(OperatorSession.token_hash) == token_hash))


def delete_row(s: SqlTx, row: object) -> None:
    s.session.delete(row)


def count_alone(s: SqlTx, key: int) -> None:
    """On PostgreSQL, the transaction-level advisory lock `key` (let go at commit or rollback); on SQLite nothing:
    every unit of work begins with BEGIN IMMEDIATE, which takes the store's one write lock."""
    if s.session.get_bind().dialect.name == "postgresql":
        s.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def failures_since(s: SqlTx, since: datetime, *, name: str | None = None, ip: str | None = None) -> int:
    """Failed sign-in attempts after `since`, by this name or from this address."""
    by = col(SignInAttempt.name) == name if name is not None else col(SignInAttempt.ip) == ip
    return int(
        s.exec(
            select(func.count())
            .select_from(SignInAttempt)
            .where(by, col(SignInAttempt.at) > since, col(SignInAttempt.ok).is_(False))
        ).one()
    )


def forget_attempts_before(s: SqlTx, before: datetime) -> None:
    s.session.execute(delete(SignInAttempt).where(col(SignInAttempt.at) < before))


def forget_actions_before(s: SqlTx, before: datetime) -> None:
    s.session.execute(delete(ConsoleAction).where(col(ConsoleAction.created_at) < before))


def _bound(
    token_hash: str, session_hash: str, operator: str, action: str, transfer_id: int | None
) -> list[ColumnElement[bool]]:
    return [
        col(ConsoleAction.token_hash) == token_hash,
        col(ConsoleAction.session_hash) == session_hash,
        col(ConsoleAction.operator) == operator,
        col(ConsoleAction.action) == action,
        col(ConsoleAction.transfer_id).is_(None)
        if transfer_id is None
        else col(ConsoleAction.transfer_id) == transfer_id,
    ]


def spend_action(
    s: SqlTx,
    *,
    token_hash: str,
    session_hash: str,
    operator: str,
    action: str,
    transfer_id: int | None,
    now: datetime,
    shown_after: datetime,
) -> tuple[ConsoleAction | None, bool]:
    """Spend the token bound to all of these, shown after `shown_after` and not spent yet, in one conditional UPDATE;
    then its row (None: no such token). True when this call spent it."""
    bound = _bound(token_hash, session_hash, operator, action, transfer_id)
    spent = s.session.execute(
        update(ConsoleAction)
        .where(
            *bound,
            col(ConsoleAction.used_at).is_(None),
            col(ConsoleAction.created_at) > shown_after,
        )
        .values(used_at=now)
    )
    row = s.exec(select(ConsoleAction).where(*bound)).first()
    return row, spent.rowcount == 1  # type: ignore[attr-defined]


def record_action(store: SqlStore, action_id: int, ok: bool, outcome: str) -> None:
    with store() as s:
        s.session.execute(
            update(ConsoleAction).where(col(ConsoleAction.id) == action_id).values(ok=ok, outcome=outcome)
        )
        s.commit()


def action_result(store: SqlStore, action_id: int, operator: str, session_hash: str) -> ConsoleAction | None:
    """A spent token's row, for the operator and the session it was shown in only (detached: readable after the
    unit of work)."""
    with store() as s:
        row: ConsoleAction | None = s.exec(
            select(ConsoleAction).where(
                col(ConsoleAction.id) == action_id,
                col(ConsoleAction.operator) == operator,
                col(ConsoleAction.session_hash) == session_hash,
                col(ConsoleAction.used_at).is_not(None),
            )
        ).first()
        if row is not None:
            s.session.expunge(row)
        return row

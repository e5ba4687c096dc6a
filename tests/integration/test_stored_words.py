"""The stored words (decision 37) come back from SQL as their enums' members, on SQLite and on PostgreSQL, whoever
wrote them (here plain strings, as rows written before the enums); a word that is no member fails when it is read,
naming its column and the word, and never passes as a plain string."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.domain import Cause, Fact, PagePurpose, PayoutStatus, Privacy, Send, Settle, Status, Step, TransferKind
from bot.domain.entities import Outbox, PageLink, Payout, Settlement, Transfer, TransferEvent, User
from bot.domain.values import Category, MessageKind
from bot.repo.engine import make_engine
from bot.repo.errors import UnknownWord
from bot.repo.sql import SqlStore

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def plain(word: str) -> Any:
    """`word` as a plain string where an entity's field wants its enum's member: what a row written before the
    enums holds, or one written by other code."""
    return word


def _fill(store: SqlStore) -> None:
    """One row of each entity with stored words, every word given as a plain string."""
    with store() as s:
        s.add(User(id="1", handle="alice", privacy=plain("quiet"), updated_at=NOW))
        s.add(
            Transfer(
                kind=plain("request"),
                root_tweet_id="100",
                command_tweet_id="100",
                sender_id="1",
                recipient_id="2",
                amount_minor=500,
                currency="USD",
                code="K7Q2",
                status=plain("held"),
                created_at=NOW,
                updated_at=NOW,
                expires_at=NOW + timedelta(minutes=10),
            )
        )
        s.add(TransferEvent(transfer_id=1, at=NOW, status=plain("held"), fact=plain("disputed")))
        s.add(
            Settlement(
                transfer_id=1,
                step=plain("refund"),
                seq=1,
                amount_minor=500,
                status=plain("pending"),
                cause=plain("operator"),
                created_at=NOW,
                updated_at=NOW,
            )
        )
        s.add(
            Outbox(
                kind=plain("dm"),
                priority=0,
                text="hi",
                status=plain("sent"),
                category=plain("dm_answer"),
                next_attempt_at=NOW,
                created_at=NOW,
            )
        )
        s.add(
            Payout(
                user_id="1", key="cashout:1", currency="USD", status=plain("succeeded"), created_at=NOW, updated_at=NOW
            )
        )
        s.add(PageLink(nonce="n1", purpose=plain("receive"), user_id="1", created_at=NOW, expires_at=NOW))
        s.commit()


def test_stored_words_are_read_back_as_members(database_url: str) -> None:
    engine = make_engine(database_url)
    store = SqlStore(engine)
    try:
        _fill(store)
        with store() as s:
            user, t = s.get(User, "1"), s.get(Transfer, 1)
            event, st = s.get(TransferEvent, 1), s.get(Settlement, 1)
            message, payout, link = s.get(Outbox, 1), s.get(Payout, 1), s.get(PageLink, "n1")
            counts = dict(s.exec(select(Transfer.status, Transfer.kind)).all())  # Core rows too
        assert user and t and event and st and message and payout and link
        read: list[tuple[object, type[StrEnum], str]] = [
            (user.privacy, Privacy, "quiet"),
            (t.kind, TransferKind, "request"),
            (t.status, Status, "held"),
            (event.status, Status, "held"),
            (event.fact, Fact, "disputed"),
            (st.step, Step, "refund"),
            (st.status, Settle, "pending"),
            (st.cause, Cause, "operator"),
            (message.kind, MessageKind, "dm"),
            (message.status, Send, "sent"),
            (message.category, Category, "dm_answer"),
            (payout.status, PayoutStatus, "succeeded"),
            (link.purpose, PagePurpose, "receive"),
        ]
        for value, enum, word in read:
            assert type(value) is enum and value == word, (value, enum)
        [(status, kind)] = counts.items()
        assert type(status) is Status and type(kind) is TransferKind
        with store() as s:  # an empty one stays None, not a member
            s.add(TransferEvent(transfer_id=1, at=NOW, status=plain("completed")))
            s.commit()
        with store() as s:
            again = s.get(TransferEvent, 2)
        assert again is not None and again.fact is None and again.status is Status.COMPLETED
    finally:
        engine.dispose()


def test_a_word_no_enum_knows_fails_when_read(database_url: str) -> None:
    engine = make_engine(database_url)
    store = SqlStore(engine)
    try:
        _fill(store)
        with engine.begin() as conn:  # a row edited by hand, past the CHECK the store keeps
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
            else:
                conn.execute(text("ALTER TABLE transfer DROP CONSTRAINT ck_transfer_status"))
            conn.execute(text("UPDATE transfer SET status = 'lost_in_space' WHERE id = 1"))
        with pytest.raises(UnknownWord, match=r"transfer\.status holds 'lost_in_space', which is no Status"):
            with store() as s:
                s.get(Transfer, 1)
        with pytest.raises(UnknownWord):
            with store() as s:
                s.transfers.of_root("100")  # through the port, as the use cases read
    finally:
        engine.dispose()

"""The repository port's contract: the same tests on the in-memory store, SQLite and PostgreSQL.

Each test pins one behaviour the use cases rely on (bot/repo/port.py): the unit of work, unique
keys, and every query's filter and order. A store that passes here can stand in for another."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import ENDED_BY_EDIT, Category, Fact, PayoutStatus, Send, Settle, Status, Step
from bot.domain.entities import (
    BALANCE,
    PRIORITY_CONFIRM,
    PRIORITY_OUTCOME,
    IdentityRecord,
    Outbox,
    PageLink,
    Payout,
    Settlement,
    Transfer,
    TransferEvent,
    User,
)
from bot.domain.marks import DmCursor, Mark, MentionCursor
from bot.repo.engine import make_engine
from bot.repo.memory import MemoryStore
from bot.repo.port import Conflict, Store
from bot.repo.sql import SqlStore

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Store]:
    """The store under test: in memory, on a SQLite file, on a fresh PostgreSQL database."""
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/store.db"
    else:
        from tests.support.pg import new_database

        url = new_database(request.getfixturevalue("postgres_admin"))
    sql = SqlStore(make_engine(url))
    yield sql
    sql.engine.dispose()


def transfer(root: str = "1", sender: str = "9", recipient: str = "2", **kw: object) -> Transfer:
    base: dict[str, object] = dict(
        root_tweet_id=root,
        command_tweet_id=root,
        sender_id=sender,
        recipient_id=recipient,
        amount_minor=500,
        currency="USD",
        code="K7Q2",
        status="pending",
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + 10 * MIN,
    )
    base.update(kw)
    return Transfer(**base)  # type: ignore[arg-type]


def outbox(**kw: object) -> Outbox:
    base: dict[str, object] = dict(
        kind="dm", priority=PRIORITY_OUTCOME, to_user_id="9", text="hi", next_attempt_at=NOW, created_at=NOW
    )
    base.update(kw)
    return Outbox(**base)  # type: ignore[arg-type]


def settlement(transfer_id: int, step: Step = Step.RELEASE, seq: int = 1, **kw: object) -> Settlement:
    base: dict[str, object] = dict(
        transfer_id=transfer_id,
        step=str(step),
        seq=seq,
        amount_minor=500,
        key=f"{step}:{transfer_id}:{seq}",
        status=str(Settle.PENDING),
        created_at=NOW,
        updated_at=NOW,
    )
    base.update(kw)
    return Settlement(**base)  # type: ignore[arg-type]


def add_all(store: Store, *rows: Transfer) -> list[int]:
    with store() as s:
        for r in rows:
            s.transfers.add(r)
        s.flush()
        ids = [r.id for r in rows]
        s.commit()
    assert all(i is not None for i in ids)
    return [i for i in ids if i is not None]


# ------------------------------------------------------------------ the unit of work


def test_nothing_is_saved_without_commit(store: Store) -> None:
    """Leaving a unit of work without commit() saves nothing."""
    with store() as s:
        s.transfers.add(transfer())
        s.flush()
    with store() as s:
        assert s.transfers.of_root("1") == []


def test_a_row_read_and_changed_is_saved_by_commit(store: Store) -> None:
    """A row read from a repository and changed is saved by commit, with no second add."""
    (tid,) = add_all(store, transfer())
    with store() as s:
        t = s.transfers.get(tid)
        assert t is not None
        t.status = Status.CANCELLED
        s.commit()
    with store() as s:
        again = s.transfers.get(tid)
        assert again is not None and again.status == Status.CANCELLED


def test_a_change_without_commit_is_forgotten(store: Store) -> None:
    (tid,) = add_all(store, transfer())
    with store() as s:
        t = s.transfers.get(tid)
        assert t is not None
        t.status = Status.CANCELLED
    with store() as s:
        again = s.transfers.get(tid)
        assert again is not None and again.status == Status.PENDING


def test_one_row_read_twice_is_one_object(store: Store) -> None:
    """Within a unit of work a row is one object, and a query sees a change made before it."""
    (tid,) = add_all(store, transfer())
    with store() as s:
        t = s.transfers.get(tid)
        assert t is not None
        t.status = Status.EXECUTING
        (same,) = s.transfers.of_root("1")
        assert same is t
        assert s.transfers.pending_of("9") == []
        assert s.transfers.with_status(Status.EXECUTING) == [t]


def test_new_rows_get_increasing_ids(store: Store) -> None:
    ids = add_all(store, transfer(recipient="2"), transfer(recipient="3"))
    more = add_all(store, transfer(recipient="4"))
    assert ids[0] < ids[1] < more[0]


def test_a_unit_of_work_goes_on_after_a_commit(store: Store) -> None:
    """What is changed after a commit is saved by the next one."""
    with store() as s:
        t = transfer()
        s.transfers.add(t)
        s.commit()
        t.status = Status.CANCELLED
        s.commit()
    with store() as s:
        (again,) = s.transfers.of_root("1")
        assert again.status == Status.CANCELLED


def test_rollback_forgets_and_the_unit_of_work_goes_on(store: Store) -> None:
    with store() as s:
        s.transfers.add(transfer(recipient="2"))
        s.rollback()
        s.transfers.add(transfer(recipient="3"))
        s.commit()
    with store() as s:
        assert [t.recipient_id for t in s.transfers.of_root("1")] == ["3"]


def test_one_transfer_per_post_and_pair_of_people(store: Store) -> None:
    """A second transfer for the same post, sender and recipient cannot be stored."""
    add_all(store, transfer())
    with pytest.raises(Conflict):
        with store() as s:
            s.transfers.add(transfer(code="ZZZZ"))
            s.commit()
    add_all(store, transfer(recipient="3"))
    with store() as s:
        assert len(s.transfers.of_root("1")) == 2


def test_two_units_of_work_cannot_both_add_one_transfer(store: Store) -> None:
    """Interleaved units of work: the second commit of the same key is refused (SQL: by the database)."""
    if isinstance(store, SqlStore) and store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: the second unit of work would wait for the first, not interleave")
    with store() as a, store() as b:
        assert b.transfers.of_root("1") == []  # b has looked before a commits
        a.transfers.add(transfer())
        a.commit()
        b.transfers.add(transfer(code="ZZZZ"))
        with pytest.raises(Conflict):
            b.commit()
    with store() as s:
        assert [t.code for t in s.transfers.of_root("1")] == ["K7Q2"]


def test_settlement_keys_are_unique(store: Store) -> None:
    (tid,) = add_all(store, transfer())
    with store() as s:
        s.settlements.add(settlement(tid))
        s.commit()
    with pytest.raises(Conflict):
        with store() as s:
            s.settlements.add(settlement(tid, seq=2, key=f"release:{tid}:1"))
            s.commit()
    with pytest.raises(Conflict):
        with store() as s:
            s.settlements.add(settlement(tid, key="other"))  # same transfer, step and seq
            s.commit()
    with store() as s:  # keyless rows (made outside paybot) do not collide
        s.settlements.add(settlement(tid, Step.REFUND, 1, key=None))
        s.settlements.add(settlement(tid, Step.REFUND, 2, key=None))
        s.commit()
        assert [x.seq for x in s.settlements.of(tid)] == [1, 1, 2]


def test_times_come_back_utc_aware(store: Store) -> None:
    """A time stored in any zone is read back as the same instant, in UTC."""
    paris = timezone(timedelta(hours=1))
    (tid,) = add_all(store, transfer(created_at=datetime(2026, 11, 28, 13, 0, tzinfo=paris)))
    with store() as s:
        t = s.transfers.get(tid)
        assert t is not None and t.created_at == NOW and t.created_at.utcoffset() == timedelta(0)


def test_naive_times_are_refused(store: Store) -> None:
    with store() as s:
        s.transfers.add(transfer(created_at=datetime(2026, 11, 28, 12, 0)))
        with pytest.raises(Exception, match="naive"):
            s.commit()


# ------------------------------------------------------------------ transfers


def test_transfer_queries_filter_and_order(store: Store) -> None:
    a, b, c, d = add_all(
        store,
        transfer("1", "9", "2", code="AAAA", pay_key="pay:1:9:2", payment_ref="pi_1"),
        transfer("1", "9", "3", code="AAAA", status="held", hold_until=NOW + 5 * MIN),
        transfer("1", "8", "2", code="BBBB", status="needs_auth", hold_until=NOW + 3 * MIN),
        transfer("5", "9", "3", code="CCCC", expires_at=NOW + 2 * MIN, lang="fr"),
    )
    with store() as s:
        assert [t.id for t in s.transfers.of_root("1")] == [a, b, c]
        assert [t.id for t in s.transfers.of_root("1", sender_id="9")] == [a, b]
        assert [t.id for t in s.transfers.of_root("1", sender_id="9", code="BBBB")] == []
        assert [t.id for t in s.transfers.of_roots(["5", "1", "7"])] == [a, b, c, d] and s.transfers.of_roots([]) == []
        assert [t.id for t in s.transfers.many([d, a, 999])] == [a, d]
        assert [t.id for t in s.transfers.pending_of("9")] == [a, d]
        assert [t.id for t in s.transfers.with_status(Status.PENDING, expires_by=NOW + 2 * MIN)] == [d]
        assert [t.id for t in s.transfers.with_status(Status.HELD, hold_by=NOW + 4 * MIN)] == []
        assert [t.id for t in s.transfers.with_status(Status.HELD, hold_by=NOW + 5 * MIN)] == [b]
        assert s.transfers.has_status(Status.NEEDS_AUTH) and not s.transfers.has_status(Status.COMPLETED)
        assert [t.id for t in s.transfers.held_for("3")] == [b]
        found = s.transfers.by_pay_key("pay:1:9:2")
        assert found is not None and found.id == a
        assert s.transfers.by_pay_key("nope") is None
        ref = s.transfers.by_payment_ref("pi_1")
        assert ref is not None and ref.id == a
        assert [t.id for t in s.transfers.by_pay_keys(["pay:1:9:2", "x"])] == [a]
        assert s.transfers.lang_of("9") == "fr" and s.transfers.lang_of("nobody") is None
        assert s.transfers.next_deadline() == NOW + 2 * MIN
        counts = s.transfers.count_by_status([Status.PENDING, Status.HELD, Status.RETURNED])
        assert counts == {Status.PENDING: 2, Status.HELD: 1}
        assert all(type(k) is Status for k in counts)  # the enum's members, not their words


def test_latest_and_history_orders(store: Store) -> None:
    a, b, c = add_all(
        store,
        transfer("1", "9", "2", code="AAAA", updated_at=NOW + 2 * MIN, created_at=NOW),
        transfer("2", "9", "2", code="BBBB", updated_at=NOW + MIN, created_at=NOW + MIN),
        transfer("3", "2", "9", code="AAAA", updated_at=NOW + 2 * MIN, created_at=NOW + MIN),
    )
    with store() as s:
        latest = s.transfers.latest_of("9")
        assert latest is not None and latest.id == a
        coded = s.transfers.latest_of("9", "BBBB")
        assert coded is not None and coded.id == b
        assert s.transfers.latest_of("9", "ZZZZ") is None
        assert [t.id for t in s.transfers.history("9", 10)] == [c, b, a]  # newest first; a tie: the newer id
        assert [t.id for t in s.transfers.history("9", 2)] == [c, b]


def test_what_closed_unanswered(store: Store) -> None:
    """closed_unanswered: a sender's transfers that expired, or that an edit of their post cancelled, after a
    time; not those cancelled for another reason, nor another sender's, nor those that closed before it."""
    a, _, c, _, _, _ = add_all(
        store,
        transfer("1", "9", "2", status="expired", updated_at=NOW + 2 * MIN),
        transfer("2", "9", "2", status="expired", updated_at=NOW - MIN),
        transfer("3", "9", "2", status="cancelled", reason=ENDED_BY_EDIT, updated_at=NOW + 3 * MIN),
        transfer("4", "9", "2", status="cancelled", reason="sender said no", updated_at=NOW + 3 * MIN),
        transfer("5", "8", "2", status="expired", updated_at=NOW + 3 * MIN),
        transfer("6", "9", "2", status="pending", updated_at=NOW + 3 * MIN),
    )
    with store() as s:
        assert [t.id for t in s.transfers.closed_unanswered("9", NOW)] == [a, c]
        assert [t.id for t in s.transfers.closed_unanswered("9", NOW + 2 * MIN)] == [a, c]  # at or after
        assert [t.id for t in s.transfers.closed_unanswered("9", NOW + 3 * MIN)] == [c]
        assert s.transfers.closed_unanswered("7", NOW - 10 * MIN) == []


def test_the_caps_measures(store: Store) -> None:
    """What a sender moved, requests made and asked of a payer, and the strangers paid."""
    add_all(
        store,
        transfer("1", "9", "2", status="completed", confirmed_at=NOW, amount_minor=300),
        transfer("2", "9", "3", status="executing", confirmed_at=NOW - 2 * MIN, amount_minor=200),
        transfer("3", "9", "4", status="failed", confirmed_at=NOW, amount_minor=1000),
        transfer("4", "9", "5", status="returned", confirmed_at=NOW - 25 * 60 * MIN, amount_minor=7),
        transfer("6", "2", "7", kind="request", created_at=NOW),
        transfer("6", "3", "7", kind="request", created_at=NOW),
        transfer("8", "2", "7", kind="request", created_at=NOW - 2 * 60 * MIN),
    )
    with store() as s:
        s.users.add(User(id="2", handle="wrote", updated_at=NOW, wrote_at=NOW))
        s.users.add(User(id="3", handle="never", updated_at=NOW))
        s.commit()
    with store() as s:
        assert s.transfers.moved_since("9", NOW - 24 * 60 * MIN) == 500
        assert s.transfers.moved_since("9", NOW - MIN) == 300
        assert s.transfers.requests_since(NOW - 60 * MIN, requester_id="7") == 1  # two payers, one post
        assert s.transfers.requests_since(NOW - 3 * 60 * MIN, requester_id="7") == 2
        assert s.transfers.requests_since(NOW - 3 * 60 * MIN, payer_id="2") == 2
        assert s.transfers.requests_since(NOW - 3 * 60 * MIN, payer_id="3") == 1
        # "4" failed, "5" is unknown (never seen: no user row), "2" wrote to the bot
        assert s.transfers.strangers_paid("9", NOW - 24 * 60 * MIN, other_than_root="99") == {"3"}
        assert s.transfers.strangers_paid("9", NOW - 24 * 60 * MIN, other_than_root="2") == set()


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_pending_and_moved_answer_alike_when_read_ahead(store: Store, warm: bool) -> None:
    """`warm` changes no answer: transfers confirmed, added, cancelled after it are counted as a query would."""
    a, b, c = add_all(
        store,
        transfer("1", "9", "2", status="completed", confirmed_at=NOW - 60 * MIN),
        transfer("2", "9", "3"),
        transfer("3", "9", "4", status="executing", confirmed_at=NOW - 30 * MIN),
    )
    with store() as s:
        if warm:
            s.transfers.warm(["9", "8"], NOW - 24 * 60 * MIN)
        assert [t.id for t in s.transfers.pending_of("9")] == [b] and s.transfers.pending_of("8") == []
        assert s.transfers.moved_since("9", NOW - 24 * 60 * MIN) == 1000
        pending = s.transfers.get(b)
        assert pending is not None
        pending.status, pending.confirmed_at = Status.EXECUTING, NOW  # confirmed in this unit of work
        s.transfers.add(transfer("4", "9", "5"))  # a new command
        s.transfers.add(transfer("4", "8", "5", amount_minor=7))
        assert [t.root_tweet_id for t in s.transfers.pending_of("9")] == ["4"]
        assert [t.amount_minor for t in s.transfers.pending_of("8")] == [7]
        assert s.transfers.moved_since("9", NOW - 24 * 60 * MIN) == 1500
        assert s.transfers.moved_since("9", NOW - 45 * MIN) == 1000  # a later start counts less
        assert s.transfers.moved_since("9", NOW - 48 * 60 * MIN) == 1500  # an earlier one than read ahead
        done = s.transfers.get(c)
        assert done is not None
        done.status = Status.FAILED
        assert s.transfers.moved_since("9", NOW - 24 * 60 * MIN) == 1000
        assert a


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_sends_and_closed_answer_alike_when_read_ahead(store: Store, warm: bool) -> None:
    """`warm` changes no answer of `sends_since` and `closed_unanswered`, for rows changed in the unit of work
    too."""
    a, b, _ = add_all(
        store,
        transfer("1", "9", "2", kind="send", created_at=NOW - 30 * MIN, updated_at=NOW - 30 * MIN),
        transfer("2", "9", "3", kind="send", status="expired", created_at=NOW - 90 * MIN, updated_at=NOW - 20 * MIN),
        transfer("3", "9", "4", kind="request", created_at=NOW - 10 * MIN, updated_at=NOW - 10 * MIN),
    )
    with store() as s:
        if warm:
            s.transfers.warm(["9"], NOW - 24 * 60 * MIN)
        assert s.transfers.sends_since("9", NOW - 60 * MIN, other_than_root="0") == 1
        assert s.transfers.sends_since("9", NOW - 60 * MIN, other_than_root="1") == 0
        assert [t.id for t in s.transfers.closed_unanswered("9", NOW - 60 * MIN)] == [b]
        first = s.transfers.get(a)
        assert first is not None
        first.status, first.reason, first.updated_at = Status.CANCELLED, ENDED_BY_EDIT, NOW  # voided now
        s.transfers.add(transfer("4", "9", "5", kind="send", created_at=NOW, updated_at=NOW))
        assert s.transfers.sends_since("9", NOW - 60 * MIN, other_than_root="0") == 2
        assert [t.id for t in s.transfers.closed_unanswered("9", NOW - 60 * MIN)] == [a, b]
        assert [t.id for t in s.transfers.closed_unanswered("9", NOW - 15 * MIN)] == [a]


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_strangers_paid_answer_alike_when_read_ahead(store: Store, warm: bool) -> None:
    add_all(
        store,
        transfer("1", "9", "2", status="completed", confirmed_at=NOW),
        transfer("2", "9", "3"),
        transfer("3", "9", "4", status="cancelled"),
        transfer("5", "9", "6", status="failed", confirmed_at=NOW),
        transfer("7", "9", "3", kind="request"),
    )
    with store() as s:
        for uid, wrote in (("2", None), ("3", None), ("4", None), ("6", None)):
            s.users.add(User(id=uid, handle=f"u{uid}", updated_at=NOW, wrote_at=wrote))
        s.commit()
    with store() as s:
        if warm:
            s.transfers.warm(["9"], NOW - 24 * 60 * MIN)
        s.transfers.add(transfer("8", "9", "7"))  # a new command to someone with no row yet: not counted
        assert s.transfers.strangers_paid("9", NOW - 24 * 60 * MIN, other_than_root="99") == {"2", "3"}
        assert s.transfers.strangers_paid("9", NOW - 24 * 60 * MIN, other_than_root="2") == {"2"}
        user = s.users.get("2")
        assert user is not None
        user.wrote_at = NOW  # they write to the bot: no longer a stranger
        assert s.transfers.strangers_paid("9", NOW - 24 * 60 * MIN, other_than_root="99") == {"3"}


def test_paid_since(store: Store) -> None:
    a, _, c = add_all(
        store,
        transfer("1", pay_key="k1", created_at=NOW),
        transfer("2", created_at=NOW),
        transfer("3", pay_key="k3", created_at=NOW - 60 * MIN),
    )
    with store() as s:
        assert [t.id for t in s.transfers.paid_since(NOW - MIN)] == [a]
        assert [t.id for t in s.transfers.paid_since(NOW - 61 * MIN)] == [a, c]


# ------------------------------------------------------------------ users, outbox, settlements, timeline


def test_users(store: Store) -> None:
    with store() as s:
        s.users.add(User(id="20", handle="b", updated_at=NOW))
        s.users.add(User(id="10", handle="a", updated_at=NOW))
        s.commit()
    with store() as s:
        u = s.users.get("10")
        assert u is not None and u.handle == "a" and s.users.get("30") is None
        assert [x.id for x in s.users.many(["20", "10", "30"])] == ["10", "20"]
        u.handle = "renamed"
        s.commit()
    with store() as s:  # one looked for and absent, then added in the same unit of work, is found
        assert s.users.many(["40"]) == [] and s.users.get("40") is None
        s.users.add(User(id="40", handle="c", updated_at=NOW))
        added = s.users.get("40")
        assert added is not None and added.handle == "c"
        s.rollback()
        assert s.users.get("40") is None
    with store() as s:
        again = s.users.get("10")
        assert again is not None and again.handle == "renamed"


def test_outbox_queries(store: Store) -> None:
    with store() as s:
        rows = [
            outbox(priority=PRIORITY_OUTCOME),
            outbox(priority=PRIORITY_CONFIRM, version="v1", transfer_root="r1", status=Send.SENDING, attempted_at=NOW),
            outbox(priority=PRIORITY_CONFIRM, version="v2", transfer_root="r2", next_attempt_at=NOW + MIN),
            outbox(
                kind="reply",
                priority=2,
                status=Send.SENT,
                about_user_id="9",
                category="error",
                created_at=NOW - 30 * MIN,
            ),
            outbox(priority=PRIORITY_OUTCOME, status=Send.FAILED, about_user_id="9", category="error"),
        ]
        for n, r in enumerate(rows):
            r.text = f"m{n}"
            s.outbox.add(r)
        s.commit()
    with store() as s:  # a message's id is not read back from the object added (the SQL store writes it later)
        stored = {m.text: m.id for m in s.outbox.many(range(1, 100)) if m.id is not None}
        ids = [stored[f"m{n}"] for n in range(len(rows))]
        assert ids == sorted(ids)
        assert [m.id for m in s.outbox.due(NOW, 10)] == [ids[1], ids[0]]  # priority first, then id
        assert [m.id for m in s.outbox.due(NOW + MIN, 1)] == [ids[1]]
        assert s.outbox.count_about("9", Category.ERROR, NOW - 60 * MIN) == 2
        assert s.outbox.count_about("9", Category.ERROR, NOW - 10 * MIN) == 1
        assert [m.id for m in s.outbox.confirmations_in_doubt(["v1", "v2"])] == [ids[1]]
        assert s.outbox.roots_awaiting_confirmation() == {"r1", "r2"}
        assert s.outbox.waiting() == 3
        item = s.outbox.get(ids[0] or 0)
        assert item is not None and item.text == "m0"
        assert [m.id for m in s.outbox.many([ids[2] or 0, ids[0] or 0, 999])] == [ids[0], ids[2]]
        assert s.outbox.many([ids[0] or 0])[0] is item


def test_settlement_queries(store: Store) -> None:
    (tid, other) = add_all(store, transfer(recipient="2"), transfer(recipient="3"))
    with store() as s:
        rows = [
            settlement(tid, Step.RELEASE, 1, status=str(Settle.FAILED), failure=BALANCE),
            settlement(tid, Step.RELEASE, 2),
            settlement(other, Step.REFUND, 1, ref="re_1", status=str(Settle.SUCCEEDED)),
        ]
        for r in rows:
            s.settlements.add(r)
        s.commit()
    with store() as s:
        assert [x.seq for x in s.settlements.of(tid)] == [1, 2]
        assert [x.key for x in s.settlements.unsent()] == [f"release:{tid}:2"]
        assert s.settlements.refused_for_balance() == {tid}
        by_key = s.settlements.by_key(f"release:{tid}:2")
        assert by_key is not None and by_key.seq == 2
        by_ref = s.settlements.by_ref("re_1")
        assert by_ref is not None and by_ref.transfer_id == other
        assert s.settlements.by_ref("nope") is None and s.settlements.of(None) == []


def test_payout_queries(store: Store) -> None:
    """Cash-outs: by key and by reference, the one in flight per user and currency, those not answered."""

    def payout(key: str, **kw: object) -> Payout:
        base: dict[str, object] = dict(
            user_id="9", key=key, currency="EUR", status=str(PayoutStatus.CREATED), created_at=NOW, updated_at=NOW
        )
        base.update(kw)
        return Payout(**base)  # type: ignore[arg-type]

    with store() as s:
        s.payouts.add(payout("cashout:1", status=str(PayoutStatus.SUCCEEDED), ref="po_1"))
        s.payouts.add(payout("cashout:2", ref="po_2"))
        s.payouts.add(payout("cashout:3", currency="USD"))
        s.commit()
    with store() as s:
        got = s.payouts.by_key("cashout:2")
        assert got is not None and got.ref == "po_2" and s.payouts.by_key("cashout:9") is None
        by_ref = s.payouts.by_ref("po_1")
        assert by_ref is not None and by_ref.key == "cashout:1"
        flying = s.payouts.in_flight("9", "EUR")
        assert flying is not None and flying.key == "cashout:2" and s.payouts.in_flight("8", "EUR") is None
        assert [p.key for p in s.payouts.unsent()] == ["cashout:3"] and s.payouts.open() == 2
        again = s.payouts.get(got.id or 0)
        assert again is got
    with pytest.raises(Conflict):
        with store() as s:
            s.payouts.add(payout("cashout:1"))
            s.commit()


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_awaiting_account_answers_alike_when_read_ahead(store: Store, warm: bool) -> None:
    """`Payouts.warm` changes no answer of `awaiting_account`: cash-outs added, or moved into or out of waiting,
    after it count as a query would see them, and a rollback forgets those added."""
    waiting = PayoutStatus.CONFIRM_ACCOUNT

    def payout(key: str, user: str = "9", status: PayoutStatus = waiting) -> Payout:
        return Payout(user_id=user, key=key, currency="EUR", status=status, created_at=NOW, updated_at=NOW)

    with store() as s:
        for p in (payout("a"), payout("b", status=PayoutStatus.CREATED), payout("c"), payout("d", user="8")):
            s.payouts.add(p)
        s.commit()
    with store() as s:
        if warm:
            s.payouts.warm(["9", "8", "7"])
        assert [p.key for p in s.payouts.awaiting_account("9")] == ["c", "a"]
        assert s.payouts.awaiting_account("7") == []
        b, c = s.payouts.by_key("b"), s.payouts.by_key("c")
        assert b is not None and c is not None
        b.status, c.status = waiting, PayoutStatus.NOT_MADE  # changed in this unit of work
        s.payouts.add(payout("e"))
        s.payouts.add(payout("f", user="7"))
        assert [p.key for p in s.payouts.awaiting_account("9")] == ["e", "b", "a"]
        assert [p.key for p in s.payouts.awaiting_account("7")] == ["f"]
        s.rollback()
        if warm:
            s.payouts.warm(["9", "7"])
        assert [p.key for p in s.payouts.awaiting_account("9")] == ["c", "a"]
        assert s.payouts.awaiting_account("7") == []
        s.payouts.add(payout("g", user="7"))
        s.commit()
        assert [p.key for p in s.payouts.awaiting_account("7")] == ["g"]
        assert [p.key for p in s.payouts.awaiting_account("8")] == ["d"]


def test_timeline_notes(store: Store) -> None:
    (tid,) = add_all(store, transfer())
    with store() as s:
        s.timeline.add(
            TransferEvent(transfer_id=tid, at=NOW, status=Status.HELD, note="funds withdrawn by a dispute (e1)")
        )
        s.timeline.add(TransferEvent(transfer_id=tid, at=NOW + MIN, status=Status.HELD, note="100% of it_"))
        s.timeline.add(TransferEvent(transfer_id=tid, at=NOW + MIN, status=Status.HELD, note=None))
        s.commit()
    with store() as s:
        assert [e.note for e in s.timeline.of(tid)][:2] == ["funds withdrawn by a dispute (e1)", "100% of it_"]
        assert s.timeline.noted(tid, "funds withdrawn")
        assert s.timeline.noted(tid, "nothing", "100% of")
        assert not s.timeline.noted(tid, "100_ of")  # a prefix is literal: no LIKE wildcards
        assert not s.timeline.noted(tid + 1, "funds withdrawn")
        assert not s.timeline.noted(tid)


def test_timeline_facts(store: Store) -> None:
    """A line's fact is found by its name, whatever the words of its note; another transfer's is not."""
    (tid, other) = add_all(store, transfer(), transfer(root="201"))
    with store() as s:
        s.timeline.add(
            TransferEvent(
                transfer_id=tid, at=NOW, status=Status.COMPLETED, note="disputed at the provider", fact=Fact.DISPUTED
            )
        )
        s.timeline.add(TransferEvent(transfer_id=other, at=NOW, status=Status.COMPLETED, note="funds withdrawn by it"))
        s.commit()
    with store() as s:
        assert s.timeline.recorded(tid, Fact.FUNDS_WITHDRAWN, Fact.DISPUTED)
        assert not s.timeline.recorded(tid, Fact.FUNDS_WITHDRAWN)
        assert not s.timeline.recorded(other, Fact.DISPUTED, Fact.FUNDS_WITHDRAWN)  # words are not a fact
        assert not s.timeline.recorded(tid)


# ------------------------------------------------------------------ processed ids, checkpoints, the lease


def test_processed_ids(store: Store) -> None:
    with store() as s:
        s.mentions.add("100", NOW)
        s.dms.add("event:1", NOW)
        s.commit()
    with store() as s:
        assert s.mentions.has("100") and not s.dms.has("100") and s.dms.has("event:1")
        assert s.mentions.unseen(["100", "101"]) == {"101"} and s.dms.unseen([]) == set()
    with pytest.raises(Conflict):
        with store() as s:
            s.mentions.add("100", NOW)
            s.commit()


def test_flags_are_on_only_when_set(store: Store) -> None:
    with store() as s:
        assert not s.checkpoints.flag(Mark.PAUSED) and s.checkpoints.get(Mark.PAUSED) is None
        s.checkpoints.set(Mark.PAUSED, "1")
        assert s.checkpoints.flag(Mark.PAUSED) and not s.checkpoints.flag(Mark.WINDING_DOWN)
        s.commit()
    with store() as s:
        assert s.checkpoints.flag(Mark.PAUSED)
        s.checkpoints.set(Mark.PAUSED, "")
        s.commit()
    with store() as s:
        assert not s.checkpoints.flag(Mark.PAUSED) and s.checkpoints.get(Mark.PAUSED) == ""


def test_the_mention_cursor_trails_one_poll_behind(store: Store) -> None:
    """`since` is the newest id of the poll before: a mention X indexed late falls in the next window."""
    with store() as s:
        start = MentionCursor.read(s.checkpoints)
    assert start == MentionCursor(None, None)
    first = start.after("100")
    assert first == MentionCursor("100", "100")
    assert first is not None and first.after("90") is None and first.after("100") is None
    second = first.after("150")
    assert second == MentionCursor("100", "150")
    with store() as s:
        assert second is not None
        second.write(s.checkpoints)
        s.commit()
    with store() as s:
        assert MentionCursor.read(s.checkpoints) == MentionCursor("100", "150")
        assert s.checkpoints.get(Mark.MENTIONS_SINCE) == "100"


def test_the_dm_cursor_moves_its_stop_mark_only_when_a_backlog_is_read(store: Store) -> None:
    cursor = DmCursor(newest="10")
    reading = cursor.after(["30", "25"], resume="token-1")  # newest page first; older ones remain
    assert reading == DmCursor("10", "token-1", "30")
    reading = reading.after(["20", "15"], resume="token-2")
    assert reading == DmCursor("10", "token-2", "30")  # the newest seen is kept while the sweep goes on
    done = reading.after(["12"], resume=None)
    assert done == DmCursor("30", None, None)
    assert done.after([], resume=None) == done  # an empty page keeps the mark
    with store() as s:
        reading.write(s.checkpoints)
        s.commit()
    with store() as s:
        assert DmCursor.read(s.checkpoints) == DmCursor("10", "token-2", "30")
        done.write(s.checkpoints)
        s.commit()
    with store() as s:
        assert DmCursor.read(s.checkpoints) == DmCursor("30", None, None)


def test_one_lease_holder_at_a_time(store: Store) -> None:
    """Only one worker holds the lease; another gets it once it lapses, not before."""
    ttl = timedelta(seconds=30)
    assert store.take_lease("worker", "a", NOW, ttl)
    assert not store.take_lease("worker", "b", NOW + timedelta(seconds=10), ttl)
    assert store.take_lease("worker", "a", NOW + timedelta(seconds=20), ttl)  # renewal
    assert not store.take_lease("worker", "b", NOW + timedelta(seconds=49), ttl)
    assert store.take_lease("worker", "b", NOW + timedelta(seconds=51), ttl)
    assert not store.take_lease("worker", "a", NOW + timedelta(seconds=52), ttl)
    store.release_lease("worker", "b", NOW + timedelta(seconds=53))
    assert store.take_lease("worker", "a", NOW + timedelta(seconds=54), ttl)  # given up: no wait


# ------------------------------------------------------------------ the memory store against SQLite, by property

OPS = st.lists(
    st.tuples(
        st.sampled_from(["add", "status", "hold", "commit", "rollback"]),
        st.integers(0, 3),
        st.integers(0, 3),
        st.sampled_from(list(Status)),
    ),
    max_size=25,
)


def _replay(store: Store, ops: list[tuple[str, int, int, Status]]) -> list[object]:
    """Apply the operations in one unit of work; return what the queries answer after it."""
    with store() as s:
        for op, a, b, status in ops:
            if op == "add":
                try:
                    s.transfers.add(
                        transfer(str(a), "9", str(b), created_at=NOW + a * MIN, expires_at=NOW + (a + b) * MIN)
                    )
                    s.flush()
                except Conflict:
                    s.rollback()
            elif op in ("status", "hold"):
                for t in s.transfers.of_root(str(a)):
                    if op == "status":
                        t.status = status
                    else:
                        t.hold_until = NOW + b * MIN
            elif op == "commit":
                s.commit()
            else:
                s.rollback()
        s.commit()
    with store() as s:
        key = [(t.root_tweet_id, t.recipient_id, t.status, t.hold_until) for t in s.transfers.history("9", 100)]
        return [
            key,
            s.transfers.next_deadline(),
            s.transfers.count_by_status(list(Status)),
            [(t.root_tweet_id, t.recipient_id) for t in s.transfers.pending_of("9")],
            [t.root_tweet_id for t in s.transfers.with_status(Status.HELD, hold_by=NOW + 2 * MIN)],
        ]


@given(OPS)
def test_the_memory_store_answers_as_sqlite_does(ops: list[tuple[str, int, int, Status]]) -> None:
    """Any sequence of adds, changes, commits and rollbacks leaves both stores answering alike."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        sql = SqlStore(make_engine(f"sqlite:///{tmp}/p.db"))
        try:
            assert _replay(MemoryStore(), ops) == _replay(sql, ops)
        finally:
            sql.engine.dispose()


def page_link(nonce: str = "n1", **kw: object) -> PageLink:
    base: dict[str, object] = dict(
        nonce=nonce, purpose="receive", user_id="9", lang="fr", created_at=NOW, expires_at=NOW + 15 * MIN, used_at=None
    )
    base.update(kw)
    return PageLink(**base)  # type: ignore[arg-type]


def test_a_page_link_is_used_once_before_its_end(store: Store) -> None:
    """`use` marks a link once; not again, not past its end, not one never stored; a use not committed is
    forgotten; of two units of work, the one after the other's commit is told no."""
    with store() as tx:
        tx.page_links.add(page_link("n1"))
        tx.page_links.add(page_link("n2", expires_at=NOW + MIN))
        tx.commit()
    with store() as tx:
        assert tx.page_links.use("n1", NOW)  # then left without commit
    with store() as one, store() as two:
        assert one.page_links.use("n1", NOW) and not one.page_links.use("n1", NOW)
        one.commit()
        assert not two.page_links.use("n1", NOW + MIN)
    with store() as tx:
        assert not tx.page_links.use("n2", NOW + MIN) and not tx.page_links.use("nope", NOW)
        used = tx.page_links.get("n1")
        assert used is not None and used.used_at == NOW and used.user_id == "9" and used.lang == "fr"
        fresh = tx.page_links.get("n2")
        assert fresh is not None and fresh.used_at is None and fresh.expires_at == NOW + MIN


def test_a_page_link_is_claimed_by_one_holder_then_used_by_it_only(store: Store) -> None:
    """`claim` holds a link for one token: of two units of work claiming at once, the one after the other's commit
    is told no; nobody may claim it while it is held, not even its holder with a new token; `release` by another
    token does nothing, by the holder frees it; `use_claimed` marks it used for its holder only, past the link's end
    too; no claim on a link used, ended or never stored."""
    with store() as tx:
        tx.page_links.add(page_link("n1"))
        tx.page_links.add(page_link("n2", expires_at=NOW + MIN))
        tx.commit()
    with store() as one, store() as two:
        assert one.page_links.claim("n1", "a", NOW)
        one.commit()
        assert not two.page_links.claim("n1", "b", NOW)
    with store() as tx:
        assert not tx.page_links.claim("n1", "b", NOW) and not tx.page_links.claim("n1", "a2", NOW)
        tx.page_links.release("n1", "b")
        tx.commit()
    with store() as tx:
        claimed = tx.page_links.get("n1")
        assert claimed is not None and claimed.claim == "a"
        assert not tx.page_links.use_claimed("n1", "b", NOW) and not tx.page_links.claim("n1", "b", NOW)
        tx.page_links.release("n1", "a")
        tx.commit()
    with store() as tx:
        assert tx.page_links.claim("n1", "b", NOW)
        tx.commit()
    with store() as tx:
        assert tx.page_links.use_claimed("n1", "b", NOW + 20 * MIN)  # the claim was won within the link's minutes
        tx.commit()
    with store() as tx:
        assert not tx.page_links.use_claimed("n1", "b", NOW) and not tx.page_links.claim("n1", "c", NOW)
        assert not tx.page_links.claim("n2", "c", NOW + MIN) and not tx.page_links.claim("nope", "c", NOW)
        used = tx.page_links.get("n1")
        assert used is not None and used.used_at == NOW + 20 * MIN


def test_a_persons_identity_is_replaced_by_a_new_one(store: Store) -> None:
    """One identity per person: a new record replaces the stored one whole; times come back UTC."""

    def record(**kw: object) -> IdentityRecord:
        base: dict[str, object] = dict(
            user_id="9",
            first_name="Alice",
            last_name="Martin",
            email="a@example.com",
            birthday=date(1990, 3, 31),
            nationality="FR",
            residence="FR",
            address_line1="1 rue",
            address_line2=None,
            city="Paris",
            region=None,
            postal_code="75001",
            terms_url="https://mangopay.com/terms-and-conditions",
            terms_accepted_at=NOW,
            lang="fr",
            updated_at=NOW,
        )
        base.update(kw)
        return IdentityRecord(**base)  # type: ignore[arg-type]

    with store() as tx:
        assert tx.identities.get("9") is None
        tx.identities.add(record())
        tx.commit()
    with store() as tx:
        assert tx.identities.get("9") is not None
        tx.identities.add(record(email="b@example.com", city="Lyon", terms_accepted_at=NOW + MIN))
        tx.commit()
    with store() as tx:
        got = tx.identities.get("9")
        assert got is not None and (got.email, got.city, got.birthday) == ("b@example.com", "Lyon", date(1990, 3, 31))
        assert got.terms_accepted_at == NOW + MIN and got.terms_accepted_at.tzinfo is not None

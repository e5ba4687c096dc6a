"""The memory store's tables as a unit of work sees them (copies, checked for unique keys), what its
repositories share, and its transfers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from bot.domain import EDIT_REASONS, MOVED, Status, TransferKind
from bot.domain.entities import (
    Checkpoint,
    IdentityRecord,
    Lease,
    Outbox,
    PageLink,
    Payout,
    ProcessedDm,
    ProcessedTweet,
    Settlement,
    Transfer,
    TransferEvent,
    User,
)
from bot.repo.port import Conflict

R = TypeVar("R")
Row = dict[str, Any]

# Each table: its primary key field, whether the store numbers it, and its other unique keys.
SHAPES: dict[type, tuple[str, bool, tuple[tuple[str, ...], ...]]] = {
    Transfer: ("id", True, (("root_tweet_id", "sender_id", "recipient_id"),)),
    Settlement: ("id", True, (("transfer_id", "step", "seq"), ("key",))),
    Outbox: ("id", True, ()),
    TransferEvent: ("id", True, ()),
    User: ("id", False, ()),
    ProcessedTweet: ("id", False, ()),
    ProcessedDm: ("id", False, ()),
    Checkpoint: ("name", False, ()),
    Lease: ("name", False, ()),
    Payout: ("id", True, (("key",),)),
    IdentityRecord: ("user_id", False, ()),
    PageLink: ("nonce", False, ()),
}


# Each entity's fields, in order.
NAMES: dict[type, tuple[str, ...]] = {m: tuple(f.name for f in dataclasses.fields(m)) for m in SHAPES}


def dump(row: object) -> Row:
    """The row's fields and their values."""
    return {name: getattr(row, name) for name in NAMES[type(row)]}


def _copy(row: R) -> R:
    return type(row)(**dump(row))


def _utc(value: Any) -> Any:
    """A time as the SQL store keeps it: the same instant in UTC; a naive time is refused."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use UTC-aware times")
    return value.astimezone(UTC)


def _uniques(model: type, row: object) -> list[tuple[Any, ...]]:
    """The row's unique keys (a key with a None in it is no key, as in SQL)."""
    _, _, keys = SHAPES[model]
    found = []
    for fields in keys:
        values = tuple(getattr(row, f) for f in fields)
        if None not in values:
            found.append((fields, values))
    return found


class Committed(Protocol):
    """What a table's unit of work reads of the store (bot.repo.memory.MemoryStore): the committed rows, the ids."""

    tables: dict[type, dict[Any, Row]]
    counters: dict[type, int]


class Unit(Protocol):
    """What a repository asks of its unit of work (bot.repo.memory.MemoryTx): one table as it sees it, and the
    store it works on."""

    @property
    def store(self) -> Committed: ...

    def work(self, model: type[R]) -> _Work[R]: ...


class _Work(Generic[R]):
    """One table as one unit of work sees it: copies of the committed rows, plus what it added."""

    def __init__(self, store: Committed, model: type[R]) -> None:
        self.store, self.model = store, model
        self.pk, self.numbered, _ = SHAPES[model]
        self.rows: dict[Any, R] = {k: model(**v) for k, v in store.tables[model].items()}
        self.before: dict[Any, Row] = {k: dict(v) for k, v in store.tables[model].items()}

    def add(self, row: R) -> None:
        if self.numbered and getattr(row, self.pk) is None:
            self.store.counters[self.model] += 1
            setattr(row, self.pk, self.store.counters[self.model])
        key = getattr(row, self.pk)
        if key in self.rows and self.rows[key] is not row:
            raise Conflict(f"a {self.model.__name__} with {self.pk} {key!r} exists")
        for fields, values in _uniques(self.model, row):
            if any(r is not row and tuple(getattr(r, f) for f in fields) == values for r in self.rows.values()):
                raise Conflict(f"a {self.model.__name__} with {fields} {values!r} exists")
        self.rows[key] = row

    def get(self, key: Any) -> R | None:
        return self.rows.get(key)

    def where(self, test: Callable[[R], bool], order: Callable[[R], Any] | None = None) -> list[R]:
        found = [r for r in self.rows.values() if test(r)]
        return sorted(found, key=order or (lambda r: getattr(r, self.pk)))

    def sync(self) -> None:
        """After a commit: what is committed is the new starting point; rows others committed come in."""
        for key, row in self.store.tables[self.model].items():
            if key not in self.rows:
                self.rows[key] = self.model(**row)
        self.before = {k: dump(r) for k, r in self.rows.items()}

    def changes(self) -> dict[Any, Row]:
        """The rows to write back: new ones and those whose fields changed (times in UTC, as SQL keeps them)."""
        out = {}
        for key, row in self.rows.items():
            now = {k: _utc(v) for k, v in dump(row).items()}
            if self.before.get(key) != now:
                out[key] = now
        return out


class _Repo(Generic[R]):
    model: type[R]

    def __init__(self, tx: Unit) -> None:
        self.tx = tx

    @property
    def t(self) -> _Work[R]:
        return self.tx.work(self.model)

    def get(self, key: Any) -> R | None:
        return self.t.get(key)

    def add(self, row: R) -> None:
        self.t.add(row)


class MemTransfers(_Repo[Transfer]):
    model = Transfer

    def many(self, ids: Iterable[int], *, status: Status | None = None) -> list[Transfer]:
        wanted = set(ids)
        return self.t.where(lambda t: t.id in wanted and status in (None, t.status))

    def of_root(self, root_id: str, *, sender_id: str | None = None, code: str | None = None) -> list[Transfer]:
        return self.t.where(
            lambda t: t.root_tweet_id == root_id and sender_id in (None, t.sender_id) and code in (None, t.code)
        )

    def of_roots(self, root_ids: Iterable[str]) -> list[Transfer]:
        wanted = set(root_ids)
        return self.t.where(lambda t: t.root_tweet_id in wanted)

    def warm(self, sender_ids: Iterable[str], since: datetime) -> None:
        """Nothing to read ahead in memory."""

    def pending_of(self, sender_id: str) -> list[Transfer]:
        return self.t.where(lambda t: t.sender_id == sender_id and t.status == Status.PENDING)

    def left_pending_since(self, sender_id: str, since: datetime) -> list[Transfer]:
        return self.t.where(
            lambda t: (
                t.sender_id == sender_id
                and t.status != Status.PENDING
                and (t.updated_at >= since or (t.confirmed_at is not None and t.confirmed_at >= since))
            )
        )

    def closed_unanswered(self, sender_id: str, since: datetime) -> list[Transfer]:
        return self.t.where(
            lambda t: (
                t.sender_id == sender_id
                and t.updated_at >= since
                and (t.status == Status.EXPIRED or (t.status == Status.CANCELLED and t.reason in EDIT_REASONS))
            )
        )

    def with_status(
        self, status: Status, *, expires_by: datetime | None = None, hold_by: datetime | None = None
    ) -> list[Transfer]:
        return self.t.where(
            lambda t: (
                t.status == status
                and (expires_by is None or t.expires_at <= expires_by)
                and (hold_by is None or (t.hold_until is not None and t.hold_until <= hold_by))
            )
        )

    def has_status(self, status: Status) -> bool:
        return any(t.status == status for t in self.t.rows.values())

    def held_for(self, recipient_id: str) -> list[Transfer]:
        return self.t.where(lambda t: t.recipient_id == recipient_id and t.status == Status.HELD)

    def by_pay_key(self, key: str) -> Transfer | None:
        return next(iter(self.t.where(lambda t: t.pay_key == key)), None)

    def by_payment_ref(self, ref: str) -> Transfer | None:
        return next(iter(self.t.where(lambda t: t.payment_ref == ref)), None)

    def by_pay_keys(self, keys: Iterable[str]) -> list[Transfer]:
        wanted = set(keys)
        return self.t.where(lambda t: t.pay_key in wanted)

    def paid_since(self, since: datetime) -> list[Transfer]:
        return self.t.where(lambda t: t.pay_key is not None and t.created_at >= since)

    def latest_of(self, sender_id: str, code: str | None = None) -> Transfer | None:
        rows = self.t.where(
            lambda t: t.sender_id == sender_id and code in (None, t.code), order=lambda t: (t.updated_at, t.id)
        )
        return rows[-1] if rows else None

    def lang_of(self, sender_id: str) -> str | None:
        rows = self.t.where(lambda t: t.sender_id == sender_id)
        return rows[-1].lang if rows else None

    def history(self, user_id: str, limit: int) -> list[Transfer]:
        rows = self.t.where(lambda t: user_id in (t.sender_id, t.recipient_id), order=lambda t: (t.created_at, t.id))
        return rows[::-1][:limit]

    def next_deadline(self) -> datetime | None:
        times = [t.expires_at for t in self.t.where(lambda t: t.status == Status.PENDING)]
        times += [
            t.hold_until
            for t in self.t.where(lambda t: t.status in (Status.HELD, Status.NEEDS_AUTH))
            if t.hold_until is not None
        ]
        return min(times) if times else None

    def count_by_status(self, statuses: Iterable[Status]) -> dict[Status, int]:
        wanted = set(statuses)
        out: dict[Status, int] = {}
        for t in self.t.where(lambda t: t.status in wanted):
            out[Status(t.status)] = out.get(Status(t.status), 0) + 1
        return out

    def requests_since(self, since: datetime, *, requester_id: str | None = None, payer_id: str | None = None) -> int:
        return len(
            {
                t.root_tweet_id
                for t in self.t.where(
                    lambda t: (
                        t.kind == TransferKind.REQUEST
                        and t.created_at >= since
                        and requester_id in (None, t.recipient_id)
                        and payer_id in (None, t.sender_id)
                    )
                )
            }
        )

    def received_since(self, recipient_id: str, currency: str, since: datetime) -> int:
        return sum(
            t.amount_minor
            for t in self.t.where(
                lambda t: (
                    t.recipient_id == recipient_id
                    and t.currency == currency
                    and t.status == Status.COMPLETED
                    and t.updated_at >= since
                )
            )
        )

    def sends_since(self, sender_id: str, since: datetime, *, other_than_root: str) -> int:
        return len(
            {
                t.root_tweet_id
                for t in self.t.where(
                    lambda t: (
                        t.kind == TransferKind.SEND
                        and t.sender_id == sender_id
                        and t.created_at >= since
                        and t.root_tweet_id != other_than_root
                    )
                )
            }
        )

    def strangers_paid(self, sender_id: str, since: datetime, *, other_than_root: str) -> set[str]:
        users = self.tx.work(User)
        ended = (Status.CANCELLED, Status.EXPIRED, Status.FAILED)
        return {
            t.recipient_id
            for t in self.t.where(
                lambda t: (
                    t.kind == TransferKind.SEND
                    and t.sender_id == sender_id
                    and t.root_tweet_id != other_than_root
                    and t.created_at >= since
                    and t.status not in ended
                )
            )
            if (u := users.get(t.recipient_id)) is not None and u.wrote_at is None
        }

    def moved_since(self, sender_id: str, since: datetime) -> int:
        return sum(
            t.amount_minor
            for t in self.t.where(
                lambda t: (
                    t.sender_id == sender_id
                    and t.confirmed_at is not None
                    and t.confirmed_at >= since
                    and t.status in MOVED
                )
            )
        )

"""The repository port in memory: the same rows in dictionaries, for tests and dry runs.

A unit of work works on copies: the first time it touches a table it copies the committed rows;
`commit()` writes back the rows that changed or are new, after checking every unique key
against what is committed (so two units of work cannot both add the same post's transfer).
Ids are handed out at `add`, from a counter per table that a rollback does not take back (as
SQL sequences do). One process, one thread: units of work may interleave but not run in
parallel threads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from bot.domain import WAITING, Category, Fact, PayoutStatus, Send, Settle
from bot.domain.entities import (
    BALANCE,
    PRIORITY_CONFIRM,
    Checkpoint,
    IdentityRecord,
    Lease,
    Outbox,
    PageLink,
    Payout,
    ProcessedDm,
    ProcessedTweet,
    Settlement,
    TransferEvent,
    User,
)
from bot.domain.marks import Mark
from bot.repo.memory_tables import SHAPES, MemTransfers, R, Row, _Repo, _uniques, _utc, _Work
from bot.repo.port import Conflict, Store, Tx


class MemoryStore:
    """Committed rows per table, and the id counters."""

    def __init__(self) -> None:
        self.tables: dict[type, dict[Any, Row]] = {m: {} for m in SHAPES}
        self.counters: dict[type, int] = {m: 0 for m in SHAPES}

    @contextmanager
    def __call__(self) -> Iterator[MemoryTx]:
        yield MemoryTx(self)

    def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        row = self.tables[Lease].get(name)
        if row is not None and row["holder"] != holder and row["expires_at"] >= now:
            return False
        self.tables[Lease][name] = {"name": name, "holder": holder, "expires_at": now + ttl}
        return True

    def release_lease(self, name: str, holder: str, now: datetime) -> None:
        row = self.tables[Lease].get(name)
        if row is not None and row["holder"] == holder:
            row["expires_at"] = now


class MemUsers(_Repo[User]):
    model = User

    def many(self, ids: Iterable[str]) -> list[User]:
        wanted = set(ids)
        return self.t.where(lambda u: u.id in wanted)


class MemMessages(_Repo[Outbox]):
    model = Outbox

    def many(self, ids: Iterable[int]) -> list[Outbox]:
        wanted = set(ids)
        return self.t.where(lambda m: m.id in wanted)

    def due(self, now: datetime, limit: int) -> list[Outbox]:
        return self.t.where(
            lambda m: m.status in WAITING and m.next_attempt_at <= now, order=lambda m: (m.priority, m.id)
        )[:limit]

    def count_about(self, user_id: str, category: Category, since: datetime) -> int:
        return len(
            self.t.where(lambda m: m.about_user_id == user_id and m.category == category and m.created_at >= since)
        )

    def confirmations_in_doubt(self, versions: Iterable[str]) -> list[Outbox]:
        wanted = set(versions)
        return self.t.where(
            lambda m: m.version in wanted and m.status == Send.SENDING and m.priority == PRIORITY_CONFIRM
        )

    def roots_awaiting_confirmation(self) -> set[str]:
        return {
            m.transfer_root
            for m in self.t.where(lambda m: m.status in WAITING and m.priority == PRIORITY_CONFIRM)
            if m.transfer_root is not None
        }

    def waiting(self) -> int:
        return len(self.t.where(lambda m: m.status in WAITING))


class MemSettlements(_Repo[Settlement]):
    model = Settlement

    def by_key(self, key: str) -> Settlement | None:
        return next(iter(self.t.where(lambda st: st.key == key)), None)

    def by_ref(self, ref: str) -> Settlement | None:
        return next(iter(self.t.where(lambda st: st.ref == ref)), None)

    def of(self, transfer_id: int | None) -> list[Settlement]:
        return self.t.where(lambda st: st.transfer_id == transfer_id)

    def unsent(self) -> list[Settlement]:
        return self.t.where(lambda st: st.status == Settle.PENDING and st.ref is None)

    def refused_for_balance(self) -> set[int]:
        return {st.transfer_id for st in self.t.where(lambda st: st.failure == BALANCE)}


class MemPayouts(_Repo[Payout]):
    model = Payout

    def by_key(self, key: str) -> Payout | None:
        return next(iter(self.t.where(lambda p: p.key == key)), None)

    def by_ref(self, ref: str) -> Payout | None:
        return next(iter(self.t.where(lambda p: p.ref == ref)), None)

    def made_since(self, user_id: str, since: datetime) -> int:
        return len(
            self.t.where(
                lambda p: (
                    p.user_id == user_id
                    and p.created_at >= since
                    and p.status in (PayoutStatus.CREATED, PayoutStatus.SUCCEEDED, PayoutStatus.FAILED)
                )
            )
        )

    def in_flight(self, user_id: str, currency: str) -> Payout | None:
        return next(
            iter(
                self.t.where(
                    lambda p: p.user_id == user_id and p.currency == currency and p.status == PayoutStatus.CREATED
                )
            ),
            None,
        )

    def unsent(self) -> list[Payout]:
        return self.t.where(lambda p: p.status == PayoutStatus.CREATED and p.ref is None)

    def open(self) -> int:
        return len(self.t.where(lambda p: p.status == PayoutStatus.CREATED))

    def warm(self, user_ids: Iterable[str]) -> None:
        """Nothing to read ahead in memory."""

    def awaiting_account(self, user_id: str) -> list[Payout]:
        rows = self.t.where(lambda p: p.user_id == user_id and p.status == PayoutStatus.CONFIRM_ACCOUNT)
        return sorted(rows, key=lambda p: p.id or 0, reverse=True)

    def accounts_of(self, user_id: str) -> tuple[frozenset[str], frozenset[str]]:
        rows = [p for p in self.t.where(lambda p: p.user_id == user_id and p.account_ref is not None)]
        return (
            frozenset(p.account_ref for p in rows if p.account_ref and p.account_confirmed_at is not None),
            frozenset(p.account_ref for p in rows if p.account_ref and p.account_refused_at is not None),
        )


class MemSteps(_Repo[TransferEvent]):
    model = TransferEvent

    def of(self, transfer_id: int) -> list[TransferEvent]:
        return self.t.where(lambda e: e.transfer_id == transfer_id)

    def noted(self, transfer_id: int | None, *prefixes: str) -> bool:
        return (
            any(
                e.note is not None and e.note.startswith(prefixes)
                for e in self.t.where(lambda e: e.transfer_id == transfer_id)
            )
            if prefixes
            else False
        )

    def recorded(self, transfer_id: int | None, *facts: Fact) -> bool:
        return bool(self.t.where(lambda e: e.transfer_id == transfer_id and e.fact in facts))


class MemProcessed:
    def __init__(self, tx: MemoryTx, model: type[ProcessedTweet] | type[ProcessedDm]) -> None:
        self.tx, self.model = tx, model

    def has(self, event_id: str) -> bool:
        return self.tx.work(self.model).get(event_id) is not None

    def add(self, event_id: str, at: datetime) -> None:
        self.tx.work(self.model).add(self.model(id=event_id, processed_at=at))

    def unseen(self, ids: Iterable[str]) -> set[str]:
        rows = self.tx.work(self.model)
        return {i for i in ids if rows.get(i) is None}


class MemCheckpoints:
    def __init__(self, tx: MemoryTx) -> None:
        self.tx = tx

    def get(self, name: Mark) -> str | None:
        row = self.tx.work(Checkpoint).get(str(name))
        return row.value if row else None

    def set(self, name: Mark, value: str) -> None:
        rows = self.tx.work(Checkpoint)
        row = rows.get(str(name))
        if row is None:
            rows.add(Checkpoint(name=str(name), value=value))
        else:
            row.value = value

    def flag(self, name: Mark) -> bool:
        return self.get(name) == "1"


class MemIdentities(_Repo[IdentityRecord]):
    model = IdentityRecord

    def add(self, row: IdentityRecord) -> None:
        self.t.rows.pop(row.user_id, None)  # a new record replaces the one stored, as SQL's merge does
        self.t.add(row)


class MemPageLinks(_Repo[PageLink]):
    model = PageLink

    def use(self, nonce: str, now: datetime) -> bool:
        row = self.t.get(nonce)
        committed = self.tx.store.tables[PageLink].get(nonce)
        if row is None or row.used_at is not None or (committed and committed.get("used_at") is not None):
            return False  # used here, or by a unit of work that committed meanwhile
        if _utc(row.expires_at) <= now:
            return False
        row.used_at = now
        return True

    def _committed_claim(self, nonce: str, row: PageLink) -> str | None:
        committed = self.tx.store.tables[PageLink].get(nonce)
        return committed.get("claim") if committed is not None else row.claim

    def claim(self, nonce: str, token: str, now: datetime) -> bool:
        row = self.t.get(nonce)
        committed = self.tx.store.tables[PageLink].get(nonce)
        if row is None or row.used_at is not None or (committed and committed.get("used_at") is not None):
            return False
        if _utc(row.expires_at) <= now:
            return False
        holder = self._committed_claim(nonce, row)
        if row.claim != holder:  # claimed here and by a unit of work that committed meanwhile: theirs counts
            return False
        if holder is not None:
            return False
        row.claim = token
        return True

    def release(self, nonce: str, token: str) -> None:
        row = self.t.get(nonce)
        if row is not None and row.claim == token:
            row.claim = None

    def use_claimed(self, nonce: str, token: str, now: datetime) -> bool:
        row = self.t.get(nonce)
        committed = self.tx.store.tables[PageLink].get(nonce)
        if row is None or row.used_at is not None or (committed and committed.get("used_at") is not None):
            return False
        if row.claim != token or self._committed_claim(nonce, row) != token:
            return False
        row.used_at = now
        return True


class MemoryTx:
    """One unit of work on a MemoryStore."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._work: dict[type, _Work[Any]] = {}
        self.transfers = MemTransfers(self)
        self.users = MemUsers(self)
        self.outbox = MemMessages(self)
        self.settlements = MemSettlements(self)
        self.timeline = MemSteps(self)
        self.payouts = MemPayouts(self)
        self.mentions = MemProcessed(self, ProcessedTweet)
        self.dms = MemProcessed(self, ProcessedDm)
        self.checkpoints = MemCheckpoints(self)
        self.identities = MemIdentities(self)
        self.page_links = MemPageLinks(self)

    def work(self, model: type[R]) -> _Work[R]:
        if model not in self._work:
            self._work[model] = _Work(self.store, model)
        return self._work[model]

    def flush(self) -> None:
        """Ids were given at `add`, and unique keys checked there: nothing to do."""

    def commit(self) -> None:
        changes = {model: work.changes() for model, work in self._work.items()}
        for model, rows in changes.items():  # check everything before writing anything
            committed = self.store.tables[model]
            for key, row in rows.items():
                probe = model(**row)
                for fields, values in _uniques(model, probe):
                    if any(
                        k != key and tuple(other[f] for f in fields) == values
                        for k, other in committed.items()
                        if k not in rows
                    ):
                        raise Conflict(f"a {model.__name__} with {fields} {values!r} was committed meanwhile")
        for model, rows in changes.items():
            self.store.tables[model].update(rows)
        for work in self._work.values():
            work.sync()

    def rollback(self) -> None:
        self._work = {}


def _typed(store: MemoryStore, tx: MemoryTx) -> tuple[Store, Tx]:
    """mypy checks here that the memory store implements the port."""
    return store, tx

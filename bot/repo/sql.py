"""The repository port on SQL (SQLite, PostgreSQL): every query the use cases make, and nothing else.

`SqlStore(engine)` opens units of work (`with store() as tx:`), each one SQLModel session in one
transaction (on SQLite, BEGIN IMMEDIATE: see bot.repo.engine.make_engine)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from bot.domain import WAITING, Category, Fact, Send
from bot.domain.entities import (
    PRIORITY_CONFIRM,
    Checkpoint,
    Lease,
    Outbox,
    ProcessedDm,
    ProcessedTweet,
    TransferEvent,
    User,
)
from bot.domain.marks import Mark
from bot.repo.port import Conflict, Store, Tx
from bot.repo.sql_base import LATER, UowSession, _Table, land
from bot.repo.sql_money import SqlPayouts, SqlSettlements
from bot.repo.sql_pages import SqlIdentities, SqlPageLinks
from bot.repo.sql_transfers import SqlTransfers

R = TypeVar("R")


class SqlUsers(_Table):
    """Users, each read once per unit of work: those read or added are kept (a user added and not flushed yet
    is not in the session's identity map), and those `many` found absent are not asked for again."""

    def __init__(self, s: Session) -> None:
        super().__init__(s)
        self.known: dict[str, User | None] = {}

    def get(self, user_id: str) -> User | None:
        if user_id not in self.known:
            self.known[user_id] = self.s.get(User, user_id)
        return self.known[user_id]

    def add(self, user: User) -> None:
        self.known[user.id] = user
        self._add(user)

    def many(self, ids: Iterable[str]) -> list[User]:
        wanted = set(ids)
        if not wanted:
            return []
        found = list(self.s.exec(select(User).where(col(User.id).in_(wanted)).order_by(col(User.id))))
        self.known.update(dict.fromkeys(wanted - {u.id for u in found}))
        self.known.update({u.id: u for u in found})
        return found


class SqlMessages(_Table):
    def get(self, item_id: int) -> Outbox | None:
        self._land()
        return self.s.get(Outbox, item_id)

    def many(self, ids: Iterable[int]) -> list[Outbox]:
        self._land()
        wanted = list(ids)
        if not wanted:
            return []
        return list(self.s.exec(select(Outbox).where(col(Outbox.id).in_(wanted)).order_by(col(Outbox.id))))

    def add(self, item: Outbox) -> None:
        self._defer(item)

    def due(self, now: datetime, limit: int) -> list[Outbox]:
        self._land()
        return list(
            self.s.exec(
                select(Outbox)
                .where(col(Outbox.status).in_(WAITING), Outbox.next_attempt_at <= now)
                .order_by(col(Outbox.priority), col(Outbox.id))
                .limit(limit)
            )
        )

    def count_about(self, user_id: str, category: Category, since: datetime) -> int:
        self._land()
        return int(
            self.s.exec(
                select(func.count())
                .select_from(Outbox)
                .where(Outbox.about_user_id == user_id, Outbox.category == category, Outbox.created_at >= since)
            ).one()
        )

    def confirmations_in_doubt(self, versions: Iterable[str]) -> list[Outbox]:
        self._land()
        wanted = list(versions)
        if not wanted:
            return []
        return list(
            self.s.exec(
                select(Outbox)
                .where(
                    col(Outbox.version).in_(wanted), Outbox.status == Send.SENDING, Outbox.priority == PRIORITY_CONFIRM
                )
                .order_by(col(Outbox.id))
            )
        )

    def roots_awaiting_confirmation(self) -> set[str]:
        self._land()
        return {
            r
            for r in self.s.exec(
                select(Outbox.transfer_root).where(col(Outbox.status).in_(WAITING), Outbox.priority == PRIORITY_CONFIRM)
            )
            if r is not None
        }

    def waiting(self) -> int:
        self._land()
        return int(self.s.exec(select(func.count()).select_from(Outbox).where(col(Outbox.status).in_(WAITING))).one())


class SqlSteps(_Table):
    def add(self, step: TransferEvent) -> None:
        self._defer(step)

    def of(self, transfer_id: int) -> list[TransferEvent]:
        self._land()
        return list(
            self.s.exec(
                select(TransferEvent).where(TransferEvent.transfer_id == transfer_id).order_by(col(TransferEvent.id))
            )
        )

    def noted(self, transfer_id: int | None, *prefixes: str) -> bool:
        self._land()
        if not prefixes:
            return False
        return (
            self._one(
                select(TransferEvent.id)
                .where(
                    TransferEvent.transfer_id == transfer_id,
                    or_(*(col(TransferEvent.note).startswith(p, autoescape=True) for p in prefixes)),
                )
                .limit(1)
            )
            is not None
        )

    def recorded(self, transfer_id: int | None, *facts: Fact) -> bool:
        self._land()
        if not facts:
            return False
        return (
            self._one(
                select(TransferEvent.id)
                .where(TransferEvent.transfer_id == transfer_id, col(TransferEvent.fact).in_(facts))
                .limit(1)
            )
            is not None
        )


class SqlProcessed(_Table):
    def __init__(self, s: Session, table: type[ProcessedTweet] | type[ProcessedDm]) -> None:
        super().__init__(s)
        self.table = table

    def has(self, event_id: str) -> bool:
        self._land()
        return self.s.get(self.table, event_id) is not None

    def add(self, event_id: str, at: datetime) -> None:
        self._defer(self.table(id=event_id, processed_at=at))

    def unseen(self, ids: Iterable[str]) -> set[str]:
        self._land()
        wanted = set(ids)
        if not wanted:
            return set()
        found: set[str] = set(self.s.exec(select(col(self.table.id)).where(col(self.table.id).in_(wanted))))
        return wanted - found


class SqlCheckpoints(_Table):
    """Checkpoints, each read once per unit of work (a missing one too: flags are asked per mention)."""

    def __init__(self, s: Session) -> None:
        super().__init__(s)
        self.seen: dict[str, Checkpoint | None] = {}

    def _row(self, name: Mark) -> Checkpoint | None:
        if str(name) not in self.seen:
            self.seen[str(name)] = self.s.get(Checkpoint, str(name))
        return self.seen[str(name)]

    def get(self, name: Mark) -> str | None:
        row = self._row(name)
        return row.value if row else None

    def set(self, name: Mark, value: str) -> None:
        row = self._row(name)
        if row:
            row.value = value
        else:
            row = self.seen[str(name)] = Checkpoint(name=str(name), value=value)
        self._add(row)

    def flag(self, name: Mark) -> bool:
        return self.get(name) == "1"


class SqlTx:
    """One unit of work on a session. `session` is there for operator reports and tests; the
    use cases see only the port (`bot.repo.port.Tx`)."""

    def __init__(self, session: UowSession) -> None:
        self.session = session

    # Each repository is made when the unit of work first asks for it (`__getattr__`; most ask for a few).
    transfers: SqlTransfers
    users: SqlUsers
    outbox: SqlMessages
    settlements: SqlSettlements
    timeline: SqlSteps
    payouts: SqlPayouts
    mentions: SqlProcessed
    dms: SqlProcessed
    checkpoints: SqlCheckpoints
    identities: SqlIdentities
    page_links: SqlPageLinks

    def __getattr__(self, name: str) -> Any:
        make = _REPOSITORIES.get(name)
        if make is None:
            raise AttributeError(name)
        repo = self.__dict__[name] = make(self.session)
        return repo

    def flush(self) -> None:
        # the deferred rows (messages, timeline steps, processed ids) wait for the commit: nobody needs their ids
        try:
            self.session.flush()
        except IntegrityError as err:
            raise Conflict(str(err.orig)) from err

    def commit(self) -> None:
        try:
            self.session.write_staged()
            land(self.session)
            self.session.commit()
            self.session.committed()
            if "payouts" in self.__dict__:
                self.payouts.committed()
        except IntegrityError as err:
            self.rollback()
            raise Conflict(str(err.orig)) from err
        except Conflict:
            self.rollback()
            raise

    def rollback(self) -> None:
        self.session.info.pop(LATER, None)
        self.session.forget_staged()
        self.session.rollback()
        # what the repositories read once is read again (of those made)
        made = self.__dict__
        if "checkpoints" in made:
            self.checkpoints.seen.clear()
        if "users" in made:
            self.users.known.clear()
        if "transfers" in made:
            self.transfers.roots.clear()
            self.transfers.senders.clear()
        if "payouts" in made:
            self.payouts.rolled_back()

    # Pass-throughs for operator reports and tests (not part of the port).
    def exec(self, *args: Any, **kwargs: Any) -> Any:
        land(self.session)
        return self.session.exec(*args, **kwargs)

    def get(self, model: type[R], key: Any) -> R | None:
        land(self.session)
        return self.session.get(model, key)

    def add(self, row: object) -> None:
        self.session.add(row)


_REPOSITORIES: dict[str, Callable[[UowSession], object]] = {
    "transfers": SqlTransfers,
    "users": SqlUsers,
    "outbox": SqlMessages,
    "settlements": SqlSettlements,
    "timeline": SqlSteps,
    "payouts": SqlPayouts,
    "mentions": lambda s: SqlProcessed(s, ProcessedTweet),
    "dms": lambda s: SqlProcessed(s, ProcessedDm),
    "checkpoints": SqlCheckpoints,
    "identities": SqlIdentities,
    "page_links": SqlPageLinks,
}


class SqlStore:
    """The store on SQL: units of work and the lease. `engine` from `bot.repo.engine.make_engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def __call__(self) -> Iterator[SqlTx]:
        with UowSession(self.engine, expire_on_commit=False) as session:
            try:
                yield SqlTx(session)
            finally:
                if session.in_transaction():
                    # Detach first, so objects read here stay readable (a rollback
                    # would expire them); nothing uncommitted reaches the database.
                    session.expunge_all()
                    session.rollback()

    def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        # One UPDATE decides, which both SQLite (one writer) and PostgreSQL (row lock) make atomic.
        with Session(self.engine, expire_on_commit=False) as s:
            result = s.execute(
                update(Lease)
                .where(col(Lease.name) == name, or_(col(Lease.holder) == holder, col(Lease.expires_at) < now))
                .values(holder=holder, expires_at=now + ttl)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                s.commit()
                return True
            if s.get(Lease, name) is not None:
                return False
            s.add(Lease(name=name, holder=holder, expires_at=now + ttl))
            try:
                s.commit()
            except IntegrityError:
                return False  # another worker created it first
            return True

    def release_lease(self, name: str, holder: str, now: datetime) -> None:
        with Session(self.engine) as s:
            s.execute(update(Lease).where(col(Lease.name) == name, col(Lease.holder) == holder).values(expires_at=now))
            s.commit()


def _typed(store: SqlStore, tx: SqlTx) -> tuple[Store, Tx]:
    """mypy checks here that the SQL store implements the port."""
    return store, tx

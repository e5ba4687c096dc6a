"""The repository port on SQL (SQLite, PostgreSQL): every query the use cases make, and nothing else.

`SqlStore(engine)` opens units of work (`with store() as tx:`), each one SQLModel session in one
transaction (on SQLite, BEGIN IMMEDIATE: see bot.store.make_engine)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, func, select

from bot.domain import MOVED, Settle, Status
from bot.repo.port import Conflict, Store, Tx
from bot.store import (
    BALANCE,
    PRIORITY_CONFIRM,
    WAITING,
    Checkpoint,
    Lease,
    Mark,
    Outbox,
    Payout,
    PayoutStatus,
    ProcessedDm,
    ProcessedTweet,
    Send,
    Settlement,
    Transfer,
    TransferEvent,
    User,
)

R = TypeVar("R", bound=SQLModel)


class _Table:
    def __init__(self, s: Session) -> None:
        self.s = s

    def _add(self, row: SQLModel) -> None:
        self.s.add(row)

    def _defer(self, row: SQLModel) -> None:
        """Add a row the unit of work only writes (a message, a timeline step, a processed id) when its table
        is next read, or at flush or commit: the rows of a page then go out in one INSERT, not one each."""
        self.s.info.setdefault(LATER, []).append(row)

    def _land(self) -> None:
        land(self.s)

    def _one(self, query: Any) -> Any:
        return self.s.exec(query).first()


LATER = "paybot.later"  # Session.info key of the rows `_defer` keeps back


def land(s: Session) -> None:
    """Write the deferred rows: one INSERT (an executemany) per table. They are written, not attached to the
    session: nothing reads them back as objects in the unit of work that wrote them."""
    rows: list[SQLModel] = s.info.pop(LATER, None) or []
    by_table: dict[type[SQLModel], list[dict[str, Any]]] = {}
    for row in rows:
        one = row.model_dump()
        if one.get("id") is None:
            one.pop("id", None)
        by_table.setdefault(type(row), []).append(one)
    try:
        for model, many in by_table.items():
            s.execute(insert(model), many)
    except IntegrityError as err:  # a processed id written twice: the unit of work must be rolled back
        raise Conflict(str(err.orig)) from err


class SqlTransfers(_Table):
    """Transfers. A command's transfers (`of_root`, `of_roots`) are read once per unit of work: a post's
    transfers are only ever added through `add`, which keeps the command's list whole."""

    def __init__(self, s: Session) -> None:
        super().__init__(s)
        self.roots: dict[str, list[Transfer]] = {}
        # sender -> (since, their transfers pending or confirmed since then): see `warm`
        self.senders: dict[str, tuple[datetime, list[Transfer]]] = {}

    def get(self, transfer_id: int) -> Transfer | None:
        return self.s.get(Transfer, transfer_id)

    def add(self, t: Transfer) -> None:
        self._add(t)
        for group in (self.roots.get(t.root_tweet_id), self.senders.get(t.sender_id, (None, None))[1]):
            if group is not None and all(x is not t for x in group):
                group.append(t)

    def warm(self, sender_ids: Iterable[str], since: datetime) -> None:
        """A transfer is created pending and is confirmed only from pending, so the senders' transfers that
        are pending or confirmed since `since`, kept with those added later, answer `pending_of` and
        `moved_since` (from `since` on) by their current fields for the rest of the unit of work."""
        wanted = [i for i in set(sender_ids) if i not in self.senders]
        if not wanted:
            return
        for sender in wanted:
            self.senders[sender] = (since, [])
        for t in self.s.exec(select(Transfer).where(col(Transfer.sender_id).in_(wanted), or_(
                col(Transfer.status) == Status.PENDING, col(Transfer.confirmed_at) >= since))):
            group = self.senders[t.sender_id][1]
            if all(x is not t for x in group):
                group.append(t)

    def _sender(self, sender_id: str, since: datetime | None = None) -> list[Transfer] | None:
        cached = self.senders.get(sender_id)
        if cached is None or (since is not None and since < cached[0]):
            return None
        if any(t.id is None for t in cached[1]):
            self.s.flush()  # new rows get their ids, which order them
        return cached[1]

    def many(self, ids: Iterable[int], *, status: Status | None = None) -> list[Transfer]:
        wanted = list(ids)
        if not wanted:
            return []
        query = select(Transfer).where(col(Transfer.id).in_(wanted))
        if status is not None:
            query = query.where(Transfer.status == status)
        return list(self.s.exec(query.order_by(col(Transfer.id))))

    def of_root(self, root_id: str, *, sender_id: str | None = None, code: str | None = None) -> list[Transfer]:
        return [t for t in self.of_roots([root_id]) if sender_id in (None, t.sender_id) and code in (None, t.code)]

    def of_roots(self, root_ids: Iterable[str]) -> list[Transfer]:
        asked = set(root_ids)
        wanted = [r for r in asked if r not in self.roots]
        if wanted:
            for root in wanted:
                self.roots[root] = []
            for t in self.s.exec(select(Transfer).where(col(Transfer.root_tweet_id).in_(wanted))):
                group = self.roots[t.root_tweet_id]
                if all(x is not t for x in group):  # one added before it was read, flushed by that query
                    group.append(t)
        found = [t for root in asked for t in self.roots[root]]
        if any(t.id is None for t in found):
            self.s.flush()  # new rows get their ids, which order them
        return sorted(found, key=lambda t: t.id or 0)

    def pending_of(self, sender_id: str) -> list[Transfer]:
        known = self._sender(sender_id)
        if known is not None:
            return sorted((t for t in known if t.status == Status.PENDING), key=lambda t: t.id or 0)
        return list(self.s.exec(select(Transfer).where(Transfer.sender_id == sender_id,
                                                       Transfer.status == Status.PENDING).order_by(col(Transfer.id))))

    def with_status(self, status: Status, *, expires_by: datetime | None = None,
                    hold_by: datetime | None = None) -> list[Transfer]:
        query = select(Transfer).where(Transfer.status == status)
        if expires_by is not None:
            query = query.where(Transfer.expires_at <= expires_by)
        if hold_by is not None:
            query = query.where(col(Transfer.hold_until) <= hold_by)
        return list(self.s.exec(query.order_by(col(Transfer.id))))

    def has_status(self, status: Status) -> bool:
        return self._one(select(Transfer.id).where(Transfer.status == status).limit(1)) is not None

    def held_for(self, recipient_id: str) -> list[Transfer]:
        return list(self.s.exec(select(Transfer).where(Transfer.recipient_id == recipient_id,
                                                       Transfer.status == Status.HELD).order_by(col(Transfer.id))))

    def by_pay_key(self, key: str) -> Transfer | None:
        return self._one(select(Transfer).where(Transfer.pay_key == key))  # type: ignore[no-any-return]

    def by_payment_ref(self, ref: str) -> Transfer | None:
        return self._one(select(Transfer).where(Transfer.payment_ref == ref))  # type: ignore[no-any-return]

    def by_pay_keys(self, keys: Iterable[str]) -> list[Transfer]:
        wanted = list(keys)
        if not wanted:
            return []
        return list(self.s.exec(select(Transfer).where(col(Transfer.pay_key).in_(wanted)).order_by(col(Transfer.id))))

    def paid_since(self, since: datetime) -> list[Transfer]:
        return list(self.s.exec(select(Transfer).where(col(Transfer.pay_key).is_not(None), Transfer.created_at >= since)
                                .order_by(col(Transfer.id))))

    def latest_of(self, sender_id: str, code: str | None = None) -> Transfer | None:
        query = select(Transfer).where(Transfer.sender_id == sender_id)
        if code is not None:
            query = query.where(Transfer.code == code)
        return self._one(query.order_by(col(Transfer.updated_at).desc(),  # type: ignore[no-any-return]
                                        col(Transfer.id).desc()).limit(1))

    def lang_of(self, sender_id: str) -> str | None:
        return self._one(select(Transfer.lang).where(Transfer.sender_id == sender_id)  # type: ignore[no-any-return]
                         .order_by(col(Transfer.id).desc()).limit(1))

    def history(self, user_id: str, limit: int) -> list[Transfer]:
        return list(self.s.exec(
            select(Transfer).where(or_(col(Transfer.sender_id) == user_id, col(Transfer.recipient_id) == user_id))
            .order_by(col(Transfer.created_at).desc(), col(Transfer.id).desc()).limit(limit)))

    def next_deadline(self) -> datetime | None:
        found = [
            self._one(select(func.min(Transfer.expires_at)).where(Transfer.status == Status.PENDING)),
            self._one(select(func.min(Transfer.hold_until))
                      .where(col(Transfer.status).in_((Status.HELD, Status.NEEDS_AUTH)))),
        ]
        times = [_aware(t) for t in found if t is not None]
        return min(times) if times else None

    def count_by_status(self, statuses: Iterable[Status]) -> dict[str, int]:
        rows = self.s.exec(select(Transfer.status, func.count()).where(
            col(Transfer.status).in_([str(x) for x in statuses])).group_by(Transfer.status))
        return {str(status): int(n) for status, n in rows}

    def requests_since(self, since: datetime, *, requester_id: str | None = None,
                       payer_id: str | None = None) -> int:
        query = select(func.count(func.distinct(Transfer.root_tweet_id))).where(
            Transfer.kind == "request", Transfer.created_at >= since)
        if requester_id is not None:
            query = query.where(Transfer.recipient_id == requester_id)
        if payer_id is not None:
            query = query.where(Transfer.sender_id == payer_id)
        return int(self.s.exec(query).one())

    def strangers_paid(self, sender_id: str, since: datetime, *, other_than_root: str) -> set[str]:
        ended = [str(Status.CANCELLED), str(Status.EXPIRED), str(Status.FAILED)]
        known = self._sender(sender_id, since)
        if known is not None:  # every such transfer is pending or was confirmed since it was made: read ahead
            paid = {t.recipient_id for t in known if t.kind == "send" and t.root_tweet_id != other_than_root
                    and t.created_at >= since and t.status not in ended}
            return {uid for uid in paid if (u := self.s.get(User, uid)) is not None and u.wrote_at is None}
        return set(self.s.exec(
            select(Transfer.recipient_id).join(User, col(User.id) == Transfer.recipient_id).where(
                Transfer.kind == "send", Transfer.sender_id == sender_id, Transfer.root_tweet_id != other_than_root,
                Transfer.created_at >= since, col(User.wrote_at).is_(None), col(Transfer.status).notin_(ended))))

    def moved_since(self, sender_id: str, since: datetime) -> int:
        known = self._sender(sender_id, since)
        if known is not None:
            return sum(t.amount_minor for t in known
                       if t.confirmed_at is not None and t.confirmed_at >= since and t.status in MOVED)
        total = self._one(select(func.coalesce(func.sum(Transfer.amount_minor), 0)).where(
            Transfer.sender_id == sender_id, col(Transfer.confirmed_at) >= since,
            col(Transfer.status).in_([str(x) for x in MOVED])))
        return int(total)


def _aware(value: datetime) -> datetime:
    """An aggregate's time: SQLite may hand it back as it was stored (UTC, no zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
        return list(self.s.exec(
            select(Outbox).where(col(Outbox.status).in_(WAITING), Outbox.next_attempt_at <= now)
            .order_by(col(Outbox.priority), col(Outbox.id)).limit(limit)))

    def count_about(self, user_id: str, category: str, since: datetime) -> int:
        self._land()
        return int(self.s.exec(select(func.count()).select_from(Outbox).where(
            Outbox.about_user_id == user_id, Outbox.category == category, Outbox.created_at >= since)).one())

    def confirmations_in_doubt(self, versions: Iterable[str]) -> list[Outbox]:
        self._land()
        wanted = list(versions)
        if not wanted:
            return []
        return list(self.s.exec(select(Outbox).where(
            col(Outbox.version).in_(wanted), Outbox.status == Send.SENDING, Outbox.priority == PRIORITY_CONFIRM)
            .order_by(col(Outbox.id))))

    def roots_awaiting_confirmation(self) -> set[str]:
        self._land()
        return {r for r in self.s.exec(select(Outbox.transfer_root).where(
            col(Outbox.status).in_(WAITING), Outbox.priority == PRIORITY_CONFIRM)) if r is not None}

    def waiting(self) -> int:
        self._land()
        return int(self.s.exec(select(func.count()).select_from(Outbox).where(col(Outbox.status).in_(WAITING))).one())


class SqlSettlements(_Table):
    def get(self, settlement_id: int) -> Settlement | None:
        return self.s.get(Settlement, settlement_id)

    def add(self, st: Settlement) -> None:
        self._add(st)

    def by_key(self, key: str) -> Settlement | None:
        return self._one(select(Settlement).where(Settlement.key == key))  # type: ignore[no-any-return]

    def by_ref(self, ref: str) -> Settlement | None:
        return self._one(select(Settlement).where(Settlement.ref == ref)  # type: ignore[no-any-return]
                         .order_by(col(Settlement.id)))

    def of(self, transfer_id: int | None) -> list[Settlement]:
        return list(self.s.exec(select(Settlement).where(Settlement.transfer_id == transfer_id)
                                .order_by(col(Settlement.id))))

    def unsent(self) -> list[Settlement]:
        return list(self.s.exec(select(Settlement).where(Settlement.status == Settle.PENDING,
                                                         col(Settlement.ref).is_(None)).order_by(col(Settlement.id))))

    def refused_for_balance(self) -> set[int]:
        return set(self.s.exec(select(Settlement.transfer_id).where(Settlement.failure == BALANCE)))


class SqlPayouts(_Table):
    def get(self, payout_id: int) -> Payout | None:
        return self.s.get(Payout, payout_id)

    def add(self, row: Payout) -> None:
        self._add(row)

    def by_key(self, key: str) -> Payout | None:
        return self._one(select(Payout).where(Payout.key == key))  # type: ignore[no-any-return]

    def by_ref(self, ref: str) -> Payout | None:
        return self._one(select(Payout).where(Payout.ref == ref).order_by(col(Payout.id)))  # type: ignore[no-any-return]

    def in_flight(self, user_id: str, currency: str) -> Payout | None:
        return self._one(select(Payout).where(  # type: ignore[no-any-return]
            Payout.user_id == user_id, Payout.currency == currency, Payout.status == PayoutStatus.CREATED)
            .order_by(col(Payout.id)))

    def unsent(self) -> list[Payout]:
        return list(self.s.exec(select(Payout).where(Payout.status == PayoutStatus.CREATED, col(Payout.ref).is_(None))
                                .order_by(col(Payout.id))))

    def open(self) -> int:
        return int(self.s.exec(select(func.count()).select_from(Payout)
                               .where(Payout.status == PayoutStatus.CREATED)).one())


class SqlSteps(_Table):
    def add(self, step: TransferEvent) -> None:
        self._defer(step)

    def of(self, transfer_id: int) -> list[TransferEvent]:
        self._land()
        return list(self.s.exec(select(TransferEvent).where(TransferEvent.transfer_id == transfer_id)
                                .order_by(col(TransferEvent.id))))

    def noted(self, transfer_id: int | None, *prefixes: str) -> bool:
        self._land()
        if not prefixes:
            return False
        return self._one(select(TransferEvent.id).where(TransferEvent.transfer_id == transfer_id, or_(
            *(col(TransferEvent.note).startswith(p, autoescape=True) for p in prefixes))).limit(1)) is not None


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
    """One unit of work on a SQLModel session. `session` is there for operator reports and tests; the
    use cases see only the port (`bot.repo.port.Tx`)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.transfers = SqlTransfers(session)
        self.users = SqlUsers(session)
        self.outbox = SqlMessages(session)
        self.settlements = SqlSettlements(session)
        self.timeline = SqlSteps(session)
        self.payouts = SqlPayouts(session)
        self.mentions = SqlProcessed(session, ProcessedTweet)
        self.dms = SqlProcessed(session, ProcessedDm)
        self.checkpoints = SqlCheckpoints(session)

    def flush(self) -> None:
        # the deferred rows (messages, timeline steps, processed ids) wait for the commit: nobody needs their ids
        try:
            self.session.flush()
        except IntegrityError as err:
            raise Conflict(str(err.orig)) from err

    def commit(self) -> None:
        try:
            land(self.session)
            self.session.commit()
        except IntegrityError as err:
            self.rollback()
            raise Conflict(str(err.orig)) from err
        except Conflict:
            self.rollback()
            raise

    def rollback(self) -> None:
        self.session.info.pop(LATER, None)
        self.session.rollback()
        self.checkpoints.seen.clear()
        self.users.known.clear()
        self.transfers.roots.clear()
        self.transfers.senders.clear()

    # Pass-throughs for operator reports and tests (not part of the port).
    def exec(self, *args: Any, **kwargs: Any) -> Any:
        land(self.session)
        return self.session.exec(*args, **kwargs)

    def get(self, model: type[R], key: Any) -> R | None:
        land(self.session)
        return self.session.get(model, key)

    def add(self, row: SQLModel) -> None:
        self.session.add(row)


class SqlStore:
    """The store on SQL: units of work and the lease. `engine` from `bot.store.make_engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def __call__(self) -> Iterator[SqlTx]:
        with Session(self.engine, expire_on_commit=False) as session:
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

"""The operator's reports on SQL, as named queries (bot.admin shapes them for `paybot` and the console): ad-hoc
filters an operator asks for over whole tables, which the use cases' port does not offer.

Each takes the SQL store, reads in a unit of work of its own, and returns entities or plain counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, or_, select

from bot.domain import WAITING, Fact, PayoutStatus, Settle
from bot.domain.entities import Outbox, Payout, Settlement, Transfer, TransferEvent, User
from bot.domain.marks import Mark
from bot.repo.sql import SqlStore

__all__ = [
    "Queues",
    "Story",
    "Trouble",
    "command_transfers",
    "every_transfer",
    "handles",
    "money_trouble",
    "payouts_since",
    "queues",
    "story",
    "transfers",
    "user_counts",
    "user_id",
]


def handles(uow: SqlStore, ids: set[str] | None = None) -> dict[str, str]:
    """Handles by user id: of everyone, or of the `ids` given only (a page's people, not the whole table)."""
    query = select(User.id, User.handle)
    if ids is not None:
        if not ids:
            return {}
        query = query.where(col(User.id).in_(ids))
    with uow() as s:
        return dict(s.exec(query).all())


def user_id(uow: SqlStore, handle: str) -> str | None:
    """The id of the person with this handle: exact, case-blind (with LIKE, "_" and "%", common in handles, would
    match other people)."""
    with uow() as s:
        user = s.exec(select(User).where(func.lower(User.handle) == handle.lstrip("@").lower())).first()
    return user.id if user else None


def transfers(
    uow: SqlStore, *, status: str | None = None, user_id: str | None = None, since: datetime | None = None
) -> list[Transfer]:
    """Transfers, newest first, filtered by status, by a user on either side, and made since a time."""
    query = select(Transfer).order_by(col(Transfer.created_at).desc(), col(Transfer.id).desc())
    if status:
        query = query.where(Transfer.status == status)
    if since:
        query = query.where(Transfer.created_at >= since)
    if user_id:
        query = query.where(or_(Transfer.sender_id == user_id, Transfer.recipient_id == user_id))
    with uow() as s:
        return list(s.exec(query))


def command_transfers(uow: SqlStore, root_id: str) -> list[Transfer]:
    """The transfers one command made (by its root post's id, whatever its status), oldest first."""
    with uow() as s:
        return list(s.exec(select(Transfer).where(Transfer.root_tweet_id == root_id).order_by(col(Transfer.id))))


def every_transfer(uow: SqlStore) -> list[Transfer]:
    """Every transfer, oldest first (what `paybot simulate` reports of a run)."""
    with uow() as s:
        return list(s.exec(select(Transfer).order_by(col(Transfer.id))))


@dataclass(frozen=True)
class Story:
    """One transfer and all that happened to it: its timeline, its messages, its money steps."""

    transfer: Transfer
    events: list[TransferEvent]
    messages: list[Outbox]
    settlements: list[Settlement]


def story(uow: SqlStore, transfer_id: int) -> Story | None:
    """The transfer, its timeline by time, the messages about its command, its settlements; None: no such one."""
    with uow() as s:
        t = s.get(Transfer, transfer_id)
        if t is None:
            return None
        events = list(
            s.exec(
                select(TransferEvent)
                .where(TransferEvent.transfer_id == transfer_id)
                .order_by(col(TransferEvent.at), col(TransferEvent.id))
            )
        )
        messages = list(s.exec(select(Outbox).where(Outbox.transfer_root == t.root_tweet_id).order_by(col(Outbox.id))))
        return Story(t, events, messages, s.settlements.of(transfer_id))


def user_counts(uow: SqlStore, uid: str, since: datetime) -> tuple[User, int, int, int] | None:
    """A user, how many transfers they sent and received, and what they confirmed since `since` (the cap)."""
    with uow() as s:
        u = s.get(User, uid)
        if u is None:
            return None
        sent = s.exec(select(func.count()).select_from(Transfer).where(Transfer.sender_id == uid)).one()
        received = s.exec(select(func.count()).select_from(Transfer).where(Transfer.recipient_id == uid)).one()
        return u, int(sent), int(received), s.transfers.moved_since(uid, since)


@dataclass(frozen=True)
class Queues:
    """The worker's heartbeat (JSON, as it wrote it), the switches, and the queues' counts by status."""

    heartbeat: str | None
    paused: bool
    closing: bool
    transfers: dict[str, int]
    outbox: dict[str, int]


def queues(uow: SqlStore, statuses: tuple[str, ...]) -> Queues:
    with uow() as s:
        raw = s.checkpoints.get(Mark.HEARTBEAT)
        paused = s.checkpoints.flag(Mark.PAUSED)
        closing = s.checkpoints.flag(Mark.WINDING_DOWN)
        counts = dict(
            s.exec(
                select(Transfer.status, func.count())
                .where(col(Transfer.status).in_(statuses))
                .group_by(Transfer.status)
            ).all()
        )  # the queues' rows only: an index range each
        outbox = dict(
            s.exec(
                select(Outbox.status, func.count()).where(col(Outbox.status).in_(WAITING)).group_by(Outbox.status)
            ).all()
        )
    return Queues(raw, paused, closing, counts, outbox)


def payouts_since(uow: SqlStore, since: datetime) -> list[Payout]:
    """Cash-outs made since a time that took (or are taking) money: created or succeeded, by id."""
    with uow() as s:
        return list(
            s.exec(
                select(Payout)
                .where(
                    Payout.created_at >= since,
                    col(Payout.status).in_([PayoutStatus.CREATED, PayoutStatus.SUCCEEDED]),
                )
                .order_by(col(Payout.id))
            )
        )


@dataclass(frozen=True)
class Trouble:
    """Money steps worth an operator's look: every failed settlement, pending refunds at the provider since before
    a time, the timeline lines of disputes' withdrawals since a time; their transfers by id, and each transfer's
    settlements."""

    failed: list[Settlement]
    slow: list[Settlement]
    withdrawn: list[TransferEvent]
    transfers: dict[int | None, Transfer]
    ledgers: dict[int, list[Settlement]]


def money_trouble(uow: SqlStore, *, slow_before: datetime, withdrawn_since: datetime) -> Trouble:
    with uow() as s:
        failed = list(s.exec(select(Settlement).where(Settlement.status == Settle.FAILED).order_by(col(Settlement.id))))
        slow = list(
            s.exec(
                select(Settlement)
                .where(
                    Settlement.status == Settle.PENDING,
                    col(Settlement.ref).is_not(None),
                    Settlement.updated_at < slow_before,
                )
                .order_by(col(Settlement.id))
            )
        )
        # Sorted here, not in SQL: ORDER BY id would make SQLite walk the whole table by its key rather than
        # the last 30 days by the index on `at`.
        withdrawn = sorted(
            s.exec(
                select(TransferEvent).where(
                    TransferEvent.fact == Fact.FUNDS_WITHDRAWN, TransferEvent.at >= withdrawn_since
                )
            ),
            key=lambda e: e.id or 0,
        )
        ids = {st.transfer_id for st in failed + slow} | {e.transfer_id for e in withdrawn}
        found: dict[int | None, Transfer] = {t.id: t for t in s.exec(select(Transfer).where(col(Transfer.id).in_(ids)))}
        ledgers = {tid: s.settlements.of(tid) for tid in ids}
    return Trouble(failed, slow, withdrawn, found, ledgers)

"""The console's read model on SQL (bot.console.read draws from it): a person by handle, one page of transfers by
keyset, and the counts behind the charts.

Transfers are paged by keyset (created_at, id), newest first: a page is one index range scan, however deep, and a
transfer made while someone pages does not shift the next page. A person's transfers are the newest of the two
index ranges (as sender, as recipient), merged.

The series count by UTC bucket in SQL (seconds since the epoch divided by the bucket's length) and fill nothing in:
bot.console.read fills the empty buckets with 0. Past hours' counts are kept in `chart_hour` (`_hours` says which
and why), so a drawing counts what happened since the last one rather than the whole month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Integer, cast, delete, func, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from bot.console.records import ChartHour
from bot.domain import WAITING, MessageKind, Status
from bot.domain.entities import Outbox, Transfer, TransferEvent, User
from bot.domain.marks import Mark
from bot.repo.sql import SqlStore

__all__ = ["DAY", "HOUR", "KEPT", "SETTLED", "WINDOW", "ChartReads", "chart_reads", "transfer_page", "user_id"]

DM_WINDOW = timedelta(minutes=15)


def user_id(store: SqlStore, handle: str) -> str | None:
    """The id of the person with this handle (exact, case-blind, as the operator's reports look them up)."""
    with store() as s:
        found = s.exec(select(User.id).where(func.lower(User.handle) == handle.lstrip("@").lower())).first()
    return str(found) if found else None


def transfer_page(
    store: SqlStore,
    *,
    uid: str | None,
    status: str | None,
    since: datetime | None,
    key: tuple[datetime, int] | None,
    size: int,
) -> tuple[list[Transfer], dict[str, str]]:
    """Up to `size + 1` transfers, newest first, before the keyset `key`, by status, by a person on either side
    (`uid`), made since a time; and the handles of their people by id."""
    order = (col(Transfer.created_at).desc(), col(Transfer.id).desc())

    def query(side: Any = None) -> Any:
        q = select(Transfer).order_by(*order).limit(size + 1)
        if side is not None:
            q = q.where(side == uid)
        if status:
            q = q.where(col(Transfer.status) == status)
        if since:
            q = q.where(col(Transfer.created_at) >= since)
        if key:
            q = q.where(tuple_(col(Transfer.created_at), col(Transfer.id)) < tuple_(*key))
        return q

    with store() as s:
        if uid is None:
            found = list(s.exec(query()))
        else:
            both = {
                t.id: t for side in (col(Transfer.sender_id), col(Transfer.recipient_id)) for t in s.exec(query(side))
            }
            found = sorted(both.values(), key=lambda t: (t.created_at, t.id or 0), reverse=True)[: size + 1]
        ids = {t.sender_id for t in found} | {t.recipient_id for t in found}
        handles = dict(s.exec(select(User.id, User.handle).where(col(User.id).in_(ids))).all()) if ids else {}
    return found, handles


# ------------------------------------------------------------------ the charts' counts

HOUR, DAY = 3600, 86400
WINDOW = int(DM_WINDOW.total_seconds())
EPOCH = date(1970, 1, 1).toordinal()
KEPT = ("made", "sent", "sent_dm", "sent_reply", "dm_peak", "queued", "failed")  # chart_hour's counts
# An hour's counts are kept once it has been over this long: a row written late (a message found sent after a
# restart, with X's time; a unit of work committing) lands in an hour not kept yet.
SETTLED = timedelta(hours=1)


def _label(store: SqlStore, column: Any, seconds: int) -> ColumnElement[Any]:
    """A time's UTC bucket of `seconds` (a day, an hour, 15 minutes), in the store's SQL. SQLite: as text, the
    day ("2026-12-07"), hour ("2026-12-07 10") or window ("2026-12-07 10:2", its third), since SQLite cuts its
    stored text several times faster than it parses it; PostgreSQL: the bucket's start in seconds since the epoch."""
    if store.engine.dialect.name == "sqlite":
        if seconds == DAY:
            return func.substr(column, 1, 10)
        if seconds == HOUR:
            return func.substr(column, 1, 13)
        return func.substr(column, 1, 14).op("||")((cast(func.substr(column, 15, 2), Integer) // 15).self_group())
    # date_part, not extract: it answers in double precision, where extract's numeric is several times slower.
    return cast(func.floor(func.date_part("epoch", column) / float(seconds)), BigInteger) * seconds


def _hour_of(store: SqlStore, label: Any) -> ColumnElement[Any]:
    """The hour's label of a 15-minute window's label, in the store's SQL."""
    if store.engine.dialect.name == "sqlite":
        return func.substr(label, 1, 13)
    hour: ColumnElement[Any] = (label // HOUR) * HOUR
    return hour


@lru_cache(maxsize=512)
def _day(text: str) -> int:
    return (date.fromisoformat(text).toordinal() - EPOCH) * DAY


def _bucket(label: str | int, seconds: int) -> int:
    """The number of the `seconds`-long UTC bucket a label of `_label` falls in (integer arithmetic: it runs once
    per row of the charts' queries)."""
    if not isinstance(label, str):
        return int(label) // seconds
    at = _day(label[:10])
    if seconds < DAY:
        at += int(label[11:13]) * HOUR
    if seconds < HOUR:
        at += int(label[14:]) * WINDOW
    return at // seconds


def _series(counts: dict[int, float], start: datetime, end: datetime, seconds: int) -> list[tuple[datetime, float]]:
    first, last = int(start.timestamp()) // seconds, int(end.timestamp()) // seconds
    return [(datetime.fromtimestamp(b * seconds, UTC), float(counts.get(b, 0))) for b in range(first, last + 1)]


def _count(db: Any, store: SqlStore, since: datetime, until: datetime | None) -> dict[int, dict[str, int]]:
    """The charts' counts (`KEPT`) of each hour from `since` up to `until` (open when None), by hour number (seconds
    since the epoch // HOUR). An hour with nothing is absent. One grouped query per table: transfers made, messages
    sent (by 15-minute window and kind, which gives the hour's sums and its busiest window of DMs), messages queued,
    timeline steps to failed."""
    hours: dict[int, dict[str, int]] = {}

    def at(hour: int) -> dict[str, int]:
        return hours.setdefault(hour, dict.fromkeys(KEPT, 0))

    def within(column: Any) -> list[ColumnElement[bool]]:
        return [column >= since] + ([column < until] if until is not None else [])

    h = _label(store, Transfer.created_at, HOUR)
    for label, n in db.execute(sa_select(h, func.count()).where(*within(col(Transfer.created_at))).group_by(h)):
        at(_bucket(label, HOUR))["made"] += n
    w = _label(store, Outbox.sent_at, WINDOW)
    for label, kind, n in db.execute(
        sa_select(w, col(Outbox.kind), func.count()).where(*within(col(Outbox.sent_at))).group_by(w, col(Outbox.kind))
    ):
        row = at(_bucket(label, WINDOW) * WINDOW // HOUR)
        row["sent"] += n
        if kind in (MessageKind.DM, MessageKind.REPLY):
            row[f"sent_{kind}"] += n
        if kind == MessageKind.DM:
            row["dm_peak"] = max(row["dm_peak"], n)
    c = _label(store, Outbox.created_at, HOUR)
    for label, n in db.execute(sa_select(c, func.count()).where(*within(col(Outbox.created_at))).group_by(c)):
        at(_bucket(label, HOUR))["queued"] += n
    e = _label(store, TransferEvent.at, HOUR)
    for label, n in db.execute(
        sa_select(e, func.count())
        .where(*within(col(TransferEvent.at)), col(TransferEvent.status) == Status.FAILED)
        .group_by(e)
    ):
        at(_bucket(label, HOUR))["failed"] += n
    return hours


def _hour(number: int) -> datetime:
    return datetime.fromtimestamp(number * HOUR, UTC)


def _hours(db: Any, store: SqlStore, first: int, now: datetime) -> dict[int, dict[str, int]]:
    """The counts of every hour from hour number `first` to now: those over for `SETTLED` from `chart_hour`
    (counted and kept there at the first drawing that needs them, which also deletes the hours before `first`),
    the hours since counted afresh."""
    settled = int((now - SETTLED).timestamp()) // HOUR  # the first hour not yet kept
    kept = {
        hour: dict(zip(KEPT, counts, strict=True))
        for hour, *counts in db.execute(
            sa_select(col(ChartHour.hour), *(getattr(ChartHour, k) for k in KEPT)).where(
                col(ChartHour.hour) >= first, col(ChartHour.hour) < settled
            )
        )
    }
    missing = [hour for hour in range(first, settled) if hour not in kept]
    if missing:
        counted = _count(db, store, _hour(missing[0]), _hour(settled))
        new = {hour: counted.get(hour, dict.fromkeys(KEPT, 0)) for hour in missing}
        dialect = sqlite_insert if store.engine.dialect.name == "sqlite" else pg_insert
        db.execute(
            dialect(ChartHour).on_conflict_do_nothing(),  # another drawing may have kept some meanwhile
            [{"hour": hour, **counts} for hour, counts in new.items()],
        )
        db.execute(delete(ChartHour).where(col(ChartHour.hour) < first))  # what no drawing reads any more
        kept.update(new)
    return kept | _count(db, store, _hour(settled), None)


def keep_hours(store: SqlStore, now: datetime, first: int) -> None:
    """Count and keep in `chart_hour` every hour since hour number `first` over for `SETTLED` and not kept yet, as
    a drawing would, in a unit of work of its own (bot.console.keeper runs it, so a drawing finds them kept)."""
    with store() as s:
        _hours(s.session.connection(), store, first, now)
        s.session.commit()


@dataclass(frozen=True)
class ChartReads:
    """What the charts are drawn from: each hour's counts (`KEPT`) by hour number since `first`, the money moved
    (completed or held, in one currency, minor units) by day number, the messages waiting now, the heartbeat."""

    hours: dict[int, dict[str, int]]
    moved: dict[int, int]
    waiting_now: int
    beat: str | None


def chart_reads(store: SqlStore, now: datetime, first: int, currency: str) -> ChartReads:
    """The charts' counts from hour number `first` to now (past hours kept in `chart_hour` on the way, in the same
    unit of work); money moved per day is counted afresh (a held or completed transfer may be returned any day
    after), by the index on (status, created_at)."""
    with store() as s:
        db = s.session.connection()  # Core, not the ORM: hundreds of small rows
        hours = _hours(db, store, first, now)
        d = _label(store, Transfer.created_at, DAY)
        by_day = db.execute(
            sa_select(d, func.sum(col(Transfer.amount_minor)))
            .where(
                col(Transfer.status).in_((Status.COMPLETED, Status.HELD)),
                col(Transfer.currency) == currency,
                col(Transfer.created_at) >= _hour(first),
            )
            .group_by(d)
        ).all()
        waiting_now = db.execute(
            sa_select(func.count()).select_from(Outbox).where(col(Outbox.status).in_(WAITING))
        ).scalar_one()
        beat = s.checkpoints.get(Mark.HEARTBEAT)
        s.session.commit()  # what _hours kept
    moved = {_bucket(label, DAY): int(total) for label, total in by_day}
    return ChartReads(hours, moved, int(waiting_now), beat)

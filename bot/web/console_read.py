"""What the console reads that `paybot`'s commands do not: transfers a page at a time, and the charts' series.

The rest (status, one transfer, one person, the money warnings) is bot.admin's, as the CLI shows it.

Transfers are paged by keyset (created_at, id), newest first: a page is one index range scan, however deep, and a
transfer made while someone pages does not shift the next page. A person's transfers are the newest of the two
index ranges (as sender, as recipient), merged.

The series count by UTC bucket in SQL (seconds since the epoch divided by the bucket's length), over the last
`DAYS` days, and fill the empty buckets with 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, cast, func, tuple_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from bot.admin import _row
from bot.domain import Status
from bot.money import Money
from bot.repo.sql import SqlStore
from bot.store import WAITING, Mark, Outbox, Transfer, TransferEvent, User

PAGE = 50
DAYS = 30
DM_WINDOW = timedelta(minutes=15)
DM_ALLOWANCE = 15  # X's DM sends per user per 15-minute window, pay-per-use (docs/DESIGN.md, "Rate limits")
WRITE_USD = {"dm": 0.015, "reply": 0.010}  # bot.x.pricing.PRICES: dm_create, summoned_reply


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next: str | None  # the cursor of the page after this one


def cursor_of(text: str | None) -> tuple[datetime, int] | None:
    """A cursor ("<created_at ISO>_<id>") read back; None when absent or not one."""
    if not text:
        return None
    at, _, tid = text.rpartition("_")
    try:
        when = datetime.fromisoformat(at)
        return (when if when.tzinfo else when.replace(tzinfo=UTC)), int(tid)
    except ValueError:
        return None


def user_id(store: SqlStore, handle: str) -> str | None:
    """The id of the person with this handle (exact, case-blind, as bot.admin looks them up)."""
    with store() as s:
        found = s.exec(select(User.id).where(func.lower(User.handle) == handle.lstrip("@").lower())).first()
    return str(found) if found else None


def transfers(store: SqlStore, *, status: str | None = None, person: str | None = None,
              since: datetime | None = None, after: str | None = None, size: int = PAGE) -> Page:
    """One page of transfers, newest first, by status, by a person on either side, made since a time."""
    uid = user_id(store, person) if person else None
    if person and uid is None:
        return Page([], None)
    key = cursor_of(after)
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
            both = {t.id: t for side in (col(Transfer.sender_id), col(Transfer.recipient_id))
                    for t in s.exec(query(side))}
            found = sorted(both.values(), key=lambda t: (t.created_at, t.id or 0), reverse=True)[:size + 1]
        ids = {t.sender_id for t in found} | {t.recipient_id for t in found}
        handles = dict(s.exec(select(User.id, User.handle).where(col(User.id).in_(ids))).all()) if ids else {}
    rows = [_row(t, handles) for t in found[:size]]
    more = len(found) > size
    last = found[size - 1] if more else None
    return Page(rows, f"{last.created_at.isoformat()}_{last.id}" if last else None)


def reconciled(store: SqlStore) -> dict[str, Any] | None:
    """The last reconciliation's findings as the worker or `paybot reconcile` recorded them (bot.reconcile)."""
    with store() as s:
        raw = s.checkpoints.get(Mark.RECONCILED)
    return json.loads(raw) if raw else None


# ------------------------------------------------------------------ the charts' series


def _bucket(store: SqlStore, column: Any, seconds: int) -> ColumnElement[Any]:
    """The number of the UTC bucket of `seconds` a time falls in, in the store's SQL."""
    if store.engine.dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer) // seconds
    return cast(func.floor(func.extract("epoch", column) / seconds), Integer)


def _series(counts: dict[int, float], start: datetime, end: datetime, seconds: int) -> list[tuple[datetime, float]]:
    first, last = int(start.timestamp()) // seconds, int(end.timestamp()) // seconds
    return [(datetime.fromtimestamp(b * seconds, UTC), float(counts.get(b, 0))) for b in range(first, last + 1)]


def charts(store: SqlStore, now: datetime, currency: str, days: int = DAYS) -> dict[str, Any]:
    """The series the console draws, each a list of (bucket start, value) over the last `days` days:
    transfers made and money moved (completed, in `currency`) per day; messages sent to X per day and their
    estimated cost (writes, at X's prices; reads are metered by the worker for today only); DMs sent per
    15-minute window against X's allowance; messages waiting to go out per hour; failed payments per hour."""
    start = now - timedelta(days=days)
    day, hour, window = 86400, 3600, int(DM_WINDOW.total_seconds())
    with store() as s:
        b = _bucket(store, Transfer.created_at, day)
        made = dict(s.exec(select(b, func.count()).where(col(Transfer.created_at) >= start).group_by(b)).all())
        moved = dict(s.exec(select(b, func.sum(Transfer.amount_minor)).where(
            col(Transfer.created_at) >= start, col(Transfer.status).in_([Status.COMPLETED, Status.HELD]),
            col(Transfer.currency) == currency).group_by(b)).all())
        sb = _bucket(store, Outbox.sent_at, day)
        sent = s.exec(select(sb, Outbox.kind, func.count()).where(col(Outbox.sent_at) >= start)
                      .group_by(sb, Outbox.kind)).all()
        wb = _bucket(store, Outbox.sent_at, window)
        dms = dict(s.exec(select(wb, func.count()).where(col(Outbox.sent_at) >= start, col(Outbox.kind) == "dm")
                          .group_by(wb)).all())
        cb, hb = _bucket(store, Outbox.created_at, hour), _bucket(store, Outbox.sent_at, hour)
        queued = dict(s.exec(select(cb, func.count()).where(col(Outbox.created_at) >= start).group_by(cb)).all())
        left = dict(s.exec(select(hb, func.count()).where(col(Outbox.sent_at) >= start,
                                                          col(Outbox.created_at) >= start).group_by(hb)).all())
        waiting_before = s.exec(select(func.count()).select_from(Outbox).where(
            col(Outbox.created_at) < start,
            (col(Outbox.sent_at) >= start) | col(Outbox.status).in_(WAITING))).one()
        eb = _bucket(store, TransferEvent.at, hour)
        failed = dict(s.exec(select(eb, func.count()).where(col(TransferEvent.at) >= start,
                                                            col(TransferEvent.status) == Status.FAILED)
                             .group_by(eb)).all())
        beat = s.checkpoints.get(Mark.HEARTBEAT)
    requests: dict[int, float] = {}
    usd: dict[int, float] = {}
    for bucket, kind, n in sent:
        requests[bucket] = requests.get(bucket, 0) + n
        usd[bucket] = usd.get(bucket, 0) + n * WRITE_USD.get(kind, 0.0)
    usage = (json.loads(beat) or {}).get("x_usage") if beat else None
    if usage and usage.get("day") == now.date().isoformat():  # today's full meter, reads included
        today = int(now.timestamp()) // day
        requests[today] = max(requests.get(today, 0), usage.get("requests_total", 0))
        usd[today] = max(usd.get(today, 0), usage.get("usd", 0.0))
    depth: dict[int, float] = {}
    level = float(waiting_before)
    for bucket in range(int(start.timestamp()) // hour, int(now.timestamp()) // hour + 1):
        level += queued.get(bucket, 0) - left.get(bucket, 0)
        depth[bucket] = max(level, 0)
    return {
        "made": _series(made, start, now, day),
        "moved": _series({k: float(Money(int(v), currency).decimal()) for k, v in moved.items()}, start, now, day),
        "requests": _series(requests, start, now, day),
        "usd": _series(usd, start, now, day),
        "dms": _series(dms, start, now, window),
        "queue": _series(depth, start, now, hour),
        "errors": _series(failed, start, now, hour),
    }

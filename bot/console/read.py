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
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Integer, bindparam, cast, func, text, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from bot.admin import _row
from bot.domain import Status
from bot.money import Money
from bot.repo.sql import SqlStore
from bot.store import WAITING, Mark, Outbox, Transfer, TransferEvent, User, UTCDateTime

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

HOUR, DAY = 3600, 86400
WINDOW = int(DM_WINDOW.total_seconds())
EPOCH = date(1970, 1, 1).toordinal()


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


def charts(store: SqlStore, now: datetime, currency: str, days: int = DAYS) -> dict[str, Any]:
    """The series the console draws, each a list of (bucket start, value) over the last `days` days:
    transfers made and money moved (completed or held, in `currency`) per day; messages sent to X per day and
    their estimated cost (writes, at X's prices: reads are metered by the worker for today only, in its
    heartbeat); the DMs of each hour's busiest 15-minute window, against X's allowance per window; messages
    waiting to go out per hour; failed payments per hour. Each query reads one index range: the last `days` days."""
    start = now - timedelta(days=days)
    moving = (Status.COMPLETED, Status.HELD)
    with store() as s:
        db = s.session.connection()  # Core, not the ORM: thousands of small rows
        d = _label(store, Transfer.created_at, DAY)
        by_day = db.execute(
            sa_select(d, col(Transfer.status), col(Transfer.currency), func.count(),
                      func.sum(col(Transfer.amount_minor)))
            .where(col(Transfer.created_at) >= start).group_by(d, col(Transfer.status), col(Transfer.currency))).all()
        h = _label(store, Outbox.sent_at, HOUR)
        sent = db.execute(sa_select(h, col(Outbox.kind), func.count()).where(col(Outbox.sent_at) >= start)
                          .group_by(h, col(Outbox.kind))).all()
        w = _label(store, Outbox.sent_at, WINDOW)
        windows = (sa_select(w.label("w"), func.count().label("n"))
                   .where(col(Outbox.sent_at) >= start, col(Outbox.kind) == "dm").group_by(w).subquery())
        wh = _hour_of(store, windows.c.w)
        dm_peaks = db.execute(sa_select(wh, func.max(windows.c.n)).group_by(wh)).all()
        c = _label(store, Outbox.created_at, HOUR)
        queued = db.execute(sa_select(c, func.count()).where(col(Outbox.created_at) >= start).group_by(c)).all()
        # Waiting when the window began: sent after it began, or not sent yet. The unsent are few, read by the
        # index on status; SQLite's statistics (no histogram) cannot know that and would scan the table.
        unsent: Any = (sa_select(func.count()).select_from(Outbox)
                       .where(col(Outbox.status).in_(WAITING), col(Outbox.created_at) < start))
        if store.engine.dialect.name == "sqlite":
            unsent = text("SELECT count(*) FROM outbox INDEXED BY ix_outbox_status "
                          "WHERE status IN (:queued, :sending) AND created_at < :start").bindparams(
                bindparam("start", start, type_=UTCDateTime()), queued=WAITING[0].value,
                sending=WAITING[1].value)
        sent_later = sa_select(func.count()).select_from(Outbox).where(col(Outbox.sent_at) >= start,
                                                                       col(Outbox.created_at) < start)
        waiting_before = db.execute(sent_later).scalar_one() + db.execute(unsent).scalar_one()
        e = _label(store, TransferEvent.at, HOUR)
        failed = db.execute(sa_select(e, func.count()).where(
            col(TransferEvent.at) >= start, col(TransferEvent.status) == Status.FAILED).group_by(e)).all()
        beat = s.checkpoints.get(Mark.HEARTBEAT)
    # Floats from here on are chart coordinates (what a chart draws), never amounts kept or moved.
    made: dict[int, float] = {}
    moved: dict[int, float] = {}
    for label, status, cur, n, total in by_day:
        b = _bucket(label, DAY)
        made[b] = made.get(b, 0) + n
        if status in moving and cur == currency:
            moved[b] = moved.get(b, 0) + float(Money(int(total), currency).decimal())
    requests: dict[int, float] = {}
    usd: dict[int, float] = {}
    left: dict[int, float] = {}
    for label, kind, n in sent:
        b, hour = _bucket(label, DAY), _bucket(label, HOUR)
        requests[b] = requests.get(b, 0) + n
        usd[b] = usd.get(b, 0) + n * WRITE_USD.get(kind, 0.0)
        left[hour] = left.get(hour, 0) + n
    dms = {_bucket(label, HOUR): float(n) for label, n in dm_peaks}
    usage = (json.loads(beat) or {}).get("x_usage") if beat else None
    if usage and usage.get("day") == now.date().isoformat():  # today's full meter, reads included
        today = int(now.timestamp()) // DAY
        requests[today] = max(requests.get(today, 0), usage.get("requests_total", 0))
        usd[today] = max(usd.get(today, 0), usage.get("usd", 0.0))
    arrived = {_bucket(label, HOUR): n for label, n in queued}
    depth: dict[int, float] = {}
    level = float(waiting_before)
    for hour in range(int(start.timestamp()) // HOUR, int(now.timestamp()) // HOUR + 1):
        level += arrived.get(hour, 0) - left.get(hour, 0)
        depth[hour] = max(level, 0)
    return {
        "made": _series(made, start, now, DAY),
        "moved": _series(moved, start, now, DAY),
        "requests": _series(requests, start, now, DAY),
        "usd": _series(usd, start, now, DAY),
        "dms": _series(dms, start, now, HOUR),
        "queue": _series(depth, start, now, HOUR),
        "errors": _series({_bucket(label, HOUR): n for label, n in failed}, start, now, HOUR),
    }

"""What the console reads that `paybot`'s commands do not: transfers a page at a time, and the charts' series.

The rest (status, one transfer, one person, the money warnings) is bot.admin's, as the CLI shows it.

Transfers are paged by keyset (created_at, id), newest first: a page is one index range scan, however deep, and a
transfer made while someone pages does not shift the next page. A person's transfers are the newest of the two
index ranges (as sender, as recipient), merged.

The series count by UTC bucket in SQL (seconds since the epoch divided by the bucket's length), over the last
`DAYS` days, and fill the empty buckets with 0. Past hours' counts are kept in `chart_hour` (`charts` says which and
why), so a drawing counts what happened since the last one rather than the whole month.
"""

from __future__ import annotations

import json
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

from bot.admin import _row
from bot.domain import WAITING, Status
from bot.domain.entities import Outbox, Transfer, TransferEvent, User
from bot.domain.marks import Mark
from bot.money import Money
from bot.repo.rows import ChartHour
from bot.repo.sql import SqlStore

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


def transfers(
    store: SqlStore,
    *,
    status: str | None = None,
    person: str | None = None,
    since: datetime | None = None,
    after: str | None = None,
    size: int = PAGE,
) -> Page:
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
            both = {
                t.id: t for side in (col(Transfer.sender_id), col(Transfer.recipient_id)) for t in s.exec(query(side))
            }
            found = sorted(both.values(), key=lambda t: (t.created_at, t.id or 0), reverse=True)[: size + 1]
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
        if kind in ("dm", "reply"):
            row[f"sent_{kind}"] += n
        if kind == "dm":
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


def charts(store: SqlStore, now: datetime, currency: str, days: int = DAYS) -> dict[str, Any]:
    """The series the console draws, each a list of (bucket start, value) over the last `days` days (from the
    start of the hour `days` days ago): transfers made and money moved (completed or held, in `currency`) per
    day; messages sent to X per day and their estimated cost (writes, at X's prices: reads are metered by the
    worker for today only, in its heartbeat); the DMs of each hour's busiest 15-minute window, against X's
    allowance per window; messages waiting to go out per hour; failed payments per hour.

    Every series but the money moved is summed from per-hour counts (`_hours`): a past hour's are read from
    `chart_hour`, so a drawing counts rows of the last hour or two only, however busy the month was. Money moved
    per day is counted afresh (a held or completed transfer may be returned any day after), by the index on
    (status, created_at). The queue's depth is counted back from the messages waiting now, hour by hour (arrived
    minus sent): exact now, and a message given up (which leaves the queue without being sent) lowers only the
    hours before it."""
    start = now - timedelta(days=days)
    first = int(start.timestamp()) // HOUR
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
    # Floats from here on are chart coordinates (what a chart draws), never amounts kept or moved.
    made: dict[int, float] = {}
    requests: dict[int, float] = {}
    usd: dict[int, float] = {}
    for hour, counts in hours.items():
        day = hour * HOUR // DAY
        made[day] = made.get(day, 0) + counts["made"]
        requests[day] = requests.get(day, 0) + counts["sent"]
        usd[day] = usd.get(day, 0) + counts["sent_dm"] * WRITE_USD["dm"] + counts["sent_reply"] * WRITE_USD["reply"]
    moved = {_bucket(label, DAY): float(Money(int(total), currency).decimal()) for label, total in by_day}
    usage = (json.loads(beat) or {}).get("x_usage") if beat else None
    if usage and usage.get("day") == now.date().isoformat():  # today's full meter, reads included
        today = int(now.timestamp()) // DAY
        requests[today] = max(requests.get(today, 0), usage.get("requests_total", 0))
        usd[today] = max(usd.get(today, 0), usage.get("usd", 0.0))
    depth: dict[int, float] = {}
    level = float(waiting_now)
    for hour in range(int(now.timestamp()) // HOUR, first - 1, -1):
        depth[hour] = max(level, 0)
        during = hours.get(hour)
        if during:
            level += during["sent"] - during["queued"]
    hourly = {name: {hour: float(c[name]) for hour, c in hours.items()} for name in ("dm_peak", "failed")}
    return {
        "made": _series(made, start, now, DAY),
        "moved": _series(moved, start, now, DAY),
        "requests": _series(requests, start, now, DAY),
        "usd": _series(usd, start, now, DAY),
        "dms": _series(hourly["dm_peak"], start, now, HOUR),
        "queue": _series(depth, start, now, HOUR),
        "errors": _series(hourly["failed"], start, now, HOUR),
    }

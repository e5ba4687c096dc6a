"""What the console reads that `paybot`'s commands do not: transfers a page at a time, and the charts' series.

The rest (status, one transfer, one person, the money warnings) is bot.admin's, as the CLI shows it. The SQL is
bot.repo.console's (the keyset pages, the counts per hour and day); here, the cursors and the series drawn from
the counts, each empty bucket filled with 0 over the last `DAYS` days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.admin import _row
from bot.domain.marks import Mark
from bot.money import Money
from bot.repo.console import DAY, HOUR, chart_reads, keep_hours, transfer_page, user_id
from bot.repo.sql import SqlStore

__all__ = [
    "DAYS",
    "DM_ALLOWANCE",
    "HOUR",
    "PAGE",
    "Page",
    "charts",
    "cursor_of",
    "keep",
    "reconciled",
    "transfers",
    "user_id",
]

PAGE = 50
DAYS = 30
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
    found, handles = transfer_page(store, uid=uid, status=status, since=since, key=cursor_of(after), size=size)
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


def _series(counts: dict[int, float], start: datetime, end: datetime, seconds: int) -> list[tuple[datetime, float]]:
    first, last = int(start.timestamp()) // seconds, int(end.timestamp()) // seconds
    return [(datetime.fromtimestamp(b * seconds, UTC), float(counts.get(b, 0))) for b in range(first, last + 1)]


def charts(store: SqlStore, now: datetime, currency: str, days: int = DAYS) -> dict[str, Any]:
    """The series the console draws, each a list of (bucket start, value) over the last `days` days (from the
    start of the hour `days` days ago): transfers made and money moved (completed or held, in `currency`) per
    day; messages sent to X per day and their estimated cost (writes, at X's prices: reads are metered by the
    worker for today only, in its heartbeat); the DMs of each hour's busiest 15-minute window, against X's
    allowance per window; messages waiting to go out per hour; failed payments per hour.

    Every series but the money moved is summed from per-hour counts (`bot.repo.console.chart_reads`): a past
    hour's are read from `chart_hour`, so a drawing counts rows of the last hour or two only, however busy the month
    was. Money moved per day is counted afresh (a held or completed transfer may be returned any day after), by the
    index on (status, created_at). The queue's depth is counted back from the messages waiting now, hour by hour
    (arrived minus sent): exact now, and a message given up (which leaves the queue without being sent) lowers only
    the hours before it."""
    start = now - timedelta(days=days)
    first = int(start.timestamp()) // HOUR
    reads = chart_reads(store, now, first, currency)
    hours, beat = reads.hours, reads.beat
    # Floats from here on are chart coordinates (what a chart draws), never amounts kept or moved.
    made: dict[int, float] = {}
    requests: dict[int, float] = {}
    usd: dict[int, float] = {}
    for hour, counts in hours.items():
        day = hour * HOUR // DAY
        made[day] = made.get(day, 0) + counts["made"]
        requests[day] = requests.get(day, 0) + counts["sent"]
        usd[day] = usd.get(day, 0) + counts["sent_dm"] * WRITE_USD["dm"] + counts["sent_reply"] * WRITE_USD["reply"]
    moved = {day: float(Money(total, currency).decimal()) for day, total in reads.moved.items()}
    usage = (json.loads(beat) or {}).get("x_usage") if beat else None
    if usage and usage.get("day") == now.date().isoformat():  # today's full meter, reads included
        today = int(now.timestamp()) // DAY
        requests[today] = max(requests.get(today, 0), usage.get("requests_total", 0))
        usd[today] = max(usd.get(today, 0), usage.get("usd", 0.0))
    depth: dict[int, float] = {}
    level = float(reads.waiting_now)
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


def keep(store: SqlStore, now: datetime, days: int = DAYS) -> None:
    """Count and keep the past hours of the charts' month not kept yet (what the first drawing on a store would
    otherwise count while an operator waits): bot.console.keeper runs it beside the web app."""
    keep_hours(store, now, int((now - timedelta(days=days)).timestamp()) // HOUR)

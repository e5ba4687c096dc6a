"""The SQL store's transfers: read once per command and unit of work, and what `warm` reads ahead."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, func, select

from bot.domain import EDIT_REASONS, MOVED, Status, TransferKind
from bot.domain.entities import Transfer, User
from bot.repo.sql_base import _Table


def _join(group: list[Transfer], t: Transfer) -> None:
    """Add a transfer to a list read ahead, once (the identity map gives one object per row)."""
    if all(x is not t for x in group):
        group.append(t)


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
            if group is not None:
                _join(group, t)

    def warm(self, sender_ids: Iterable[str], since: datetime) -> None:
        """A transfer is created pending and is confirmed only from pending, so the senders' transfers that
        are pending, confirmed since `since` or changed since `since` (made, answered, expired, cancelled),
        kept with those added later, answer `pending_of`, `moved_since`, `sends_since` and `closed_unanswered`
        (from `since` on) by their current fields for the rest of the unit of work."""
        wanted = [i for i in set(sender_ids) if i not in self.senders]
        if not wanted:
            return
        for sender in wanted:
            self.senders[sender] = (since, [])
        for t in self.s.exec(
            select(Transfer).where(
                col(Transfer.sender_id).in_(wanted),
                or_(
                    col(Transfer.status) == Status.PENDING,
                    col(Transfer.confirmed_at) >= since,
                    col(Transfer.updated_at) >= since,
                ),
            )
        ):
            _join(self.senders[t.sender_id][1], t)

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
                _join(self.roots[t.root_tweet_id], t)  # one added before it was read was flushed by it
        found = [t for root in asked for t in self.roots[root]]
        if any(t.id is None for t in found):
            self.s.flush()  # new rows get their ids, which order them
        return sorted(found, key=lambda t: t.id or 0)

    def pending_of(self, sender_id: str) -> list[Transfer]:
        known = self._sender(sender_id)
        if known is not None:
            return sorted((t for t in known if t.status == Status.PENDING), key=lambda t: t.id or 0)
        return list(
            self.s.exec(
                select(Transfer)
                .where(Transfer.sender_id == sender_id, Transfer.status == Status.PENDING)
                .order_by(col(Transfer.id))
            )
        )

    def left_pending_since(self, sender_id: str, since: datetime) -> list[Transfer]:
        known = self._sender(sender_id, since)
        if known is not None:
            return sorted(
                (
                    t
                    for t in known
                    if t.status != Status.PENDING
                    and (t.updated_at >= since or (t.confirmed_at is not None and t.confirmed_at >= since))
                ),
                key=lambda t: t.id or 0,
            )
        return list(
            self.s.exec(
                select(Transfer)
                .where(
                    Transfer.sender_id == sender_id,
                    col(Transfer.status) != Status.PENDING,
                    or_(col(Transfer.updated_at) >= since, col(Transfer.confirmed_at) >= since),
                )
                .order_by(col(Transfer.id))
            )
        )

    def closed_unanswered(self, sender_id: str, since: datetime) -> list[Transfer]:
        known = self._sender(sender_id, since)
        if known is not None:  # each closed when it was last changed: read ahead
            return sorted(
                (
                    t
                    for t in known
                    if t.updated_at >= since
                    and (t.status == Status.EXPIRED or (t.status == Status.CANCELLED and t.reason in EDIT_REASONS))
                ),
                key=lambda t: t.id or 0,
            )
        return list(
            self.s.exec(
                select(Transfer)
                .where(
                    Transfer.sender_id == sender_id,
                    col(Transfer.updated_at) >= since,
                    or_(
                        col(Transfer.status) == Status.EXPIRED,
                        and_(col(Transfer.status) == Status.CANCELLED, col(Transfer.reason).in_(EDIT_REASONS)),
                    ),
                )
                .order_by(col(Transfer.id))
            )
        )

    def with_status(
        self, status: Status, *, expires_by: datetime | None = None, hold_by: datetime | None = None
    ) -> list[Transfer]:
        query = select(Transfer).where(Transfer.status == status)
        if expires_by is not None:
            query = query.where(Transfer.expires_at <= expires_by)
        if hold_by is not None:
            query = query.where(col(Transfer.hold_until) <= hold_by)
        return list(self.s.exec(query.order_by(col(Transfer.id))))

    def has_status(self, status: Status) -> bool:
        return self._one(select(Transfer.id).where(Transfer.status == status).limit(1)) is not None

    def held_for(self, recipient_id: str) -> list[Transfer]:
        return list(
            self.s.exec(
                select(Transfer)
                .where(Transfer.recipient_id == recipient_id, Transfer.status == Status.HELD)
                .order_by(col(Transfer.id))
            )
        )

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
        return list(
            self.s.exec(
                select(Transfer)
                .where(col(Transfer.pay_key).is_not(None), Transfer.created_at >= since)
                .order_by(col(Transfer.id))
            )
        )

    def latest_of(self, sender_id: str, code: str | None = None) -> Transfer | None:
        query = select(Transfer).where(Transfer.sender_id == sender_id)
        if code is not None:
            query = query.where(Transfer.code == code)
        return self._one(  # type: ignore[no-any-return]
            query.order_by(
                col(Transfer.updated_at).desc(),
                col(Transfer.id).desc(),
            ).limit(1)
        )

    def lang_of(self, sender_id: str) -> str | None:
        return self._one(  # type: ignore[no-any-return]
            select(Transfer.lang).where(Transfer.sender_id == sender_id).order_by(col(Transfer.id).desc()).limit(1)
        )

    def history(self, user_id: str, limit: int) -> list[Transfer]:
        return list(
            self.s.exec(
                select(Transfer)
                .where(or_(col(Transfer.sender_id) == user_id, col(Transfer.recipient_id) == user_id))
                .order_by(col(Transfer.created_at).desc(), col(Transfer.id).desc())
                .limit(limit)
            )
        )

    def next_deadline(self) -> datetime | None:
        found = [
            self._one(select(func.min(Transfer.expires_at)).where(Transfer.status == Status.PENDING)),
            self._one(
                select(func.min(Transfer.hold_until)).where(col(Transfer.status).in_((Status.HELD, Status.NEEDS_AUTH)))
            ),
        ]
        times = [_aware(t) for t in found if t is not None]
        return min(times) if times else None

    def count_by_status(self, statuses: Iterable[Status]) -> dict[Status, int]:
        rows = self.s.exec(
            select(Transfer.status, func.count())
            .where(col(Transfer.status).in_(list(statuses)))
            .group_by(Transfer.status)
        )
        return {Status(status): int(n) for status, n in rows}

    def requests_since(self, since: datetime, *, requester_id: str | None = None, payer_id: str | None = None) -> int:
        query = select(func.count(func.distinct(Transfer.root_tweet_id))).where(
            Transfer.kind == TransferKind.REQUEST, Transfer.created_at >= since
        )
        if requester_id is not None:
            query = query.where(Transfer.recipient_id == requester_id)
        if payer_id is not None:
            query = query.where(Transfer.sender_id == payer_id)
        return int(self.s.exec(query).one())

    def received_since(self, recipient_id: str, currency: str, since: datetime) -> int:
        return int(
            self.s.exec(
                select(func.coalesce(func.sum(Transfer.amount_minor), 0)).where(
                    Transfer.recipient_id == recipient_id,
                    Transfer.currency == currency,
                    Transfer.status == Status.COMPLETED,
                    Transfer.updated_at >= since,
                )
            ).one()
        )

    def sends_since(self, sender_id: str, since: datetime, *, other_than_root: str) -> int:
        known = self._sender(sender_id, since)
        if known is not None:  # made since, so changed since: read ahead
            return len(
                {
                    t.root_tweet_id
                    for t in known
                    if t.kind == TransferKind.SEND and t.created_at >= since and t.root_tweet_id != other_than_root
                }
            )
        return int(
            self.s.exec(
                select(func.count(func.distinct(Transfer.root_tweet_id))).where(
                    Transfer.kind == TransferKind.SEND,
                    Transfer.sender_id == sender_id,
                    Transfer.created_at >= since,
                    Transfer.root_tweet_id != other_than_root,
                )
            ).one()
        )

    def strangers_paid(self, sender_id: str, since: datetime, *, other_than_root: str) -> set[str]:
        ended = [str(Status.CANCELLED), str(Status.EXPIRED), str(Status.FAILED)]
        known = self._sender(sender_id, since)
        if known is not None:  # every such transfer is pending or was confirmed since it was made: read ahead
            paid = {
                t.recipient_id
                for t in known
                if t.kind == TransferKind.SEND
                and t.root_tweet_id != other_than_root
                and t.created_at >= since
                and t.status not in ended
            }
            return {uid for uid in paid if (u := self.s.get(User, uid)) is not None and u.wrote_at is None}
        return set(
            self.s.exec(
                select(Transfer.recipient_id)
                .join(User, col(User.id) == Transfer.recipient_id)
                .where(
                    Transfer.kind == TransferKind.SEND,
                    Transfer.sender_id == sender_id,
                    Transfer.root_tweet_id != other_than_root,
                    Transfer.created_at >= since,
                    col(User.wrote_at).is_(None),
                    col(Transfer.status).notin_(ended),
                )
            )
        )

    def moved_since(self, sender_id: str, since: datetime) -> int:
        known = self._sender(sender_id, since)
        if known is not None:
            return sum(
                t.amount_minor
                for t in known
                if t.confirmed_at is not None and t.confirmed_at >= since and t.status in MOVED
            )
        total = self._one(
            select(func.coalesce(func.sum(Transfer.amount_minor), 0)).where(
                Transfer.sender_id == sender_id,
                col(Transfer.confirmed_at) >= since,
                col(Transfer.status).in_([str(x) for x in MOVED]),
            )
        )
        return int(total)


def _aware(value: datetime) -> datetime:
    """An aggregate's time: SQLite may hand it back as it was stored (UTC, no zone)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

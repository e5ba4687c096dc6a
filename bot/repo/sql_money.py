"""The SQL store's money steps after a payment: settlements (releases, returns, refunds, reversals) and payouts
(cash-outs)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm.base import instance_state
from sqlmodel import Session, col, func, select

from bot.domain import PayoutStatus, Settle
from bot.domain.entities import BALANCE, Payout, Settlement
from bot.repo.sql_base import _Table

__all__ = ["SqlPayouts", "SqlSettlements"]


class SqlSettlements(_Table):
    def get(self, settlement_id: int) -> Settlement | None:
        return self.s.get(Settlement, settlement_id)

    def add(self, st: Settlement) -> None:
        self._add(st)

    def by_key(self, key: str) -> Settlement | None:
        return self._one(select(Settlement).where(Settlement.key == key))  # type: ignore[no-any-return]

    def by_ref(self, ref: str) -> Settlement | None:
        return self._one(  # type: ignore[no-any-return]
            select(Settlement).where(Settlement.ref == ref).order_by(col(Settlement.id))
        )

    def of(self, transfer_id: int | None) -> list[Settlement]:
        return list(
            self.s.exec(select(Settlement).where(Settlement.transfer_id == transfer_id).order_by(col(Settlement.id)))
        )

    def unsent(self) -> list[Settlement]:
        return list(
            self.s.exec(
                select(Settlement)
                .where(Settlement.status == Settle.PENDING, col(Settlement.ref).is_(None))
                .order_by(col(Settlement.id))
            )
        )

    def refused_for_balance(self) -> set[int]:
        return set(self.s.exec(select(Settlement.transfer_id).where(Settlement.failure == BALANCE)))


class SqlPayouts(_Table):
    """Cash-outs. `warm` reads at once the cash-outs of a page's people that wait for an account's confirmation;
    `awaiting_account` then answers for them by the current fields of those rows and of every cash-out this
    repository handed out or was given in the unit of work (a status changed since counts, as a query would see
    it). The read-ahead lasts until the next commit or rollback."""

    def __init__(self, s: Session) -> None:
        super().__init__(s)
        self.waiting: dict[str, list[Payout]] = {}  # user -> their cash-outs awaiting an account, when read ahead
        self.seen: list[Payout] = []  # the cash-outs handed out or added in the unit of work

    def _saw(self, row: Payout | None) -> Payout | None:
        if row is not None:
            self.seen.append(row)
        return row

    def committed(self) -> None:
        self.waiting.clear()

    def rolled_back(self) -> None:
        """The read-ahead is read again; the new cash-outs rolled back are no rows."""
        self.waiting.clear()
        self.seen = [p for p in self.seen if instance_state(p).key is not None]

    def get(self, payout_id: int) -> Payout | None:
        return self._saw(self.s.get(Payout, payout_id))

    def add(self, row: Payout) -> None:
        self._saw(row)
        self._add(row)

    def by_key(self, key: str) -> Payout | None:
        return self._saw(self._one(select(Payout).where(Payout.key == key)))

    def by_ref(self, ref: str) -> Payout | None:
        return self._saw(self._one(select(Payout).where(Payout.ref == ref).order_by(col(Payout.id))))

    def warm(self, user_ids: Iterable[str]) -> None:
        wanted = [u for u in set(user_ids) if u not in self.waiting]
        if not wanted:
            return
        for user in wanted:
            self.waiting[user] = []
        query = select(Payout).where(col(Payout.user_id).in_(wanted), Payout.status == PayoutStatus.CONFIRM_ACCOUNT)
        for p in self.s.exec(query):
            self.waiting[p.user_id].append(p)

    def made_since(self, user_id: str, since: datetime) -> int:
        return int(
            self.s.exec(
                select(func.count())
                .select_from(Payout)
                .where(
                    Payout.user_id == user_id,
                    Payout.created_at >= since,
                    col(Payout.status).in_([PayoutStatus.CREATED, PayoutStatus.SUCCEEDED, PayoutStatus.FAILED]),
                )
            ).one()
        )

    def in_flight(self, user_id: str, currency: str) -> Payout | None:
        return self._saw(
            self._one(
                select(Payout)
                .where(Payout.user_id == user_id, Payout.currency == currency, Payout.status == PayoutStatus.CREATED)
                .order_by(col(Payout.id))
            )
        )

    def unsent(self) -> list[Payout]:
        found = list(
            self.s.exec(
                select(Payout)
                .where(Payout.status == PayoutStatus.CREATED, col(Payout.ref).is_(None))
                .order_by(col(Payout.id))
            )
        )
        self.seen.extend(found)
        return found

    def open(self) -> int:
        return int(
            self.s.exec(select(func.count()).select_from(Payout).where(Payout.status == PayoutStatus.CREATED)).one()
        )

    def awaiting_account(self, user_id: str) -> list[Payout]:
        ahead = self.waiting.get(user_id)
        if ahead is not None:
            mine: dict[int, Payout] = {id(p): p for p in (*ahead, *self.seen) if p.user_id == user_id}
            if any(p.id is None for p in mine.values()):
                self.s.flush()  # a new one gets its id, which orders them
            found = [p for p in mine.values() if p.status == PayoutStatus.CONFIRM_ACCOUNT]
            return sorted(found, key=lambda p: p.id or 0, reverse=True)
        found = list(
            self.s.exec(
                select(Payout)
                .where(Payout.user_id == user_id, Payout.status == PayoutStatus.CONFIRM_ACCOUNT)
                .order_by(col(Payout.id).desc())
            )
        )
        self.seen.extend(found)
        return found

    def accounts_of(self, user_id: str) -> tuple[frozenset[str], frozenset[str]]:
        rows = list(
            self.s.exec(
                select(Payout.account_ref, Payout.account_confirmed_at, Payout.account_refused_at).where(
                    Payout.user_id == user_id, col(Payout.account_ref).is_not(None)
                )
            )
        )
        return (
            frozenset(ref for ref, confirmed, _ in rows if ref and confirmed is not None),
            frozenset(ref for ref, _, refused in rows if ref and refused is not None),
        )

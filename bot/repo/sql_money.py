"""The SQL store's money steps after a payment: settlements (releases, returns, refunds, reversals) and payouts
(cash-outs)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, func, select

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
    def get(self, payout_id: int) -> Payout | None:
        return self.s.get(Payout, payout_id)

    def add(self, row: Payout) -> None:
        self._add(row)

    def by_key(self, key: str) -> Payout | None:
        return self._one(select(Payout).where(Payout.key == key))  # type: ignore[no-any-return]

    def by_ref(self, ref: str) -> Payout | None:
        return self._one(select(Payout).where(Payout.ref == ref).order_by(col(Payout.id)))  # type: ignore[no-any-return]

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
        return self._one(  # type: ignore[no-any-return]
            select(Payout)
            .where(Payout.user_id == user_id, Payout.currency == currency, Payout.status == PayoutStatus.CREATED)
            .order_by(col(Payout.id))
        )

    def unsent(self) -> list[Payout]:
        return list(
            self.s.exec(
                select(Payout)
                .where(Payout.status == PayoutStatus.CREATED, col(Payout.ref).is_(None))
                .order_by(col(Payout.id))
            )
        )

    def open(self) -> int:
        return int(
            self.s.exec(select(func.count()).select_from(Payout).where(Payout.status == PayoutStatus.CREATED)).one()
        )

    def awaiting_account(self, user_id: str) -> list[Payout]:
        return list(
            self.s.exec(
                select(Payout)
                .where(Payout.user_id == user_id, Payout.status == PayoutStatus.CONFIRM_ACCOUNT)
                .order_by(col(Payout.id).desc())
            )
        )

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

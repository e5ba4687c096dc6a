"""What the Mangopay adapter remembers, per X user, in table mangopayuser (`MangopayUser` in bot/store.py): the
Natural User, the wallets per currency, the card and its open registration, the recurring registrations, the
browser data of the card page, and the Owner's state (Owner, identity verification, KYC level REGULAR). Only this
module reads and writes the table; each method is its own short transaction, and none calls Mangopay."""

from __future__ import annotations

from sqlmodel import col, select

from bot.domain import CARD, IDENTITY, CardStep, IdentityStep, card_step, identity_step
from bot.ports import Clock
from bot.repo.engine import UnitOfWork
from bot.repo.rows import MangopayUser


class MangopayRecords:
    """The adapter's table, read and written in its own unit of work."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    def row(self, user_id: str) -> MangopayUser:
        """The user's row (a new, unsaved one when paybot knows nothing of them)."""
        with self.uow() as s:
            return s.get(MangopayUser, user_id) or MangopayUser(user_id=user_id, updated_at=self.clock.now())

    def save(self, user_id: str, **fields: object) -> MangopayUser:
        """Change the user's row; its card and identity registrations move only as their lifecycles allow
        (IllegalTransition otherwise, and nothing is saved)."""
        with self.uow() as s:
            row = s.get(MangopayUser, user_id) or MangopayUser(user_id=user_id, updated_at=self.clock.now())
            card, identity = _card_step(row), _identity_step(row)
            for name, value in fields.items():
                setattr(row, name, value)
            CARD.became(card, _card_step(row))
            IDENTITY.became(identity, _identity_step(row))
            row.updated_at = self.clock.now()
            s.add(row)
            s.commit()
            return row

    def by_mangopay_id(self, mangopay_user_id: str) -> MangopayUser | None:
        """The row of the X user whose Natural User paybot made with this id; None for any other user."""
        with self.uow() as s:
            return s.exec(select(MangopayUser).where(MangopayUser.mangopay_user_id == mangopay_user_id)).first()

    def with_wallets(self) -> list[MangopayUser]:
        """The rows of the users paybot made a wallet for."""
        with self.uow() as s:
            return list(s.exec(select(MangopayUser).where(col(MangopayUser.wallets) != "{}")))

    def authors(self) -> list[str]:
        """The Natural Users paybot made (whose transactions reconciliation reads)."""
        with self.uow() as s:
            return [
                r
                for r in s.exec(
                    select(MangopayUser.mangopay_user_id).where(col(MangopayUser.mangopay_user_id).is_not(None))
                )
                if r is not None
            ]

    def open_registrations(self) -> list[tuple[str, str | None]]:
        """(user, card registration) of each user with a card page opened and no card saved, by user."""
        with self.uow() as s:
            return list(
                s.exec(
                    select(MangopayUser.user_id, MangopayUser.card_registration_id)
                    .where(col(MangopayUser.card_registration_id).is_not(None), col(MangopayUser.card_id).is_(None))
                    .order_by(col(MangopayUser.user_id))
                )
            )


def _card_step(row: MangopayUser) -> CardStep:
    return card_step(row.card_id, row.card_registration_id)


def _identity_step(row: MangopayUser) -> IdentityStep:
    return identity_step(row.owner, row.kyc_session_id, row.kyc_regular)

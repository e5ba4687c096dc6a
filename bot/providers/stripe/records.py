"""What the Stripe adapter remembers: per X user (Customer, saved card, Connect account) in table stripeuser, per
payment key (what paybot made on the platform for it) in table stripepayment. Only this module reads and writes
them; each method is its own short transaction, and none calls Stripe."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from bot.domain import CARD, IDENTITY, CardStep, IdentityStep, card_step, identity_step
from bot.money import Money
from bot.ports import Clock, PayOutcome
from bot.repo.engine import UnitOfWork
from bot.repo.rows import StripePayment, StripeUser

log = logging.getLogger(__name__)


class StripeRecords:
    """The adapter's two tables, read and written in their own unit of work."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    def row(self, user_id: str) -> StripeUser:
        """The user's row (a new, unsaved one when paybot knows nothing of them)."""
        with self.uow() as s:
            return s.get(StripeUser, user_id) or StripeUser(user_id=user_id, updated_at=self.clock.now())

    def save(self, user_id: str, **fields: Any) -> None:
        """Change the user's row; its card and its Connect account (the identity registration: made, then able to
        receive) move only as their lifecycles allow (IllegalTransition otherwise, and nothing is saved)."""
        with self.uow() as s:
            row = s.get(StripeUser, user_id) or StripeUser(user_id=user_id, updated_at=self.clock.now())
            card, identity = _card_step(row), _identity_step(row)
            for name, value in fields.items():
                setattr(row, name, value)
            CARD.became(card, _card_step(row))
            IDENTITY.became(identity, _identity_step(row))
            row.updated_at = self.clock.now()
            s.add(row)
            s.commit()

    def user_of_account(self, account_id: str) -> str | None:
        """The X user whose Connect account paybot created with this id; None for any other account."""
        with self.uow() as s:
            row = s.exec(select(StripeUser).where(StripeUser.account_id == account_id)).first()
        return row.user_id if row is not None else None

    def user_of_customer(self, customer_id: str) -> str | None:
        """The X user whose Customer paybot created with this id; None for any other Customer."""
        with self.uow() as s:
            row = s.exec(select(StripeUser).where(StripeUser.customer_id == customer_id)).first()
        return row.user_id if row is not None else None

    def mark_ready(self, account_id: str) -> str | None:
        """Save that the Connect account can take transfers; its user, or None for an account paybot did not make."""
        with self.uow() as s:
            row = s.exec(select(StripeUser).where(StripeUser.account_id == account_id)).first()
        if row is None:
            return None
        self.save(row.user_id, account_ready=True)
        return row.user_id

    def awaiting(self, since: datetime) -> list[StripeUser]:
        """The rows with a Connect account not ready yet whose onboarding schedule started at `since` or later."""
        with self.uow() as s:
            return list(
                s.exec(
                    select(StripeUser).where(
                        col(StripeUser.account_id).is_not(None),
                        col(StripeUser.account_ready).is_(False),
                        col(StripeUser.updated_at) >= since,
                    )
                )
            )

    def payment(self, key: str) -> StripePayment | None:
        """What paybot made on the platform for `key`, if anything."""
        with self.uow() as s:
            return s.get(StripePayment, key)

    def record(
        self,
        key: str,
        customer: str,
        amount: Money,
        *,
        payment_intent: str | None = None,
        session: str | None = None,
        outcome: PayOutcome | None = None,
    ) -> None:
        """Remember what paybot made for `key` on the platform (the fields given; the others stay)."""
        with self.uow() as s:
            row = s.get(StripePayment, key) or StripePayment(
                key=key,
                customer_id=customer,
                amount_minor=amount.minor,
                currency=amount.currency.lower(),
                updated_at=self.clock.now(),
            )
            row.customer_id, row.amount_minor, row.currency = customer, amount.minor, amount.currency.lower()
            if payment_intent is not None and row.outcome is None:
                row.payment_intent_id = payment_intent
            if session is not None:
                row.session_id = session
            if outcome is not None:
                row.outcome = outcome.value
            row.updated_at = self.clock.now()
            s.add(row)
            s.commit()


def _card_step(row: StripeUser) -> CardStep:
    return card_step(row.payment_method_id, None)  # a card is saved on Stripe's page at once, or not at all


def _identity_step(row: StripeUser) -> IdentityStep:
    return identity_step(bool(row.account_id), None, row.account_ready)  # Stripe verifies on its own pages

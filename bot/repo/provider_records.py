"""What the payment-provider adapters remember, on SQL: the Stripe adapter's records per X user (Customer, saved card,
Connect account; table stripeuser) and per payment key (what paybot made on the platform for it; table
stripepayment), and the Mangopay adapter's per X user (Natural User, wallets, card and its open registration,
recurring registrations, the card page's browser data, the Owner's state; table mangopayuser). The records are
bot.ports.records' plain dataclasses, mapped onto their tables by bot.repo.schema.

The adapters speak to the ports `StripeRecords` and `MangopayRecords` and never build SQL: each method is its own
short transaction, and none calls the provider. `SqlStripeRecords` and `SqlMangopayRecords` are them on SQL, in the
bot's PostgreSQL database or in a SQLite file of the adapter's own (`open`); a card and an identity registration
move only as their lifecycles allow (bot.domain.lifecycles), checked at each save.

`read_identity` is the Mangopay adapter's read of the identity page's record on an engine that takes no lock
(bot.repo.engine.make_reader), while the worker's own transaction may hold SQLite's write lock."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields as fields_of
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.domain import CARD, IDENTITY, CardStep, IdentityStep, card_step, identity_step
from bot.domain.entities import IdentityRecord
from bot.money import Money
from bot.ports import Clock, PayOutcome
from bot.ports.records import MangopayUser, StripePayment, StripeUser
from bot.repo.engine import UnitOfWork, make_engine
from bot.repo.schema import metadata

R = TypeVar("R", StripeUser, MangopayUser)

__all__ = [
    "MangopayRecords",
    "SqlMangopayRecords",
    "SqlStripeRecords",
    "StripeRecords",
    "read_identity",
]


class StripeRecords(Protocol):
    """What the Stripe adapter remembers (tables stripeuser, stripepayment)."""

    def row(self, user_id: str) -> StripeUser:
        """The user's row (a new, unsaved one when paybot knows nothing of them)."""
        ...

    def save(self, user_id: str, **fields: Any) -> None:
        """Change the user's row; its card and its Connect account (the identity registration: made, then able to
        receive) move only as their lifecycles allow (IllegalTransition otherwise, and nothing is saved)."""
        ...

    def user_of_account(self, account_id: str) -> str | None:
        """The X user whose Connect account paybot created with this id; None for any other account."""
        ...

    def user_of_customer(self, customer_id: str) -> str | None:
        """The X user whose Customer paybot created with this id; None for any other Customer."""
        ...

    def mark_ready(self, account_id: str) -> str | None:
        """Save that the Connect account can take transfers; its user, or None for an account paybot did not make."""
        ...

    def awaiting(self, since: datetime) -> list[StripeUser]:
        """The rows with a Connect account not ready yet whose onboarding schedule started at `since` or later."""
        ...

    def payment(self, key: str) -> StripePayment | None:
        """What paybot made on the platform for `key`, if anything."""
        ...

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
        """Remember what paybot made for `key` on the platform (the fields given; the others stay): the
        PaymentIntent only while no outcome is known."""
        ...

    def close(self) -> None:
        """Let go of the database."""
        ...


class MangopayRecords(Protocol):
    """What the Mangopay adapter remembers (table mangopayuser)."""

    def row(self, user_id: str) -> MangopayUser:
        """The user's row (a new, unsaved one when paybot knows nothing of them)."""
        ...

    def save(self, user_id: str, **fields: object) -> MangopayUser:
        """Change the user's row; its card and identity registrations move only as their lifecycles allow
        (IllegalTransition otherwise, and nothing is saved)."""
        ...

    def add_wallet(self, user_id: str, currency: str, wallet_id: str) -> str:
        """Remember the user's wallet in `currency` beside their others, in one transaction that holds their row (two
        processes adding different currencies at once keep both); a currency that has a wallet keeps it. The id of
        the user's wallet in `currency` now."""
        ...

    def by_mangopay_id(self, mangopay_user_id: str) -> MangopayUser | None:
        """The row of the X user whose Natural User paybot made with this id; None for any other user."""
        ...

    def with_wallets(self) -> list[MangopayUser]:
        """The rows of the users paybot made a wallet for."""
        ...

    def authors(self) -> list[str]:
        """The Natural Users paybot made (whose transactions reconciliation reads)."""
        ...

    def open_registrations(self) -> list[tuple[str, str | None]]:
        """(user, card registration) of each user with a card page opened and no card saved, by user."""
        ...

    def close(self) -> None:
        """Let go of the database."""
        ...


def _save_row(
    uow: UnitOfWork,
    model: type[R],
    user_id: str,
    fields: dict[str, Any],
    clock: Clock,
    card_of: Callable[[R], CardStep],
    identity_of: Callable[[R], IdentityStep],
) -> R:
    """Change the person's row (made when missing) as `fields` say, its card and identity registrations moved only as
    their lifecycles allow. When another process made their first row meanwhile (both read none, both inserted, and
    this insert met the other's key), it is saved again: the fields named are then changed on the row the other
    made."""

    known = {f.name for f in fields_of(model)}
    unknown = sorted(set(fields) - known)
    if unknown:  # a misspelt field would be set on the object and never stored: refused, nothing saved
        raise ValueError(f"{model.__name__} has no field {', '.join(repr(n) for n in unknown)}")

    def once() -> R:
        with uow() as s:
            row = s.get(model, user_id) or model(user_id=user_id, updated_at=clock.now())
            card, identity = card_of(row), identity_of(row)
            for name, value in fields.items():
                setattr(row, name, value)
            CARD.became(card, card_of(row))
            IDENTITY.became(identity, identity_of(row))
            row.updated_at = clock.now()
            s.add(row)
            s.commit()
            return row

    try:
        return once()
    except IntegrityError:
        return once()


def _opened(url: str, tables: tuple[str, ...]) -> UnitOfWork:
    """A unit of work on `url` whose `tables` exist (made when missing; the bot's own are bot.migrate's)."""
    engine = make_engine(url, create_tables=False)
    metadata.create_all(engine, tables=[metadata.tables[name] for name in tables])
    return UnitOfWork(engine)


class SqlStripeRecords:
    """`StripeRecords` on SQL, each method in its own unit of work."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    @classmethod
    def open(cls, url: str, clock: Clock) -> SqlStripeRecords:
        """The records on the database at `url`, their tables made when missing."""
        return cls(_opened(url, ("stripeuser", "stripepayment")), clock)

    def close(self) -> None:
        self.uow.engine.dispose()

    def row(self, user_id: str) -> StripeUser:
        with self.uow() as s:
            return s.get(StripeUser, user_id) or StripeUser(user_id=user_id, updated_at=self.clock.now())

    def save(self, user_id: str, **fields: Any) -> None:
        _save_row(self.uow, StripeUser, user_id, fields, self.clock, _stripe_card, _stripe_identity)

    def _of_account(self, account_id: str) -> StripeUser | None:
        with self.uow() as s:
            return s.exec(select(StripeUser).where(StripeUser.account_id == account_id)).first()

    def user_of_account(self, account_id: str) -> str | None:
        row = self._of_account(account_id)
        return row.user_id if row is not None else None

    def user_of_customer(self, customer_id: str) -> str | None:
        with self.uow() as s:
            row = s.exec(select(StripeUser).where(StripeUser.customer_id == customer_id)).first()
        return row.user_id if row is not None else None

    def mark_ready(self, account_id: str) -> str | None:
        row = self._of_account(account_id)
        if row is None:
            return None
        self.save(row.user_id, account_ready=True)
        return row.user_id

    def awaiting(self, since: datetime) -> list[StripeUser]:
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
                row.outcome = outcome
            row.updated_at = self.clock.now()
            s.add(row)
            s.commit()


def _stripe_card(row: StripeUser) -> CardStep:
    return card_step(row.payment_method_id, None)  # a card is saved on Stripe's page at once, or not at all


def _stripe_identity(row: StripeUser) -> IdentityStep:
    return identity_step(bool(row.account_id), None, row.account_ready)  # Stripe verifies on its own pages


class SqlMangopayRecords:
    """`MangopayRecords` on SQL, each method in its own unit of work."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    @classmethod
    def open(cls, url: str, clock: Clock) -> SqlMangopayRecords:
        """The records on the database at `url`, their table made when missing."""
        return cls(_opened(url, ("mangopayuser",)), clock)

    def close(self) -> None:
        self.uow.engine.dispose()

    def row(self, user_id: str) -> MangopayUser:
        with self.uow() as s:
            return s.get(MangopayUser, user_id) or MangopayUser(user_id=user_id, updated_at=self.clock.now())

    def save(self, user_id: str, **fields: object) -> MangopayUser:
        return _save_row(self.uow, MangopayUser, user_id, dict(fields), self.clock, _mangopay_card, _mangopay_identity)

    def add_wallet(self, user_id: str, currency: str, wallet_id: str) -> str:
        def once() -> str:
            with self.uow() as s:  # the row locked as it is read: FOR UPDATE (SQLite: BEGIN IMMEDIATE, make_engine)
                found = s.exec(select(MangopayUser).where(MangopayUser.user_id == user_id).with_for_update()).first()
                row = found or MangopayUser(user_id=user_id, updated_at=self.clock.now())
                wallets = json.loads(row.wallets)
                if currency not in wallets:
                    wallets[currency] = wallet_id
                    row.wallets, row.updated_at = json.dumps(wallets, sort_keys=True), self.clock.now()
                    s.add(row)
                    s.commit()
                return str(wallets[currency])

        try:
            return once()
        except IntegrityError:  # another process made the person's first row meanwhile: add to that one
            return once()

    def by_mangopay_id(self, mangopay_user_id: str) -> MangopayUser | None:
        with self.uow() as s:
            return s.exec(select(MangopayUser).where(MangopayUser.mangopay_user_id == mangopay_user_id)).first()

    def with_wallets(self) -> list[MangopayUser]:
        with self.uow() as s:
            return list(s.exec(select(MangopayUser).where(col(MangopayUser.wallets) != "{}")))

    def authors(self) -> list[str]:
        with self.uow() as s:
            return [
                r
                for r in s.exec(
                    select(MangopayUser.mangopay_user_id).where(col(MangopayUser.mangopay_user_id).is_not(None))
                )
                if r is not None
            ]

    def open_registrations(self) -> list[tuple[str, str | None]]:
        with self.uow() as s:
            return list(
                s.exec(
                    select(MangopayUser.user_id, MangopayUser.card_registration_id)
                    .where(col(MangopayUser.card_registration_id).is_not(None), col(MangopayUser.card_id).is_(None))
                    .order_by(col(MangopayUser.user_id))
                )
            )


def _mangopay_card(row: MangopayUser) -> CardStep:
    return card_step(row.card_id, row.card_registration_id)


def _mangopay_identity(row: MangopayUser) -> IdentityStep:
    return identity_step(row.owner, row.kyc_session_id, row.kyc_regular)


def read_identity(reader: Engine, user_id: str) -> IdentityRecord | None:
    """What X user `user_id` gave on the identity page, read on `reader` (an engine that begins no write
    transaction: bot.repo.engine.make_reader); None if nothing."""
    with Session(reader) as s:
        return s.get(IdentityRecord, user_id)


def _typed(stripe: SqlStripeRecords, mangopay: SqlMangopayRecords) -> tuple[StripeRecords, MangopayRecords]:
    """mypy checks here that the SQL records implement their ports."""
    return stripe, mangopay

"""Who a person is, as they told paybot on the identity-and-terms page (`paybot web`), and the one way to read it.

`identity_of(store, user_id)` is what the payment provider's adapter is to use when it creates or updates the
person's user at the provider (Mangopay's Natural user: FirstName, LastName, Email, and for an OWNER, who can
receive, Birthday, Nationality, CountryOfResidence, Address and TermsAndConditionsAccepted, whose date Mangopay
may ask the platform for: `terms_accepted_at`). The Mangopay adapter reads it through its People port
(bot.providers.mangopay_people), with the same mapping (`from_record`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.domain.entities import IdentityRecord
from bot.repo.port import Store


@dataclass(frozen=True)
class Address:
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str
    country: str  # ISO 3166-1 alpha-2: the country of residence


@dataclass(frozen=True)
class Identity:
    """A person's identity as they typed it; `can_receive` when they gave what receiving money needs."""

    user_id: str  # the X user
    first_name: str
    last_name: str
    email: str
    birthday: date | None
    nationality: str | None  # ISO 3166-1 alpha-2
    residence: str | None  # ISO 3166-1 alpha-2
    address: Address | None
    terms_url: str  # the terms they were shown and accepted
    terms_accepted_at: datetime  # UTC
    lang: str

    @property
    def can_receive(self) -> bool:
        return None not in (self.birthday, self.nationality, self.residence, self.address)


def from_record(row: IdentityRecord) -> Identity:
    """The identity a stored record holds."""
    address = None
    if row.address_line1 and row.city and row.postal_code and row.residence:
        address = Address(
            line1=row.address_line1,
            line2=row.address_line2,
            city=row.city,
            region=row.region,
            postal_code=row.postal_code,
            country=row.residence,
        )
    return Identity(
        user_id=row.user_id,
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        birthday=row.birthday,
        nationality=row.nationality,
        residence=row.residence,
        address=address,
        terms_url=row.terms_url,
        terms_accepted_at=row.terms_accepted_at,
        lang=row.lang,
    )


def identity_of(store: Store, user_id: str) -> Identity | None:
    """The identity X user `user_id` last gave on the identity page, or None if they never did."""
    with store() as tx:
        row = tx.identities.get(user_id)
        return from_record(row) if row is not None else None

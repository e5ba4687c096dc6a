"""People as the Mangopay adapter's tests know them: everyone gave the identity page already (a real-looking name,
e-mail, and what an Owner needs), unless named `unknown`; links to paybot's pages are recorded, not served."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.identity import Address, Identity

FIRST = ("Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Gaëlle", "Hugo", "Inès", "Jules")
LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau")


def person(user_id: str, *, receive: bool = True, lang: str = "en") -> Identity:
    """A real-looking identity for X user `user_id` (the same each time)."""
    n = sum(map(ord, user_id))
    first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
    address = (
        Address(line1="12 rue de la Paix", line2=None, city="Paris", region=None, postal_code="75002", country="FR")
        if receive
        else None
    )
    return Identity(
        user_id=user_id,
        first_name=first,
        last_name=last,
        email=f"{first.lower().replace('é', 'e').replace('ë', 'e')}.{last.lower()}.{user_id}@example.org",
        birthday=date(1990, 3, 31) if receive else None,
        nationality="FR" if receive else None,
        residence="FR" if receive else None,
        address=address,
        terms_url="https://mangopay.com/terms-and-conditions",
        terms_accepted_at=datetime(2026, 12, 1, tzinfo=UTC),
        lang=lang,
    )


@dataclass
class KnownPeople:
    """The adapter's People port: `person(id)` for everyone but `unknown` (nobody) and `payers_only` (no Owner
    fields); every link asked for is kept in `links` as (purpose, user id)."""

    base: str = "https://paybot.example"
    unknown: set[str] = field(default_factory=set)
    payers_only: set[str] = field(default_factory=set)
    links: list[tuple[str, str]] = field(default_factory=list)
    ttl: timedelta = timedelta(minutes=15)

    def identity(self, user_id: str) -> Identity | None:
        if user_id in self.unknown:
            return None
        return person(user_id, receive=user_id not in self.payers_only)

    def link(self, purpose: str, user_id: str) -> str | None:
        self.links.append((purpose, user_id))
        return f"{self.base}/l/{len(self.links)}.{purpose}{user_id}.{'0' * 32}"

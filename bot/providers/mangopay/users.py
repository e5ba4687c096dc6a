"""Mangopay's users and wallets: a Natural User per X user (made once, as a PAYER, from what the person gave on the
identity page) and one wallet per currency, each created under a key of its own (`user:<x id>`,
`wallet:<x id>:<currency>`) and remembered in the user's row."""

from __future__ import annotations

import json
from typing import Any

from bot.identity import Identity
from bot.providers.mangopay.pages import MangopayPages
from bot.providers.mangopay.people import PAY
from bot.providers.mangopay.transport import MangopayTransport, tag
from bot.repo.provider_records import MangopayRecords


class MangopayUsers:
    """The X users' Natural Users and wallets at Mangopay."""

    def __init__(self, transport: MangopayTransport, records: MangopayRecords, pages: MangopayPages) -> None:
        self.transport = transport
        self.records = records
        self.pages = pages

    def user(self, user_id: str) -> str:
        """The X user's Natural User id, created (once, as a PAYER) the first time, with the name and e-mail they
        gave on the identity page (and, when they gave it, their address); IdentityNeeded when they gave none."""
        row = self.records.row(user_id)
        if row.mangopay_user_id:
            return row.mangopay_user_id
        who = self.pages.identity(user_id, PAY)
        body: dict[str, Any] = {
            "FirstName": who.first_name,
            "LastName": who.last_name,
            "Email": who.email,
            "UserCategory": "PAYER",
            # They accepted Mangopay's terms on the identity page (shown with their link; the time is stored).
            "TermsAndConditionsAccepted": True,
            "Tag": tag(x_user=user_id),
        }
        address = _address(who)
        if address is not None:
            body["Address"] = address
        made = self.transport.post(f"user:{user_id}", "/sca/users/natural", body)
        self.records.save(user_id, mangopay_user_id=str(made["Id"]))
        return str(made["Id"])

    def wallet(self, user_id: str, currency: str) -> str:
        """The user's wallet in `currency`, created (once) the first time."""
        owner = self.user(user_id)
        wallets = json.loads(self.records.row(user_id).wallets)
        if currency in wallets:
            return str(wallets[currency])
        made = self.transport.post(
            f"wallet:{user_id}:{currency}",
            "/wallets",
            {"Owners": [owner], "Description": f"paybot {currency}", "Currency": currency, "Tag": tag(x_user=user_id)},
        )
        return self.records.add_wallet(user_id, currency, str(made["Id"]))


def _address(who: Identity) -> dict[str, Any] | None:
    """An identity's postal address as Mangopay's Address (optional for a Natural user; sent when known)."""
    if who.address is None:
        return None
    a = who.address
    return {
        "AddressLine1": a.line1,
        "AddressLine2": a.line2,
        "City": a.city,
        "Region": a.region,
        "PostalCode": a.postal_code,
        "Country": a.country,
    }

"""What paybot's cash-out account page (bot.web.recipient_pages) asks of Mangopay: the form Mangopay's Recipient
schema describes for the country and currency, checked with `POST /users/{id}/recipients/validate`, then
`POST /users/{id}/recipients`, PENDING until the person passes the SCA session the page sends them to, with its
encoded returnUrl back to a page that reads the Recipient (ACTIVE, or CANCELED)."""

from __future__ import annotations

import json
from typing import Any

from mangopay.exceptions import APIError

from bot.errors import ProviderError, ProviderTransient
from bot.providers.mangopay.pages import sca_url
from bot.providers.mangopay.transport import MangopayTransport, translate
from bot.providers.mangopay.users import MangopayUsers
from bot.repo.provider_records import MangopayRecords


class MangopayRecipients:
    """A user's payout Recipients (Mangopay's bank accounts for payouts), made on paybot's page."""

    def __init__(self, transport: MangopayTransport, records: MangopayRecords, users: MangopayUsers) -> None:
        self.transport = transport
        self.records = records
        self.users = users

    def payout_currencies(self, user_id: str) -> list[str]:
        """The currencies of the user's wallets (what a cash-out account can be for); [] when they have none."""
        return sorted(json.loads(self.records.row(user_id).wallets))

    def recipient_schema(self, country: str, currency: str) -> tuple[str, dict[str, Any]]:
        """The payout method for a bank account in `country` taking `currency` (a local transfer where Mangopay
        offers one, else international) and Mangopay's schema of an individual's Recipient for it
        (GET /recipients/payout-methods, then GET /recipients/schema)."""
        methods = self.transport.get("/recipients/payout-methods", Country=country, Currency=currency) or {}
        offered = [str(m) for m in methods.get("AvailablePayoutMethods") or []]
        if not offered:
            raise ProviderError(f"Mangopay offers no payout to {country} in {currency}")
        method = "LocalBankTransfer" if "LocalBankTransfer" in offered else offered[0]
        schema = (
            self.transport.get(
                "/recipients/schema",
                PayoutMethodType=method,
                RecipientType="Individual",
                Currency=currency,
                Country=country,
            )
            or {}
        )
        return method, schema

    def check_recipient(self, user_id: str, body: dict[str, Any]) -> dict[str, str]:
        """Mangopay's refusals of a Recipient's data, field by field (POST .../recipients/validate; {}: it would
        make one). Nothing is created."""
        author = self.users.user(user_id)
        try:
            self.transport.request("POST", f"/users/{author}/recipients/validate", body)
        except APIError as err:
            data = err.content if isinstance(err.content, dict) else {}
            found = data.get("Errors") or data.get("errors")
            if err.code == 400 and isinstance(found, dict) and found:
                return {str(k): str(v) for k, v in found.items()}
            raise translate(err) from None
        return {}

    def add_recipient(self, user_id: str, body: dict[str, Any], name: str, return_url: str) -> tuple[str, str]:
        """Create the user's payout Recipient (PENDING) under the step `name` (its Idempotency-Key: one per link),
        and the link to its SCA session, sending the person back to `return_url`: (its id, the link)."""
        made = self.transport.post(name, f"/users/{self.users.user(user_id)}/recipients", body)
        pending = (made.get("PendingUserAction") or {}).get("RedirectUrl")
        if not pending:
            raise ProviderTransient("Mangopay gave no SCA link for the new Recipient")
        return str(made["Id"]), sca_url(str(pending), return_url)

    def recipient_status(self, user_id: str, recipient_id: str) -> str | None:
        """A Recipient's Status (PENDING, ACTIVE, CANCELED...) if it is this user's; None otherwise."""
        row = self.records.row(user_id)
        found = self.transport.get(f"/recipients/{recipient_id}") if row.mangopay_user_id else None
        if not found or str(found.get("UserId")) != row.mangopay_user_id:
            return None
        return str(found.get("Status") or "")

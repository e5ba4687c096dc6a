"""Mangopay's events (one EventType a request, kept 45 days) and the client's own record."""

from __future__ import annotations

import re
from typing import Any

from bot.sims.mangopay.errors import _param
from bot.sims.mangopay.facts import EVENT_RETENTION
from bot.sims.mangopay.lists import Lists


class Events(Lists):
    """The events list and the client."""

    def _events_list(self, args: Any) -> Any:
        """GET /events: the events of one EventType (required: list-events.mdx), within their 45 days."""
        self._sweep()
        kind = str(args.get("EventType") or "")
        if not re.fullmatch(r"[A-Z_]+", kind):
            raise _param(
                "One or several required parameters are missing or incorrect",
                EventType="one EventType (the list of event types)",
            )
        oldest = self._now() - int(EVENT_RETENTION.total_seconds())
        rows = [e for e in self.events if e["EventType"] == kind and e["Date"] > oldest]
        try:
            if args.get("AfterDate"):
                rows = [e for e in rows if e["Date"] > int(args["AfterDate"])]
            if args.get("BeforeDate"):
                rows = [e for e in rows if e["Date"] < int(args["BeforeDate"])]
        except ValueError:
            raise _param("AfterDate and BeforeDate are unix timestamps") from None
        return self._page(rows, args, sort_field="Date", default="DESC")

    def _client(self, _args: Any) -> dict[str, Any]:
        return {
            "ClientId": self.client_id,
            "Name": "paybot emulator",
            "PlatformURL": None,
            "Licensor": None,
            "PrimaryThemeColour": None,
            "PrimaryButtonColour": None,
            "Logo": None,
            "TechEmails": [],
            "AdminEmails": [],
            "FraudEmails": [],
            "BillingEmails": [],
            "PlatformDescription": None,
            "PlatformCategorization": None,
            "HeadquartersAddress": None,
            "HeadquartersPhoneNumber": None,
            "TaxNumber": None,
        }

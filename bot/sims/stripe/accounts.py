"""Connect: connected accounts, their onboarding links and readiness, and payments made on an account itself."""

from __future__ import annotations

from typing import Any

from bot.sims.stripe.errors import StripeError, _invalid
from bot.sims.stripe.state import StripeState


class Accounts(StripeState):
    """Connected accounts and their onboarding."""

    def _check_destination(self, destination: str | None) -> None:
        if destination is None:
            return
        acct = self._get("account", destination, "transfer_data[destination]")
        if acct["capabilities"].get("transfers") != "active":
            raise StripeError(
                400,
                "invalid_request_error",
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer",
                param="transfer_data[destination]",
            )

    def _accounts_create(self, params: dict[str, Any]) -> dict[str, Any]:
        requested = [
            name for name, cap in (params.get("capabilities") or {}).items() if (cap or {}).get("requested") == "true"
        ]
        acct = self._new(
            "acct",
            "account",
            type="express" if params.get("controller") else "custom",
            country=params.get("country", "US"),
            email=params.get("email"),
            metadata=params.get("metadata", {}),
            controller=params.get("controller", {}),
            charges_enabled=False,
            payouts_enabled=False,
            details_submitted=False,
            capabilities={name: "inactive" for name in requested},
        )
        return self._public(acct)

    def _account_links_create(self, params: dict[str, Any]) -> dict[str, Any]:
        for name in ("account", "refresh_url", "return_url", "type"):
            if not params.get(name):
                raise _invalid(f"Missing required param: {name}.", name)
        acct = self._get("account", params["account"], "account")
        acct["_link_minted"] = True
        if params["type"] not in ("account_onboarding", "account_update"):
            raise _invalid("Invalid type.", "type")
        self._n += 1  # every link is a new one, as Stripe's are
        url = f"{self.base or 'https://connect.stripe.com'}/setup/e/{params['account']}/{self._n}"
        return {"object": "account_link", "created": self._now(), "expires_at": self._now() + 300, "url": url}

    def onboard(self, account_id: str) -> None:
        """The recipient finishes Stripe's onboarding: the account can take transfers."""
        with self.lock:
            acct = self._get("account", account_id)
            acct.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
            acct["capabilities"] = {k: "active" for k in acct["capabilities"]} or {"transfers": "active"}
            self._event("account.updated", acct, account=account_id)  # a Connect event

    def awaiting_onboarding(self) -> list[str]:
        """Accounts whose onboarding link was minted but not finished."""
        with self.lock:
            return [
                o["id"]
                for o in self.objects.values()
                if o["object"] == "account" and o.get("_link_minted") and not o["details_submitted"]
            ]

    def restrict(self, account_id: str) -> None:
        """Stripe disables the account's transfers (missing requirements, a review)."""
        with self.lock:
            acct = self._get("account", account_id)
            acct.update(charges_enabled=False, payouts_enabled=False)
            acct["capabilities"] = {k: "inactive" for k in acct["capabilities"]}
            self._event("account.updated", acct, account=account_id)  # a Connect event

    def connected_payment(
        self, account_id: str, amount: int, currency: str = "usd", metadata: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """A payment made inside connected account `account_id` by its owner (a Standard account's own API key or
        dashboard), not by the platform: a card payment from a customer of theirs, with the metadata they wrote.
        Its Customer, PaymentIntent and charge live in that account (`connected`), never on the platform; its
        payment_intent.succeeded is a Connect event of that account. Returns the PaymentIntent."""
        with self.lock:
            self._get("account", account_id)
            own = self.connected.setdefault(account_id, {})
            now = self._now()
            ids = []
            for prefix in ("cus", "pi", "ch"):
                self._n += 1
                ids.append(f"{prefix}_sim{self._n:010d}")
            cus_id, pi_id, ch_id = ids
            own[cus_id] = {
                "id": cus_id,
                "object": "customer",
                "created": now,
                "livemode": False,
                "email": None,
                "name": None,
                "description": None,
                "metadata": {},
                "invoice_settings": {"default_payment_method": None},
            }
            pi = {
                "id": pi_id,
                "object": "payment_intent",
                "created": now,
                "livemode": False,
                "amount": amount,
                "currency": currency,
                "customer": cus_id,
                "payment_method": "pm_card_visa",
                "metadata": dict(metadata or {}),
                "status": "succeeded",
                "latest_charge": ch_id,
                "transfer_data": None,
                "transfer_group": None,
                "application_fee_amount": None,
                "last_payment_error": None,
                "amount_received": amount,
            }
            own[pi_id] = pi
            own[ch_id] = {
                "id": ch_id,
                "object": "charge",
                "created": now,
                "livemode": False,
                "amount": amount,
                "currency": currency,
                "customer": cus_id,
                "payment_intent": pi_id,
                "payment_method": "pm_card_visa",
                "amount_refunded": 0,
                "refunded": False,
                "disputed": False,
                "transfer_group": None,
                "metadata": dict(metadata or {}),
                "status": "succeeded",
            }
            self._event("payment_intent.succeeded", pi, account=account_id)  # a Connect event
            return self._public(pi)

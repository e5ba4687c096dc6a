"""Customers and their payment methods (the test cards, attached to a customer)."""

from __future__ import annotations

from typing import Any

from bot.sims.stripe.errors import StripeError, _invalid
from bot.sims.stripe.facts import TEST_CARDS
from bot.sims.stripe.lists import Lists


class Customers(Lists):
    """Customers and payment methods."""

    def _customers_create(self, params: dict[str, Any]) -> dict[str, Any]:
        cus = self._new(
            "cus",
            "customer",
            email=params.get("email"),
            name=params.get("name"),
            description=params.get("description"),
            metadata=params.get("metadata", {}),
            invoice_settings={"default_payment_method": None},
        )
        if params.get("invoice_settings"):
            self._customers_update(params, cus["id"])
        return self._public(cus)

    def _customers_update(self, params: dict[str, Any], oid: str) -> dict[str, Any]:
        cus = self._get("customer", oid)
        for name in ("email", "name", "description"):
            if name in params:
                cus[name] = params[name]
        cus["metadata"] = {**cus["metadata"], **params.get("metadata", {})}
        pm_id = (params.get("invoice_settings") or {}).get("default_payment_method")
        if pm_id:
            pm = self._get("payment_method", pm_id, "invoice_settings[default_payment_method]")
            if pm["customer"] != oid:
                raise _invalid(
                    "The payment method must be attached to the customer.", "invoice_settings[default_payment_method]"
                )
            cus["invoice_settings"] = {"default_payment_method": pm_id}
        return self._public(cus)

    def _materialize(self, pm_id: str) -> dict[str, Any]:
        """A test payment method id gives a new payment method each time, as Stripe does."""
        if pm_id in TEST_CARDS:
            card = TEST_CARDS[pm_id]
            return self._new(
                "pm",
                "payment_method",
                type="card",
                customer=None,
                metadata={},
                card={
                    "brand": "visa",
                    "last4": card["last4"],
                    "exp_month": 12,
                    "exp_year": 2034,
                    "funding": "credit",
                    "behaviour": card["behaviour"],
                },
            )
        return self._get("payment_method", pm_id, "payment_method")

    def _attach(self, pm: dict[str, Any], customer: str) -> None:
        self._get("customer", customer, "customer")
        if pm["customer"] not in (None, customer):
            raise _invalid("The payment method is attached to another customer.", "payment_method")
        if pm["card"]["behaviour"] == "declined_on_attach":
            raise StripeError(
                402,
                "card_error",
                "Your card was declined.",
                code="card_declined",
                decline_code="generic_decline",
                param="",
            )
        pm["customer"] = customer

    def _pm_retrieve(self, _params: dict[str, Any], oid: str) -> dict[str, Any]:
        return self._public(self._materialize(oid) if oid in TEST_CARDS else self._get("payment_method", oid))

    def _pm_attach(self, params: dict[str, Any], oid: str) -> dict[str, Any]:
        if not params.get("customer"):
            raise _invalid("Missing required param: customer.", "customer")
        pm = self._materialize(oid)
        self._attach(pm, params["customer"])
        return self._public(pm)

    def _pms_list(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("customer"):
            raise _invalid("Missing required param: customer.", "customer")
        self._get("customer", params["customer"], "customer")
        rows = [
            o for o in self.objects.values() if o["object"] == "payment_method" and o["customer"] == params["customer"]
        ]
        return self._page(rows, params, "/v1/payment_methods")

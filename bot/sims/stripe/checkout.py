"""Checkout Sessions in setup mode: the card-setup page a person completes (or lets lapse)."""

from __future__ import annotations

from typing import Any

from bot.sims.stripe.customers import Customers
from bot.sims.stripe.errors import StripeError, _invalid
from bot.sims.stripe.params import _int
from bot.sims.stripe.payments import Payments


class Checkout(Customers, Payments):
    """Checkout Sessions and their page."""

    def _cs_create(self, params: dict[str, Any]) -> dict[str, Any]:
        mode = params.get("mode")
        if mode not in ("setup", "payment"):
            raise _invalid("Invalid mode: must be one of payment, setup or subscription", "mode")
        if not params.get("success_url"):
            raise _invalid("Missing required param: success_url.", "success_url")
        customer = params.get("customer")
        if not customer:
            raise _invalid("paybot's emulator needs a customer for every session.", "customer")
        self._get("customer", customer, "customer")
        expires_at = _int(params, "expires_at", required=False) or self._now() + 24 * 3600
        if not self._now() + 30 * 60 <= expires_at <= self._now() + 24 * 3600:
            raise _invalid(
                "The expires_at timestamp must be between 30 minutes and 24 hours from creation.", "expires_at"
            )
        fields: dict[str, Any] = dict(
            mode=mode,
            customer=customer,
            status="open",
            expires_at=expires_at,
            metadata=params.get("metadata", {}),
            success_url=params["success_url"],
            cancel_url=params.get("cancel_url"),
            payment_status="unpaid",
            setup_intent=None,
            payment_intent=None,
            currency=params.get("currency"),
            amount_total=None,
            client_reference_id=params.get("client_reference_id"),
        )
        if mode == "payment":
            items = list((params.get("line_items") or {}).values())
            if len(items) != 1:
                raise _invalid("paybot's emulator takes exactly one line item.", "line_items")
            price = items[0].get("price_data") or {}
            amount = _int(price, "unit_amount")
            quantity = _int(items[0], "quantity")
            if not price.get("currency") or amount is None or amount < 1 or quantity != 1:
                raise _invalid("Invalid line item.", "line_items[0]")
            data = params.get("payment_intent_data") or {}
            self._check_destination(data.get("transfer_data", {}).get("destination"))
            fields.update(currency=price["currency"], amount_total=amount, _payment_intent_data=data)
        else:
            fields["_setup_metadata"] = (params.get("setup_intent_data") or {}).get("metadata", {})
        cs = self._new("cs_test", "checkout.session", **fields)
        cs["url"] = f"{self.base or 'https://checkout.stripe.com'}/c/pay/{cs['id']}"
        return self._public(cs)

    def _cs_expire(self, _params: dict[str, Any], oid: str) -> dict[str, Any]:
        cs = self._get("checkout.session", oid)
        if cs["status"] != "open":
            raise StripeError(
                400,
                "invalid_request_error",
                f'Only Checkout Sessions with a status in ["open"] can be expired. '
                f'This Checkout Session has a status of "{cs["status"]}".',
                code="checkout_session_not_open",
            )
        cs["status"] = "expired"
        self._event("checkout.session.expired", cs)
        return self._public(cs)

    def complete_checkout(self, session_id: str, payment_method: str = "pm_card_visa") -> dict[str, Any]:
        """The customer fills in Stripe's hosted page and the session completes."""
        with self.lock:
            cs = self._get("checkout.session", session_id)
            if cs["status"] != "open":
                raise _invalid(f"This Checkout Session is {cs['status']}.")
            pm = self._materialize(payment_method)
            if pm["card"]["behaviour"] == "declined_on_attach":
                raise StripeError(
                    402, "card_error", "Your card was declined.", code="card_declined", decline_code="generic_decline"
                )
            self._attach(pm, cs["customer"])
            if cs["mode"] == "setup":
                si = self._new(
                    "seti",
                    "setup_intent",
                    customer=cs["customer"],
                    payment_method=pm["id"],
                    status="succeeded",
                    usage="off_session",
                    metadata=cs.get("_setup_metadata", {}),
                )
                cs["setup_intent"] = si["id"]
            else:
                data = cs["_payment_intent_data"]
                # On the hosted page the customer is present: authentication happens there and passes.
                pi = self._charge(
                    amount=cs["amount_total"],
                    currency=cs["currency"],
                    customer=cs["customer"],
                    pm=pm,
                    metadata=data.get("metadata", {}),
                    off_session=False,
                    destination=(data.get("transfer_data") or {}).get("destination"),
                    transfer_group=data.get("transfer_group"),
                    fee=data.get("application_fee_amount"),
                )
                cs["payment_intent"] = pi["id"]
                cs["payment_status"] = "paid"
            cs["status"] = "complete"
            self._event("checkout.session.completed", cs)
            return self._public(cs)

    def open_sessions(self, customer: str | None = None) -> list[dict[str, Any]]:
        """Open Checkout Sessions (of one customer), oldest first."""
        with self.lock:
            self._sweep()
            return [
                self._public(o)
                for o in self.objects.values()
                if o["object"] == "checkout.session"
                and o["status"] == "open"
                and (customer is None or o["customer"] == customer)
            ]

"""PaymentIntents and their charges: destination or held, the card's decline or its approval page, cancels,
disputes."""

from __future__ import annotations

from typing import Any

from bot.money import Money
from bot.sims.stripe.accounts import Accounts
from bot.sims.stripe.errors import StripeError, _invalid
from bot.sims.stripe.facts import MIN_CHARGE
from bot.sims.stripe.params import _bool, _int


class Payments(Accounts):
    """PaymentIntents, charges and disputes."""

    def _pi_create(self, params: dict[str, Any]) -> dict[str, Any]:
        amount = _int(params, "amount")
        currency = params.get("currency")
        if not currency:
            raise _invalid("Missing required param: currency.", "currency")
        if amount is None or amount < 1:
            raise _invalid("This value must be greater than or equal to 1.", "amount")
        if currency.upper() not in MIN_CHARGE:  # Stripe has 135 currencies; the emulator paybot's own
            raise _invalid(f"Invalid currency: {currency.lower()}.", "currency")
        if amount < MIN_CHARGE[currency.upper()]:
            shown = Money(MIN_CHARGE[currency.upper()], currency.upper())
            raise StripeError(
                400,
                "invalid_request_error",
                f"Amount must be at least {shown} {currency.lower()}",
                code="amount_too_small",
                param="amount",
            )
        confirm = _bool(params, "confirm")
        if _bool(params, "off_session") and not confirm:
            raise _invalid("off_session can only be used when confirm=true.", "off_session")
        if confirm and not (params.get("payment_method") and params.get("customer")):
            raise _invalid("paybot's emulator only confirms a customer's saved payment method.", "confirm")
        if params.get("customer"):
            self._get("customer", params["customer"], "customer")
        pm = (
            self._get("payment_method", params["payment_method"], "payment_method")
            if params.get("payment_method")
            else None
        )
        if pm is not None and params.get("customer") and pm["customer"] != params["customer"]:
            raise _invalid(
                "The provided PaymentMethod was previously used without being attached to a "
                "Customer or was detached from a Customer, and may not be used again.",
                "payment_method",
            )
        destination = (params.get("transfer_data") or {}).get("destination")
        self._check_destination(destination)
        fee = _int(params, "application_fee_amount", required=False)
        if fee is not None and not destination:
            raise _invalid(
                "Can only apply an application_fee_amount when the PaymentIntent is attempting a "
                "direct payment (using an OAuth key or Stripe-Account header) or destination "
                "payment (using `transfer_data[destination]`).",
                "application_fee_amount",
            )
        if not confirm:  # created, not charged: it waits for a payment method or a confirmation
            pi = self._new(
                "pi",
                "payment_intent",
                amount=amount,
                currency=currency,
                customer=params.get("customer"),
                payment_method=pm["id"] if pm else None,
                metadata=params.get("metadata", {}),
                status="requires_confirmation" if pm else "requires_payment_method",
                latest_charge=None,
                transfer_data={"destination": destination} if destination else None,
                transfer_group=params.get("transfer_group"),
                application_fee_amount=fee,
                last_payment_error=None,
                amount_received=0,
            )
            return self._public(pi)
        assert pm is not None
        pi = self._charge(
            amount=amount,
            currency=currency,
            customer=params["customer"],
            pm=pm,
            metadata=params.get("metadata", {}),
            off_session=_bool(params, "off_session"),
            destination=destination,
            transfer_group=params.get("transfer_group"),
            fee=fee,
        )
        if pi["status"] != "succeeded":
            error = pi["last_payment_error"]
            raise StripeError(
                402,
                "card_error",
                error["message"],
                code=error["code"],
                decline_code=error.get("decline_code"),
                payment_intent=self._public(pi),
                charge=error.get("charge"),
            )
        return self._public(pi)

    def _pi_cancel(self, params: dict[str, Any], oid: str) -> dict[str, Any]:
        pi = self._get("payment_intent", oid)
        cancellable = (
            "requires_payment_method",
            "requires_capture",
            "requires_confirmation",
            "requires_action",
            "processing",
        )
        if pi["status"] not in cancellable:
            raise StripeError(
                400,
                "invalid_request_error",
                f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. "
                f"Only a PaymentIntent with one of the following statuses may be canceled: "
                f"{', '.join(cancellable)}.",
                code="payment_intent_unexpected_state",
            )
        reason = params.get("cancellation_reason")
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer", "abandoned"):
            raise _invalid(
                "Invalid cancellation_reason: must be one of duplicate, fraudulent, "
                "requested_by_customer, or abandoned",
                "cancellation_reason",
            )
        pi.update(status="canceled", cancellation_reason=reason, canceled_at=int(self.clock.now().timestamp()))
        self._event("payment_intent.canceled", pi)
        return self._public(pi)

    def _charge(
        self,
        *,
        amount: int,
        currency: str,
        customer: str,
        pm: dict[str, Any],
        metadata: dict[str, Any],
        off_session: bool,
        destination: str | None,
        transfer_group: str | None,
        fee: str | int | None,
    ) -> dict[str, Any]:
        pi = self._new(
            "pi",
            "payment_intent",
            amount=amount,
            currency=currency,
            customer=customer,
            payment_method=pm["id"],
            metadata=metadata,
            status="processing",
            latest_charge=None,
            transfer_data={"destination": destination} if destination else None,
            transfer_group=transfer_group,
            application_fee_amount=int(fee) if fee else None,
            last_payment_error=None,
            amount_received=0,
        )
        behaviour = pm["card"]["behaviour"]
        if behaviour == "needs_auth" and off_session:
            pi.update(
                status="requires_payment_method",
                payment_method=None,
                last_payment_error={
                    "type": "card_error",
                    "code": "authentication_required",
                    "decline_code": "authentication_required",
                    "message": "Your card was declined. This transaction requires authentication.",
                },
            )
            self._event("payment_intent.payment_failed", pi)
            return pi
        charge = self._new(
            "ch",
            "charge",
            amount=amount,
            currency=currency,
            customer=customer,
            payment_intent=pi["id"],
            payment_method=pm["id"],
            amount_refunded=0,
            refunded=False,
            disputed=False,
            transfer_group=transfer_group,
            metadata=metadata,
            status="failed" if behaviour == "declined" else "succeeded",
            transfer=None,
        )
        pi["latest_charge"] = charge["id"]
        if behaviour == "declined":
            charge.update(failure_code="card_declined", failure_message="Your card was declined.")
            pi.update(
                status="requires_payment_method",
                payment_method=None,
                last_payment_error={
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": "Your card was declined.",
                    "charge": charge["id"],
                },
            )
            self._event("payment_intent.payment_failed", pi)
            return pi
        pi.update(status="succeeded", amount_received=amount)
        if destination:
            tr = self._new(
                "tr",
                "transfer",
                amount=amount - (int(fee) if fee else 0),
                currency=currency,
                destination=destination,
                source_transaction=charge["id"],
                transfer_group=transfer_group,
                metadata={},
                reversed=False,
            )
            charge["transfer"] = tr["id"]
        self._event("payment_intent.succeeded", pi)
        return pi

    def dispute(self, charge_id: str, *, withdraw: bool = True) -> dict[str, Any]:
        """The payer's bank disputes the charge (a chargeback): charge.dispute.created, and (`withdraw`, as for
        most card disputes) the disputed amount taken from the platform's balance at once, with a balance
        transaction on the dispute and charge.dispute.funds_withdrawn."""
        with self.lock:
            ch = self._get("charge", charge_id)
            dp = self._new(
                "dp",
                "dispute",
                charge=ch["id"],
                payment_intent=ch["payment_intent"],
                amount=ch["amount"],
                currency=ch["currency"],
                status="needs_response",
                reason="fraudulent",
            )
            ch["disputed"] = True
            self._event("charge.dispute.created", dp)
            if withdraw:
                now = self._now()
                self._new(
                    "txn",
                    "balance_transaction",
                    amount=-ch["amount"],
                    net=-ch["amount"],
                    fee=0,
                    fee_details=[],
                    currency=ch["currency"],
                    available_on=now,
                    exchange_rate=None,
                    description=f"Chargeback withdrawal for {ch['id']}",
                    reporting_category="dispute",
                    source=dp["id"],
                    status="available",
                    type="adjustment",
                    balance_type="payments",
                )
                self._event("charge.dispute.funds_withdrawn", dp)
            return self._public(dp)

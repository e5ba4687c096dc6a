"""A Stripe emulator: the API endpoints paybot's Stripe adapter uses, over HTTP on 127.0.0.1.

It speaks Stripe's wire format (form-encoded bodies with bracketed keys, JSON
answers, Bearer secret keys) so the real stripe-python client talks to it:
customers, payment methods (the test ids pm_card_visa, pm_card_chargeDeclined,
pm_card_chargeCustomerFail, pm_card_authenticationRequired), Checkout Sessions
(setup and payment mode), setup intents, payment intents (off-session,
transfer_data, transfer_group, application fees), charges, Connect accounts,
account links, transfers, refunds and events. Its objects carry every field
Stripe's have (SHAPES: null, or the neutral value, where the emulator models
nothing); tests/contract/test_stripe_spec.py judges its answers by Stripe's OpenAPI
description and example objects.

Faithful where paybot's safety depends on it:
- Idempotency-Key (on POSTs): the same key and parameters replay the saved
  answer (with `Idempotent-Replayed: true`); other parameters or another
  endpoint get a 400 idempotency_error. Every answer of a request that began
  executing is saved, 402s and 500s included; what failed before (a 429, a
  500 injected with `saved=False`, a validation error, a conflict) is not.
  A second request while the first with its key is still executing gets a
  409 idempotency_error `idempotency_key_in_use`. Keys are forgotten 24 hours
  (on the emulator's clock) after their first use, and may then run again as
  a new request. Keys longer than 255 characters are refused (400).
- Errors use Stripe's JSON shape and status codes: 400 invalid_request_error
  (unknown parameters are rejected), 401, 402 card_error with code and
  decline_code (and the payment intent), 404 resource_missing (and 404 with
  Stripe's JSON body for a URL it does not know), 409, 429, 500.
- Off-session charges on pm_card_authenticationRequired fail with 402
  authentication_required and leave the intent in requires_payment_method.
  A PaymentIntent created without `confirm` is not charged: it waits in
  requires_payment_method (requires_confirmation with a payment_method).
- Connect events: an event about a connected account (account.updated)
  carries `account` and is listed and retrieved only as that account (the
  `Stripe-Account` header), never in the platform's own GET /v1/events, as
  Stripe delivers it to Connect webhook endpoints only. Other endpoints do
  not take the header here (400). A payment made inside a connected account
  by its owner (`connected_payment`: their own API key or dashboard, with
  whatever metadata they write) is such an event too, payment_intent.succeeded
  with `account`; its objects live in that account, never on the platform
  (the platform's GET /v1/payment_intents/{id} answers 404 for them).
- `expand[]` on a retrieve: a top-level field holding the id of an object the
  emulator keeps is answered as that object (Checkout Session's
  payment_intent, for one); expanding any other field is a 400.
- Money back in parts: several partial refunds of a charge up to its amount;
  `reverse_transfer` reverses a destination charge's Transfer in proportion
  to the refund (rounded down; the refund that completes the charge takes
  what is left; refused when the Transfer has less left); Transfers reversed
  in parts (`amount_reversed`, `reversals`, `reversed` once all of it is).
  Refunds made while `hold_refunds` is set stay `pending` until
  `settle_refund` ends them, succeeded or failed (charge.refund.updated and
  refund.updated; a failed refund's amount is the charge's again). A dispute
  withdraws the disputed amount (a balance transaction on the dispute,
  charge.dispute.funds_withdrawn) unless `withdraw=False`.
- Faults (`inject`): 500, 429, or "drop": do the work, then close the
  connection without an answer (the client cannot know the charge happened);
  or a 400 refusal with one of Stripe's codes (REFUSALS: balance_insufficient).
  A 500 under a key is saved and replayed, as Stripe does for requests that
  began executing (`work=True`: the work was done before it failed);
  `saved=False` is a 500 from before execution began.
- `on_execute`: a test hook called (outside the emulator's lock) when a
  request begins executing, after its key is marked in flight: a test can
  hold one request there while another with the same key arrives.

A control API under /_sim/ (and the same methods in Python) plays the people
on Stripe's hosted pages: complete a Checkout Session, finish onboarding,
open a dispute, end a pending refund (`/_sim/refund/<id>`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, has_request_context, request

from bot.money import Money
from bot.ports import Clock, SystemClock
from bot.sims.kit import DROP as DROP  # inject's fault "drop": tests name it from the emulator
from bot.sims.kit import (
    Loopback,
    drop_connection,
    json_response,
    live_key,
    queue_fault,
    quiet_app,
    request_record,
    route_name,
    take_fault,
    unix_now,
)

# Stripe's smallest charge per currency, in minor units (Stripe's documentation, "Minimum and maximum charge
# amounts"); the emulator knows the currencies paybot offers.
MIN_CHARGE = {"USD": 50, "EUR": 50, "GBP": 30, "CAD": 50, "AUD": 50, "CHF": 50, "JPY": 50}

KEY_LIFETIME = 24 * 3600  # Stripe may prune an idempotency key once it is 24 hours old; the emulator does, at once
MAX_KEY_LENGTH = 255  # Stripe's longest idempotency key

# The test payment methods: what each card does.
TEST_CARDS: dict[str, dict[str, Any]] = {
    "pm_card_visa": {"last4": "4242", "behaviour": "ok"},
    "pm_card_chargeDeclined": {"last4": "0002", "behaviour": "declined_on_attach"},
    "pm_card_chargeCustomerFail": {"last4": "0341", "behaviour": "declined"},
    "pm_card_authenticationRequired": {"last4": "3184", "behaviour": "needs_auth"},
}

_NO_ADDRESS = {"city": None, "country": None, "line1": None, "line2": None, "postal_code": None, "state": None}
_NO_BILLING = {"address": _NO_ADDRESS, "email": None, "name": None, "phone": None}
_NO_REQUIREMENTS: dict[str, Any] = {
    "alternatives": [],
    "current_deadline": None,
    "currently_due": [],
    "disabled_reason": None,
    "errors": [],
    "eventually_due": [],
    "past_due": [],
    "pending_verification": [],
}
_DEFAULT_CURRENCY = {"US": "usd", "GB": "gbp", "CA": "cad", "AU": "aud", "CH": "chf", "JP": "jpy"}

# Every top-level field of Stripe's objects that the emulator does not model, with the value it answers:
# null where Stripe's description lets it be null (the emulator has no value), else the neutral value Stripe
# gives an object that never used the feature. An object's own fields (and _derived) win over these.
SHAPES: dict[str, dict[str, Any]] = {
    "customer": {
        "address": None,
        "balance": 0,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "discount": None,
        "invoice_prefix": None,
        "next_invoice_sequence": 1,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    },
    "payment_method": {"allow_redisplay": "unspecified", "billing_details": _NO_BILLING, "customer_account": None},
    "checkout.session": {
        "adaptive_pricing": None,
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": None,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": None,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer_account": None,
        "customer_creation": None,
        "customer_details": None,
        "customer_email": None,
        "discounts": None,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": None,
        "locale": None,
        "managed_payments": None,
        "origin_context": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_configuration_details": None,
        "payment_method_options": None,
        "payment_method_types": ["card"],
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "submit_type": None,
        "subscription": None,
        "total_details": None,
        "ui_mode": "hosted",
        "wallet_options": None,
    },
    "setup_intent": {
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "description": None,
        "excluded_payment_method_types": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "mandate": None,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method_configuration_details": None,
        "payment_method_options": None,
        "payment_method_types": ["card"],
        "single_use_mandate": None,
    },
    "payment_intent": {
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "application": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "confirmation_method": "automatic",
        "customer_account": None,
        "description": None,
        "excluded_payment_method_types": None,
        "managed_payments": None,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method_configuration_details": None,
        "payment_method_options": None,
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
    },
    "charge": {
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": _NO_BILLING,
        "calculated_statement_descriptor": None,
        "description": None,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "on_behalf_of": None,
        "outcome": None,
        "payment_method_details": None,
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "transfer_data": None,
    },
    "account": {
        "business_profile": None,
        "business_type": None,
        "future_requirements": _NO_REQUIREMENTS,
        "settings": None,
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
    },
    "transfer": {"balance_transaction": None, "description": None, "source_type": "card"},
    "transfer_reversal": {"balance_transaction": None, "destination_payment_refund": None, "source_refund": None},
    "refund": {
        "balance_transaction": None,
        "customer_account": None,
        "destination_details": None,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "transfer_reversal": None,
    },
    "dispute": {
        "balance_transactions": [],
        "enhanced_eligibility_types": [],
        "is_charge_refundable": False,
        "metadata": {},
        "payment_method_details": {"type": "card", "card": None},
    },
    "event": {"pending_webhooks": 0, "request": {"id": None, "idempotency_key": None}},
}

_EVIDENCE = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "enhanced_evidence",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)

# Allowed parameters per endpoint: dotted paths, "*" for any key, "#" for a list index.
_COMMON = {"expand.#"}
PARAMS: dict[str, set[str]] = {
    "customers.create": {"metadata.*", "email", "name", "description", "invoice_settings.default_payment_method"},
    "customers.update": {"metadata.*", "email", "name", "description", "invoice_settings.default_payment_method"},
    "payment_methods.attach": {"customer"},
    "payment_methods.list": {"customer", "type", "limit", "starting_after", "ending_before"},
    "checkout.sessions.create": {
        "mode",
        "customer",
        "currency",
        "success_url",
        "cancel_url",
        "metadata.*",
        "expires_at",
        "client_reference_id",
        "payment_method_types.#",
        "line_items.#.quantity",
        "line_items.#.price_data.currency",
        "line_items.#.price_data.unit_amount",
        "line_items.#.price_data.product_data.name",
        "line_items.#.price_data.product_data.description",
        "payment_intent_data.metadata.*",
        "payment_intent_data.transfer_data.destination",
        "payment_intent_data.transfer_group",
        "payment_intent_data.application_fee_amount",
        "payment_intent_data.description",
        "setup_intent_data.metadata.*",
    },
    "checkout.sessions.expire": set(),
    "checkout.sessions.list": {"customer", "limit", "starting_after", "ending_before", "created.gte"},
    "payment_intents.create": {
        "amount",
        "currency",
        "customer",
        "payment_method",
        "off_session",
        "confirm",
        "metadata.*",
        "transfer_data.destination",
        "transfer_group",
        "application_fee_amount",
        "description",
        "payment_method_types.#",
        "error_on_requires_action",
    },
    "payment_intents.cancel": {"cancellation_reason"},
    "payment_intents.list": {"customer", "limit", "starting_after", "ending_before", "created.gte", "created.lte"},
    "accounts.create": {
        "country",
        "email",
        "metadata.*",
        "business_type",
        "capabilities.transfers.requested",
        "capabilities.card_payments.requested",
        "controller.stripe_dashboard.type",
        "controller.fees.payer",
        "controller.losses.payments",
        "controller.requirement_collection",
    },
    "account_links.create": {"account", "refresh_url", "return_url", "type", "collect"},
    "transfers.create": {
        "amount",
        "currency",
        "destination",
        "source_transaction",
        "transfer_group",
        "metadata.*",
        "description",
    },
    "transfers.list": {
        "destination",
        "transfer_group",
        "limit",
        "starting_after",
        "ending_before",
        "created.gte",
        "created.lte",
    },
    "transfers.reverse": {"amount", "metadata.*", "refund_application_fee"},
    "refunds.create": {
        "payment_intent",
        "charge",
        "amount",
        "metadata.*",
        "reason",
        "reverse_transfer",
        "refund_application_fee",
    },
    "refunds.list": {
        "payment_intent",
        "charge",
        "limit",
        "starting_after",
        "ending_before",
        "created.gte",
        "created.lte",
    },
    "events.list": {"limit", "starting_after", "ending_before", "type", "types.#", "created.gte"},
    "retrieve": set(),
}


# Stripe's refusals (400, invalid_request_error) the emulator can be told to give (`inject(..., code=...)`), with
# Stripe's own words. balance_insufficient: the platform's balance cannot cover a transfer. Stripe documents that a
# transfer with source_transaction succeeds whatever the balance (it waits for the charge's funds), but not every
# case where one is refused all the same (a negative balance after disputes and refunds, cross-border rules), so
# the emulator refuses one when told: an adapter must keep the money held and try again later.
REFUSALS = {
    "balance_insufficient": "You have insufficient funds in your Stripe account for this transfer. Your card balance "
    "is too low. You can use the /v1/balance endpoint to view your Stripe balance (for more "
    "details, see stripe.com/docs/api#balance).",
}


class StripeError(Exception):
    """An error answer: HTTP status and Stripe's error object."""

    def __init__(self, status: int, type_: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **{k: v for k, v in extra.items() if v is not None}}}


@dataclass
class _Job:
    """A request whose execution began: what `_execute` needs, and its key (in flight until it ends)."""

    record: dict[str, Any]
    key: str | None
    blob: str
    params: dict[str, Any]
    fault: int | None
    work: bool
    saved: bool = True
    code: str | None = None  # an injected 400: the error code Stripe answers with


def _missing(kind: str, oid: str, param: str = "id") -> StripeError:
    return StripeError(404, "invalid_request_error", f"No such {kind}: '{oid}'", code="resource_missing", param=param)


def _invalid(message: str, param: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, param=param)


def _refusal(code: str) -> StripeError:
    return StripeError(400, "invalid_request_error", REFUSALS[code], code=code)


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (a[b][0]=v) back into nested dicts; list indexes become dict keys."""
    out: dict[str, Any] = {}
    for raw, value in pairs:
        head, _, rest = raw.partition("[")
        parts = [head] + (re.findall(r"([^\[\]]*)\]", "[" + rest) if rest else [])
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise _invalid(f"Invalid parameter: {raw}", raw)
        node[parts[-1] or str(len(node))] = value
    return out


def _paths(params: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in params.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += _paths(value, path + ".")
        else:
            out.append(path)
    return out


def _allowed(path: str, allowed: set[str]) -> bool:
    parts = path.split(".")
    for pattern in allowed | _COMMON:
        pat = pattern.split(".")
        if pat[-1] == "*" and len(parts) >= len(pat) and _match(parts[: len(pat) - 1], pat[:-1]):
            return True
        if len(pat) == len(parts) and _match(parts, pat):
            return True
    return False


def _match(parts: list[str], pat: list[str]) -> bool:
    return all(p == q or (q == "#" and p.isdigit()) for p, q in zip(parts, pat, strict=True))


def _int(params: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    raw = params.get(name)
    if raw is None:
        if required:
            raise _invalid(f"Missing required param: {name}.", name)
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise _invalid(f"Invalid integer: {raw}", name) from None


def _bool(params: dict[str, Any], name: str) -> bool:
    raw = params.get(name)
    if raw in (None, "false"):
        return False
    if raw == "true":
        return True
    raise _invalid(f"Invalid boolean: {raw}", name)


class StripeSim:
    """The emulated Stripe account: state, a Flask app over it, and control methods."""

    def __init__(self, clock: Clock | None = None, *, api_key: str = "sk_test_paybot_sim") -> None:
        self.clock = clock or SystemClock()
        self.api_key = api_key
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, Any]] = {}  # id -> object, every kind
        self.events: list[dict[str, Any]] = []
        self.keys: dict[str, dict[str, Any]] = {}  # idempotency key -> saved request, answer and when
        self.in_flight: set[str] = set()  # keys whose first request is executing now
        self.on_execute: Callable[[dict[str, Any]], None] | None = None  # test hook, see the module docstring
        # route -> (status, saved, work, code)
        self.faults: dict[str, list[tuple[int, bool, bool, str | None]]] = {}
        self.requests: list[dict[str, Any]] = []  # every request: route ("POST /v1/..."), key, status
        self.connected: dict[str, dict[str, dict[str, Any]]] = {}  # account -> its own objects (connected_payment)
        self._pending_refunds = 0  # how many of the next refunds stay pending (hold_refunds)
        self._n = 0
        self.server = Loopback("stripe-sim")
        self.base = ""  # its URL once started
        self.platform: dict[str, Any] = {  # the account that owns the API key (GET /v1/account)
            "id": "acct_sim_platform",
            "object": "account",
            "type": "standard",
            "country": "US",
            "email": None,
            "created": self._now(),
            "metadata": {},
            "charges_enabled": True,
            "payouts_enabled": True,
            "details_submitted": True,
            "capabilities": {"card_payments": "active", "transfers": "active"},
            "controller": {"type": "account"},
            "livemode": False,
        }

    # ------------------------------------------------------------------ control

    def inject(
        self,
        route: str,
        status: int,
        times: int = 1,
        *,
        saved: bool = True,
        work: bool = False,
        code: str | None = None,
    ) -> None:
        """Make the next `times` calls of route ("POST /v1/payment_intents") fail: 500, 429, DROP, or a 400
        refusal with one of Stripe's error codes (REFUSALS: `code`).

        A 500 happens while the request executes: under an idempotency key it is saved and replayed
        (`work`: after the work was done); `saved=False` is a 500 from before execution began (not
        saved, Stripe-Should-Retry: true). A 429 is never saved; DROP always does the work. A refusal
        is an answer of the request's execution: saved under its key unless `saved=False`."""
        if status not in (500, 429, DROP, 400) or (status == 400) != (code in REFUSALS):
            raise ValueError(
                f"the emulator injects 500, 429, DROP or a 400 with a code of {sorted(REFUSALS)}, not {status} {code}"
            )
        with self.lock:
            queue_fault(self.faults, route, (status, saved, work, code), times)

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

    def onboard(self, account_id: str) -> None:
        """The recipient finishes Stripe's onboarding: the account can take transfers."""
        with self.lock:
            acct = self._get("account", account_id)
            acct.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
            acct["capabilities"] = {k: "active" for k in acct["capabilities"]} or {"transfers": "active"}
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

    def hold_refunds(self, n: int = 1) -> None:
        """The next `n` refunds stay pending (the card network takes its time) until `settle_refund`."""
        with self.lock:
            self._pending_refunds = n

    def settle_refund(self, refund_id: str, status: str, failure_reason: str = "expired_or_canceled_card") -> None:
        """A refund ends: "succeeded", or "failed" (even one that had succeeded): the money goes back to the
        platform's balance and the charge counts it as not refunded. Stripe tells it twice, with
        charge.refund.updated and refund.updated (a transfer reversal it made stays)."""
        if status not in ("succeeded", "failed"):
            raise ValueError("a refund ends succeeded or failed")
        with self.lock:
            re_ = self._get("refund", refund_id)
            if re_["status"] == status or re_["status"] == "failed":
                return
            if status == "failed":
                ch = self._get("charge", re_["charge"])
                ch["amount_refunded"] -= re_["amount"]
                ch["refunded"] = ch["amount_refunded"] == ch["amount"]
                re_["failure_reason"] = failure_reason
            re_["status"] = status
            self._event("charge.refund.updated", re_)
            self._event("refund.updated", re_)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every object of a kind ("payment_intent", "transfer", ...), oldest first."""
        with self.lock:
            return [self._public(o) for o in self.objects.values() if o["object"] == kind]

    def succeeded_charges(self) -> int:
        return sum(1 for o in self.of_kind("charge") if o["status"] == "succeeded")

    # ------------------------------------------------------------------ app

    def start(self, port: int = 0) -> str:
        """Serve the simulator on 127.0.0.1 (port 0: a free one); returns the base URL."""
        self.base = self.server.start(self.app(), port)
        return self.base

    def stop(self) -> None:
        self.server.stop()

    def app(self) -> Flask:
        app = quiet_app("stripe-sim")
        routes: list[tuple[str, str, str, Callable[..., Any]]] = [
            ("POST", "/v1/customers", "customers.create", self._customers_create),
            ("GET", "/v1/customers/<oid>", "retrieve", self._retrieve("customer")),
            ("POST", "/v1/customers/<oid>", "customers.update", self._customers_update),
            ("GET", "/v1/payment_methods", "payment_methods.list", self._pms_list),
            ("GET", "/v1/payment_methods/<oid>", "retrieve", self._pm_retrieve),
            ("POST", "/v1/payment_methods/<oid>/attach", "payment_methods.attach", self._pm_attach),
            ("POST", "/v1/checkout/sessions", "checkout.sessions.create", self._cs_create),
            ("GET", "/v1/checkout/sessions", "checkout.sessions.list", self._list("checkout.session", "customer")),
            ("GET", "/v1/checkout/sessions/<oid>", "retrieve", self._retrieve("checkout.session")),
            ("POST", "/v1/checkout/sessions/<oid>/expire", "checkout.sessions.expire", self._cs_expire),
            ("GET", "/v1/setup_intents/<oid>", "retrieve", self._retrieve("setup_intent")),
            ("POST", "/v1/payment_intents", "payment_intents.create", self._pi_create),
            ("GET", "/v1/payment_intents", "payment_intents.list", self._list("payment_intent", "customer")),
            ("GET", "/v1/payment_intents/<oid>", "retrieve", self._retrieve("payment_intent")),
            ("POST", "/v1/payment_intents/<oid>/cancel", "payment_intents.cancel", self._pi_cancel),
            ("GET", "/v1/charges/<oid>", "retrieve", self._retrieve("charge")),
            ("GET", "/v1/account", "retrieve", lambda _params: self._public(self.platform)),
            ("POST", "/v1/accounts", "accounts.create", self._accounts_create),
            ("GET", "/v1/accounts/<oid>", "retrieve", self._retrieve("account")),
            ("POST", "/v1/account_links", "account_links.create", self._account_links_create),
            ("POST", "/v1/transfers", "transfers.create", self._transfers_create),
            ("GET", "/v1/transfers", "transfers.list", self._list("transfer", "destination", "transfer_group")),
            ("GET", "/v1/transfers/<oid>", "retrieve", self._retrieve("transfer")),
            ("POST", "/v1/transfers/<oid>/reversals", "transfers.reverse", self._transfer_reverse),
            ("POST", "/v1/refunds", "refunds.create", self._refunds_create),
            ("GET", "/v1/refunds", "refunds.list", self._list("refund", "payment_intent", "charge")),
            ("GET", "/v1/refunds/<oid>", "retrieve", self._retrieve("refund")),
            ("GET", "/v1/events", "events.list", self._events_list),
            ("GET", "/v1/events/<oid>", "retrieve", self._event_retrieve),
        ]
        for method, rule, schema, view in routes:
            app.add_url_rule(rule, f"{method} {rule}", self._endpoint(method, rule, schema, view), methods=[method])

        def unrecognized(_err: Exception) -> Response:
            """Stripe answers a URL (or method) it does not know with its JSON error and a 404, not HTML."""
            with self.lock:
                request_record(self.requests, f"{request.method} {request.path}", status=404)
            return _json(
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": f"Unrecognized request URL ({request.method}: {request.path}). "
                        "Please see https://stripe.com/docs or we can help at "
                        "https://support.stripe.com/.",
                    }
                },
                404,
            )

        app.register_error_handler(404, unrecognized)
        app.register_error_handler(405, unrecognized)

        def control(action: str, oid: str) -> Response:
            try:
                body = request.get_json(silent=True) or {}
                if action == "complete":
                    result = self.complete_checkout(oid, body.get("payment_method", "pm_card_visa"))
                elif action == "onboard":
                    self.onboard(oid)
                    result = {"ok": True}
                elif action == "dispute":
                    result = self.dispute(oid, withdraw=body.get("withdraw", True))
                elif action == "refund":  # {"status": "succeeded" | "failed", "failure_reason": ...}
                    self.settle_refund(
                        oid, body.get("status", "succeeded"), body.get("failure_reason", "expired_or_canceled_card")
                    )
                    result = self._public(self._get("refund", oid))
                else:
                    return _json({"error": "unknown action"}, 404)
                return _json(result)
            except StripeError as err:
                return _json(err.body, err.status)

        app.add_url_rule("/_sim/<action>/<oid>", "control", control, methods=["POST"])
        return app

    # ------------------------------------------------------------------ plumbing

    def _endpoint(self, method: str, rule: str, schema: str, view: Callable[..., Any]) -> Callable[..., Response]:
        route = route_name(method, rule)

        def handle(**kw: Any) -> Response:
            with self.lock:
                begun = self._begin(route, method, schema, kw)
            if isinstance(begun, tuple):
                resp, drop = begun
            else:
                try:
                    if self.on_execute is not None:
                        self.on_execute(begun.record)  # outside the lock: other requests go on meanwhile
                    with self.lock:
                        resp, drop = self._execute(begun, view, kw)
                finally:
                    if begun.key:
                        with self.lock:
                            self.in_flight.discard(begun.key)
            if drop:  # the work is done; the client never hears about it
                drop_connection()
            return resp

        handle.__name__ = f"stripe_{schema}_{method}"
        return handle

    def _begin(self, route: str, method: str, schema: str, kw: dict[str, Any]) -> tuple[Response, bool] | _Job:  # noqa: C901
        """Everything before execution begins: an early answer (never saved), or the job to execute."""
        key = request.headers.get("Idempotency-Key") if method == "POST" else None
        record = request_record(self.requests, route, key)

        def answer(
            body: dict[str, Any], status: int, headers: dict[str, str] | None = None, drop: bool = False
        ) -> tuple[Response, bool]:
            record["status"] = status
            return _json(body, status, headers), drop

        if request.headers.get("Authorization", "") != f"Bearer {self.api_key}":
            return answer({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided."}}, 401)
        if key is not None and len(key) > MAX_KEY_LENGTH:
            return answer(
                _invalid(
                    f"Invalid Idempotency-Key: it is {len(key)} characters long; keys are at most {MAX_KEY_LENGTH}.",
                    "Idempotency-Key",
                ).body,
                400,
            )
        as_account = request.headers.get("Stripe-Account")
        if as_account is not None:
            target = self.objects.get(as_account)
            if target is None or target["object"] != "account":
                return answer(
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "account_invalid",
                            "message": f"The provided key does not have access to account "
                            f"'{as_account}' (or that account does not exist).",
                        }
                    },
                    403,
                )
            if route not in ("GET /v1/events", "GET /v1/events/{id}"):
                return answer(
                    _invalid(
                        "paybot's emulator keeps no objects inside connected accounts: only "
                        "events are read with Stripe-Account.",
                        "Stripe-Account",
                    ).body,
                    400,
                )
        pairs = list((request.form if method == "POST" else request.args).items(multi=True))
        try:
            params = decode_form(pairs)
        except StripeError as err:
            return answer(err.body, err.status)
        status, saved, work, code = take_fault(self.faults, route) or (None, True, False, None)
        if status == 429 or (status == 500 and not saved):  # before execution: nothing to save
            body = {
                "error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests."}
                if status == 429
                else {"type": "api_error", "message": "Something went wrong."}
            }
            return answer(body, status, {"Stripe-Should-Retry": "true"})
        blob = json.dumps([route, kw, params], sort_keys=True)
        if key:
            kept = live_key(self.keys, key, self._now(), KEY_LIFETIME)  # pruned: the key may run a new request
            if kept is not None:
                if kept["blob"] != blob:
                    return answer(
                        {
                            "error": {
                                "type": "idempotency_error",
                                "message": "Keys for idempotent requests can only be used with the same parameters "
                                "they were first used with. Try using a key other than "
                                f"'{key}' if you meant to execute a different request.",
                            }
                        },
                        400,
                    )
                return answer(
                    kept["body"],
                    kept["status"],
                    {"Idempotent-Replayed": "true", "Idempotency-Key": key, **kept["headers"]},
                    drop=status == DROP,
                )
            if key in self.in_flight:
                return answer(
                    {
                        "error": {
                            "type": "idempotency_error",
                            "code": "idempotency_key_in_use",
                            "message": "There is currently another in-progress request using this Idempotent Key "
                            "(that probably means you submitted twice, and the other request is still "
                            "going through). Please retry this request later.",
                        }
                    },
                    409,
                )
        unknown = [p for p in _paths(params) if not _allowed(p, PARAMS[schema])]
        if unknown:
            first = re.sub(r"\.(\w+)", r"[\1]", unknown[0])
            return answer(_invalid(f"Received unknown parameter: {first}", first).body, 400)
        if key:
            self.in_flight.add(key)
        return _Job(record=record, key=key, blob=blob, params=params, fault=status, work=work, saved=saved, code=code)

    def _execute(self, job: _Job, view: Callable[..., Any], kw: dict[str, Any]) -> tuple[Response, bool]:
        """Execution: the view runs (or an injected 500 fails it) and the answer is saved under the key."""
        headers: dict[str, str] = {}
        body: dict[str, Any]
        if job.fault == 400 and job.code:
            body, status = _refusal(job.code).body, 400
            job.record["status"] = status
            if not (job.key and job.saved):
                return _json(body, status), False
        elif job.fault == 500:
            if job.work:
                try:
                    view(job.params, **kw)
                except StripeError:
                    pass
            body = {"error": {"type": "api_error", "message": "Something went wrong."}}
            status = 500
            if job.key:
                headers["Stripe-Should-Retry"] = "false"  # a retry with the key would replay this answer
        else:
            try:
                body, status = view(job.params, **kw), 200
            except StripeError as err:
                body, status = err.body, err.status
                if status == 400 and err.body["error"]["type"] == "invalid_request_error":
                    job.record["status"] = status
                    return _json(body, status), False  # validation failures are not saved
        job.record["status"] = status
        if job.key:
            self.keys[job.key] = {
                "blob": job.blob,
                "status": status,
                "body": body,
                "headers": headers,
                "at": self._now(),
            }
            headers = {**headers, "Idempotency-Key": job.key}
        return _json(body, status, headers), job.fault == DROP

    def _new(self, prefix: str, kind: str, **fields: Any) -> dict[str, Any]:
        self._n += 1
        obj = {"id": f"{prefix}_sim{self._n:010d}", "object": kind, "created": self._now(), "livemode": False, **fields}
        self.objects[obj["id"]] = obj
        return obj

    def _now(self) -> int:
        return unix_now(self.clock)

    def _get(self, kind: str, oid: str, param: str = "id") -> dict[str, Any]:
        obj = self.objects.get(oid)
        if obj is None or obj["object"] != kind:
            raise _missing(kind.split(".")[-1].replace("_", " "), oid, param)
        return obj

    def _public(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The object as Stripe answers it: every field of its kind (SHAPES), the derived ones computed now."""
        own = {k: v for k, v in obj.items() if not k.startswith("_")}
        if own.get("object") == "payment_method":
            own["card"] = {k: v for k, v in own["card"].items() if k != "behaviour"}
        shape = json.loads(json.dumps(SHAPES.get(str(own.get("object")), {})))  # a fresh copy
        out = {**shape, **own, **self._derived(own)}
        if out.get("object") == "charge" and out.get("transfer") is None:
            del out["transfer"]  # Stripe leaves it out (it is never null) when the charge moved no money
        return out

    def _derived(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Fields Stripe computes from other objects or from the object's state."""
        kind, oid = obj.get("object"), obj.get("id")
        if kind in ("payment_intent", "setup_intent"):
            return {"client_secret": f"{oid}_secret_sim"}
        if kind == "checkout.session":
            return {"amount_subtotal": obj["amount_total"]}
        if kind == "charge":
            pi = self.objects.get(obj["payment_intent"]) or {}
            ok = obj["status"] == "succeeded"
            refunds = [o for o in self.objects.values() if o["object"] == "refund" and o["charge"] == oid]
            return {
                "amount_captured": obj["amount"] if ok else 0,
                "captured": ok,
                "paid": ok,
                "application_fee_amount": pi.get("application_fee_amount"),
                "transfer_data": (
                    {"amount": None, "destination": pi["transfer_data"]["destination"]}
                    if pi.get("transfer_data")
                    else None
                ),
                "refunds": self._sublist(refunds, f"/v1/charges/{oid}/refunds"),
            }
        if kind == "account":
            done = bool(obj["details_submitted"])
            due = [] if done else ["external_account", "tos_acceptance.date", "tos_acceptance.ip"]
            return {
                "default_currency": _DEFAULT_CURRENCY.get(obj["country"], "eur"),
                "controller": {"is_controller": True, "type": "application", **obj["controller"]},
                "external_accounts": self._sublist([], f"/v1/accounts/{oid}/external_accounts"),
                "requirements": {
                    **_NO_REQUIREMENTS,
                    "currently_due": due,
                    "eventually_due": due,
                    "disabled_reason": None if done else "requirements.past_due",
                },
            }
        if kind == "transfer":
            reversals = [
                o for o in self.objects.values() if o["object"] == "transfer_reversal" and o["transfer"] == oid
            ]
            return {
                "amount_reversed": sum(o["amount"] for o in reversals),
                "destination_payment": f"py_{str(oid).removeprefix('tr_')}",
                "reversals": self._sublist(reversals, f"/v1/transfers/{oid}/reversals"),
            }
        if kind == "refund":
            ch = self.objects.get(obj["charge"]) or {}
            return {"customer": ch.get("customer"), "payment_method": ch.get("payment_method")}
        if kind == "dispute":
            txns = [o for o in self.objects.values() if o["object"] == "balance_transaction" and o["source"] == oid]
            return {
                "balance_transactions": [self._public(o) for o in txns],
                "evidence": dict.fromkeys(_EVIDENCE),
                "evidence_details": {
                    "due_by": obj["created"] + 7 * 24 * 3600,
                    "enhanced_eligibility": {},
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
            }
        return {}

    def _sublist(self, rows: list[dict[str, Any]], url: str) -> dict[str, Any]:
        """A list inside an object (a charge's refunds, a transfer's reversals): its first page."""
        return {
            "object": "list",
            "data": [self._public(o) for o in rows[::-1][:10]],
            "has_more": len(rows) > 10,
            "url": url,
        }

    def _event(self, kind: str, obj: dict[str, Any], *, account: str | None = None) -> None:
        """An event of the platform, or (`account`) a Connect event of that connected account."""
        self._n += 1
        event: dict[str, Any] = {
            "id": f"evt_sim{self._n:010d}",
            "object": "event",
            "type": kind,
            "created": self._now(),
            "livemode": False,
            "api_version": "2024-06-20",
            "data": {"object": json.loads(json.dumps(self._public(obj)))},
        }
        if account:
            event["account"] = account
        if has_request_context() and request.path.startswith("/v1/"):  # made by an API request, not a person
            event["request"] = {"id": None, "idempotency_key": request.headers.get("Idempotency-Key")}
        self.events.append(event)
        self.objects[str(event["id"])] = event

    def _sweep(self) -> None:
        """Checkout Sessions past their expires_at expire, with an event."""
        now = self._now()
        for obj in list(self.objects.values()):
            if obj["object"] == "checkout.session" and obj["status"] == "open" and obj["expires_at"] <= now:
                obj["status"] = "expired"
                self._event("checkout.session.expired", obj)

    def _retrieve(self, kind: str) -> Callable[..., dict[str, Any]]:
        def view(params: dict[str, Any], oid: str) -> dict[str, Any]:
            self._sweep()
            return self._expand(self._public(self._get(kind, oid)), params)

        return view

    def _expand(self, out: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """`expand[]`: each named top-level field that holds the id of an object the emulator keeps, answered as
        that object (a null stays null); Stripe refuses to expand anything else."""
        for name in (params.get("expand") or {}).values():
            value = out.get(name, "") if "." not in name else ""
            if value is None:
                continue
            target = self.objects.get(value) if isinstance(value, str) else None
            if target is None:
                raise _invalid(f"This property cannot be expanded ({name}).", "expand")
            out[name] = self._public(target)
        return out

    def _list(self, kind: str, *filters: str) -> Callable[..., dict[str, Any]]:
        def view(params: dict[str, Any]) -> dict[str, Any]:
            self._sweep()
            rows = [o for o in self.objects.values() if o["object"] == kind]
            for name in filters:
                if params.get(name):
                    rows = [o for o in rows if o.get(name) == params[name]]
            return self._page(rows, params, f"/v1/{kind.replace('.', '/')}s")

        return view

    def _page(self, rows: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
        """Stripe's list: newest first, `limit`, cursors `starting_after` (older) and `ending_before` (newer)."""
        created = params.get("created") or {}
        if "gte" in created:
            rows = [o for o in rows if o["created"] >= int(created["gte"])]
        if "lte" in created:
            rows = [o for o in rows if o["created"] <= int(created["lte"])]
        rows = rows[::-1]  # objects are kept oldest first
        limit = max(1, min(100, _int(params, "limit", required=False) or 10))
        ids = [o["id"] for o in rows]
        if params.get("starting_after"):
            at = self._cursor(ids, params["starting_after"])
            window = rows[at + 1 :]
            page, more = window[:limit], len(window) > limit
        elif params.get("ending_before"):
            at = self._cursor(ids, params["ending_before"])
            window = rows[:at]
            page, more = window[-limit:], len(window) > limit
        else:
            page, more = rows[:limit], len(rows) > limit
        return {"object": "list", "url": url, "has_more": more, "data": [self._public(o) for o in page]}

    @staticmethod
    def _cursor(ids: list[str], oid: str) -> int:
        if oid not in ids:
            raise _missing("object", oid, "starting_after")
        return ids.index(oid)

    # ------------------------------------------------------------------ views

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

    def _transfers_create(self, params: dict[str, Any]) -> dict[str, Any]:
        amount = _int(params, "amount")
        if not params.get("destination") or not params.get("currency"):
            raise _invalid("Missing required param: destination.", "destination")
        self._check_destination(params["destination"])
        source = params.get("source_transaction")
        if source:
            ch = self._get("charge", source, "source_transaction")
            moved = sum(
                o["amount"]
                for o in self.objects.values()
                if o["object"] == "transfer" and o["source_transaction"] == source
            )
            if ch["status"] != "succeeded" or (amount or 0) > ch["amount"] - ch["amount_refunded"] - moved:
                raise _invalid(
                    "The source_transaction does not have enough funds for this transfer.", "source_transaction"
                )
        tr = self._new(
            "tr",
            "transfer",
            amount=amount,
            currency=params["currency"],
            destination=params["destination"],
            source_transaction=source,
            transfer_group=params.get("transfer_group"),
            metadata=params.get("metadata", {}),
            reversed=False,
        )
        return self._public(tr)

    def _transfer_reverse(self, params: dict[str, Any], oid: str) -> dict[str, Any]:
        """A reversal of all that is left of the transfer, or of `amount` of it: several partial reversals may
        follow one another until the whole transfer is reversed (then `reversed` is true)."""
        tr = self._get("transfer", oid)
        left = self._unreversed(tr)
        amount = _int(params, "amount", required=False)
        if left == 0:
            raise _invalid(f"Transfer {oid} has already been reversed.", "amount")
        if amount is not None and not 0 < amount <= left:
            raise _invalid(
                f"You can only reverse up to {left} (the amount of the transfer not reversed yet), not {amount}.",
                "amount",
            )
        return self._public(self._reverse(tr, amount or left, params.get("metadata", {})))

    def _unreversed(self, tr: dict[str, Any]) -> int:
        return int(tr["amount"]) - sum(
            int(o["amount"])
            for o in self.objects.values()
            if o["object"] == "transfer_reversal" and o["transfer"] == tr["id"]
        )

    def _reverse(
        self, tr: dict[str, Any], amount: int, metadata: dict[str, Any], source_refund: str | None = None
    ) -> dict[str, Any]:
        rv = self._new(
            "trr",
            "transfer_reversal",
            amount=amount,
            currency=tr["currency"],
            transfer=tr["id"],
            metadata=metadata,
            source_refund=source_refund,
        )
        tr["reversed"] = self._unreversed(tr) == 0
        self._event("transfer.reversed", tr)
        return rv

    def _refunds_create(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("payment_intent"):
            pi = self._get("payment_intent", params["payment_intent"], "payment_intent")
            charge_id = pi["latest_charge"]
        else:
            charge_id = params.get("charge")
            if not charge_id:
                raise _invalid(
                    "One of the following params should be provided for this request: payment_intent or charge.",
                    "payment_intent",
                )
        ch = self._get("charge", charge_id or "", "charge")
        if ch["status"] != "succeeded":
            raise _invalid("Cannot refund a failed payment.")
        left = ch["amount"] - ch["amount_refunded"]
        amount = _int(params, "amount", required=False) or left
        if ch.get("disputed"):  # Stripe: a charge that was charged back cannot be refunded
            raise StripeError(
                400,
                "invalid_request_error",
                f"Charge {charge_id} has been charged back; cannot issue a refund.",
                code="charge_disputed",
            )
        if left == 0:
            raise StripeError(
                400,
                "invalid_request_error",
                f"Charge {charge_id} has already been refunded.",
                code="charge_already_refunded",
            )
        if not 0 < amount <= left:
            raise _invalid(f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})", "amount")
        # reverse_transfer on a destination charge takes the transfer back in proportion to the refund (Stripe's
        # refund docs); the refund that completes the charge's refunds takes what is left of it (the emulator's
        # rounding: down, the remainder at the end). Refused when the transfer no longer holds that much.
        tr = self.objects.get(ch.get("transfer") or "") if _bool(params, "reverse_transfer") else None
        share = 0
        if tr is not None:
            unreversed = self._unreversed(tr)
            share = unreversed if amount == left else amount * int(tr["amount"]) // int(ch["amount"])
            if share > unreversed:
                raise _invalid(
                    f"The transfer {tr['id']} has only {unreversed} left to reverse; this refund would "
                    f"reverse {share} of it.",
                    "reverse_transfer",
                )
        status = "pending" if self._pending_refunds else "succeeded"
        self._pending_refunds = max(0, self._pending_refunds - 1)
        ch["amount_refunded"] += amount
        ch["refunded"] = ch["amount_refunded"] == ch["amount"]
        re_ = self._new(
            "re",
            "refund",
            amount=amount,
            currency=ch["currency"],
            charge=ch["id"],
            payment_intent=ch["payment_intent"],
            status=status,
            metadata=params.get("metadata", {}),
            reason=params.get("reason"),
        )
        if tr is not None and share:
            re_["transfer_reversal"] = self._reverse(tr, share, {}, source_refund=re_["id"])["id"]
        self._event("refund.created", re_)
        self._event("charge.refunded", ch)
        return self._public(re_)

    def _events_list(self, params: dict[str, Any]) -> dict[str, Any]:
        """The platform's events, or with Stripe-Account that connected account's events only."""
        self._sweep()
        acting = request.headers.get("Stripe-Account")
        rows = [e for e in self.events if e.get("account") == acting]
        types = set((params.get("types") or {}).values()) | ({params["type"]} if params.get("type") else set())
        if types:
            rows = [e for e in rows if e["type"] in types]
        return self._page(rows, params, "/v1/events")

    def _event_retrieve(self, _params: dict[str, Any], oid: str) -> dict[str, Any]:
        event = self._get("event", oid)
        if event.get("account") != request.headers.get("Stripe-Account"):
            raise _missing("event", oid)  # another account's event: this account has no such event
        return self._public(event)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(body, status, {"Request-Id": f"req_sim{threading.get_ident() % 10**8:08d}", **(headers or {})})

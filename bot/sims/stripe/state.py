"""The emulated account's state (its objects, events, keys, connected accounts) and the plumbing every part uses:
ids, the clock, objects made, found and shown as Stripe shows them, events, lapsed sessions."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from flask import has_request_context, request

from bot.ports import Clock, SystemClock
from bot.sims.kit import Loopback, unix_now
from bot.sims.stripe.errors import _missing
from bot.sims.stripe.shapes import _DEFAULT_CURRENCY, _EVIDENCE, _NO_REQUIREMENTS, SHAPES


class StripeState:
    """The emulated Stripe account: what it holds, and the plumbing every part of it uses."""

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

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every object of a kind ("payment_intent", "transfer", ...), oldest first."""
        with self.lock:
            return [self._public(o) for o in self.objects.values() if o["object"] == kind]

    def succeeded_charges(self) -> int:
        return sum(1 for o in self.of_kind("charge") if o["status"] == "succeeded")

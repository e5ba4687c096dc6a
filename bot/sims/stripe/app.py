"""The Stripe emulator: its API routes and control routes over every part, served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

from bot.sims.kit import quiet_app, request_record
from bot.sims.stripe.checkout import Checkout
from bot.sims.stripe.errors import StripeError, _json
from bot.sims.stripe.gateway import Gateway
from bot.sims.stripe.moves import Moves


class StripeSim(Checkout, Moves, Gateway):
    """The emulated Stripe account: state, a Flask app over it, and control methods."""

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

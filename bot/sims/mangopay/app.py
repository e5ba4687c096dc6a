"""The Mangopay emulator: its API routes over every part, served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request

from bot.sims.kit import quiet_app, request_record
from bot.sims.mangopay.control import Control
from bot.sims.mangopay.errors import MangopayError
from bot.sims.mangopay.events import Events
from bot.sims.mangopay.users import Users
from bot.sims.mangopay.wallets import Wallets


class MangopaySim(Control, Events, Wallets, Users):
    """The emulated Mangopay client account: state, a Flask app over it, and control methods."""

    def start(self, port: int = 0) -> str:
        """Serve the simulator on 127.0.0.1 (port 0: a free one); returns the base URL."""
        self.base = self.server.start(self.app(), port)
        return self.base

    def stop(self) -> None:
        self.server.stop()

    def app(self) -> Flask:
        app = quiet_app("mangopay-sim")
        app.url_map.strict_slashes = False
        app.url_map.merge_slashes = False  # the SDK reads stored responses at ".../responses//KEY"
        routes: list[tuple[str, str, Callable[..., Any]]] = [
            ("POST", "/users/natural", self._user_create),
            ("POST", "/sca/users/natural", self._user_create),
            ("PUT", "/sca/users/natural/<oid>/category", self._user_categorize),
            ("POST", "/sca/users/<oid>/enrollment", self._enrol_session),
            ("GET", "/users/<oid>", self._retrieve("user")),
            ("GET", "/sca/users/<oid>", self._retrieve("user")),
            ("GET", "/users/natural/<oid>", self._retrieve("user")),
            ("GET", "/sca/users/natural/<oid>", self._retrieve("user")),
            ("POST", "/wallets", self._wallet_create),
            ("GET", "/wallets/<oid>", self._wallet_view),
            ("GET", "/users/<oid>/wallets", self._user_list("wallet", "Owners")),
            ("POST", "/cardregistrations", self._cardreg_create),
            ("GET", "/cardregistrations/<oid>", self._retrieve("cardregistration")),
            ("PUT", "/cardregistrations/<oid>", self._cardreg_update),
            ("GET", "/cards/<oid>", self._retrieve("card")),
            ("GET", "/users/<oid>/cards", self._user_list("card", "UserId")),
            ("POST", "/recurringpayinregistrations", self._recurring_create),
            ("GET", "/recurringpayinregistrations/<oid>", self._retrieve("recurring")),
            ("POST", "/payins/recurring/card/direct", self._recurring_payin),
            ("GET", "/payins/<oid>", self._retrieve("payin")),
            ("POST", "/payins/<oid>/refunds", self._payin_refund),
            ("GET", "/payins/<oid>/refunds", self._refunds_of("payin")),
            ("POST", "/transfers", self._transfer_create),
            ("GET", "/transfers/<oid>", self._retrieve("transfer")),
            ("POST", "/transfers/<oid>/refunds", self._transfer_refund),
            ("GET", "/transfers/<oid>/refunds", self._refunds_of("transfer")),
            ("GET", "/refunds/<oid>", self._retrieve("refund")),
            ("POST", "/users/<oid>/bankaccounts/iban", self._bank_account_create),
            ("GET", "/users/<oid>/bankaccounts", self._user_list("bankaccount", "UserId")),
            ("GET", "/users/<oid>/bankaccounts/<bid>", self._bank_account_view),
            ("GET", "/recipients/payout-methods", self._payout_methods),
            ("GET", "/recipients/schema", self._recipient_schema),
            ("POST", "/users/<oid>/recipients/validate", self._recipient_validate),
            ("POST", "/users/<oid>/recipients", self._recipient_create),
            ("GET", "/users/<oid>/recipients", self._user_list("recipient", "UserId")),
            ("GET", "/recipients/<oid>", self._retrieve("recipient")),
            ("POST", "/payouts/bankwire", self._payout_create),
            ("GET", "/payouts/<oid>", self._retrieve("payout")),
            ("GET", "/payouts/bankwire/<oid>", self._retrieve("payout")),
            ("GET", "/users/<oid>/transactions", self._transactions("user")),
            ("GET", "/wallets/<oid>/transactions", self._transactions("wallet")),
            ("POST", "/users/<oid>/identity-verifications", self._idv_create),
            ("GET", "/identity-verifications/<oid>", self._retrieve("identityverification")),
            ("GET", "/events", self._events_list),
            ("GET", "/responses/<key>", self._response),
            ("GET", "/responses//<key>", self._response),
            ("GET", "/clients", self._client),
        ]
        for method, rule, view in routes:
            full = "/v2.01/<client>" + rule
            app.add_url_rule(full, f"{method} {rule}", self._endpoint(method, rule, view), methods=[method])
        app.add_url_rule("/v2.01/oauth/token", "token", self._token, methods=["POST"])

        def unknown(err: Exception) -> Response:
            status = 405 if request.method not in ("GET", "POST", "PUT") or "405" in str(err) else 404
            with self.lock:
                request_record(self.requests, f"{request.method} {request.path}", status=status)
            if status == 405:
                return self._error(MangopayError(405, "method_not_allowed", "The method is not allowed"))
            return self._error(
                MangopayError(
                    404,
                    "ressource_not_found",
                    "Cannot found the ressource",
                    {"RessourceNotFound": f"No route {request.path}"},
                )
            )

        app.register_error_handler(404, unknown)
        app.register_error_handler(405, unknown)
        self._control_routes(app)
        return app

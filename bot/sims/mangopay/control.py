"""The hosted pages and the control API under /_sim/: the card, 3DS, SCA and identity pages, the tokenization
server, and `POST /_sim/<action>/<id>` for the tests and `paybot sim-mangopay`."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, request

from bot import links
from bot.sims.kit import (
    DROP,  # inject's fault "drop": tests name it from the emulator
    json_response,
)
from bot.sims.mangopay.cards import Cards
from bot.sims.mangopay.errors import MangopayError, _param
from bot.sims.mangopay.facts import CARD_OK, IBAN_OK
from bot.sims.mangopay.gateway import Gateway
from bot.sims.mangopay.kyc import Kyc
from bot.sims.mangopay.payins import Payins
from bot.sims.mangopay.payouts import Payouts


class Control(Payouts, Cards, Gateway, Kyc, Payins):
    """The /_sim/ pages and control routes."""

    def _control_routes(self, app: Flask) -> None:  # noqa: C901
        def page(kind: str, oid: str) -> Response:
            with self.lock:
                obj = self.objects.get(oid)
            if kind == "card":  # the operator's card page: only through a link paybot signed (used when submitted)
                user, token = request.args.get("user", ""), request.args.get("token", "")
                key = links.link_key(self.link_secret)
                if (
                    obj is None
                    or obj.get("UserId") != user
                    or not links.verify(key, "card", f"{user}:{oid}", token, self.clock.now())
                ):
                    return Response(
                        "<html><body>This link is not valid.</body></html>", mimetype="text/html", status=403
                    )
            body = f"<html><body><h1>Mangopay {kind}</h1><p>{oid}: {obj and obj.get('Status')}</p></body></html>"
            return Response(body, mimetype="text/html", status=200 if obj else 404)

        def control(action: str, oid: str) -> Response:  # noqa: C901
            body = request.get_json(silent=True) or {}
            try:
                if action == "card":
                    result = self.complete_card_page(oid, str(body.get("card", CARD_OK)))
                elif action == "3ds":
                    result = self.complete_3ds(oid, success=bool(body.get("success", True)))
                elif action == "sca":
                    result = self.approve_sca(oid)
                elif action == "enrol":  # POST /_sim/enrol/<user id> {"success": false}: their SCA enrolment
                    result = self.enrol(oid, success=bool(body.get("success", True)))
                elif action == "sca-session":  # POST /_sim/sca-session/<token>: any SCA session, ended
                    result = self.complete_sca(oid, success=bool(body.get("success", True)))
                elif action == "kyc":
                    result = self.pass_kyc(oid)
                elif action == "bank":  # POST /_sim/bank/<user id> {"iban": "FR76..."}: the operator's page
                    result = self.register_bank_account(
                        oid, str(body.get("iban", IBAN_OK)), owner_name=str(body.get("owner_name", "Ada Lovelace"))
                    )
                elif action == "payout-return":  # POST /_sim/payout-return/<payout id> {"reason": "..."}: the bank
                    result = self.return_payout(oid, str(body.get("reason", "BANKACCOUNT_HAS_BEEN_CLOSED")))
                elif action == "payout":  # POST /_sim/payout/<payout id> {"success": false}: the bank
                    result = self.settle_payout(oid, success=bool(body.get("success", True)))
                elif action == "clock":
                    seconds = int(body.get("advance", 0))
                    advance: Callable[[timedelta], None] | None = getattr(self.clock, "advance", None)
                    if advance is None or seconds < 0:
                        raise _param("the emulator's clock is the system's: it cannot be moved")
                    advance(timedelta(seconds=seconds))
                    result = {"now": self._now()}
                elif action == "fault":  # POST /_sim/fault/next {"route": "POST /transfers", "status": 500}
                    status = DROP if body.get("status") == "drop" else int(body.get("status", 500))
                    self.inject(
                        str(body.get("route", "")),
                        status,
                        int(body.get("times", 1)),
                        work=bool(body.get("work", False)),
                    )
                    result = {"ok": True}
                else:
                    return json_response({"error": "unknown action"}, 404)
                return json_response(result)
            except MangopayError as err:
                return self._error(err)
            except ValueError as err:
                return self._error(_param(str(err)))

        def sca_page() -> Response:
            """Mangopay's hosted SCA page: it needs the platform's encoded returnUrl. Open, it asks the person
            (two buttons: confirm, or fail the factors); lapsed or used, it sends them back at once; either way
            back to the returnUrl with `controlStatus` (VALIDATED or FAILED) added (guides/sca/session.mdx)."""
            raw = "?" + request.query_string.decode("latin-1")  # as the browser sent it
            try:
                state = self._sca_page_state(raw)
            except MangopayError as err:
                return Response(f"<html><body>{err.message}</body></html>", mimetype="text/html", status=err.status)
            query = dict(part.partition("=")[::2] for part in urlsplit(raw).query.split("&") if part)
            token, back = unquote(query.get("token", "")), unquote(query.get("returnUrl", ""))
            if request.method == "POST" and state == "OPEN":
                state = self.complete_sca(token, success=request.form.get("answer") == "yes")["Status"]
            if state != "OPEN":
                glue = "&" if urlsplit(back).query else "?"
                control = "VALIDATED" if state == "VALIDATED" and request.method == "POST" else "FAILED"
                return Response("", status=303, headers={"Location": f"{back}{glue}controlStatus={control}"})
            return Response(
                "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Mangopay SCA</title>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'></head><body><main>"
                "<h1>Mangopay SCA</h1><p>Confirm it's you (the emulator's stand-in for Mangopay's page).</p>"
                f"<form method='post' action='/_sim/sca{html.escape(raw)}'>"
                "<button name='answer' value='yes'>Confirm</button> "
                "<button name='answer' value='no'>Refuse</button></form></main></body></html>",
                mimetype="text/html",
            )

        def tokenizer(oid: str) -> Response:  # the tokenization server: a browser posts the card page's form here
            answer = self.tokenize(oid, {k: str(v) for k, v in request.form.items()})
            # Browsers read the answer of a cross-origin fetch only with this header (the card page is elsewhere).
            return Response(answer, mimetype="text/plain", headers={"Access-Control-Allow-Origin": "*"})

        def three_ds(oid: str) -> Response:  # the issuer's 3DS page: a person passes or fails the challenge
            with self.lock:
                self._sweep()
                payin = self.objects.get(oid)
                waiting = (
                    payin is not None
                    and payin["_kind"] == "payin"
                    and payin["Status"] == "CREATED"
                    and bool(payin.get("SecureModeRedirectURL"))
                )
                back = str(payin.get("SecureModeReturnURL") or "") if payin else ""
            if request.method == "POST":
                if waiting:
                    try:
                        self.complete_3ds(oid, success=request.form.get("answer") == "pass")
                    except MangopayError:
                        pass  # lapsed meanwhile: the return page reads what happened
                if not back:
                    return Response("<html><body>No return address.</body></html>", mimetype="text/html", status=400)
                # Mangopay adds the transaction's id to the platform's return URL (api-reference/web-card-payins/
                # view-payin-web-card.mdx, ReturnURL).
                joint = "&" if "?" in back else "?"
                return Response(status=302, headers={"Location": f"{back}{joint}transactionId={oid}"})
            if not waiting:
                return Response(
                    "<html lang='en'><head><title>3-D Secure</title></head><body><main><h1>This "
                    "payment is not waiting for you</h1></main></body></html>",
                    mimetype="text/html",
                    status=404,
                )
            amount = payin["DebitedFunds"] if payin else {}
            page_html = (
                "<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
                "content='width=device-width, initial-scale=1'><title>3-D Secure (emulated bank)</title></head>"
                "<body><main><h1>Your bank asks you to confirm</h1>"
                f"<p>Confirm the card operation of {amount.get('Amount')} {amount.get('Currency')} (minor units)."
                "</p><form method='post'><button name='answer' value='pass'>Confirm</button> "
                "<button name='answer' value='fail'>Refuse</button></form></main></body></html>"
            )
            return Response(page_html, mimetype="text/html")

        def payouts() -> Response:  # GET /_sim/payouts: the payouts waiting for their bank (to settle one)
            return json_response(self.open_payouts())

        app.add_url_rule("/_sim/payouts", "payouts", payouts, methods=["GET"])
        app.add_url_rule("/_sim/tokenize/<oid>", "tokenize", tokenizer, methods=["POST"])
        app.add_url_rule("/_sim/3ds-page/<oid>", "3ds-page", three_ds, methods=["GET", "POST"])
        app.add_url_rule("/_sim/sca", "sca-page", sca_page, methods=["GET", "POST"])
        app.add_url_rule("/_sim/<kind>-page/<oid>", "page", page, methods=["GET"])
        app.add_url_rule("/_sim/<action>/<oid>", "control", control, methods=["POST"])

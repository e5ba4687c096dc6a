"""An optional webhook endpoint for Stripe's events, for operators who run a web process.

The worker does not need it: it polls Stripe's events (`Service.provider_events`).
A web process that also receives them gets them sooner; each event is applied
the same way and only once in effect, whichever path brings it first.

Every request must carry a valid `Stripe-Signature` for one of the endpoints'
signing secrets (STRIPE_WEBHOOK_SECRET, the platform endpoint's, and
STRIPE_CONNECT_WEBHOOK_SECRET, the Connect endpoint's), checked on the raw
bytes before anything is parsed: anything else gets a 400 and is not applied.
The secret that verified a body scopes it (see `make_app`): from the Connect
endpoint only a connected account's account.updated about itself, for an
account paybot created; from the platform's, no connected account's event.
Even a signed event is only a hint: the event is fetched again from Stripe by
its id (a Connect event as its account), and that copy is what is applied, so
a body someone managed to sign (a leaked secret) can invent nothing: an id
Stripe does not know gets a 400. And no event is taken at its word for a
payment: paybot reads its own payment again from the platform. Bodies over
1 MB are refused before anything is read into memory (413), and a signed body
that is not an event gets a 400. The app has that one route and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import stripe
from flask import Flask, Response, request

from bot.ports import ProviderEvent
from bot.providers.stripe.provider import StripeProvider

log = logging.getLogger(__name__)

PATH = "/stripe/webhook"
MAX_BODY = 1024 * 1024
TOLERANCE = 300  # seconds: how old a signature may be (stripe-python's default)
# waitress's settings for an endpoint on the internet. Its defaults (100 connections, an idle one kept 120 s,
# looked for every 30 s) let about 120 idle sockets lock everyone out for minutes: here a socket that sends nothing
# is closed within CHANNEL_TIMEOUT + CLEANUP_INTERVAL seconds, there is room for CONNECTION_LIMIT of them (poll(),
# as select() stops at 1,024 descriptors), and a request's headers and body are bounded (Stripe's are a few kB).
# Run it behind the host's router (Heroku's, Fly's proxy, nginx), which buffers slow clients.
CONNECTION_LIMIT = 500
CHANNEL_TIMEOUT = 10
CLEANUP_INTERVAL = 2
MAX_HEADERS = 16 * 1024
SERVER_SETTINGS: dict[str, Any] = {
    "threads": 4,
    "ident": "paybot",
    "connection_limit": CONNECTION_LIMIT,
    "channel_timeout": CHANNEL_TIMEOUT,
    "cleanup_interval": CLEANUP_INTERVAL,
    "max_request_body_size": MAX_BODY,
    "max_request_header_size": MAX_HEADERS,
    "asyncore_use_poll": True,
}


def signed_by(
    body: bytes, header: str | None, secret: str, *, tolerance: int = TOLERANCE, now: float | None = None
) -> bool:
    """Whether `header` (Stripe-Signature: "t=...,v1=...") signs the raw `body` with `secret`, no older than
    `tolerance` seconds: stripe-python's WebhookSignature.verify_header, on the bytes as received (it decodes
    them as UTF-8 first, so a body that is not UTF-8 raised a ValueError before any signature was checked)."""
    if not header or not secret:
        return False
    stamp: int | None = None
    signatures = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            try:
                stamp = int(value)
            except ValueError:
                return False
        elif name == "v1":
            signatures.append(value)
    if stamp is None or not signatures:
        return False
    expected = hmac.new(secret.encode(), str(stamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        return False
    return stamp >= (time.time() if now is None else now) - tolerance


def parse(body: bytes) -> dict[str, Any] | None:
    """A verified body as JSON (an object), or None when it is not UTF-8 JSON of an object."""
    try:
        data = json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError alike
        return None
    return data if isinstance(data, dict) else None


def make_app(
    provider: StripeProvider,
    platform_secret: str,
    apply: Callable[[ProviderEvent], None],
    *,
    connect_secret: str | None = None,
) -> Flask:
    """A Flask app with one route, POST /stripe/webhook, that verifies, scopes, translates and applies each event.

    Stripe signs each endpoint with its own secret, and both endpoints may point at this URL: the platform's
    (`platform_secret`: the platform's own events) and the Connect one (`connect_secret`: connected accounts'
    events). Which secret verified a body decides what it may do:
    - the platform's: any of the platform's events, applied through `translate_event` as polled events are;
      a body carrying `account` (a connected account's event) is refused (400);
    - the Connect one: only `account.updated`, only of the account it names, only an account paybot created,
      fetched again as that account (`translate_connect_event`); a body without `account` is refused (400),
      and any other Connect event (a payment in someone's own account, an account paybot does not know) is
      answered 200 and applied nowhere, so Stripe does not send it again.
    No event completes a payment by what it says: see `StripeApprovals.paid`.
    The app serves nothing else: no static folder (Flask's default would serve ./static of the directory
    the process starts in)."""
    app = Flask("paybot-stripe-webhook", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # Stripe's events are a few kB
    register(app, provider, platform_secret, apply, connect_secret=connect_secret)
    return app


def register(  # noqa: C901
    app: Flask,
    provider: StripeProvider,
    platform_secret: str,
    apply: Callable[[ProviderEvent], None],
    *,
    connect_secret: str | None = None,
    endpoint: str = "webhook",
) -> None:
    """Add the webhook's route (POST /stripe/webhook, as `make_app` describes) to `app`: its own app
    (`paybot webhook`) or paybot's web app (`paybot web`, endpoint "stripe_webhook"). The app must refuse bodies over
    MAX_BODY (MAX_CONTENT_LENGTH)."""

    @app.post(PATH, endpoint=endpoint)
    def webhook() -> Response:
        body = request.get_data()
        header = request.headers.get("Stripe-Signature")
        if signed_by(body, header, platform_secret):
            connect = False
        elif connect_secret and signed_by(body, header, connect_secret):
            connect = True
        else:
            log.warning("refused a Stripe webhook: bad signature")
            return Response("bad signature", status=400)
        signed = parse(body)  # only a verified body is parsed
        event_id = signed.get("id") if signed else None
        if signed is None or not isinstance(event_id, str) or not event_id.startswith("evt_"):
            log.warning("refused a signed Stripe webhook that is not an event")
            return Response("not an event", status=400)
        raw_account = signed.get("account")
        account = raw_account if isinstance(raw_account, str) else ""
        if not connect and raw_account is not None:
            log.warning(
                "refused Stripe webhook %s: signed with the platform endpoint's secret, yet a connected "
                "account's event",
                event_id,
            )
            return Response("not a platform event", status=400)
        if connect and not account:
            log.warning(
                "refused Stripe webhook %s: signed with the Connect endpoint's secret, yet no connected "
                "account's event",
                event_id,
            )
            return Response("not a connected account's event", status=400)
        if connect and (signed.get("type") != "account.updated" or provider.user_of_account(account) is None):
            log.info(
                "ignored Stripe Connect event %s (%s of %s): only account.updated of the accounts paybot "
                "created is taken from connected accounts",
                event_id,
                signed.get("type"),
                account,
            )
            return Response("ignored", status=200)
        try:
            event = provider.fetch_event(event_id, account=account if connect else None)
        except stripe.StripeError as err:  # Stripe will deliver it again
            log.warning("could not fetch Stripe event %s: %s", event_id, type(err).__name__)
            return Response("try again", status=503)
        if event is None:
            log.warning("refused Stripe webhook %s: Stripe does not know that event", event_id)
            return Response("unknown event", status=400)
        try:
            events = provider.translate_connect_event(event, account) if connect else provider.translate_event(event)
        except stripe.StripeError as err:  # Stripe will deliver it again
            log.warning("could not read Stripe webhook %s: %s", event.id, type(err).__name__)
            return Response("try again", status=503)
        if events is None:
            log.warning(
                "refused Stripe webhook %s: Stripe's copy is not account.updated of account %s", event.id, account
            )
            return Response("not taken", status=400)
        for item in events:
            apply(item)
        return Response("ok", status=200)


def webhook_server(app: Flask, host: str, port: int) -> Any:
    """waitress (a production WSGI server, pure Python, one process) serving `app` with SERVER_SETTINGS."""
    import waitress

    return waitress.create_server(app, host=host, port=port, **SERVER_SETTINGS)

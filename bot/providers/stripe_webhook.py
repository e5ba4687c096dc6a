"""An optional webhook endpoint for Stripe's events, for operators who run a web process.

The worker does not need it: it polls Stripe's events (`Service.provider_events`).
A web process that also receives them gets them sooner; each event is applied
the same way and only once in effect, whichever path brings it first.

Every request must carry a valid `Stripe-Signature` for the endpoint's signing
secret (STRIPE_WEBHOOK_SECRET, "whsec_..."), checked on the raw bytes before
anything is parsed: anything else gets a 400 and is not applied. Even a signed
event is only a hint: the event is fetched again from Stripe by its id (for a
connected account's event, as that account), and that copy is what is
applied, so a body someone managed to sign (a leaked secret) can invent
nothing: an id Stripe does not know gets a 400. Bodies over 1 MB are refused
before anything is read into memory (413), and a signed body that is not an
event gets a 400. The app has that one route and nothing else.
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
from bot.providers.stripe_provider import StripeProvider

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
    "threads": 4, "ident": "paybot", "connection_limit": CONNECTION_LIMIT, "channel_timeout": CHANNEL_TIMEOUT,
    "cleanup_interval": CLEANUP_INTERVAL, "max_request_body_size": MAX_BODY, "max_request_header_size": MAX_HEADERS,
    "asyncore_use_poll": True,
}


def signed_by(body: bytes, header: str | None, secret: str, *, tolerance: int = TOLERANCE,
              now: float | None = None) -> bool:
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


def make_app(provider: StripeProvider, secrets: list[str], apply: Callable[[ProviderEvent], None]) -> Flask:
    """A Flask app with one route, POST /stripe/webhook, that verifies, translates and applies each event.

    `secrets`: the platform endpoint's signing secret, and the Connect endpoint's when it has one (Stripe
    signs each endpoint with its own; both may point at this URL). An event signed with any of them passes.
    The app serves nothing else: no static folder (Flask's default would serve ./static of the directory
    the process starts in)."""
    app = Flask("paybot-stripe-webhook", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # Stripe's events are a few kB

    @app.post(PATH)
    def webhook() -> Response:
        body = request.get_data()
        header = request.headers.get("Stripe-Signature")
        if not any(signed_by(body, header, secret) for secret in secrets):
            log.warning("refused a Stripe webhook: bad signature")
            return Response("bad signature", status=400)
        signed = parse(body)  # only a verified body is parsed
        event_id = signed.get("id") if signed else None
        if not isinstance(event_id, str) or not event_id.startswith("evt_"):
            log.warning("refused a signed Stripe webhook that is not an event")
            return Response("not an event", status=400)
        account = signed.get("account") if signed else None
        try:
            event = provider.fetch_event(event_id, account=account if isinstance(account, str) else None)
        except stripe.StripeError as err:  # Stripe will deliver it again
            log.warning("could not fetch Stripe event %s: %s", event_id, type(err).__name__)
            return Response("try again", status=503)
        if event is None:
            log.warning("refused Stripe webhook %s: Stripe does not know that event", event_id)
            return Response("unknown event", status=400)
        try:
            events = provider.translate_event(event)
        except stripe.StripeError as err:  # Stripe will deliver it again
            log.warning("could not read Stripe webhook %s: %s", event.id, type(err).__name__)
            return Response("try again", status=503)
        for item in events:
            apply(item)
        return Response("ok", status=200)

    return app


def webhook_server(app: Flask, host: str, port: int) -> Any:
    """waitress (a production WSGI server, pure Python, one process) serving `app` with SERVER_SETTINGS."""
    import waitress

    return waitress.create_server(app, host=host, port=port, **SERVER_SETTINGS)

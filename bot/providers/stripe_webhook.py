"""An optional webhook endpoint for Stripe's events, for operators who run a web process.

The worker does not need it: it polls Stripe's events (`Service.provider_events`).
A web process that also receives them gets them sooner; each event is applied
the same way and only once in effect, whichever path brings it first.

Every request must carry a valid `Stripe-Signature` for the endpoint's signing
secret (STRIPE_WEBHOOK_SECRET, "whsec_..."): anything else gets a 400 and is
not applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import stripe
from flask import Flask, Response, request

from bot.ports import ProviderEvent
from bot.providers.stripe_provider import StripeProvider

log = logging.getLogger(__name__)

PATH = "/stripe/webhook"


def make_app(provider: StripeProvider, secret: str, apply: Callable[[ProviderEvent], None]) -> Flask:
    """A Flask app with one route, POST /stripe/webhook, that verifies, translates and applies each event."""
    app = Flask("paybot-stripe-webhook")

    @app.post(PATH)
    def webhook() -> Response:
        try:
            event = provider.client.construct_event(request.get_data(), request.headers.get("Stripe-Signature"),
                                                    secret)
        except (stripe.SignatureVerificationError, ValueError) as err:
            log.warning("refused a Stripe webhook: %s", type(err).__name__)
            return Response("bad signature", status=400)
        try:
            events = provider.translate_event(event)
        except stripe.StripeError as err:  # Stripe will deliver it again
            log.warning("could not read Stripe webhook %s: %s", event.id, type(err).__name__)
            return Response("try again", status=503)
        for item in events:
            apply(item)
        return Response("ok", status=200)

    return app

"""An optional webhook endpoint for Stripe's events, for operators who run a web process.

The worker does not need it: it polls Stripe's events (`Service.provider_events`).
A web process that also receives them gets them sooner; each event is applied
the same way and only once in effect, whichever path brings it first.

Every request must carry a valid `Stripe-Signature` for the endpoint's signing
secret (STRIPE_WEBHOOK_SECRET, "whsec_..."): anything else gets a 400 and is
not applied. Even a signed event is only a hint: the event is fetched again
from Stripe by its id (for a connected account's event, as that account), and
that copy is what is applied, so a body someone managed to sign (a leaked
secret) can invent nothing: an id Stripe does not know gets a 400. Bodies over
1 MB are refused before anything is read into memory (413), and a signed body
that is not an event gets a 400.
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
MAX_BODY = 1024 * 1024


def make_app(provider: StripeProvider, secrets: list[str], apply: Callable[[ProviderEvent], None]) -> Flask:
    """A Flask app with one route, POST /stripe/webhook, that verifies, translates and applies each event.

    `secrets`: the platform endpoint's signing secret, and the Connect endpoint's when it has one (Stripe
    signs each endpoint with its own; both may point at this URL). An event signed with any of them passes."""
    app = Flask("paybot-stripe-webhook")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY  # Stripe's events are a few kB

    @app.post(PATH)
    def webhook() -> Response:
        signed, verified = None, False
        for secret in secrets:
            try:
                signed = provider.client.construct_event(request.get_data(), request.headers.get("Stripe-Signature"),
                                                         secret)
                verified = True
                break
            except stripe.SignatureVerificationError:
                continue
            except (ValueError, TypeError, AttributeError, KeyError):  # signed, but no event (JSON of another shape)
                verified = True
                break
        if not verified:
            log.warning("refused a Stripe webhook: SignatureVerificationError")
            return Response("bad signature", status=400)
        event_id = getattr(signed, "id", None)
        if not isinstance(event_id, str) or not event_id.startswith("evt_"):
            log.warning("refused a signed Stripe webhook that is not an event")
            return Response("not an event", status=400)
        try:
            event = provider.fetch_event(event_id, account=getattr(signed, "account", None))
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

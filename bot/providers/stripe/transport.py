"""Stripe's HTTP for every part of the Stripe adapter: one client, its errors in the port's words, its lists.

Every POST carries an idempotency key chosen by the part that makes it; stripe-python retries network errors
itself (`max_network_retries`) with the same key. `StripeTransport.call` turns a StripeError into the port's
errors (`translate`); `StripeTransport.each` walks a Stripe list page by page. `field` reads a Stripe object
(or a plain dict) without caring which.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar

import stripe

from bot.errors import AmountTooSmall, IdempotencyError, InsufficientBalance, ProviderError, ProviderTransient

log = logging.getLogger(__name__)

T = TypeVar("T")


class StripeTransport:
    """stripe-python's client, shared by the parts: calls with Stripe's errors translated, lists walked."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    def call(self, fn: Callable[[], T]) -> T:
        """`fn()`, with a StripeError raised as the port's error (see `translate`)."""
        try:
            return fn()
        except stripe.StripeError as err:
            raise translate(err) from None

    def each(self, lister: Callable[[Any], Any], params: dict[str, Any]) -> Iterator[Any]:
        """Every item of a Stripe list, page by page (`params` are Stripe's typed list parameters)."""
        for _ in range(100):
            page = self.call(partial(lister, params))
            yield from page.data
            if not page.has_more or not page.data:
                return
            params = {**params, "starting_after": page.data[-1].id}


def field(obj: Any, *path: str) -> Any:
    """A field of a Stripe object (or of a plain dict), None when any step is missing."""
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def translate(err: stripe.StripeError) -> ProviderError:
    """Stripe's errors in the port's words; the message never carries the API key or card data."""
    status = getattr(err, "http_status", None)
    text = f"Stripe: {err.user_message or type(err).__name__}"
    if isinstance(err, stripe.IdempotencyError):
        return IdempotencyError(text)
    if status == 409:
        # A conflict: the first request with this idempotency key is still executing (Stripe's
        # idempotency_key_in_use; stripe-python reads a 409 as an APIError and retried it already), or a
        # lock on the object. Nothing is known yet: never "refused", always tried again later.
        return ProviderTransient("Stripe: another request with this idempotency key is in progress (409)")
    if isinstance(err, (stripe.APIConnectionError, stripe.RateLimitError)) or (status or 0) >= 500:
        return ProviderTransient(text)
    if isinstance(err, (stripe.AuthenticationError, stripe.PermissionError)):
        # Nothing was done; payments wait (and are retried) until the operator fixes the key.
        log.error("Stripe refused the API key (%s): check STRIPE_API_KEY", type(err).__name__)
        return ProviderTransient(text)
    if getattr(err, "code", None) == "amount_too_small":
        return AmountTooSmall(text)
    if getattr(err, "code", None) == "balance_insufficient":
        return InsufficientBalance(text)
    return ProviderError(text)

"""Stripe's documented facts the emulator keeps: minimum charges, idempotency keys' lifetime and length, the test
cards, and the refusals it words."""

from __future__ import annotations

from typing import Any

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

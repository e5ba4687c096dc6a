"""A Stripe emulator: the API endpoints paybot's Stripe adapter uses, over HTTP on 127.0.0.1.

It speaks Stripe's wire format (form-encoded bodies with bracketed keys, JSON
answers, Bearer secret keys) so the real stripe-python client talks to it:
customers, payment methods (the test ids pm_card_visa, pm_card_chargeDeclined,
pm_card_chargeCustomerFail, pm_card_authenticationRequired), Checkout Sessions
(setup and payment mode), setup intents, payment intents (off-session,
transfer_data, transfer_group, application fees), charges, Connect accounts,
account links, transfers, refunds and events. Its objects carry every field
Stripe's have (SHAPES: null, or the neutral value, where the emulator models
nothing); tests/contract/test_stripe_spec.py judges its answers by Stripe's OpenAPI
description and example objects.

Faithful where paybot's safety depends on it:
- Idempotency-Key (on POSTs): the same key and parameters replay the saved
  answer (with `Idempotent-Replayed: true`); other parameters or another
  endpoint get a 400 idempotency_error. Every answer of a request that began
  executing is saved, 402s and 500s included; what failed before (a 429, a
  500 injected with `saved=False`, a validation error, a conflict) is not.
  A second request while the first with its key is still executing gets a
  409 idempotency_error `idempotency_key_in_use`. Keys are forgotten 24 hours
  (on the emulator's clock) after their first use, and may then run again as
  a new request. Keys longer than 255 characters are refused (400).
- Errors use Stripe's JSON shape and status codes: 400 invalid_request_error
  (unknown parameters are rejected), 401, 402 card_error with code and
  decline_code (and the payment intent), 404 resource_missing (and 404 with
  Stripe's JSON body for a URL it does not know), 409, 429, 500.
- Off-session charges on pm_card_authenticationRequired fail with 402
  authentication_required and leave the intent in requires_payment_method.
  A PaymentIntent created without `confirm` is not charged: it waits in
  requires_payment_method (requires_confirmation with a payment_method).
- Connect events: an event about a connected account (account.updated)
  carries `account` and is listed and retrieved only as that account (the
  `Stripe-Account` header), never in the platform's own GET /v1/events, as
  Stripe delivers it to Connect webhook endpoints only. Other endpoints do
  not take the header here (400). A payment made inside a connected account
  by its owner (`connected_payment`: their own API key or dashboard, with
  whatever metadata they write) is such an event too, payment_intent.succeeded
  with `account`; its objects live in that account, never on the platform
  (the platform's GET /v1/payment_intents/{id} answers 404 for them).
- `expand[]` on a retrieve: a top-level field holding the id of an object the
  emulator keeps is answered as that object (Checkout Session's
  payment_intent, for one); expanding any other field is a 400.
- Money back in parts: several partial refunds of a charge up to its amount;
  `reverse_transfer` reverses a destination charge's Transfer in proportion
  to the refund (rounded down; the refund that completes the charge takes
  what is left; refused when the Transfer has less left); Transfers reversed
  in parts (`amount_reversed`, `reversals`, `reversed` once all of it is).
  Refunds made while `hold_refunds` is set stay `pending` until
  `settle_refund` ends them, succeeded or failed (charge.refund.updated and
  refund.updated; a failed refund's amount is the charge's again). A dispute
  withdraws the disputed amount (a balance transaction on the dispute,
  charge.dispute.funds_withdrawn) unless `withdraw=False`.
- Faults (`inject`): 500, 429, or "drop": do the work, then close the
  connection without an answer (the client cannot know the charge happened);
  or a 400 refusal with one of Stripe's codes (REFUSALS: balance_insufficient).
  A 500 under a key is saved and replayed, as Stripe does for requests that
  began executing (`work=True`: the work was done before it failed);
  `saved=False` is a 500 from before execution began.
- `on_execute`: a test hook called (outside the emulator's lock) when a
  request begins executing, after its key is marked in flight: a test can
  hold one request there while another with the same key arrives.

A control API under /_sim/ (and the same methods in Python) plays the people
on Stripe's hosted pages: complete a Checkout Session, finish onboarding,
open a dispute, end a pending refund (`/_sim/refund/<id>`)."""

from __future__ import annotations

from bot.sims.kit import DROP as DROP
from bot.sims.stripe.app import StripeSim as StripeSim
from bot.sims.stripe.errors import StripeError as StripeError
from bot.sims.stripe.facts import KEY_LIFETIME as KEY_LIFETIME
from bot.sims.stripe.facts import MIN_CHARGE as MIN_CHARGE
from bot.sims.stripe.facts import TEST_CARDS as TEST_CARDS
from bot.sims.stripe.params import decode_form as decode_form

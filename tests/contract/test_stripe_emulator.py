"""The Stripe emulator's own behaviour where Stripe documents it: idempotency (keys in flight, saved
500s, the 24-hour lifetime, the longest key), unknown URLs, unconfirmed PaymentIntents, and Connect
events, which belong to their connected account and not to the platform's event list.

Each test talks HTTP to the emulator on 127.0.0.1 (raw requests, or stripe-python where the client's
reading of the answer matters). Concurrency is ordered by events, never by sleeps: the emulator's
`on_execute` hook holds a request after its key is marked in flight.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import requests
import stripe

from bot.ports import FakeClock
from bot.sims.stripe import StripeSim
from tests.support.stripe_kit import raw
from tests.support.stripe_kit import sim as sim  # a fixture (re-exported, so it is not unused)

pytestmark = pytest.mark.emulator_only


def post(
    sim: StripeSim, path: str, key: str | None = None, *, account: str | None = None, **data: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    if account is not None:
        headers["Stripe-Account"] = account
    return requests.post(sim.base + path, data=data, headers=headers, timeout=10)


def get(sim: StripeSim, path: str, *, account: str | None = None, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    if account is not None:
        headers["Stripe-Account"] = account
    return requests.get(sim.base + path, params=params, headers=headers, timeout=10)


def client(sim: StripeSim) -> stripe.StripeClient:
    return stripe.StripeClient(sim.api_key, base_addresses={"api": sim.base}, max_network_retries=0)


# ---------------------------------------------------------------- idempotency


def test_a_second_request_while_the_first_with_its_key_executes_gets_409_key_in_use(sim: StripeSim) -> None:
    entered, release = threading.Event(), threading.Event()

    def hold(record: dict[str, Any]) -> None:
        if record["key"] == "k-busy" and not entered.is_set():
            entered.set()  # the first request is executing, its key marked in flight
            release.wait(30)  # a safety net only: the test releases it as soon as the second is answered

    sim.on_execute = hold
    first: list[requests.Response] = []
    worker = threading.Thread(target=lambda: first.append(post(sim, "/v1/customers", "k-busy", email="a@x.org")))
    worker.start()
    try:
        assert entered.wait(30), "the first request never began executing"
        second = post(sim, "/v1/customers", "k-busy", email="a@x.org")
    finally:
        release.set()
        worker.join(30)
    assert second.status_code == 409
    error = second.json()["error"]
    assert (error["type"], error["code"]) == ("idempotency_error", "idempotency_key_in_use")
    assert "Idempotent-Replayed" not in second.headers
    assert first[0].status_code == 200
    again = post(sim, "/v1/customers", "k-busy", email="a@x.org")  # the conflict saved nothing
    assert again.json() == first[0].json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(sim.of_kind("customer")) == 1 and sim.in_flight == set()


def test_a_500_under_a_key_is_saved_and_replayed(sim: StripeSim) -> None:
    sim.inject("POST /v1/customers", 500)  # the request began executing and failed before any work
    failed = post(sim, "/v1/customers", "k-500", email="a@x.org")
    assert failed.status_code == 500 and failed.json()["error"]["type"] == "api_error"
    replayed = post(sim, "/v1/customers", "k-500", email="a@x.org")
    assert replayed.status_code == 500 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == failed.json() and sim.of_kind("customer") == []
    assert failed.headers["Stripe-Should-Retry"] == "false"  # a retry with the key could only replay it

    sim.inject("POST /v1/customers", 500, work=True)  # the customer was made, then the request failed
    assert post(sim, "/v1/customers", "k-500-work").status_code == 500
    assert post(sim, "/v1/customers", "k-500-work").status_code == 500
    assert len(sim.of_kind("customer")) == 1

    sim.inject("POST /v1/customers", 500, saved=False)  # before execution began: nothing saved
    assert post(sim, "/v1/customers", "k-edge").status_code == 500
    assert post(sim, "/v1/customers", "k-edge").status_code == 200
    sim.inject("POST /v1/customers", 429)  # rate limits come before execution too
    assert post(sim, "/v1/customers", "k-429").status_code == 429
    assert post(sim, "/v1/customers", "k-429").status_code == 200


def test_keys_are_forgotten_24_hours_after_their_first_use_on_the_emulators_clock(sim: StripeSim) -> None:
    assert isinstance(sim.clock, FakeClock)
    first = post(sim, "/v1/customers", "k-day", email="a@x.org").json()
    sim.clock.advance(timedelta(hours=23, minutes=59))
    assert post(sim, "/v1/customers", "k-day", email="a@x.org").json() == first  # still replayed
    assert post(sim, "/v1/customers", "k-day", email="b@x.org").status_code == 400  # still bound to them
    sim.clock.advance(timedelta(minutes=1))
    again = post(sim, "/v1/customers", "k-day", email="a@x.org")  # pruned: a new request, a new customer
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers
    assert again.json()["id"] != first["id"] and len(sim.of_kind("customer")) == 2
    assert post(sim, "/v1/customers", "k-day", email="a@x.org").json() == again.json()  # the new answer is kept


def test_a_key_longer_than_255_characters_is_refused(sim: StripeSim) -> None:
    long = post(sim, "/v1/customers", "k" * 256)
    assert long.status_code == 400 and long.json()["error"]["type"] == "invalid_request_error"
    assert sim.of_kind("customer") == [] and "k" * 256 not in sim.keys
    assert post(sim, "/v1/customers", "k" * 255).status_code == 200


# ---------------------------------------------------------------- shapes


def test_an_unknown_url_is_a_404_with_stripes_json_error(sim: StripeSim) -> None:
    for method, path in [
        ("GET", "/v1/nothing"),
        ("POST", "/v1/payment_intents/pi_1/capture"),
        ("DELETE", "/v1/customers"),
    ]:
        r = raw(sim, method, path)
        assert r.status_code == 404 and r.headers["Content-Type"].startswith("application/json"), (method, path)
        error = r.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert error["message"].startswith(f"Unrecognized request URL ({method}: {path})")
    with pytest.raises(stripe.InvalidRequestError) as caught:  # stripe-python reads it as Stripe's own
        client(sim).raw_request("get", "/v1/nothing")
    assert caught.value.http_status == 404


def test_a_payment_intent_created_without_confirm_waits_uncharged(sim: StripeSim) -> None:
    c = client(sim)
    bare = c.v1.payment_intents.create(params={"amount": 500, "currency": "usd"})
    assert (bare.status, bare.latest_charge) == ("requires_payment_method", None)
    customer = c.v1.customers.create()
    pm = c.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    waiting = c.v1.payment_intents.create(
        params={"amount": 500, "currency": "usd", "customer": customer.id, "payment_method": pm.id}
    )
    assert waiting.status == "requires_confirmation" and sim.succeeded_charges() == 0
    with pytest.raises(stripe.InvalidRequestError, match="off_session"):
        c.v1.payment_intents.create(
            params={
                "amount": 500,
                "currency": "usd",
                "customer": customer.id,
                "payment_method": pm.id,
                "off_session": True,
            }
        )
    assert c.v1.payment_intents.cancel(waiting.id).status == "canceled"


# ---------------------------------------------------------------- Connect events


def test_a_connected_accounts_events_are_listed_only_as_that_account(sim: StripeSim) -> None:
    acct = post(sim, "/v1/accounts", **{"capabilities[transfers][requested]": "true"}).json()["id"]
    other = post(sim, "/v1/accounts", **{"capabilities[transfers][requested]": "true"}).json()["id"]
    post(sim, "/v1/customers")
    sim.onboard(acct)
    platform = get(sim, "/v1/events").json()["data"]
    assert platform == [] and get(sim, "/v1/events", type="account.updated").json()["data"] == []
    [event] = get(sim, "/v1/events", account=acct).json()["data"]
    assert (event["type"], event["account"], event["data"]["object"]["id"]) == ("account.updated", acct, acct)
    assert event["data"]["object"]["capabilities"]["transfers"] == "active"
    assert get(sim, "/v1/events", account=other).json()["data"] == []
    assert get(sim, f"/v1/events/{event['id']}").status_code == 404  # not the platform's event
    assert get(sim, f"/v1/events/{event['id']}", account=other).status_code == 404
    assert get(sim, f"/v1/events/{event['id']}", account=acct).json() == event
    # stripe-python reads it the same way, as the Connect webhook would fetch it again
    assert client(sim).v1.events.retrieve(event["id"], options={"stripe_account": acct}).account == acct
    unknown = get(sim, "/v1/events", account="acct_nobody")
    assert unknown.status_code == 403 and unknown.json()["error"]["code"] == "account_invalid"
    assert post(sim, "/v1/customers", account=acct).status_code == 400  # no objects inside connected accounts


def test_a_payment_inside_a_connected_account_is_that_accounts_alone(sim: StripeSim) -> None:
    """A connected account's owner charges a customer of theirs, writing what metadata they like: its objects
    are theirs (the platform's API does not find them), and its payment_intent.succeeded is a Connect event of
    that account, as Stripe delivers it to Connect endpoints."""
    acct = post(sim, "/v1/accounts", **{"capabilities[transfers][requested]": "true"}).json()["id"]
    pi = sim.connected_payment(acct, 700, "usd", {"paybot_key": "pay:1:2:3"})
    assert (pi["status"], pi["amount"], pi["metadata"]) == ("succeeded", 700, {"paybot_key": "pay:1:2:3"})
    assert get(sim, f"/v1/payment_intents/{pi['id']}").status_code == 404
    assert get(sim, f"/v1/customers/{pi['customer']}").status_code == 404
    assert get(sim, "/v1/events").json()["data"] == [] and sim.succeeded_charges() == 0
    [event] = get(sim, "/v1/events", account=acct).json()["data"]
    assert (event["type"], event["account"], event["data"]["object"]) == ("payment_intent.succeeded", acct, pi)
    assert get(sim, f"/v1/events/{event['id']}").status_code == 404
    with pytest.raises(stripe.InvalidRequestError):
        client(sim).v1.payment_intents.retrieve(pi["id"])


def test_expand_answers_a_field_as_the_object_it_names(sim: StripeSim) -> None:
    """expand[] on a retrieve: a Checkout Session's payment_intent comes whole; a field that names no object
    cannot be expanded (400), and a null stays null."""
    customer = post(sim, "/v1/customers").json()["id"]
    page = post(
        sim,
        "/v1/checkout/sessions",
        mode="payment",
        customer=customer,
        success_url="https://x.com",
        cancel_url="https://x.com",
        **{
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": "usd",
            "line_items[0][price_data][unit_amount]": "500",
            "line_items[0][price_data][product_data][name]": "a",
        },
    ).json()
    assert (
        get(sim, f"/v1/checkout/sessions/{page['id']}", **{"expand[0]": "payment_intent"}).json()["payment_intent"]
        is None
    )
    sim.complete_checkout(page["id"])
    done = get(sim, f"/v1/checkout/sessions/{page['id']}", **{"expand[0]": "payment_intent"}).json()
    assert done["payment_intent"]["object"] == "payment_intent" and done["payment_intent"]["amount"] == 500
    assert get(sim, f"/v1/checkout/sessions/{page['id']}").json()["payment_intent"] == done["payment_intent"]["id"]
    assert get(sim, f"/v1/checkout/sessions/{page['id']}", **{"expand[0]": "mode"}).status_code == 400


# ---------------------------------------------------------------- money back, in parts


def _destination_charge(sim: StripeSim, amount: int = 1000, fee: int | None = None) -> tuple[Any, Any]:
    """A customer with a card pays `amount` to a connected account that can receive (a destination charge)."""
    c = client(sim)
    acct = post(sim, "/v1/accounts", **{"capabilities[transfers][requested]": "true"}).json()["id"]
    sim.onboard(acct)
    customer = c.v1.customers.create()
    pm = c.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    params: Any = {
        "amount": amount,
        "currency": "usd",
        "customer": customer.id,
        "payment_method": pm.id,
        "confirm": True,
        "off_session": True,
        "transfer_data": {"destination": acct},
    }
    if fee:
        params["application_fee_amount"] = fee
    pi = c.v1.payment_intents.create(params=params)
    charge = c.v1.charges.retrieve(pi.latest_charge)  # type: ignore[arg-type]
    return pi, c.v1.transfers.retrieve(charge.transfer)  # type: ignore[arg-type]


def test_a_transfer_is_reversed_in_parts_up_to_its_amount(sim: StripeSim) -> None:
    """Stripe: "you can optionally reverse part of the transfer ... as many times as you wish until the entire
    transfer has been reversed"; then `reversed` is true and another reversal is refused."""
    _, tr = _destination_charge(sim)
    c = client(sim)
    first = c.v1.transfers.reversals.create(tr.id, params={"amount": 300, "metadata": {"paybot_key": "a"}})
    after = c.v1.transfers.retrieve(tr.id)
    assert (after.amount_reversed, after.reversed, [r.id for r in after.reversals.data]) == (300, False, [first.id])
    with pytest.raises(stripe.InvalidRequestError, match="up to 700"):
        c.v1.transfers.reversals.create(tr.id, params={"amount": 701})
    rest = c.v1.transfers.reversals.create(tr.id)  # no amount: all that is left
    after = c.v1.transfers.retrieve(tr.id)
    assert (rest.amount, after.amount_reversed, after.reversed) == (700, 1000, True)
    # (Stripe always sends metadata, {} when none is set; the stubs have it optional)
    assert [r.metadata.to_dict().get("paybot_key") for r in after.reversals.data] == [None, "a"]  # type: ignore[union-attr]
    with pytest.raises(stripe.InvalidRequestError, match="already been reversed"):
        c.v1.transfers.reversals.create(tr.id, params={"amount": 1})


def test_a_partial_refund_with_reverse_transfer_reverses_only_its_share(sim: StripeSim) -> None:
    """Stripe's refund docs: the transfer is reversed in proportion to the amount refunded. A $10.00 charge that
    sent $9.00 on (a $1.00 fee): refunding $5.00 takes back $4.50; the refund that completes the charge's
    refunds takes what is left; a transfer with too little left to reverse refuses it."""
    pi, tr = _destination_charge(sim, 1000, fee=100)
    c = client(sim)
    half = c.v1.refunds.create(params={"payment_intent": pi.id, "amount": 500, "reverse_transfer": True})
    assert (c.v1.transfers.retrieve(tr.id).amount_reversed, half.status) == (450, "succeeded")
    [reversal] = c.v1.transfers.retrieve(tr.id).reversals.data
    assert (reversal.amount, reversal.source_refund, half.transfer_reversal) == (450, half.id, reversal.id)
    third = c.v1.refunds.create(params={"payment_intent": pi.id, "amount": 333, "reverse_transfer": True})
    assert c.v1.transfers.retrieve(tr.id).amount_reversed == 450 + 299  # 333 * 900 // 1000, rounded down
    c.v1.refunds.create(params={"payment_intent": pi.id, "reverse_transfer": True})  # the rest: 167
    after = c.v1.transfers.retrieve(tr.id)
    assert (after.amount_reversed, after.reversed, third.amount) == (900, True, 333)
    charge = c.v1.charges.retrieve(pi.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (1000, True)
    with pytest.raises(stripe.InvalidRequestError, match="already been refunded"):
        c.v1.refunds.create(params={"payment_intent": pi.id, "amount": 1})
    pi2, tr2 = _destination_charge(sim, 1000)
    c.v1.transfers.reversals.create(tr2.id, params={"amount": 800})
    with pytest.raises(stripe.InvalidRequestError, match="only 200 left to reverse"):
        c.v1.refunds.create(params={"payment_intent": pi2.id, "amount": 500, "reverse_transfer": True})


def test_a_pending_refund_then_fails_and_the_money_is_not_refunded(sim: StripeSim) -> None:
    """A card refund may stay pending and then fail (or go through): Stripe tells it with charge.refund.updated
    and refund.updated; a failed refund's amount is the charge's again (not refunded), with a failure_reason."""
    pi, _ = _destination_charge(sim)
    c = client(sim)
    sim.hold_refunds(2)
    first = c.v1.refunds.create(params={"payment_intent": pi.id, "amount": 400})
    second = c.v1.refunds.create(params={"payment_intent": pi.id, "amount": 100})
    third = c.v1.refunds.create(params={"payment_intent": pi.id, "amount": 100})
    assert (first.status, second.status, third.status) == ("pending", "pending", "succeeded")
    assert c.v1.charges.retrieve(pi.latest_charge).amount_refunded == 600
    done = len(sim.events)
    sim.settle_refund(first.id, "failed")
    sim.settle_refund(second.id, "succeeded")
    assert [(e["type"], e["data"]["object"]["id"], e["data"]["object"]["status"]) for e in sim.events[done:]] == [
        ("charge.refund.updated", first.id, "failed"),
        ("refund.updated", first.id, "failed"),
        ("charge.refund.updated", second.id, "succeeded"),
        ("refund.updated", second.id, "succeeded"),
    ]
    failed = c.v1.refunds.retrieve(first.id)
    assert (failed.status, failed.failure_reason) == ("failed", "expired_or_canceled_card")
    charge = c.v1.charges.retrieve(pi.latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (200, False)
    sim.settle_refund(first.id, "succeeded")  # a failed refund stays failed
    assert c.v1.refunds.retrieve(first.id).status == "failed"
    sim.settle_refund(third.id, "failed")  # a refund that had succeeded can still fail
    assert c.v1.charges.retrieve(pi.latest_charge).amount_refunded == 100


def test_a_transfer_refused_for_the_balance_is_kept_under_its_key(sim: StripeSim) -> None:
    """balance_insufficient (400, Stripe's words), answered when told: saved under its key like any answer of
    a request that began executing, so only a new key can try again."""
    _, tr = _destination_charge(sim)
    sim.inject("POST /v1/transfers", 400, code="balance_insufficient")
    body = {"amount": 100, "currency": "usd", "destination": tr.destination}
    refused = post(sim, "/v1/transfers", "release:1", **body)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "balance_insufficient"
    assert "insufficient funds in your Stripe account" in refused.json()["error"]["message"]
    again = post(sim, "/v1/transfers", "release:1", **body)
    assert again.json() == refused.json() and again.headers["Idempotent-Replayed"] == "true"
    assert post(sim, "/v1/transfers", "release:1:2", **body).status_code == 200
    with pytest.raises(ValueError, match="code"):
        sim.inject("POST /v1/transfers", 400)  # a refusal needs one of Stripe's codes


def test_a_dispute_withdraws_the_funds_from_the_platform(sim: StripeSim) -> None:
    pi, _ = _destination_charge(sim)
    done = len(sim.events)
    dispute = sim.dispute(pi.latest_charge)
    assert [e["type"] for e in sim.events[done:]] == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]
    [txn] = sim.events[-1]["data"]["object"]["balance_transactions"]
    assert (txn["amount"], txn["source"], txn["reporting_category"]) == (-1000, dispute["id"], "dispute")
    inquiry = sim.dispute(_destination_charge(sim)[0].latest_charge, withdraw=False)
    assert sim.events[-1]["type"] == "charge.dispute.created" and inquiry["balance_transactions"] == []

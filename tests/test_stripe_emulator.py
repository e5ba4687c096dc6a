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
from tests.test_stripe import raw
from tests.test_stripe import sim as sim  # a fixture (re-exported, so it is not unused)

pytestmark = pytest.mark.emulator_only


def post(sim: StripeSim, path: str, key: str | None = None, *, account: str | None = None,
         **data: Any) -> requests.Response:
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
    for method, path in [("GET", "/v1/nothing"), ("POST", "/v1/payment_intents/pi_1/capture"),
                         ("DELETE", "/v1/customers")]:
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
    waiting = c.v1.payment_intents.create(params={"amount": 500, "currency": "usd", "customer": customer.id,
                                                  "payment_method": pm.id})
    assert waiting.status == "requires_confirmation" and sim.succeeded_charges() == 0
    with pytest.raises(stripe.InvalidRequestError, match="off_session"):
        c.v1.payment_intents.create(params={"amount": 500, "currency": "usd", "customer": customer.id,
                                            "payment_method": pm.id, "off_session": True})
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

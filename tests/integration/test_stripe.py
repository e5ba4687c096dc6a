"""The Stripe provider, through real stripe-python over loopback.

Contract tests run against two servers: the project's Stripe emulator and
localstripe (PyPI), for the subset localstripe has (customer, attached card,
off-session charge, decline, refund, signed webhook). What localstripe lacks
(Connect, Checkout, idempotency, authentication_required) is tested on the
emulator only: those tests are marked `emulator_only` (and named after what
they cover: connect, checkout, idempotency, sca).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import requests
import stripe
from werkzeug.serving import make_server

from bot.config import Settings
from bot.errors import AmountTooSmall, ConfigError, ProviderTransient
from bot.money import Money
from bot.ports import EventKind, FakeClock, PayOutcome, ProviderEvent, Registration
from bot.providers.stripe_provider import StripeProvider
from bot.providers.stripe_webhook import PATH, make_app
from bot.sims.stripe import DROP, StripeSim
from tests.support.records import stripe_records
from tests.support.stripe_kit import CONNECT_SECRET, PLATFORM_SECRET, _signed, free_port, raw
from tests.support.stripe_kit import sim as sim  # a fixture (re-exported, so it is not unused)

pytestmark = pytest.mark.process

USD5 = Money(500, "USD")
OTHER_SECRET = "whsec_pV5fAdTQX68JGNnABKKb5dqA9M8Dh2f2"


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """localstripe on 127.0.0.1 (its own launcher listens on every interface, so it is not used)."""
    port = free_port()
    code = (
        "from aiohttp import web; from localstripe.server import app; "
        f"web.run_app(app, host='127.0.0.1', port={port}, print=None)"
    )
    log = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def make_provider(
    base: str, key: str, tmp: Path, clock: Any, *, connect: bool = True, retries: int = 2, fee_bps: int = 0
) -> StripeProvider:
    client = stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=retries)
    return StripeProvider(client, stripe_records(tmp / "stripe.db", clock), clock, connect=connect, fee_bps=fee_bps)


@dataclass
class Backend:
    name: str
    provider: StripeProvider

    def give_card(self, user_id: str, test_pm: str) -> str:
        """The user has a card on file: a Customer with this test payment method attached."""
        return self.provider.attach_card(user_id, test_pm)


@pytest.fixture(params=["emulator", "localstripe"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "emulator":
        s = request.getfixturevalue("sim")
        yield Backend("emulator", make_provider(s.base, s.api_key, tmp_path, s.clock))
    else:
        base = request.getfixturevalue("localstripe")
        # localstripe has no Connect: nobody can receive, so every charge is held by the platform.
        yield Backend("localstripe", make_provider(base, "sk_test_localstripe", tmp_path, FakeClock(), connect=False))


@pytest.fixture
def emu(sim: StripeSim, tmp_path: Path) -> Backend:
    return Backend("emulator", make_provider(sim.base, sim.api_key, tmp_path, sim.clock, fee_bps=100))


# ---------------------------------------------------------------- contract (both servers)


def test_customer_card_and_off_session_charge(backend: Backend) -> None:
    p = backend.provider
    assert not p.has_card("1")
    backend.give_card("1", "pm_card_visa")
    assert p.has_card("1")
    result = p.pay(
        key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo="pizza", reference={"transfer_id": "7"}
    )
    assert result.outcome == PayOutcome.HELD and result.ref and result.ref.startswith("pi_")
    pi = p.client.v1.payment_intents.retrieve(result.ref)
    assert (pi.amount, pi.currency, pi.status, pi.customer) == (500, "usd", "succeeded", p.customer("1"))
    assert pi.metadata["paybot_key"] == "pay:t1:1:2" and pi.metadata["transfer_id"] == "7"


def test_a_declined_card_fails_with_a_plain_reason(backend: Backend) -> None:
    backend.give_card("1", "pm_card_chargeCustomerFail")
    result = backend.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert result.outcome == PayOutcome.DECLINED
    assert result.reason == "declined by the bank"  # no card number, no raw Stripe error


def test_no_saved_card(backend: Backend) -> None:
    result = backend.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert result.outcome == PayOutcome.NO_CARD


def test_held_money_is_refunded(backend: Backend) -> None:
    backend.give_card("1", "pm_card_visa")
    paid = backend.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert paid.ref is not None
    ref = backend.provider.refund(key="return:t1:1:2", payment_ref=paid.ref or "", amount=USD5).ref
    assert ref.startswith("re_")
    refunds = backend.provider.client.v1.refunds.list(params={"payment_intent": paid.ref})
    assert [(r.id, r.amount) for r in refunds.data] == [(ref, 500)]


def test_signed_webhook_from_localstripe(localstripe: str, tmp_path: Path) -> None:
    """localstripe signs its webhooks: the endpoint verifies them and reads the payment they report."""
    backend = Backend(
        "localstripe", make_provider(localstripe, "sk_test_localstripe", tmp_path, FakeClock(), connect=False)
    )
    got: list[ProviderEvent] = []
    server = make_server("127.0.0.1", 0, make_app(backend.provider, PLATFORM_SECRET, got.append), threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        hook = f"http://127.0.0.1:{server.server_port}{PATH}"
        requests.post(
            f"{localstripe}/_config/webhooks/paybot",
            timeout=10,
            json={"url": hook, "secret": PLATFORM_SECRET, "events": ["payment_intent.succeeded"]},
        ).raise_for_status()
        backend.give_card("1", "pm_card_visa")
        paid = backend.provider.pay(key="pay:t9:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
        deadline = time.monotonic() + 15
        mine = lambda: [e for e in got if e.key == "pay:t9:1:2"]  # noqa: E731 (earlier tests' events may arrive too)
        while not mine() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.shutdown()
        server.server_close()
    assert [(e.kind, e.ref, e.outcome) for e in mine()] == [(EventKind.PAID, paid.ref, PayOutcome.HELD)]


# ---------------------------------------------------------------- the emulator's own behaviour


def test_the_emulator_answers_in_stripe_shapes(sim: StripeSim) -> None:
    r = raw(sim, "POST", "/v1/customers", **{"metadata[x]": "1", "colour": "blue"})
    assert r.status_code == 400
    assert r.json()["error"] == {
        "type": "invalid_request_error",
        "param": "colour",
        "message": "Received unknown parameter: colour",
    }
    assert raw(sim, "GET", "/v1/customers/cus_nope").json()["error"]["code"] == "resource_missing"
    assert raw(sim, "GET", "/v1/customers/cus_nope", key="sk_test_wrong").status_code == 401
    cus = raw(sim, "POST", "/v1/customers").json()["id"]
    pm = raw(sim, "POST", "/v1/payment_methods/pm_card_chargeCustomerFail/attach", customer=cus).json()["id"]
    r = raw(
        sim,
        "POST",
        "/v1/payment_intents",
        amount="500",
        currency="usd",
        customer=cus,
        payment_method=pm,
        off_session="true",
        confirm="true",
    )
    assert r.status_code == 402
    error = r.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == ("card_error", "card_declined", "generic_decline")
    assert error["payment_intent"]["status"] == "requires_payment_method"
    r = raw(sim, "POST", "/v1/payment_methods/pm_card_chargeDeclined/attach", customer=cus)
    assert r.status_code == 402 and r.json()["error"]["code"] == "card_declined"  # declined when saved


@pytest.mark.emulator_only
def test_idempotency_replays_and_refuses_other_parameters(sim: StripeSim) -> None:
    headers = {"Authorization": f"Bearer {sim.api_key}", "Idempotency-Key": "k1"}
    first = requests.post(sim.base + "/v1/customers", data={"email": "a@example.com"}, headers=headers, timeout=10)
    again = requests.post(sim.base + "/v1/customers", data={"email": "a@example.com"}, headers=headers, timeout=10)
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    other = requests.post(sim.base + "/v1/customers", data={"email": "b@example.com"}, headers=headers, timeout=10)
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
    assert len(sim.of_kind("customer")) == 1


# ---------------------------------------------------------------- emulator only: idempotency, Connect, Checkout, SCA


@pytest.mark.emulator_only
def test_idempotency_a_retried_pay_never_makes_a_second_payment_intent(emu: Backend, sim: StripeSim) -> None:
    emu.give_card("1", "pm_card_visa")
    first = emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    again = emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert first == again
    assert len(sim.of_kind("payment_intent")) == 1 and sim.succeeded_charges() == 1


@pytest.mark.emulator_only
def test_idempotency_a_dropped_connection_after_the_charge_is_retried_with_the_same_key(
    emu: Backend, sim: StripeSim
) -> None:
    emu.give_card("1", "pm_card_visa")
    sim.inject("POST /v1/payment_intents", DROP)
    result = emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert result.outcome == PayOutcome.HELD
    calls = [r for r in sim.requests if r["route"] == "POST /v1/payment_intents"]
    assert [c["key"] for c in calls] == ["pay:t1:1:2", "pay:t1:1:2"]
    assert len(sim.of_kind("payment_intent")) == 1 and sim.succeeded_charges() == 1


@pytest.mark.emulator_only
def test_idempotency_500s_and_429s_are_retried_and_a_long_outage_is_transient(emu: Backend, sim: StripeSim) -> None:
    emu.give_card("1", "pm_card_visa")
    # 500s from before Stripe began executing the request: not saved under the key (see the saved kind below)
    sim.inject("POST /v1/payment_intents", 500, saved=False)
    sim.inject("POST /v1/payment_intents", 429)
    assert emu.provider.pay(key="pay:a", sender_id="1", recipient_id="2", amount=USD5, memo=None).ref
    sim.inject("POST /v1/payment_intents", 500, times=3, saved=False)  # more than the two retries
    with pytest.raises(ProviderTransient):
        emu.provider.pay(key="pay:b", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert emu.provider.pay(key="pay:b", sender_id="1", recipient_id="2", amount=USD5, memo=None).ref
    assert len(sim.of_kind("payment_intent")) == 2


@pytest.mark.emulator_only
def test_idempotency_a_pay_while_another_with_its_key_executes_is_transient_and_charges_once(
    sim: StripeSim, tmp_path: Path
) -> None:
    """Two workers (or a worker and its own retry) pay with one key at once: the second hears Stripe's 409
    idempotency_key_in_use and tries again later (ProviderTransient), never "used with other parameters"."""
    first_worker = make_provider(sim.base, sim.api_key, tmp_path, sim.clock, retries=0)
    second_worker = make_provider(sim.base, sim.api_key, tmp_path, sim.clock, retries=0)
    Backend("emulator", first_worker).give_card("1", "pm_card_visa")
    entered, release = threading.Event(), threading.Event()

    def hold(record: dict[str, Any]) -> None:
        if record["route"] == "POST /v1/payment_intents" and not entered.is_set():
            entered.set()
            release.wait(30)  # a safety net only: released as soon as the second attempt is answered

    sim.on_execute = hold
    results: list[Any] = []
    pay = dict(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    worker = threading.Thread(target=lambda: results.append(first_worker.pay(**pay)))  # type: ignore[arg-type]
    worker.start()
    try:
        assert entered.wait(30), "the first payment never began executing"
        with pytest.raises(ProviderTransient, match="in progress"):
            second_worker.pay(**pay)  # type: ignore[arg-type]
    finally:
        release.set()
        worker.join(30)
    [first] = results
    assert first.outcome == PayOutcome.HELD
    assert second_worker.pay(**pay) == first  # type: ignore[arg-type]
    assert len(sim.of_kind("payment_intent")) == 1 and sim.succeeded_charges() == 1


@pytest.mark.emulator_only
def test_idempotency_a_saved_500_after_the_charge_is_answered_by_the_charge(emu: Backend, sim: StripeSim) -> None:
    """Stripe saves a 500 under the key and replays it: retrying cannot learn more, so pay looks up what
    the key charged, and answers with it."""
    emu.give_card("1", "pm_card_visa")
    sim.inject("POST /v1/payment_intents", 500, work=True)
    first = emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    [pi] = sim.of_kind("payment_intent")
    assert (first.outcome, first.ref) == (PayOutcome.HELD, pi["id"])
    assert emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None) == first
    creates = [r for r in sim.requests if r["route"] == "POST /v1/payment_intents"]
    assert [r["status"] for r in creates] == [500, 500]  # the second is the replay
    assert sim.succeeded_charges() == 1


@pytest.mark.emulator_only
def test_idempotency_a_saved_500_before_any_charge_stays_transient_and_charges_nothing(
    emu: Backend, sim: StripeSim
) -> None:
    """The key answers 500 for a day and nothing was charged: each attempt is transient (the transfer waits),
    and past the key's lifetime the service looks the payment up instead of paying (see test_stripe_flow)."""
    emu.give_card("1", "pm_card_visa")
    sim.inject("POST /v1/payment_intents", 500)
    for _ in range(2):
        with pytest.raises(ProviderTransient):
            emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert sim.of_kind("payment_intent") == [] and emu.provider.lookup("pay:t1:1:2", "1") is None


@pytest.mark.emulator_only
def test_idempotency_a_recipient_who_onboarded_between_two_attempts_is_not_charged_twice(
    sim: StripeSim, tmp_path: Path
) -> None:
    """The retry would be a destination charge, the first attempt was a held charge: the key's first
    answer stands, found by lookup."""
    p = Backend("emulator", make_provider(sim.base, sim.api_key, tmp_path, sim.clock, retries=0))
    p.give_card("1", "pm_card_visa")
    sim.inject("POST /v1/payment_intents", DROP)
    with pytest.raises(ProviderTransient):
        p.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    sim.onboard(p.provider.account("2"))
    result = p.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert result.outcome == PayOutcome.HELD and len(sim.of_kind("payment_intent")) == 1


@pytest.mark.emulator_only
def test_checkout_register_saves_the_card_through_an_event(emu: Backend, sim: StripeSim) -> None:
    registration = emu.provider.register("1")
    [session] = sim.open_sessions()
    assert registration == Registration(url=session["url"], valid_for=timedelta(hours=24))
    assert session["mode"] == "setup"
    assert not emu.provider.has_card("1")
    sim.complete_checkout(session["id"], "pm_card_visa")
    events, cursor = emu.provider.events(None)
    assert [(e.kind, e.user_id) for e in events] == [(EventKind.CARD_SAVED, "1")]
    assert emu.provider.has_card("1")
    assert emu.provider.register("1") == Registration(already=True)
    assert emu.provider.events(cursor) == ([], cursor)


@pytest.mark.emulator_only
def test_connect_onboarding_link_then_destination_charge_with_a_fee(emu: Backend, sim: StripeSim) -> None:
    onboarding = emu.provider.onboard("2")
    assert not onboarding.ready and onboarding.url and "/setup/" in onboarding.url
    assert not emu.provider.can_receive("2")
    sim.onboard(emu.provider.account("2"))
    events, _ = emu.provider.events(None)
    assert (EventKind.ACCOUNT_READY, "2") in [(e.kind, e.user_id) for e in events]
    assert emu.provider.onboard("2").ready and emu.provider.can_receive("2")
    emu.give_card("1", "pm_card_visa")
    result = emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert result.outcome == PayOutcome.PAID
    pi = emu.provider.client.v1.payment_intents.retrieve(result.ref or "")
    assert pi.transfer_data is not None
    assert pi.transfer_data.destination == emu.provider.account("2") and pi.application_fee_amount == 5


def account_checks(sim: StripeSim) -> int:
    return sum(r["route"] == "GET /v1/accounts/{id}" for r in sim.requests)


@pytest.mark.emulator_only
def test_connect_onboarding_is_learnt_by_asking_on_a_bounded_schedule(emu: Backend, sim: StripeSim) -> None:
    """account.updated of a connected account never reaches the platform's event list: the adapter retrieves
    each account awaiting onboarding, every tick at first, then ever more rarely (at least hourly), for 30
    days; it reports ACCOUNT_READY once."""
    assert isinstance(sim.clock, FakeClock)
    _, cursor = emu.provider.events(None)
    assert not emu.provider.onboard("2").ready
    checks = account_checks(sim)
    for _ in range(120):  # an hour of 30-second ticks, nobody onboards
        sim.clock.advance(timedelta(seconds=30))
        events, cursor = emu.provider.events(cursor)
        assert events == []
    first_hour = account_checks(sim) - checks
    assert 10 <= first_hour <= 25, first_hour  # every tick for two minutes, then a quarter of the wait
    checks = account_checks(sim)
    for _ in range(2 * 120):  # the next two hours: about hourly
        sim.clock.advance(timedelta(seconds=30))
        emu.provider.events(cursor)
    assert account_checks(sim) - checks in (2, 3)
    sim.onboard(emu.provider.account("2"))
    ready: list[ProviderEvent] = []
    for _ in range(120):  # within the hour the next check sees it, and reports it once
        sim.clock.advance(timedelta(seconds=30))
        events, cursor = emu.provider.events(cursor)
        ready += events
    assert [(e.kind, e.user_id) for e in ready] == [(EventKind.ACCOUNT_READY, "2")]
    assert emu.provider.can_receive("2")

    # Someone who never finishes: asked no more once the link is 30 days old; a new link starts again.
    assert not emu.provider.onboard("3").ready
    sim.clock.advance(timedelta(days=30, seconds=1))
    checks = account_checks(sim)
    emu.provider.events(cursor)
    assert account_checks(sim) == checks
    assert not emu.provider.onboard("3").ready
    checks = account_checks(sim)
    emu.provider.events(cursor)
    assert account_checks(sim) == checks + 1


@pytest.mark.emulator_only
def test_connect_at_most_twenty_accounts_are_checked_per_poll(emu: Backend, sim: StripeSim) -> None:
    for user in range(25):
        emu.provider.onboard(str(100 + user))
    checks = account_checks(sim)
    emu.provider.events(None)
    assert account_checks(sim) - checks == 20
    emu.provider.events(None)  # the five not yet checked come first
    assert account_checks(sim) - checks == 40


@pytest.mark.emulator_only
def test_connect_an_account_found_ready_by_a_payment_is_still_reported_once(emu: Backend, sim: StripeSim) -> None:
    """A payment asks Stripe first and finds the recipient ready: the next poll still reports ACCOUNT_READY
    (money held for them before must be released), and only once."""
    emu.give_card("1", "pm_card_visa")
    assert not emu.provider.onboard("2").ready
    _, cursor = emu.provider.events(None)
    sim.onboard(emu.provider.account("2"))
    paid = emu.provider.pay(key="pay:t2:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert paid.outcome == PayOutcome.PAID
    events, cursor = emu.provider.events(cursor)
    assert [(e.kind, e.user_id) for e in events if e.kind != EventKind.PAID] == [(EventKind.ACCOUNT_READY, "2")]
    assert emu.provider.events(cursor) == ([], cursor)


@pytest.mark.emulator_only
def test_connect_held_money_is_released_from_its_charge(emu: Backend, sim: StripeSim) -> None:
    emu.give_card("1", "pm_card_visa")
    held = emu.provider.pay(
        key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None, reference={"transfer_id": "7"}
    )
    pi = emu.provider.client.v1.payment_intents.retrieve(held.ref or "")
    assert pi.transfer_group == "paybot-7" and pi.to_dict().get("transfer_data") is None
    sim.onboard(emu.provider.account("2"))
    ref = emu.provider.release(key="release:t1:1:2", payment_ref=held.ref or "", recipient_id="2", amount=USD5)
    assert emu.provider.release(key="release:t1:1:2", payment_ref=held.ref or "", recipient_id="2", amount=USD5) == ref
    [transfer] = sim.of_kind("transfer")
    assert (transfer["id"], transfer["amount"], transfer["source_transaction"], transfer["destination"]) == (
        ref,
        495,
        pi.latest_charge,
        emu.provider.account("2"),
    )
    [p] = emu.provider.payments_since(sim.clock.now() - timedelta(days=1))
    assert (p.charged, p.delivered, p.refunded) == (True, True, False)


@pytest.mark.emulator_only
def test_sca_needs_a_hosted_page_for_that_payment_and_completes_when_paid(emu: Backend, sim: StripeSim) -> None:
    emu.give_card("1", "pm_card_authenticationRequired")
    first = emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert first.outcome == PayOutcome.NEEDS_AUTH and first.url
    assert emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None) == first
    [session] = sim.open_sessions()
    assert session["url"] == first.url and session["amount_total"] == 500 and session["mode"] == "payment"
    assert sim.succeeded_charges() == 0
    # The refused off-session attempt is canceled (once, though pay ran twice): the page's payment replaces it.
    assert [(pi["id"], pi["status"], pi["cancellation_reason"]) for pi in sim.of_kind("payment_intent")] == [
        (first.ref, "canceled", "abandoned")
    ]
    assert (
        sum(r["route"] == "POST /v1/payment_intents/{id}/cancel" and r["status"] == 200 for r in sim.requests) == 2
    )  # the second is the idempotent replay
    sim.complete_checkout(session["id"], "pm_card_authenticationRequired")
    events, _ = emu.provider.events(None)
    paid = [e for e in events if e.kind == EventKind.PAID and e.key == "pay:t1:1:2"]
    assert paid and paid[0].outcome == PayOutcome.HELD and paid[0].ref != first.ref
    assert emu.provider.lookup("pay:t1:1:2", "1") == emu.provider.lookup("pay:t1:1:2", "1")
    assert emu.provider.lookup("pay:t1:1:2", "1").outcome == PayOutcome.HELD  # type: ignore[union-attr]
    assert sim.succeeded_charges() == 1


@pytest.mark.emulator_only
def test_sca_the_page_paybot_made_lapsing_is_told_once_read_again(emu: Backend, sim: StripeSim) -> None:
    """checkout.session.expired of the page paybot stored for the key: AUTH_LAPSED, once Stripe's copy of that
    page says it expired (a page that is not paybot's says nothing, see test_stripe_flow.py)."""
    emu.give_card("1", "pm_card_authenticationRequired")
    emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert isinstance(sim.clock, FakeClock)
    sim.clock.advance(timedelta(hours=25))
    events, _ = emu.provider.events(None)
    assert [(e.kind, e.key) for e in events if e.kind == EventKind.AUTH_LAPSED] == [
        (EventKind.AUTH_LAPSED, "pay:t1:1:2")
    ]


@pytest.mark.emulator_only
def test_sca_a_failed_cancel_of_the_refused_attempt_does_not_stop_the_page(
    emu: Backend, sim: StripeSim, caplog: pytest.LogCaptureFixture
) -> None:
    emu.give_card("1", "pm_card_authenticationRequired")
    sim.inject("POST /v1/payment_intents/{id}/cancel", 500, times=5)
    first = emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert first.outcome == PayOutcome.NEEDS_AUTH and first.url
    assert sim.of_kind("payment_intent")[0]["status"] == "requires_payment_method"
    assert f"could not cancel the refused PaymentIntent {first.ref}" in caplog.text


@pytest.mark.emulator_only
def test_sca_lookup_closes_an_unused_page_so_it_cannot_be_paid_later(emu: Backend, sim: StripeSim) -> None:
    emu.give_card("1", "pm_card_authenticationRequired")
    emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    [session] = sim.open_sessions()
    found = emu.provider.lookup("pay:t1:1:2", "1")
    assert found is not None and found.outcome == PayOutcome.NEEDS_AUTH and found.url is None
    assert sim.open_sessions() == []
    with pytest.raises(Exception, match="expired"):
        sim.complete_checkout(session["id"])
    assert emu.provider.lookup("pay:never", "1") is None


def test_events_outside_paybot_are_translated(emu: Backend, sim: StripeSim) -> None:
    emu.give_card("1", "pm_card_visa")
    paid = emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    _, cursor = emu.provider.events(None)
    assert paid.ref is not None
    pi = emu.provider.client.v1.payment_intents.retrieve(paid.ref or "")
    emu.provider.client.v1.refunds.create(params={"payment_intent": paid.ref})  # from the dashboard
    sim.dispute(cast(str, pi.latest_charge))  # then the payer's bank (a disputed charge can no longer be refunded)
    with pytest.raises(stripe.InvalidRequestError, match="charged back"):
        emu.provider.client.v1.refunds.create(params={"payment_intent": paid.ref})
    events, _ = emu.provider.events(cursor)
    assert [(e.kind, e.ref) for e in events] == [
        (EventKind.REFUNDED, paid.ref),
        (EventKind.DISPUTED, paid.ref),
        (EventKind.FUNDS_WITHDRAWN, paid.ref),
    ]
    [refund] = sim.of_kind("refund")
    assert (events[2].amount_minor, events[0].settle_ref, events[0].key) == (500, refund["id"], None)


def test_the_webhook_refuses_a_bad_signature(emu: Backend) -> None:
    """Unsigned or badly signed: 400. Well signed but unknown to Stripe (invented with a leaked
    secret): 400 too, since the event is fetched again from Stripe; nothing is applied."""
    got: list[ProviderEvent] = []
    app = make_app(emu.provider, PLATFORM_SECRET, got.append).test_client()
    body = json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "type": "charge.refunded",
            "created": int(time.time()),
            "data": {"object": {"object": "charge", "id": "ch_1", "payment_intent": "pi_1"}},
        }
    )
    assert app.post(PATH, data=body, headers={"Stripe-Signature": "t=1,v1=00"}).status_code == 400
    assert app.post(PATH, data=body).status_code == 400
    stamp = int(time.time())
    good = hmac.new(PLATFORM_SECRET.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    assert app.post(PATH, data=body, headers={"Stripe-Signature": f"t={stamp},v1={good}"}).status_code == 400
    assert got == []


def test_the_webhook_serves_only_its_own_route(emu: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No static folder: Flask's default would serve ./static of the directory `paybot webhook` starts in."""
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "paybot.db").write_text("the store")
    monkeypatch.chdir(tmp_path)
    app = make_app(emu.provider, PLATFORM_SECRET, lambda _e: None)
    assert [(r.rule, sorted(r.methods or ())) for r in app.url_map.iter_rules()] == [(PATH, ["OPTIONS", "POST"])]
    assert app.test_client().get("/static/paybot.db").status_code == 404


def test_the_signature_is_checked_on_the_raw_bytes_before_anything_is_parsed(
    emu: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    """A body that is not UTF-8 is not "signed, but not an event": unsigned, it is a bad signature; signed (on
    its bytes), it is not an event. Nothing is applied either way."""
    got: list[ProviderEvent] = []
    app = make_app(emu.provider, PLATFORM_SECRET, got.append).test_client()
    body = b'{"id": "evt_1", "object": "event", "type": "charge.refunded", "data": {"object": "\xff\xfe"}}'
    for headers in ({}, {"Stripe-Signature": "t=1,v1=00"}, _signed(body, "whsec_" + "0" * 32)):
        answer = app.post(PATH, data=body, headers=headers)
        assert (answer.status_code, answer.data) == (400, b"bad signature")
    assert "not an event" not in caplog.text
    answer = app.post(PATH, data=body, headers=_signed(body, PLATFORM_SECRET))
    assert (answer.status_code, answer.data) == (400, b"not an event")
    stale = _signed(b"{}", PLATFORM_SECRET, stamp=int(time.time()) - 301)
    assert app.post(PATH, data=b"{}", headers=stale).data == b"bad signature"
    assert got == []


@pytest.mark.emulator_only
def test_the_webhook_takes_a_connect_endpoints_events_signed_with_its_own_secret(emu: Backend, sim: StripeSim) -> None:
    """A Connect endpoint (a connected account's account.updated) is signed with its own secret: with
    STRIPE_CONNECT_WEBHOOK_SECRET set, such an event is fetched as that account and applied; a body signed
    with neither secret is refused."""
    got: list[ProviderEvent] = []
    app = make_app(emu.provider, PLATFORM_SECRET, got.append, connect_secret=CONNECT_SECRET).test_client()
    emu.provider.onboard("2")
    account = emu.provider.account("2")
    sim.onboard(account)
    event = next(e for e in reversed(sim.events) if e.get("account") == account and e["type"] == "account.updated")
    body = json.dumps(event)
    platform_only = make_app(emu.provider, PLATFORM_SECRET, got.append).test_client()
    assert platform_only.post(PATH, data=body, headers=_signed(body, CONNECT_SECRET)).status_code == 400
    assert app.post(PATH, data=body, headers=_signed(body, OTHER_SECRET)).status_code == 400 and got == []
    assert app.post(PATH, data=body, headers=_signed(body, CONNECT_SECRET)).status_code == 200
    assert [(e.kind, e.user_id) for e in got] == [(EventKind.ACCOUNT_READY, "2")]
    # An account paybot did not create (connected to the platform otherwise): its onboarding teaches nothing.
    stranger = emu.provider.client.v1.accounts.create(params={"capabilities": {"transfers": {"requested": True}}})
    sim.onboard(stranger.id)
    body = json.dumps(sim.events[-1])
    answer = app.post(PATH, data=body, headers=_signed(body, CONNECT_SECRET))
    assert (answer.status_code, answer.data, len(got)) == (200, b"ignored", 1)
    # A Connect body that names no account, or claims another account's event: refused.
    bare = json.dumps({k: v for k, v in event.items() if k != "account"})
    assert app.post(PATH, data=bare, headers=_signed(bare, CONNECT_SECRET)).status_code == 400
    other = json.dumps({**event, "account": emu.provider.account("3")})
    assert app.post(PATH, data=other, headers=_signed(other, CONNECT_SECRET)).status_code == 400 and len(got) == 1


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize("key", ["sk_live_abc123", "rk_live_abc123"])
def test_a_live_key_needs_paybot_live(key: str) -> None:
    with pytest.raises(ConfigError, match=r"live key.*PAYBOT_LIVE=1"):
        Settings(stripe_api_key=key).require_stripe()
    assert Settings(stripe_api_key=key, paybot_live=True).require_stripe() == key
    assert Settings(stripe_api_key="sk_test_abc").require_stripe() == "sk_test_abc"
    with pytest.raises(ConfigError, match="not set"):
        Settings().require_stripe()
    with pytest.raises(ConfigError, match="does not look like"):
        Settings(stripe_api_key="pk_test_abc").require_stripe()


@pytest.mark.emulator_only
def test_connect_refunding_released_money_reverses_its_transfer_first(emu: Backend, sim: StripeSim) -> None:
    emu.give_card("1", "pm_card_visa")
    held = emu.provider.pay(
        key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None, reference={"transfer_id": "7"}
    )
    sim.onboard(emu.provider.account("2"))
    emu.provider.release(key="release:t1:1:2", payment_ref=held.ref or "", recipient_id="2", amount=USD5)
    ref = emu.provider.refund(key="return:t1:1:2", payment_ref=held.ref or "", amount=USD5)
    assert emu.provider.refund(key="return:t1:1:2", payment_ref=held.ref or "", amount=USD5) == ref
    [transfer] = sim.of_kind("transfer")
    assert transfer["reversed"] and len(sim.of_kind("transfer_reversal")) == 1
    [p] = emu.provider.payments_since(sim.clock.now() - timedelta(days=1))
    assert p.refunded


def test_an_event_stripe_cannot_explain_is_skipped_not_blocking(emu: Backend, sim: StripeSim) -> None:
    emu.provider.register("1")
    [session] = sim.open_sessions()
    sim.complete_checkout(session["id"], "pm_card_visa")
    sim.objects.pop(sim.objects[session["id"]]["setup_intent"])  # Stripe answers 404 for it now
    emu.give_card("2", "pm_card_authenticationRequired")
    emu.provider.pay(key="pay:t2:2:3", sender_id="2", recipient_id="3", amount=USD5, memo=None)
    [auth] = sim.open_sessions()
    sim.complete_checkout(auth["id"], "pm_card_authenticationRequired")
    events, _ = emu.provider.events(None)
    assert EventKind.CARD_SAVED not in [e.kind for e in events]
    assert (EventKind.PAID, "pay:t2:2:3") in [(e.kind, e.key) for e in events]
    sim.inject("GET /v1/events", 500, times=3)
    with pytest.raises(ProviderTransient):
        emu.provider.events(None)


@pytest.mark.emulator_only
def test_connect_an_account_that_lost_its_transfers_capability_gets_held_money(emu: Backend, sim: StripeSim) -> None:
    emu.give_card("1", "pm_card_visa")
    sim.onboard(emu.provider.account("2"))
    assert emu.provider.can_receive("2")  # remembered as ready
    sim.restrict(emu.provider.account("2"))
    result = emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=USD5, memo=None)
    assert result.outcome == PayOutcome.HELD and len(sim.of_kind("payment_intent")) == 1
    assert not emu.provider.can_receive("2")


@pytest.mark.emulator_only
def test_a_charge_below_stripes_minimum_is_refused_as_too_small(emu: Backend) -> None:
    """Stripe's smallest charge is per currency (£0.30, $0.50); below it the adapter raises AmountTooSmall."""
    emu.give_card("1", "pm_card_visa")
    paid = emu.provider.pay(key="pay:t1:1:2", sender_id="1", recipient_id="2", amount=Money(30, "GBP"), memo=None)
    assert paid.outcome == PayOutcome.HELD
    with pytest.raises(AmountTooSmall, match=r"at least \$0\.50"):
        emu.provider.pay(key="pay:t2:1:2", sender_id="1", recipient_id="2", amount=Money(49, "USD"), memo=None)
    assert emu.provider.min_charge["GBP"] == 30 and emu.provider.min_charge["USD"] == 50


def test_the_emulator_and_the_adapter_know_the_same_minimum_charges() -> None:
    """Both state Stripe's documented minimums; the emulator keeps its own copy (it imports no adapter)."""
    from bot.providers import stripe_provider
    from bot.sims import stripe as stripe_sim

    assert stripe_sim.MIN_CHARGE == stripe_provider.MIN_CHARGE

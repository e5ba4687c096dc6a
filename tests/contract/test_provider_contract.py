"""The payment port's contract, the same assertions for every implementation.

Each test runs on the in-memory fake (tests/support/fakes.py), the embedded sandbox,
the Stripe adapter over real stripe-python to the project's Stripe
emulator on 127.0.0.1, and the Mangopay adapter over the official Mangopay
SDK to the project's Mangopay emulator on 127.0.0.1. A driver per implementation arranges the world (a
card that works, declines or needs authentication; a recipient who can
receive; the person on a hosted page) and reads the implementation's own
records (charges, refunds, money delivered); the port is asserted through
PaymentProvider only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
import stripe
from mangopay.api import APIRequest

from bot.errors import IdempotencyError, InsufficientBalance, ProviderError
from bot.money import Money
from bot.ports import (
    CashOutOutcome,
    EventKind,
    FakeClock,
    PaymentProvider,
    PayoutAccounts,
    PayOutcome,
    PayResult,
    ProviderEvent,
)
from bot.providers.mangopay_provider import MangopayProvider
from bot.providers.sandbox import SandboxProvider
from bot.providers.stripe_provider import StripeProvider
from bot.sims.mangopay import MangopaySim
from bot.sims.runner import MANGOPAY_CARDS, STRIPE_CARDS
from bot.sims.stripe import StripeSim
from tests.support.fakes import FakeProvider
from tests.support.mangopay_people import KnownPeople
from tests.support.records import mangopay_records, stripe_records

USD5 = Money(500, "USD")
SENDER, RECIPIENT, OTHER = "10", "11", "12"  # X user ids


class Driver(Protocol):
    """Arranges the world around one implementation and reads its records."""

    name: str
    clock: FakeClock

    @property
    def provider(self) -> PaymentProvider:
        """The implementation under test."""

    def give_card(self, user: str, card: str) -> None:
        """The user has a saved card: "ok", "declined" or "needs_auth"."""

    def make_receiver(self, user: str) -> None:
        """The user finishes onboarding outside paybot: they can receive from now on."""

    def complete_card_page(self, user: str) -> None:
        """The user saves a working card on the page register() opened."""

    def finish_onboarding(self, user: str) -> None:
        """The user finishes onboarding on the page onboard() opened."""

    def approve(self, user: str) -> int:
        """The sender approves every payment waiting on their approval page; returns how many."""

    def charges(self) -> int:
        """How many successful charges the implementation has made."""

    def refunds(self) -> int:
        """How many refunds the implementation has made."""

    def received(self, user: str) -> int:
        """Minor units the user has received and keeps (paid, or released, and not refunded)."""

    def bank_account(self, user: str) -> None:
        """The user registers a bank account on the provider's (or the operator's) page, where there is one."""


class FakeDriver:
    """tests/support/fakes.py: state in dictionaries, no hosted pages, no events."""

    name = "fake"

    def __init__(self) -> None:
        self.provider = FakeProvider()
        self.clock = FakeClock()

    def give_card(self, user: str, card: str) -> None:
        self.provider.cards[user] = card

    def make_receiver(self, user: str) -> None:
        self.provider.payouts.add(user)

    def complete_card_page(self, user: str) -> None:
        raise AssertionError("the fake opens no card page")

    def finish_onboarding(self, user: str) -> None:
        raise AssertionError("the fake opens no onboarding page")

    def approve(self, user: str) -> int:
        pytest.skip(
            "gap: the fake has no approval page: a NEEDS_AUTH payment can never be approved, so no PAID event follows"
        )

    def charges(self) -> int:
        return len(self.provider.charges)

    def refunds(self) -> int:
        return sum(c["state"] == "refunded" for c in self.provider.charges)

    def received(self, user: str) -> int:
        return sum(
            c["minor"] - c["refunded"] - c["reversed"]
            for c in self.provider.charges
            if c["to"] == user and c["state"] in ("paid", "released")
        )

    def short_of_balance(self, short: bool) -> None:
        self.provider.balance_short = short

    def bank_account(self, user: str) -> None:
        self.provider.banks.add(user)
        self.provider.balances[(user, "USD")] = self.received(user)  # the fake keeps balances apart from charges


class SandboxDriver:
    """bot/providers/sandbox/ on its own SQLite file."""

    name = "sandbox"

    def __init__(self, tmp: Path) -> None:
        self.provider = SandboxProvider(tmp / "sandbox.db")
        self.clock = FakeClock()

    def give_card(self, user: str, card: str) -> None:
        self.provider.set_card(user, card)

    def make_receiver(self, user: str) -> None:
        self.provider.set_payouts(user, True)

    def complete_card_page(self, user: str) -> None:
        raise AssertionError("the sandbox opens no card page")

    def finish_onboarding(self, user: str) -> None:
        raise AssertionError("the sandbox opens no onboarding page")

    def approve(self, user: str) -> int:
        return self.provider.approve(user)

    def charges(self) -> int:
        return len(self.provider.payments())

    def refunds(self) -> int:
        return sum(p["state"] == "refunded" for p in self.provider.payments())

    def received(self, user: str) -> int:
        taken: dict[str, int] = {}  # what refunds and reversals took back from the recipient, per payment
        for m in self.provider.movements():
            taken[m["payment_ref"]] = taken.get(m["payment_ref"], 0) + m["amount_minor"]
        return sum(
            p["amount_minor"] - taken.get(p["ref"], 0)
            for p in self.provider.payments()
            if p["recipient_id"] == user and p["state"] in ("paid", "released")
        )

    def short_of_balance(self, short: bool) -> None:
        self.provider.set_balance_short(short)

    def hold_refunds(self) -> None:
        self.provider.hold_refunds(True)

    def finish_refund(self, ref: str, ok: bool) -> None:
        self.provider.finish_refund(ref, ok)

    def dispute(self, payment_ref: str) -> None:
        self.provider.dispute(payment_ref)

    def bank_account(self, user: str) -> None:
        """The sandbox pays accounts out by itself: no bank account to register."""


class StripeDriver:
    """bot/providers/stripe_provider.py over stripe-python to StripeSim on 127.0.0.1."""

    name = "stripe"

    def __init__(self, sim: StripeSim, tmp: Path) -> None:
        self.sim = sim
        self.clock: FakeClock = sim.clock  # type: ignore[assignment]
        client = stripe.StripeClient(sim.api_key, base_addresses={"api": sim.base}, max_network_retries=0)
        self.stripe = StripeProvider(client, stripe_records(tmp / "stripe.db", self.clock), self.clock)
        self.provider = self.stripe

    def give_card(self, user: str, card: str) -> None:
        self.stripe.attach_card(user, STRIPE_CARDS[card])

    def make_receiver(self, user: str) -> None:
        self.sim.onboard(self.stripe.account(user))

    def complete_card_page(self, user: str) -> None:
        [session] = self.sim.open_sessions(self.stripe.customer(user))
        self.sim.complete_checkout(session["id"], "pm_card_visa")

    def finish_onboarding(self, user: str) -> None:
        self.sim.onboard(self.stripe.account(user))

    def approve(self, user: str) -> int:
        sessions = self.sim.open_sessions(self.stripe.customer(user))
        for session in sessions:
            self.sim.complete_checkout(session["id"], STRIPE_CARDS["needs_auth"])
        return len(sessions)

    def charges(self) -> int:
        return self.sim.succeeded_charges()

    def refunds(self) -> int:
        return len(self.sim.of_kind("refund"))

    def received(self, user: str) -> int:
        accounts = {a["id"] for a in self.sim.of_kind("account") if a["metadata"].get("x_user_id") == user}
        return sum(
            t["amount"] - t["amount_reversed"] for t in self.sim.of_kind("transfer") if t["destination"] in accounts
        )

    def short_of_balance(self, short: bool) -> None:
        if short:  # Stripe's 400 balance_insufficient, kept under the request's key as Stripe may keep it
            self.sim.inject("POST /v1/transfers", 400, times=1000, code="balance_insufficient")
        else:
            self.sim.faults.pop("POST /v1/transfers", None)

    def hold_refunds(self) -> None:
        self.sim.hold_refunds(1000)

    def finish_refund(self, ref: str, ok: bool) -> None:
        self.sim.settle_refund(ref, "succeeded" if ok else "failed")

    def dispute(self, payment_ref: str) -> None:
        [pi] = [p for p in self.sim.of_kind("payment_intent") if p["id"] == payment_ref]
        self.sim.dispute(pi["latest_charge"])

    def bank_account(self, user: str) -> None:
        """Stripe takes the bank account on its own onboarding pages and pays accounts out by itself."""


class MangopayDriver:
    """bot/providers/mangopay/ over the official SDK to MangopaySim on 127.0.0.1."""

    name = "mangopay"

    def __init__(self, sim: MangopaySim, tmp: Path) -> None:
        self.sim = sim
        self.clock: FakeClock = sim.clock  # type: ignore[assignment]
        handler = APIRequest(
            client_id=sim.client_id,
            apikey=sim.api_key,
            api_url=sim.base + "/v2.01/",
            api_sandbox_url=sim.base + "/v2.01/",
            sandbox=False,
        )
        self.mangopay = MangopayProvider(
            handler,
            mangopay_records(tmp / "mangopay.db", self.clock),
            self.clock,
            card_page_url=sim.base + "/_sim/card-page/{id}",
            retries=0,
            people=KnownPeople(),
        )
        self.provider = self.mangopay

    def give_card(self, user: str, card: str) -> None:
        self.provider.register(user)
        self.complete_card_page(user, MANGOPAY_CARDS[card])
        assert self.provider.has_card(user)

    def make_receiver(self, user: str) -> None:
        if not self.provider.onboard(user).ready:
            self.finish_onboarding(user)

    def _author(self, user: str) -> str:
        author = self.mangopay._row(user).mangopay_user_id
        assert author is not None
        return author

    def complete_card_page(self, user: str, card: str = MANGOPAY_CARDS["ok"]) -> None:
        [page] = self.sim.open_card_pages(self._author(user))
        self.sim.complete_card_page(page["Id"], card)

    def finish_onboarding(self, user: str) -> None:
        author = self._author(user)
        if self.sim.open_sca_sessions("ENROLMENT", author):  # an Owner enrols in SCA first, then gets the check
            self.sim.enrol(author)
            assert not self.provider.onboard(user).ready
        [session] = self.sim.open_kyc(author)
        self.sim.pass_kyc(session["Id"])
        self.sim.pass_wallet_sca(author)  # they opened their account once (180 days of wallet access)

    def approve(self, user: str) -> int:
        pages = self.sim.open_3ds(self._author(user))
        for page in pages:
            self.sim.complete_3ds(page["Id"])
        transfers = self.sim.open_sca(self._author(user))
        for transfer in transfers:
            self.sim.approve_sca(transfer["Id"])
        return len(pages) + len(transfers)

    def charges(self) -> int:
        return self.sim.succeeded_payins()

    def refunds(self) -> int:
        return sum(
            1
            for r in self.sim.of_kind("refund")
            if r["Status"] == "SUCCEEDED" and r["InitialTransactionType"] == "PAYIN"
        )

    def received(self, user: str) -> int:
        author = self.mangopay._row(user).mangopay_user_id
        return sum(w["Balance"]["Amount"] for w in self.sim.of_kind("wallet") if author in w["Owners"])

    def bank_account(self, user: str) -> None:
        self.sim.register_bank_account(self._author(user))


@pytest.fixture(params=["fake", "sandbox", "stripe", "mangopay"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    """One implementation of the port, empty, with its driver."""
    if request.param == "fake":
        yield FakeDriver()
    elif request.param == "sandbox":
        sandbox = SandboxDriver(tmp_path)
        yield sandbox
        sandbox.provider.close()
    elif request.param == "stripe":
        sim = StripeSim(FakeClock())
        sim.start()
        driver = StripeDriver(sim, tmp_path)
        yield driver
        driver.stripe.close()
        sim.stop()
    else:
        mangopay = MangopaySim(FakeClock())
        mangopay.start()
        mp = MangopayDriver(mangopay, tmp_path)
        yield mp
        mp.mangopay.close()
        mangopay.stop()


def pay(
    world: Driver,
    key: str = "pay:1",
    *,
    sender: str = SENDER,
    to: str = RECIPIENT,
    amount: Money = USD5,
    memo: str | None = "pizza",
) -> PayResult:
    return world.provider.pay(
        key=key, sender_id=sender, recipient_id=to, amount=amount, memo=memo, reference={"transfer_id": "1"}
    )


def payments(world: Driver) -> list[tuple[str, str, int, bool, bool, bool]]:
    """What payments_since reports, as (key, ref, amount, charged, delivered, refunded)."""
    since = world.clock.now() - timedelta(days=1)
    return sorted(
        (p.key, p.ref, p.amount_minor, p.charged, p.delivered, p.refunded) for p in world.provider.payments_since(since)
    )


# ---------------------------------------------------------------- pay


def test_pay_to_a_recipient_who_can_receive_is_paid_once_per_key(world: Driver) -> None:
    world.give_card(SENDER, "ok")
    world.make_receiver(RECIPIENT)
    assert world.provider.can_receive(RECIPIENT)
    first = pay(world)
    assert first.outcome == PayOutcome.PAID and first.ref
    assert pay(world) == first
    assert world.charges() == 1 and world.received(RECIPIENT) == 500
    assert payments(world) == [("pay:1", first.ref, 500, True, True, False)]


def test_pay_to_a_recipient_who_cannot_receive_is_held_then_released_once(world: Driver) -> None:
    world.give_card(SENDER, "ok")
    assert not world.provider.can_receive(RECIPIENT)
    held = pay(world)
    assert held.outcome == PayOutcome.HELD and held.ref
    assert world.charges() == 1 and world.received(RECIPIENT) == 0
    assert payments(world) == [("pay:1", held.ref, 500, True, False, False)]
    world.make_receiver(RECIPIENT)
    release = dict(key="release:1", payment_ref=held.ref, recipient_id=RECIPIENT, amount=USD5)
    ref = world.provider.release(**release)  # type: ignore[arg-type]
    assert ref and world.received(RECIPIENT) == 500
    assert world.provider.release(**release) == ref  # type: ignore[arg-type]
    assert world.charges() == 1 and world.received(RECIPIENT) == 500
    assert payments(world) == [("pay:1", held.ref, 500, True, True, False)]


def test_the_first_answer_stands_when_the_recipient_onboards_between_two_attempts(world: Driver) -> None:
    """Same key, same arguments: the held payment, not a second (direct) one."""
    world.give_card(SENDER, "ok")
    held = pay(world)
    world.make_receiver(RECIPIENT)
    assert pay(world) == held and held.outcome == PayOutcome.HELD
    assert world.charges() == 1 and world.received(RECIPIENT) == 0


@pytest.mark.parametrize("paid", [False, True], ids=["return_of_held_money", "operators_refund_of_paid_money"])
def test_refund_gives_a_ref_once_per_key(world: Driver, paid: bool) -> None:
    world.give_card(SENDER, "ok")
    if paid:
        world.make_receiver(RECIPIENT)
    result = pay(world)
    assert result.outcome == (PayOutcome.PAID if paid else PayOutcome.HELD) and result.ref
    refund = dict(key="refund:1" if paid else "return:1", payment_ref=result.ref, amount=USD5)
    ref = world.provider.refund(**refund)  # type: ignore[arg-type]
    assert ref and world.refunds() == 1
    assert world.provider.refund(**refund) == ref  # type: ignore[arg-type]
    assert world.refunds() == 1 and world.charges() == 1 and world.received(RECIPIENT) == 0
    # `delivered` of refunded money differs (Stripe: True for a reversed destination charge; the others: False)
    # and reconciliation does not read it for a returned transfer.
    assert [(k, r, m, c, f) for k, r, m, c, _, f in payments(world)] == [("pay:1", result.ref, 500, True, True)]


def test_a_declining_card_is_declined_with_a_reason_and_nothing_charged(world: Driver) -> None:
    world.give_card(SENDER, "declined")
    world.make_receiver(RECIPIENT)
    result = pay(world)
    assert result.outcome == PayOutcome.DECLINED and result.reason
    assert pay(world) == result
    assert world.charges() == 0 and world.received(RECIPIENT) == 0 and payments(world) == []


def test_no_card_is_no_card(world: Driver) -> None:
    assert not world.provider.has_card(SENDER)
    result = pay(world)
    assert result.outcome == PayOutcome.NO_CARD and result.ref is None
    assert world.charges() == 0 and payments(world) == []


def test_a_card_that_needs_authentication_gives_the_approval_page(world: Driver) -> None:
    world.give_card(SENDER, "needs_auth")
    result = pay(world)
    assert result.outcome == PayOutcome.NEEDS_AUTH and result.url and result.reason
    assert pay(world) == result
    assert world.charges() == 0 and payments(world) == []


def test_an_approved_payment_completes_with_one_paid_event(world: Driver) -> None:
    """The PAID event may come more than once (Stripe sends two), but every copy says the same."""
    world.give_card(SENDER, "needs_auth")
    _, cursor = world.provider.events(None)
    assert pay(world).outcome == PayOutcome.NEEDS_AUTH
    assert world.approve(SENDER) == 1
    events, cursor = world.provider.events(cursor)
    paid = {(e.kind, e.key, e.ref, e.outcome) for e in events if e.kind == EventKind.PAID}
    assert len(paid) == 1
    [(_, key, ref, outcome)] = paid
    assert (key, outcome) == ("pay:1", PayOutcome.HELD) and ref
    assert world.provider.lookup("pay:1", SENDER) == PayResult(PayOutcome.HELD, ref)
    assert world.charges() == 1
    again, _ = world.provider.events(cursor)
    assert [e for e in again if e.kind == EventKind.PAID] == []


def test_lookup_of_a_payment_waiting_for_approval_closes_its_page(world: Driver) -> None:
    if world.name == "mangopay":
        pytest.skip(
            "gap: Mangopay has no call that closes a 3DS page; it lapses by itself after 15 minutes "
            "(PAGE_LIFETIME), long before paybot looks a payment up (24 hours)"
        )
    world.give_card(SENDER, "needs_auth")
    pay(world)
    found = world.provider.lookup("pay:1", SENDER)
    assert found is not None and found.outcome == PayOutcome.NEEDS_AUTH
    assert world.approve(SENDER) == 0 and world.charges() == 0


def test_min_charge_is_minor_units_per_currency(world: Driver) -> None:
    """Read only; empty when the implementation charges any amount."""
    minimums = dict(world.provider.min_charge)
    assert all(len(c) == 3 and c.isupper() and isinstance(m, int) and m > 0 for c, m in minimums.items())


# ---------------------------------------------------------------- lookup


@pytest.mark.parametrize("receives", [True, False], ids=["paid", "held"])
def test_lookup_finds_the_payment_of_a_key(world: Driver, receives: bool) -> None:
    world.give_card(SENDER, "ok")
    if receives:
        world.make_receiver(RECIPIENT)
    result = pay(world)
    found = world.provider.lookup("pay:1", SENDER)
    assert found is not None and (found.outcome, found.ref) == (result.outcome, result.ref)


def test_lookup_of_an_unknown_key_is_none(world: Driver) -> None:
    world.give_card(SENDER, "ok")
    pay(world)
    assert world.provider.lookup("pay:never", SENDER) is None


def test_lookup_of_a_key_that_made_no_payment_is_none(world: Driver) -> None:
    """A release key names no payment of the sender's."""
    world.give_card(SENDER, "ok")
    held = pay(world)
    world.make_receiver(RECIPIENT)
    world.provider.release(key="release:1", payment_ref=held.ref or "", recipient_id=RECIPIENT, amount=USD5)
    assert world.provider.lookup("release:1", SENDER) is None


# ---------------------------------------------------------------- one key, other parameters


OTHER_PAY: dict[str, dict[str, Any]] = {
    "amount": {"amount": Money(5000, "USD")},
    "recipient": {"to": OTHER},
    "memo": {"memo": "not pizza"},
}


@pytest.mark.parametrize("change", list(OTHER_PAY))
def test_a_pay_key_with_other_parameters_is_refused(world: Driver, change: str) -> None:
    """The same key for another amount, recipient or memo is refused, never answered with the first result."""
    world.give_card(SENDER, "ok")
    pay(world)
    with pytest.raises(IdempotencyError):
        pay(world, **OTHER_PAY[change])
    assert world.charges() == 1


def test_a_release_key_with_another_amount_is_refused(world: Driver) -> None:
    world.give_card(SENDER, "ok")
    held = pay(world)
    world.make_receiver(RECIPIENT)
    world.provider.release(key="release:1", payment_ref=held.ref or "", recipient_id=RECIPIENT, amount=USD5)
    with pytest.raises(IdempotencyError):
        world.provider.release(
            key="release:1", payment_ref=held.ref or "", recipient_id=RECIPIENT, amount=Money(400, "USD")
        )
    assert world.received(RECIPIENT) == 500


def test_a_refund_key_with_another_amount_is_refused(world: Driver) -> None:
    world.give_card(SENDER, "ok")
    held = pay(world, amount=Money(1000, "USD"))
    world.provider.refund(key="return:1", payment_ref=held.ref or "", amount=Money(1000, "USD"))
    with pytest.raises(IdempotencyError):
        world.provider.refund(key="return:1", payment_ref=held.ref or "", amount=Money(900, "USD"))
    assert world.refunds() == 1


def test_a_pay_key_used_again_for_a_refund_is_refused(world: Driver) -> None:
    world.give_card(SENDER, "ok")
    held = pay(world)
    with pytest.raises(IdempotencyError):
        world.provider.refund(key="pay:1", payment_ref=held.ref or "", amount=USD5)
    assert world.refunds() == 0


# ---------------------------------------------------------------- events


def _once(events: list[ProviderEvent], kind: EventKind, user: str) -> None:
    assert [(e.kind, e.user_id) for e in events if e.kind == kind] == [(kind, user)]


def test_a_card_saved_on_the_page_is_one_card_saved_event(world: Driver) -> None:
    _, cursor = world.provider.events(None)
    registration = world.provider.register(SENDER)
    if registration.url is None:
        assert world.provider.has_card(SENDER) and not world.provider.events(cursor)[0]
        pytest.skip(f"{world.name}: register saves the card at once (no page), so there is no CARD_SAVED event")
    assert not world.provider.has_card(SENDER)
    world.complete_card_page(SENDER)
    events, cursor = world.provider.events(cursor)
    _once(events, EventKind.CARD_SAVED, SENDER)
    assert world.provider.has_card(SENDER)
    assert [e for e in world.provider.events(cursor)[0] if e.kind == EventKind.CARD_SAVED] == []


def test_an_account_that_becomes_ready_is_one_account_ready_event(world: Driver) -> None:
    _, cursor = world.provider.events(None)
    onboarding = world.provider.onboard(RECIPIENT)
    if onboarding.ready:
        assert world.provider.can_receive(RECIPIENT) and not world.provider.events(cursor)[0]
        pytest.skip(
            f"{world.name}: onboard makes the recipient ready at once (no page), so there is no ACCOUNT_READY event"
        )
    assert onboarding.url and not world.provider.can_receive(RECIPIENT)
    world.finish_onboarding(RECIPIENT)
    events, cursor = world.provider.events(cursor)
    _once(events, EventKind.ACCOUNT_READY, RECIPIENT)
    assert world.provider.can_receive(RECIPIENT) and world.provider.onboard(RECIPIENT).ready
    assert [e for e in world.provider.events(cursor)[0] if e.kind == EventKind.ACCOUNT_READY] == []


# ---------------------------------------------------------------- money after the payment, in parts
#
# A driver arranges these with methods of its own, where its implementation can play them (the tests say what
# is skipped and why): short_of_balance(bool) (releases refused: the platform's balance cannot cover them),
# hold_refunds() then finish_refund(ref, ok) (refunds that stay pending, then go through or fail), and
# dispute(payment_ref) (the payer's bank takes a payment back from the platform). `received` counts what the
# recipient keeps after partial refunds and reversals.


def _can(world: Any, what: str, why: str) -> Any:
    """The driver's way to arrange `what`, or a skip that says the gap."""
    found = getattr(world, what, None)
    if found is None:
        pytest.skip(f"gap: {world.name}: {why}")
    return found


def _refund(world: Driver, key: str, ref: str | None, minor: int) -> Any:
    return world.provider.refund(key=key, payment_ref=ref or "", amount=Money(minor, "USD"))


def _refunded_minor(world: Driver) -> tuple[bool, int | None]:
    [p] = world.provider.payments_since(world.clock.now() - timedelta(days=1))
    return p.refunded, p.refunded_minor


@pytest.mark.parametrize("released", [False, True], ids=["paid", "released"])
def test_partial_refunds_each_once_per_key_up_to_the_payment(world: Driver, released: bool) -> None:
    """Several refunds of one payment, each with its own key and said once however often asked, up to the
    payment's amount; the recipient gives back their share of each; beyond the amount: refused."""
    world.give_card(SENDER, "ok")
    if not released:
        world.make_receiver(RECIPIENT)
    result = pay(world)
    if released:
        world.make_receiver(RECIPIENT)
        world.provider.release(key="release:1", payment_ref=result.ref or "", recipient_id=RECIPIENT, amount=USD5)
    first = _refund(world, "refund:1", result.ref, 200)
    assert first.ref and not first.pending and _refund(world, "refund:1", result.ref, 200) == first
    assert world.received(RECIPIENT) == 300 and _refunded_minor(world) == (False, 200)
    second = _refund(world, "refund:1:2", result.ref, 300)
    assert second.ref not in ("", first.ref) and _refund(world, "refund:1:2", result.ref, 300) == second
    assert world.received(RECIPIENT) == 0 and _refunded_minor(world) == (True, 500)
    with pytest.raises(ProviderError):
        _refund(world, "refund:1:3", result.ref, 1)
    assert world.charges() == 1


@pytest.mark.parametrize("released", [False, True], ids=["paid", "released"])
def test_a_reversal_takes_the_recipients_money_back_once_per_key(world: Driver, released: bool) -> None:
    """The platform takes back what the recipient holds (after a dispute, say); the sender is not refunded."""
    if world.name == "mangopay":
        with pytest.raises(ProviderError, match="not built on Mangopay"):
            world.provider.reverse(key="reverse:1", payment_ref="1", amount=USD5)
        pytest.skip("gap: mangopay: reversals are not built (the money would sit unseen in the sender's wallet)")
    world.give_card(SENDER, "ok")
    if not released:
        world.make_receiver(RECIPIENT)
    result = pay(world)
    if released:
        world.make_receiver(RECIPIENT)
        world.provider.release(key="release:1", payment_ref=result.ref or "", recipient_id=RECIPIENT, amount=USD5)
    _refund(world, "refund:1", result.ref, 100)
    # asked for more than they hold (500 of the 400 left with them): what they hold
    reverse = dict(key="reverse:1", payment_ref=result.ref or "", amount=Money(500, "USD"))
    ref = world.provider.reverse(**reverse)  # type: ignore[arg-type]
    assert ref and world.provider.reverse(**reverse) == ref  # type: ignore[arg-type]
    assert world.received(RECIPIENT) == 0 and _refunded_minor(world) == (False, 100)
    with pytest.raises(ProviderError):  # the recipient holds nothing of it any more
        world.provider.reverse(key="reverse:1:2", payment_ref=result.ref or "", amount=Money(100, "USD"))
    last = _refund(world, "refund:1:2", result.ref, 400)  # the platform gives the rest to the sender
    assert last.ref and _refunded_minor(world) == (True, 500) and world.charges() == 1


def test_a_release_the_platforms_balance_cannot_cover_is_refused_and_the_money_stays_held(world: Driver) -> None:
    """InsufficientBalance: nothing moved. The provider may keep that answer under the key, so the next
    attempt comes with a new key, and goes through once the balance allows."""
    short = _can(world, "short_of_balance", "the driver cannot make the platform's balance short")
    world.give_card(SENDER, "ok")
    held = pay(world)
    world.make_receiver(RECIPIENT)
    short(True)
    release = dict(payment_ref=held.ref or "", recipient_id=RECIPIENT, amount=USD5)
    with pytest.raises(InsufficientBalance):
        world.provider.release(key="release:1", **release)  # type: ignore[arg-type]
    assert world.received(RECIPIENT) == 0
    assert [(c, d) for _, _, _, c, d, _ in payments(world)] == [(True, False)]
    short(False)
    ref = world.provider.release(key="release:1:2", **release)  # type: ignore[arg-type]
    assert ref and world.received(RECIPIENT) == 500 and world.charges() == 1


@pytest.mark.parametrize("ok", [True, False], ids=["goes_through", "fails"])
def test_a_pending_refund_ends_with_its_event(world: Driver, ok: bool) -> None:
    """A refund the provider takes but does not finish at once is pending; its end is an event with the
    refund's key and reference (possibly twice, each copy the same). A failed one is not refunded money."""
    hold = _can(world, "hold_refunds", "refunds are always finished at once, with no event")
    world.give_card(SENDER, "ok")
    world.make_receiver(RECIPIENT)
    paid = pay(world)
    _, cursor = world.provider.events(None)
    hold()
    settled = _refund(world, "refund:1", paid.ref, 500)
    assert settled.pending and _refund(world, "refund:1", paid.ref, 500) == settled
    assert _refunded_minor(world) == (True, 500)  # in progress counts
    world.finish_refund(settled.ref, ok)  # type: ignore[attr-defined]
    events, cursor = world.provider.events(cursor)
    ended = {
        (e.kind, e.key, e.settle_ref, e.ref)
        for e in events
        if e.kind in (EventKind.REFUND_SETTLED, EventKind.REFUND_FAILED)
    }
    kind = EventKind.REFUND_SETTLED if ok else EventKind.REFUND_FAILED
    assert ended == {(kind, "refund:1", settled.ref, paid.ref)}
    assert all(e.reason for e in events if e.kind == EventKind.REFUND_FAILED)
    assert _refunded_minor(world) == ((True, 500) if ok else (False, 0))
    assert [
        e for e in world.provider.events(cursor)[0] if e.kind in (EventKind.REFUND_SETTLED, EventKind.REFUND_FAILED)
    ] == []


def test_a_dispute_that_takes_the_money_back_is_a_funds_withdrawn_event(world: Driver) -> None:
    dispute = _can(world, "dispute", "no disputes and no events")
    world.give_card(SENDER, "ok")
    world.make_receiver(RECIPIENT)
    paid = pay(world)
    _, cursor = world.provider.events(None)
    dispute(paid.ref)
    events, _ = world.provider.events(cursor)
    withdrawn = {(e.ref, e.amount_minor, e.settle_ref) for e in events if e.kind == EventKind.FUNDS_WITHDRAWN}
    assert len(withdrawn) == 1 and next(iter(withdrawn))[:2] == (paid.ref, 500)
    assert world.received(RECIPIENT) == 500  # the recipient keeps it until the operator reverses it


# ---------------------------------------------------------------- cash-outs


def test_a_cash_out_pays_what_the_recipient_holds_once_per_key_or_is_the_providers_own(world: Driver) -> None:
    """A wallet provider pays the recipient's whole balance out once per key (asked again, the same payout), and
    then has nothing left to pay, but only to an account the user confirmed: asked without it, it names the
    account and pays nothing; a Connect provider pays accounts out by itself. Nobody's stranger gets nothing."""
    world.give_card(SENDER, "ok")
    world.make_receiver(RECIPIENT)
    assert pay(world).outcome == PayOutcome.PAID
    world.bank_account(RECIPIENT)
    unconfirmed = world.provider.cash_out(key="cashout:1", user_id=RECIPIENT, currency="USD")
    assert unconfirmed.outcome in (CashOutOutcome.NEW_ACCOUNT, CashOutOutcome.AUTOMATIC)
    confirmed = PayoutAccounts(frozenset([unconfirmed.account_ref] if unconfirmed.account_ref else []))
    if unconfirmed.outcome == CashOutOutcome.NEW_ACCOUNT:
        assert unconfirmed.account_ref and unconfirmed.last4 and unconfirmed.amount is None
        assert (
            world.provider.cash_out(
                key="cashout:1",
                user_id=RECIPIENT,
                currency="USD",
                accounts=PayoutAccounts(frozenset({"another account"})),
            ).outcome
            == CashOutOutcome.NEW_ACCOUNT
        )
    first = world.provider.cash_out(key="cashout:1", user_id=RECIPIENT, currency="USD", accounts=confirmed)
    assert first.outcome in (CashOutOutcome.STARTED, CashOutOutcome.AUTOMATIC)
    if first.outcome == CashOutOutcome.STARTED:
        assert first.account_ref == unconfirmed.account_ref
    again = world.provider.cash_out(key="cashout:1", user_id=RECIPIENT, currency="USD", accounts=confirmed)
    assert (again.outcome, again.amount, again.ref) == (first.outcome, first.amount, first.ref)
    later = world.provider.cash_out(key="cashout:2", user_id=RECIPIENT, currency="USD", accounts=confirmed)
    if first.outcome == CashOutOutcome.STARTED:
        assert (first.amount, bool(first.ref), later.outcome) == (USD5, True, CashOutOutcome.NOTHING)
    else:
        assert later.outcome == CashOutOutcome.AUTOMATIC and world.received(RECIPIENT) == 500
    stranger = world.provider.cash_out(key="cashout:3", user_id=OTHER, currency="USD")
    assert stranger.outcome in (CashOutOutcome.NOTHING, CashOutOutcome.AUTOMATIC)

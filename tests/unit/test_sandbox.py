"""The sandbox provider: cards, holds, and idempotency keys, in its own SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import IdempotencyError, ProviderError, ProviderTransient
from bot.money import Money
from bot.ports import PayOutcome, Registration
from bot.providers.sandbox import SandboxProvider

FIVE = Money(500, "USD")


@pytest.fixture
def sandbox(tmp_path: Path) -> SandboxProvider:
    sb = SandboxProvider(tmp_path / "sandbox.db")
    sb.set_card("bob", "ok")
    sb.set_payouts("alice", True)
    return sb


def test_paid_held_declined_needs_auth_no_card(sandbox: SandboxProvider) -> None:
    """The outcome follows the sender's card and whether the recipient can receive."""
    sandbox.set_card("dave", "declined")
    sandbox.set_card("erin", "needs_auth")
    pay = lambda key, s, r: sandbox.pay(key=key, sender_id=s, recipient_id=r, amount=FIVE, memo=None)  # noqa: E731
    assert pay("k1", "bob", "alice").outcome == PayOutcome.PAID
    assert pay("k2", "bob", "carol").outcome == PayOutcome.HELD
    assert pay("k3", "dave", "alice").outcome == PayOutcome.DECLINED
    assert pay("k4", "erin", "alice").outcome == PayOutcome.NEEDS_AUTH
    assert pay("k5", "nobody", "alice").outcome == PayOutcome.NO_CARD
    assert [(p["recipient_id"], p["state"]) for p in sandbox.payments()] == [("alice", "paid"), ("carol", "held")]


def test_same_key_same_result_once(sandbox: SandboxProvider) -> None:
    """Repeating a call with its key returns the first result and charges once."""
    first = sandbox.pay(key="pay:1", sender_id="bob", recipient_id="alice", amount=FIVE, memo="x")
    again = sandbox.pay(key="pay:1", sender_id="bob", recipient_id="alice", amount=FIVE, memo="x")
    assert first == again
    assert len(sandbox.payments()) == 1


def test_same_key_other_params_is_refused(sandbox: SandboxProvider) -> None:
    sandbox.pay(key="pay:1", sender_id="bob", recipient_id="alice", amount=FIVE, memo=None)
    with pytest.raises(IdempotencyError):
        sandbox.pay(key="pay:1", sender_id="bob", recipient_id="alice", amount=Money(5000, "USD"), memo=None)


def test_a_timeout_after_the_work_is_recovered_by_the_key(sandbox: SandboxProvider) -> None:
    """When the answer is lost, retrying with the same key finds the payment made, not a new one."""
    sandbox.fail_next()
    with pytest.raises(ProviderTransient):
        sandbox.pay(key="pay:9", sender_id="bob", recipient_id="alice", amount=FIVE, memo=None)
    result = sandbox.pay(key="pay:9", sender_id="bob", recipient_id="alice", amount=FIVE, memo=None)
    assert result.outcome == PayOutcome.PAID
    assert len(sandbox.payments()) == 1


def test_release_and_refund_of_held_money(sandbox: SandboxProvider) -> None:
    """Held money is released once the recipient onboards; refunded money cannot be released."""
    held = sandbox.pay(key="p", sender_id="bob", recipient_id="carol", amount=FIVE, memo=None)
    with pytest.raises(ProviderError, match="cannot receive"):
        sandbox.release(key="r", payment_ref=held.ref or "", recipient_id="carol", amount=FIVE)
    assert sandbox.onboard("carol").ready
    ref = sandbox.release(key="r2", payment_ref=held.ref or "", recipient_id="carol", amount=FIVE)
    assert sandbox.release(key="r2", payment_ref=held.ref or "", recipient_id="carol", amount=FIVE) == ref
    assert sandbox.payments()[0]["state"] == "released"
    other = sandbox.pay(key="p2", sender_id="bob", recipient_id="dora", amount=FIVE, memo=None)
    sandbox.refund(key="x", payment_ref=other.ref or "", amount=FIVE)
    sandbox.set_payouts("dora", True)
    with pytest.raises(ProviderError, match="refunded"):
        sandbox.release(key="r3", payment_ref=other.ref or "", recipient_id="dora", amount=FIVE)


def test_register_saves_a_working_card(sandbox: SandboxProvider) -> None:
    assert not sandbox.has_card("zoe")
    assert sandbox.register("zoe") == Registration()
    assert sandbox.has_card("zoe")
    assert sandbox.register("zoe") == Registration(already=True)


def test_records_live_in_their_own_file(tmp_path: Path, sandbox: SandboxProvider) -> None:
    """A new provider object on the same file sees the same records (a restart)."""
    sandbox.pay(key="p", sender_id="bob", recipient_id="alice", amount=FIVE, memo=None)
    again = SandboxProvider(tmp_path / "sandbox.db")
    assert len(again.payments()) == 1 and again.can_receive("alice")

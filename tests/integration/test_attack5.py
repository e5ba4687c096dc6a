"""Attack 5: CASHOUT on Mangopay and around it. Each test failed on the code it was written against (b5365b7),
showing a break of paybot's promise or of the money's integrity (the docstring of each tells the attack); each
now pins its fix: a refund never takes money a recipient keeps for others, a sender holding money for others is
not made an Owner by a cash-out, wind-down counts cash-outs in flight and tells wallet holders to cash out, and
any currency held may be taken out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cashout_world import ALICE, BOB, MangopayWorld, cashout, dms_to, rows

CAROL, DAVE = "12", "13"


@pytest.fixture
def mw(tmp_path: Path) -> Iterator[MangopayWorld]:
    world = MangopayWorld(tmp_path)
    world.give_card(BOB)
    yield world
    world.close()


def _bob_wallet(mw: MangopayWorld) -> dict[str, Any]:
    [wallet] = [x for x in mw.sim.objects.values() if x["_kind"] == "wallet" and mw.author(BOB) in x["Owners"]]
    return wallet


def test_a_senders_cashout_makes_him_an_owner_and_takes_the_held_payment_away_from_its_recipient(
    mw: MangopayWorld,
) -> None:
    """bob sent carol $5.00 (held for her in bob's wallet) and has $3.00 of his own there. He DMs CASHOUT to take
    his $3.00: paybot makes him a Mangopay OWNER on the spot (before any identity check). When carol then claims,
    the held $5.00 can no longer be released ("the sender is an Owner") and goes back to bob's card: bob's yes
    to "send 5 to @carol" ends with carol not paid, because of an unrelated command of bob's."""
    mw.pay(to="carol")
    assert mw.statuses() == ["held"]
    with mw.sim.lock:
        _bob_wallet(mw)["Balance"]["Amount"] += 300  # as in test_cashout: $3.00 of bob's own
    cashout(mw, "bob")
    assert "still waiting for their recipients" in dms_to(mw, BOB)[-1]
    # carol claims and verifies her identity
    mw.svc.on_dm(mw.posts.dm("carol", "claim"))
    mw.sim.enrol(mw.author(CAROL))  # the SCA enrolment the CLAIM's answer linked
    mw.svc.provider_events()  # ENROLLED: the identity check is sent
    [session] = mw.sim.open_kyc(mw.author(CAROL))
    mw.sim.pass_kyc(session["Id"])
    mw.svc.provider_events()
    mw.svc.resume()
    assert mw.statuses() == ["completed"], "carol's held payment was sent back instead of released to her"
    assert mw.wallet(CAROL) == 500


@pytest.mark.parametrize("answered", [False, True], ids=["not_answered", "on_its_way"])
def test_wind_down_says_nothing_is_left_while_a_cash_out_is_in_flight(mw: MangopayWorld, answered: bool) -> None:
    """alice received $5.00 and DMs CASHOUT. Either Mangopay does not answer the payout (the row is committed,
    nothing told), or the payout is on its way and the bank has not settled it. The operator runs `paybot
    wind-down`: it reports nothing left (exit 0), so the worker may be stopped for good: the unanswered cash-out
    is never made nor told, and a payout the bank then refuses puts the money back in a wallet nobody can empty
    any more, untold. Wind-down should count cash-outs in flight as left, as it counts executing transfers."""
    mw.make_receiver(ALICE)
    mw.pay()
    mw.sim.register_bank_account(mw.author(ALICE))
    if not answered:
        mw.sim.inject("POST /payouts/bankwire", 503, times=8)  # no payout made, four keys tried: will retry
    cashout(mw)
    assert [r[1] for r in rows(mw)] == ["created"]
    report = mw.svc.wind_down()
    mw.deliver()  # the worker sends what is queued
    report = mw.svc.wind_down()
    left = [r for r in rows(mw) if r[1] == "created"]
    assert left, "the cash-out is still in flight"
    assert not report.done, f"wind-down reports done with a cash-out in flight: {left}"


def test_wind_down_says_nothing_is_left_while_recipients_wallets_hold_their_money(mw: MangopayWorld) -> None:
    """On Mangopay what alice received sits in her wallet, a Mangopay user paybot made with placeholder identity
    data: only paybot's CASHOUT takes it out. `paybot wind-down` ("closes paybot for good without losing anyone's
    money ... exits 1 until nothing is [left]") reports done at once, and alice is never told to cash out
    before paybot closes. It should report the balances still in wallets (or at least tell their holders)."""
    mw.make_receiver(ALICE)
    mw.pay()
    assert mw.wallet(ALICE) == 500
    report = mw.svc.wind_down()
    mw.deliver()
    report = mw.svc.wind_down()
    told = [t for t in dms_to(mw, ALICE) if "CASHOUT" in t.upper() or "RETRAIT" in t.upper()]
    assert not report.done or told, "wind-down is done while alice's $5.00 sits in a wallet only paybot can empty"


def test_money_received_in_a_currency_the_operator_no_longer_takes_can_never_be_cashed_out(mw: MangopayWorld) -> None:
    """alice received €5.00 while EUR was taken. The operator then narrows PAYBOT_CURRENCIES to USD (new
    payments only, one would think). alice's CASHOUT EUR is refused ("I don't take EUR here") and nothing else
    takes the money out of her wallet: it is stuck. Taking money out is not taking a new payment: a cash-out
    should be allowed in any currency the user holds."""
    mw.make_receiver(ALICE)
    mw.pay(amount="5€")
    assert mw.statuses() == ["completed"] and mw.wallet(ALICE) == 500
    mw.sim.register_bank_account(mw.author(ALICE))
    mw.svc.enabled = ("USD",)
    cashout(mw, text="cashout eur")
    assert dms_to(mw, ALICE)[-1].startswith("€5.00 is on its way"), dms_to(mw, ALICE)[-1]


def test_an_operator_refund_after_a_cash_out_takes_the_money_a_recipient_holds_for_someone_else(
    mw: MangopayWorld,
) -> None:
    """alice (verified) received $5.00 from bob, and sent $5.00 to dave, held for dave in alice's own wallet
    ($10.00 in it). alice cashes out: her $5.00 goes to her bank, dave's $5.00 stays (kept). The operator then
    refunds bob's payment (`paybot refund`): the refund "takes back" $5.00 from alice's wallet, which now holds
    only the money held for dave, and succeeds. dave's held money is gone from the wallet that must return it:
    when the claim window ends its return to alice's card fails, the transfer is stuck in held, and alice's card
    is never given back the $5.00 she was charged for a payment dave never received. A refund must take back only
    what the recipient still holds of that payment (here nothing: she cashed it out), never money kept for a
    release or a return."""
    mw.make_receiver(ALICE)
    mw.pay()  # bob -> alice, completed: alice's wallet 500
    mw.give_card(ALICE)
    mw.svc.on_mention(mw.posts.mention("alice", "@paybot send 5 to @dave"))
    mw.deliver()
    mw.svc.on_dm(mw.posts.dm("alice", "yes"))
    assert mw.statuses() == ["completed", "held"] and mw.wallet(ALICE) == 1000
    mw.sim.register_bank_account(mw.author(ALICE))
    cashout(mw)
    assert dms_to(mw, ALICE)[-1].startswith("$5.00 is on its way") and mw.wallet(ALICE) == 500  # dave's stays
    bob_to_alice = mw.transfers()[0].id
    assert bob_to_alice is not None
    _, said = mw.svc.operator_refund(bob_to_alice)
    assert mw.wallet(ALICE) == 500, f"the refund ({said!r}) took the $5.00 alice holds for dave"

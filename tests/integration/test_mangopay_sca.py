"""Mangopay's strong customer authentication as the bot lives it (the service on the real adapter, through the
official SDK, against the emulator): an Owner enrols before anything waits on them, each SCA link carries the
bot's return address, percent-encoded, and each DM says the 10 minutes Mangopay's sessions last."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlmodel import select

from bot.domain.entities import Payout
from bot.money import Money
from bot.ports import FakeClock
from bot.providers.mangopay_provider import SCA_SESSION_LIFETIME
from bot.repo.sql import SqlStore
from bot.sims.mangopay import WALLET_SCA_EVERY
from tests.support.cashout_world import ALICE, BOB, CAROL, MangopayWorld, cashout, dms_to


def _link(text: str) -> str:
    [url] = [w for w in text.split() if w.startswith("http")]
    return url


def test_a_claim_enrols_the_owner_first_then_sends_the_identity_check_then_pays(mw: MangopayWorld) -> None:
    """carol, who has $5.00 held for her, DMs CLAIM: Mangopay makes her an Owner and she is sent its SCA
    enrolment link (10 minutes, the bot's return address encoded in it), nothing else; once she enrols the
    identity check comes by itself, and once she passes it the money is hers."""
    mw.pay(to="carol")
    assert mw.statuses() == ["held"]
    mw.svc.on_dm(mw.posts.dm("carol", "claim"))
    enrol = dms_to(mw, CAROL)[-1]
    assert enrol.startswith(
        "To receive payments, first secure your account with the payment provider here (the link works 10 minutes): "
    )
    user = mw.sim.objects[mw.author(CAROL)]
    assert (user["UserCategory"], user["UserStatus"]) == ("OWNER", "PENDING_USER_ACTION")
    # back to paybot's return page for her enrolment (a page link; bot.web.recipient_pages)
    assert _link(enrol).endswith(back(mw, "enrolled", CAROL)) and mw.sim.open_kyc(mw.author(CAROL)) == []
    assert mw.sim.follow_sca_link(_link(enrol))["controlStatus"] == "VALIDATED"
    mw.svc.provider_events()  # Mangopay says she enrolled: the identity check is sent
    [session] = mw.sim.open_kyc(mw.author(CAROL))
    assert session["HostedUrl"] in dms_to(mw, CAROL)[-1]
    mw.sim.pass_kyc(session["Id"])
    mw.svc.provider_events()
    mw.svc.resume()
    assert mw.statuses() == ["completed"] and mw.wallet(CAROL) == 500


def test_an_enrolment_link_that_lapsed_is_replaced_by_a_new_one_on_the_next_claim(mw: MangopayWorld) -> None:
    """carol lets her 10 minutes pass: the page sends her back, she stays unenrolled, nothing waits on her
    identity; her next CLAIM brings a new enrolment link (Mangopay's POST .../enrollment), which works."""
    mw.pay(to="carol")
    mw.svc.on_dm(mw.posts.dm("carol", "claim"))
    first = _link(dms_to(mw, CAROL)[-1])
    assert isinstance(mw.clock, FakeClock)
    mw.clock.advance(SCA_SESSION_LIFETIME)
    assert mw.sim.follow_sca_link(first)["controlStatus"] == "FAILED"
    mw.svc.provider_events()
    assert mw.sim.open_kyc(mw.author(CAROL)) == [] and mw.statuses() == ["held"]
    mw.svc.on_dm(mw.posts.dm("carol", "claim"))
    second = _link(dms_to(mw, CAROL)[-1])
    assert second != first and "works 10 minutes" in dms_to(mw, CAROL)[-1]
    assert mw.sim.follow_sca_link(second)["controlStatus"] == "VALIDATED"


def test_an_owner_who_never_enrolled_is_not_charged_for_a_payment_mangopay_would_refuse(mw: MangopayWorld) -> None:
    """bob asked to receive once (an Owner now) and never enrolled; alice can receive. His payment would need his SCA,
    which Mangopay refuses an unenrolled Owner (002704): he is told to secure his account, and nothing is
    charged."""
    mw.make_receiver("alice")
    mw.mp.onboard(BOB)  # he asked to receive once: an Owner, pending his enrolment
    mw.pay(to="alice")
    assert mw.statuses() == ["failed"] and mw.sim.succeeded_payins() == 0
    assert dms_to(mw, BOB)[-1] == (
        "The payment of $5.00 to @alice was not made (your payment account is not "
        "secured yet: DM CLAIM for the link). Nothing was charged. [AAAA]"
    )


# ---------------------------------------------------------------- an Owner's wallet access: SCA every 180 days


def back(mw: MangopayWorld, purpose: str, user: str) -> str:
    """The returnUrl of an SCA link: the newest page link made, for `purpose` and `user`, percent-encoded."""
    n = len(mw.people.links)
    assert mw.people.links[-1] == (purpose, user)
    return "&returnUrl=" + quote(f"https://paybot.example/l/{n}.{purpose}{user}.{'0' * 32}", safe="")


def _lapse_wallet_access(mw: MangopayWorld) -> None:
    """alice received $5.00 and opened her account once; then 180 days pass."""
    mw.make_receiver(ALICE)
    mw.pay()
    assert mw.statuses() == ["completed"]
    assert isinstance(mw.clock, FakeClock)
    mw.clock.advance(WALLET_SCA_EVERY)


def test_a_cash_out_asks_the_owner_for_their_wallet_sca_once_and_never_takes_it_for_bad_credentials(
    mw: MangopayWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """180 days after alice last opened her account, Mangopay answers her CASHOUT's first read with 401 and an SCA
    link: she is sent that link (10 minutes, the bot's return address in it), the 401 is asked once, no token is
    thrown away for it and nothing says the credentials are wrong; once she passes it, CASHOUT pays out."""
    _lapse_wallet_access(mw)
    mw.sim.register_bank_account(mw.author(ALICE))
    before = len(mw.sim.requests)
    cashout(mw, "alice")
    told = dms_to(mw, ALICE)[-1]
    assert told.startswith(
        "To cash out, first confirm it's you with the payment provider here (the link works 10 minutes): "
    ) and _link(told).endswith(back(mw, "wallet", ALICE))
    assert [r["status"] for r in mw.sim.requests[before:]].count(401) == 1
    assert not any("credentials" in r.getMessage() for r in caplog.records) and mw.payouts() == []
    assert mw.sim.follow_sca_link(_link(told))["controlStatus"] == "VALIDATED"
    cashout(mw, "alice")
    assert dms_to(mw, ALICE)[-1].startswith("$5.00 is on its way") and mw.wallet(ALICE) == 0


def test_reconciliation_take_backs_and_wind_down_keep_working_around_an_owner_who_must_pass_sca(
    mw: MangopayWorld,
) -> None:
    """alice's account is unread for 180 days: reconciliation still lists bob's payments, the operator's
    take-back of her $2.00 still goes through (Mangopay itself refuses one beyond her balance), and the
    wind-down's list of balances still has bob's, without hers."""
    _lapse_wallet_access(mw)
    [paid] = mw.mp.payments_since(mw.clock.now() - timedelta(days=365))
    assert (paid.amount_minor, paid.delivered, paid.refunded) == (500, True, False)
    settled = mw.mp.refund(key="refund:1:part", payment_ref=paid.ref, amount=Money(200, "USD"))
    assert not settled.pending and mw.wallet(ALICE) == 300
    with mw.sim.lock:  # $3.00 of bob's own reaches his wallet
        [wallet] = [x for x in mw.sim.objects.values() if x["_kind"] == "wallet" and mw.author(BOB) in x["Owners"]]
        wallet["Balance"]["Amount"] += 300
    assert mw.mp.holdings() == [(BOB, Money(300, "USD"))]


# ---------------------------------------------------------------- payouts go to Recipients


def test_a_cash_out_pays_the_active_recipient_never_a_bank_account_or_a_recipient_awaiting_sca(
    mw: MangopayWorld,
) -> None:
    """alice has a legacy Bank Account (Mangopay refuses payouts to those made after 30 April 2026) and a Recipient
    whose SCA she has not passed: CASHOUT pays neither and sends her to the bank-account page; once a Recipient in
    USD is ACTIVE, the payout goes to it, told with its last four characters."""
    mw.make_receiver(ALICE)
    mw.pay()
    mw.sim.register_legacy_bank_account(mw.author(ALICE))
    pending = mw.sim.register_bank_account(mw.author(ALICE), "DE89 3704 0044 0532 0130 00", sca=False)
    assert pending["Status"] == "PENDING"
    cashout(mw, "alice")
    assert dms_to(mw, ALICE)[-1].startswith("To cash out, add your bank account on this secure page: ")
    assert mw.payouts() == []
    active = mw.sim.register_bank_account(mw.author(ALICE))
    assert (active["Status"], active["Currency"], active["PayoutMethodType"]) == (
        "ACTIVE",
        "USD",
        "InternationalBankTransfer",
    )
    cashout(mw, "alice")
    [payout] = mw.payouts()
    assert payout["BankAccountId"] == active["Id"] and payout["Status"] == "CREATED"
    assert dms_to(mw, ALICE)[-1].startswith("$5.00 is on its way to your bank account ending 0143")


def test_an_owner_who_has_not_finished_their_identity_check_is_not_charged(mw: MangopayWorld) -> None:
    """bob enrolled as an Owner but has not passed the identity check: Mangopay would refuse a pay-in into his own
    wallet (002951), so his payment is refused before any charge and he is told to finish it."""
    mw.make_receiver(ALICE)
    enrolment = mw.mp.onboard(BOB)
    mw.sim.follow_sca_link(str(enrolment.url))
    assert not mw.mp.onboard(BOB).ready  # his identity check is open, not passed
    mw.pay()
    assert mw.statuses() == ["failed"] and mw.sim.succeeded_payins() == 0 and mw.sim.of_kind("payin") == []
    assert "(your identity check is not finished yet: DM CLAIM for the link)" in dms_to(mw, BOB)[-1]


# ---------------------------------------------------------------- a payout the bank sends back after success


def test_a_cash_out_the_bank_sends_back_after_it_went_through_is_told_and_the_money_is_back(mw: MangopayWorld) -> None:
    """alice's $5.00 reached her bank ("sent"), then her bank sent it back (account closed): Mangopay refunds the
    payout to her wallet (PAYOUT_REFUND_SUCCEEDED) and she is told once, in plain words, that the money is back."""
    mw.make_receiver(ALICE)
    mw.pay()
    mw.sim.register_bank_account(mw.author(ALICE))
    cashout(mw, "alice")
    [payout] = mw.payouts()
    mw.sim.settle_payout(payout["Id"])
    mw.svc.provider_events()
    assert dms_to(mw, ALICE)[-1] == "Done: your cash-out of $5.00 was sent to your bank account."
    assert mw.wallet(ALICE) == 0
    mw.sim.return_payout(payout["Id"], "BANKACCOUNT_HAS_BEEN_CLOSED")
    mw.svc.provider_events()
    mw.svc.provider_events()
    assert mw.wallet(ALICE) == 500
    told = [t for t in dms_to(mw, ALICE) if "sent back" in t]
    assert told == [
        "Your bank sent back your cash-out of $5.00 (the bank account is closed); the money is back in "
        "your account. DM CASHOUT to try again."
    ]


def test_a_payout_whose_answer_was_lost_is_never_called_not_made_when_its_lookup_needs_sca(mw: MangopayWorld) -> None:
    """alice's payout is made but its answer is a 500, and by then her account wants her SCA again: looking the
    payout up by its Tag is a 401, so nothing is concluded (the cash-out stays on its way, tried again), and
    once her account can be read again it is that one payout, never a second."""
    mw.make_receiver(ALICE)
    mw.pay()
    mw.sim.register_bank_account(mw.author(ALICE))
    assert isinstance(mw.clock, FakeClock)
    clock = mw.clock

    def lapse(record: dict[str, object]) -> None:
        if record["route"] == "POST /payouts/bankwire":
            clock.advance(WALLET_SCA_EVERY)  # her 180 days end while the payout is being made

    mw.sim.on_execute = lapse
    mw.sim.inject("POST /payouts/bankwire", 500, work=True)
    cashout(mw, "alice")
    mw.sim.on_execute = None
    assert len(mw.payouts()) == 1 and mw.wallet(ALICE) == 0
    assert isinstance(mw.uow, SqlStore)
    with mw.uow() as s:
        [row] = s.exec(select(Payout)).all()
        assert (row.status, row.ref) == ("created", None)  # on its way, not "not made"
    mw.sim.pass_wallet_sca(mw.author(ALICE))
    mw.svc.resume()
    assert len(mw.payouts()) == 1 and dms_to(mw, ALICE)[-1].startswith("$5.00 is on its way")

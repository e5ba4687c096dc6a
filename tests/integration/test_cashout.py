"""CASHOUT by DM: what a user holds at the provider paid out to their bank account.

The use case on the in-memory fake provider (answers, the one cash-out at a time, what must stay, the hourly
allowance, a crash between the payout and its record), then the whole flow through the service on the real
Mangopay adapter and the official SDK against the project's Mangopay emulator on 127.0.0.1: the identity link,
the bank-account page link, the payout and its end told by Mangopay's events, a failed payout whose money comes
back, and idempotency where it can break (a crash after the POST then a restart past Mangopay's 24 hours, a 500
after the work, a dropped answer read back through a 409). Also the emulator's bank accounts and payouts as the
SDK reads them, and the sandbox's and Stripe's one sentence. Nothing sleeps; the clocks are fake."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import requests
from mangopay.api import APIRequest
from mangopay.resources import BankAccount, BankWirePayOut, Transaction

from bot.app.cashout import cashout_key
from bot.commands import parse_dm
from bot.errors import CommandError
from bot.faults import InjectedFault
from bot.messages import text as say
from bot.money import Money
from bot.ports import CashOutOutcome, EventKind, FakeClock, PayoutAccounts
from bot.providers.mangopay_people import NoPages
from bot.providers.sandbox import SandboxProvider
from bot.sims.mangopay import DROP, IBAN_OK, MangopayError, MangopaySim
from tests.support.cashout_world import ALICE, BOB, DAVE, MangopayWorld, cashout, confirmed_before, dms_to, rows
from tests.support.service_world import World

PAYOUTS = "POST /payouts/bankwire"


# ---------------------------------------------------------------- the command


@pytest.mark.parametrize(
    ("text", "currency", "lang"),
    [
        ("cashout", None, "en"),
        ("CASHOUT", None, "en"),
        ("cash out", None, "en"),
        ("Cash-Out eur", "EUR", "en"),
        ("withdraw gbp", "GBP", "en"),
        ("retrait", None, "fr"),
        ("RETIRER EUR", "EUR", "fr"),
        ("virement", None, "fr"),
    ],
)
def test_cashout_is_a_dm_command_in_english_and_french(text: str, currency: str | None, lang: str) -> None:
    cmd = parse_dm(text)
    assert (cmd.kind, cmd.currency, cmd.lang) == ("cashout", currency, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("cashout 5", "en"),
        ("cash out all", "en"),
        ("cashout eur eur", "en"),
        ("CASHOUT xyz", "en"),
        ("retrait 20 €", "fr"),
    ],
)
def test_a_cashout_with_anything_else_says_how_to_write_it(text: str, lang: str) -> None:
    with pytest.raises(CommandError) as info:
        parse_dm(text)
    assert info.value.message == say("cashout.usage", lang) and info.value.lang == lang
    assert info.value.message.startswith("RETRAIT vire tout" if lang == "fr" else "CASHOUT sends all you hold")


def test_a_word_that_only_starts_like_cashout_gets_the_dm_help() -> None:
    with pytest.raises(CommandError) as info:
        parse_dm("cashoutnow")
    assert "CASHOUT to send what you received to your bank account" in info.value.message


# ---------------------------------------------------------------- the use case, on the fake


@pytest.fixture
def w(tmp_path: Path) -> World:
    return World(tmp_path)


def test_identity_then_a_bank_account_then_one_payout_told_when_it_is_sent(w: World) -> None:
    """The provider's answers in order (bob, who has not claimed, is not verified), the payout told with the
    bank account's last four characters only, one cash-out at a time, its end told once, then nothing left."""
    w.provider.balances[(BOB, "USD")] = 700
    cashout(w, "bob")
    assert dms_to(w, BOB)[-1] == (
        "To cash out, first verify your identity with the payment provider here: "
        "https://fake.invalid/verify/10 Then DM CASHOUT again."
    )
    w.provider.payouts.add(BOB)
    cashout(w, "bob")
    assert dms_to(w, BOB)[-1] == (
        "To cash out, add your bank account on this secure page: "
        "https://fake.invalid/bank/10 The link works for 24 hours. Then DM CASHOUT again."
    )
    w.provider.banks.add(BOB)
    first = cashout(w, "bob")
    assert dms_to(w, BOB)[-1] == (
        "$7.00 is on its way to your bank account ending 4321. I'll DM you when it has been sent."
    )
    [payout] = w.provider.cash_outs
    assert (payout["key"], payout["minor"], w.provider.balances[(BOB, "USD")]) == (cashout_key(first), 700, 0)
    cashout(w, "bob")
    assert dms_to(w, BOB)[-1] == "Your cash-out is already on its way; I'll DM you when it's done."
    assert len(w.provider.cash_outs) == 1
    event = w.provider.settle_payout(payout["ref"])
    w.svc.apply_event(event)
    w.svc.apply_event(event)  # told once
    assert dms_to(w, BOB)[-2:] == [
        "Your cash-out is already on its way; I'll DM you when it's done.",
        "Done: your cash-out of $7.00 was sent to your bank account.",
    ]
    cashout(w, "bob")
    assert dms_to(w, BOB)[-1] == "You have nothing to cash out in USD right now."
    assert [(s, a, r) for _, s, a, r, _ in rows(w)] == [
        ("not_made", None, None),
        ("not_made", None, None),
        ("succeeded", 700, "po_1"),
        ("not_made", None, None),
    ]


def test_a_failed_payout_gives_the_money_back_says_so_and_may_be_asked_again(w: World) -> None:
    w.provider.balances[(ALICE, "USD")] = 500
    w.provider.banks.add(ALICE)
    cashout(w)
    w.svc.apply_event(w.provider.settle_payout("po_1", success=False))
    assert dms_to(w, ALICE)[-1] == (
        "Your cash-out of $5.00 did not go through (the bank refused the transfer); "
        "the money is back in your account. DM CASHOUT to try again."
    )
    assert w.provider.balances[(ALICE, "USD")] == 500 and rows(w)[0][1:] == (
        "failed",
        500,
        "po_1",
        "the bank refused the transfer",
    )
    cashout(w, text="retrait")  # in French, and a new key: a new payout
    assert dms_to(w, ALICE)[-1] == (
        "5,00 $ part vers votre compte bancaire se terminant par 4321. Je vous écris quand le virement est effectué."
    )
    assert [p["state"] for p in w.provider.cash_outs] == ["failed", "created"]


def test_money_a_sender_has_on_its_way_or_held_stays_in_their_account(w: World) -> None:
    """bob's provider account holds his own $5.00 held for carol (who cannot receive yet): it is not paid out."""
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @carol"))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.statuses() == ["held"]
    w.provider.payouts.add(BOB)
    w.provider.banks.add(BOB)
    w.provider.balances[(BOB, "USD")] = 500
    cashout(w, "bob")
    assert dms_to(w, BOB)[-1] == (
        "You have nothing to cash out in USD right now: what your account holds is money "
        "you sent that is still on its way or held for its recipient."
    )
    w.provider.balances[(BOB, "USD")] = 800  # $3.00 more of his own
    cashout(w, "bob")
    assert dms_to(w, BOB)[-1].startswith("$3.00 is on its way") and w.provider.balances[(BOB, "USD")] == 500


def test_any_currency_held_may_be_taken_out_and_a_pause_is_answered_without_the_provider(w: World) -> None:
    """A currency not taken for new payments is still taken out (what users hold in it must not be stranded);
    while payments are paused, nothing is asked of the provider."""
    w.provider.balances[(ALICE, "USD")] = 500
    w.provider.banks.add(ALICE)
    cashout(w, text="cashout jpy")
    assert dms_to(w, ALICE)[-1] == "You have nothing to cash out in JPY right now."
    before = (list(w.provider.cash_outs), rows(w), len(w.provider.results))
    w.svc.set_paused(True)
    cashout(w, text="retrait")
    assert dms_to(w, ALICE)[-1] == (
        "Les retraits sont suspendus pour maintenance ; votre argent reste sur votre compte. Réessayez plus tard."
    )
    assert (list(w.provider.cash_outs), rows(w), len(w.provider.results)) == before
    w.svc.set_paused(False)
    cashout(w, text="cashout eur")
    assert dms_to(w, ALICE)[-1] == "You have nothing to cash out in EUR right now."


def test_cashouts_are_answered_within_the_hourly_allowance(w: World) -> None:
    """Ten answers an hour at most, the last saying so; over it, the provider is not even asked."""
    for _ in range(14):
        cashout(w, "dave")
    said = dms_to(w, DAVE)
    assert len(said) == 10 and said[:9] == ["You have nothing to cash out in USD right now."] * 9
    assert said[-1] == say("dm.slow_down", "en")
    assert len([k for k in w.provider.results if k.startswith("cashout:")]) == 9
    w.clock.advance(timedelta(hours=1, minutes=1))
    cashout(w, "dave")
    assert len(dms_to(w, DAVE)) == 11


def test_a_crash_after_the_payout_is_finished_by_resume_with_the_same_key(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w.provider.balances[(ALICE, "USD")] = 500
    w.provider.banks.add(ALICE)
    confirmed_before(w, ALICE, f"ba_{ALICE}")
    monkeypatch.setenv("PAYBOT_FAULT", "settle_called")
    monkeypatch.setenv("PAYBOT_FAULT_MODE", "raise")
    with pytest.raises(InjectedFault):
        cashout(w)
    monkeypatch.delenv("PAYBOT_FAULT")
    assert rows(w) == [(ALICE, "created", None, None, None)] and len(w.provider.cash_outs) == 1
    assert dms_to(w, ALICE) == []
    assert w.svc.resume() == 1
    assert rows(w) == [(ALICE, "created", 500, "po_1", None)] and len(w.provider.cash_outs) == 1
    assert dms_to(w, ALICE) == [
        "$5.00 is on its way to your bank account ending 4321. I'll DM you when it has been sent."
    ]
    assert w.svc.resume() == 0 and len(dms_to(w, ALICE)) == 1


def test_a_provider_that_does_not_answer_is_asked_again_at_the_next_tick(w: World) -> None:
    from bot.errors import ProviderTransient

    w.provider.balances[(ALICE, "USD")] = 500
    w.provider.banks.add(ALICE)
    confirmed_before(w, ALICE, f"ba_{ALICE}")
    real = w.provider.cash_out
    w.provider.cash_out = lambda **kw: (_ for _ in ()).throw(ProviderTransient("timeout"))  # type: ignore[method-assign]
    cashout(w)
    assert rows(w) == [(ALICE, "created", None, None, None)] and dms_to(w, ALICE) == []
    cashout(w)  # asked while it waits
    assert dms_to(w, ALICE) == ["Your cash-out is already on its way; I'll DM you when it's done."]
    w.provider.cash_out = real  # type: ignore[method-assign]
    assert w.svc.resume() == 1 and dms_to(w, ALICE)[-1].startswith("$5.00 is on its way")


def test_the_sandbox_says_in_one_sentence_that_the_provider_pays_out_by_itself(w: World, tmp_path: Path) -> None:
    sandbox = SandboxProvider(tmp_path / "sandbox.db")
    w.svc.provider = sandbox
    cashout(w)
    assert dms_to(w, ALICE) == [
        "Your payment provider pays what you receive out to your bank account by itself, "
        "on its own schedule: there is nothing to do here."
    ]
    assert rows(w)[0][1:] == ("not_made", None, None, "paid out by the provider itself")
    sandbox.close()


# ---------------------------------------------------------------- the whole flow on Mangopay


def test_a_recipients_wallet_goes_to_their_bank_on_mangopay(
    mw: MangopayWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """alice received $5.00 in her wallet: CASHOUT links paybot's cash-out account page (a single-use page link,
    15 minutes); once her account is registered there, a bank wire payout takes the whole wallet; Mangopay's events
    end it. Neither the IBAN nor the API key reaches a message or the log."""
    caplog.set_level(logging.DEBUG)
    mw.make_receiver(ALICE)
    mw.pay()
    assert mw.statuses() == ["completed"] and mw.wallet(ALICE) == 500
    cashout(mw)
    link = dms_to(mw, ALICE)[-1]
    assert link.startswith("To cash out, add your bank account on this secure page: https://paybot.example/l/")
    assert link.endswith(" The link works for 15 minutes. Then DM CASHOUT again.")
    assert mw.people.links[-1] == ("recipient", ALICE)
    assert mw.payouts() == []

    mw.sim.register_bank_account(mw.author(ALICE), "FR76 3000 4000 0312 3456 7890 143")  # the page, with the IBAN
    dm = cashout(mw)
    assert dms_to(mw, ALICE)[-1] == (
        "$5.00 is on its way to your bank account ending 0143. I'll DM you when it has been sent."
    )
    [payout] = mw.payouts()
    assert (payout["Status"], payout["DebitedFunds"], payout["Fees"]["Amount"], payout["BankWireRef"]) == (
        "CREATED",
        {"Currency": "USD", "Amount": 500},
        0,
        "paybot",
    )
    assert cashout_key(dm) in str(payout["Tag"]) and mw.wallet(ALICE) == 0
    assert not any(IBAN_OK in text or "FR76" in text for _, text in mw.outbox())  # never the number itself
    cashout(mw)
    assert dms_to(mw, ALICE)[-1] == "Your cash-out is already on its way; I'll DM you when it's done."
    assert len(mw.payouts()) == 1

    mw.svc.provider_events()
    mw.sim.settle_payout(payout["Id"])
    mw.svc.provider_events()
    mw.svc.provider_events()
    assert dms_to(mw, ALICE)[-1] == "Done: your cash-out of $5.00 was sent to your bank account."
    assert len([t for t in dms_to(mw, ALICE) if t.startswith("Done: your cash-out")]) == 1
    assert [r for r in rows(mw) if r[1] != "not_made"] == [(ALICE, "succeeded", 500, payout["Id"], None)]
    cashout(mw)
    assert dms_to(mw, ALICE)[-1] == "You have nothing to cash out in USD right now."
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "3000400003123456789" not in logged and mw.sim.api_key not in logged


def test_a_payout_the_bank_refuses_puts_the_money_back_in_the_wallet_on_mangopay(mw: MangopayWorld) -> None:
    mw.make_receiver(ALICE)
    mw.pay()
    mw.sim.register_bank_account(mw.author(ALICE))
    cashout(mw, text="retrait")
    [payout] = mw.payouts()
    mw.sim.settle_payout(payout["Id"], success=False)
    assert mw.wallet(ALICE) == 500
    mw.svc.provider_events()
    assert dms_to(mw, ALICE)[-1] == (
        "Votre retrait de 5,00 $ n'a pas abouti (la banque a refusé le virement) ; "
        "l'argent est de retour sur votre compte. Écrivez RETRAIT pour réessayer."
    )
    cashout(mw)
    assert len(mw.payouts()) == 2 and mw.payouts()[1]["Status"] == "CREATED" and mw.wallet(ALICE) == 0


def test_money_held_for_others_stays_and_its_sender_is_not_made_an_owner_on_mangopay(mw: MangopayWorld) -> None:
    """bob (a payer) holds $5.00 for carol, who cannot receive: nothing to cash out. With money of his own there
    too, he is told to wait until his held payments are claimed or returned: verifying him would make him an
    Owner, whose wallet can no longer release what it holds for carol. Once nothing is held, his identity comes
    first, with Mangopay's hosted page as CLAIM gives it; then only his own is paid out. Someone who never used
    paybot has nothing."""
    mw.pay(to="carol")
    assert mw.statuses() == ["held"] and mw.wallet(BOB) == 500
    cashout(mw, "bob")
    assert dms_to(mw, BOB)[-1].startswith("You have nothing to cash out in USD right now: what your account holds")
    with mw.sim.lock:  # $3.00 of bob's own reaches his wallet outside paybot's transfers
        [wallet] = [x for x in mw.sim.objects.values() if x["_kind"] == "wallet" and mw.author(BOB) in x["Owners"]]
        wallet["Balance"]["Amount"] += 300
    cashout(mw, "bob")
    assert "still waiting for their recipients" in dms_to(mw, BOB)[-1] and mw.sim.open_kyc(mw.author(BOB)) == []
    mw.clock.advance(timedelta(days=15))  # carol never claims: it goes back to bob's card
    mw.svc.return_due()
    assert mw.statuses() == ["returned"]
    cashout(mw, "bob")  # bob becomes an Owner: he secures his account (SCA enrolment) first
    [enrolment] = mw.sim.open_sca_sessions("ENROLMENT", mw.author(BOB))
    link = dms_to(mw, BOB)[-1].split()[-5]
    assert dms_to(mw, BOB)[-1] == (
        "To cash out, first confirm it's you with the payment provider here (the link "
        f"works 10 minutes): {link} Then DM CASHOUT again."
    )
    assert enrolment["Token"] in link and "&returnUrl=https%3A%2F%2Fpaybot.example%2Fl%2F" in link
    assert mw.people.links[-1] == ("enrolled", BOB)  # back to paybot's page for his enrolment
    mw.sim.follow_sca_link(link)
    cashout(mw, "bob")  # an Owner now: reading his wallet wants his SCA (every 180 days)
    wallet_sca = dms_to(mw, BOB)[-1]
    assert wallet_sca.startswith(
        "To cash out, first confirm it's you with the payment provider here (the link works 10 minutes): "
    ) and wallet_sca.endswith(" Then DM CASHOUT again.")
    assert mw.sim.follow_sca_link(wallet_sca.split()[-5])["controlStatus"] == "VALIDATED"
    cashout(mw, "bob")
    [session] = mw.sim.open_kyc(mw.author(BOB))
    assert dms_to(mw, BOB)[-1] == (
        f"To cash out, first verify your identity with the payment provider here: "
        f"{session['HostedUrl']} Then DM CASHOUT again."
    )
    mw.sim.pass_kyc(session["Id"])
    mw.sim.register_bank_account(mw.author(BOB))
    cashout(mw, "bob")
    assert dms_to(mw, BOB)[-1].startswith("$3.00 is on its way") and mw.wallet(BOB) == 0
    cashout(mw, "dave")
    assert dms_to(mw, DAVE) == ["You have nothing to cash out in USD right now."]


def test_a_crash_after_the_payout_post_then_a_restart_past_24_hours_makes_one_payout(
    mw: MangopayWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    mw.make_receiver(ALICE)
    mw.pay()
    account = mw.sim.register_bank_account(mw.author(ALICE))
    confirmed_before(mw, ALICE, str(account["Id"]))
    monkeypatch.setenv("PAYBOT_FAULT", "settle_called")
    monkeypatch.setenv("PAYBOT_FAULT_MODE", "raise")
    with pytest.raises(InjectedFault):
        cashout(mw)
    monkeypatch.delenv("PAYBOT_FAULT")
    assert [r[1:4] for r in rows(mw)] == [("created", None, None)] and len(mw.payouts()) == 1
    mw.clock.advance(timedelta(hours=25))  # Mangopay forgot the key: a second POST would make a second payout
    assert mw.svc.resume() == 1
    [payout] = mw.payouts()
    assert [r[1:4] for r in rows(mw)] == [("created", 500, payout["Id"])] and mw.posts_to(PAYOUTS) == [200]
    assert dms_to(mw, ALICE)[-1] == "$5.00 is on its way to your bank account. I'll DM you when it has been sent."
    assert mw.svc.resume() == 0 and len(mw.payouts()) == 1


@pytest.mark.parametrize("work", [True, False], ids=["made_then_500", "500_before_the_work"])
def test_a_500_on_the_payout_is_settled_by_its_tag_never_by_a_second_payout(mw: MangopayWorld, work: bool) -> None:
    mw.make_receiver(ALICE)
    mw.pay()
    mw.sim.register_bank_account(mw.author(ALICE))
    mw.sim.inject(PAYOUTS, 500, work=work)
    cashout(mw)
    assert len(mw.payouts()) == 1 and mw.wallet(ALICE) == 0
    assert dms_to(mw, ALICE)[-1].startswith("$5.00 is on its way to your bank account ending 0143")
    # made then 500: found by its Tag, nothing posted again; 500 first: posted again under the step's next key
    assert mw.posts_to(PAYOUTS) == ([500] if work else [500, 200])
    assert mw.svc.resume() == 0 and len(mw.payouts()) == 1


def test_a_dropped_answer_is_read_back_through_the_409_and_the_stored_response(mw: MangopayWorld) -> None:
    mw.make_receiver(ALICE)
    mw.pay()
    mw.sim.register_bank_account(mw.author(ALICE))
    mw.sim.inject(PAYOUTS, DROP)
    cashout(mw)
    assert mw.posts_to(PAYOUTS) == [200, 409] and mw.posts_to("GET /responses/{id}")
    assert len(mw.payouts()) == 1 and dms_to(mw, ALICE)[-1].startswith("$5.00 is on its way")


def test_a_payout_mangopay_refuses_when_made_is_told_in_one_sentence(mw: MangopayWorld) -> None:
    """Verified when paybot last looked, not any more (Mangopay refuses the payout: 002998): told plainly."""
    mw.make_receiver(ALICE)
    mw.pay()
    mw.sim.register_bank_account(mw.author(ALICE))
    with mw.sim.lock:
        mw.sim.objects[mw.author(ALICE)]["KYCLevel"] = "LIGHT"
    cashout(mw)
    assert dms_to(mw, ALICE)[-1] == (
        "The payment provider refused your cash-out (a limit of your verified account "
        "was reached); your money stays in your account."
    )
    assert mw.wallet(ALICE) == 500 and rows(mw)[-1][1] == "failed"


def test_no_bank_page_set_says_cash_outs_are_not_available(mw: MangopayWorld) -> None:
    """Without paybot's pages (PAYBOT_WEB_URL and PAYBOT_LINK_SECRET unset: NoPages) there is no page to send her to."""
    mw.make_receiver(ALICE)
    mw.pay()
    mw.mp.people = NoPages()
    cashout(mw)
    assert dms_to(mw, ALICE)[-1] == (
        "Cash-outs to a bank account aren't available here yet; your money stays in "
        "your account. The operator has been told."
    )


def test_the_adapter_turns_payout_events_into_the_ports_words(mw: MangopayWorld) -> None:
    mw.make_receiver(ALICE)
    mw.pay()
    account = str(mw.sim.register_bank_account(mw.author(ALICE))["Id"])
    _, cursor = mw.mp.events(None)
    made = mw.mp.cash_out(key="cashout:1", user_id=ALICE, currency="USD", accounts=PayoutAccounts(pay_to=account))
    assert (made.outcome, made.amount, made.last4) == (CashOutOutcome.STARTED, Money(500, "USD"), "0143")
    again = mw.mp.cash_out(key="cashout:1", user_id=ALICE, currency="USD")  # found by its Tag, confirmed or not
    assert (again.outcome, again.amount, again.ref) == (made.outcome, made.amount, made.ref)
    mw.sim.settle_payout(str(made.ref), success=False)
    events, _ = mw.mp.events(cursor)
    assert [(e.kind, e.key, e.settle_ref, e.amount_minor, e.reason) for e in events] == [
        (EventKind.PAYOUT_FAILED, "cashout:1", made.ref, 500, "the bank refused the transfer")
    ]


# ---------------------------------------------------------------- the emulator, read by the SDK


@pytest.fixture
def sim() -> Iterator[MangopaySim]:
    s = MangopaySim(FakeClock())
    s.start()
    yield s
    s.stop()


@pytest.fixture
def api(sim: MangopaySim) -> APIRequest:
    return APIRequest(
        client_id=sim.client_id,
        apikey=sim.api_key,
        api_url=sim.base + "/v2.01/",
        api_sandbox_url=sim.base + "/v2.01/",
        sandbox=False,
    )


def raw(sim: MangopaySim, api: APIRequest, method: str, path: str, body: Any = None, **params: Any) -> Any:
    return requests.request(
        method,
        f"{sim.base}/v2.01/{sim.client_id}{path}",
        json=body,
        params=params,
        headers={"Authorization": api.auth_manager.get_token()},
        timeout=10,
    )


def owner_with(sim: MangopaySim, api: APIRequest, amount: int, *, verified: bool = True) -> tuple[str, str]:
    """A Mangopay user (an Owner, verified or not) with a EUR wallet holding `amount`; (user id, wallet id)."""
    made = raw(
        sim,
        api,
        "POST",
        "/sca/users/natural",
        {
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "Email": "ada@example.org",
            "UserCategory": "OWNER",
            "TermsAndConditionsAccepted": True,
            "Birthday": 652117514,
            "Nationality": "FR",
            "CountryOfResidence": "FR",
        },
    ).json()
    sim.enrol(made["Id"])
    sim.pass_wallet_sca(made["Id"])
    wallet = raw(sim, api, "POST", "/wallets", {"Owners": [made["Id"]], "Description": "w", "Currency": "EUR"}).json()
    with sim.lock:
        sim.objects[wallet["Id"]]["Balance"]["Amount"] = amount
        if verified:
            sim.objects[made["Id"]]["KYCLevel"] = "REGULAR"
    return made["Id"], wallet["Id"]


def test_iban_accounts_are_checked_listed_and_read_by_the_sdk(sim: MangopaySim, api: APIRequest) -> None:
    user, _ = owner_with(sim, api, 0)
    address = {"AddressLine1": "1 rue de la Paix", "City": "Paris", "PostalCode": "75002", "Country": "FR"}
    good = raw(
        sim,
        api,
        "POST",
        f"/users/{user}/bankaccounts/iban",
        {"OwnerName": "Ada Lovelace", "OwnerAddress": address, "IBAN": IBAN_OK, "BIC": "BNPAFRPP"},
    )
    assert good.status_code == 200 and good.json()["Type"] == "IBAN" and good.json()["Active"] is True
    for body, field in [
        ({"IBAN": "FR7630004000031234567890144"}, "IBAN"),
        ({"IBAN": "FR76"}, "IBAN"),
        ({"BIC": "BNP"}, "BIC"),
        ({"OwnerName": None}, "OwnerName"),
        ({"OwnerAddress": {**address, "City": None}}, "OwnerAddress.City"),
        ({"OwnerAddress": {**address, "Country": "US"}}, "OwnerAddress.Region"),
    ]:
        bad = raw(
            sim,
            api,
            "POST",
            f"/users/{user}/bankaccounts/iban",
            {"OwnerName": "Ada Lovelace", "OwnerAddress": address, "IBAN": IBAN_OK, **cast(dict[str, Any], body)},
        )
        assert bad.status_code == 400 and bad.json()["Type"] == "param_error" and field in bad.json()["errors"], body
    sim.register_legacy_bank_account(user, "GB82 WEST 1234 5698 7654 32")
    with pytest.raises(MangopayError):
        sim.register_legacy_bank_account(user, "GB82WEST12345698765433")
    listed = raw(sim, api, "GET", f"/users/{user}/bankaccounts", per_page=1, Sort="CreationDate:DESC")
    assert listed.headers["X-Number-Of-Items"] == "2" and listed.headers["X-Number-Of-Pages"] == "2"
    assert listed.json()[0]["IBAN"] == "GB82WEST12345698765432"
    accounts = BankAccount.all(handler=api, user_id=user)
    assert sorted(a.iban for a in accounts) == ["FR7630004000031234567890143", "GB82WEST12345698765432"]
    assert accounts[0].owner_address.city == "Paris"


def test_payouts_debit_the_wallet_when_made_and_are_refused_as_mangopay_refuses_them(
    sim: MangopaySim, api: APIRequest
) -> None:
    user, wallet = owner_with(sim, api, 1000)
    account = sim.register_bank_account(user)["Id"]
    body = {
        "AuthorId": user,
        "DebitedWalletId": wallet,
        "BankAccountId": account,
        "BankWireRef": "paybot",
        "DebitedFunds": {"Currency": "EUR", "Amount": 600},
        "Fees": {"Currency": "EUR", "Amount": 0},
    }
    made = raw(sim, api, "POST", "/payouts/bankwire", body).json()
    assert (made["Status"], made["Type"], made["Nature"], made["PaymentType"]) == (
        "CREATED",
        "PAYOUT",
        "REGULAR",
        "BANK_WIRE",
    )
    assert sim.balance(wallet) == 400
    read = BankWirePayOut.get(made["Id"], handler=api)  # the SDK reads it (GET /payouts/{id})
    assert (read.status, read.bank_account_id, read.debited_funds.amount) == ("CREATED", account, 600)
    assert BankWirePayOut.get_bankwire(made["Id"], handler=api).id == made["Id"]
    too_much = raw(
        sim, api, "POST", "/payouts/bankwire", {**body, "DebitedFunds": {"Currency": "EUR", "Amount": 500}}
    ).json()
    assert (too_much["Status"], too_much["ResultCode"]) == ("FAILED", "001001") and sim.balance(wallet) == 400
    sim.settle_payout(made["Id"], success=False)
    assert sim.balance(wallet) == 1000
    with pytest.raises(MangopayError):
        sim.settle_payout(made["Id"])
    unverified, other = owner_with(sim, api, 1000, verified=False)
    theirs = sim.register_bank_account(unverified)["Id"]
    refused = raw(
        sim,
        api,
        "POST",
        "/payouts/bankwire",
        {**body, "AuthorId": unverified, "DebitedWalletId": other, "BankAccountId": theirs},
    ).json()
    assert (refused["Status"], refused["ResultCode"]) == ("FAILED", "002998") and sim.balance(other) == 1000
    not_theirs = raw(sim, api, "POST", "/payouts/bankwire", {**body, "BankAccountId": theirs})
    assert not_theirs.status_code == 400 and not_theirs.json()["Type"] == "param_error"
    kinds = [(t.type, t.nature, t.status) for t in Transaction.all(handler=api, user_id=user, per_page=100)]
    assert kinds == [("PAYOUT", "REGULAR", "FAILED"), ("PAYOUT", "REGULAR", "FAILED")]
    types = [e["EventType"] for e in sim.events if e["ResourceId"] == made["Id"]]
    assert types == ["PAYOUT_NORMAL_CREATED", "PAYOUT_NORMAL_FAILED"]
    again = raw(sim, api, "POST", "/payouts/bankwire", body).json()
    waiting = requests.get(f"{sim.base}/_sim/payouts", timeout=10).json()  # what the bank has yet to settle
    assert [(p["Id"], p["Status"]) for p in waiting] == [(again["Id"], "CREATED")]
    assert requests.post(f"{sim.base}/_sim/payout/{again['Id']}", json={}, timeout=10).json()["Status"] == "SUCCEEDED"
    assert requests.get(f"{sim.base}/_sim/payouts", timeout=10).json() == []
    assert requests.post(f"{sim.base}/_sim/bank/{user}", json={"iban": "nope"}, timeout=10).status_code == 400


def test_the_bench_counts_mangopay_requests_per_cash_out() -> None:
    """bench.mangopay_calls' cash-out line, to an account its user confirms: the payout looked for by its Tag, the
    wallet and the bank accounts, twice (the CASHOUT that asks to confirm the account, the YES that pays), the
    payout, and the payout its event names: one POST, every cash-out completed."""
    from bench.mangopay_calls import run_cashout

    line = run_cashout(2)
    assert (line["completed"], line["mangopay_posts_per_cashout"]) == (2, 1.0)
    assert line["by_route"] == {
        "GET /users/{id}/transactions": 2.0,
        "GET /wallets/{id}": 2.0,
        "GET /users/{id}/recipients": 2.0,
        "POST /payouts/bankwire": 1.0,
        "GET /payouts/{id}": 1.0,
    }


@pytest.mark.parametrize(
    ("url", "ok"), [(None, True), ("https://pay.example.com/bank?user={user}&expires={expires}&token={token}", False)]
)
def test_the_bank_page_setting_is_gone_and_refused_when_set(tmp_path: Path, url: str | None, ok: bool) -> None:
    """MANGOPAY_BANK_PAGE_URL (the operator's own page) is replaced by paybot's cash-out account page: set, it is
    refused with a sentence saying so, so no operator waits for links that never come."""
    from bot.config import Settings
    from bot.errors import ConfigError

    settings = Settings(
        paybot_provider="mangopay",
        mangopay_client_id="client-1",
        mangopay_api_key="BX3Q526HeoHmdPTmcVXHMuo14v8vjTMdR8Ypd3a7",
        mangopay_card_page_url="https://pay.example.com/card/{id}?u={user}&t={token}",
        mangopay_bank_page_url=url,
        paybot_web_url="https://paybot.example.com",
        paybot_link_secret="Jq7vX2mR9tLw4ZcN8bYe3HsK6pUa5DgF",
        paybot_db_path=str(tmp_path / "p.db"),
    )
    if ok:
        assert settings.require_mangopay()[0] == "client-1"
    else:
        with pytest.raises(ConfigError, match="MANGOPAY_BANK_PAGE_URL is no longer used"):
            settings.require_mangopay()

"""Issue #23 on Mangopay: the money-moving edges of CLAIM, CASHOUT and the operator's pages. Each test failed on
the code before its fix (the docstring tells the attack) and pins it now: a sender holding money for others is
never made an Owner, by any path; links to the operator's pages are signed with a key of their own, bound to
their user, short-lived and single-use; open card registrations are one per user, read in turn, and age out; a
cash-out pays only a bank account its owner confirmed by DM; card-funded money waits before it can be cashed out."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.sims.mangopay import CARD_OK
from tests.support.cashout_world import ALICE, BOB, CAROL, MangopayWorld, cashout, dms_to


def _wallet_of(mw: MangopayWorld, user: str, currency: str) -> dict[str, Any]:
    [wallet] = [
        x
        for x in mw.sim.objects.values()
        if x["_kind"] == "wallet" and mw.author(user) in x["Owners"] and x["Currency"] == currency
    ]
    return wallet


def _carol_claims(mw: MangopayWorld) -> None:
    mw.svc.on_dm(mw.posts.dm("carol", "claim"))
    mw.sim.enrol(mw.author(CAROL))  # the SCA enrolment the CLAIM's answer linked
    mw.svc.provider_events()  # ENROLLED: the identity check is sent
    [session] = mw.sim.open_kyc(mw.author(CAROL))
    mw.sim.pass_kyc(session["Id"])
    mw.svc.provider_events()
    mw.svc.resume()


# ---------------------------------------------------------------- #23.2: never an Owner while holding for others


def test_a_senders_claim_does_not_make_him_an_owner_while_he_holds_money_for_others(mw: MangopayWorld) -> None:
    """bob sent carol $5.00 (held for her in bob's wallet). alice sends bob $5.00, held for him. bob DMs CLAIM:
    paybot made him a Mangopay OWNER on the spot, so when carol claims, her $5.00 can no longer be released and
    goes back to bob's card: bob undid "held for @carol" by claiming. He is now told to wait, and stays a payer."""
    mw.pay(to="carol")
    mw.give_card(ALICE)
    mw.svc.on_mention(mw.posts.mention("alice", "@paybot send 5 to @bob"))
    mw.svc.on_dm(mw.posts.dm("alice", "yes"))
    assert mw.statuses() == ["held", "held"]
    mw.svc.on_dm(mw.posts.dm("bob", "claim"))
    assert not mw.mp._row(BOB).owner, "bob was made an Owner while his payment to carol is held in his wallet"
    assert mw.sim.open_kyc(mw.author(BOB)) == []
    told = dms_to(mw, BOB)[-1]
    assert "still waiting for their recipients" in told and told.count(". ") == 0, told
    _carol_claims(mw)
    assert mw.statuses() == ["completed", "held"], "carol's payment was sent back instead of released to her"
    assert mw.wallet(CAROL) == 500


def test_a_cash_out_in_another_currency_does_not_make_a_sender_holding_money_for_others_an_owner(
    mw: MangopayWorld,
) -> None:
    """bob holds $5.00 for carol (USD) and has €3.00 of his own (EUR). CASHOUT EUR kept nothing in EUR, so
    paybot verified him (an Owner), and carol's USD payment went back unpaid when she claimed."""
    mw.pay(to="carol")
    mw.make_receiver(ALICE)
    mw.pay(to="alice", amount="3€")
    assert mw.statuses() == ["held", "completed"]
    with mw.sim.lock:
        _wallet_of(mw, BOB, "EUR")["Balance"]["Amount"] += 300
    cashout(mw, "bob", text="cashout eur")
    assert not mw.mp._row(BOB).owner, "a EUR cash-out made bob an Owner while he holds USD for carol"
    assert "still waiting for their recipients" in dms_to(mw, BOB)[-1]
    _carol_claims(mw)
    assert mw.statuses() == ["completed", "completed"] and mw.wallet(CAROL) == 500


# ---------------------------------------------------------------- #23.11: links signed with a key of their own


def _bank_link(mw: MangopayWorld, user: str = ALICE) -> str:
    """CASHOUT with no account: the DM links paybot's cash-out account page (a "recipient" page link)."""
    cashout(mw, "alice" if user == ALICE else "bob")
    said = dms_to(mw, user)[-1]
    assert said.startswith("To cash out, add your bank account on this secure page: "), said
    assert mw.people.links[-1] == ("recipient", user)
    return said.split()[11]


def _add_account(mw: MangopayWorld, user: str = ALICE, iban: str = "FR76 3000 4000 0312 3456 7890 143") -> None:
    """The person on the cash-out account page (tests/integration/test_recipient_pages.py drives the page itself): a
    Recipient made with their SCA."""
    mw.sim.register_bank_account(mw.author(user), iban)


STRONG = "Jq7vX2mR9tLw4ZcN8bYe3HsK6pUa5DgF"


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        (None, "PAYBOT_LINK_SECRET is not set"),
        ("changethis", "PAYBOT_LINK_SECRET is not set"),
        ("short-one-9f3", "PAYBOT_LINK_SECRET is too weak"),
        ("a" * 40, "PAYBOT_LINK_SECRET is too weak"),
        ("BX3Q526HeoHmdPTmcVXHMuo14v8vjTMdR8Ypd3a7", "PAYBOT_LINK_SECRET is the Mangopay API key"),
        (STRONG, None),
    ],
)
def test_the_link_secret_is_required_strong_and_not_the_api_key(
    tmp_path: Path, secret: str | None, says: str | None
) -> None:
    from bot.config import Settings
    from bot.errors import ConfigError

    settings = Settings(
        paybot_provider="mangopay",
        mangopay_client_id="client-1",
        mangopay_api_key="BX3Q526HeoHmdPTmcVXHMuo14v8vjTMdR8Ypd3a7",
        paybot_link_secret=secret,
        mangopay_card_page_url="https://pay.example.com/card/{id}?user={user}&token={token}",
        paybot_web_url="https://paybot.example.com",
        paybot_db_path=str(tmp_path / "p.db"),
    )
    if says is None:
        assert settings.require_mangopay()[0] == "client-1" and STRONG in settings.secrets()
        return
    with pytest.raises(ConfigError, match=says) as err:
        settings.require_mangopay()
    assert secret is None or secret not in str(err.value)


# ---------------------------------------------------------------- #23.12: the card page's link is signed


def test_the_card_page_link_is_signed_for_its_user_and_expires_and_its_id_is_never_logged(
    mw: MangopayWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """REGISTER's link was the bare Card Registration id: anyone who saw it (or guessed it) could save a card for
    someone else, forever, and the id was logged. The link is signed for the Mangopay user and the registration,
    with an end (PAYBOT_LINK_TTL, 15 minutes): the page refuses the bare id, another user's link, a link past
    its end and a link used once; no log line holds the registration's id."""
    import logging

    import requests

    from bot.sims.mangopay import MangopayError

    caplog.set_level(logging.DEBUG)
    page = mw.sim.base + "/_sim/card-page/{id}?user={user}&token={token}"
    mw.mp.card_page_url = page
    registration = mw.mp.register(ALICE)
    assert registration.url and registration.valid_for is not None
    reg_id = mw.mp._row(ALICE).card_registration_id
    assert reg_id is not None
    bare = f"{mw.sim.base}/_sim/card-page/{reg_id}"
    assert requests.get(bare, timeout=10).status_code == 403, "the bare registration id opens the card page"
    assert requests.get(registration.url, timeout=10).status_code == 200
    other = mw.mp.register(CAROL).url
    assert other is not None
    with pytest.raises(MangopayError):  # carol's token on alice's registration
        mw.sim.follow_card_link(registration.url.split("?")[0] + "?" + other.split("?")[1])
    mw.clock.advance(registration.valid_for)
    with pytest.raises(MangopayError):
        mw.sim.follow_card_link(registration.url)
    again = mw.mp.register(ALICE).url
    assert again is not None
    mw.sim.follow_card_link(again)
    with pytest.raises(MangopayError):  # single-use
        mw.sim.follow_card_link(again)
    mw.sim.inject("GET /cardregistrations/{id}", 500, times=20)
    mw.svc.provider_events()
    from bot.logs import QUIET

    # what paybot's log would hold (bot.logs.setup keeps the QUIET libraries at warnings: urllib3 logs URLs)
    logged = "\n".join(
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING or r.name.split(".")[0] not in QUIET
    )
    for made in mw.sim.of_kind("cardregistration"):
        assert made["Id"] not in logged, "a card registration's id (a bearer credential) reached the log"


# ---------------------------------------------------------------- #23.4: bank-page links are short-lived, single-use


def test_a_bank_page_link_works_once_and_for_minutes_not_a_day(mw: MangopayWorld) -> None:
    """The bank-page link was a 24-hour bearer credential, good any number of times. It is now a link to paybot's
    cash-out account page (bot.web.page_links): PAYBOT_LINK_TTL (15 minutes) and once, as the DM says (the page's
    own tests prove the expiry and the single use)."""
    mw.make_receiver(ALICE)
    mw.pay()
    _bank_link(mw)
    assert dms_to(mw, ALICE)[-1].endswith(" The link works for 15 minutes. Then DM CASHOUT again.")


def test_pages_opened_and_never_completed_do_not_keep_a_card_saved_waiting(mw: MangopayWorld) -> None:
    """Twenty-five people open the card page and never finish it; the next one who does is told their card was
    saved within two polls (open registrations are read twenty a poll, in turn), not never."""
    from bot.ports import EventKind

    for n in range(25):
        assert mw.mp.register(f"9{n:03d}").url
    late = "99999"
    registration = mw.mp.register(late)
    assert registration.url
    mw.sim.complete_card_page(mw.mp._row(late).card_registration_id or "", CARD_OK)
    told = [e for _ in range(2) for e in mw.mp._cards_saved() if e.kind == EventKind.CARD_SAVED]
    assert [e.user_id for e in told] == [late]


def test_a_card_page_is_one_per_user_and_ages_out_after_a_day(mw: MangopayWorld) -> None:
    """REGISTER twice opens one registration (a new link to the same page); a page never completed is no
    longer read after a day, and REGISTER then opens a new one."""
    first = mw.mp.register(ALICE)
    opened = mw.mp._row(ALICE).card_registration_id
    again = mw.mp.register(ALICE)
    assert first.url and again.url and opened and mw.mp._row(ALICE).card_registration_id == opened
    mw.clock.advance(timedelta(hours=25))
    assert mw.mp._cards_saved() == []
    assert mw.mp._row(ALICE).card_registration_id is None
    assert mw.mp.register(ALICE).url and mw.mp._row(ALICE).card_registration_id not in (None, opened)


def test_money_received_by_card_waits_before_it_can_be_cashed_out(mw: MangopayWorld) -> None:
    """alice receives $5.00 paid by bob's card and DMs CASHOUT at once: nothing leaves (a stolen card's payment
    can be disputed; a mule must not take it out); she is told it waits 7 days. Eight days later it goes."""
    mw.svc.policy = replace(mw.svc.policy, cashout_hold=timedelta(days=7))
    mw.make_receiver(ALICE)
    mw.pay()
    mw.sim.register_bank_account(mw.author(ALICE))
    cashout(mw)
    assert mw.sim.open_payouts() == []
    assert "waits 7 days before it can leave" in dms_to(mw, ALICE)[-1]
    mw.clock.advance(timedelta(days=8))
    cashout(mw)
    assert [p["DebitedFunds"]["Amount"] for p in mw.sim.open_payouts()] == [500]


def test_cash_outs_per_user_per_day_are_bounded(mw: MangopayWorld) -> None:
    """With two cash-outs a day, alice's third CASHOUT within 24 hours is refused before the provider is asked."""
    mw.svc.policy = replace(mw.svc.policy, cashouts_per_day=2)
    mw.make_receiver(ALICE)
    mw.sim.register_bank_account(mw.author(ALICE), currency="USD")  # before she has a wallet: its currency said
    for amount in ("5", "6", "7"):
        mw.pay(amount=amount)
        cashout(mw)
        for payout in mw.sim.open_payouts():
            mw.sim.settle_payout(payout["Id"])
        mw.svc.provider_events()
    assert "cashed out 2 times in the last 24 hours" in dms_to(mw, ALICE)[-1]


def test_status_shows_a_cash_out_of_young_money_when_the_hold_was_lowered(mw: MangopayWorld) -> None:
    """An operator who sets the cash-out hold to nothing sees, in `paybot status`, each cash-out that took money
    received less than 7 days before (a card payment can still be disputed), for 30 days, once."""
    from bot import admin
    from bot.repo.sql import SqlStore

    assert isinstance(mw.uow, SqlStore)
    mw.svc.policy = replace(mw.svc.policy, cashout_hold=timedelta(0))
    mw.make_receiver(ALICE)
    mw.pay()
    mw.sim.register_bank_account(mw.author(ALICE))
    cashout(mw)
    [shown] = [w for w in admin.money_warnings(mw.uow, mw.clock.now()) if w["what"] == "young_payout"]
    assert "took money received less than 7 days before" in shown["text"] and "$5.00" in shown["text"]
    for payout in mw.sim.open_payouts():
        mw.sim.settle_payout(payout["Id"])
    mw.svc.provider_events()
    mw.clock.advance(timedelta(days=8))
    mw.pay(to="carol")
    assert [w["what"] for w in admin.money_warnings(mw.uow, mw.clock.now())].count("young_payout") == 1


# ---------------------------------------------------------------- #23.4: a new bank account is confirmed first

THIEF_IBAN = "GB82 WEST 1234 5698 7654 32"  # an account someone else added with the user's link (ends 5432)


def _asked(mw: MangopayWorld, user: str = ALICE) -> str:
    """The code the bot's newest DM to the user asks them to reply YES with, for a new account."""
    said = dms_to(mw, user)[-1]
    assert "that you have not confirmed before, so nothing was paid out yet" in said, said
    return said.split("reply YES ", 1)[1][:4]


def test_a_cash_out_to_an_account_never_confirmed_asks_its_owner_first(mw: MangopayWorld) -> None:
    """Whoever saw alice's bank-page link once could add their own IBAN; CASHOUT then paid the newest account
    without asking. Now an account alice never confirmed is named by its last four characters and nothing is paid
    until she replies YES with them; a newer account is asked about again, and her no refuses it for good: her next
    cash-out pays the account she confirmed, never the refused one."""
    mw.make_receiver(ALICE)
    mw.pay()
    _bank_link(mw)
    _add_account(mw)  # her own account, ending 0143
    cashout(mw, confirm=False)
    assert _asked(mw) == "0143" and mw.payouts() == []
    assert "within 10 minutes" in dms_to(mw, ALICE)[-1]
    mw.clock.advance(timedelta(seconds=5))
    mw.svc.on_dm(mw.posts.dm("alice", "yes 0143"))
    [payout] = mw.payouts()
    assert dms_to(mw, ALICE)[-1].startswith("$5.00 is on its way to your bank account ending 0143")
    mw.sim.settle_payout(payout["Id"])
    mw.svc.provider_events()
    # Someone who saw a later link adds their IBAN, newest; alice is paid again.
    mw.pay()
    mw.sim.register_bank_account(mw.author(ALICE), THIEF_IBAN)
    cashout(mw, confirm=False)
    assert _asked(mw) == "5432" and len(mw.payouts()) == 1
    mw.clock.advance(timedelta(seconds=5))
    mw.svc.on_dm(mw.posts.dm("alice", "no 5432"))
    assert dms_to(mw, ALICE)[-1] == (
        "Nothing was paid out, and the account [5432] will not be paid. If you did not add it, tell the operator."
    )
    assert len(mw.payouts()) == 1 and mw.wallet(ALICE) == 500
    cashout(mw, confirm=False)  # the refused account is never paid nor asked about again: hers is
    assert dms_to(mw, ALICE)[-1].startswith("$5.00 is on its way to your bank account ending 0143")
    assert [p["BankAccountId"] for p in mw.payouts()] == [payout["BankAccountId"]] * 2


def test_an_account_added_after_the_question_is_not_the_one_her_yes_confirms(
    mw: MangopayWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by an attack: alice is asked about her account (0143); before she answers, a thief adds his IBAN
    (5432, newest). Her yes for 0143 was then recorded on the thief's account: she was asked about 5432, her no
    "refused" it, and her next CASHOUT paid it. Her yes now confirms 0143, and that cash-out pays 0143, whatever
    was added meanwhile; the same after a crash between her yes and the payout."""
    from bot.faults import InjectedFault

    mw.make_receiver(ALICE)
    mw.pay()
    own = mw.sim.register_bank_account(mw.author(ALICE))
    cashout(mw, confirm=False)
    assert _asked(mw) == "0143"
    thief = mw.sim.register_bank_account(mw.author(ALICE), THIEF_IBAN)
    mw.clock.advance(timedelta(seconds=5))
    monkeypatch.setenv("PAYBOT_FAULT", "dm_committed")
    monkeypatch.setenv("PAYBOT_FAULT_MODE", "raise")
    with pytest.raises(InjectedFault):  # the worker dies once her yes is committed, before the payout
        mw.svc.on_dm(mw.posts.dm("alice", "yes 0143"))
    monkeypatch.delenv("PAYBOT_FAULT")
    assert mw.svc.resume() == 1
    [payout] = mw.payouts()
    assert payout["BankAccountId"] == own["Id"] != thief["Id"]
    assert dms_to(mw, ALICE)[-1].startswith("$5.00 is on its way to your bank account ending 0143")
    mw.sim.settle_payout(payout["Id"])
    mw.svc.provider_events()
    mw.pay()
    cashout(mw, confirm=False)  # the thief's account, newest and never confirmed, is asked about, not paid
    assert _asked(mw) == "5432" and len(mw.payouts()) == 1


def test_a_yes_to_a_new_account_counts_only_after_the_question_within_its_time_and_for_the_newest_cash_out(
    mw: MangopayWorld,
) -> None:
    """A yes that was sent before the question, or came after its 10 minutes, pays nothing; a newer CASHOUT ends
    the one still waiting, whose yes then pays nothing either."""
    mw.make_receiver(ALICE)
    mw.pay()
    mw.sim.register_bank_account(mw.author(ALICE))
    early = mw.posts.dm("alice", "yes 0143")  # written before the bot asked
    mw.clock.advance(timedelta(seconds=5))
    cashout(mw, confirm=False)
    mw.svc.on_dm(early)
    assert mw.payouts() == [] and dms_to(mw, ALICE)[-1].startswith("Your answer was sent before I asked")
    mw.clock.advance(timedelta(minutes=11))
    mw.svc.on_dm(mw.posts.dm("alice", "yes 0143"))
    assert mw.payouts() == []
    assert dms_to(mw, ALICE)[-1] == (
        "Your yes for the account [0143] came too late; nothing was paid out. DM CASHOUT again."
    )
    cashout(mw, confirm=False)
    mw.clock.advance(timedelta(seconds=5))
    first = mw.posts.dm("alice", "yes 0143")  # answers the first question, read after a newer CASHOUT
    mw.clock.advance(timedelta(seconds=5))
    cashout(mw, confirm=False)  # a newer CASHOUT: the first one waiting ends
    mw.svc.on_dm(first)
    assert mw.payouts() == [] and [status for _, status in rows_of(mw)].count("confirm_account") == 1
    mw.clock.advance(timedelta(seconds=5))
    mw.svc.on_dm(mw.posts.dm("alice", "yes 0143"))
    assert len(mw.payouts()) == 1 and [status for _, status in rows_of(mw)].count("created") == 1


def rows_of(mw: MangopayWorld) -> list[tuple[str, str]]:
    from tests.support.cashout_world import rows

    return [(r[0], r[1]) for r in rows(mw)]


def test_an_account_code_is_never_a_payments_code() -> None:
    """ "YES 1234" confirms a bank account: payment codes are never all digits (drawn until one is not), and an
    account whose last four characters are a waiting payment's code is asked about with four random digits."""
    from bot.app.accounts import account_code
    from bot.domain import CODE_ALPHABET, Status, TransferKind
    from bot.domain.entities import Transfer

    class Pending:
        def pending_of(self, user_id: str) -> list[Transfer]:
            return [
                Transfer(
                    root_tweet_id="1",
                    sender_id=user_id,
                    recipient_id="2",
                    kind=TransferKind.SEND,
                    status=Status.PENDING,
                    command_tweet_id="1",
                    amount_minor=100,
                    currency="USD",
                    code="AB12",
                )
            ]

    class Tx:
        transfers = Pending()

    assert account_code(Tx(), "10", "0143") == "0143"  # type: ignore[arg-type]
    other = account_code(Tx(), "10", "ab12")  # type: ignore[arg-type]
    assert other.isdigit() and len(other) == 4
    assert account_code(Tx(), "10", None).isdigit()  # type: ignore[arg-type]
    assert any(c.isdigit() for c in CODE_ALPHABET)  # so all-digit codes could be drawn, and are skipped

"""Mangopay's strong customer authentication as the bot lives it (the service on the real adapter, through the
official SDK, against the emulator): an Owner enrols before anything waits on them, each SCA link carries the
bot's return address, percent-encoded, and each DM says the 10 minutes Mangopay's sessions last."""

from __future__ import annotations

from urllib.parse import quote

from bot.ports import FakeClock
from bot.providers.mangopay_provider import SCA_SESSION_LIFETIME, OwnerIdentity, owner_identity
from tests.test_cashout import BOB, CAROL, MangopayWorld, dms_to
from tests.test_cashout import mw as mw  # the cash-out tests' world: bob has a card (a fixture, used by name)

RETURN = "returnUrl=" + quote("https://x.com/messages", safe="")


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
    assert enrol.startswith("To receive payments, first secure your account with the payment provider here "
                            "(the link works 10 minutes): ")
    user = mw.sim.objects[mw.author(CAROL)]
    assert (user["UserCategory"], user["UserStatus"]) == ("OWNER", "PENDING_USER_ACTION")
    assert _link(enrol).endswith(RETURN) and mw.sim.open_kyc(mw.author(CAROL)) == []
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
    assert "(your payment account is not secured yet: DM CLAIM for the link)" in dms_to(mw, BOB)[-1]
    assert "Nothing was charged" in dms_to(mw, BOB)[-1]


def test_the_identity_mangopay_gets_comes_from_one_place_not_built_yet(mw: MangopayWorld) -> None:
    """Categorising as Owner sends what `owner_identity` answers (one function, until the identity page fills it
    in): the placeholders today, any other identity when it is swapped."""
    assert owner_identity("12") == OwnerIdentity("X user", "12", "x-12@users.paybot.invalid", 946684800, "FR", "FR")
    mw.mp.identity = lambda uid: OwnerIdentity("Carol", "Martin", "carol@example.org", 652117514, "BE", "LU")
    mw.mp.onboard(CAROL)
    user = mw.sim.objects[mw.author(CAROL)]
    assert (user["Birthday"], user["Nationality"], user["CountryOfResidence"]) == (652117514, "BE", "LU")

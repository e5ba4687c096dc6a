"""The Mangopay adapter on its emulator, for the tests: a provider on a fresh sim, people with a card, a receiver, a
payment."""

from __future__ import annotations

from pathlib import Path

from mangopay.api import APIRequest

from bot.money import Money
from bot.ports import PayResult
from bot.providers.mangopay_provider import MangopayProvider
from bot.sims.mangopay import CARD_OK, MangopaySim
from tests.support.mangopay_people import KnownPeople
from tests.support.records import mangopay_records

EUR5 = Money(500, "EUR")


BOB, ALICE, CAROL = "10", "11", "12"  # X user ids


def provider(sim: MangopaySim, tmp: Path, retries: int = 2) -> MangopayProvider:
    handler = APIRequest(
        client_id=sim.client_id,
        apikey=sim.api_key,
        api_url=sim.base + "/v2.01/",
        api_sandbox_url=sim.base + "/v2.01/",
        sandbox=False,
    )
    return MangopayProvider(
        handler,
        mangopay_records(tmp / "mangopay.db", sim.clock),
        sim.clock,
        card_page_url=sim.base + "/_sim/card-page/{id}",
        currency="EUR",
        retries=retries,
        people=KnownPeople(),
    )


def give_card(sim: MangopaySim, mp: MangopayProvider, user: str, number: str = CARD_OK) -> None:
    registration = mp.register(user)
    assert registration.url and registration.url.startswith(sim.base + "/_sim/card-page/")
    sim.complete_card_page(registration.url.rsplit("/", 1)[1], number)
    assert mp.has_card(user)


def make_receiver(sim: MangopaySim, mp: MangopayProvider, user: str) -> None:
    enrolment = mp.onboard(user)  # an Owner enrols in SCA before anything else
    assert enrolment.enrol and enrolment.url and not enrolment.ready
    assert sim.follow_sca_link(enrolment.url)["controlStatus"] == "VALIDATED"
    onboarding = mp.onboard(user)
    assert not onboarding.ready and onboarding.url and not onboarding.enrol
    [session] = sim.open_kyc(mp._row(user).mangopay_user_id)
    assert onboarding.url == session["HostedUrl"]
    sim.pass_kyc(session["Id"])
    assert mp.can_receive(user) and mp.onboard(user).ready
    sim.pass_wallet_sca(str(mp._row(user).mangopay_user_id))  # their account opened once (180 days)


def pay(mp: MangopayProvider, key: str = "pay:1:10:11", to: str = ALICE, sender: str = BOB) -> PayResult:
    return mp.pay(key=key, sender_id=sender, recipient_id=to, amount=EUR5, memo="pizza")

"""The cash-out tests' worlds: the use cases on fakes with people who hold money (World's helpers), and on the Mangopay
adapter and its emulator (MangopayWorld, the fixture mw: bob has a card)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from mangopay.api import APIRequest
from sqlmodel import col, select

from bot.domain import PayoutStatus
from bot.domain.entities import Payout
from bot.providers.mangopay_provider import MangopayProvider
from bot.repo.sql import SqlStore
from bot.sims.mangopay import CARD_OK, MangopaySim
from tests.support.mangopay_people import KnownPeople
from tests.support.records import mangopay_records
from tests.support.service_world import World

BOB, ALICE, CAROL, DAVE = "10", "11", "12", "13"


ACCOUNT_ASK = re.compile(r"(?:reply YES|répondez OUI) (\w{4}) (?:within|dans)")


def cashout(w: World, by: str = "alice", text: str = "cashout", *, confirm: bool = True) -> str:
    """`by` DMs the bot; returns the DM event's id. When the bot answers by asking them to confirm a new bank
    account ("reply YES 1234"), they do (`confirm`)."""
    dm = w.posts.dm(by, text)
    w.svc.on_dm(dm)
    asked = ACCOUNT_ASK.search((dms_to(w, dm.sender_id) or [""])[-1])
    if confirm and asked:
        w.clock.advance(timedelta(seconds=1))  # they read the question, then answer
        w.svc.on_dm(w.posts.dm(by, f"yes {asked.group(1)}"))
    return dm.id


def confirmed_before(w: World, user_id: str, account_ref: str) -> None:
    """The user confirmed that account by DM with an earlier cash-out (the crash tests begin after it)."""
    now = w.clock.now()
    with w.uow() as s:
        s.payouts.add(
            Payout(
                user_id=user_id,
                key=f"cashout:before:{user_id}",
                currency="USD",
                status=PayoutStatus.NOT_MADE,
                failure="nothing to cash out",
                account_ref=account_ref,
                account_code="4321",
                account_confirmed_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        s.commit()


def dms_to(w: World, user_id: str) -> list[str]:
    return [text for to, text in w.outbox() if to == user_id]


def rows(w: World) -> list[tuple[str, str, int | None, str | None, str | None]]:
    """(user, status, amount, ref, failure) of every cash-out, oldest first."""
    assert isinstance(w.uow, SqlStore)
    with w.uow() as s:
        return [
            (p.user_id, p.status, p.amount_minor, p.ref, p.failure)
            for p in s.exec(select(Payout).order_by(col(Payout.id)))
            if not p.key.startswith("cashout:before:")
        ]


class MangopayWorld(World):
    """The service on the real Mangopay adapter, through the official SDK, against the emulator, on one clock."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp)
        self.sim = MangopaySim(self.clock)
        self.sim.start()
        self.people = KnownPeople()
        handler = APIRequest(
            client_id=self.sim.client_id,
            apikey=self.sim.api_key,
            api_url=self.sim.base + "/v2.01/",
            api_sandbox_url=self.sim.base + "/v2.01/",
            sandbox=False,
        )
        self.mp = MangopayProvider(
            handler,
            mangopay_records(tmp / "mangopay.db", self.clock),
            self.clock,
            card_page_url=self.sim.base + "/_sim/card-page/{id}",
            currency="USD",
            link_secret=self.sim.link_secret,
            people=self.people,
        )
        self.svc.provider = self.mp
        # Cash-outs right after a payment: the hold on money received and the daily limit have tests of their own
        # (tests/integration/test_mangopay_guards.py).
        self.svc.policy = replace(self.svc.policy, cashout_hold=timedelta(0), cashouts_per_day=100)

    def close(self) -> None:
        self.mp.close()
        self.sim.stop()

    def author(self, user: str) -> str:
        found = self.mp._row(user).mangopay_user_id
        assert found is not None
        return found

    def give_card(self, user: str) -> None:
        registration = self.mp.register(user)
        assert registration.url
        self.sim.complete_card_page(registration.url.rsplit("/", 1)[1], CARD_OK)
        assert self.mp.has_card(user)

    def make_receiver(self, user: str) -> None:
        enrolment = self.mp.onboard(user)
        assert enrolment.enrol and enrolment.url
        self.sim.follow_sca_link(enrolment.url)
        assert not self.mp.onboard(user).ready
        [session] = self.sim.open_kyc(self.author(user))
        self.sim.pass_kyc(session["Id"])
        assert self.mp.can_receive(user)
        self.sim.pass_wallet_sca(self.author(user))  # they opened their account once (180 days of wallet access)

    def pay(self, to: str = "alice", amount: str = "5") -> None:
        self.svc.on_mention(self.posts.mention("bob", f"@paybot send {amount} to @{to}"))
        self.svc.on_dm(self.posts.dm("bob", "yes"))

    def wallet(self, user: str) -> int:
        return sum(int(x["Balance"]["Amount"]) for x in self.sim.of_kind("wallet") if self.author(user) in x["Owners"])

    def payouts(self) -> list[dict[str, Any]]:
        return self.sim.of_kind("payout")

    def posts_to(self, route: str) -> list[int]:
        return [r["status"] for r in self.sim.requests if r["route"] == route]


@pytest.fixture
def mw(tmp_path: Path) -> Iterator[MangopayWorld]:
    world = MangopayWorld(tmp_path)
    world.give_card(BOB)
    yield world
    world.close()

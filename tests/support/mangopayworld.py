"""What the tests of Mangopay's pages share: paybot's web app with the Mangopay adapter (the official SDK to the
emulator on 127.0.0.1), both on the web tests' store and clock, and a person who gave the identity page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from mangopay.api import APIRequest

from bot.domain.entities import IdentityRecord
from bot.providers.mangopay_people import PagesDesk
from bot.providers.mangopay_provider import MangopayProvider
from bot.sims.mangopay import MangopaySim
from tests.support.records import mangopay_records
from tests.support.webworld import SECRET, TTL, World

ALICE, BOB = "1001", "1002"  # X user ids


@dataclass
class MangopayPages:
    """The web world, the emulator, the adapter (its people: the web world's store) and its desk."""

    web: World
    sim: MangopaySim
    mp: MangopayProvider
    desk: PagesDesk

    @classmethod
    def make(cls, web: World, tmp: Path) -> MangopayPages:
        sim = MangopaySim(web.clock)
        sim.start()
        handler = APIRequest(
            client_id=sim.client_id,
            apikey=sim.api_key,
            api_url=sim.base + "/v2.01/",
            api_sandbox_url=sim.base + "/v2.01/",
            sandbox=False,
        )
        desk = PagesDesk(store=web.store, clock=web.clock, base_url=web.base, link_secret=SECRET, ttl=TTL)
        mp = MangopayProvider(
            handler,
            mangopay_records(tmp / "mangopay.db", web.clock),
            web.clock,
            card_page_url=sim.base + "/_sim/card-page/{id}",
            currency="EUR",
            people=desk,
        )
        return cls(web, sim, mp, desk)

    def close(self) -> None:
        self.mp.close()
        self.sim.stop()

    def give_identity(self, user: str, first: str = "Alice", last: str = "Martin", lang: str = "en") -> None:
        """`user` filled the identity page to receive money."""
        now = self.web.clock.now()
        with self.web.store() as tx:
            tx.identities.add(
                IdentityRecord(
                    user_id=user,
                    first_name=first,
                    last_name=last,
                    email=f"{first.lower()}@example.com",
                    birthday=date(1990, 3, 31),
                    nationality="FR",
                    residence="FR",
                    address_line1="12 rue de la Paix",
                    city="Paris",
                    postal_code="75002",
                    terms_url="https://mangopay.com/terms-and-conditions",
                    terms_accepted_at=now,
                    lang=lang,
                    updated_at=now,
                )
            )
            tx.commit()

    def author(self, user: str) -> str:
        found = self.mp._row(user).mangopay_user_id
        assert found is not None
        return found

    def verified_owner(self, user: str) -> None:
        """`user` became an Owner, enrolled in SCA, passed the identity check, and has a EUR wallet."""
        enrolment = self.mp.onboard(user)
        assert enrolment.enrol and enrolment.url
        assert self.sim.follow_sca_link(enrolment.url)["controlStatus"] == "VALIDATED"
        self.mp.onboard(user)
        [session] = self.sim.open_kyc(self.author(user))
        self.sim.pass_kyc(session["Id"])
        assert self.mp.can_receive(user)
        self.mp.wallet(user, "EUR")
        self.sim.pass_wallet_sca(self.author(user))

    def recipients(self, user: str) -> list[dict[str, Any]]:
        return [r for r in self.sim.of_kind("recipient") if r["UserId"] == self.author(user)]


NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

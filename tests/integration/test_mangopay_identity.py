"""Mangopay gets the person's own identity (the identity page's record), never a placeholder: a user is made with
the name and e-mail they gave, an Owner with their birthday, nationality and residence as well; who gave nothing
(or not what an Owner needs) is sent the identity page's link, and nothing reaches Mangopay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from mangopay.api import APIRequest

from bot.domain import PagePurpose
from bot.domain.entities import IdentityRecord
from bot.errors import ProviderError
from bot.ports import FakeClock
from bot.providers.mangopay_people import PagesDesk
from bot.providers.mangopay_provider import MangopayProvider
from bot.repo.engine import make_engine
from bot.repo.sql import SqlStore
from bot.sims.mangopay import MangopaySim
from bot.web import page_links
from tests.support.mangopay_people import KnownPeople
from tests.support.records import mangopay_records
from tests.support.webworld import SECRET

ALICE, BOB = "21", "22"


@pytest.fixture
def sim() -> Iterator[MangopaySim]:
    s = MangopaySim(FakeClock())
    s.start()
    yield s
    s.stop()


def adapter(sim: MangopaySim, tmp: Path, people: object) -> MangopayProvider:
    handler = APIRequest(
        client_id=sim.client_id,
        apikey=sim.api_key,
        api_url=sim.base + "/v2.01/",
        api_sandbox_url=sim.base + "/v2.01/",
        sandbox=False,
    )
    return MangopayProvider(
        handler,
        mangopay_records(tmp / "mp.db", sim.clock),
        sim.clock,
        card_page_url=sim.base + "/_sim/card-page/{id}",
        currency="EUR",
        people=people,  # type: ignore[arg-type]
    )


def test_an_owner_is_made_from_the_identity_the_person_gave(sim: MangopaySim, tmp_path: Path) -> None:
    people = KnownPeople()
    mp = adapter(sim, tmp_path, people)
    onboarding = mp.onboard(ALICE)
    assert onboarding.enrol and onboarding.url
    who = people.identity(ALICE)
    assert who is not None and who.address is not None
    user = sim.objects[str(mp._row(ALICE).mangopay_user_id)]
    assert (user["FirstName"], user["LastName"], user["Email"]) == (who.first_name, who.last_name, who.email)
    # Birthday: that day's midnight, UTC (so it is not read as the day before); the address sent at creation
    assert user["Birthday"] == int(datetime(1990, 3, 31, tzinfo=UTC).timestamp())
    assert (user["Nationality"], user["CountryOfResidence"]) == ("FR", "FR")
    assert user["Address"]["City"] == "Paris" and user["UserCategory"] == "OWNER"
    assert user["TermsAndConditionsAccepted"] is True
    assert "paybot.invalid" not in user["Email"] and user["FirstName"] != "X user"
    mp.close()


@pytest.mark.parametrize("given", ["nothing", "only what paying needs"])
def test_who_has_not_given_what_an_owner_needs_gets_the_identity_page_and_mangopay_gets_nothing(
    sim: MangopaySim, tmp_path: Path, given: str
) -> None:
    people = KnownPeople(
        unknown={ALICE} if given == "nothing" else set(), payers_only={ALICE} if given != "nothing" else set()
    )
    mp = adapter(sim, tmp_path, people)
    onboarding = mp.onboard(ALICE)
    assert not onboarding.ready and not onboarding.enrol and onboarding.url
    assert onboarding.url.startswith("https://paybot.example/l/") and people.links == [("receive", ALICE)]
    assert sim.of_kind("user") == [] and mp._row(ALICE).mangopay_user_id is None
    mp.close()


def test_a_register_without_an_identity_sends_mangopay_nothing(sim: MangopaySim, tmp_path: Path) -> None:
    mp = adapter(sim, tmp_path, KnownPeople(unknown={BOB}))
    with pytest.raises(ProviderError, match="identity page"):
        mp.register(BOB)
    assert sim.of_kind("user") == [] and sim.of_kind("cardregistration") == []
    mp.close()


def test_the_desk_reads_identities_while_the_worker_holds_the_write_lock(tmp_path: Path) -> None:
    """REGISTER is answered inside the DM's transaction (SQLite: BEGIN IMMEDIATE, one writer): the adapter reads the
    identity without taking the lock, so it never waits on the transaction it is called from."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    store = SqlStore(engine)
    clock = FakeClock()
    from sqlalchemy import create_engine

    desk = PagesDesk(
        store=store, clock=clock, base_url="http://127.0.0.1", link_secret=SECRET, reader=create_engine(url)
    )
    now = clock.now()
    with store() as tx:
        tx.identities.add(
            IdentityRecord(
                user_id=ALICE,
                first_name="Alice",
                last_name="Martin",
                email="alice@example.com",
                birthday=date(1990, 3, 31),
                terms_url="https://mangopay.com/terms",
                terms_accepted_at=now,
                updated_at=now,
            )
        )
        tx.commit()
    with store() as held:  # the worker's transaction, with a write pending
        held.identities.add(
            IdentityRecord(
                user_id=BOB,
                first_name="Bruno",
                last_name="Durand",
                email="bruno@example.com",
                terms_url="https://mangopay.com/terms",
                terms_accepted_at=now,
                updated_at=now,
            )
        )
        held.flush()
        who = desk.identity(ALICE)
        assert who is not None and who.email == "alice@example.com" and desk.identity(BOB) is None
        held.commit()
    link = desk.link(PagePurpose.RECIPIENT, ALICE)
    # Nothing personal in the link: an opaque token (expiry, nonce, MAC), not the user's id
    assert link is not None and link.startswith("http://127.0.0.1/l/")
    assert page_links.TOKEN.fullmatch(link.removeprefix("http://127.0.0.1/l/"))
    desk.close()
    engine.dispose()

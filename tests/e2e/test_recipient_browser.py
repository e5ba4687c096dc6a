"""A recipient's whole way on Mangopay, in a real browser: Debian's Chromium, headless, driven by Playwright, on a
phone's screen, against `paybot web` (served by waitress), the bot's service and the Mangopay adapter on the emulator.

alice is paid $5.00 by bob and has never told paybot who she is. Her CLAIM gets the identity page's link; she fills
it in; her next CLAIM makes her an Owner and sends Mangopay's SCA enrolment link, whose hosted page (the emulator's)
she passes in the browser and which sends her back to paybot's return page; she passes the identity check (the
emulator's control API) and her CLAIM releases the money. Her CASHOUT first wants her wallet-access SCA (a return
page again), then gets the cash-out account page's link: she fills in the form Mangopay's schema describes, is sent
to Mangopay's SCA page, comes back to a page saying her account is ready; her next CASHOUT asks her to confirm the
account by DM ("YES 0143"), and her yes pays it out. The failures (another person's link, a reused link, a form
without its CSRF token, a lapsed SCA session) each end on a page saying so, and nothing is created or paid.
axe-core finds no serious violation on any page. Screenshots go to browser-screenshots/ (docs/ keeps the best).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.domain import PagePurpose
from bot.domain.entities import IdentityRecord
from bot.providers.mangopay_people import PagesDesk
from bot.providers.stripe_webhook import webhook_server
from bot.web.app import create_app
from tests.support.browser import accessible, heading, phone, shot
from tests.support.cashout_world import ALICE, BOB, MangopayWorld, cashout, dms_to
from tests.support.webworld import SECRET, web_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DOCS = Path(__file__).parents[2] / "docs"
URL = re.compile(r"https?://\S+")


class Journey(MangopayWorld):
    """The cash-out tests' world (bob has a card), its people on the service's own store, and paybot's pages."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp)
        app_holder: dict[str, Any] = {}
        server = webhook_server(_Lazy(app_holder), "127.0.0.1", 0)  # type: ignore[arg-type]
        self.base = f"http://127.0.0.1:{server.effective_port}"
        self.desk = PagesDesk(store=self.uow, clock=self.clock, base_url=self.base, link_secret=SECRET)
        self.mp.people = self.desk
        app_holder["app"] = create_app(web_settings(self.base), self.uow, self.clock, mangopay=self.mp)
        self.server = server
        threading.Thread(target=server.run, daemon=True, name="web").start()

    def close(self) -> None:
        self.server.close()
        super().close()

    def said(self, user: str) -> str:
        return dms_to(self, user)[-1]

    def link(self, user: str) -> str:
        found = URL.findall(self.said(user))
        assert found, self.said(user)
        return str(found[0])

    def dm(self, by: str, text: str) -> None:
        self.clock.advance(timedelta(seconds=1))
        self.svc.on_dm(self.posts.dm(by, text))


class _Lazy:
    """The WSGI app, made once the server's port (the pages' address) is known."""

    def __init__(self, holder: dict[str, Any]) -> None:
        self.holder = holder

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.holder["app"](environ, start_response)


@pytest.fixture
def jw(tmp_path: Path) -> Iterator[Journey]:
    world = Journey(tmp_path)
    now = world.clock.now()
    with world.uow() as tx:  # bob paid before: he gave his name and e-mail
        tx.identities.add(
            IdentityRecord(
                user_id=BOB,
                first_name="Bruno",
                last_name="Durand",
                email="bruno@example.com",
                terms_url="https://mangopay.com/terms",
                terms_accepted_at=now,
                lang="en",
                updated_at=now,
            )
        )
        tx.commit()
    world.give_card(BOB)
    yield world
    world.close()


def save_shot(page: Any, name: str, *, docs: bool = False) -> None:
    shot(page, name)
    if docs:
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def fill_identity(page: Any) -> None:
    named = re.search(r"@(\w+)", page.locator("#x_handle-for").inner_text())  # the account the page names
    assert named
    page.get_by_label("Your X handle").fill(named.group(1))  # theirs: they type it
    page.get_by_label("First name").fill("Alice")
    page.get_by_label("Last name", exact=True).fill("Martin")
    page.get_by_label("E-mail address").fill("alice@example.com")
    page.get_by_label("Date of birth").fill("1990-03-31")
    page.get_by_label("Nationality").select_option("FR")
    page.get_by_label("Country you live in").select_option("FR")
    page.get_by_label("Street and number").fill("12 rue de la Paix")
    page.get_by_label("Town or city").fill("Paris")
    page.get_by_label("Postal code").fill("75002")
    page.get_by_label("I have read Mangopay's terms and conditions and I accept them.").check()
    page.get_by_role("button", name="Save my details").click()
    assert heading(page) == "Your details are saved"


def fill_account(page: Any, number: str = "FR76 3000 4000 0312 3456 7890 143") -> None:
    page.get_by_label("Account number").fill(number)
    page.get_by_label("BIC (bank code)").fill("BNPAFRPP")


def test_a_recipient_gives_identity_enrols_claims_adds_an_account_and_cashes_out(browser: Any, jw: Journey) -> None:
    jw.pay()  # bob sends alice $5.00: held, she cannot receive yet
    assert jw.statuses() == ["held"]
    jw.dm("alice", "claim")
    assert jw.said(ALICE).startswith("To receive payments, finish setting up your account here: ")
    assert jw.desk.identity(ALICE) is None and jw.mp._row(ALICE).mangopay_user_id is None  # nothing sent
    page = phone(browser, "en")
    page.goto(jw.link(ALICE))  # the identity page: nothing was sent to Mangopay for her
    fill_identity(page)

    jw.dm("alice", "claim")  # an Owner now, with her identity; Mangopay's SCA enrolment first
    enrol = jw.link(ALICE)
    assert "returnUrl=" + quote(f"{jw.base}/l/", safe="") in enrol  # back to paybot's return page
    owner = jw.sim.objects[jw.author(ALICE)]
    assert (owner["FirstName"], owner["Email"], owner["Nationality"]) == ("Alice", "alice@example.com", "FR")
    page.goto(enrol)
    page.get_by_role("button", name="Confirm").click()  # Mangopay's hosted SCA page (the emulator's)
    assert page.url == f"{jw.base}/return/enrolled" and heading(page) == "Your account is secured"
    accessible(page)
    save_shot(page, "page-sca-return-enrolled-en", docs=True)

    jw.svc.provider_events()  # she enrolled: the identity check is sent
    [kyc] = jw.sim.open_kyc(jw.author(ALICE))
    jw.sim.pass_kyc(kyc["Id"])
    jw.dm("alice", "claim")
    assert jw.said(ALICE) == "Done: you received $5.00 from @bob."

    cashout(jw, confirm=False)  # her wallet, read with her there, wants her SCA (every 180 days)
    page.goto(jw.link(ALICE))
    page.get_by_role("button", name="Confirm").click()
    assert page.url == f"{jw.base}/return/wallet" and heading(page) == "It's confirmed"
    accessible(page)
    save_shot(page, "page-sca-return-wallet-en")

    cashout(jw, confirm=False)  # no account yet: the cash-out account page
    assert jw.said(ALICE).startswith("To cash out, add your bank account on this secure page: ")
    page.goto(jw.link(ALICE))
    assert page.url == f"{jw.base}/recipient" and heading(page) == "Your bank account"
    assert page.get_by_label("Last name", exact=True).input_value() == "Martin"  # from her identity
    fill_account(page, "FR76 3000 4000 0312 3456 7890 144")
    page.get_by_role("button", name="Save my bank account").click()
    assert "This IBAN is not valid" in page.locator("#problems").inner_text()  # Mangopay's check, before creation
    assert jw.sim.of_kind("recipient") == []
    accessible(page)
    save_shot(page, "page-recipient-error-en", docs=True)
    fill_account(page)
    page.get_by_role("button", name="Save my bank account").click()
    assert heading(page) == "Confirm it's you with Mangopay"
    accessible(page)
    save_shot(page, "page-recipient-sca-en", docs=True)
    page.get_by_role("link", name="Continue to Mangopay").click()
    page.get_by_role("button", name="Confirm").click()
    assert page.url.startswith(f"{jw.base}/recipient/done") and heading(page) == "Your bank account is ready"
    accessible(page)
    save_shot(page, "page-recipient-done-en", docs=True)
    assert page.csp_errors == []

    cashout(jw, confirm=False)
    assert "reply YES 0143" in jw.said(ALICE) and jw.payouts() == []  # her DM yes, not the page, allows payment
    jw.dm("alice", "yes 0143")
    assert jw.said(ALICE) == (
        "$5.00 is on its way to your bank account ending 0143. I'll DM you when it has been sent."
    )
    assert len(jw.payouts()) == 1


@pytest.fixture
def owner(jw: Journey) -> Journey:
    """alice received $5.00 (an Owner, enrolled, verified; her account opened) and has no cash-out account."""
    now = jw.clock.now()
    with jw.uow() as tx:
        tx.identities.add(
            IdentityRecord(
                user_id=ALICE,
                first_name="Alice",
                last_name="Martin",
                email="alice@example.com",
                birthday=now.date().replace(year=1990),
                nationality="FR",
                residence="FR",
                address_line1="12 rue de la Paix",
                city="Paris",
                postal_code="75002",
                terms_url="https://mangopay.com/terms",
                terms_accepted_at=now,
                lang="en",
                updated_at=now,
            )
        )
        tx.commit()
    jw.make_receiver(ALICE)
    jw.pay()
    return jw


def test_failures_each_show_a_clear_page_and_lose_nothing(browser: Any, owner: Journey) -> None:
    jw = owner
    bobs = jw.desk.link(PagePurpose.RECIPIENT, BOB)  # a link the bot made for bob, forwarded or pushed on alice
    assert bobs is not None
    cashout(jw, confirm=False)
    page = phone(browser, "en")
    page.goto(jw.link(ALICE))
    page.goto(bobs)  # another person's link, in the browser where hers is open
    assert heading(page) == "This link was sent to someone else"
    accessible(page)
    save_shot(page, "page-recipient-foreign-en", docs=True)

    page.goto(f"{jw.base}/recipient")
    fill_account(page)
    page.evaluate("() => document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
    page.get_by_role("button", name="Save my bank account").click()
    assert heading(page) == "This form was not accepted" and jw.sim.of_kind("recipient") == []
    accessible(page)
    save_shot(page, "page-recipient-no-csrf-en")

    page.goto(f"{jw.base}/recipient")
    fill_account(page)
    page.get_by_role("button", name="Save my bank account").click()
    sca = page.get_by_role("link", name="Continue to Mangopay").get_attribute("href")
    page.goto(f"{jw.base}/recipient")  # the link, used: the form is not shown again
    assert heading(page) == "This link was already used" and len(jw.sim.of_kind("recipient")) == 1
    accessible(page)
    save_shot(page, "page-recipient-used-en")

    jw.clock.advance(timedelta(minutes=10))  # she leaves Mangopay's SCA page unfinished: it lapses
    page.goto(sca)
    assert heading(page) == "Your bank account was not added"
    accessible(page)
    save_shot(page, "page-sca-return-lapsed-en", docs=True)
    assert [r["Status"] for r in jw.sim.of_kind("recipient")] == ["CANCELED"]
    cashout(jw, confirm=False)  # nothing was paid: she is sent a new link
    assert jw.said(ALICE).startswith("To cash out, add your bank account") and jw.payouts() == []
    assert jw.wallet(ALICE) == 500


def test_the_pages_speak_french(browser: Any, owner: Journey) -> None:
    with owner.uow() as tx:
        row = tx.identities.get(ALICE)
        assert row is not None
        row.lang = "fr"
        tx.identities.add(row)
        tx.commit()
    cashout(owner, confirm=False)
    page = phone(browser, "fr")
    page.goto(owner.link(ALICE))
    assert heading(page) == "Votre compte bancaire" and page.locator("html").get_attribute("lang") == "fr"
    accessible(page)
    save_shot(page, "page-recipient-fr", docs=True)

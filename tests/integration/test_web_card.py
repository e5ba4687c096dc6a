"""The card page (bot.web.card_page) on the Mangopay adapter and its emulator, through Flask's test client.

The test plays the browser: it reads the page's form, tokenizes the card itself at the emulator's CardRegistrationURL
(as static/card.js does) and posts paybot only the answer, with the browser's description.
tests/e2e/test_web_card_browser.py does the same in Chromium and proves from paybot's own request log that the card
number never reaches it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html import unescape
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from bot.errors import ProviderError
from bot.money import Money
from bot.ports import FakeClock, PayOutcome, Registration
from bot.providers.mangopay_cards import MangopayCards
from bot.providers.mangopay_provider import RENEW_AFTER, MangopayProvider
from bot.repo.engine import make_engine
from bot.repo.memory import MemoryStore
from bot.sims.mangopay import CARD_3DS, CARD_DECLINED, CARD_OK, MangopaySim
from bot.web.card_port import Browser, client_ip
from tests.support.card_kit import on_sim
from tests.support.mangopay_people import KnownPeople
from tests.support.webworld import SECRET, TTL, World

ALICE, BOB = "21", "22"  # X user ids
PAYINS = "POST /payins/recurring/card/direct"
# What Chromium on a phone would post beside the tokenization server's answer.
BROWSER_FORM = {
    "browser_language": "fr-FR",
    "browser_color_depth": "24",
    "browser_screen_height": "915",
    "browser_screen_width": "412",
    "browser_time_zone_offset": "-60",
    "browser_java": "false",
}
HEADERS = {"Accept": "text/html,application/xhtml+xml", "User-Agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7)"}


@dataclass
class CardWorld:
    web: World
    sim: MangopaySim
    mp: MangopayProvider
    client: FlaskClient

    def register(self, user: str) -> str:
        """What REGISTER DMs: a link to paybot's card page (the adapter names the page, the service makes the
        link)."""
        registration = self.mp.register(user)
        assert registration.page == "card" and registration.url is None and registration.valid_for == TTL
        return self.web.link(user, purpose="card")

    def open(self, url: str) -> str:
        """Follow the DM's link; the card page's HTML."""
        followed = self.client.get(urlsplit(url).path)
        assert followed.status_code == 303 and followed.headers["Location"].endswith("/card")
        page = self.client.get("/card", headers=HEADERS)
        assert page.status_code == 200, page.get_data(as_text=True)
        return page.get_data(as_text=True)

    def submit(self, html: str, number: str, *, expiry: str = "1229", cvc: str = "123", **more: str) -> Any:
        """Tokenize as the page's script does, then post paybot the form: never the card itself."""
        return self.post(self.filled(html, number, expiry=expiry, cvc=cvc, **more))

    def filled(self, html: str, number: str, *, expiry: str = "1229", cvc: str = "123", **more: str) -> dict[str, str]:
        """The form the page's script posts: the card tokenized at the tokenization server, the answer, the rest."""
        form = {name: unescape(value) for name, value in re.findall(r'data-([a-z-]+)="([^"]*)"', html)}
        answer = requests.post(
            form["tokenizer"],
            data={
                "accessKeyRef": form["access-key"],
                "data": form["preregistration"],
                "cardNumber": number,
                "cardExpirationDate": expiry,
                "cardCvx": cvc,
            },
            timeout=10,
        ).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        assert csrf
        handle = re.search(r"X account @(\w+)", html)  # the account the page names, typed as its owner would
        assert handle
        body = {
            "csrf": csrf.group(1),
            "registration_data": answer,
            "x_handle": f"@{handle.group(1)}",
            **BROWSER_FORM,
            **more,
        }
        return body

    def post(self, body: dict[str, str]) -> Any:
        return self.client.post("/card", data=body, headers=HEADERS, environ_base={"REMOTE_ADDR": "203.0.113.9"})


@pytest.fixture
def cw(tmp_path: Path) -> Iterator[CardWorld]:
    sim, mp = on_sim(tmp_path)
    assert isinstance(sim.clock, FakeClock)
    clock = sim.clock
    web = World(MemoryStore(), clock=clock)
    app = web.make_app(card=MangopayCards(mp))
    mp.own_card_page = True
    yield CardWorld(web, sim, mp, app.test_client())
    mp.close()
    sim.stop()


def _payins(sim: MangopaySim) -> list[dict[str, Any]]:
    return sim.of_kind("payin")


def test_a_card_saved_on_the_page_pays_a_yes_without_the_person(cw: CardWorld) -> None:
    """The frictionless test card: saved while the person is there (its free-cycle CIT, nothing debited, with the
    browser's own data and IP address); the next payment is merchant-initiated, with no page."""
    done = cw.submit(cw.open(cw.register(ALICE)), CARD_OK)
    assert done.status_code == 200 and 'data-card="saved"' in done.get_data(as_text=True)
    assert cw.mp.has_card(ALICE)
    (cit,) = _payins(cw.sim)
    assert cit["DebitedFunds"]["Amount"] == 0 and cit["Status"] == "SUCCEEDED"
    assert cit["IpAddress"] == "203.0.113.9" and cit["BrowserInfo"] == {
        "AcceptHeader": HEADERS["Accept"],
        "JavaEnabled": False,
        "Language": "fr-FR",
        "ColorDepth": 24,
        "ScreenHeight": 915,
        "ScreenWidth": 412,
        "TimeZoneOffset": -60,
        "UserAgent": HEADERS["User-Agent"],
        "JavascriptEnabled": True,
    }
    assert cw.sim.objects[cit["CardId"]]["Validity"] == "VALID"
    assert cw.web.page_link(cw.register(BOB)) is not None  # (another person's link: unused here)
    result = cw.mp.pay(key="pay:1:21:22", sender_id=ALICE, recipient_id=BOB, amount=Money(500, "EUR"), memo=None)
    assert result.outcome in (PayOutcome.PAID, PayOutcome.HELD)
    mit = _payins(cw.sim)[-1]
    assert mit["DebitedFunds"]["Amount"] == 500 and mit["SecureModeReturnURL"] is None and mit["Status"] == "SUCCEEDED"
    assert cw.client.get("/card").status_code == 410  # the link was used by the saved card


def test_the_challenge_card_passes_3ds_on_the_banks_page_and_comes_back(cw: CardWorld) -> None:
    """The 3DS test card: a page sends the person to the bank's page (a link); back, the page says it is saved."""
    bank = cw.submit(cw.open(cw.register(ALICE)), CARD_3DS)
    html = bank.get_data(as_text=True)
    assert bank.status_code == 200 and 'data-card="bank"' in html and not cw.mp.has_card(ALICE)
    url = unescape(re.findall(r'href="([^"]+)"', html)[-1])
    assert url.startswith(cw.sim.base + "/_sim/3ds-page/")
    back = requests.post(url, data={"answer": "pass"}, allow_redirects=False, timeout=10).headers["Location"]
    assert back.startswith("http://127.0.0.1/card/return?transactionId=")
    saved = cw.client.get(urlsplit(back).path + "?" + urlsplit(back).query)
    assert saved.status_code == 200 and 'data-card="saved"' in saved.get_data(as_text=True)
    assert cw.mp.has_card(ALICE)


def test_a_failed_3ds_saves_nothing_and_the_page_offers_another_try(cw: CardWorld) -> None:
    """Refusing on the bank's page: back on the form, told why; the link still works; no card."""
    html = cw.submit(cw.open(cw.register(ALICE)), CARD_3DS).get_data(as_text=True)
    url = unescape(re.findall(r'href="([^"]+)"', html)[-1])
    requests.post(url, data={"answer": "fail"}, allow_redirects=False, timeout=10)
    again = cw.client.get("/card/return", headers=HEADERS)
    assert again.status_code == 422 and "Nothing was saved" in again.get_data(as_text=True)
    assert not cw.mp.has_card(ALICE)
    assert cw.submit(again.get_data(as_text=True), CARD_OK).status_code == 200 and cw.mp.has_card(ALICE)


def test_a_declined_card_is_said_and_another_card_can_be_saved(cw: CardWorld) -> None:
    """The emulator's declined card: the form again (422) saying the bank declined it, nothing saved, link unused;
    then a good card on the same link is saved."""
    url = cw.register(ALICE)
    refused = cw.submit(cw.open(url), CARD_DECLINED)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Your bank declined this card" in text and 'role="alert"' in text
    assert not cw.mp.has_card(ALICE) and cw.web.page_link(url).used_at is None  # type: ignore[union-attr]
    assert cw.submit(text, CARD_OK).status_code == 200 and cw.mp.has_card(ALICE)


@pytest.mark.parametrize(
    ("number", "expiry", "cvc", "says"),
    [
        ("4970107111111118", "1229", "123", "The card number is not right"),
        (CARD_OK, "0120", "123", "The expiry date is not right"),
        (CARD_OK, "1229", "1", "The security code is not right"),
    ],
)
def test_the_tokenization_servers_refusals_are_said_field_by_field(
    cw: CardWorld, number: str, expiry: str, cvc: str, says: str
) -> None:
    """A number, expiry date or code the tokenization server refuses: the form says which; nothing saved."""
    refused = cw.submit(cw.open(cw.register(ALICE)), number, expiry=expiry, cvc=cvc)
    assert refused.status_code == 422 and says in refused.get_data(as_text=True)
    assert not cw.mp.has_card(ALICE) and _payins(cw.sim) == []


def test_a_form_without_its_csrf_token_or_its_script_saves_nothing(cw: CardWorld) -> None:
    """No CSRF token: the app's refusal page; no tokenization answer (no JavaScript): the form says it needs it."""
    html = cw.open(cw.register(ALICE))
    forged = cw.client.post("/card", data={"registration_data": "data=x", **BROWSER_FORM}, headers=HEADERS)
    assert forged.status_code == 400 and 'data-problem="csrf"' in forged.get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    assert csrf
    bare = cw.client.post("/card", data={"csrf": csrf.group(1), "registration_data": ""}, headers=HEADERS)
    assert bare.status_code == 422 and "needs JavaScript" in bare.get_data(as_text=True)
    assert not cw.mp.has_card(ALICE) and _payins(cw.sim) == []


def test_an_expired_link_shows_its_page_and_saves_nothing(cw: CardWorld) -> None:
    """Past the link's end the card page is the expired-link page, form posts included."""
    html = cw.open(cw.register(ALICE))
    cw.web.clock.advance(TTL + timedelta(seconds=1))
    assert cw.client.get("/card").status_code == 410
    assert cw.submit(html, CARD_OK).status_code == 410 and not cw.mp.has_card(ALICE)


def test_another_persons_registration_is_refused_by_the_adapter(cw: CardWorld) -> None:
    """The adapter finishes only the person's own card registration, and reads back only their own CIT."""
    cards = MangopayCards(cw.mp)
    theirs = cards.open_card(BOB)
    browser = Browser.read(BROWSER_FORM, "text/html", "Mozilla/5.0")
    assert browser is not None
    with pytest.raises(ProviderError):
        cards.finish_card(ALICE, theirs.registration_id, "data=x", browser, "192.0.2.1", "https://p.example/r")
    with pytest.raises(ProviderError):
        cards.card_returned(ALICE, theirs.registration_id)


def test_the_card_pages_policy_reaches_paybot_and_the_tokenization_server_only(cw: CardWorld) -> None:
    """connect-src is 'self' and the registration's tokenization origin; forms post to paybot only; scripts
    come from paybot only."""
    cw.open(cw.register(ALICE))
    policy = cw.client.get("/card").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["connect-src"] == f"'self' {cw.sim.base}"
    assert directives["form-action"] == "'self'" and directives["script-src"] == "'self'"
    script = cw.client.get("/static/card.js")
    assert script.status_code == 200 and b"CardRegistrationURL" in script.data
    script.close()


def test_the_ip_address_trusts_x_forwarded_for_only_as_configured() -> None:
    """By default the connection's address; with PAYBOT_TRUSTED_PROXIES=n the n-th from the right of
    X-Forwarded-For (what the operator's own proxies wrote); never anything that is not an IP address."""
    assert client_ip("10.0.0.5", "198.51.100.1", 0) == "10.0.0.5"
    assert client_ip("10.0.0.5", "6.6.6.6, 198.51.100.1", 1) == "198.51.100.1"
    assert client_ip("10.0.0.5", "198.51.100.1, 10.1.1.1", 2) == "198.51.100.1"
    assert client_ip("10.0.0.5", "198.51.100.1", 2) == "10.0.0.5"  # fewer hops than proxies: not trusted
    assert client_ip("10.0.0.5", "not-an-ip", 1) is None and client_ip(None, None, 0) is None


def test_a_browser_that_says_too_little_or_nonsense_is_refused() -> None:
    """Every BrowserInfo field is needed; absurd screens or time zones are refused."""
    assert Browser.read(BROWSER_FORM, "text/html", "UA") is not None
    for name, value in (
        ("browser_color_depth", ""),
        ("browser_screen_width", "0"),
        ("browser_time_zone_offset", "10000"),
        ("browser_language", ""),
    ):
        assert Browser.read({**BROWSER_FORM, name: value}, "text/html", "UA") is None
    assert Browser.read(BROWSER_FORM, "", "UA") is None and Browser.read(BROWSER_FORM, "text/html", "") is None


def test_the_recurring_registration_is_renewed_before_99_payins_with_the_pages_browser(cw: CardWorld) -> None:
    """Past RENEW_AFTER pay-ins on a registration, the next payment starts a new one with a CIT carrying the
    browser data and IP address the card page gave (never invented), before Mangopay's 205001."""
    cw.submit(cw.open(cw.register(ALICE)), CARD_OK)
    first = cw.sim.of_kind("recurring")[-1]["Id"]
    with cw.sim.lock:
        cw.sim.objects[first]["CurrentState"]["PayinsLinked"] = RENEW_AFTER
    result = cw.mp.pay(key="pay:2:21:22", sender_id=ALICE, recipient_id=BOB, amount=Money(700, "EUR"), memo=None)
    assert result.outcome in (PayOutcome.PAID, PayOutcome.HELD)
    renewed = cw.sim.of_kind("recurring")[-1]
    assert renewed["Id"] != first and renewed["CurrentState"]["PayinsLinked"] == 1
    cit = _payins(cw.sim)[-1]
    assert cit["SecureModeReturnURL"] and cit["RecurringPayinRegistrationId"] == renewed["Id"]
    assert cit["Status"] == "SUCCEEDED"
    assert (cit["IpAddress"], cit["BrowserInfo"]["Language"]) == ("203.0.113.9", "fr-FR")
    assert json.loads(cw.mp._row(ALICE).recurring)[f"EUR:{cit['CardId']}"] == renewed["Id"]


def test_another_persons_card_link_does_not_take_over_an_open_card_page(cw: CardWorld) -> None:
    """A phone with Alice's card page open, given Bob's card link: the page says it was sent to someone else, and
    Alice's page is still hers."""
    cw.open(cw.register(ALICE))
    foreign = cw.client.get(urlsplit(cw.register(BOB)).path)
    assert foreign.status_code == 403 and 'data-problem="foreign"' in foreign.get_data(as_text=True)
    assert cw.client.get("/card").status_code == 200


def test_register_names_paybots_card_page_when_the_pages_are_served(tmp_path: Path) -> None:
    """With PAYBOT_WEB_URL and PAYBOT_LINK_SECRET, bootstrap has the service make page links (stored, for that
    person, in their language) and the Mangopay adapter's REGISTER name paybot's card page; without, neither."""
    from bot.bootstrap import _pages
    from bot.config import Settings
    from bot.repo.sql import SqlStore

    sim, mp = on_sim(tmp_path)
    service = SimpleNamespace(page_link=None)
    _pages(Settings(paybot_provider="mangopay"), service, mp, FakeClock())  # type: ignore[arg-type]
    assert service.page_link is None and not mp.own_card_page and mp.register(ALICE).page is None
    _pages(
        Settings(paybot_provider="mangopay", paybot_web_url="https://pay.example", paybot_link_secret=SECRET),
        service,  # type: ignore[arg-type]
        mp,
        FakeClock(),
    )
    assert mp.own_card_page and mp.register(BOB) == Registration(page="card", valid_for=TTL)
    store = SqlStore(make_engine(f"sqlite:///{tmp_path / 'p.db'}"))
    with store() as tx:
        url = service.page_link(tx, "card", BOB, "fr")
        tx.commit()
    assert url.startswith("https://pay.example/l/")
    with store() as tx:
        link = tx.page_links.get(url.rsplit("/", 1)[1].split(".")[1])
    assert link is not None and (link.purpose, link.user_id, link.lang) == ("card", BOB, "fr")
    mp.close()
    sim.stop()


def test_an_owner_whose_identity_check_is_unfinished_is_told_so(cw: CardWorld) -> None:
    """An Owner not yet verified: Mangopay credits no wallet of theirs (002951), the card's authentication included;
    the page says to finish the identity check, and nothing is saved."""
    owner = cw.mp.user(ALICE)
    with cw.sim.lock:
        cw.sim.objects[owner].update(UserCategory="OWNER", KYCLevel="LIGHT")
    refused = cw.submit(cw.open(cw.register(ALICE)), CARD_OK)
    assert refused.status_code == 422 and "identity check with Mangopay" in refused.get_data(as_text=True)
    assert not cw.mp.has_card(ALICE)


def test_register_without_an_identity_sends_the_identity_page_first(tmp_path: Path) -> None:
    """On paybot's own card page, someone who never gave their name and e-mail is sent the identity page ("pay")
    by REGISTER, and nothing reaches Mangopay: no user, no card registration (no placeholder identity)."""
    sim, mp = on_sim(tmp_path, people=KnownPeople(unknown={"2001"}))
    mp.own_card_page = True
    try:
        reg = mp.register("2001")
        assert reg.page == "pay" and reg.valid_for == TTL and reg.url is None
        assert sim.of_kind("user") == [] and sim.of_kind("cardregistration") == []
        assert mp.register("2002").page == "card"  # someone who gave it is sent the card page
    finally:
        mp.close()
        sim.stop()


def test_a_forwarded_link_saves_no_card_for_its_sender(cw: CardWorld) -> None:
    """A link is a bearer's: mallory's REGISTER link, opened by bob, names mallory's account; bob types his own
    handle and nothing is saved for mallory (no card, no payment, the link still unused), so her YES cannot pay with
    bob's card. Typed as hers (an @ and case aside), it is saved."""
    html = cw.open(cw.register("3001"))
    assert "X account @p3001" in html
    refused = cw.submit(html, CARD_OK, x_handle="bob")
    assert refused.status_code == 422 and "another X account than the one you typed" in unescape(
        refused.get_data(as_text=True)
    )
    assert [c for c in cw.sim.of_kind("card") if c.get("Active")] == [] and _payins(cw.sim) == []
    assert cw.mp.has_card("3001") is False
    again = refused.get_data(as_text=True)
    saved = cw.submit(again, CARD_OK, x_handle="@P3001")
    assert saved.status_code == 200 and cw.mp.has_card("3001") is True


def _registration_shown(html: str) -> str:
    """The card registration a card page shows (its CardRegistrationURL ends with its id on the emulator)."""
    found = re.search(r'data-tokenizer="([^"]+)"', html)
    assert found
    return unescape(found.group(1)).rsplit("/", 1)[1]


def test_reloading_the_card_page_reuses_the_links_open_registration(cw: CardWorld) -> None:
    """Reloads and the same link followed again show the one registration the link's page opened (no new one at
    Mangopay); a card form posted with it spends it (here a declined card), so the form shown again opens one more,
    which reloads reuse in turn; a new link opens its own; the card typed into the last one is saved."""
    url = cw.register(ALICE)
    before = len(cw.sim.of_kind("cardregistration"))
    first = cw.open(url)
    shown = {_registration_shown(first)}
    for _ in range(3):
        reloaded = cw.client.get("/card", headers=HEADERS)
        assert reloaded.status_code == 200
        shown.add(_registration_shown(reloaded.get_data(as_text=True)))
    again = cw.open(url)  # the DM's link tapped again (a new session: a new CSRF token, the same registration)
    shown.add(_registration_shown(again))
    assert len(shown) == 1 and len(cw.sim.of_kind("cardregistration")) == before + 1
    refused = cw.submit(again, CARD_DECLINED).get_data(as_text=True)
    assert "Your bank declined this card" in refused
    second = _registration_shown(refused)
    assert second not in shown and len(cw.sim.of_kind("cardregistration")) == before + 2
    for _ in range(2):
        assert _registration_shown(cw.client.get("/card", headers=HEADERS).get_data(as_text=True)) == second
    assert len(cw.sim.of_kind("cardregistration")) == before + 2
    newer = cw.open(cw.web.link(ALICE, purpose="card"))  # a new REGISTER's link: its own registration
    assert _registration_shown(newer) not in {*shown, second}
    assert len(cw.sim.of_kind("cardregistration")) == before + 3
    assert cw.submit(newer, CARD_OK).status_code == 200 and cw.mp.has_card(ALICE)
    states = {r["Id"]: r["Status"] for r in cw.sim.of_kind("cardregistration")}
    assert states[_registration_shown(newer)] == "VALIDATED" and states[second] == "CREATED"


def test_a_reload_after_the_form_was_posted_does_not_show_the_spent_registration(cw: CardWorld) -> None:
    """A form posted with the wrong handle spends its registration (the browser tokenized into it): the page shown
    again, and its reload, carry a new one, and the card typed there is saved."""
    html = cw.open(cw.register(ALICE))
    cw.submit(html, CARD_OK, x_handle="mallory")
    reloaded = cw.client.get("/card", headers=HEADERS).get_data(as_text=True)
    assert _registration_shown(reloaded) != _registration_shown(html)
    assert cw.submit(reloaded, CARD_OK).status_code == 200 and cw.mp.has_card(ALICE)


def test_back_from_the_bank_after_the_links_end_saves_nothing(cw: CardWorld) -> None:
    """The person passes 3-D Secure on the bank's page (still open) after the link's minutes ran out: back on
    paybot, a page says the link lapsed and nothing was saved; the card is not paybot's to pay with, the link is not
    used, and coming back again changes nothing."""
    url = cw.register(ALICE)
    html = cw.open(url)
    cw.web.clock.advance(TTL - timedelta(minutes=2))
    bank = cw.submit(html, CARD_3DS).get_data(as_text=True)
    assert 'data-card="bank"' in bank
    cw.web.clock.advance(timedelta(minutes=3))  # the link ended; the bank's page (15 minutes of its own) is open
    page = unescape(re.findall(r'href="([^"]+)"', bank)[-1])
    back = requests.post(page, data={"answer": "pass"}, allow_redirects=False, timeout=10).headers["Location"]
    (cit,) = _payins(cw.sim)
    assert cit["Status"] == "SUCCEEDED"  # the bank said yes
    for _ in range(2):
        lapsed = cw.client.get(urlsplit(back).path + "?" + urlsplit(back).query, headers=HEADERS)
        text = unescape(lapsed.get_data(as_text=True))
        assert lapsed.status_code == 410 and "minutes ran out before you came back from your bank" in text
        assert 'data-card="failed"' in text
    assert not cw.mp.has_card(ALICE)
    assert cw.web.page_link(url).used_at is None  # type: ignore[union-attr]


def test_back_from_the_bank_within_the_links_minutes_is_read(cw: CardWorld) -> None:
    """The same return one minute before the link's end saves the card (the lapse is the link's end, not sooner)."""
    html = cw.open(cw.register(ALICE))
    bank = cw.submit(html, CARD_3DS).get_data(as_text=True)
    cw.web.clock.advance(TTL - timedelta(minutes=1))
    page = unescape(re.findall(r'href="([^"]+)"', bank)[-1])
    back = requests.post(page, data={"answer": "pass"}, allow_redirects=False, timeout=10).headers["Location"]
    saved = cw.client.get(urlsplit(back).path + "?" + urlsplit(back).query, headers=HEADERS)
    assert saved.status_code == 200 and 'data-card="saved"' in saved.get_data(as_text=True)
    assert cw.mp.has_card(ALICE)


# ------------------------------------------------------------------ one link, one card (the link is claimed first)

BUSY_TEXT = "this link is saving a card in another window or browser"


def _active_cards(sim: MangopaySim) -> list[dict[str, Any]]:
    return [c for c in sim.of_kind("card") if c.get("Active")]


def _said(page: Any, status: int, mark: str) -> bool:
    return bool(page.status_code == status and f'data-card="{mark}"' in page.get_data(as_text=True))


@pytest.mark.parametrize("second", ["another browser", "a double submit"])
def test_a_form_posted_while_another_is_with_the_provider_saves_nothing(
    cw: CardWorld, second: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack (a forwarded link opened in two browsers, or one form sent twice): the second form arrives while
    the first is with the provider. It reaches nobody, is told why (409) and nothing was saved there; the first is
    saved; one active card at Mangopay; the link is used. (Before the fix both were "saved": two active cards.)"""
    url = cw.register(ALICE)
    first = cw.client
    body_a = cw.filled(cw.open(url), CARD_OK)
    other = first if second == "a double submit" else first.application.test_client()
    body_b = body_a if other is first else cw.filled(CardWorld(cw.web, cw.sim, cw.mp, other).open(url), CARD_OK)
    real = MangopayCards.finish_card
    calls: list[str] = []
    answers: dict[str, Any] = {}

    def with_the_provider(self: MangopayCards, *args: Any, **kw: Any) -> Any:
        calls.append(args[1])
        if len(calls) == 1:  # the first form is at Mangopay: the second is posted now
            answers["second"] = CardWorld(cw.web, cw.sim, cw.mp, other).post(body_b)
        return real(self, *args, **kw)

    monkeypatch.setattr(MangopayCards, "finish_card", with_the_provider)
    answers["first"] = cw.post(body_a)
    assert _said(answers["first"], 200, "saved")
    assert _said(answers["second"], 409, "failed") and BUSY_TEXT in unescape(answers["second"].get_data(as_text=True))
    assert len(calls) == 1 and len(_active_cards(cw.sim)) == 1 and cw.mp.has_card(ALICE)
    assert cw.web.page_link(url).used_at is not None  # type: ignore[union-attr]
    assert cw.client.get("/card").status_code == 410


def test_two_browsers_posting_one_card_link_at_the_same_instant_save_one_card(tmp_path: Path) -> None:
    """On SQLite (one writer at a time), the two forms released together by a barrier: one saved, the other told
    the link is busy (409) or used (410, when it came after); one active card."""
    from bot.repo.sql import SqlStore
    from tests.support.racing import at_once

    sim, mp = on_sim(tmp_path)
    assert isinstance(sim.clock, FakeClock)
    store = SqlStore(make_engine(f"sqlite:///{tmp_path / 'p.db'}"))
    web = World(store, clock=sim.clock)
    app = web.make_app(card=MangopayCards(mp))
    mp.own_card_page = True
    try:
        worlds = [CardWorld(web, sim, mp, app.test_client()) for _ in range(2)]
        url = worlds[0].register(ALICE)
        pages = [w.open(url) for w in worlds]
        out = at_once(lambda i: worlds[i].submit(pages[i], CARD_OK), [0, 1])
        assert not [r for r in out if isinstance(r, Exception)], out
        codes = sorted(r.status_code for r in out if not isinstance(r, Exception))
        assert codes in ([200, 409], [200, 410]), codes
        assert sum(_said(r, 200, "saved") for r in out) == 1 and len(_active_cards(sim)) == 1
        assert web.page_link(url).used_at is not None  # type: ignore[union-attr]
    finally:
        mp.close()
        sim.stop()
        store.engine.dispose()


def test_a_card_posted_in_time_is_saved_though_the_provider_answers_after_the_links_end(
    cw: CardWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The link's minutes count at the claim: a form posted one minute before the link's end whose provider call
    ends after it is saved and uses the link; the link then saves nothing more."""
    url = cw.register(ALICE)
    html = cw.open(url)
    cw.web.clock.advance(TTL - timedelta(minutes=1))
    real = MangopayCards.finish_card

    def slow(self: MangopayCards, *args: Any, **kw: Any) -> Any:
        cw.web.clock.advance(timedelta(minutes=2))  # the provider answers after the link's end
        return real(self, *args, **kw)

    monkeypatch.setattr(MangopayCards, "finish_card", slow)
    assert _said(cw.submit(html, CARD_OK), 200, "saved") and cw.mp.has_card(ALICE)
    link = cw.web.page_link(url)
    assert link is not None and link.used_at is not None and link.used_at < link.expires_at
    assert cw.client.get("/card").status_code == 410


def test_a_declined_card_frees_the_link_for_another_browser(cw: CardWorld) -> None:
    """A refused card releases the link's claim: the same link saves a card from another browser."""
    url = cw.register(ALICE)
    html_a = cw.open(url)
    other = CardWorld(cw.web, cw.sim, cw.mp, cw.client.application.test_client())
    html_b = other.open(url)
    assert cw.submit(html_a, CARD_DECLINED).status_code == 422
    link = cw.web.page_link(url)
    assert link is not None and link.claim is None and link.used_at is None
    assert _said(other.submit(html_b, CARD_OK), 200, "saved") and cw.mp.has_card(ALICE)


def test_a_provider_failure_frees_the_link(cw: CardWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider failing (nothing saved, 503) releases the claim: the next form on the link is saved."""
    url = cw.register(ALICE)
    html_a = cw.open(url)
    other = CardWorld(cw.web, cw.sim, cw.mp, cw.client.application.test_client())
    html_b = other.open(url)
    real = MangopayCards.finish_card

    def down(self: MangopayCards, *args: Any, **kw: Any) -> Any:
        raise ProviderError("Mangopay did not answer")

    monkeypatch.setattr(MangopayCards, "finish_card", down)
    assert _said(cw.submit(html_a, CARD_OK), 503, "failed")
    monkeypatch.setattr(MangopayCards, "finish_card", real)
    assert cw.web.page_link(url).claim is None  # type: ignore[union-attr]
    assert _said(other.submit(html_b, CARD_OK), 200, "saved") and cw.mp.has_card(ALICE)


def test_while_the_person_is_at_their_bank_another_browser_saves_no_card(cw: CardWorld) -> None:
    """The claim is kept while the bank has the person: a second browser's form is refused (409) and reaches
    nobody; the first comes back and is saved; one card. The second browser cannot read the first's return."""
    url = cw.register(ALICE)
    html_a = cw.open(url)
    other = CardWorld(cw.web, cw.sim, cw.mp, cw.client.application.test_client())
    html_b = other.open(url)
    bank = cw.submit(html_a, CARD_3DS).get_data(as_text=True)
    assert 'data-card="bank"' in bank
    busy = other.submit(html_b, CARD_OK)
    assert _said(busy, 409, "failed") and not cw.mp.has_card(ALICE)
    page = unescape(re.findall(r'href="([^"]+)"', bank)[-1])
    back = requests.post(page, data={"answer": "pass"}, allow_redirects=False, timeout=10).headers["Location"]
    path = urlsplit(back).path + "?" + urlsplit(back).query
    assert other.client.get(path, headers=HEADERS).status_code != 200 and not cw.mp.has_card(ALICE)
    assert _said(cw.client.get(path, headers=HEADERS), 200, "saved")
    assert cw.mp.has_card(ALICE) and len(_active_cards(cw.sim)) == 1


def _back_from_the_bank(bank_page: str, answer: str = "pass") -> str:
    """Answer the bank's page (the emulator's 3-D Secure page) as the person would: the path it sends them back to."""
    page = unescape(re.findall(r'href="([^"]+)"', bank_page)[-1])
    back = requests.post(page, data={"answer": answer}, allow_redirects=False, timeout=10).headers["Location"]
    return urlsplit(back).path + "?" + urlsplit(back).query


def test_the_browser_at_the_bank_may_not_post_another_card_meanwhile(cw: CardWorld) -> None:
    """While the person is at their bank, nothing else takes the link, not even the same browser: a second tab's
    form is refused (409, "busy") and reaches nobody; the bank's return then saves the first card and uses the link.
    (Before the fix the same browser's second form replaced its claim and was saved.)"""
    url = cw.register(ALICE)
    bank = cw.submit(cw.open(url), CARD_3DS).get_data(as_text=True)
    assert 'data-card="bank"' in bank
    again = cw.client.get("/card", headers=HEADERS).get_data(as_text=True)  # a second tab: a new form
    payins = len(_payins(cw.sim))
    busy = cw.submit(again, CARD_OK)
    assert _said(busy, 409, "failed") and BUSY_TEXT in unescape(busy.get_data(as_text=True))
    assert len(_payins(cw.sim)) == payins and not cw.mp.has_card(ALICE)
    assert _said(cw.client.get(_back_from_the_bank(bank), headers=HEADERS), 200, "saved")
    assert cw.mp.has_card(ALICE) and len(_active_cards(cw.sim)) == 1
    assert cw.web.page_link(url).used_at is not None  # type: ignore[union-attr]


def _second_tab_during_the_return(
    w: CardWorld, url: str, card_b: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, dict[str, Any]]:
    """The attack: the browser is at the bank with card A (on the link `url`); its return is with Mangopay (a barrier
    in `card_returned`) when a second tab of the same browser posts card B. The return's answer, and what the second
    tab was told (with the card saved right after it)."""
    bank = w.submit(w.open(url), CARD_3DS).get_data(as_text=True)
    assert 'data-card="bank"' in bank
    body_b = w.filled(w.client.get("/card", headers=HEADERS).get_data(as_text=True), card_b)
    path = _back_from_the_bank(bank)
    real = MangopayCards.card_returned
    seen: dict[str, Any] = {}

    def returned(self: MangopayCards, *args: Any, **kw: Any) -> Any:
        if "b" not in seen:  # the return of card A is at Mangopay: the second tab posts card B now
            seen["b"] = w.post(body_b)
            seen["card_after_b"] = w.mp._row(ALICE).card_id
        return real(self, *args, **kw)

    monkeypatch.setattr(MangopayCards, "card_returned", returned)
    back = w.client.get(path, headers=HEADERS)
    monkeypatch.setattr(MangopayCards, "card_returned", real)
    return back, seen


def test_a_second_tab_posting_while_the_banks_return_is_read_saves_no_second_card(
    cw: CardWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reproduction (attack-g): tab 2 posts card B while tab 1's return from the bank (card A) is with Mangopay.
    Before the fix B took over the claim and was saved, then A's return saved card A over it while its page said
    "used": two active cards from one link. Now B is refused (409) and reaches nobody; A is saved, said saved, and
    is the one card."""
    url = cw.register(ALICE)
    back, seen = _second_tab_during_the_return(cw, url, CARD_OK, monkeypatch)
    assert _said(seen["b"], 409, "failed") and seen["card_after_b"] is None
    assert _said(back, 200, "saved")
    assert cw.mp.has_card(ALICE) and len(_active_cards(cw.sim)) == 1
    assert cw.web.page_link(url).used_at is not None  # type: ignore[union-attr]


def test_a_declined_second_tab_during_the_banks_return_leaves_no_link_open(
    cw: CardWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reproduction (attack-g): as above with a declined card B. Before the fix B's refusal released the claim, A's
    return saved card A yet said "used", and the link stayed open: a third browser saved card C on it. Now B is
    refused (409) before the provider, A is saved and uses the link, and the third browser saves nothing."""
    url = cw.register(ALICE)  # the third browser opens the link before anything is posted
    third = CardWorld(cw.web, cw.sim, cw.mp, cw.client.application.test_client())
    html_c = third.open(url)
    back, seen = _second_tab_during_the_return(cw, url, CARD_DECLINED, monkeypatch)
    assert _said(seen["b"], 409, "failed") and _said(back, 200, "saved") and cw.mp.has_card(ALICE)
    link = cw.web.page_link(url)
    assert link is not None and link.used_at is not None
    cards = len(_active_cards(cw.sim))
    c = third.submit(html_c, CARD_OK)
    assert c.status_code == 410 and len(_active_cards(cw.sim)) == cards == 1


def test_a_second_tab_during_the_banks_return_saves_no_second_card_on_sql(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first reproduction on a real SQL store (SQLite file, and PostgreSQL when it is there): the claim held
    for the bank's visit shuts the second tab out, so card A, the one said saved, is the one card."""
    from bot import migrate
    from bot.repo.sql import SqlStore

    sim, mp = on_sim(tmp_path)
    assert isinstance(sim.clock, FakeClock)
    engine = make_engine(database_url, create_tables=False)
    migrate.upgrade(engine)
    web = World(SqlStore(engine), clock=sim.clock)
    app = web.make_app(card=MangopayCards(mp))
    mp.own_card_page = True
    try:
        w = CardWorld(web, sim, mp, app.test_client())
        url = w.register(ALICE)
        back, seen = _second_tab_during_the_return(w, url, CARD_OK, monkeypatch)
        assert _said(seen["b"], 409, "failed") and seen["card_after_b"] is None
        assert _said(back, 200, "saved") and mp.has_card(ALICE) and len(_active_cards(sim)) == 1
        assert web.page_link(url).used_at is not None  # type: ignore[union-attr]
    finally:
        mp.close()
        sim.stop()
        engine.dispose()

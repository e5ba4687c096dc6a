"""The card page in a real browser: Debian's Chromium, headless, on a phone's screen, against paybot's web app (served
by waitress as `paybot web` serves it) and the Mangopay emulator, each on its own port of 127.0.0.1.

A person follows the link REGISTER DMs them, types a Mangopay test card, and the page's own script tokenizes it
straight to the emulator's CardRegistrationURL; paybot's server receives only the tokenization answer. Its request
log (every request's method, path and body, recorded where the WSGI app receives them) proves the card number never
reached it; the browser's own log shows where it went. The 3DS test card passes the emulator's 3DS page; the saved
card then pays a YES without the person. A declined card is said and nothing is saved. axe-core finds no serious
violation on paybot's pages; screenshots go to browser-screenshots/ (docs/page-card-*.png are copies of the best).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bot.money import Money
from bot.ports import FakeClock, PayOutcome
from bot.providers.mangopay_cards import MangopayCards
from bot.providers.mangopay_provider import MangopayProvider
from bot.providers.stripe_webhook import webhook_server
from bot.repo.engine import make_engine
from bot.repo.sql import SqlStore
from bot.sims.mangopay import CARD_3DS, CARD_DECLINED, CARD_OK, MangopaySim
from bot.sims.runner import Run
from bot.web.app import create_app
from tests.support.browser import accessible, heading, phone, shot
from tests.support.card_kit import on_sim, type_card
from tests.support.webworld import World

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ALICE, BOB = "31", "32"
PAN_DIGITS = (CARD_OK, CARD_3DS, CARD_DECLINED)


class RequestLog:
    """paybot's server's own log of what it received: each request's method, path and body (WSGI middleware)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.seen: list[tuple[str, str, bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        self.seen.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), body))
        return self.app(environ, start_response)


@dataclass
class Site:
    web: World
    sim: MangopaySim
    mp: MangopayProvider
    log: RequestLog
    browser_log: list[tuple[str, str]] = field(default_factory=list)  # (url, post data) the browser sent


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    sim, mp = on_sim(tmp_path)
    mp.return_url = sim.base + "/_sim/back"  # MANGOPAY_RETURN_URL: an emulator page, not X, in a test
    assert isinstance(sim.clock, FakeClock)
    clock = sim.clock
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    web = World(SqlStore(engine), clock=clock)
    server = webhook_server(web.make_app(), "127.0.0.1", 0)  # bound first: the app must know its own address
    web.base = f"http://127.0.0.1:{server.effective_port}"
    app = web.make_app(card=MangopayCards(mp))
    log = RequestLog(app.wsgi_app)
    app.wsgi_app = log  # type: ignore[method-assign]
    server.application = app
    mp.own_card_page = True
    thread = threading.Thread(target=server.run, daemon=True, name="web")
    thread.start()
    yield Site(web, sim, mp, log)
    server.close()
    engine.dispose()
    mp.close()
    sim.stop()


def register(site: Site, user: str) -> str:
    """The link REGISTER DMs (the adapter names paybot's card page; the service makes its link)."""
    assert site.mp.register(user).page == "card"
    return site.web.link(user, purpose="card")


def card_phone(browser: Any, site: Site, lang: str = "en") -> Any:
    page = phone(browser, lang)
    page.on("request", lambda r: site.browser_log.append((r.url, r.post_data or "")))
    return page


def never_reached_paybot(site: Site) -> None:
    """No request body paybot received holds a card number (with or without spaces); the browser sent it to the
    tokenization server only."""
    assert site.log.seen and any(method == "POST" and path == "/card" for method, path, _ in site.log.seen)
    for _method, _path, body in site.log.seen:
        flat = body.replace(b"+", b"").replace(b"%20", b"").replace(b" ", b"")
        assert not any(pan.encode() in flat for pan in PAN_DIGITS), body
    carried = {
        url.split("?")[0].rsplit("/", 1)[0]
        for url, data in site.browser_log
        if any(pan in data.replace("+", "").replace(" ", "") for pan in PAN_DIGITS)
    }
    assert carried == {f"{site.sim.base}/_sim/tokenize"}


def test_a_person_saves_a_3ds_card_then_a_yes_pays(browser: Any, site: Site) -> None:
    """REGISTER's link, the 3DS test card typed on a phone, the emulator's bank page passed, back on paybot's page:
    the card is saved, the card number never reached paybot, and a YES then pays (after the bank's page again)."""
    page = card_phone(browser, site)
    page.goto(register(site, ALICE))
    assert page.url == f"{site.web.base}/card" and heading(page) == "Save a card"
    accessible(page)
    shot(page, "card-en")
    type_card(page, CARD_3DS)
    assert heading(page) == "Confirm with your bank"
    accessible(page)
    shot(page, "card-bank-en")
    page.get_by_role("link", name="Continue to your bank").click()
    assert page.url.startswith(f"{site.sim.base}/_sim/3ds-page/")
    with page.expect_navigation(url=f"{site.web.base}/card/return**"):
        page.get_by_role("button", name="Confirm").click()
    assert page.url.startswith(f"{site.web.base}/card/return") and heading(page) == "Your card is saved"
    accessible(page)
    shot(page, "card-saved-en")
    assert site.mp.has_card(ALICE) and page.csp_errors == []
    never_reached_paybot(site)
    (cit,) = site.sim.of_kind("payin")
    assert cit["IpAddress"] == "127.0.0.1" and cit["BrowserInfo"]["UserAgent"].startswith("Mozilla/5.0")
    assert cit["BrowserInfo"]["ScreenWidth"] == page.evaluate("screen.width")
    # The YES: this emulator's challenge card has every merchant-initiated pay-in refused for 3DS, so the payment
    # waits on the bank's page (the DM's link); the person passes it and the pay-in succeeds.
    asked = site.mp.pay(key="pay:9:31:32", sender_id=ALICE, recipient_id=BOB, amount=Money(1200, "EUR"), memo=None)
    assert asked.outcome is PayOutcome.NEEDS_AUTH and asked.url and asked.url.startswith(site.sim.base)
    page.goto(asked.url)
    with page.expect_navigation(url=f"{site.sim.base}/_sim/back**"):  # MANGOPAY_RETURN_URL (X's DMs, really)
        page.get_by_role("button", name="Confirm").click()
    paid = site.sim.of_kind("payin")[-1]
    assert (paid["Status"], paid["DebitedFunds"]["Amount"]) == ("SUCCEEDED", 1200)
    assert paid["BrowserInfo"] == cit["BrowserInfo"] and paid["IpAddress"] == "127.0.0.1"  # the page's, kept


def test_a_declined_card_is_said_and_nothing_is_saved(browser: Any, site: Site) -> None:
    """The declined test card, in French: the page says the bank declined it, nothing is saved, the link still
    works; the frictionless card is then saved, and a YES pays with it without the person."""
    page = card_phone(browser, site, "fr")
    page.goto(site.web.link(ALICE, purpose="card", lang="fr"))  # a French speaker's REGISTER
    type_card(page, CARD_DECLINED, "fr")
    assert heading(page) == "Enregistrer une carte"
    assert "Votre banque a refusé cette carte" in page.locator("#problems").inner_text()
    assert not site.mp.has_card(ALICE)
    accessible(page)
    shot(page, "card-declined-fr")
    type_card(page, CARD_OK, "fr")
    assert heading(page) == "Votre carte est enregistrée" and site.mp.has_card(ALICE)
    shot(page, "card-saved-fr")
    never_reached_paybot(site)
    paid = site.mp.pay(key="pay:8:31:32", sender_id=ALICE, recipient_id=BOB, amount=Money(800, "EUR"), memo=None)
    assert paid.outcome in (PayOutcome.PAID, PayOutcome.HELD)  # the frictionless card: an MIT, nobody asked
    mit = site.sim.of_kind("payin")[-1]
    assert (mit["Status"], mit["DebitedFunds"]["Amount"], mit["SecureModeReturnURL"]) == ("SUCCEEDED", 800, None)


def test_the_card_page_refuses_a_card_number_its_checks_refuse_before_sending(browser: Any, site: Site) -> None:
    """A mistyped number is caught in the page (its check digit): nothing goes anywhere, the field says why."""
    page = card_phone(browser, site)
    page.goto(register(site, ALICE))
    page.get_by_label("Card number").fill("4970 1071 1111 1118")
    page.get_by_label("Expiry date").fill("12/29")
    page.get_by_label("Security code").fill("123")
    page.get_by_role("button", name="Save my card").click()
    assert page.get_by_label("Card number").get_attribute("aria-invalid") == "true"
    assert "Enter the card number" in page.locator("#card-number-error").inner_text()
    assert not any("/_sim/tokenize" in url for url, _ in site.browser_log)
    accessible(page)
    shot(page, "card-error-en")


def test_the_link_the_bot_dms_saves_a_card_and_a_yes_pays(browser: Any, tmp_path: Path) -> None:
    """The whole way, with the worker and the X simulator: @alice DMs REGISTER, follows the link the bot DMs her to
    paybot's card page, saves the frictionless test card there, then posts a payment and DMs YES: it is paid by a
    merchant-initiated pay-in, and the card number never reached paybot."""
    server = webhook_server(Flask("bound-first"), "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.effective_port}"
    run = Run(
        {"users": {"alice": {}, "bob": {"payouts": True}}, "settings": {"paybot_web_url": base}, "steps": []},
        tmp_path,
        provider="mangopay",
    )
    try:
        assert run.mangopay is not None
        app = create_app(run.settings, SqlStore(run.bot.engine), run.clock, card=MangopayCards(run.bot.provider))  # type: ignore[arg-type]
        log = RequestLog(app.wsgi_app)
        app.wsgi_app = log  # type: ignore[method-assign]
        server.application = app
        threading.Thread(target=server.run, daemon=True, name="web").start()
        run.step({"dm": "REGISTER", "by": "alice"})
        sent = " ".join(m["text"] for m in run.transcript[-1][1])
        link = re.search(rf"{re.escape(base)}/l/[0-9A-Za-z._-]+", sent)
        assert link, sent
        site = Site(World(SqlStore(run.bot.engine), clock=run.clock, base=base), run.mangopay, run.bot.provider, log)  # type: ignore[arg-type]
        page = card_phone(browser, site)
        page.goto(link.group(0))
        type_card(page, CARD_OK)
        assert heading(page) == "Your card is saved"
        run.step({"tweet": "@paybot send 5 to @bob", "by": "alice", "id": "p1"})
        run.step({"dm": "yes {code:p1}", "by": "alice"})
        (transfer,) = run.outcome()["transfers"]
        assert (transfer["from"], transfer["to"], transfer["status"]) == ("alice", "bob", "completed")
        mit = run.mangopay.of_kind("payin")[-1]
        assert (mit["Status"], mit["SecureModeReturnURL"]) == ("SUCCEEDED", None)
        never_reached_paybot(site)
    finally:
        server.close()
        run.close()

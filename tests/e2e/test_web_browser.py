"""paybot's pages in a real browser: Debian's Chromium, headless, driven by Playwright, on a phone's screen.

The app is served by waitress (as `paybot web` serves it) on 127.0.0.1, on a SQLite store and a clock the tests
move. A person follows the link the bot would DM them, in English or in French; an expired link, a used one,
another person's and a form posted without its CSRF token each end on a page saying so, with nothing stored.
axe-core checks every page for serious or critical accessibility violations. Each test saves screenshots in
browser-screenshots/ (gitignored); docs/ keeps two of them for the documentation (docs/operating/pages.md).

Chromium is /usr/bin/chromium (CHROMIUM_PATH to change it): Playwright's own browser download cannot run here, and
scripts/test installs Debian's when it is missing. The tests skip, saying why, only when Chromium cannot start.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.providers.stripe_webhook import webhook_server
from bot.repo.engine import make_engine
from bot.repo.sql import SqlStore
from tests.support.browser import accessible, heading, phone, shot
from tests.support.webworld import World

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[World]:
    """paybot's web app served by waitress on 127.0.0.1, on a SQLite store."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    world = World(SqlStore(engine))
    server = webhook_server(world.make_app(), "127.0.0.1", 0)
    world.base = f"http://127.0.0.1:{server.effective_port}"
    thread = threading.Thread(target=server.run, daemon=True, name="web")
    thread.start()
    yield world
    server.close()
    engine.dispose()


TEXT = {
    "en": {
        "title": "Your details",
        "email": "E-mail address",
        "first": "First name",
        "last": "Last name",
        "birthday": "Date of birth",
        "nationality": "Nationality",
        "residence": "Country you live in",
        "street": "Street and number",
        "city": "Town or city",
        "postal": "Postal code",
        "terms": "I have read Mangopay's terms and conditions and I accept them.",
        "save": "Save my details",
        "bad_email": "Enter an e-mail address like name@example.com.",
        "done": "Your details are saved",
        "country": "France",
        "problems": "Please check these answers",
        "handle": "Your X handle",
    },
    "fr": {
        "title": "Vos informations",
        "email": "Adresse e-mail",
        "first": "Prénom",
        "last": "Nom",
        "birthday": "Date de naissance",
        "nationality": "Nationalité",
        "residence": "Pays où vous vivez",
        "street": "Numéro et rue",
        "city": "Ville",
        "postal": "Code postal",
        "terms": "J’ai lu les conditions générales de Mangopay et je les accepte.",
        "save": "Enregistrer mes informations",
        "bad_email": "Indiquez une adresse e-mail de la forme nom@exemple.fr.",
        "done": "Vos informations sont enregistrées",
        "country": "France",
        "problems": "Vérifiez ces réponses",
        "handle": "Votre identifiant X",
    },
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_person_follows_their_link_and_fills_the_identity_page(browser: Any, site: World, lang: str) -> None:
    """From the DM's link to the saved page, on a phone, in the person's language: a wrong e-mail address gets its
    message beside the field and in the summary, then the corrected form is stored; each page passes axe."""
    t = TEXT[lang]
    page = phone(browser, lang)
    page.goto(site.link("42", lang=lang))
    assert re.fullmatch(rf"{re.escape(site.base)}/identity", page.url)  # the token left the address bar
    assert heading(page) == t["title"] and page.locator("html").get_attribute("lang") == lang
    accessible(page)
    shot(page, f"identity-{lang}")
    page.get_by_label(t["handle"]).fill("@p42")
    page.get_by_label(t["first"]).fill("Alice")
    page.get_by_label(t["last"], exact=True).fill("Martin")
    page.get_by_label(t["email"]).fill("alice.example.com")
    page.get_by_label(t["birthday"]).fill("1990-03-31")
    page.get_by_label(t["nationality"]).select_option("FR")
    page.get_by_label(t["residence"]).select_option(label=t["country"])
    page.get_by_label(t["street"]).fill("12 rue de la Paix")
    page.get_by_label(t["city"]).fill("Paris")
    page.get_by_label(t["postal"]).fill("75002")
    page.get_by_label(t["terms"]).check()
    page.get_by_role("button", name=t["save"]).click()
    assert page.locator(".summary h2").inner_text() == t["problems"]
    assert page.locator("#email-error").inner_text().endswith(t["bad_email"])
    assert page.get_by_label(t["email"]).get_attribute("aria-invalid") == "true"
    assert page.get_by_label(t["first"]).input_value() == "Alice"  # what was typed stays
    assert site.identity("42") is None
    accessible(page)
    shot(page, f"identity-error-{lang}")
    page.get_by_role("link", name=t["bad_email"]).click()  # the summary leads to the field
    page.get_by_label(t["email"]).fill("alice@example.com")
    page.get_by_label(t["terms"]).check()
    page.get_by_role("button", name=t["save"]).click()
    assert heading(page) == t["done"]
    accessible(page)
    shot(page, f"identity-saved-{lang}")
    stored = site.identity("42")
    assert stored is not None and (stored.email, stored.nationality, stored.lang) == ("alice@example.com", "FR", lang)
    assert page.csp_errors == []


def test_the_keyboard_goes_through_the_form_in_reading_order(browser: Any, site: World) -> None:
    """Tab walks the fields top to bottom, the terms' link before their box, and the button last."""
    page = phone(browser, "en")
    page.goto(site.link("42"))
    order: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.id || document.activeElement.tagName.toLowerCase()")
        if not order or order[-1] != focused:
            order.append(focused)
        if focused == "button":
            break
    shot(page, "identity-keyboard-en")
    assert order == [
        "x_handle",
        "first_name",
        "last_name",
        "email",
        "birthday",
        "nationality",
        "residence",
        "address_line1",
        "address_line2",
        "city",
        "region",
        "postal_code",
        "a",
        "terms",
        "button",
    ]


def test_the_page_runs_no_script_but_its_own(browser: Any, site: World) -> None:
    """The Content-Security-Policy holds in Chromium: an inline script put into the page does not run."""
    page = phone(browser, "en")
    page.goto(site.link("42"))
    ran = page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';
                                   document.body.appendChild(s); return window.ran === 1 }""")
    assert ran is False and any("Content Security Policy" in e for e in page.csp_errors)
    shot(page, "identity-csp-en")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_an_expired_link_shows_a_clear_page(browser: Any, site: World, lang: str) -> None:
    """A link followed after its end says it expired and how to get a new one, in the link's language."""
    url = site.link("42", lang=lang)
    site.clock.advance(timedelta(minutes=15))
    page = phone(browser, lang)
    page.goto(url)
    assert heading(page) == {"en": "This link has expired", "fr": "Ce lien a expiré"}[lang]
    assert site.identity("42") is None
    accessible(page)
    shot(page, f"link-expired-{lang}")


def _fill(page: Any, handle: str = "p42") -> None:
    t = TEXT["en"]
    page.get_by_label(t["handle"]).fill(handle)
    for label, value in (
        (t["first"], "Alice"),
        (t["email"], "alice@example.com"),
        (t["birthday"], "1990-03-31"),
        (t["street"], "1 High Street"),
        (t["city"], "Leeds"),
        (t["postal"], "LS1 1AA"),
    ):
        page.get_by_label(label).fill(value)
    page.get_by_label(t["last"], exact=True).fill("Martin")
    page.get_by_label(t["nationality"]).select_option("GB")
    page.get_by_label(t["residence"]).select_option("GB")
    page.get_by_label(t["terms"]).check()


def test_a_used_link_shows_a_clear_page(browser: Any, site: World) -> None:
    """Once its form was saved, the same link opens nothing but a page saying it was used; the record stays."""
    url = site.link("42")
    page = phone(browser, "en")
    page.goto(url)
    _fill(page)
    page.get_by_role("button", name=TEXT["en"]["save"]).click()
    assert heading(page) == TEXT["en"]["done"]
    again = phone(browser, "en")
    again.goto(url)
    assert heading(again) == "This link was already used"
    stored = site.identity("42")
    assert stored is not None and stored.city == "Leeds"
    accessible(again)
    shot(again, "link-used-en")


def test_another_persons_link_shows_a_clear_page(browser: Any, site: World) -> None:
    """A phone with its person's page open, given someone else's link: a page says so, the first page stays theirs,
    and nothing is stored for either."""
    page = phone(browser, "en")
    page.goto(site.link("42"))
    page.goto(site.link("7"))
    assert heading(page) == "This link was sent to someone else"
    accessible(page)
    shot(page, "link-foreign-en")
    page.goto(f"{site.base}/identity")
    assert heading(page) == TEXT["en"]["title"]
    assert site.identity("42") is None and site.identity("7") is None


def test_a_forged_link_shows_a_clear_page_in_the_browsers_language(browser: Any, site: World) -> None:
    """A link paybot did not make (its signature changed) is refused in the language the browser asks for."""
    url = site.link("42")
    page = phone(browser, "fr")
    page.goto(url[:-4] + "0000")
    assert heading(page) == "Ce lien ne fonctionne pas"
    accessible(page)
    shot(page, "link-forged-fr")


def test_a_form_posted_without_its_csrf_token_shows_a_clear_page(browser: Any, site: World) -> None:
    """The form's hidden token removed before sending: the page says nothing was saved, and nothing is."""
    page = phone(browser, "en")
    page.goto(site.link("42"))
    _fill(page)
    page.locator("input[name=csrf]").evaluate("e => e.remove()")
    page.get_by_role("button", name=TEXT["en"]["save"]).click()
    assert heading(page) == "This form was not accepted"
    assert site.identity("42") is None
    accessible(page)
    shot(page, "csrf-refused-en")

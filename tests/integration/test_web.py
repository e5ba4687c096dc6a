"""paybot's web app without a browser: its routes, the headers of every response, the links (expired, used,
forged, another person's), the CSRF token, the identity page's checks, its French, and the store behind it.
The same flows in a real browser are in tests/e2e/test_web_browser.py."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import pytest
from babel.messages.extract import extract_from_dir
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from bot.identity import identity_of
from bot.providers.stripe_webhook import register
from bot.repo.engine import make_engine
from bot.repo.memory import MemoryStore
from bot.repo.sql import SqlStore
from bot.web import i18n
from bot.web.app import ROUTES, WEBHOOK_ROUTE, create_app
from bot.web.identity_form import TEXT_FIELDS, read
from tests.support.webworld import World, filled

pytestmark = pytest.mark.process

SECURITY_HEADERS = {
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Frame-Options",
    "Referrer-Policy",
    "X-Content-Type-Options",
    "Cache-Control",
}


@pytest.fixture
def world() -> World:
    w = World(MemoryStore())
    w.make_app()
    return w


@pytest.fixture
def client(world: World) -> FlaskClient:
    assert world.app is not None
    return world.app.test_client()


def path(url: str) -> str:
    return url.removeprefix("http://127.0.0.1")


def h1(response: Any) -> str:
    found = re.search(r"<h1>(.*?)</h1>", response.get_data(as_text=True))
    return found.group(1) if found else ""


def csrf_of(response: Any) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', response.get_data(as_text=True))
    assert found, "the form carries no CSRF token"
    return found.group(1)


def opened(client: FlaskClient, url: str) -> str:
    """Follow a link to the identity page; the form's CSRF token."""
    assert client.get(path(url)).status_code == 303
    page = client.get("/identity")
    assert page.status_code == 200
    return csrf_of(page)


def routes_of(app: Any) -> dict[str, set[str]]:
    return {rule.rule: set(rule.methods) - {"HEAD", "OPTIONS"} for rule in app.url_map.iter_rules()}


def test_the_app_has_only_the_routes_paybot_declares(world: World) -> None:
    """The url map is exactly the link, the identity page and the stylesheet; with the webhook, its route too."""
    assert world.app is not None
    assert (
        routes_of(world.app)
        == ROUTES
        == {"/l/<token>": {"GET"}, "/identity": {"GET", "POST"}, "/static/<path:filename>": {"GET"}}
    )
    # (provider None: only the routes are read, nothing reaches it)
    with_hook = world.make_app(
        webhook=partial(
            register,
            provider=None,  # type: ignore[arg-type]
            platform_secret="whsec_" + "a1b2c3d4e5" * 4,
            apply=lambda _event: None,
            endpoint="stripe_webhook",
        )
    )
    assert routes_of(with_hook) == {**ROUTES, WEBHOOK_ROUTE[0]: WEBHOOK_ROUTE[1]}


def test_every_response_carries_the_security_headers(world: World, client: FlaskClient) -> None:
    """Pages, redirects, problem pages, 404s, 405s, the stylesheet and the webhook's refusals all carry a strict CSP,
    HSTS, no framing, no referrer and nosniff."""
    # (provider None: the webhook's refusals never reach it)
    hooked = world.make_app(
        webhook=partial(
            register,
            provider=None,  # type: ignore[arg-type]
            platform_secret="whsec_" + "a1b2c3d4e5" * 4,
            apply=lambda _event: None,
            endpoint="stripe_webhook",
        )
    ).test_client()
    responses = [
        client.get(path(world.link("1"))),
        client.get("/identity"),
        client.get("/nowhere"),
        client.delete("/identity"),
        client.get("/static/paybot.css"),
        client.get("/l/forged"),
        hooked.post("/stripe/webhook", data=b"{}", headers={"Stripe-Signature": "t=1,v1=00"}),
    ]
    assert [r.status_code for r in responses] == [303, 200, 404, 405, 200, 403, 400]
    for r in responses:
        r.close()
        assert SECURITY_HEADERS <= set(r.headers.keys()), r.request.path
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Strict-Transport-Security"].startswith("max-age=63072000")


def test_the_policy_makes_room_for_a_tokenization_host_and_https_cookies_are_host_only() -> None:
    """The card page's provider host joins 'self' for scripts and fetches, nothing else; on https the session
    cookie is __Host-, Secure."""
    from bot.ports import FakeClock
    from tests.support.webworld import web_settings

    store = MemoryStore()
    w = World(store, base="https://pay.example.com")
    app = create_app(
        web_settings("https://pay.example.com"),
        store,
        FakeClock(),
        script_hosts=("https://vault.example.com",),
        connect_hosts=("https://vault.example.com",),
    )
    w.app = app
    answer = app.test_client().get(path(w.link("1")).removeprefix("https://pay.example.com"))
    csp = answer.headers["Content-Security-Policy"]
    assert (
        "script-src 'self' https://vault.example.com;" in csp
        and "connect-src 'self' https://vault.example.com;" in csp
        and "style-src 'self';" in csp
    )
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("__Host-paybot=") and "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie


def test_a_link_carries_nothing_about_the_person(world: World) -> None:
    """The URL holds the token only: no X id, no handle, no purpose; the session cookie holds no id either."""
    url = world.link("1234567890123", purpose="receive")
    assert re.fullmatch(r"http://127\.0\.0\.1/l/[0-9]+\.[A-Za-z0-9_-]+\.[0-9a-f]{32}", url)
    assert "1234567890123" not in url and "receive" not in url
    cookie = world.app.test_client().get(path(url)).headers["Set-Cookie"]  # type: ignore[union-attr]
    assert "1234567890123" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_person_fills_the_page_and_it_is_stored_once(world: World, client: FlaskClient) -> None:
    """A good form is stored with the time the terms were accepted; the link is then used up."""
    url = world.link("42")
    saved = client.post("/identity", data=filled("42", csrf=opened(client, url)))
    assert saved.status_code == 200 and h1(saved) == "Your details are saved"
    stored = identity_of(world.store, "42")
    assert stored is not None and stored.can_receive and stored.birthday == date(1990, 3, 31)
    assert (stored.first_name, stored.email, stored.residence) == ("Alice", "alice@example.com", "FR")
    assert stored.terms_accepted_at == world.clock.now() and stored.terms_url.startswith("https://mangopay.com/")
    assert stored.address is not None and stored.address.country == "FR" and stored.address.line2 is None
    again = client.get(path(url))
    assert again.status_code == 410 and h1(again) == "This link was already used"
    reloaded = client.get("/identity")
    assert reloaded.status_code == 410 and h1(reloaded) == "This link was already used"


@pytest.mark.parametrize("typed", ["@mallory", "", "p4", "@p42x"])
def test_a_forwarded_link_typed_with_another_handle_saves_nothing(
    world: World, client: FlaskClient, typed: str
) -> None:
    """The page names the link's X account; someone who got the link forwarded types their own handle (or none):
    the form comes back with that one error, nothing is stored, the link is not used, and its owner can still save."""
    url = world.link("42")
    csrf = opened(client, url)
    shown = client.get("/identity").get_data(as_text=True)
    assert "These details will be those of the X account @p42." in shown
    sent = client.post("/identity", data=filled("42", x_handle=typed, csrf=csrf))
    html = sent.get_data(as_text=True)
    assert sent.status_code == 422
    errors = re.findall(r'<p class="error" id="([a-z_0-9]+)-error">', html)
    assert errors == ["x_handle"] and 'id="x_handle" name="x_handle"' in html
    assert world.identity("42") is None
    link = world.page_link(url)
    assert link is not None and link.used_at is None
    assert client.post("/identity", data=filled("42", x_handle=" P42 ", csrf=csrf)).status_code == 200
    assert world.identity("42") is not None


def test_a_link_to_pay_asks_only_name_e_mail_and_terms(world: World, client: FlaskClient) -> None:
    """A "pay" link's page has no birthday or address; what it stores cannot receive."""
    url = world.link("7", purpose="pay")
    csrf = opened(client, url)
    html = client.get("/identity").get_data(as_text=True)
    assert 'name="birthday"' not in html and 'name="address_line1"' not in html
    saved = client.post(
        "/identity",
        data={
            "first_name": "Bob",
            "last_name": "Stone",
            "email": "bob@example.org",
            "terms": "yes",
            "csrf": csrf,
            "birthday": "2020-01-01",
            "x_handle": "p7",
        },
    )
    assert saved.status_code == 200
    stored = identity_of(world.store, "7")
    assert stored is not None and not stored.can_receive and stored.birthday is None


def test_a_form_to_pay_keeps_what_the_person_gave_to_receive(world: World) -> None:
    """Someone who can receive, who later fills a "pay" link's page (a new e-mail), can still receive."""
    first, second = world.app.test_client(), world.app.test_client()  # type: ignore[union-attr]
    assert first.post("/identity", data=filled("42", csrf=opened(first, world.link("42")))).status_code == 200
    later = {
        "first_name": "Alice",
        "last_name": "Martin",
        "email": "alice@example.net",
        "terms": "yes",
        "x_handle": "@P42",
    }
    saved = second.post("/identity", data={**later, "csrf": opened(second, world.link("42", purpose="pay"))})
    assert saved.status_code == 200
    stored = identity_of(world.store, "42")
    assert stored is not None and stored.email == "alice@example.net" and stored.can_receive
    assert stored.birthday == date(1990, 3, 31) and stored.address is not None and stored.address.city == "Paris"


def test_doctor_checks_the_pages_settings_when_they_are_set() -> None:
    """`paybot doctor` says where the pages are served, or names what is wrong with their settings."""
    from bot.doctor import FAIL, OK, _pages
    from tests.support.webworld import web_settings

    assert _pages(web_settings("https://pay.example.com")).status == OK
    bad = _pages(web_settings(None))  # type: ignore[arg-type]
    assert bad.status == FAIL and "PAYBOT_WEB_URL is not set" in bad.detail


def test_the_pages_address_must_be_https_beyond_this_machine() -> None:
    """PAYBOT_WEB_URL in plain http to another host would send links' tokens in the clear: refused, named."""
    from bot.errors import ConfigError
    from tests.support.webworld import web_settings

    with pytest.raises(ConfigError, match="PAYBOT_WEB_URL uses plain http"):
        web_settings("http://paybot.example.com").require_web()
    assert web_settings("https://paybot.example.com/").require_web()[0] == "https://paybot.example.com"
    with pytest.raises(ConfigError, match="PAYBOT_WEB_URL is not set"):
        web_settings(None).require_web()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", "", "Enter your first name."),
        ("last_name", "123", "Enter your last name in letters, as on your identity document."),
        ("email", "alice.example.com", "Enter an e-mail address like name@example.com."),
        ("email", "", "Enter your e-mail address."),
        ("birthday", "", "Enter your date of birth."),
        ("birthday", "1990-02-30", "Enter a real date of birth, like 1990-03-31."),
        ("birthday", "2026-12-01", "Your date of birth must be in the past."),
        ("birthday", "2010-01-01", "You must be 18 or older to receive money."),
        ("birthday", "1890-01-01", "Check the year of your date of birth."),
        ("nationality", "", "Choose your nationality."),
        ("residence", "ZZ", "Choose the country you live in."),
        ("address_line1", "", "Enter your street and number."),
        ("city", " ", "Enter your town or city."),
        ("postal_code", "75<02", "Enter a postal code of letters, digits, spaces or hyphens."),
        ("first_name", "A" * 101, "Use 100 characters at most."),
        ("city", "Pa\x00ris", "Use letters, digits and punctuation only."),
        ("terms", "", "Accept Mangopay's terms to go on: Mangopay holds the money."),
    ],
)
def test_each_wrong_field_gets_its_own_message_and_nothing_is_stored(
    world: World, client: FlaskClient, field: str, value: str, message: str
) -> None:
    """The server checks every field (the browser's checks are off) and says what is wrong with that one."""
    csrf = opened(client, world.link("42"))
    sent = client.post("/identity", data=filled("42", **{field: value}, csrf=csrf))
    html = sent.get_data(as_text=True)
    assert sent.status_code == 422
    errors = re.findall(r'<p class="error" id="([a-z_0-9]+)-error">.*?</span>(.*?)</p>', html)
    assert errors == [(field, message.replace("'", "&#39;"))]
    assert f'id="{field}" name="{field}"' in html and 'aria-invalid="true"' in html
    assert world.identity("42") is None
    assert client.post("/identity", data=filled("42", csrf=csrf)).status_code == 200  # the link still works


@pytest.mark.parametrize("how", ["expired", "used", "forged mac", "unknown nonce", "not a token", "another person's"])
def test_a_bad_link_shows_a_clear_page_and_stores_nothing(world: World, client: FlaskClient, how: str) -> None:
    """Each way a link can be wrong has its page (in the link's language when paybot made it), and nothing is
    stored."""
    url = world.link("42", lang="fr")
    expected = {
        "expired": (410, "Ce lien a expiré"),
        "used": (410, "Ce lien a déjà servi"),
        # told in the language of the person whose page this browser has open
        "another person's": (403, "This link was sent to someone else"),
    }.get(how, (403, "This link does not work"))
    if how == "expired":
        world.clock.advance(timedelta(minutes=15))
    elif how == "used":
        client.post("/identity", data=filled("42", csrf=opened(client, url)))
        client = world.app.test_client()  # type: ignore[union-attr]
    elif how == "forged mac":
        url = url[:-1] + ("0" if url[-1] != "0" else "1")
    elif how == "unknown nonce":
        head, _nonce, mac = url.rsplit("/", 1)[1].split(".")
        url = f"http://127.0.0.1/l/{head}.AAAAAAAAAAAAAAAA.{mac}"
    elif how == "not a token":
        url = url[:-5]  # cut short, as a mail client might
    elif how == "another person's":
        opened(client, world.link("7"))  # this browser has its own person's page open
    stored_before = world.identity("42")
    shown = client.get(path(url))
    assert (shown.status_code, h1(shown)) == expected
    assert world.identity("42") == stored_before
    if how == "another person's":
        assert client.post("/identity", data=filled("7", csrf=csrf_of(client.get("/identity")))).status_code == 200
        assert world.identity("7") is not None and world.identity("42") is None  # the page stayed the first person's


def test_a_token_signed_for_another_purpose_or_person_opens_nothing(world: World, client: FlaskClient) -> None:
    """A token whose nonce and end are a real link's, but signed for another page or another person (by whoever
    holds the key: a bug elsewhere), is refused as not paybot's: a link is one person's, for one purpose."""
    from bot import links
    from tests.support.webworld import SECRET

    url = world.link("42", purpose="pay")
    expires, nonce, _ = url.rsplit("/", 1)[1].split(".")
    key = links.link_key(SECRET)
    for purpose, subject in (("page:receive", "42"), ("page:card", "42"), ("page:pay", "7"), ("pay", "42")):
        token = links.sign(key, purpose, subject, int(expires), nonce)
        shown = client.get(f"/l/{token}")
        assert (shown.status_code, h1(shown)) == (403, "This link does not work"), (purpose, subject)
    assert client.get(path(url)).status_code == 303  # the real one still opens


def test_an_expired_link_cannot_save_the_form_opened_before(world: World, client: FlaskClient) -> None:
    """The page was opened in time; its link ended before the form was sent: nothing is stored."""
    csrf = opened(client, world.link("42"))
    world.clock.advance(timedelta(minutes=16))
    sent = client.post("/identity", data=filled("42", csrf=csrf))
    assert (sent.status_code, h1(sent)) == (410, "This link has expired") and world.identity("42") is None


@pytest.mark.parametrize("token", [None, "", "wrong"])
def test_a_form_without_its_csrf_token_is_refused(world: World, client: FlaskClient, token: str | None) -> None:
    """No token, an empty one or another one: a 400 page saying nothing was saved, and nothing is."""
    opened(client, world.link("42"))
    data = {**filled("42"), **({} if token is None else {"csrf": token})}
    sent = client.post("/identity", data=data)
    assert (sent.status_code, h1(sent)) == (400, "This form was not accepted") and world.identity("42") is None


def test_a_request_the_app_cannot_read_gets_a_page_with_its_own_status(
    world: World, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A form too large gets a 413 page, a request refused as bad a 400 page, a failure a 500 page whose log line
    names the error's kind and not the URL (it may hold a link's token)."""
    from werkzeug.exceptions import BadRequest

    opened(client, world.link("42"))
    big = client.post("/identity", data={"csrf": "x", "first_name": "A" * (2 * 1024 * 1024)})
    assert (big.status_code, h1(big)) == (413, "This form is too large")
    app = world.make_app()

    def refuse() -> NoReturn:
        raise BadRequest()

    def fail(token: str) -> NoReturn:
        raise RuntimeError(token)

    app.add_url_rule("/refuse", view_func=refuse)
    app.add_url_rule("/fail/<token>", view_func=fail)
    other = app.test_client()
    bad, failed = other.get("/refuse"), other.get("/fail/secret-token-123")
    assert (bad.status_code, h1(bad)) == (400, "This request was not understood")
    assert (failed.status_code, h1(failed)) == (500, "Something went wrong")
    assert "a page failed: RuntimeError" in caplog.text and "secret-token-123" not in caplog.text
    assert world.identity("42") is None


def test_the_page_without_a_link_says_to_open_one(client: FlaskClient) -> None:
    """Nobody reaches the page but through a link, and a browser that says French is answered in French."""
    shown = client.get("/identity", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert (shown.status_code, h1(shown)) == (403, "Ouvrez d’abord votre lien")


def test_a_link_works_for_one_saved_form_even_in_two_tabs(world: World) -> None:
    """Two browsers that opened the same link: the first form saved uses it, the second is told it was used."""
    url = world.link("42")
    first, second = world.app.test_client(), world.app.test_client()  # type: ignore[union-attr]
    a, b = opened(first, url), opened(second, url)
    assert first.post("/identity", data=filled("42", csrf=a)).status_code == 200
    late = second.post("/identity", data=filled("42", first_name="Mallory", csrf=b))
    assert (late.status_code, h1(late)) == (410, "This link was already used")
    assert world.identity("42").first_name == "Alice"  # type: ignore[union-attr]


def test_every_text_of_the_pages_has_its_french() -> None:
    """Each message of the templates and of bot/web has a French translation, and the catalog has no other."""
    web = Path(__file__).parents[2] / "bot" / "web"
    found = {
        m[0] if isinstance(m, tuple) else m
        for _f, _l, m, _c, _x in extract_from_dir(
            str(web), method_map=[("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
        )
    }
    french = i18n.catalogs()["fr"]
    missing = sorted(m for m in found if french.gettext(m) == m)
    assert missing == []
    from babel.messages.pofile import read_po

    with (web / "translations/fr/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f)
    assert {m.id for m in catalog if m.id} == found
    assert not [m.id for m in catalog if m.id and m.fuzzy]


def test_countries_are_named_in_the_pages_language() -> None:
    """The lists hold ISO 3166 countries, named in English or French."""
    en, fr = dict(i18n.countries("en")), dict(i18n.countries("fr"))
    assert en["DE"] == "Germany" and fr["DE"] == "Allemagne" and set(en) == set(fr)
    assert not {"EU", "ZZ", "001"} & set(en) and len(en) > 240


def test_the_store_keeps_identities_and_uses_a_link_once(database_url: str) -> None:
    """On SQLite and PostgreSQL: a second record replaces the first, and of two units of work using one link, one
    succeeds; a link past its end cannot be used."""
    engine = make_engine(database_url)
    w = World(SqlStore(engine))
    url = w.link("42")
    nonce = url.rsplit("/", 1)[1].split(".")[1]
    now = w.clock.now()
    with w.store() as one, w.store() as two:
        assert one.page_links.use(nonce, now)
        one.commit()
        assert not two.page_links.use(nonce, now)
    later = w.link("43", ttl=timedelta(minutes=1))
    with w.store() as tx:
        assert not tx.page_links.use(later.rsplit("/", 1)[1].split(".")[1], now + timedelta(minutes=1))
    app = w.make_app()
    for first_name in ("Alice", "Alicia"):
        client = app.test_client()
        assert (
            client.post(
                "/identity", data=filled("44", first_name=first_name, csrf=opened(client, w.link("44")))
            ).status_code
            == 200
        )
    stored = identity_of(w.store, "44")
    assert stored is not None and stored.first_name == "Alicia" and stored.terms_accepted_at.tzinfo == UTC
    engine.dispose()


def test_paybot_web_names_what_it_misses(tmp_path: Path) -> None:
    """`paybot web` without PAYBOT_WEB_URL says so and stops before touching the store."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PAYBOT_LINK_SECRET": "5f2b9c1e8d7a4036b1c9e2f7a8d3b6c04e1f9a7d2c8b5e3f",
        "PAYBOT_DB_PATH": str(tmp_path / "p.db"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "bot", "web"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert run.returncode == 2 and "PAYBOT_WEB_URL is not set" in run.stderr and not (tmp_path / "p.db").exists()


def test_identity_of_is_none_for_someone_who_never_filled_the_page() -> None:
    """The adapter's reading: nothing for a person who never sent the form."""
    assert identity_of(MemoryStore(), "99") is None
    assert datetime.now(UTC) > datetime(2026, 1, 1, tzinfo=UTC)  # the store's times are UTC-aware


def test_two_forms_sent_at_once_with_one_link_store_one(database_url: str) -> None:
    """On SQLite and PostgreSQL, two browsers that opened one link send their forms at the same instant: one is
    saved, the other is told the link was used, and the record is the saved one's whole."""
    from tests.support.racing import at_once

    engine = make_engine(database_url)
    w = World(SqlStore(engine))
    app = w.make_app()
    url = w.link("42")
    clients = [app.test_client(), app.test_client()]
    forms = [
        filled("42", first_name=name, city=city, csrf=opened(c, url))
        for c, name, city in zip(clients, ("Alice", "Alicia"), ("Paris", "Lyon"), strict=True)
    ]
    answers = at_once(lambda i: clients[i].post("/identity", data=forms[i]).status_code, [0, 1])
    assert sorted(answers) == [200, 410]  # type: ignore[type-var]
    stored = w.identity("42")
    assert stored is not None and (stored.first_name, stored.city) in {("Alice", "Paris"), ("Alicia", "Lyon")}
    engine.dispose()


@given(
    st.dictionaries(
        st.sampled_from([*TEXT_FIELDS, "birthday", "nationality", "residence", "terms", "x_handle"]),
        st.text(max_size=120),
    )
)
def test_any_form_is_read_without_failing_and_what_passes_is_clean(data: dict[str, str]) -> None:
    """Whatever is posted, the checks answer (never raise), each error is one of the page's messages, and a field
    that passes holds no control character and at most 100 characters."""
    form = read(data, receive=True, countries={"FR", "GB"}, today=date(2026, 12, 7), handle="alice")
    french = i18n.catalogs()["fr"]
    for text, _values in form.errors.values():
        assert french.gettext(text) != text
    for name, value in form.values.items():
        if name not in form.errors:
            assert len(value) <= 100 and not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in value)

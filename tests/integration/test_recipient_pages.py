"""Mangopay's pages of `paybot web` (bot/web/recipient_pages.py) through Flask's test client, on the Mangopay
adapter and its emulator: the cash-out account page (schema-driven, validated before creation, created PENDING,
then Mangopay's SCA with an encoded returnUrl back to a page that reads the Recipient) and the SCA return pages
(enrolment, wallet access). Each failure ends on a page saying so, and nothing is created or lost."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from flask.testing import FlaskClient

from bot.domain import PagePurpose
from bot.repo.engine import make_engine
from bot.repo.sql import SqlStore
from bot.sims.mangopay import IBAN_OK
from bot.web.recipient_pages import ROUTES, fields_of
from tests.support.mangopayworld import ALICE, BOB, MangopayPages
from tests.support.webworld import World

GOOD_IBAN = "FR76 3000 4000 0312 3456 7890 143"


@pytest.fixture
def mw(tmp_path: Path) -> Iterator[MangopayPages]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    web = World(SqlStore(engine))
    world = MangopayPages.make(web, tmp_path)
    web.make_app(mangopay=world.mp)
    world.give_identity(ALICE)
    yield world
    world.close()
    engine.dispose()


def client_of(mw: MangopayPages) -> FlaskClient:
    assert mw.web.app is not None
    return mw.web.app.test_client()


def local(url: str) -> str:
    """A URL of paybot's pages as the test client takes it (path and query)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def open_recipient_page(mw: MangopayPages, client: FlaskClient, user: str = ALICE) -> str:
    link = mw.desk.link(PagePurpose.RECIPIENT, user)
    assert link is not None and user not in link  # nothing personal in the address
    assert client.get(local(link)).headers["Location"].endswith("/recipient")
    page = client.get("/recipient")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def account(csrf: str, iban: str = GOOD_IBAN) -> dict[str, str]:
    return {
        "csrf": csrf,
        "IndividualRecipient-FirstName": "Alice",
        "IndividualRecipient-LastName": "Martin",
        "IndividualRecipient-Address-AddressLine1": "12 rue de la Paix",
        "IndividualRecipient-Address-City": "Paris",
        "IndividualRecipient-Address-PostalCode": "75002",
        "IndividualRecipient-Address-Country": "FR",
        "LocalBankTransfer-EUR-IBAN": iban,
        "LocalBankTransfer-EUR-BIC": "",
    }


def test_the_form_is_mangopays_schema_for_the_country_and_currency(mw: MangopayPages) -> None:
    """A French resident with a EUR wallet gets the local transfer's fields (IBAN, optional BIC) with her name and
    address filled in from the identity page; Germany in EUR is local too, and the route can be changed."""
    mw.verified_owner(ALICE)
    client = client_of(mw)
    html = open_recipient_page(mw, client)
    assert 'id="LocalBankTransfer-EUR-IBAN"' in html and 'value="Martin"' in html and 'value="75002"' in html
    assert "AccountNumber" not in html
    method, schema = mw.mp.recipient_schema("US", "EUR")
    assert method == "InternationalBankTransfer"
    assert [f.path for f in fields_of(schema, method)][-2:] == [
        "InternationalBankTransfer.AccountNumber",
        "InternationalBankTransfer.BIC",
    ]
    moved = client.post("/recipient", data={"csrf": csrf_of(html), "step": "route", "country": "US", "currency": "EUR"})
    assert moved.status_code == 303
    assert 'id="InternationalBankTransfer-AccountNumber"' in client.get("/recipient").get_data(as_text=True)
    assert set(ROUTES) <= {r.rule for r in mw.web.app.url_map.iter_rules()}  # type: ignore[union-attr]


def test_an_account_is_validated_created_confirmed_with_sca_and_the_return_page_says_so(
    mw: MangopayPages, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong IBAN comes back beside its field and nothing is created; the right one makes a PENDING Recipient
    whose SCA link carries the percent-encoded return page; passing it, the return page reads ACTIVE. Neither
    IBAN nor the person's name reaches the log."""
    caplog.set_level(logging.DEBUG)
    mw.verified_owner(ALICE)
    client = client_of(mw)
    csrf = csrf_of(open_recipient_page(mw, client))
    wrong = client.post("/recipient", data=account(csrf, "FR76 3000 4000 0312 3456 7890 144"))
    assert wrong.status_code == 422 and "This IBAN is not valid" in wrong.get_data(as_text=True)
    assert mw.recipients(ALICE) == []
    made = client.post("/recipient", data=account(csrf))
    assert made.status_code == 200
    sca = re.search(r'href="([^"]+/_sim/sca\?[^"]+)"', made.get_data(as_text=True))
    assert sca, made.get_data(as_text=True)
    url = sca.group(1).replace("&amp;", "&")
    assert url.endswith("&returnUrl=http%3A%2F%2F127.0.0.1%2Frecipient%2Fdone")
    [pending] = mw.recipients(ALICE)
    assert pending["Status"] == "PENDING"
    assert client.get("/recipient").status_code == 410  # the link is used: the form is not shown again
    back = mw.sim.follow_sca_link(url)
    assert back["Status"] == "VALIDATED"
    done = client.get(local(back["returnUrl"]) + "?controlStatus=VALIDATED")
    assert done.status_code == 200 and "Your bank account is ready" in done.get_data(as_text=True)
    assert mw.recipients(ALICE)[0]["Status"] == "ACTIVE"
    logged = caplog.text.replace(" ", "")
    assert "30004000" not in logged and "Martin" not in caplog.text


def test_a_lapsed_sca_session_says_the_account_was_not_added(mw: MangopayPages) -> None:
    mw.verified_owner(ALICE)
    client = client_of(mw)
    made = client.post("/recipient", data=account(csrf_of(open_recipient_page(mw, client))))
    url = unquote(re.findall(r'href="([^"]+)"', made.get_data(as_text=True))[-1]).replace("&amp;", "&")
    mw.web.clock.advance(timedelta(minutes=10))
    done = client.get("/recipient/done?controlStatus=FAILED")
    assert "Your bank account was not added" in done.get_data(as_text=True)
    assert mw.recipients(ALICE)[0]["Status"] == "CANCELED" and "token=" in url


def test_failures_show_a_clear_page_and_create_nothing(mw: MangopayPages) -> None:
    """A form without its CSRF token, a used link, an expired one, and bob's link opened where alice's is open."""
    mw.verified_owner(ALICE)
    client = client_of(mw)
    csrf = csrf_of(open_recipient_page(mw, client))
    no_csrf = client.post("/recipient", data={**account(csrf), "csrf": ""})
    assert no_csrf.status_code == 400 and "This form was not accepted" in no_csrf.get_data(as_text=True)
    bobs = mw.desk.link(PagePurpose.RECIPIENT, BOB)
    assert bobs is not None
    assert client.get(local(bobs)).status_code == 403  # another person's link: refused, hers stays
    assert client.post("/recipient", data=account(csrf)).status_code == 200
    assert len(mw.recipients(ALICE)) == 1
    assert client.post("/recipient", data=account(csrf)).status_code == 410  # used
    assert len(mw.recipients(ALICE)) == 1
    late = mw.desk.link(PagePurpose.RECIPIENT, ALICE)
    assert late is not None
    mw.web.clock.advance(timedelta(minutes=15))
    assert client_of(mw).get(local(late)).status_code == 410
    assert client_of(mw).get("/recipient").status_code == 403  # no link: nothing opens


def test_the_enrolment_return_page_reads_the_owners_status(mw: MangopayPages) -> None:
    """The SCA enrolment link's returnUrl is paybot's return page (a page link): passed, it says the account is
    secured; lapsed, that it is not and to DM CLAIM for a new link."""
    enrolment = mw.mp.onboard(ALICE)
    assert enrolment.enrol and enrolment.url
    back = unquote(enrolment.url.split("returnUrl=", 1)[1])
    assert back.startswith(f"{mw.web.base}/l/")
    mw.web.clock.advance(timedelta(minutes=10))  # the session lapses
    client = client_of(mw)
    assert client.get(local(back) + "?controlStatus=FAILED").headers["Location"].endswith("/return/enrolled")
    assert "Your account is not secured yet" in client.get("/return/enrolled").get_data(as_text=True)
    again = mw.mp.onboard(ALICE)
    assert again.url and mw.sim.follow_sca_link(again.url)["controlStatus"] == "VALIDATED"
    fresh = client_of(mw)
    fresh.get(local(unquote(again.url.split("returnUrl=", 1)[1])) + "?controlStatus=VALIDATED")
    assert "Your account is secured" in fresh.get("/return/enrolled").get_data(as_text=True)


def test_the_wallet_sca_return_page_says_whether_the_account_is_open(mw: MangopayPages) -> None:
    mw.verified_owner(ALICE)
    mw.web.clock.advance(timedelta(days=181))
    out = mw.mp.cash_out(key="cashout:1", user_id=ALICE, currency="EUR")
    assert out.url and out.outcome == "needs_sca"
    back = local(unquote(out.url.split("returnUrl=", 1)[1]))
    client = client_of(mw)
    client.get(back + "?controlStatus=FAILED")
    assert "It was not confirmed" in client.get("/return/wallet").get_data(as_text=True)
    mw.sim.follow_sca_link(out.url)
    again = client_of(mw)
    again.get(back + "?controlStatus=VALIDATED")
    assert "It&#39;s confirmed" in again.get("/return/wallet").get_data(as_text=True)  # (escaped by Jinja)


def test_the_sim_page_needs_an_iban_that_checks(mw: MangopayPages) -> None:
    """(The emulator's own good IBAN makes a Recipient: the pages are not tied to one account.)"""
    mw.verified_owner(ALICE)
    client = client_of(mw)
    assert client.post("/recipient", data=account(csrf_of(open_recipient_page(mw, client)), IBAN_OK)).status_code == 200


def test_paybot_web_on_mangopay_serves_the_pages_with_an_adapter_of_its_own(mw: MangopayPages, tmp_path: Path) -> None:
    """`paybot web` is given settings only: on PAYBOT_PROVIDER=mangopay it builds the adapter (its people on the
    app's store; bot.cli makes it, bot.web imports no adapter) and serves the pages; on another provider it does
    not."""
    from werkzeug.test import Client

    from bot.cli.running import web_server
    from bot.config import Settings
    from bot.repo.engine import make_engine
    from tests.support.webworld import SECRET

    settings = Settings(
        paybot_provider="mangopay",
        mangopay_client_id=mw.sim.client_id,
        mangopay_api_key=mw.sim.api_key,
        mangopay_api_base=mw.sim.base,
        mangopay_card_page_url=mw.sim.base + "/_sim/card-page/{id}?user={user}&token={token}",
        paybot_link_secret=SECRET,
        paybot_web_url="http://127.0.0.1",
        mangopay_db_path=str(tmp_path / "web-mp.db"),
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'web.db'}")
    served = web_server(settings, engine, "127.0.0.1", 0)
    plain = web_server(Settings(paybot_link_secret=SECRET, paybot_web_url="http://127.0.0.1"), engine, "127.0.0.1", 0)
    try:  # each server's own WSGI application, asked for Mangopay's page: refused without a link, or unknown
        here = {"REMOTE_ADDR": "127.0.0.1"}
        assert Client(served.application).get("/recipient", environ_base=here).status_code == 403
        assert Client(plain.application).get("/recipient", environ_base=here).status_code == 404
    finally:
        served.close()
        plain.close()
        engine.dispose()

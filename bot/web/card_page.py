"""The card page (`/card`, reached through a link of purpose "card"): a person saves a card for paybot to pay with.

The card number never reaches paybot. The page's script (static/card.js, served by paybot) posts the card number,
expiry and security code straight to the provider's tokenization server (`CardForm.url`, the registration's
CardRegistrationURL) and puts only that server's answer (`data=...` or `errorCode=...`) in the form it then posts to
paybot; the card fields have no `name`, so the browser never sends them with the form even when the script fails.
The page's Content-Security-Policy lets it reach paybot and that one host only (connect-src), and post forms to
paybot only (form-action).

Posted, the form brings its CSRF token, the tokenization answer, and what 3-D Secure needs of the browser (Mangopay's
BrowserInfo: the script reads the language, screen and time zone; the Accept and User-Agent headers are the
request's own); the IP address is the connection's (`card_port.client_ip`: X-Forwarded-For counts only when
PAYBOT_TRUSTED_PROXIES says how many of the operator's proxies wrote it). The provider then finishes the
registration and authenticates the card while the person is there (`CardPort.finish_card`):
- saved: the link is used (once, atomic, as the identity page's) and the page says so;
- the bank wants the person: a page explains and links to the bank's page (a link, not a redirect: the form's
  policy allows posting to paybot only), which sends them back to `/card/return`, where the page reads what the
  bank decided (the payment's id is the session's, whatever the address says);
- refused (a wrong number, a declined card, a failed 3-D Secure): the form again, saying why; the link still works
  and nothing was kept, so another card can be tried.
A failure of the provider shows a page saying nothing was saved. Problems with the link (expired, used, another
person's, no CSRF token) are the app's own pages (bot.web.app).

One card registration per link, while it is usable (`open_form`). Reloading the page, or following the same link
again in the same browser, shows the registration the link's page opened before instead of opening another (each
opening is a POST to Mangopay, an object there, and a request of the operator's rate budget). Mangopay gives a
registration no lifetime: it is CREATED until RegistrationData is sent to it, then VALIDATED or ERROR for good
(api-reference/card-registrations/card-registration-object.mdx and its Status, snippets/object-attributes/
Status4.mdx). So paybot takes "usable" to mean: opened for this link (its person, and no older than the link's
minutes, PAYBOT_LINK_TTL), and no card form posted with it yet. Only paybot sends RegistrationData, and only from a
posted form, so the page knows without asking Mangopay: a registration is kept in the link's session (the signed
cookie) and dropped from it by the first form posted with it, whatever that form's fate (the browser tokenized into
it, or tried to: the tokenization server's answer is one per registration). A refused card, a wrong handle, a form
without its script's answer, then open a new registration, as does a new link.
One card form at a time per link ("read, commit, call, commit": no provider call inside a unit of work). Before
the provider sees a card, the page claims the link in a unit of work of its own (`PageLinks.claim`: one conditional
UPDATE, so of two browsers, or a double submit, posting on one link at once exactly one wins) and commits; the
claim's token is kept in the browser's session (`CLAIM`). The loser calls nothing and gets a page (409) saying this
link is saving a card elsewhere and nothing was saved here. The winner calls the provider, then:
- saved: the link is used only if its claim is still this browser's (`PageLinks.use_claimed`, checked: a link the
  page could not use says so instead of "saved");
- refused, or the provider failed: the claim is released, so the same link may try another card (in any browser);
- the bank wants the person (or the payment is pending): the claim is kept while they are at the bank, and only
  the browser holding it reads the return. Nothing else takes the link meanwhile, not even the same browser (a
  second tab, the form again): any form gets the 409 page. The bank's return is the only way the claim resolves
  (SAVED: the link is used; refused or failed: the claim is released), or the link's end. Letting the browser
  replace its own claim let two card forms of one link run at once: the return of card A, with Mangopay while card
  B was saved, saved card A over B (the adapter saves a card on the CIT's success, before the page checks its
  claim) though A's page said "used"; two active cards from one link.
The return checks, in a unit of work of its own just before it asks Mangopay anything, that the session's claim
token still is the link's claim: since nothing else may take a held claim, the claim it then holds stays its own
while the adapter reads (and may save) the card.
The claim has no clock of its own: it ends with the link (PAYBOT_LINK_TTL), is released as above, or is used. A
server that dies during the provider call, or a person who abandons the bank's page, leaves the link held until its
end (the person waits for it, or sends REGISTER again for a new link).
The link's minutes count at the claim: a form posted while the link is within them is finished and saved even if
the provider answers after the link's end (the person said yes in time; the claim already shut out every other
form). The bank's return is a new step and counts its own time, below.
The bank's return (`/card/return`) is read only while the link is within its minutes: past them the page says the
link lapsed and nothing is saved, whatever the bank decided (the card is not kept; a new REGISTER starts again).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, Response, g, request, session

from bot.domain import PagePurpose
from bot.domain.entities import PageLink
from bot.errors import ProviderError
from bot.ports import Clock
from bot.repo.port import Store, Tx
from bot.web import page_links, security
from bot.web.card_port import Browser, CardForm, CardPort, Finished, Outcome, client_ip
from bot.web.identity_form import N_, same_handle
from bot.web.page_links import LinkState

log = logging.getLogger(__name__)

ROUTES = {"/card": {"GET", "POST"}, "/card/return": {"GET"}}
PAGE = "card"  # the endpoint a link of purpose "card" opens
# The session's key for the link's open card registration (what the page shows of it, and the link's nonce).
OPEN_FORM = "card_form"
# The session's key for the browser's hold on the link (`PageLinks.claim`): {"link": nonce, "token": token}.
CLAIM = "card_claim"
# Why a card was refused (`Finished.reason`), as the page says it.
REASONS = {
    "number": N_("The card number is not right. Check it and try again."),
    "expiry": N_("The expiry date is not right, or the card has expired. Check it and try again."),
    "cvc": N_("The security code is not right. It is the 3 or 4 digits on the card. Check it and try again."),
    "unreadable": N_("The card could not be read. Try again."),
    "declined": N_("Your bank declined this card. Nothing was saved. Try another card."),
    "not_approved": N_("The card was not confirmed with your bank. Nothing was saved. Try again or use another card."),
    "identity": N_(
        "Your identity check with Mangopay is not finished yet. Send the bot CLAIM for its link, then save your card."
    ),
    "no_script": N_("This page needs JavaScript to send your card to Mangopay. Turn it on and try again."),
    "browser": N_("Your browser did not describe itself as your bank requires. Try again, or use another browser."),
    "not_yours": N_(
        "This page saves a card for another X account than the one you typed. Nothing was saved. To save "
        "a card for your own account, send the bot REGISTER by direct message yourself."
    ),
}

LAPSED = N_(
    "This link's minutes ran out before you came back from your bank, so nothing was saved and paybot will "
    "not pay with this card."
)
FAILED = N_("Nothing was saved: the payment service did not answer. Please try again in a few minutes.")
BUSY = N_(
    "Nothing was saved here: this link is saving a card in another window or browser (or this form was sent "
    "twice). Look there; one link saves one card."
)


@dataclass(frozen=True)
class Pages:
    """What the card page borrows from the app: its store and clock, how a page and a problem page are shown,
    and the session's link."""

    store: Store
    clock: Clock
    base_url: str  # PAYBOT_WEB_URL: the bank's page sends the person back there
    page: Callable[..., Response]
    problem: Callable[..., Response]
    session_link: Callable[[Tx], PageLink | None]


def register(app: Flask, pages: Pages, port: CardPort, *, trusted_proxies: int = 0) -> None:  # noqa: C901
    """Add the card page's routes (`ROUTES`) to `app`, on the provider's side `port`."""

    def open_link(tx: Tx, now: datetime) -> tuple[PageLink | None, Response | None]:
        link = pages.session_link(tx)
        if link is None or link.purpose != PagePurpose.CARD:
            return None, pages.problem("no_link")
        state = page_links.state_of(link, now)
        if state is not LinkState.OK:
            return None, pages.problem(state, link.lang)
        return link, None

    def handle_of(link: PageLink) -> str:
        """The X handle of the account the link saves a card for, as the bot last saw it."""
        with pages.store() as tx:
            user = tx.users.get(link.user_id)
        return user.handle if user is not None else ""

    def form(link: PageLink, status: int = 200, reason: str | None = None) -> Response:
        opened = open_form(link)
        if opened is None:
            return pages.page("card_failed.html", link.lang, 503, text=FAILED)
        return shown(opened, link.lang, status, reason, handle_of(link))

    def open_form(link: PageLink) -> CardForm | None:
        """The link's open card registration while it is usable (see the module's docstring), else a new one kept
        in the session for the next showing; None when the provider could not open one."""
        held = session.get(OPEN_FORM)
        if isinstance(held, dict) and held.get("link") == link.nonce:
            try:
                return CardForm(
                    registration_id=str(held["id"]),
                    url=str(held["url"]),
                    access_key=str(held["access_key"]),
                    data=str(held["data"]),
                )
            except KeyError:
                pass
        try:
            opened = port.open_card(link.user_id)
        except ProviderError as err:
            log.warning("card page: the provider could not open a card registration: %s", type(err).__name__)
            return None
        session[OPEN_FORM] = {
            "link": link.nonce,
            "id": opened.registration_id,
            "url": opened.url,
            "access_key": opened.access_key,
            "data": opened.data,
        }
        return opened

    def shown(opened: CardForm, lang: str, status: int, reason: str | None, handle: str) -> Response:
        g.connect_hosts = (opened.origin,)  # the page may reach the tokenization server, and nothing else
        return pages.page(
            "card.html",
            lang,
            status,
            card=opened,
            reason=REASONS.get(reason or ""),
            csrf=security.csrf_token(session),
            handle=handle,
        )

    def held(link: PageLink) -> str | None:
        """The token of this browser's claim on `link` (see the module's docstring), if it has one."""
        claim = session.get(CLAIM)
        if isinstance(claim, dict) and claim.get("link") == link.nonce and isinstance(claim.get("token"), str):
            return str(claim["token"])
        return None

    def claim(link: PageLink, now: datetime) -> str | None:
        """Claim `link` for this browser, in a unit of work of its own: the claim's token, or None when any form
        holds it (this browser's own too, while it is at the bank), or the link was used or ended meanwhile."""
        token = secrets.token_urlsafe(16)
        with pages.store() as tx:
            if not tx.page_links.claim(link.nonce, token, now):
                return None
            tx.commit()
        session[CLAIM] = {"link": link.nonce, "token": token}
        return token

    def release(link: PageLink, token: str) -> None:
        session.pop(CLAIM, None)
        with pages.store() as tx:
            tx.page_links.release(link.nonce, token)
            tx.commit()

    def not_claimed(link: PageLink, now: datetime) -> Response:
        """The page for a form that could not claim its link: why, as the link is now."""
        with pages.store() as tx:
            again = tx.page_links.get(link.nonce)
        state = page_links.state_of(again, now) if again is not None else LinkState.FORGED
        if state is not LinkState.OK:
            return pages.problem(state, link.lang)
        log.info("card page: a card form was refused: another form holds the link")
        return pages.page("card_failed.html", link.lang, 409, text=BUSY)

    def outcome(link: PageLink, token: str, finished: Finished, now: datetime) -> Response:
        if finished.outcome is Outcome.SAVED:
            session.pop("card_payment", None)
            session.pop(CLAIM, None)
            with pages.store() as tx:
                used = tx.page_links.use_claimed(link.nonce, token, now)
                if used:
                    tx.commit()
            if not used:  # not ours any more: never say "saved" for a link this form did not use
                log.error("card page: the provider saved a card but its link was no longer this form's")
                return pages.problem(LinkState.USED, link.lang)
            return pages.page("card_done.html", link.lang)
        if finished.outcome is Outcome.NEEDS_3DS:
            session["card_payment"] = finished.payment_id
            return pages.page("card_bank.html", link.lang, bank_url=finished.url)
        if finished.outcome is Outcome.PENDING:
            session["card_payment"] = finished.payment_id
            return pages.page("card_wait.html", link.lang, 202)
        session.pop("card_payment", None)
        release(link, token)
        if page_links.state_of(link, now) is not LinkState.OK:  # back from the bank after the link's end
            return pages.page(
                "card_failed.html", link.lang, 422, text=REASONS.get(finished.reason or "", REASONS["declined"])
            )
        return form(link, 422, finished.reason)

    def card() -> Response:
        now = pages.clock.now()
        with pages.store() as tx:
            link, refused = open_link(tx, now)
        if link is None:
            if refused is None:  # cannot happen: said so, rather than an assert that -O removes
                raise RuntimeError("refused is missing")
            return refused
        if request.method == "GET":
            return form(link)
        data = request.form.get("registration_data", "").strip()
        spent = session.pop(OPEN_FORM, None)  # a registration takes one card form, whatever becomes of it
        registration = spent.get("id") if isinstance(spent, dict) and spent.get("link") == link.nonce else None
        if not data.startswith(("data=", "errorCode=")) or not isinstance(registration, str):
            return form(link, 422, "no_script")
        browser = Browser.read(request.form, request.headers.get("Accept", ""), request.headers.get("User-Agent", ""))
        ip = client_ip(request.remote_addr, request.headers.get("X-Forwarded-For"), trusted_proxies)
        if browser is None or ip is None:
            return form(link, 422, "browser")
        # A link is a bearer's: one forwarded (or pushed on someone) must not save their card for the sender of
        # REGISTER, whose YES it would then pay. The page names the account; the person types it; another is refused
        # before anything reaches the provider (the tokenized card is left unused).
        if not same_handle(request.form.get("x_handle", ""), handle_of(link)):
            log.info("card page: a card was refused: the account typed is not the link's")
            return form(link, 422, "not_yours")
        token = claim(link, now)  # committed before the provider sees the card: one form per link at a time
        if token is None:
            return not_claimed(link, now)
        session.pop("card_payment", None)  # a bank visit of this browser's before is over: its claim was resolved
        try:
            finished = port.finish_card(link.user_id, registration, data, browser, ip, f"{pages.base_url}/card/return")
        except ProviderError as err:
            log.warning("card page: the provider could not save a card: %s", type(err).__name__)
            release(link, token)
            return pages.page("card_failed.html", link.lang, 503, text=FAILED)
        log.info("card page: a card form ended %s", finished.outcome)
        return outcome(link, token, finished, now)

    def card_return() -> Response:
        now = pages.clock.now()
        with pages.store() as tx:
            link = pages.session_link(tx)
        payment = session.get("card_payment")
        if link is None or link.purpose != PagePurpose.CARD or not isinstance(payment, str):
            return pages.problem("no_link", link.lang if link else None)
        if link.used_at is not None:
            return pages.problem(LinkState.USED, link.lang)
        token = held(link)
        if token is None or link.claim != token:  # this browser's form no longer holds the link
            return pages.problem("no_link", link.lang)
        if page_links.state_of(link, now) is not LinkState.OK:  # the link's minutes ran out at the bank
            log.info("card page: back from the bank after the link's end: nothing read, nothing saved")
            return pages.page("card_failed.html", link.lang, 410, text=LAPSED)
        with pages.store() as tx:  # the claim, as committed now: still this session's before Mangopay is asked
            current = tx.page_links.get(link.nonce)
        if current is None or current.used_at is not None or current.claim != token:
            log.info("card page: back from the bank, but the link's claim is not this browser's: nothing read")
            return pages.problem(LinkState.USED if current and current.used_at else "no_link", link.lang)
        try:
            finished = port.card_returned(link.user_id, payment)
        except ProviderError as err:
            log.warning("card page: the provider could not say what the bank decided: %s", type(err).__name__)
            return pages.page("card_failed.html", link.lang, 503, text=FAILED)
        log.info("card page: back from the bank, %s", finished.outcome)
        return outcome(link, token, finished, now)

    app.add_url_rule("/card", PAGE, card, methods=["GET", "POST"])
    app.add_url_rule("/card/return", "card_return", card_return, methods=["GET"])

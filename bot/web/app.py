"""The web app (`paybot web`): the pages people reach through the links the bot DMs them, and Stripe's webhook.

`create_app(settings, store, clock, webhook=...)` builds it from what it is given; nothing is global. Its routes
are exactly `ROUTES` (plus the webhook's and the console's when given, the card page's, `card_page.ROUTES`, when
given, and on Mangopay bot.web.recipient_pages.ROUTES); anything else is a 404 page.

How a link is followed (bot.web.page_links):
1. `GET /l/<token>` checks the link (signed by paybot for one person and one purpose, not past its end, not used).
   A good link starts a new session (a signed cookie: HttpOnly, SameSite=Lax, Secure on https) holding the link's
   nonce and a fresh CSRF token, and redirects to the page, so the token leaves the address bar. Opening it does
   not use it up: X's link preview may fetch it before the person does.
2. The page (`/identity`) works while the session's link does; its form carries the CSRF token.
3. Saving the form uses the link (once: `PageLinks.use`, atomic) in the same unit of work as the record; the
   page opened again then says the link was used.
A link that is expired, used or forged shows a page saying so, in the link's language (a forged one: the
browser's). So does another person's link opened in a browser where someone's own link is open and unused: a link
forwarded to or pushed on someone must not take over the page they are filling in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from bot import links
from bot.config import Settings
from bot.domain import PagePurpose
from bot.domain.entities import IdentityRecord, PageLink
from bot.ports import Clock
from bot.repo.port import Store, Tx
from bot.web import card_page, i18n, identity_form, page_links, security
from bot.web.card_port import CardPort
from bot.web.page_links import LinkState

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # the webhook's limit too (Stripe's events are a few kB; the forms far less)
SESSION_LABEL = b"paybot web session key v1"
# The routes paybot declares: rule -> methods (HEAD and OPTIONS aside). The webhook's is added when given.
ROUTES = {
    "/l/<token>": {"GET"},
    "/identity": {"GET", "POST"},
    "/static/<path:filename>": {"GET"},
}
WEBHOOK_ROUTE = ("/stripe/webhook", {"POST"})
# Each problem page: its HTTP status, title and text (English source; translated when shown).
N_ = identity_form.N_
PROBLEMS: dict[str, tuple[int, str, str]] = {
    LinkState.EXPIRED: (
        410,
        N_("This link has expired"),
        N_(
            "Links from paybot work for a few minutes only, to keep your account safe. Send the bot "
            "a direct message to get a new one."
        ),
    ),
    LinkState.USED: (
        410,
        N_("This link was already used"),
        N_(
            "Each link from paybot works once, and your details were saved with this one. If you need "
            "to change them, send the bot a direct message to get a new link."
        ),
    ),
    LinkState.FOREIGN: (
        403,
        N_("This link was sent to someone else"),
        N_(
            "This browser has a page open for another person. Nothing was changed. Only open the "
            "links paybot sent you yourself, by direct message."
        ),
    ),
    LinkState.FORGED: (
        403,
        N_("This link does not work"),
        N_(
            "paybot did not make this link, or it was cut short. Open the link exactly as the bot "
            "sent it to you by direct message."
        ),
    ),
    "no_link": (
        403,
        N_("Open your link first"),
        N_("This page opens only from a link paybot sent you by direct message."),
    ),
    "csrf": (
        400,
        N_("This form was not accepted"),
        N_(
            "The form did not come from this page as paybot showed it, so nothing was saved. Open your link "
            "again and fill the form in once more."
        ),
    ),
    "not_found": (
        404,
        N_("There is no such page"),
        N_("paybot's pages open only from the links the bot sends by direct message."),
    ),
    "method": (
        405,
        N_("This page cannot do that"),
        N_("paybot's pages open only from the links the bot sends by direct message."),
    ),
    "too_large": (413, N_("This form is too large"), N_("Nothing was saved. Fill the form in again, shorter.")),
    "bad_request": (
        400,
        N_("This request was not understood"),
        N_("Nothing was saved. Open the link paybot sent you by direct message again."),
    ),
    "error": (500, N_("Something went wrong"), N_("Nothing was saved. Please try again in a few minutes.")),
}
# The page each link purpose opens (bot.web.page_links.PURPOSES): a page serves only its own purposes' links.
# (The card page, bot.web.card_page; Mangopay's pages, bot.web.recipient_pages: the cash-out account page and the SCA
# return pages.)
PAGE_OF = {
    "pay": "identity",
    "receive": "identity",
    "card": card_page.PAGE,
    "recipient": "mangopay.recipient",
    "enrolled": "mangopay.enrolled",
    "wallet": "mangopay.wallet",
}
HTTP_PROBLEMS = {404: "not_found", 405: "method", 413: "too_large"}  # any other 4xx: bad_request; 5xx: error


def session_key(link_secret: str) -> bytes:
    """The key that signs the pages' session cookie, derived from PAYBOT_LINK_SECRET for that purpose only."""
    return hmac.new(link_secret.encode(), SESSION_LABEL, hashlib.sha256).digest()


def create_app(  # noqa: C901
    settings: Settings,
    store: Store,
    clock: Clock,
    *,
    webhook: Callable[[Flask], None] | None = None,
    console: Callable[[Flask], None] | None = None,
    script_hosts: tuple[str, ...] = (),
    connect_hosts: tuple[str, ...] = (),
    card: CardPort | None = None,
    mangopay: Any = None,
) -> Flask:
    """paybot's web app on `store`, telling time by `clock`. `settings` must hold PAYBOT_LINK_SECRET and
    PAYBOT_WEB_URL (ConfigError otherwise); `webhook(app)`, when given, adds Stripe's webhook route
    (`bot.providers.stripe.webhook.register`, endpoint "stripe_webhook"); `console(app)`, when given, adds the
    operator's console (`bot.console.pages.register`: blueprint "console", which checks its own forms' CSRF
    tokens, routes in `bot.console.pages.ROUTES`). `script_hosts` and `connect_hosts`
    (https origins) join 'self' in the Content-Security-Policy: where the card page will load and reach the
    provider's tokenization service. `card`, when given, adds the card page (bot.web.card_page, its routes
    `card_page.ROUTES`) on that side of the provider; its page adds the tokenization host of its registration to
    connect-src. `mangopay` (a MangopayProvider: the caller makes it, bot.web imports no
    adapter), when given, adds Mangopay's pages (bot.web.recipient_pages)."""
    base_url, secret = settings.require_web()
    key = links.link_key(secret)
    terms_url = settings.mangopay_terms_url
    catalogs = i18n.catalogs()
    policy = security.content_security_policy(script_hosts, connect_hosts)
    https = urlsplit(base_url).scheme == "https"
    app = Flask(
        "paybot-web",
        static_folder="static",
        static_url_path="/static",
        template_folder="templates",
        root_path=__file__.rsplit("/", 1)[0],
    )
    app.config.update(
        # On https the cookie is __Host-: Secure, for this host only, for every path (browsers enforce it).
        SECRET_KEY=session_key(secret),
        MAX_CONTENT_LENGTH=MAX_BODY,
        SESSION_COOKIE_NAME="__Host-paybot" if https else "paybot",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=1),
        SEND_FILE_MAX_AGE_DEFAULT=0,
        TEMPLATES_AUTO_RELOAD=False,
    )
    if webhook is not None:
        webhook(app)
    if console is not None:
        console(app)

    def page(template: str, lang: str, status: int = 200, **context: Any) -> Response:
        translate = i18n.gettext_for(catalogs[lang])
        html = render_template(template, lang=lang, _=translate, **context)
        return Response(html, status=status, mimetype="text/html")

    def problem(kind: str, lang: str | None = None) -> Response:
        status, title, text = PROBLEMS[kind]
        lang = lang or session_lang()
        return page("problem.html", lang, status, title=title, text=text, kind=str(kind))

    def session_lang() -> str:
        held = session.get("lang")
        return i18n.supported(held) if isinstance(held, str) else i18n.negotiate(request.accept_languages.values())

    def session_link(tx: Tx) -> PageLink | None:
        nonce = session.get("link")
        return tx.page_links.get(nonce) if isinstance(nonce, str) else None

    @app.after_request
    def secure(response: Response) -> Response:
        more = g.get("connect_hosts")  # a page that reaches one more host (the card page's tokenization server)
        response.headers.update(
            security.headers(
                security.content_security_policy(script_hosts, (*connect_hosts, *more)) if more else policy
            )
        )
        return response

    @app.before_request
    def forms_carry_their_token() -> Response | None:
        if (
            request.method in ("GET", "HEAD", "OPTIONS")
            or request.endpoint in (None, "stripe_webhook")
            or request.blueprint == "console"
        ):
            return None
        if not security.csrf_ok(session, request.form.get(security.CSRF_FIELD)):
            log.warning("a form was refused: no valid CSRF token")
            return problem("csrf")
        return None

    @app.errorhandler(HTTPException)
    def http_problem(err: HTTPException) -> Response:
        code = err.code or 500
        return problem(HTTP_PROBLEMS.get(code, "bad_request" if code < 500 else "error"))

    @app.errorhandler(Exception)
    def failure(err: Exception) -> Response:
        log.error("a page failed: %s", type(err).__name__)  # not the URL: it may hold a link's token
        return problem("error")

    @app.get("/l/<token>")
    def follow_link(token: str) -> Response:
        now = clock.now()
        with store() as tx:
            checked = page_links.check(tx, key, token, now)
            if checked.link is None or checked.state is not LinkState.OK:
                log.info("a page link was refused: %s", checked.state)
                return problem(checked.state, checked.link.lang if checked.link else None)
            held = session_link(tx)
            if (
                held is not None
                and held.nonce != checked.link.nonce
                and held.user_id != checked.link.user_id
                and page_links.state_of(held, now) is LinkState.OK
            ):
                log.info("a page link was refused: %s", LinkState.FOREIGN)
                return problem(LinkState.FOREIGN, held.lang)
            # The same link followed again keeps the card registration its page opened (bot.web.card_page).
            card_form = (
                session.get(card_page.OPEN_FORM) if held is not None and held.nonce == checked.link.nonce else None
            )
            session.clear()  # a new session for each link followed: nothing else of an earlier one carries over
            session.update(link=checked.link.nonce, lang=checked.link.lang)
            if card_form is not None:
                session[card_page.OPEN_FORM] = card_form
            control = request.args.get("controlStatus")  # Mangopay's hint on its SCA return (indicative only)
            if control in ("VALIDATED", "FAILED"):
                session["control"] = control
            security.csrf_token(session)
        if PAGE_OF[checked.link.purpose] not in app.view_functions:  # a card link where no card page is served
            return problem("not_found", checked.link.lang)
        return redirect(url_for(PAGE_OF[checked.link.purpose]), code=303)  # type: ignore[return-value]

    @app.route("/identity", methods=["GET", "POST"])
    def identity() -> Response:
        now = clock.now()
        with store() as tx:
            link = session_link(tx)
            if link is None or PAGE_OF.get(link.purpose) != "identity":
                return problem("no_link")
            state = page_links.state_of(link, now)
            if state is not LinkState.OK:
                return problem(state, link.lang)
            lang, receive = link.lang, link.purpose == PagePurpose.RECEIVE
            countries = i18n.countries(lang)
            owner = tx.users.get(link.user_id)
            handle = owner.handle if owner is not None else ""  # the account the page names; its owner types it
            context: dict[str, Any] = {
                "receive": receive,
                "countries": countries,
                "terms_url": terms_url,
                "csrf": security.csrf_token(session),
                "handle": handle,
            }
            if request.method == "GET":
                return page("identity.html", lang, values={}, errors={}, **context)
            form = identity_form.read(
                request.form, receive=receive, countries={c for c, _ in countries}, today=now.date(), handle=handle
            )
            if form.errors:
                if "x_handle" in form.errors:
                    log.info("identity page: a form was refused: the account typed is not the link's")
                return page("identity.html", lang, 422, values=form.values, errors=form.errors, **context)
            if not tx.page_links.use(link.nonce, now):  # used meanwhile (another tab), or just expired
                tx.rollback()
                again = tx.page_links.get(link.nonce)
                state = page_links.state_of(again, now) if again else LinkState.FORGED
                return problem(LinkState.USED if state is LinkState.OK else state, lang)
            tx.identities.add(_record(link, form, terms_url, now, tx.identities.get(link.user_id)))
            tx.commit()
        # The session keeps the link: the page opened again (a reload) says it was used, and another person's
        # link is no longer refused here.
        log.info("identity page: a form was saved")
        return page("done.html", lang, accepted=i18n.when(now, lang, i18n.gettext_for(catalogs[lang])))

    # What a page module borrows from the app (the card page's and Mangopay's pages alike).
    kit = card_page.Pages(
        store=store, clock=clock, base_url=base_url, page=page, problem=problem, session_link=session_link
    )
    if card is not None:
        card_page.register(app, kit, card, trusted_proxies=settings.paybot_trusted_proxies)
    if mangopay is not None:
        from bot.web import recipient_pages

        recipient_pages.register(app, kit, mangopay)
    return app


def _record(
    link: PageLink, form: identity_form.Form, terms_url: str, now: Any, before: IdentityRecord | None
) -> IdentityRecord:
    """The record a saved form makes. A "pay" form (name, e-mail, terms) keeps what the person gave earlier to
    receive money: a new link to pay must not take away their ability to be paid."""
    v = form.values
    receive = link.purpose == PagePurpose.RECEIVE

    def opt(name: str) -> str | None:
        if receive:
            return v.get(name) or None
        return getattr(before, name) if before is not None else None

    return IdentityRecord(
        user_id=link.user_id,
        first_name=v["first_name"],
        last_name=v["last_name"],
        email=v["email"],
        birthday=form.birthday if receive else (before.birthday if before else None),
        nationality=opt("nationality"),
        residence=opt("residence"),
        address_line1=opt("address_line1"),
        address_line2=opt("address_line2"),
        city=opt("city"),
        region=opt("region"),
        postal_code=opt("postal_code"),
        terms_url=terms_url,
        terms_accepted_at=now,
        lang=link.lang,
        updated_at=now,
    )

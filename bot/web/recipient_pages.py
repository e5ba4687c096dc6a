"""Mangopay's pages of `paybot web`: the cash-out account page, and the pages Mangopay's SCA sessions return to.

The cash-out account page (`/recipient`, opened by a "recipient" link the bot DMs when CASHOUT finds no account):
1. The route: the bank account's country (the person's country of residence first) and currency (one of their
   wallets'). Mangopay's payout methods for that route pick the method (a local transfer where offered, else
   international: GET /recipients/payout-methods) and its Recipient schema (GET /recipients/schema) makes the form:
   every field it lists under IndividualRecipient and under the method, the holder's name and address filled in
   from the identity page. paybot fills the rest (DisplayName, Currency, Country, RecipientType Individual,
   PayoutMethodType, RecipientScope PAYOUT).
2. Sent, the data is checked by Mangopay (POST .../recipients/validate) before anything is created: its refusals
   come back beside their fields. Then the Recipient is created (PENDING; the Idempotency-Key is the link's: a form
   sent twice makes one), the link is used, and the page says Mangopay will ask the person to confirm it is them,
   with a button to Mangopay's SCA page (a link, not a redirect: the pages' Content-Security-Policy allows forms to
   post only to paybot), whose percent-encoded returnUrl is `/recipient/done`.
3. `/recipient/done` reads the Recipient's Status from Mangopay (the session says which: nothing personal in the
   address) and says what happened: ACTIVE (DM CASHOUT again; the bot asks to confirm the account by DM, "YES
   0143", before anything is paid to it: bot/app/accounts.py), CANCELED (the confirmation failed or lapsed: nothing
   saved), or still PENDING.

The SCA return pages (`/return/enrolled`, `/return/wallet`) open from a link the adapter issued with the SCA link
(bot.providers.mangopay_people), Mangopay's `returnUrl`: they read what happened (the Owner's UserStatus; whether
their wallets can be read) and say it. Mangopay's `controlStatus` is only a hint (guides/sca/session.mdx): a session
that lapsed (10 minutes) or failed comes back FAILED, and the page says so and what to DM for a new link.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, redirect, request, session, url_for

from bot.domain.entities import IdentityRecord, PageLink
from bot.errors import ProviderError
from bot.web import i18n, security
from bot.web.identity_form import N_, _clean, _has_control
from bot.web.page_links import LinkState, state_of

log = logging.getLogger(__name__)

ROUTES = {
    "/recipient": {"GET", "POST"},
    "/recipient/done": {"GET"},
    "/return/enrolled": {"GET"},
    "/return/wallet": {"GET"},
}
FIXED = ("DisplayName", "Currency", "Country", "RecipientType", "PayoutMethodType", "RecipientScope")
MAX_VALUE = 100
# The schema's fields, named for people (the schema's own name where none is known).
LABELS = {
    "FirstName": N_("First name"),
    "LastName": N_("Last name"),
    "AddressLine1": N_("Street and number"),
    "AddressLine2": N_("Apartment, floor, building"),
    "City": N_("Town or city"),
    "Region": N_("Region or state"),
    "PostalCode": N_("Postal code"),
    "Country": N_("Country"),
    "IBAN": N_("IBAN (international account number)"),
    "BIC": N_("BIC (bank code)"),
    "AccountNumber": N_("Account number"),
    "SortCode": N_("Sort code"),
    "RoutingNumber": N_("Routing number"),
}
AUTOCOMPLETE = {
    "FirstName": "given-name",
    "LastName": "family-name",
    "AddressLine1": "address-line1",
    "AddressLine2": "address-line2",
    "City": "address-level2",
    "Region": "address-level1",
    "PostalCode": "postal-code",
    "Country": "country",
}
# Mangopay's refusals (create-recipient.mdx, "Parameter errors"), in words for people.
ERRORS = {
    "REQUIRED": N_("Enter this."),
    "INVALID_IBAN": N_("This IBAN is not valid: copy it from your bank."),
    "UNSUPPORTED_IBAN": N_("Mangopay cannot pay out to this IBAN's country in this currency."),
    "INVALID_BIC": N_("This BIC is not valid: it has 8 or 11 letters and digits."),
    "INVALID_ACCOUNT_NUMBER": N_("This account number is not valid."),
    "INVALID_FORMAT": N_("This is not written as Mangopay expects."),
}
OTHER_ERROR = N_("Mangopay did not accept this.")
GENERAL = "_general"
# What a page says: (title, text), English source.
SAID = {
    "no_wallet": (N_("There is nothing to cash out yet"), N_("Your account holds no money yet. Nothing was changed.")),
    "unavailable": (
        N_("This page is not available right now"),
        N_("Mangopay could not be reached. Nothing was saved. Please try again in a few minutes."),
    ),
    "active": (
        N_("Your bank account is ready"),
        N_(
            "Mangopay confirmed it. Send the bot CASHOUT again by direct message: before anything is paid to "
            "this account, the bot asks you to confirm it there."
        ),
    ),
    "canceled": (
        N_("Your bank account was not added"),
        N_(
            "The confirmation with Mangopay was not completed, or it lapsed after 10 minutes. Nothing was "
            "saved and nothing was paid. Send the bot CASHOUT by direct message to get a new link."
        ),
    ),
    "pending": (
        N_("Your bank account is waiting for your confirmation"),
        N_(
            "Mangopay has not confirmed it yet. If you did not finish, the confirmation lapses after 10 "
            "minutes; then send the bot CASHOUT again. Nothing is paid until it is confirmed."
        ),
    ),
    "enrolled": (
        N_("Your account is secured"),
        N_("You can close this page and go back to X: the bot sends you the next step by direct message."),
    ),
    "not_enrolled": (
        N_("Your account is not secured yet"),
        N_(
            "The confirmation with Mangopay was not completed, or it lapsed after 10 minutes. Nothing "
            "changed. Send the bot CLAIM by direct message to get a new link."
        ),
    ),
    "wallet_open": (
        N_("It's confirmed"),
        N_("Mangopay confirmed it's you. Send the bot CASHOUT again by direct message to cash out."),
    ),
    "wallet_closed": (
        N_("It was not confirmed"),
        N_(
            "The confirmation with Mangopay was not completed, or it lapsed after 10 minutes. Nothing "
            "was paid out. Send the bot CASHOUT by direct message to get a new link."
        ),
    ),
}


@dataclass(frozen=True)
class Field:
    """One field of the form: the schema's path (its name in the form, with "-" for "."), label and need."""

    path: str
    label: str
    required: bool
    country: bool

    @property
    def name(self) -> str:
        return self.path.replace(".", "-")


def fields_of(schema: Mapping[str, Any], method: str) -> list[Field]:
    """The fields a person fills in, from Mangopay's Recipient schema: the leaves (objects with `Required`) under
    IndividualRecipient and under the payout method, in the schema's order."""
    out: list[Field] = []

    def walk(node: Mapping[str, Any], path: str) -> None:
        for key, value in node.items():
            if not isinstance(value, Mapping):
                continue
            here = f"{path}.{key}" if path else key
            if "Required" in value:
                out.append(Field(here, LABELS.get(key, key), bool(value.get("Required")), key == "Country"))
            else:
                walk(value, here)

    for top in ("IndividualRecipient", method):
        if isinstance(schema.get(top), Mapping):
            walk(schema[top], top)
    return out


def prefilled(fields: list[Field], who: IdentityRecord | None) -> dict[str, str]:
    """The holder's name and address as the identity page has them (the account must be in their name)."""
    if who is None:
        return {}
    known = {
        "FirstName": who.first_name,
        "LastName": who.last_name,
        "AddressLine1": who.address_line1,
        "AddressLine2": who.address_line2,
        "City": who.city,
        "Region": who.region,
        "PostalCode": who.postal_code,
        "Country": who.residence,
    }
    return {
        f.name: known[f.path.rsplit(".", 1)[-1]] or ""
        for f in fields
        if f.path.startswith("IndividualRecipient.") and known.get(f.path.rsplit(".", 1)[-1])
    }


def body_of(
    fields: list[Field], values: Mapping[str, str], *, method: str, country: str, currency: str, display: str
) -> dict[str, Any]:
    """The Recipient Mangopay is sent: the typed fields at their schema paths, and what paybot sets."""
    body: dict[str, Any] = {
        "DisplayName": display,
        "Currency": currency,
        "Country": country,
        "RecipientType": "Individual",
        "PayoutMethodType": method,
        "RecipientScope": "PAYOUT",
    }
    for f in fields:
        value = values.get(f.name, "")
        if not value:
            continue
        node = body
        *parents, leaf = f.path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value.replace(" ", "").upper() if leaf in ("IBAN", "BIC", "AccountNumber") else value
    return body


def register(app: Flask, kit: Any, mangopay: Any) -> None:  # noqa: C901
    """Add the pages to `app` (endpoints "mangopay.*"); `kit` is what the app lends its pages
    (bot.web.card_page.Pages)."""

    def said(kind: str, lang: str, status: int = 200) -> Response:
        title, text = SAID[kind]
        page: Response = kit.page(
            "problem.html" if status >= 400 else "said.html", lang, status, title=title, text=text, kind=kind
        )
        return page

    def open_link(purpose: str, *, used_ok: bool = False) -> tuple[PageLink | None, Response | None]:
        with kit.store() as tx:
            link = kit.session_link(tx)
        if link is None or link.purpose != purpose:
            return None, kit.problem("no_link")
        state = state_of(link, kit.clock.now())
        if state is not LinkState.OK and not (used_ok and state is LinkState.USED):
            return None, kit.problem(state, link.lang)
        return link, None

    def recipient() -> Response:  # noqa: C901
        link, refused = open_link("recipient")
        if link is None:
            if refused is None:  # cannot happen: said so, rather than an assert that -O removes
                raise RuntimeError("refused is missing")
            return refused
        lang, user = link.lang, link.user_id
        with kit.store() as tx:
            who = tx.identities.get(user)
        try:
            currencies = mangopay.payout_currencies(user)
        except ProviderError:
            return said("unavailable", lang, 503)
        if not currencies:
            return said("no_wallet", lang, 409)
        countries = i18n.countries(lang)
        codes = {c for c, _ in countries}
        if request.method == "POST" and request.form.get("step") == "route":
            country, currency = request.form.get("country", ""), request.form.get("currency", "")
            if country in codes and currency in currencies:
                session.update(rc_country=country, rc_currency=currency)
            return redirect(url_for("mangopay.recipient"), code=303)  # type: ignore[return-value]
        country = str(session.get("rc_country") or (who.residence if who and who.residence in codes else "FR"))
        currency = str(session.get("rc_currency") or currencies[0])
        if currency not in currencies:
            currency = currencies[0]
        try:
            method, schema = mangopay.recipient_schema(country, currency)
        except ProviderError:
            return said("unavailable", lang, 503)
        fields = fields_of(schema, method)
        context: dict[str, Any] = {
            "fields": fields,
            "countries": countries,
            "currencies": currencies,
            "autocomplete": AUTOCOMPLETE,
            "country": country,
            "currency": currency,
            "method": method,
            "csrf": security.csrf_token(session),
        }
        if request.method == "GET":
            return kit.page("recipient.html", lang, values=prefilled(fields, who), errors={}, **context)  # type: ignore[no-any-return]
        values = {f.name: _clean(request.form.get(f.name, ""))[:1000] for f in fields}
        errors: dict[str, tuple[str, dict[str, object]]] = {}
        for f in fields:
            value = values[f.name]
            if _has_control(value) or len(value) > MAX_VALUE:
                errors[f.name] = (N_("Use letters, digits and punctuation only."), {})
            elif f.required and not value:
                errors[f.name] = (ERRORS["REQUIRED"], {})
            elif f.country and value and value not in codes:
                errors[f.name] = (N_("Choose a country."), {})
        body = body_of(
            fields, values, method=method, country=country, currency=currency, display=f"paybot {currency} {country}"
        )
        if not errors:
            try:
                refused = mangopay.check_recipient(user, body)
            except ProviderError:
                return said("unavailable", lang, 503)
            by_path = {f.path: f.name for f in fields}
            for path, code in refused.items():
                errors.setdefault(by_path.get(path, GENERAL), (ERRORS.get(code, OTHER_ERROR), {}))
        if errors:
            return kit.page("recipient.html", lang, 422, values=values, errors=errors, **context)  # type: ignore[no-any-return]
        try:  # one Recipient per link, whatever happens to this answer (the key is the link's)
            made, sca = mangopay.add_recipient(
                user, body, f"recipient:{link.nonce}", f"{kit.base_url}{url_for('mangopay.recipient_done')}"
            )
        except ProviderError as err:
            log.warning("cash-out account page: Mangopay refused or failed (%s)", type(err).__name__)
            return said("unavailable", lang, 503)
        now = kit.clock.now()
        with kit.store() as tx:
            if not tx.page_links.use(link.nonce, now):  # sent meanwhile from another tab: that one goes on
                tx.rollback()
                return kit.problem(LinkState.USED, lang)  # type: ignore[no-any-return]
            tx.commit()
        session["recipient"] = made
        log.info("cash-out account page: a Recipient was created, waiting for its SCA")
        return kit.page("recipient_sca.html", lang, sca_url=sca)  # type: ignore[no-any-return]

    def recipient_done() -> Response:
        link, refused = open_link("recipient", used_ok=True)
        if link is None:
            if refused is None:  # cannot happen: said so, rather than an assert that -O removes
                raise RuntimeError("refused is missing")
            return refused
        made = session.get("recipient")
        if not isinstance(made, str):
            return kit.problem("no_link", link.lang)  # type: ignore[no-any-return]
        try:
            status = mangopay.recipient_status(link.user_id, made)
        except ProviderError:
            return said("unavailable", link.lang, 503)
        kind = {"ACTIVE": "active", "CANCELED": "canceled"}.get(status or "", "pending")
        if kind == "pending" and request.args.get("controlStatus") == "FAILED":
            kind = "canceled"  # its session failed or lapsed: Mangopay cancels it (read as such, said as such)
        return said(kind, link.lang)

    def enrolled() -> Response:
        link, refused = open_link("enrolled")
        if link is None:
            if refused is None:  # cannot happen: said so, rather than an assert that -O removes
                raise RuntimeError("refused is missing")
            return refused
        try:
            status = mangopay.enrolment_status(link.user_id)
        except ProviderError:
            return said("unavailable", link.lang, 503)
        return said("enrolled" if status == "ACTIVE" else "not_enrolled", link.lang)

    def wallet() -> Response:
        link, refused = open_link("wallet")
        if link is None:
            if refused is None:  # cannot happen: said so, rather than an assert that -O removes
                raise RuntimeError("refused is missing")
            return refused
        if session.get("control") == "FAILED":
            return said("wallet_closed", link.lang)
        try:
            opened = mangopay.wallet_open(link.user_id)
        except ProviderError:
            return said("unavailable", link.lang, 503)
        return said("wallet_open" if opened else "wallet_closed", link.lang)

    app.add_url_rule("/recipient", "mangopay.recipient", recipient, methods=["GET", "POST"])
    app.add_url_rule("/recipient/done", "mangopay.recipient_done", recipient_done, methods=["GET"])
    app.add_url_rule("/return/enrolled", "mangopay.enrolled", enrolled, methods=["GET"])
    app.add_url_rule("/return/wallet", "mangopay.wallet", wallet, methods=["GET"])

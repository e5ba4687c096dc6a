"""A Mangopay emulator: the API v2.01 endpoints paybot's Mangopay adapter uses, over HTTP on 127.0.0.1.

It speaks Mangopay's wire format so the official SDK (mangopay4-python-sdk) talks to it: an OAuth
client-credentials token (`POST /v2.01/oauth/token`, Basic auth with the client id and API key), then
Bearer calls under `/v2.01/{ClientId}/`, JSON bodies with PascalCase fields (`Id`, `Tag`, `CreationDate`
in unix seconds, `AuthorId`, `CreditedWalletId`, `DebitedFunds {Currency, Amount}` in minor units, `Fees`,
`Status` CREATED/SUCCEEDED/FAILED, `ResultCode`/`ResultMessage`, ...).

Resources: natural users (the SCA endpoints: PAYER or OWNER, `UserCategory`, terms accepted, `KYCLevel`
LIGHT/REGULAR, categorization to OWNER with Birthday, Nationality and CountryOfResidence, which always answers an
SCA enrolment link: `UserStatus` PENDING_USER_ACTION until the Owner enrols; POST .../enrollment for a new link),
wallets (an Owner's wallet and transactions read only with their SCA of the last 180 days: else 401 with the link in
`WWW-Authenticate`) (one currency each, `Balance`), card registrations (a card page the people fill in: the card is
tokenized and the registration VALIDATED with its `CardId`), cards, recurring pay-in registrations, recurring card
pay-ins (a CIT, with `SecureModeReturnURL`, that may need the cardholder on a 3DS page; then MITs without them),
transfers (wallet to wallet; between two OWNERs with `ScaContext` USER_PRESENT the transfer stays CREATED with
`PendingUserAction.RedirectUrl` until the author approves it), pay-in and transfer refunds, hosted identity
verification sessions (KYC: the user becomes REGULAR), Recipients (payout methods, schema, validate, create: PENDING
until the Owner's SCA, then ACTIVE or CANCELED), legacy IBAN bank accounts (refused for payouts when made after 30
April 2026: 121018; the IBAN's shape and check digits and the owner's name and address checked as Mangopay's
reference describes), bank wire payouts (the wallet debited when the payout is made, CREATED until the bank settles
it; refused as FAILED with Mangopay's ResultCode when its author is not a verified Owner or the wallet cannot cover
it; a payout that fails later gives the money back to the wallet; one that went through may come back: a payout
Refund, PAYOUT_REFUND_*), user transactions, events (one EventType a request, kept 45 days), the client, and
Mangopay's rate limits (2,300 calls in 15 minutes, ...: 429 `rate_limit`).
`tests/contract/test_mangopay_facts.py` checks each documented fact the emulator keeps, with its page.

Faithful where paybot's safety depends on it:
- Idempotency: every POST may carry `Idempotency-Key`, 16 to 36 letters, digits or dashes (anything else
  is a 400). The first request with a key runs; any other POST with that key in the next 24 hours (of
  the emulator's clock) is blocked with a 409 `idempotent_creation_conflict`, never replayed, whatever
  the first answer was (errors and 500s included) and even while the first is still running. The first
  answer is read with `GET /v2.01/{ClientId}/responses/{IdempotencyKey}` (404 once forgotten).
- Errors are Mangopay's report: `{"Message", "Type", "Id", "Date", "errors"}` (401 for a missing, bad or
  expired token or a wrong client id, 400 `param_error`, 403, 404 `ressource_not_found`, 405, 409, 500).
  A refused payment is not an HTTP error: the transaction is FAILED with its `ResultCode`.
- Lists: `page` (from 1) and `per_page` (at most 100, default 10), `X-Number-Of-Pages` and
  `X-Number-Of-Items` headers (and `Link`), `Sort=CreationDate:ASC|DESC` (events: `Date`), and for
  events `EventType`, `AfterDate`, `BeforeDate` (unix seconds, exclusive).
- Events (`ResourceId`, `EventType`, `Date`) name a resource and carry nothing else: the reader fetches it.

Cards. A card page tokenizes the card in the person's browser: it POSTs a form (accessKeyRef, data, cardNumber,
cardExpirationDate MMYY, cardCvx) to the registration's `CardRegistrationURL` (`/_sim/tokenize/<id>`, which answers
cross-origin fetches) and gets `data=<token>` or `errorCode=02625|02626|02627` (number, expiry, CVV); the platform
PUTs that as RegistrationData: VALIDATED with a Card (Validity UNKNOWN), or ERROR 105202/105203/105204, or 105206
for data that is not this registration's token. The token is opaque: the card number stays in the emulator.
The numbers it tokenizes (the first two are Mangopay's sandbox test cards, testing/payment-methods.mdx):
- 4970107111111119: 3DS2 frictionless; every pay-in succeeds.
- 4970105181818183: 3DS2 challenge: a CIT waits on a 3DS page (CREATED, `SecureModeRedirectURL`, a page with
  Confirm and Refuse that returns to the CIT's SecureModeReturnURL with `?transactionId=`), and in this emulator
  every MIT on it is refused and puts its registration in AUTHENTICATION_NEEDED (a new CIT is needed each time).
- 4970101122334471 (the emulator's own; Mangopay's sandbox simulates refusals by amount): every pay-in is
  refused, ResultCode 101101 "Transaction refused by the bank (Do not honor)", and the card becomes INVALID.
Recurring rules: a registration needs a card VALID or registered less than 24 hours ago (else 400 on CardId, the
emulator's choice of answer); a CIT needs every BrowserInfo field and an IP address, and gets no exemption (the
challenge card asks its holder whatever SecureMode says, guides/payment-methods/card/recurring.mdx); the first
`FreeCycles` pay-ins debit nothing and may not send DebitedFunds; a registration serves 99 pay-ins, the next fails
205001.

Hosted pages (3DS, SCA approval, identity verification, the card page) are served under /_sim/ and
played by the control API (Python methods and `POST /_sim/...`), as are a cash-out account page
(`register_bank_account`: a Recipient and its SCA, as paybot's page makes one) and the bank that settles a payout
(`settle_payout`; `GET /_sim/payouts` lists those it has yet to settle) or sends it back (`return_payout`).
The SCA page (`/_sim/sca`) is also a page a browser can pass:
it asks (Confirm, Refuse) and sends the person back to the returnUrl with `controlStatus`.
3DS pages lapse after PAGE_LIFETIME (15 minutes); Mangopay's SCA sessions (enrolment, a
transfer's approval, a Recipient, wallet access: `follow_sca_link`, whose page needs the platform's percent-encoded
returnUrl) after SCA_SESSION_LIFETIME (10 minutes); the transaction then FAILS with an event (a transfer: 007102).

Faults (`inject`): the next matching request answers 500 or 503 (before any work, or `work=True`: after
the work was done; either way its key is spent and the stored answer is that 5xx), 429 (before anything,
the key not spent), or DROP: the work is done and saved, then the connection is closed without an answer.

Token lifetimes are measured on the wall clock (the SDK caches tokens on it); everything else on `clock`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import ipaddress
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from flask import Flask, Response, request

from bot import links
from bot.ports import Clock, SystemClock
from bot.sims.kit import DROP as DROP  # inject's fault "drop": tests name it from the emulator
from bot.sims.kit import (
    Loopback,
    bearer_token,
    drop_connection,
    json_response,
    prune_keys,
    queue_fault,
    quiet_app,
    request_record,
    route_name,
    take_fault,
    unix_now,
)

KEY_LIFETIME = 24 * 3600  # seconds an idempotency key blocks its reuse and keeps its answer
KEY_FORMAT = re.compile(r"[A-Za-z0-9-]{16,36}")
TOKEN_LIFETIME = 3600  # seconds (wall clock)
PAGE_LIFETIME = timedelta(minutes=15)  # a 3DS page (the card issuer's): the emulator's choice, as before
# An SCA session (enrolment, a transfer's approval) is valid 10 minutes (guides/sca/session.mdx, step 6;
# guides/sca/transfers.mdx, ResultCode 007102).
SCA_SESSION_LIFETIME = timedelta(minutes=10)
# Fields PUT .../category and POST /sca/users/natural require of an OWNER (api-reference/users/
# categorize-natural-user.mdx; create-natural-user-sca.mdx: "Required if UserCategory is OWNER").
OWNER_IDENTITY = ("Birthday", "Nationality", "CountryOfResidence")
# An Owner's wallet access (a wallet, their wallets, their or a wallet's transactions) needs their SCA once every
# 180 days (guides/sca/wallets.mdx); otherwise 401 with the session's link in WWW-Authenticate.
WALLET_SCA_EVERY = timedelta(days=180)
MAX_PER_PAGE = 100
# Since 2026-02-19 creating or updating an OWNER checks that the name and e-mail are a person's (SOURCE.md of the
# documentation snapshot: "creating or updating an OWNER checks that the name and e-mail are a person's (`400
# fraud_policy` otherwise)"); the answer's body is guides/users/types.mdx's ("Rule preventing fake user names").
# Mangopay does not publish its list: the emulator refuses the keywords that page names (test, undefined,
# unknown), names with digits or without a letter, the placeholder paybot used to send ("X user"), and e-mails at a
# reserved domain that delivers nothing (.invalid, .test, .localhost, .local) or whose mailbox is a role, not a
# person (noreply, test, admin...).
FRAUD_POLICY = "The data you provided does not comply with our anti-fraud policy"
NOT_NAMES = {
    "test",
    "undefined",
    "unknown",
    "null",
    "none",
    "n/a",
    "x user",
    "user",
    "admin",
    "anonymous",
    "fake",
    "paybot",
}
NOT_PERSONAL_DOMAINS = (".invalid", ".test", ".localhost", ".local")
NOT_PERSONAL_MAILBOXES = {"noreply", "no-reply", "test", "admin", "root", "postmaster", "info", "contact"}
# GET /events lists an event up to 45 days after its Date (api-reference/overview/data-availability-periods.mdx).
EVENT_RETENTION = timedelta(days=45)
# API calls allowed per window (api-reference/overview/rate-limiting.mdx): beyond, 429 with Mangopay's body. Counted on
# the emulator's clock, every authenticated call under /v2.01/{ClientId}/ (the OAuth token's calls are not).
RATE_LIMITS = (
    (timedelta(minutes=15), 2_300),
    (timedelta(minutes=30), 4_500),
    (timedelta(hours=1), 8_800),
    (timedelta(hours=24), 105_600),
)
RATE_LIMITED = "Rate limit exceeded. Please contact support for more assistance"

CARD_OK, CARD_3DS, CARD_DECLINED = "4970107111111119", "4970105181818183", "4970101122334471"
CARDS = {CARD_OK: "ok", CARD_3DS: "needs_auth", CARD_DECLINED: "declined"}
# The tokenization server (`POST {CardRegistrationURL}`, api-reference/card-registrations/tokenize-card.mdx) answers
# `data=<token>`, or `errorCode=<code>` that the registration's PUT turns into its ResultCode (errors/codes/105202,
# 105203, 105204.mdx). A token that is neither: 105206 "Registration data : Invalid format" (errors/codes/105206.mdx).
TOKENIZER_ERRORS = {
    "02625": ("105202", "Card number: invalid format"),
    "02626": ("105203", "Expiry date: missing or invalid format"),
    "02627": ("105204", "CVV: missing or invalid format"),
}
BAD_REGISTRATION_DATA = ("105206", "Registration data : Invalid format")
# A card is VALID after its first successful payment or validation within 24 hours of its registration, INVALID
# otherwise (snippets/object-attributes/Validity.mdx); a recurring registration needs a card that is VALID or was
# registered less than 24 hours ago (guides/payment-methods/card/recurring/how-to.mdx, prerequisites).
CARD_FRESH = timedelta(hours=24)
# One recurring registration serves at most 99 pay-ins, CITs and MITs alike; the next fails 205001
# (errors/codes/205001.mdx).
RECURRING_MAX_PAYINS = 99
RECURRING_FULL = ("205001", "Data validation error")
# What a CIT's BrowserInfo holds (api-reference/recurring-card-payins/create-recurring-payin-cit.mdx, BrowserInfo).
BROWSER_FIELDS = (
    "AcceptHeader",
    "JavaEnabled",
    "Language",
    "ColorDepth",
    "ScreenHeight",
    "ScreenWidth",
    "TimeZoneOffset",
    "UserAgent",
    "JavascriptEnabled",
)
CURRENCIES = {"EUR", "GBP", "USD", "CHF", "CAD", "AUD", "JPY", "PLN", "SEK", "NOK", "DKK"}

# ResultCodes the emulator gives (Mangopay's list of codes; the ones for 3DS are the emulator's choice).
OK_CODE = ("000000", "Success")
DO_NOT_HONOR = ("101101", "Transaction refused by the bank (Do not honor)")
AUTH_NEEDED = ("101399", "Secure mode: 3DSecure authentication is not available")
SESSION_EXPIRED = ("101304", "Secure mode: The 3DSecure authentication session has expired")
# A transfer's SCA session that lapsed or failed (guides/sca/transfers.mdx).
SCA_EXPIRED = ("007102", "Transfer authentication expired. Please initiate a new request.")
SCA_FAILED = ("007101", "Transfer authentication failed. Please retry with a new request.")
# A transfer that needs SCA (between two Owners) from an Owner who has not enrolled yet (UserStatus
# PENDING_USER_ACTION). Since September 2025 Mangopay blocks only SCA-triggering actions of such users
# (guides/sca/users.mdx, "Refused actions") and names no code for that refusal: the emulator uses 002704, the
# code Mangopay gave this refusal before (errors/codes/002704.mdx).
NOT_ENROLLED = ("002704", "Users in PENDING_USER_ACTION status cannot create transfers")
BALANCE = ("001001", "Unsufficient wallet balance")
PAYER_CANNOT_RECEIVE = ("002702", "Users with category PAYER cannot receive transfers")
NOT_VERIFIED = ("002951", "Beneficiary OWNER user(s) not KYC verified (KYCLevel is not REGULAR)")
PAYOUT_KYC = (
    "002998",
    "Blocked due to the Bank Account User's KYC limitations (maximum debited or credited amount reached)",
)
WIRE_REFUSED = ("121001", "The bank wire has been refused")
# A payout to a legacy Bank Account created after 30 April 2026 fails: payouts go to Recipients (SOURCE.md, release
# notes of 2026-04-22/30; the message is the emulator's words, the snapshot predates the code's page).
BANK_ACCOUNT_RETIRED = ("121018", "Payouts to bank accounts created after 30 April 2026 are refused: use a Recipient")
BANK_ACCOUNTS_END = 1777593600  # 2026-05-01T00:00:00Z: bank accounts created from then on are refused for payouts
# Recipients (api-reference/recipients/*, guides/sca/recipients.mdx): the payout methods and the account details the
# emulator knows. SEPA countries whose currency is EUR pay out locally in EUR; every route has the international
# method (SWIFT). Account details: LocalBankTransfer.EUR {IBAN, BIC?}; InternationalBankTransfer {AccountNumber, BIC}.
SEPA_EUR = {
    "AT",
    "BE",
    "CY",
    "DE",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PT",
    "SI",
    "SK",
}
PAYOUT_METHODS = ("LocalBankTransfer", "InternationalBankTransfer")
# An IBAN: a country, two check digits, then 11 to 30 letters or digits (ISO 13616); its check digits are tested too.
IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
BIC_SHAPE = re.compile(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?")
IBAN_OK = "FR7630004000031234567890143"  # Mangopay's own example IBAN (valid check digits)
ADDRESS_REGION_NEEDED = {"US", "CA", "MX"}  # Mangopay wants OwnerAddress.Region for these countries only


class MangopayError(Exception):
    """An error answer: HTTP status and Mangopay's error report."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        errors_key: str = "errors",
    ) -> None:
        super().__init__(message)
        self.status, self.type, self.message, self.errors = status, type_, message, errors
        self.headers = headers or {}
        self.errors_key = errors_key  # the Recipients endpoints spell it "Errors" (create-recipient.mdx)


PARAM_MESSAGE = (
    "One or several required parameters are missing or incorrect. An incorrect resource ID also raises "
    "this kind of error."
)


def _param(message: str, **errors: str) -> MangopayError:
    return MangopayError(400, "param_error", message, errors or None)


def _true(value: Any) -> bool:
    """A JSON boolean as Mangopay reads it: true (or 1, which the SDK sends for True)."""
    return value is True or (type(value) is int and value == 1)


def _luhn(number: str) -> bool:
    """Whether a card number's last digit is its Luhn check digit."""
    digits = [int(d) for d in reversed(number)]
    return sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)) % 10 == 0


def iban_valid(iban: str) -> bool:
    """Whether `iban` (spaces removed, upper case) has an IBAN's shape and its check digits (mod 97 is 1)."""
    if not IBAN_SHAPE.fullmatch(iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _missing(kind: str, oid: str) -> MangopayError:
    return MangopayError(
        404,
        "ressource_not_found",
        "Cannot found the ressource",
        {"RessourceNotFound": f"Cannot found the ressource {kind} with the id={oid} "},
    )


class MangopaySim:
    """The emulated Mangopay client account: state, a Flask app over it, and control methods."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        client_id: str = "paybot-sim",
        api_key: str | None = None,
        link_secret: str | None = None,
        rate_limits: tuple[tuple[timedelta, int], ...] = RATE_LIMITS,
    ) -> None:
        self.clock = clock or SystemClock()
        self.client_id = client_id
        # A key of its own per emulator: the official SDK caches OAuth tokens for the whole process by client, URL
        # and key, so an emulator started on a port an earlier one used would otherwise be sent that one's token.
        self.api_key = api_key or f"sim-mangopay-api-key-{secrets.token_hex(8)}"
        # The operator's pages (card, bank account) check paybot's links with the key from this secret
        # (PAYBOT_LINK_SECRET), and record each nonce they accepted: a link works once.
        self.link_secret = link_secret or secrets.token_hex(32)
        self.used_nonces: dict[str, int] = {}  # nonce -> the end of its link (unix seconds)
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, Any]] = {}  # id -> object (its "_kind" says which)
        self.events: list[dict[str, Any]] = []
        self.sca_sessions: dict[str, dict[str, Any]] = {}  # token -> a hosted SCA session (see _sca_session)
        self._sca_n = 0
        self.keys: dict[str, dict[str, Any]] = {}  # idempotency key -> first use, and its answer once known
        self.tokens: dict[str, float] = {}  # access token -> expiry (time.monotonic)
        self.faults: dict[str, list[tuple[int, bool]]] = {}  # route -> [(status, work)]
        self.requests: list[dict[str, Any]] = []  # every API request: route, key, status
        self.rate_limits = rate_limits  # (window, calls allowed) pairs; the emulator's clock
        self.calls: list[int] = []  # when each counted call came (unix seconds), for the rate limits
        self.on_execute: Callable[[dict[str, Any]], None] | None = None  # test hook: a POST begins its work
        self._n = 10_000_000
        self.server = Loopback("mangopay-sim")
        self.base = ""  # its URL once started

    # ------------------------------------------------------------------ control (the people, the tests)

    def inject(self, route: str, status: int, times: int = 1, *, work: bool = False) -> None:
        """Make the next `times` calls of route ("POST /payins/recurring/card/direct", relative to the
        client) answer 500/503 (`work`: after doing the work), 429, or DROP (work done, no answer)."""
        if status not in (500, 503, 429, DROP):
            raise ValueError(f"the emulator injects 500, 503, 429 or DROP, not {status}")
        with self.lock:
            queue_fault(self.faults, route, (status, work), times)

    def complete_card_page(self, registration_id: str, card_number: str = CARD_OK) -> dict[str, Any]:
        """The user types a card on the operator's card page: the page tokenizes it and sends the answer back
        (PUT RegistrationData): the registration is VALIDATED with its card, or ERROR."""
        with self.lock:
            reg = self._get("cardregistration", registration_id)
            if reg["Status"] != "CREATED":
                raise _param(f"This card registration is {reg['Status']}")
            expiry = (self.clock.now() + timedelta(days=730)).strftime("%m%y")
            reg["RegistrationData"] = self.tokenize(
                registration_id,
                {
                    "accessKeyRef": reg["AccessKey"],
                    "data": reg["PreregistrationData"],
                    "cardNumber": card_number,
                    "cardExpirationDate": expiry,
                    "cardCvx": "123",
                },
            )
            self._finish_registration(reg)
            return self._public(reg)

    def tokenize(self, registration_id: str, form: dict[str, str]) -> str:
        """The tokenization server: the card page's form (accessKeyRef, data, cardNumber, cardExpirationDate
        MMYY, cardCvx) for a registration, answered `data=<token>` or `errorCode=<code>`. Only Mangopay's
        CB/Visa/Mastercard test cards (testing/payment-methods.mdx) and the emulator's declined card tokenize;
        another number is 02625 as a malformed one is. A wrong accessKeyRef or data (not this registration's,
        or the registration no longer CREATED) is the emulator's `errorCode=09101`, which Mangopay does not
        document: its PUT then fails 105206."""
        with self.lock:
            reg = self.objects.get(registration_id)
            if (
                reg is None
                or reg["_kind"] != "cardregistration"
                or reg["Status"] != "CREATED"
                or form.get("accessKeyRef") != reg["AccessKey"]
                or form.get("data") != reg["PreregistrationData"]
            ):
                return "errorCode=09101"
            number = re.sub(r"[ -]", "", form.get("cardNumber", ""))
            if not number.isdigit() or not 12 <= len(number) <= 19 or not _luhn(number) or number not in CARDS:
                return "errorCode=02625"
            expiry = form.get("cardExpirationDate", "")
            now = self.clock.now()
            if not re.fullmatch(r"(0[1-9]|1[0-2])[0-9]{2}", expiry) or (2000 + int(expiry[2:]), int(expiry[:2])) < (
                now.year,
                now.month,
            ):
                return "errorCode=02626"
            if not re.fullmatch(r"[0-9]{3,4}", form.get("cardCvx", "")):
                return "errorCode=02627"
            token = secrets.token_urlsafe(48)
            reg["_token"] = {"token": token, "number": number, "expiry": expiry}
            return f"data={token}"

    def _link_ok(self, purpose: str, subject: str, token: str) -> bool:
        """The operator's page checking a link's token (bot.links.verify), its nonce recorded once accepted."""

        def use(nonce: str, expires: int) -> bool:
            with self.lock:
                now = self._now()
                for old in [n for n, end in self.used_nonces.items() if end <= now]:
                    del self.used_nonces[old]  # past its end a link is refused anyway
                if nonce in self.used_nonces:
                    return False
                self.used_nonces[nonce] = expires
                return True

        return links.verify(links.link_key(self.link_secret), purpose, subject, token, self.clock.now(), use)

    def follow_card_link(self, url: str, card_number: str = CARD_OK) -> dict[str, Any]:
        """The user opens paybot's link to the card page (`.../card-page/<id>?user=...&token=...`) and types a
        card: refused (403) unless the link is signed for that registration's user, unexpired and unused."""
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        registration = parts.path.rsplit("/", 1)[1]
        user, token = query.get("user", ""), query.get("token", "")
        with self.lock:
            reg = self.objects.get(registration)
        if reg is None or reg.get("UserId") != user or not self._link_ok("card", f"{user}:{registration}", token):
            raise MangopayError(403, "forbidden", "This link is not valid (expired, used, or not yours)")
        return self.complete_card_page(registration, card_number)

    def open_card_pages(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Card registrations waiting for their card, oldest first."""
        with self.lock:
            return [
                self._public(o)
                for o in self._all("cardregistration")
                if o["Status"] == "CREATED" and user_id in (None, o["UserId"])
            ]

    def complete_3ds(self, payin_id: str, *, success: bool = True) -> dict[str, Any]:
        """The cardholder passes (or fails) the 3DS challenge of a pay-in waiting on it."""
        with self.lock:
            self._sweep()
            payin = self._get("payin", payin_id)
            if payin["Status"] != "CREATED" or not payin.get("SecureModeRedirectURL"):
                raise _param(f"This pay-in is {payin['Status']}: no 3DS page is open")
            if success:
                self._payin_succeeds(payin)
            else:
                self._fail(payin, DO_NOT_HONOR, "PAYIN_NORMAL_FAILED")
            return self._public(payin)

    def open_3ds(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Pay-ins waiting on their 3DS page, oldest first."""
        with self.lock:
            self._sweep()
            return [
                self._public(o)
                for o in self._all("payin")
                if o["Status"] == "CREATED" and o.get("SecureModeRedirectURL") and user_id in (None, o["AuthorId"])
            ]

    def approve_sca(self, transfer_id: str, *, success: bool = True) -> dict[str, Any]:
        """The author of a transfer approves it on Mangopay's SCA page (or fails its factors: `success` False)."""
        with self.lock:
            self._sweep()
            tr = self._get("transfer", transfer_id)
            if tr["Status"] != "CREATED" or not tr.get("PendingUserAction"):
                raise _param(f"This transfer is {tr['Status']}: nothing to approve")
            token = next(
                t for t, x in self.sca_sessions.items() if x["Subject"] == transfer_id and x["Status"] == "OPEN"
            )
            self.complete_sca(token, success=success)
            return self._public(tr)

    def complete_sca(self, token: str, *, success: bool = True) -> dict[str, Any]:
        """The user finishes the hosted SCA session `token` (passes its factors, or fails them): an enrolment makes
        the Owner ACTIVE (USER_ACCOUNT_ACTIVATED, SCA_ENROLLMENT_SUCCEEDED); a transfer's approval settles it; a
        wallet-access session opens their wallets for 180 days. A failed enrolment leaves the user
        PENDING_USER_ACTION (SCA_ENROLLMENT_FAILED); a failed transfer approval is FAILED 007101."""
        with self.lock:
            self._sweep()
            session = self.sca_sessions.get(token)
            if session is None:
                raise _missing("sca session", token)
            if session["Status"] != "OPEN":
                raise _param(f"This SCA session is {session['Status']}")
            session["Status"] = "VALIDATED" if success else "FAILED"
            if session["Purpose"] == "ENROLMENT":
                user = self._get("user", session["UserId"])
                if success and user["UserStatus"] == "PENDING_USER_ACTION":
                    user.update(UserStatus="ACTIVE", PendingUserAction=None)
                    self._event("USER_ACCOUNT_ACTIVATED", user["Id"])
                self._event("SCA_ENROLLMENT_SUCCEEDED" if success else "SCA_ENROLLMENT_FAILED", user["Id"])
            elif session["Purpose"] == "TRANSFER":
                tr = self._get("transfer", session["Subject"])
                tr["PendingUserAction"] = None
                if success:
                    self._settle_transfer(tr)
                else:
                    self._fail(tr, SCA_FAILED, "TRANSFER_NORMAL_FAILED")
            elif session["Purpose"] == "RECIPIENT":
                rec = self._get("recipient", session["Subject"])
                rec.update(Status="ACTIVE" if success else "CANCELED", PendingUserAction=None)
                self._event("RECIPIENT_ACTIVE" if success else "RECIPIENT_CANCELED", rec["Id"])
            elif session["Purpose"] == "WALLET" and success:
                self._get("user", session["UserId"])["_wallet_sca_at"] = self._now()
            return dict(session)

    def enrol(self, user_id: str, *, success: bool = True) -> dict[str, Any]:
        """The Owner `user_id` completes their newest open SCA enrolment session (MangopayError when none is
        open: never asked, or lapsed after SCA_SESSION_LIFETIME)."""
        with self.lock:
            self._sweep()
            open_ = [
                t
                for t, x in self.sca_sessions.items()
                if x["Purpose"] == "ENROLMENT" and x["UserId"] == user_id and x["Status"] == "OPEN"
            ]
            if not open_:
                raise _param(f"No open SCA enrolment session for user {user_id}")
            return self.complete_sca(open_[-1], success=success)

    def pass_wallet_sca(self, user_id: str) -> None:
        """The Owner `user_id` passes a wallet-access SCA session now (as through a 401's link): their wallets and
        transactions can be read for the next 180 days."""
        with self.lock:
            self._get("user", user_id)["_wallet_sca_at"] = self._now()

    def open_sca_sessions(self, purpose: str | None = None, user_id: str | None = None) -> list[dict[str, Any]]:
        """Hosted SCA sessions still open (ENROLMENT, TRANSFER, WALLET), oldest first."""
        with self.lock:
            self._sweep()
            return [
                dict(x)
                for x in self.sca_sessions.values()
                if x["Status"] == "OPEN" and purpose in (None, x["Purpose"]) and user_id in (None, x["UserId"])
            ]

    def _sca_page_state(self, url: str) -> str:
        """What the hosted SCA page shows for `url`: OPEN, or EXPIRED/VALIDATED/FAILED (the person is sent back);
        MangopayError when the returnUrl is missing or not percent-encoded, or the token unknown."""
        query = dict(part.partition("=")[::2] for part in urlsplit(url).query.split("&") if part)
        token, back = unquote(query.get("token", "")), query.get("returnUrl")
        if not back or not re.fullmatch(r"(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+", back):
            raise MangopayError(
                400, "param_error", "The SCA page cannot return the user: returnUrl is missing or not percent-encoded"
            )
        with self.lock:
            self._sweep()
            session = self.sca_sessions.get(token)
            if session is None:
                raise _missing("sca session", token)
            return str(session["Status"])

    def follow_sca_link(self, url: str, *, success: bool = True) -> dict[str, Any]:
        """The person opens an SCA link paybot sent them and goes through the session. Mangopay's page needs the
        platform's `returnUrl` appended to its RedirectUrl, percent-encoded (guides/sca/session.mdx, step 3):
        without it the page shows an error (MangopayError 400 here). A lapsed or used session sends the person back
        at once: {"controlStatus": "FAILED"}. Otherwise the session ends as `success` says."""
        query = dict(part.partition("=")[::2] for part in urlsplit(url).query.split("&") if part)
        token, back = unquote(query.get("token", "")), unquote(query.get("returnUrl", ""))
        with self.lock:
            state = self._sca_page_state(url)
            session = self.sca_sessions[token]
            if state != "OPEN":
                return {"controlStatus": "FAILED", "returnUrl": back, "Status": session["Status"]}
            done = self.complete_sca(token, success=success)
            return {"controlStatus": done["Status"], "returnUrl": back, "Status": done["Status"]}

    def open_sca(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Transfers waiting for their author's SCA, oldest first."""
        with self.lock:
            self._sweep()
            return [
                self._public(o)
                for o in self._all("transfer")
                if o["Status"] == "CREATED" and o.get("PendingUserAction") and user_id in (None, o["AuthorId"])
            ]

    def pass_kyc(self, session_id: str) -> dict[str, Any]:
        """The user completes the hosted identity verification: validated, the user is REGULAR."""
        with self.lock:
            idv = self._get("identityverification", session_id)
            if idv["Status"] != "PENDING":
                raise _param(f"This identity verification is {idv['Status']}")
            idv.update(Status="VALIDATED", UpdateDate=self._now())
            self._event("IDENTITY_VERIFICATION_VALIDATED", idv["Id"])
            user = self._get("user", idv["UserId"])
            if user["KYCLevel"] != "REGULAR":
                user["KYCLevel"] = "REGULAR"
                self._event("USER_KYC_REGULAR", user["Id"])
            return self._public(idv)

    def open_kyc(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Identity verification sessions still pending, oldest first."""
        with self.lock:
            return [
                self._public(o)
                for o in self._all("identityverification")
                if o["Status"] == "PENDING" and user_id in (None, o["UserId"])
            ]

    def register_bank_account(
        self,
        user_id: str,
        iban: str = IBAN_OK,
        *,
        currency: str | None = None,
        owner_name: str = "Ada Lovelace",
        address: dict[str, Any] | None = None,
        bic: str | None = None,
        sca: bool = True,
    ) -> dict[str, Any]:
        """The person on the operator's bank-account page: the page registers their IBAN as a Recipient of the
        Mangopay user `user_id` for payouts in `currency` (default: their newest wallet's, else EUR) with `POST
        .../users/{id}/recipients` (same checks), then sends them to its SCA session, which they pass (`sca`) or
        leave (PENDING, then CANCELED when it lapses). MangopayError when refused. Local (SEPA, EUR) when the IBAN's
        country and the currency allow it, else international."""
        iban = re.sub(r"\s", "", iban).upper()
        with self.lock:
            wallets = [w for w in self._all("wallet") if user_id in w["Owners"]]
            currency = currency or (wallets[-1]["Currency"] if wallets else "EUR")
            first, _, last = owner_name.partition(" ")
            place = address or {
                "AddressLine1": "1 rue de la Paix",
                "City": "Paris",
                "PostalCode": "75002",
                "Country": "FR",
            }
            local = currency == "EUR" and iban[:2] in SEPA_EUR
            body: dict[str, Any] = {
                "DisplayName": f"{owner_name} {currency}",
                "RecipientType": "Individual",
                "Currency": currency,
                "Country": iban[:2] if re.fullmatch(r"[A-Z]{2}", iban[:2]) else "FR",
                "IndividualRecipient": {"FirstName": first, "LastName": last or first, "Address": place},
                "PayoutMethodType": "LocalBankTransfer" if local else "InternationalBankTransfer",
            }
            if local:
                body["LocalBankTransfer"] = {"EUR": {"IBAN": iban, **({"BIC": bic} if bic else {})}}
            else:
                body["InternationalBankTransfer"] = {"AccountNumber": iban, "BIC": bic or "BNPAFRPPXXX"}
            rec = self._recipient_create(body, user_id)
            if sca and rec.get("PendingUserAction"):
                token = next(t for t, x in self.sca_sessions.items() if x["Subject"] == rec["Id"])
                self.complete_sca(token)
            return self._public(self._get("recipient", rec["Id"]))

    def register_legacy_bank_account(
        self,
        user_id: str,
        iban: str = IBAN_OK,
        *,
        owner_name: str = "Ada Lovelace",
        address: dict[str, Any] | None = None,
        bic: str | None = None,
        tag: str | None = None,
    ) -> dict[str, Any]:
        """An IBAN Bank Account (the legacy `POST .../users/{id}/bankaccounts/iban`, with its checks): one created
        after 30 April 2026 is refused for payouts (121018). MangopayError when refused."""
        body: dict[str, Any] = {
            "OwnerName": owner_name,
            "IBAN": iban,
            "Tag": tag,
            "OwnerAddress": address
            or {"AddressLine1": "1 rue de la Paix", "City": "Paris", "PostalCode": "75002", "Country": "FR"},
        }
        if bic is not None:
            body["BIC"] = bic
        with self.lock:
            return self._bank_account_create(body, user_id)

    def settle_payout(self, payout_id: str, *, success: bool = True) -> dict[str, Any]:
        """The bank settles a payout still CREATED: it went through, or it failed and the wallet has the money
        back; each with its event."""
        with self.lock:
            payout = self._get("payout", payout_id)
            if payout["Status"] != "CREATED":
                raise _param(f"This payout is {payout['Status']}: nothing to settle")
            if success:
                payout.update(
                    Status="SUCCEEDED",
                    ResultCode=OK_CODE[0],
                    ResultMessage=OK_CODE[1],
                    ExecutionDate=self._now(),
                    ModeApplied="STANDARD",
                )
                self._event("PAYOUT_NORMAL_SUCCEEDED", payout["Id"])
            else:
                self._get("wallet", payout["DebitedWalletId"])["Balance"]["Amount"] += payout["DebitedFunds"]["Amount"]
                self._fail(payout, WIRE_REFUSED, "PAYOUT_NORMAL_FAILED")
            return self._public(payout)

    def return_payout(
        self, payout_id: str, reason: str = "BANKACCOUNT_HAS_BEEN_CLOSED", message: str | None = None
    ) -> dict[str, Any]:
        """The bank sends a SUCCEEDED payout back (guides/payouts/rejects-returns.mdx): Mangopay makes a Refund of
        the payout (its RefundReason saying why) and the money is back in the wallet; PAYOUT_REFUND_CREATED then
        _SUCCEEDED."""
        with self.lock:
            payout = self._get("payout", payout_id)
            if payout["Status"] != "SUCCEEDED":
                raise _param(f"This payout is {payout['Status']}: only a succeeded payout comes back")
            amount = dict(payout["DebitedFunds"])
            ref = self._new(
                "refund",
                AuthorId=payout["AuthorId"],
                CreditedUserId=payout["AuthorId"],
                DebitedFunds=amount,
                CreditedFunds=amount,
                Fees={**amount, "Amount": 0},
                DebitedWalletId=None,
                CreditedWalletId=payout["DebitedWalletId"],
                Status="CREATED",
                ResultCode=None,
                ResultMessage=None,
                ExecutionDate=None,
                Type="PAYIN",
                Nature="REFUND",
                InitialTransactionId=payout["Id"],
                InitialTransactionType="PAYOUT",
                RefundReason={"RefusedReasonType": reason, "RefusedReasonMessage": message},
            )
            self._event("PAYOUT_REFUND_CREATED", ref["Id"])
            self._get("wallet", payout["DebitedWalletId"])["Balance"]["Amount"] += amount["Amount"]
            ref.update(Status="SUCCEEDED", ResultCode=OK_CODE[0], ResultMessage=OK_CODE[1], ExecutionDate=self._now())
            self._event("PAYOUT_REFUND_SUCCEEDED", ref["Id"])
            return self._public(ref)

    def open_payouts(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Payouts the bank has not settled yet, oldest first."""
        with self.lock:
            return [
                self._public(o)
                for o in self._all("payout")
                if o["Status"] == "CREATED" and user_id in (None, o["AuthorId"])
            ]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every object of a kind (user, wallet, card, payin, transfer, refund, ...), oldest first."""
        with self.lock:
            return [self._public(o) for o in self._all(kind)]

    def succeeded_payins(self) -> int:
        return sum(1 for o in self.of_kind("payin") if o["Status"] == "SUCCEEDED")

    def balance(self, wallet_id: str) -> int:
        with self.lock:
            return int(self._get("wallet", wallet_id)["Balance"]["Amount"])

    # ------------------------------------------------------------------ app

    def start(self, port: int = 0) -> str:
        """Serve the simulator on 127.0.0.1 (port 0: a free one); returns the base URL."""
        self.base = self.server.start(self.app(), port)
        return self.base

    def stop(self) -> None:
        self.server.stop()

    def app(self) -> Flask:
        app = quiet_app("mangopay-sim")
        app.url_map.strict_slashes = False
        app.url_map.merge_slashes = False  # the SDK reads stored responses at ".../responses//KEY"
        routes: list[tuple[str, str, Callable[..., Any]]] = [
            ("POST", "/users/natural", self._user_create),
            ("POST", "/sca/users/natural", self._user_create),
            ("PUT", "/sca/users/natural/<oid>/category", self._user_categorize),
            ("POST", "/sca/users/<oid>/enrollment", self._enrol_session),
            ("GET", "/users/<oid>", self._retrieve("user")),
            ("GET", "/sca/users/<oid>", self._retrieve("user")),
            ("GET", "/users/natural/<oid>", self._retrieve("user")),
            ("GET", "/sca/users/natural/<oid>", self._retrieve("user")),
            ("POST", "/wallets", self._wallet_create),
            ("GET", "/wallets/<oid>", self._wallet_view),
            ("GET", "/users/<oid>/wallets", self._user_list("wallet", "Owners")),
            ("POST", "/cardregistrations", self._cardreg_create),
            ("GET", "/cardregistrations/<oid>", self._retrieve("cardregistration")),
            ("PUT", "/cardregistrations/<oid>", self._cardreg_update),
            ("GET", "/cards/<oid>", self._retrieve("card")),
            ("GET", "/users/<oid>/cards", self._user_list("card", "UserId")),
            ("POST", "/recurringpayinregistrations", self._recurring_create),
            ("GET", "/recurringpayinregistrations/<oid>", self._retrieve("recurring")),
            ("POST", "/payins/recurring/card/direct", self._recurring_payin),
            ("GET", "/payins/<oid>", self._retrieve("payin")),
            ("POST", "/payins/<oid>/refunds", self._payin_refund),
            ("GET", "/payins/<oid>/refunds", self._refunds_of("payin")),
            ("POST", "/transfers", self._transfer_create),
            ("GET", "/transfers/<oid>", self._retrieve("transfer")),
            ("POST", "/transfers/<oid>/refunds", self._transfer_refund),
            ("GET", "/transfers/<oid>/refunds", self._refunds_of("transfer")),
            ("GET", "/refunds/<oid>", self._retrieve("refund")),
            ("POST", "/users/<oid>/bankaccounts/iban", self._bank_account_create),
            ("GET", "/users/<oid>/bankaccounts", self._user_list("bankaccount", "UserId")),
            ("GET", "/users/<oid>/bankaccounts/<bid>", self._bank_account_view),
            ("GET", "/recipients/payout-methods", self._payout_methods),
            ("GET", "/recipients/schema", self._recipient_schema),
            ("POST", "/users/<oid>/recipients/validate", self._recipient_validate),
            ("POST", "/users/<oid>/recipients", self._recipient_create),
            ("GET", "/users/<oid>/recipients", self._user_list("recipient", "UserId")),
            ("GET", "/recipients/<oid>", self._retrieve("recipient")),
            ("POST", "/payouts/bankwire", self._payout_create),
            ("GET", "/payouts/<oid>", self._retrieve("payout")),
            ("GET", "/payouts/bankwire/<oid>", self._retrieve("payout")),
            ("GET", "/users/<oid>/transactions", self._transactions("user")),
            ("GET", "/wallets/<oid>/transactions", self._transactions("wallet")),
            ("POST", "/users/<oid>/identity-verifications", self._idv_create),
            ("GET", "/identity-verifications/<oid>", self._retrieve("identityverification")),
            ("GET", "/events", self._events_list),
            ("GET", "/responses/<key>", self._response),
            ("GET", "/responses//<key>", self._response),
            ("GET", "/clients", self._client),
        ]
        for method, rule, view in routes:
            full = "/v2.01/<client>" + rule
            app.add_url_rule(full, f"{method} {rule}", self._endpoint(method, rule, view), methods=[method])
        app.add_url_rule("/v2.01/oauth/token", "token", self._token, methods=["POST"])

        def unknown(err: Exception) -> Response:
            status = 405 if request.method not in ("GET", "POST", "PUT") or "405" in str(err) else 404
            with self.lock:
                request_record(self.requests, f"{request.method} {request.path}", status=status)
            if status == 405:
                return self._error(MangopayError(405, "method_not_allowed", "The method is not allowed"))
            return self._error(
                MangopayError(
                    404,
                    "ressource_not_found",
                    "Cannot found the ressource",
                    {"RessourceNotFound": f"No route {request.path}"},
                )
            )

        app.register_error_handler(404, unknown)
        app.register_error_handler(405, unknown)
        self._control_routes(app)
        return app

    def _control_routes(self, app: Flask) -> None:  # noqa: C901
        def page(kind: str, oid: str) -> Response:
            with self.lock:
                obj = self.objects.get(oid)
            if kind == "card":  # the operator's card page: only through a link paybot signed (used when submitted)
                user, token = request.args.get("user", ""), request.args.get("token", "")
                key = links.link_key(self.link_secret)
                if (
                    obj is None
                    or obj.get("UserId") != user
                    or not links.verify(key, "card", f"{user}:{oid}", token, self.clock.now())
                ):
                    return Response(
                        "<html><body>This link is not valid.</body></html>", mimetype="text/html", status=403
                    )
            body = f"<html><body><h1>Mangopay {kind}</h1><p>{oid}: {obj and obj.get('Status')}</p></body></html>"
            return Response(body, mimetype="text/html", status=200 if obj else 404)

        def control(action: str, oid: str) -> Response:  # noqa: C901
            body = request.get_json(silent=True) or {}
            try:
                if action == "card":
                    result = self.complete_card_page(oid, str(body.get("card", CARD_OK)))
                elif action == "3ds":
                    result = self.complete_3ds(oid, success=bool(body.get("success", True)))
                elif action == "sca":
                    result = self.approve_sca(oid)
                elif action == "enrol":  # POST /_sim/enrol/<user id> {"success": false}: their SCA enrolment
                    result = self.enrol(oid, success=bool(body.get("success", True)))
                elif action == "sca-session":  # POST /_sim/sca-session/<token>: any SCA session, ended
                    result = self.complete_sca(oid, success=bool(body.get("success", True)))
                elif action == "kyc":
                    result = self.pass_kyc(oid)
                elif action == "bank":  # POST /_sim/bank/<user id> {"iban": "FR76..."}: the operator's page
                    result = self.register_bank_account(
                        oid, str(body.get("iban", IBAN_OK)), owner_name=str(body.get("owner_name", "Ada Lovelace"))
                    )
                elif action == "payout-return":  # POST /_sim/payout-return/<payout id> {"reason": "..."}: the bank
                    result = self.return_payout(oid, str(body.get("reason", "BANKACCOUNT_HAS_BEEN_CLOSED")))
                elif action == "payout":  # POST /_sim/payout/<payout id> {"success": false}: the bank
                    result = self.settle_payout(oid, success=bool(body.get("success", True)))
                elif action == "clock":
                    seconds = int(body.get("advance", 0))
                    advance: Callable[[timedelta], None] | None = getattr(self.clock, "advance", None)
                    if advance is None or seconds < 0:
                        raise _param("the emulator's clock is the system's: it cannot be moved")
                    advance(timedelta(seconds=seconds))
                    result = {"now": self._now()}
                elif action == "fault":  # POST /_sim/fault/next {"route": "POST /transfers", "status": 500}
                    status = DROP if body.get("status") == "drop" else int(body.get("status", 500))
                    self.inject(
                        str(body.get("route", "")),
                        status,
                        int(body.get("times", 1)),
                        work=bool(body.get("work", False)),
                    )
                    result = {"ok": True}
                else:
                    return json_response({"error": "unknown action"}, 404)
                return json_response(result)
            except MangopayError as err:
                return self._error(err)
            except ValueError as err:
                return self._error(_param(str(err)))

        def sca_page() -> Response:
            """Mangopay's hosted SCA page: it needs the platform's encoded returnUrl. Open, it asks the person
            (two buttons: confirm, or fail the factors); lapsed or used, it sends them back at once; either way
            back to the returnUrl with `controlStatus` (VALIDATED or FAILED) added (guides/sca/session.mdx)."""
            raw = "?" + request.query_string.decode("latin-1")  # as the browser sent it
            try:
                state = self._sca_page_state(raw)
            except MangopayError as err:
                return Response(f"<html><body>{err.message}</body></html>", mimetype="text/html", status=err.status)
            query = dict(part.partition("=")[::2] for part in urlsplit(raw).query.split("&") if part)
            token, back = unquote(query.get("token", "")), unquote(query.get("returnUrl", ""))
            if request.method == "POST" and state == "OPEN":
                state = self.complete_sca(token, success=request.form.get("answer") == "yes")["Status"]
            if state != "OPEN":
                glue = "&" if urlsplit(back).query else "?"
                control = "VALIDATED" if state == "VALIDATED" and request.method == "POST" else "FAILED"
                return Response("", status=303, headers={"Location": f"{back}{glue}controlStatus={control}"})
            return Response(
                "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Mangopay SCA</title>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'></head><body><main>"
                "<h1>Mangopay SCA</h1><p>Confirm it's you (the emulator's stand-in for Mangopay's page).</p>"
                f"<form method='post' action='/_sim/sca{html.escape(raw)}'>"
                "<button name='answer' value='yes'>Confirm</button> "
                "<button name='answer' value='no'>Refuse</button></form></main></body></html>",
                mimetype="text/html",
            )

        def tokenizer(oid: str) -> Response:  # the tokenization server: a browser posts the card page's form here
            answer = self.tokenize(oid, {k: str(v) for k, v in request.form.items()})
            # Browsers read the answer of a cross-origin fetch only with this header (the card page is elsewhere).
            return Response(answer, mimetype="text/plain", headers={"Access-Control-Allow-Origin": "*"})

        def three_ds(oid: str) -> Response:  # the issuer's 3DS page: a person passes or fails the challenge
            with self.lock:
                self._sweep()
                payin = self.objects.get(oid)
                waiting = (
                    payin is not None
                    and payin["_kind"] == "payin"
                    and payin["Status"] == "CREATED"
                    and bool(payin.get("SecureModeRedirectURL"))
                )
                back = str(payin.get("SecureModeReturnURL") or "") if payin else ""
            if request.method == "POST":
                if waiting:
                    try:
                        self.complete_3ds(oid, success=request.form.get("answer") == "pass")
                    except MangopayError:
                        pass  # lapsed meanwhile: the return page reads what happened
                if not back:
                    return Response("<html><body>No return address.</body></html>", mimetype="text/html", status=400)
                # Mangopay adds the transaction's id to the platform's return URL (api-reference/web-card-payins/
                # view-payin-web-card.mdx, ReturnURL).
                joint = "&" if "?" in back else "?"
                return Response(status=302, headers={"Location": f"{back}{joint}transactionId={oid}"})
            if not waiting:
                return Response(
                    "<html lang='en'><head><title>3-D Secure</title></head><body><main><h1>This "
                    "payment is not waiting for you</h1></main></body></html>",
                    mimetype="text/html",
                    status=404,
                )
            amount = payin["DebitedFunds"] if payin else {}
            page_html = (
                "<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
                "content='width=device-width, initial-scale=1'><title>3-D Secure (emulated bank)</title></head>"
                "<body><main><h1>Your bank asks you to confirm</h1>"
                f"<p>Confirm the card operation of {amount.get('Amount')} {amount.get('Currency')} (minor units)."
                "</p><form method='post'><button name='answer' value='pass'>Confirm</button> "
                "<button name='answer' value='fail'>Refuse</button></form></main></body></html>"
            )
            return Response(page_html, mimetype="text/html")

        def payouts() -> Response:  # GET /_sim/payouts: the payouts waiting for their bank (to settle one)
            return json_response(self.open_payouts())

        app.add_url_rule("/_sim/payouts", "payouts", payouts, methods=["GET"])
        app.add_url_rule("/_sim/tokenize/<oid>", "tokenize", tokenizer, methods=["POST"])
        app.add_url_rule("/_sim/3ds-page/<oid>", "3ds-page", three_ds, methods=["GET", "POST"])
        app.add_url_rule("/_sim/sca", "sca-page", sca_page, methods=["GET", "POST"])
        app.add_url_rule("/_sim/<kind>-page/<oid>", "page", page, methods=["GET"])
        app.add_url_rule("/_sim/<action>/<oid>", "control", control, methods=["POST"])

    # ------------------------------------------------------------------ plumbing

    def _now(self) -> int:
        return unix_now(self.clock)

    def _id(self) -> str:
        self._n += 1
        return str(self._n)

    def _error(self, err: MangopayError) -> Response:
        now = self._now()
        body = {
            "Message": err.message,
            "Type": err.type,
            "Id": f"{uuid.uuid4()}#{now}",
            "Date": now,
            err.errors_key: err.errors,
        }
        return json_response(body, err.status, err.headers)

    def _token(self) -> Response:
        header = request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{self.client_id}:{self.api_key}".encode()).decode()
        if header != f"Basic {expected}":
            return self._error(
                MangopayError(
                    401,
                    "invalid_client",
                    "Authentication failed",
                    {"Authorization": "The client id or the API key is wrong"},
                )
            )
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = time.monotonic() + TOKEN_LIFETIME
        return json_response({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME})

    def _authorized(self, client: str) -> bool:
        expiry = self.tokens.get(bearer_token() or "")
        return client == self.client_id and expiry is not None and expiry > time.monotonic()

    def forget_tokens(self) -> None:
        """Every access token stops working (as when they expire): the next call gets a 401."""
        with self.lock:
            self.tokens.clear()

    def _endpoint(self, method: str, rule: str, view: Callable[..., Any]) -> Callable[..., Response]:  # noqa: C901
        route = route_name(method, rule)

        def handle(client: str, **kw: Any) -> Response:  # noqa: C901
            key = request.headers.get("Idempotency-Key") if method == "POST" else None
            body: Any = None
            with self.lock:
                record = request_record(self.requests, route, key, query=request.query_string.decode("latin-1"))
                if not self._authorized(client):
                    record["status"] = 401
                    return self._error(
                        MangopayError(
                            401,
                            "invalid_token",
                            "Authorization has been denied",
                            {"Authorization": "Missing, invalid or expired token"},
                        )
                    )
                self._prune()
                limited, rate_headers = self._count_call()
                fault = take_fault(self.faults, route)
                if limited or (fault and fault[0] == 429):
                    record["status"] = 429
                    return self._error(MangopayError(429, "rate_limit", RATE_LIMITED, headers=rate_headers))
                if key is not None:
                    if not KEY_FORMAT.fullmatch(key):
                        record["status"] = 400
                        return self._error(
                            _param(
                                "One or several required parameters are missing or incorrect",
                                **{"Idempotency-Key": "16 to 36 letters, digits or dashes"},
                            )
                        )
                    if key in self.keys:
                        record["status"] = 409
                        return self._error(
                            MangopayError(
                                409,
                                "idempotent_creation_conflict",
                                "A resource has already been created with this Idempotency Key",
                            )
                        )
                    self.keys[key] = {"at": self._now(), "url": request.url}  # spent now, answer below
                if method in ("POST", "PUT"):
                    body = request.get_json(silent=True)
                    if body is None and request.get_data():
                        body = "invalid"
            if method == "POST" and self.on_execute is not None:
                self.on_execute(record)  # outside the lock: a test can hold this request here
            with self.lock:
                if body == "invalid":
                    resp = self._error(_param("The body is not valid JSON"))
                elif fault and fault[0] in (500, 503) and not fault[1]:
                    resp = self._error(MangopayError(fault[0], "internal_error", "Internal server error"))
                else:
                    try:
                        result = view(body or {}, **kw) if method in ("POST", "PUT") else view(request.args, **kw)
                        resp, list_headers = result if isinstance(result, tuple) else (result, {})
                        resp = json_response(resp, 200, list_headers)
                    except MangopayError as err:
                        resp = self._error(err)
                    if fault and fault[0] in (500, 503):  # the work was done, then the request failed
                        resp = self._error(MangopayError(fault[0], "internal_error", "Internal server error"))
                resp.headers.update(rate_headers)
                record["status"] = resp.status_code
                if key is not None:
                    self.keys[key].update(status=resp.status_code, body=resp.get_data(as_text=True), type=resp.mimetype)
            if fault and fault[0] == DROP:  # the work is done and saved; the client never hears of it
                drop_connection()
            return resp

        handle.__name__ = f"mangopay_{method}_{rule}"
        return handle

    def _count_call(self) -> tuple[bool, dict[str, str]]:
        """Counts this call in every window; (over a limit, the X-RateLimit headers: calls made, calls left and each
        window's reset, one value per window, as rate-limiting.mdx shows them)."""
        now = self._now()
        longest = max((int(w.total_seconds()) for w, _ in self.rate_limits), default=0)
        self.calls = [t for t in self.calls if t > now - longest]
        made = [sum(1 for t in self.calls if t > now - int(w.total_seconds())) for w, _ in self.rate_limits]
        limited = any(m >= limit for m, (_, limit) in zip(made, self.rate_limits, strict=True))
        if not limited:
            self.calls.append(now)
            made = [m + 1 for m in made]
        headers = {
            "X-RateLimit": ", ".join(map(str, made)),
            "X-RateLimit-Remaining": ", ".join(
                str(max(limit - m, 0)) for m, (_, limit) in zip(made, self.rate_limits, strict=True)
            ),
            "X-RateLimit-Reset": ", ".join(str(now + int(w.total_seconds())) for w, _ in self.rate_limits),
        }
        return limited, headers

    def _prune(self) -> None:
        """Keys are forgotten 24 hours after their first use; open pages lapse."""
        prune_keys(self.keys, self._now(), KEY_LIFETIME)
        self._sweep()

    def _sweep(self) -> None:
        limit = self._now() - int(PAGE_LIFETIME.total_seconds())
        for obj in list(self.objects.values()):
            if obj.get("Status") != "CREATED" or obj["CreationDate"] > limit:
                continue
            if obj["_kind"] == "payin" and obj.get("SecureModeRedirectURL"):
                self._fail(obj, SESSION_EXPIRED, "PAYIN_NORMAL_FAILED")
        sca_limit = self._now() - int(SCA_SESSION_LIFETIME.total_seconds())
        for session in self.sca_sessions.values():
            if session["Status"] != "OPEN" or session["At"] > sca_limit:
                continue
            session["Status"] = "EXPIRED"  # the user stays as they were (PENDING_USER_ACTION for an enrolment)
            if session["Purpose"] == "ENROLMENT":
                self._event("SCA_ENROLLMENT_EXPIRED", session["UserId"])
            elif session["Purpose"] == "RECIPIENT":
                rec = self.objects.get(session["Subject"])
                if rec is not None and rec["Status"] == "PENDING":
                    rec.update(Status="CANCELED", PendingUserAction=None)
                    self._event("RECIPIENT_CANCELED", rec["Id"])
            elif session["Purpose"] == "TRANSFER":
                tr = self.objects.get(session["Subject"])
                if tr is not None and tr["Status"] == "CREATED" and tr.get("PendingUserAction"):
                    tr["PendingUserAction"] = None
                    self._fail(tr, SCA_EXPIRED, "TRANSFER_NORMAL_FAILED")

    def _sca_session(self, purpose: str, user_id: str, subject: str) -> str:
        """A hosted SCA session (ENROLMENT of `user_id`, TRANSFER `subject`'s approval, WALLET access): its
        RedirectUrl, with its token, valid SCA_SESSION_LIFETIME. The platform appends its encoded returnUrl."""
        # a token of the emulator's sequence, not random: a crash run replays from its seed to the same words
        self._sca_n += 1
        token = "sca_" + hashlib.sha256(f"{self.client_id}:sca:{self._sca_n}".encode()).hexdigest()[:32]
        self.sca_sessions[token] = {
            "Token": token,
            "Purpose": purpose,
            "UserId": user_id,
            "Subject": subject,
            "At": self._now(),
            "Status": "OPEN",
        }
        return f"{self.base}/_sim/sca?token={token}"

    def _response(self, _args: Any, key: str) -> dict[str, Any]:
        saved = self.keys.get(key)
        if saved is None or "status" not in saved:
            raise _missing("response", key)
        try:
            resource = json.loads(saved["body"])
        except ValueError:
            resource = None
        return {
            "StatusCode": str(saved["status"]),
            "ContentLength": str(len(saved["body"])),
            "ContentType": f"{saved['type']}; charset=utf-8",
            "Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(saved["at"])),
            "RequestURL": saved["url"],
            "Resource": resource,
        }

    def _all(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if o["_kind"] == kind]

    def _get(self, kind: str, oid: str) -> dict[str, Any]:
        obj = self.objects.get(str(oid))
        if obj is None or obj["_kind"] != kind:
            raise _missing(kind, str(oid))
        return obj

    def _new(self, kind: str, **fields: Any) -> dict[str, Any]:
        obj = {"Id": self._id(), "Tag": None, "CreationDate": self._now(), **fields, "_kind": kind}
        self.objects[obj["Id"]] = obj
        return obj

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _event(self, event_type: str, resource_id: str) -> None:
        self.events.append({"ResourceId": resource_id, "EventType": event_type, "Date": self._now()})

    def _retrieve(self, kind: str) -> Callable[..., dict[str, Any]]:
        def view(_args: Any, oid: str) -> dict[str, Any]:
            self._sweep()
            return self._public(self._get(kind, oid))

        return view

    def _page(
        self, rows: list[dict[str, Any]], args: Any, *, sort_field: str = "CreationDate", default: str = "ASC"
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """One page of a list, with Mangopay's pagination headers."""
        try:
            page = int(args.get("page", 1))
            per_page = int(args.get("per_page", 10))
        except ValueError:
            raise _param("page and per_page are numbers") from None
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise _param(
                "One or several required parameters are missing or incorrect",
                per_page=f"per_page is between 1 and {MAX_PER_PAGE}; page starts at 1",
            )
        field, _, direction = (args.get("Sort") or f"{sort_field}:{default}").partition(":")
        if field not in ("CreationDate", "Date") or direction.upper() not in ("ASC", "DESC"):
            raise _param("Invalid sort", Sort="CreationDate:ASC or CreationDate:DESC")
        rows = (
            sorted(
                rows, key=lambda o: (o.get(sort_field), int(o.get("Id", 0) or 0)), reverse=direction.upper() == "DESC"
            )
            if sort_field == "CreationDate"
            else (rows[::-1] if direction.upper() == "DESC" else rows)
        )
        pages = max(1, -(-len(rows) // per_page))
        chunk = rows[(page - 1) * per_page : page * per_page]
        base = request.base_url
        links = [
            f'<{base}?{urlencode({"page": p, "per_page": per_page})}>; rel="{rel}"'
            for rel, p in (("first", 1), ("prev", max(1, page - 1)), ("next", min(pages, page + 1)), ("last", pages))
        ]
        headers = {"X-Number-Of-Pages": str(pages), "X-Number-Of-Items": str(len(rows)), "Link": ", ".join(links)}
        return [self._public(o) if "_kind" in o else o for o in chunk], headers

    def _wallet_access(self, user_id: str, args: Any) -> None:
        """Mangopay's SCA on an Owner's wallet access (guides/sca/wallets.mdx). `ScaContext` USER_PRESENT: passes
        when the Owner completed a wallet-access SCA session in the last 180 days, else 401 with a new session's
        link in `WWW-Authenticate: PendingUserAction RedirectUrl=...`; USER_NOT_PRESENT: 403 (paybot holds no proxy
        consent). A PAYER's access is never stopped. The documentation calls ScaContext mandatory for Owners and
        says nothing of a request without it: the emulator takes it as USER_PRESENT (its choice; Mangopay's sandbox
        does not trigger SCA then). The 401's body is the error report (its Type the emulator's choice)."""
        user = self._get("user", user_id)
        if user["UserCategory"] != "OWNER":
            return
        context = args.get("ScaContext") or "USER_PRESENT"
        if context not in ("USER_PRESENT", "USER_NOT_PRESENT"):
            raise _param(
                "One or several required parameters are missing or incorrect",
                ScaContext="USER_PRESENT or USER_NOT_PRESENT",
            )
        if context == "USER_NOT_PRESENT":
            raise MangopayError(
                403,
                "forbidden_ressource",
                "The user has not given consent to act on their behalf",
                {"ScaContext": "USER_NOT_PRESENT needs the user's consent to the proxy"},
            )
        last = user.get("_wallet_sca_at")
        if last is not None and self._now() - last < int(WALLET_SCA_EVERY.total_seconds()):
            return
        link = self._sca_session("WALLET", user["Id"], user["Id"])
        raise MangopayError(
            401,
            "sca_required",
            "Strong customer authentication is required to access this account",
            headers={"WWW-Authenticate": f"PendingUserAction RedirectUrl={link}"},
        )

    def _wallet_view(self, args: Any, oid: str) -> dict[str, Any]:
        wallet = self._get("wallet", oid)
        self._wallet_access(wallet["Owners"][0], args)
        return self._public(wallet)

    def _user_list(self, kind: str, owner_field: str) -> Callable[..., Any]:
        def view(args: Any, oid: str) -> Any:
            self._get("user", oid)
            if kind == "wallet":
                self._wallet_access(oid, args)
            rows = [o for o in self._all(kind) if oid == o[owner_field] or oid in (o[owner_field] or [])]
            return self._page(rows, args)

        return view

    @staticmethod
    def _money(body: dict[str, Any], name: str, *, required: bool = True) -> dict[str, Any] | None:
        value = body.get(name)
        if value is None:
            if required:
                raise _param(
                    "One or several required parameters are missing or incorrect",
                    **{name: f"The {name} field is required."},
                )
            return None
        amount, currency = (
            value.get("Amount") if isinstance(value, dict) else None,
            (value.get("Currency") if isinstance(value, dict) else None),
        )
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0 or currency not in CURRENCIES:
            raise _param(
                "One or several required parameters are missing or incorrect",
                **{name: "Amount is a whole number of minor units, Currency an ISO code"},
            )
        return {"Currency": currency, "Amount": amount}

    @staticmethod
    def _tag(body: dict[str, Any]) -> str | None:
        tag = body.get("Tag")
        if tag is not None and (not isinstance(tag, str) or len(tag) > 255):
            raise _param(
                "One or several required parameters are missing or incorrect",
                Tag="The Tag is a string of at most 255 characters",
            )
        return tag

    @staticmethod
    def _required(body: dict[str, Any], *names: str) -> None:
        missing = {n: f"The {n} field is required." for n in names if body.get(n) in (None, "")}
        if missing:
            raise _param("One or several required parameters are missing or incorrect", **missing)

    # ------------------------------------------------------------------ users and wallets

    def _user_create(self, body: dict[str, Any]) -> dict[str, Any]:
        self._required(body, "FirstName", "LastName", "Email", "UserCategory")
        category = body["UserCategory"]
        if category not in ("PAYER", "OWNER"):
            raise _param("One or several required parameters are missing or incorrect", UserCategory="PAYER or OWNER")
        if category == "OWNER" and not _true(body.get("TermsAndConditionsAccepted")):
            raise _param(
                "An OWNER must accept Mangopay's terms and conditions",
                TermsAndConditionsAccepted="must be true for an OWNER",
            )
        if category == "OWNER":
            self._owner_identity(body)
            self._fraud_policy(body["FirstName"], body["LastName"], body["Email"])
        now = self._now()
        user = self._new(
            "user",
            Tag=self._tag(body),
            PersonType="NATURAL",
            FirstName=body["FirstName"],
            LastName=body["LastName"],
            Email=body["Email"],
            UserCategory=category,
            KYCLevel="LIGHT",
            UserStatus="ACTIVE",
            TermsAndConditionsAccepted=_true(body.get("TermsAndConditionsAccepted")),
            TermsAndConditionsAcceptedDate=now if _true(body.get("TermsAndConditionsAccepted")) else None,
            Birthday=body.get("Birthday"),
            Nationality=body.get("Nationality"),
            CountryOfResidence=body.get("CountryOfResidence"),
            Address=body.get("Address"),
            Occupation=None,
            IncomeRange=None,
            ProofOfIdentity=None,
            ProofOfAddress=None,
            Capacity="NORMAL",
            PhoneNumber=None,
            PhoneNumberCountry=None,
            PendingUserAction=None,
        )
        if category == "OWNER":  # an Owner is registered with SCA: PENDING_USER_ACTION until they enrol
            user.update(
                UserStatus="PENDING_USER_ACTION",
                PendingUserAction={"RedirectUrl": self._sca_session("ENROLMENT", user["Id"], user["Id"])},
            )
        self._event("USER_ACCOUNT_VALIDATION_ASKED" if category == "OWNER" else "USER_CREATED", user["Id"])
        return self._public(user)

    @staticmethod
    def _fraud_policy(first: Any, last: Any, email: Any) -> None:
        """An OWNER's name and e-mail must be a person's (FRAUD_POLICY): else 400 fraud_policy, `errors` null."""

        def not_a_name(name: Any) -> bool:
            text = " ".join(str(name or "").split()).casefold()
            return text in NOT_NAMES or not any(c.isalpha() for c in text) or any(c.isdigit() for c in text)

        mailbox, _, domain = str(email or "").casefold().rpartition("@")
        if (
            not_a_name(first)
            or not_a_name(last)
            or not_a_name(f"{first} {last}")
            or domain.endswith(NOT_PERSONAL_DOMAINS)
            or mailbox in NOT_PERSONAL_MAILBOXES
        ):
            raise MangopayError(400, "fraud_policy", FRAUD_POLICY)

    @staticmethod
    def _owner_identity(body: dict[str, Any]) -> None:
        """An Owner's Birthday (unix seconds), Nationality and CountryOfResidence (ISO 3166-1 alpha-2): required."""
        errors = {n: f"The {n} field is required." for n in OWNER_IDENTITY if body.get(n) in (None, "")}
        for name in ("Nationality", "CountryOfResidence"):
            if name not in errors and not (isinstance(body[name], str) and re.fullmatch(r"[A-Z]{2}", body[name])):
                errors[name] = f"The {name} is an ISO 3166-1 alpha-2 code"
        birthday = body.get("Birthday")
        if "Birthday" not in errors and (not isinstance(birthday, int) or isinstance(birthday, bool)):
            errors["Birthday"] = "The Birthday is a unix timestamp"
        if errors:
            raise _param("One or several required parameters are missing or incorrect", **errors)

    def _user_categorize(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        """PUT .../category: a PAYER becomes an OWNER, given their identity, and must enrol in SCA: the answer always
        carries an enrolment link (PendingUserAction) and the user is PENDING_USER_ACTION until they complete it.
        An OWNER already is refused (400 not_allowed_for_user_category_owner: POST .../enrollment is for them)."""
        user = self._get("user", oid)
        if user["UserCategory"] == "OWNER":
            raise MangopayError(
                400, "not_allowed_for_user_category_owner", "This endpoint is not allowed for User categorized as OWNER"
            )
        if body.get("UserCategory") != "OWNER":
            raise _param("A user can only be categorized as OWNER", UserCategory="OWNER")
        if not _true(body.get("TermsAndConditionsAccepted")):
            raise _param(
                "An OWNER must accept Mangopay's terms and conditions",
                TermsAndConditionsAccepted="must be true for an OWNER",
            )
        self._owner_identity(body)
        self._fraud_policy(user["FirstName"], user["LastName"], body.get("Email") or user["Email"])
        user.update(
            UserCategory="OWNER",
            TermsAndConditionsAccepted=True,
            TermsAndConditionsAcceptedDate=self._now(),
            UserStatus="PENDING_USER_ACTION",
            PendingUserAction={"RedirectUrl": self._sca_session("ENROLMENT", oid, oid)},
        )
        self._event("USER_CATEGORY_UPDATED_TO_OWNER", oid)
        self._event("USER_ACCOUNT_VALIDATION_ASKED", oid)
        for name in (
            "Birthday",
            "Nationality",
            "CountryOfResidence",
            "Address",
            "Email",
            "PhoneNumber",
            "PhoneNumberCountry",
        ):
            if body.get(name) is not None:
                user[name] = body[name]
        return self._public(user)

    def _enrol_session(self, _body: dict[str, Any], oid: str) -> dict[str, Any]:
        """POST /sca/users/{id}/enrollment: a new enrolment link for an OWNER (the user's status unchanged);
        a PAYER is refused (400 not_allowed_for_user_category_payer: categorize them instead)."""
        user = self._get("user", oid)
        if user["UserCategory"] != "OWNER":
            raise MangopayError(
                400, "not_allowed_for_user_category_payer", "This endpoint is not allowed for User categorized as PAYER"
            )
        return {"PendingUserAction": {"RedirectUrl": self._sca_session("ENROLMENT", oid, oid)}}

    def _wallet_create(self, body: dict[str, Any]) -> dict[str, Any]:
        self._required(body, "Owners", "Description", "Currency")
        owners = body["Owners"]
        if not isinstance(owners, list) or len(owners) != 1:
            raise _param("A wallet has exactly one owner", Owners="one user id")
        self._get("user", owners[0])
        if body["Currency"] not in CURRENCIES:
            raise _param("One or several required parameters are missing or incorrect", Currency="ISO code")
        wallet = self._new(
            "wallet",
            Tag=self._tag(body),
            Owners=[str(owners[0])],
            Description=body["Description"],
            Currency=body["Currency"],
            Balance={"Currency": body["Currency"], "Amount": 0},
            FundsType="DEFAULT",
        )
        return self._public(wallet)

    # ------------------------------------------------------------------ cards

    def _cardreg_create(self, body: dict[str, Any]) -> dict[str, Any]:
        self._required(body, "UserId", "Currency")
        self._get("user", body["UserId"])
        if body["Currency"] not in CURRENCIES:
            raise _param("One or several required parameters are missing or incorrect", Currency="ISO code")
        reg = self._new(
            "cardregistration",
            Tag=self._tag(body),
            UserId=str(body["UserId"]),
            Currency=body["Currency"],
            CardType=body.get("CardType") or "CB_VISA_MASTERCARD",
            AccessKey=secrets.token_urlsafe(15),
            PreregistrationData=secrets.token_urlsafe(48),
            RegistrationData=None,
            CardId=None,
            Status="CREATED",
            ResultCode=None,
            ResultMessage=None,
            CardHolderName=body.get("CardHolderName"),
        )
        reg["CardRegistrationURL"] = f"{self.base}/_sim/tokenize/{reg['Id']}"
        return self._public(reg)

    def _cardreg_update(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        """The platform sends the tokenization server's RegistrationData back: the Card is created."""
        reg = self._get("cardregistration", oid)
        if reg["Status"] != "CREATED":
            raise _param(f"This card registration is {reg['Status']}")
        self._required(body, "RegistrationData")
        holder = body.get("CardHolderName")
        if holder is not None and (not isinstance(holder, str) or not 2 <= len(holder) <= 255):
            raise _param(
                "One or several required parameters are missing or incorrect",
                CardHolderName="The field CardHolderName must be between 2 and 255 characters long.",
            )
        reg["RegistrationData"] = body["RegistrationData"]
        if holder:
            reg["CardHolderName"] = holder
        self._finish_registration(reg)
        return self._public(reg)

    def _finish_registration(self, reg: dict[str, Any]) -> None:
        """The tokenization server's answer, sent back: a Card for the token it gave this registration."""
        data = str(reg["RegistrationData"])
        token = reg.get("_token") or {}
        if data.startswith("errorCode="):
            code = TOKENIZER_ERRORS.get(data.removeprefix("errorCode="), BAD_REGISTRATION_DATA)
            reg.update(Status="ERROR", ResultCode=code[0], ResultMessage=code[1])
            return
        if not token or data != f"data={token['token']}":
            reg.update(Status="ERROR", ResultCode=BAD_REGISTRATION_DATA[0], ResultMessage=BAD_REGISTRATION_DATA[1])
            return
        number = token["number"]
        card = self._new(
            "card",
            Tag=reg["Tag"],
            UserId=reg["UserId"],
            Currency=reg["Currency"],
            CardType=reg["CardType"],
            CardProvider="VISA",
            Alias=f"{number[:6]}XXXXXX{number[-4:]}",
            ExpirationDate=token["expiry"],
            Country="FRA",
            Product="I",
            BankCode="00152",
            Active=True,
            Validity="UNKNOWN",
            Fingerprint=hashlib.sha256(number.encode()).hexdigest()[:32],
            CardHolderName=reg["CardHolderName"],
            _behaviour=CARDS[number],
        )
        reg.update(Status="VALIDATED", CardId=card["Id"], ResultCode=OK_CODE[0], ResultMessage=OK_CODE[1])

    # ------------------------------------------------------------------ pay-ins

    def _recurring_create(self, body: dict[str, Any]) -> dict[str, Any]:
        self._required(body, "AuthorId", "CardId")
        author = self._get("user", body["AuthorId"])
        card = self._get("card", body["CardId"])
        if card["UserId"] != author["Id"] or not card["Active"]:
            raise _param("The card does not belong to the author or is inactive", CardId="the author's card")
        if card["Validity"] != "VALID" and self._now() - card["CreationDate"] >= CARD_FRESH.total_seconds():
            # The docs name no code for this refusal: a param_error on CardId is the emulator's choice.
            raise _param(
                "The card must be VALID or registered less than 24 hours ago",
                CardId="a VALID card, or one registered less than 24 hours ago",
            )
        free = body.get("FreeCycles") or 0
        if not isinstance(free, int) or isinstance(free, bool) or free < 0:
            raise _param(
                "One or several required parameters are missing or incorrect", FreeCycles="a whole number, 0 or more"
            )
        first = self._money(body, "FirstTransactionDebitedFunds")
        assert first is not None
        wallet = self._get("wallet", body.get("CreditedWalletId") or "")
        if wallet["Currency"] != first["Currency"]:
            raise _param("The currency of the funds and of the credited wallet differ", Currency="the wallet's")
        reg = self._new(
            "recurring",
            Tag=self._tag(body),
            AuthorId=author["Id"],
            CardId=card["Id"],
            CreditedUserId=str(body.get("CreditedUserId") or wallet["Owners"][0]),
            CreditedWalletId=wallet["Id"],
            FirstTransactionDebitedFunds=first,
            FirstTransactionFees=self._money(body, "FirstTransactionFees", required=False)
            or {"Currency": first["Currency"], "Amount": 0},
            NextTransactionDebitedFunds=body.get("NextTransactionDebitedFunds"),
            NextTransactionFees=body.get("NextTransactionFees"),
            Frequency=body.get("Frequency"),
            EndDate=body.get("EndDate"),
            FixedNextAmount=body.get("FixedNextAmount"),
            FractionedPayment=body.get("FractionedPayment"),
            Migration=False,
            FreeCycles=free,
            CycleNumber=0,
            TotalAmount=None,
            RecurringType="CUSTOM",
            Status="CREATED",
            ResultCode=None,
            ResultMessage=None,
            PaymentType="CARD",
            CurrentState={
                "PayinsLinked": 0,
                "CumulatedDebitedAmount": {"Currency": first["Currency"], "Amount": 0},
                "CumulatedFeesAmount": {"Currency": first["Currency"], "Amount": 0},
                "LastPayinId": None,
            },
        )
        return self._public(reg)

    def _recurring_payin(self, body: dict[str, Any]) -> dict[str, Any]:
        """A CIT (the body has SecureModeReturnURL: the cardholder is there) or an MIT (they are not)."""
        self._required(body, "RecurringPayinRegistrationId")
        reg = self._get("recurring", body["RecurringPayinRegistrationId"])
        cit = bool(body.get("SecureModeReturnURL"))
        if cit:
            self._required(body, "BrowserInfo", "IpAddress")
            self._browser(body)
        elif reg["Status"] not in ("IN_PROGRESS",):
            raise _param(
                "A merchant-initiated pay-in needs a successful customer-initiated one first",
                RecurringPayinRegistrationId=f"the registration is {reg['Status']}",
            )
        if reg["Status"] == "ENDED":
            raise _param("The recurring registration has ended")
        linked = reg["CurrentState"]["PayinsLinked"]
        if linked < reg["FreeCycles"]:
            # A pay-in of a free cycle debits nothing, and may not say otherwise (snippets/p-body/FreeCycles.mdx).
            if body.get("DebitedFunds") is not None or body.get("Fees") is not None:
                raise _param(
                    "DebitedFunds and Fees cannot be sent for a pay-in of a free cycle",
                    DebitedFunds="not sent on a free cycle",
                )
            body = {**body, "DebitedFunds": {**reg["FirstTransactionDebitedFunds"], "Amount": 0}}
        debited = self._money(body, "DebitedFunds", required=not cit) or reg["FirstTransactionDebitedFunds"]
        fees = self._money(body, "Fees", required=False) or {"Currency": debited["Currency"], "Amount": 0}
        if (
            fees["Currency"] != debited["Currency"]
            or debited["Currency"] != reg["FirstTransactionDebitedFunds"]["Currency"]
        ):
            raise _param("The currency of the funds and of the credited wallet differ", Currency="the wallet's")
        card = self._get("card", reg["CardId"])
        payin = self._new(
            "payin",
            Tag=self._tag(body),
            AuthorId=reg["AuthorId"],
            CreditedUserId=reg["CreditedUserId"],
            DebitedFunds=debited,
            Fees=fees,
            CreditedFunds={"Currency": debited["Currency"], "Amount": debited["Amount"] - fees["Amount"]},
            CreditedWalletId=reg["CreditedWalletId"],
            DebitedWalletId=None,
            Status="CREATED",
            ResultCode=None,
            ResultMessage=None,
            ExecutionDate=None,
            Type="PAYIN",
            Nature="REGULAR",
            PaymentType="CARD",
            ExecutionType="DIRECT",
            CardId=card["Id"],
            RecurringPayinRegistrationId=reg["Id"],
            SecureMode=body.get("SecureMode") or "DEFAULT",
            SecureModeNeeded=False,
            SecureModeRedirectURL=None,
            SecureModeReturnURL=body.get("SecureModeReturnURL"),
            StatementDescriptor=body.get("StatementDescriptor"),
            Culture="EN",
            PaymentCategory="ECommerce",
            BrowserInfo=body.get("BrowserInfo") if cit else None,
            IpAddress=body.get("IpAddress") if cit else None,
            _cit=cit,
        )
        self._event("PAYIN_NORMAL_CREATED", payin["Id"])
        if linked >= RECURRING_MAX_PAYINS:
            self._fail(payin, RECURRING_FULL, "PAYIN_NORMAL_FAILED")
            return self._public(payin)
        reg["CurrentState"]["PayinsLinked"] += 1
        reg["CurrentState"]["LastPayinId"] = payin["Id"]
        behaviour = card["_behaviour"]
        beneficiary = self._get("user", self._get("wallet", reg["CreditedWalletId"])["Owners"][0])
        if beneficiary["UserCategory"] == "OWNER" and beneficiary["KYCLevel"] != "REGULAR":
            # Since 2026-06-24 a pay-in credited to an unverified Owner's wallet fails (SOURCE.md)
            self._fail(payin, (NOT_VERIFIED[0], f"{NOT_VERIFIED[1]}: {beneficiary['Id']}"), "PAYIN_NORMAL_FAILED")
        elif behaviour == "declined":
            self._fail(payin, DO_NOT_HONOR, "PAYIN_NORMAL_FAILED")
            card["Validity"] = "INVALID"
        elif behaviour == "needs_auth" and cit:
            payin.update(SecureModeNeeded=True, SecureModeRedirectURL=f"{self.base}/_sim/3ds-page/{payin['Id']}")
            reg["Status"] = "AUTHENTICATION_NEEDED"
        elif behaviour == "needs_auth":
            self._fail(payin, AUTH_NEEDED, "PAYIN_NORMAL_FAILED")
            reg["Status"] = "AUTHENTICATION_NEEDED"
        else:
            self._payin_succeeds(payin)
        return self._public(payin)

    @staticmethod
    def _browser(body: dict[str, Any]) -> None:
        """A CIT's BrowserInfo has every field, and its IpAddress is an IPv4 or IPv6 address."""
        info = body.get("BrowserInfo")
        missing = [f for f in BROWSER_FIELDS if not isinstance(info, dict) or info.get(f) in (None, "")]
        if missing:
            raise _param(
                "One or several required parameters are missing or incorrect",
                **{f"BrowserInfo.{f}": f"The {f} field is required." for f in missing},
            )
        try:
            ipaddress.ip_address(str(body.get("IpAddress")))
        except ValueError:
            raise _param(
                "One or several required parameters are missing or incorrect", IpAddress="an IPv4 or IPv6 address"
            ) from None

    def _payin_succeeds(self, payin: dict[str, Any]) -> None:
        wallet = self._get("wallet", payin["CreditedWalletId"])
        wallet["Balance"]["Amount"] += payin["CreditedFunds"]["Amount"]
        payin.update(Status="SUCCEEDED", ResultCode=OK_CODE[0], ResultMessage=OK_CODE[1], ExecutionDate=self._now())
        card = self.objects.get(str(payin.get("CardId")))
        if card is not None:
            card["Validity"] = "VALID"
        reg = self.objects.get(str(payin.get("RecurringPayinRegistrationId")))
        if reg is not None:
            reg["Status"] = "IN_PROGRESS"
            state = reg["CurrentState"]
            state["CumulatedDebitedAmount"]["Amount"] += payin["DebitedFunds"]["Amount"]
            state["CumulatedFeesAmount"]["Amount"] += payin["Fees"]["Amount"]
        self._event("PAYIN_NORMAL_SUCCEEDED", payin["Id"])

    def _fail(self, obj: dict[str, Any], code: tuple[str, str], event: str) -> None:
        obj.update(Status="FAILED", ResultCode=code[0], ResultMessage=code[1], ExecutionDate=self._now())
        self._event(event, obj["Id"])

    # ------------------------------------------------------------------ transfers and refunds

    def _transfer_create(self, body: dict[str, Any]) -> dict[str, Any]:
        self._required(body, "AuthorId", "DebitedWalletId", "CreditedWalletId")
        debited = self._money(body, "DebitedFunds")
        fees = self._money(body, "Fees")
        assert debited is not None and fees is not None
        author = self._get("user", body["AuthorId"])
        source = self._get("wallet", body["DebitedWalletId"])
        target = self._get("wallet", body["CreditedWalletId"])
        if author["Id"] not in source["Owners"]:
            raise MangopayError(403, "forbidden_ressource", "The author does not own the debited wallet")
        if not source["Currency"] == target["Currency"] == debited["Currency"] == fees["Currency"]:
            raise _param("The currencies of the wallets and of the funds differ", Currency="one currency")
        if fees["Amount"] > debited["Amount"]:
            raise _param("The fees are more than the debited funds", Fees="at most DebitedFunds")
        credited_user = self._get("user", target["Owners"][0])
        context = body.get("ScaContext")
        if context not in (None, "USER_PRESENT", "USER_NOT_PRESENT"):
            raise _param(
                "One or several required parameters are missing or incorrect",
                ScaContext="USER_PRESENT or USER_NOT_PRESENT",
            )
        between_owners = (
            author["UserCategory"] == "OWNER"
            and credited_user["UserCategory"] == "OWNER"
            and author["Id"] != credited_user["Id"]
        )
        if between_owners and context == "USER_NOT_PRESENT":
            raise MangopayError(
                403,
                "forbidden_ressource",
                "The user has not given consent to act on their behalf",
                {"ScaContext": "USER_NOT_PRESENT needs the user's consent to the proxy"},
            )
        tr = self._new(
            "transfer",
            Tag=self._tag(body),
            AuthorId=author["Id"],
            CreditedUserId=credited_user["Id"],
            DebitedFunds=debited,
            Fees=fees,
            CreditedFunds={"Currency": debited["Currency"], "Amount": debited["Amount"] - fees["Amount"]},
            DebitedWalletId=source["Id"],
            CreditedWalletId=target["Id"],
            Status="CREATED",
            ResultCode=None,
            ResultMessage=None,
            ExecutionDate=None,
            Type="TRANSFER",
            Nature="REGULAR",
            ScaContext=context,
            PendingUserAction=None,
        )
        self._event("TRANSFER_NORMAL_CREATED", tr["Id"])
        if credited_user["Id"] != author["Id"] and credited_user["UserCategory"] != "OWNER":
            self._fail(tr, PAYER_CANNOT_RECEIVE, "TRANSFER_NORMAL_FAILED")
        elif credited_user["Id"] != author["Id"] and credited_user["KYCLevel"] != "REGULAR":
            self._fail(tr, (NOT_VERIFIED[0], f"{NOT_VERIFIED[1]}: {credited_user['Id']}"), "TRANSFER_NORMAL_FAILED")
        elif source["Balance"]["Amount"] < debited["Amount"]:
            self._fail(tr, BALANCE, "TRANSFER_NORMAL_FAILED")
        elif between_owners and author["UserStatus"] == "PENDING_USER_ACTION":
            self._fail(tr, NOT_ENROLLED, "TRANSFER_NORMAL_FAILED")  # SCA is needed and they cannot pass it yet
        elif between_owners:  # USER_PRESENT (the default): the author approves it on Mangopay's page
            tr["PendingUserAction"] = {"RedirectUrl": self._sca_session("TRANSFER", author["Id"], tr["Id"])}
        else:
            self._settle_transfer(tr)
        return self._public(tr)

    def _settle_transfer(self, tr: dict[str, Any]) -> None:
        source = self._get("wallet", tr["DebitedWalletId"])
        if source["Balance"]["Amount"] < tr["DebitedFunds"]["Amount"]:
            self._fail(tr, BALANCE, "TRANSFER_NORMAL_FAILED")
            return
        source["Balance"]["Amount"] -= tr["DebitedFunds"]["Amount"]
        self._get("wallet", tr["CreditedWalletId"])["Balance"]["Amount"] += tr["CreditedFunds"]["Amount"]
        tr.update(Status="SUCCEEDED", ResultCode=OK_CODE[0], ResultMessage=OK_CODE[1], ExecutionDate=self._now())
        self._event("TRANSFER_NORMAL_SUCCEEDED", tr["Id"])

    def _refunded(self, initial: str) -> int:
        return sum(
            r["DebitedFunds"]["Amount"]
            for r in self._all("refund")
            if r["InitialTransactionId"] == initial and r["Status"] == "SUCCEEDED"
        )

    def _refund(self, body: dict[str, Any], initial: dict[str, Any], kind: str) -> dict[str, Any]:
        self._required(body, "AuthorId")
        if initial["Status"] != "SUCCEEDED":
            raise _param(f"Only a succeeded {kind.lower()} can be refunded")
        left = initial["DebitedFunds"]["Amount"] - self._refunded(initial["Id"])
        amount = self._money(body, "DebitedFunds", required=False) or {**initial["DebitedFunds"], "Amount": left}
        if amount["Currency"] != initial["DebitedFunds"]["Currency"] or amount["Amount"] > left:
            raise _param("The refund is more than what is left to refund", DebitedFunds=f"at most {left}")
        wallet = self._get("wallet", initial["CreditedWalletId"])
        back = self._get("wallet", initial["DebitedWalletId"]) if kind == "TRANSFER" else None
        ref = self._new(
            "refund",
            Tag=self._tag(body),
            AuthorId=initial["AuthorId"],
            CreditedUserId=initial["AuthorId"] if kind == "TRANSFER" else None,
            DebitedFunds=amount,
            CreditedFunds=amount,
            Fees={**amount, "Amount": 0},
            DebitedWalletId=wallet["Id"],
            CreditedWalletId=back["Id"] if back else None,
            Status="CREATED",
            ResultCode=None,
            ResultMessage=None,
            ExecutionDate=None,
            Type="PAYOUT" if kind == "PAYIN" else "TRANSFER",
            Nature="REFUND",
            InitialTransactionId=initial["Id"],
            InitialTransactionType=kind,
            RefundReason={"RefusedReasonType": "INITIALIZED_BY_CLIENT", "RefusedReasonMessage": None},
            Reference=body.get("Reference"),
            StatementDescriptor=body.get("StatementDescriptor"),
        )
        self._event(f"{kind}_REFUND_CREATED", ref["Id"])
        if wallet["Balance"]["Amount"] < amount["Amount"]:
            self._fail(ref, BALANCE, f"{kind}_REFUND_FAILED")
            return self._public(ref)
        wallet["Balance"]["Amount"] -= amount["Amount"]
        if back is not None:
            back["Balance"]["Amount"] += amount["Amount"]
        ref.update(Status="SUCCEEDED", ResultCode=OK_CODE[0], ResultMessage=OK_CODE[1], ExecutionDate=self._now())
        self._event(f"{kind}_REFUND_SUCCEEDED", ref["Id"])
        return self._public(ref)

    def _payin_refund(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        return self._refund(body, self._get("payin", oid), "PAYIN")

    def _transfer_refund(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        return self._refund(body, self._get("transfer", oid), "TRANSFER")

    def _refunds_of(self, kind: str) -> Callable[..., Any]:
        def view(args: Any, oid: str) -> Any:
            self._get(kind, oid)
            return self._page([r for r in self._all("refund") if r["InitialTransactionId"] == oid], args)

        return view

    def _transactions(self, owner: str) -> Callable[..., Any]:
        """A user's (as author or credited user) or a wallet's transactions: pay-ins, transfers, refunds, payouts."""

        def view(args: Any, oid: str) -> Any:
            self._sweep()
            found = self._get(owner, oid)
            self._wallet_access(oid if owner == "user" else found["Owners"][0], args)
            rows = [o for o in self.objects.values() if o["_kind"] in ("payin", "transfer", "refund", "payout")]
            if owner == "user":
                rows = [o for o in rows if oid in (o["AuthorId"], o.get("CreditedUserId"))]
            else:
                rows = [o for o in rows if oid in (o.get("DebitedWalletId"), o.get("CreditedWalletId"))]
            for name in ("Status", "Type", "Nature"):
                wanted = set(args.getlist(name)) if hasattr(args, "getlist") else set()
                wanted = {w.upper() for v in wanted for w in v.split(",") if w}
                if wanted:
                    rows = [o for o in rows if o[name] in wanted]
            if args.get("AfterDate"):
                rows = [o for o in rows if o["CreationDate"] > int(args["AfterDate"])]
            if args.get("BeforeDate"):
                rows = [o for o in rows if o["CreationDate"] < int(args["BeforeDate"])]
            page, headers = self._page(rows, args)
            keep = (
                "Id",
                "Tag",
                "CreationDate",
                "AuthorId",
                "CreditedUserId",
                "DebitedFunds",
                "CreditedFunds",
                "Fees",
                "Status",
                "ResultCode",
                "ResultMessage",
                "ExecutionDate",
                "Type",
                "Nature",
                "CreditedWalletId",
                "DebitedWalletId",
            )
            return [{k: o.get(k) for k in keep} for o in page], headers

        return view

    # ------------------------------------------------------------------ bank accounts and payouts

    def _bank_account_create(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        """An IBAN bank account of the user `oid` (Mangopay's "Create an IBAN Bank Account")."""
        self._get("user", oid)
        self._required(body, "OwnerName", "OwnerAddress", "IBAN")
        name, address = body["OwnerName"], body["OwnerAddress"]
        if not isinstance(name, str) or len(name) > 255:
            raise _param(
                "One or several required parameters are missing or incorrect",
                OwnerName="The OwnerName is a string of at most 255 characters",
            )
        if not isinstance(address, dict):
            raise _param(
                "One or several required parameters are missing or incorrect",
                OwnerAddress="The OwnerAddress is an Address object",
            )
        missing = {
            f"OwnerAddress.{n}": f"The OwnerAddress.{n} field is required."
            for n in ("AddressLine1", "City", "PostalCode", "Country")
            if not address.get(n)
        }
        country = str(address.get("Country") or "")
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            missing["OwnerAddress.Country"] = "The Country is an ISO 3166-1 alpha-2 code"
        if country in ADDRESS_REGION_NEEDED and not address.get("Region"):
            missing["OwnerAddress.Region"] = "The Region is required when the Country is US, CA or MX"
        if missing:
            raise _param("One or several required parameters are missing or incorrect", **missing)
        iban = re.sub(r"\s", "", str(body["IBAN"])).upper()
        if not iban_valid(iban):
            raise _param("One or several required parameters are missing or incorrect", IBAN="The IBAN is not valid")
        bic = body.get("BIC")
        if bic is not None and not (isinstance(bic, str) and BIC_SHAPE.fullmatch(bic.upper())):
            raise _param("One or several required parameters are missing or incorrect", BIC="The BIC is not valid")
        account = self._new(
            "bankaccount",
            Tag=self._tag(body),
            UserId=str(oid),
            Type="IBAN",
            OwnerName=name,
            OwnerAddress={
                "AddressLine1": address.get("AddressLine1"),
                "AddressLine2": address.get("AddressLine2"),
                "City": address.get("City"),
                "Region": address.get("Region"),
                "PostalCode": address.get("PostalCode"),
                "Country": country,
            },
            IBAN=iban,
            BIC=bic.upper() if isinstance(bic, str) else None,
            Active=True,
        )
        return self._public(account)

    def _bank_account_view(self, _args: Any, oid: str, bid: str) -> dict[str, Any]:
        account = self._get("bankaccount", bid)
        if account["UserId"] != oid:
            raise _missing("bankaccount", bid)
        return self._public(account)

    # ------------------------------------------------------------------ recipients

    def _payout_methods(self, args: Any) -> dict[str, Any]:
        """GET /recipients/payout-methods?Country=&Currency=: the methods for that route."""
        country, currency = str(args.get("Country") or ""), str(args.get("Currency") or "")
        errors = {n: "REQUIRED" for n, v in (("Country", country), ("Currency", currency)) if not v}
        if errors:
            raise MangopayError(400, "param_error", PARAM_MESSAGE, errors, errors_key="Errors")
        local = ["LocalBankTransfer"] if currency == "EUR" and country in SEPA_EUR else []
        return {"AvailablePayoutMethods": [*local, "InternationalBankTransfer"]}

    def _recipient_schema(self, args: Any) -> dict[str, Any]:
        """GET /recipients/schema: what a Recipient of that method, type, currency and country needs (the fields the
        emulator checks, each {Required, Pattern?})."""
        method, kind = args.get("PayoutMethodType"), args.get("RecipientType")
        if method not in PAYOUT_METHODS or kind != "Individual" or args.get("Currency") not in CURRENCIES:
            raise MangopayError(
                400, "param_error", PARAM_MESSAGE, {"PayoutMethodType": "NOT_IN_ALLOWED_VALUES"}, errors_key="Errors"
            )
        field = {"Required": True}
        address = {n: field for n in ("AddressLine1", "City", "PostalCode", "Country")}
        details = (
            {"EUR": {"IBAN": field, "BIC": {"Required": False}}}
            if method == "LocalBankTransfer"
            else {"AccountNumber": field, "BIC": field}
        )
        return {
            "DisplayName": field,
            "Currency": field,
            "Country": field,
            "RecipientType": field,
            "PayoutMethodType": field,
            "RecipientScope": {"Required": False},
            "IndividualRecipient": {"FirstName": field, "LastName": field, "Address": address},
            method: details,
        }

    @staticmethod
    def _recipient_errors(body: dict[str, Any]) -> dict[str, str]:  # noqa: C901
        """The Recipients' refusals, field by field, in Mangopay's words (create-recipient.mdx, "Parameter errors")."""
        errors: dict[str, str] = {}
        for name in ("DisplayName", "PayoutMethodType", "RecipientType", "Currency", "Country"):
            if not body.get(name):
                errors[name] = "REQUIRED"
        method, currency, country = body.get("PayoutMethodType"), body.get("Currency"), str(body.get("Country") or "")
        if method and method not in PAYOUT_METHODS:
            errors["PayoutMethodType"] = "NOT_IN_ALLOWED_VALUES"
        if body.get("RecipientType") and body["RecipientType"] != "Individual":
            errors["RecipientType"] = "NOT_IN_ALLOWED_VALUES"  # the emulator knows individuals only
        if currency and currency not in CURRENCIES:
            errors["Currency"] = "UNSUPPORTED_CURRENCY"
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            errors["Country"] = "INVALID_FORMAT"
        if body.get("RecipientScope") not in (None, "PAYOUT", "PAYIN"):
            errors["RecipientScope"] = "NOT_IN_ALLOWED_VALUES"
        raw_person = body.get("IndividualRecipient")
        person: dict[str, Any] = raw_person if isinstance(raw_person, dict) else {}
        for name in ("FirstName", "LastName"):
            if not person.get(name):
                errors[f"IndividualRecipient.{name}"] = "REQUIRED"
        raw_address = person.get("Address")
        address: dict[str, Any] = raw_address if isinstance(raw_address, dict) else {}
        for name in ("AddressLine1", "City", "PostalCode", "Country"):
            if not address.get(name):
                errors[f"IndividualRecipient.Address.{name}"] = "REQUIRED"
        if method == "LocalBankTransfer":
            if currency != "EUR" or country not in SEPA_EUR:
                errors["PayoutMethodType"] = "UNSUPPORTED_PAYOUT_METHOD_FOR_CURRENCY"
            else:
                account = (body.get("LocalBankTransfer") or {}).get("EUR") or {}
                iban = re.sub(r"\s", "", str(account.get("IBAN") or "")).upper()
                if not iban:
                    errors["LocalBankTransfer.EUR.IBAN"] = "REQUIRED"
                elif not iban_valid(iban):
                    errors["LocalBankTransfer.EUR.IBAN"] = "INVALID_IBAN"
                elif iban[:2] not in SEPA_EUR:
                    errors["LocalBankTransfer.EUR.IBAN"] = "UNSUPPORTED_IBAN"
                if account.get("BIC") and not BIC_SHAPE.fullmatch(str(account["BIC"]).upper()):
                    errors["LocalBankTransfer.EUR.BIC"] = "INVALID_BIC"
        elif method == "InternationalBankTransfer":
            account = body.get("InternationalBankTransfer") or {}
            number = re.sub(r"\s", "", str(account.get("AccountNumber") or "")).upper()
            if not number:
                errors["InternationalBankTransfer.AccountNumber"] = "REQUIRED"
            elif re.fullmatch(r"[A-Z]{2}[0-9]{2}.*", number):
                if not iban_valid(number):
                    errors["InternationalBankTransfer.AccountNumber"] = "INVALID_IBAN"
            elif not re.fullmatch(r"[0-9]{4,34}", number):  # not an IBAN: a local account number (digits)
                errors["InternationalBankTransfer.AccountNumber"] = "INVALID_ACCOUNT_NUMBER"
            if not account.get("BIC"):
                errors["InternationalBankTransfer.BIC"] = "REQUIRED"
            elif not BIC_SHAPE.fullmatch(str(account["BIC"]).upper()):
                errors["InternationalBankTransfer.BIC"] = "INVALID_BIC"
        return errors

    def _recipient_validate(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        """POST .../recipients/validate: 200 when the data would make a Recipient, else the 400 listing each error
        (the documented answer has no body; the emulator answers {})."""
        self._get("user", oid)
        errors = self._recipient_errors(body)
        if errors:
            raise MangopayError(400, "param_error", PARAM_MESSAGE, errors, errors_key="Errors")
        return {}

    def _recipient_create(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        """POST .../users/{id}/recipients: PENDING; for payouts (RecipientScope PAYOUT, the default) only an OWNER's,
        with an SCA session (PendingUserAction) that makes it ACTIVE (RECIPIENT_ACTIVE) or, failed or lapsed,
        CANCELED (RECIPIENT_CANCELED). A PAYIN-scope Recipient needs no SCA: ACTIVE at once."""
        user = self._get("user", oid)
        errors = self._recipient_errors(body)
        if errors:
            raise MangopayError(400, "param_error", PARAM_MESSAGE, errors, errors_key="Errors")
        scope = body.get("RecipientScope") or "PAYOUT"
        if scope == "PAYOUT" and user["UserCategory"] != "OWNER":
            raise MangopayError(
                400, "param_error", PARAM_MESSAGE, {"SCA": "2815488948686553431"}, errors_key="Errors"
            )  # a Payer's payout Recipient (create-recipient.mdx)
        method = body["PayoutMethodType"]
        rec = self._new(
            "recipient",
            Tag=self._tag(body),
            Status="PENDING",
            DisplayName=body["DisplayName"],
            PayoutMethodType=method,
            RecipientType=body["RecipientType"],
            Currency=body["Currency"],
            Country=body["Country"],
            UserId=str(oid),
            RecipientScope=scope,
            IndividualRecipient=body["IndividualRecipient"],
            **{method: body[method]},
            PendingUserAction=None,
            RecipientVerificationOfPayee=None,
        )
        if scope == "PAYOUT":
            rec["PendingUserAction"] = {"RedirectUrl": self._sca_session("RECIPIENT", str(oid), rec["Id"])}
        else:
            rec["Status"] = "ACTIVE"
            self._event("RECIPIENT_ACTIVE", rec["Id"])
        return self._public(rec)

    def _payout_create(self, body: dict[str, Any]) -> dict[str, Any]:
        """A bank wire payout from a wallet to its author's bank account: CREATED with the wallet debited, or
        FAILED with its ResultCode (author not a verified Owner, wallet too low), each with its event."""
        self._required(body, "AuthorId", "DebitedWalletId", "BankAccountId")
        debited = self._money(body, "DebitedFunds")
        fees = self._money(body, "Fees")
        assert debited is not None and fees is not None
        author = self._get("user", body["AuthorId"])
        wallet = self._get("wallet", body["DebitedWalletId"])
        found = self.objects.get(str(body["BankAccountId"]))
        account = self._get(
            "recipient" if found and found["_kind"] == "recipient" else "bankaccount", body["BankAccountId"]
        )
        if author["Id"] not in wallet["Owners"]:
            raise MangopayError(403, "forbidden_ressource", "The author does not own the debited wallet")
        if account["UserId"] != author["Id"]:
            raise _param(
                "The bank account does not belong to the author of the payout",
                BankAccountId="a bank account of the author",
            )
        if account["_kind"] == "recipient" and (
            account["Status"] != "ACTIVE"
            or account["RecipientScope"] != "PAYOUT"
            or account["Currency"] != debited["Currency"]
        ):
            # a Recipient PENDING (its SCA not done), CANCELED, for pay-ins only or in another currency
            raise _param(PARAM_MESSAGE, BankAccountId="an ACTIVE payout Recipient in the payout's currency")
        if account["_kind"] == "bankaccount" and not account["Active"]:
            raise _param("The bank account is inactive", BankAccountId="an active bank account")
        if not wallet["Currency"] == debited["Currency"] == fees["Currency"]:
            raise _param("The currencies of the wallet and of the funds differ", Currency="the wallet's")
        if fees["Amount"] > debited["Amount"]:
            raise _param("The fees are more than the debited funds", Fees="at most DebitedFunds")
        reference = body.get("BankWireRef")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 255):
            raise _param(
                "One or several required parameters are missing or incorrect",
                BankWireRef="The BankWireRef is a string of at most 255 characters",
            )
        payout = self._new(
            "payout",
            Tag=self._tag(body),
            AuthorId=author["Id"],
            CreditedUserId=None,
            DebitedFunds=debited,
            Fees=fees,
            CreditedFunds={"Currency": debited["Currency"], "Amount": debited["Amount"] - fees["Amount"]},
            Status="CREATED",
            ResultCode=None,
            ResultMessage=None,
            ExecutionDate=None,
            Type="PAYOUT",
            Nature="REGULAR",
            CreditedWalletId=None,
            DebitedWalletId=wallet["Id"],
            PaymentType="BANK_WIRE",
            BankAccountId=account["Id"],
            BankWireRef=reference,
            ModeRequested=body.get("PayoutModeRequested"),
            ModeApplied="PENDING_RESPONSE",
            FallbackReason=None,
            EndToEndId=uuid.uuid4().hex,
            PaymentRef=None,
            RecipientVerificationOfPayee=None,
            RecipientId=None,
        )
        self._event("PAYOUT_NORMAL_CREATED", payout["Id"])
        if account["_kind"] == "bankaccount" and account["CreationDate"] >= BANK_ACCOUNTS_END:
            self._fail(payout, BANK_ACCOUNT_RETIRED, "PAYOUT_NORMAL_FAILED")
        elif author["UserCategory"] != "OWNER" or author["KYCLevel"] != "REGULAR":
            self._fail(payout, PAYOUT_KYC, "PAYOUT_NORMAL_FAILED")
        elif wallet["Balance"]["Amount"] < debited["Amount"]:
            self._fail(payout, BALANCE, "PAYOUT_NORMAL_FAILED")
        else:
            wallet["Balance"]["Amount"] -= debited["Amount"]
        return self._public(payout)

    # ------------------------------------------------------------------ KYC

    def _idv_create(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        user = self._get("user", oid)
        self._required(body, "ReturnUrl")
        if user["UserCategory"] != "OWNER":
            raise _param(
                "Identity verification can only be requested for an OWNER user",
                UserCategory="the user must be an OWNER",
            )
        idv = self._new(
            "identityverification",
            Tag=self._tag(body),
            UserId=oid,
            ReturnUrl=body["ReturnUrl"],
            Status="PENDING",
            UpdateDate=self._now(),
            Checks=None,
        )
        idv["HostedUrl"] = f"{self.base}/_sim/kyc-page/{idv['Id']}"
        self._event("IDENTITY_VERIFICATION_PENDING", idv["Id"])
        return self._public(idv)

    # ------------------------------------------------------------------ events, client

    def _events_list(self, args: Any) -> Any:
        """GET /events: the events of one EventType (required: list-events.mdx), within their 45 days."""
        self._sweep()
        kind = str(args.get("EventType") or "")
        if not re.fullmatch(r"[A-Z_]+", kind):
            raise _param(
                "One or several required parameters are missing or incorrect",
                EventType="one EventType (the list of event types)",
            )
        oldest = self._now() - int(EVENT_RETENTION.total_seconds())
        rows = [e for e in self.events if e["EventType"] == kind and e["Date"] > oldest]
        try:
            if args.get("AfterDate"):
                rows = [e for e in rows if e["Date"] > int(args["AfterDate"])]
            if args.get("BeforeDate"):
                rows = [e for e in rows if e["Date"] < int(args["BeforeDate"])]
        except ValueError:
            raise _param("AfterDate and BeforeDate are unix timestamps") from None
        return self._page(rows, args, sort_field="Date", default="DESC")

    def _client(self, _args: Any) -> dict[str, Any]:
        return {
            "ClientId": self.client_id,
            "Name": "paybot emulator",
            "PlatformURL": None,
            "Licensor": None,
            "PrimaryThemeColour": None,
            "PrimaryButtonColour": None,
            "Logo": None,
            "TechEmails": [],
            "AdminEmails": [],
            "FraudEmails": [],
            "BillingEmails": [],
            "PlatformDescription": None,
            "PlatformCategorization": None,
            "HeadquartersAddress": None,
            "HeadquartersPhoneNumber": None,
            "TaxNumber": None,
        }

"""The Mangopay provider: paybot's payment port on Mangopay, a licensed e-money institution (friends paying
friends: wallets and wallet-to-wallet transfers).

The model. Each X user who sends or receives gets a Natural User (kept by X id, table mangopayuser) and
one wallet per currency. A payment is a pay-in from the sender's saved card into the sender's own wallet,
then a Transfer from that wallet to the recipient's when the recipient can receive (PAID). Anyone else's
money stays in the sender's wallet (HELD, the reference being the pay-in's id): a CLAIM makes the recipient
an OWNER (Mangopay's terms accepted) and opens Mangopay's hosted identity verification; once their KYC
level is REGULAR (Mangopay refuses transfers to unverified Owners, 002951) `release` is that Transfer. Held
money that goes back is a refund of the pay-in: the money returns to the card it came from, not to the
sender's wallet, where only the sender's CASHOUT would ever move it (a balance nobody asked for would be
money forgotten).
An operator's refund of delivered money first refunds the Transfer (recipient's wallet back to the
sender's), then the pay-in.

Saving a card (REGISTER): a Card Registration, then a recurring pay-in registration per currency, then
recurring card pay-ins: the first a customer-initiated transaction (CIT: 3DS may ask the cardholder on
their bank's page), the next merchant-initiated (MIT, without them). Chosen over the Web Card PayIn because
paybot charges when a DM says YES, with nobody on a page: a Web Card PayIn is a one-off payment on a hosted
page each time and leaves no card that MITs can use; only a recurring registration lets later pay-ins run
off-session. Mangopay hosts no card-saving page, so REGISTER links to MANGOPAY_CARD_PAGE_URL, the
operator's page running Mangopay's Vault SDK on the registration ("{id}" in the URL); the adapter reads the
registration back to learn the card (there is no event for it). The CIT carries placeholder browser data:
a bot has no browser of its payer, and issuers may challenge more often for it.

Approvals (NEEDS_AUTH, the URL in `PayResult.url`):
- 3DS: a CIT that waits on `SecureModeRedirectURL`; an MIT the issuer refuses puts the registration in
  AUTHENTICATION_NEEDED and a new CIT is made (key `<pay key>#cit`). The PAYIN_NORMAL_SUCCEEDED event then
  leads to the Transfer, and a PAID event; PAYIN_NORMAL_FAILED (page lapsed) to AUTH_LAPSED.
- SCA: a sender who is an OWNER paying another OWNER must approve the Transfer on Mangopay's page
  (`ScaContext` USER_PRESENT, `PendingUserAction.RedirectUrl`, sent with paybot's percent-encoded `returnUrl`,
  valid 10 minutes); it stays CREATED until then; an Owner who has not enrolled in SCA cannot (002704), so
  their payment is refused before any charge.
  TRANSFER_NORMAL_SUCCEEDED says PAID; a lapsed one (TRANSFER_NORMAL_FAILED) has its pay-in refunded to the
  card (key `<pay key>#lapse`) and says AUTH_LAPSED. Releasing held money from an OWNER sends USER_NOT_PRESENT,
  which Mangopay refuses without the sender's proxy consent (not managed here): that money stays held and
  goes back when the claim window ends.
Mangopay's hosted 3DS and SCA pages close by themselves after minutes, and no call closes one early.

Idempotency. Every POST carries an Idempotency-Key: `idempotency_key(name)`, a UUIDv5 of a name built
from paybot's key (`pay:<root>:<sender>:<recipient>` for the pay-in, `#transfer`, `#cit`, `#lapse` after it
for the steps it leads to; `release:...`, `return:...`, `refund:...` as they are) or from the X user
(`user:<x id>`, `wallet:<x id>:<currency>`, ...). Every transaction's Tag carries paybot's key (JSON:
the key, the pay-in it belongs to, and for a pay-in its recipient, memo digest and route), so:
- a retry POSTs again; Mangopay blocks a second use of a key for 24 hours with a 409, and the first answer
  is read from `GET /responses/{key}`: the pay-in or transfer first made, never a second one;
- a first answer that was a 5xx (work done or not) or unreadable is settled by looking the transaction up
  by its Tag among the user's transactions; found, it is the answer; not found, the step is POSTed again
  under the next key of its name (`<name>~1`, ...), the same way after a crash;
- past 24 hours the service calls `lookup` instead of `pay`, which reads by Tag and POSTs nothing that
  the Tag shows was made.
A key reused with another amount, recipient or memo is an IdempotencyError (the stored transaction says so).
The route (transfer or hold) is decided once, written in the pay-in's Tag, and kept by every retry.

Events (`GET /events`, oldest first, after the last date read) are hints: each names a resource, which is
read before anything is concluded. Translated: PAYIN_NORMAL_SUCCEEDED/FAILED of a 3DS pay-in,
TRANSFER_NORMAL_SUCCEEDED/FAILED of an SCA transfer, PAYIN_REFUND_SUCCEEDED (REFUNDED), USER_KYC_REGULAR
(ACCOUNT_READY); saved cards are learnt by reading the open Card Registrations (CARD_SAVED).

Cash-outs (CASHOUT by DM: `cash_out`). A user's wallet is paid out to their bank account by a bank wire payout
(`POST /payouts/bankwire`: the whole balance less what must stay, Fees 0, `BankWireRef` "paybot", the Tag carrying
paybot's key `cashout:<DM event id>`, the Idempotency-Key mapped from it as for every POST). Mangopay pays out only
to a verified Owner (KYC level REGULAR): anyone else gets the hosted identity verification link, as CLAIM gives.
Payouts go to Recipients (Mangopay refuses them to Bank Accounts created after 30 April 2026, ResultCode 121018).
Mangopay hosts no page for bank details and paybot never takes them by DM, so a user without an ACTIVE payout
Recipient in the currency gets a single-use link (PAYBOT_LINK_TTL) to paybot's cash-out account page
(bot.web.recipient_pages: the form Mangopay's Recipient schema describes for the country and currency, checked with
POST /users/{id}/recipients/validate, then POST /users/{id}/recipients, PENDING until the person passes the SCA
session the page sends them to, with its encoded returnUrl back to a page that reads the Recipient: ACTIVE, or
CANCELED); without paybot's pages (PAYBOT_WEB_URL, PAYBOT_LINK_SECRET) the user is told cash-outs are not available
(MANGOPAY_BANK_PAGE_URL, the operator's own page, is gone). The
newest ACTIVE payout Recipient of the user in the currency (`GET /users/{id}/recipients`) is paid.
Before anything else, a payout already made under the key is looked for by its Tag among the user's payouts, so a
crash after the POST, a lost answer or a key Mangopay forgot (24 hours) answers that payout, never a second one; a
5xx is settled the same way, a 409 by the stored first answer. A sender's wallet also holds their money still on
its way or held for a recipient: the service names it (`keep`) and it is not paid out. The bank account's number is
read from Mangopay's answer only to keep its last four characters for the DM: it is never stored or logged.
A 121018 refusal (a payout made to a legacy Bank Account) is told as "the bank account must be registered again".
PAYOUT_NORMAL_SUCCEEDED/FAILED events are read from the
payout itself (PAYOUT_SUCCEEDED, PAYOUT_FAILED: the money is back in the wallet).

People. Mangopay's users are made from what the person gave on paybot's identity page (`bot.identity`, read
through the `People` port of bot.providers.mangopay_people): names, e-mail and, for an Owner, birthday,
nationality, country of residence and address. Who gave nothing (or not what an Owner needs) is answered with a
link to that page (REGISTER, CLAIM, CASHOUT) and nothing is sent to Mangopay: never a placeholder. The SCA links
paybot sends (enrolment, wallet access) return the person to paybot's return pages, which read what happened.

Calls go through the official SDK's `APIRequest` (OAuth token cache, headers, error parsing) on one
explicit handler: the SDK's model helpers fall back to a process-wide default handler (Mangopay's real
sandbox) in several calls, which an emulator run must never reach. The SDK's own logger is kept quiet: at
DEBUG it logs request headers, the bearer token among them. Money is integer minor units throughout.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from mangopay.api import APIRequest
from mangopay.exceptions import APIError
from sqlmodel import SQLModel, col, select

from bot import links
from bot.config import parse_duration
from bot.domain import CARD, IDENTITY, CardStep, IdentityStep, card_step, identity_step
from bot.errors import IdempotencyError, ProviderError, ProviderTransient, ScaRequired, Undeliverable
from bot.identity import Identity
from bot.money import Money
from bot.ports import (
    NO_ACCOUNTS,
    CashOut,
    CashOutOutcome,
    Clock,
    EventKind,
    Onboarding,
    PayoutAccounts,
    PayOutcome,
    PayResult,
    ProviderEvent,
    ProviderPayment,
    Registration,
    Settled,
)
from bot.providers.mangopay_people import ENROLLED, PAY, RECEIVE, RECIPIENT, WALLET, NoPages, PagesDesk, People
from bot.repo.engine import UnitOfWork, database_url, make_engine
from bot.repo.port import Store
from bot.repo.rows import MangopayUser

log = logging.getLogger(__name__)

# One namespace for every Idempotency-Key paybot sends to Mangopay (a fixed UUID: the mapping never changes).
KEY_NAMESPACE = uuid.UUID("6f1d8f38-3a52-5b7e-9c1e-6d0c1b7a9e42")
MAX_GENERATIONS = 4  # keys tried for one step whose earlier attempts failed without a transaction
LIST_PAGES = 20  # pages of 100 read at most by one listing
# Wallet access (a wallet, a user's wallets or transactions) by an Owner who is there (they asked: CASHOUT). Reads
# made without them send no ScaContext: paybot holds no proxy consent (USER_NOT_PRESENT), so such a read of an Owner
# works only within 180 days of their last wallet-access SCA, and otherwise is ScaRequired (never a retry loop).
PRESENT = "USER_PRESENT"
NOT_ENROLLED = "002704"
# Since 2026-06-24 a pay-in credited to an unverified Owner's wallet fails (002951): a sender's pay-in goes to their own
# wallet, so an Owner who has not finished their identity check cannot pay (a Payer can: docs/providers/mangopay.md).
NOT_VERIFIED = "002951"  # an Owner who has not enrolled in SCA cannot author a transfer that needs it
BROWSER = {
    "AcceptHeader": "text/html",
    "JavaEnabled": False,
    "JavascriptEnabled": True,
    "Language": "en",
    "ColorDepth": 24,
    "ScreenHeight": 800,
    "ScreenWidth": 400,
    "TimeZoneOffset": 0,
    "UserAgent": "paybot (payment confirmed by direct message on X)",
}
# Result codes whose words the sender may read (never Mangopay's raw message or card data).
DECLINE_WORDS = {
    "101101": "declined by the bank",
    "101102": "the card does not take this kind of payment",
    "101103": "the card is not active",
    "101104": "the card's spending limit was reached",
    "101105": "the card has expired",
    "101106": "the card is not active",
    "101399": "the bank wants the payment approved",
    "101304": "not approved in time",
    "001001": "insufficient funds in the wallet",
    "007101": "not approved",
    "007102": "not approved in time",
    NOT_ENROLLED: "your payment account is not secured yet: DM CLAIM for the link",
    NOT_VERIFIED: "your identity check is not finished yet: DM CLAIM for the link",
}
# Mangopay closes its hosted payment pages after 15 minutes (its documentation of error 101109); the DM with a
# 3DS link says so, since a later approval comes too late.
APPROVAL_PAGE_LIFETIME = timedelta(minutes=15)
# An SCA session (enrolment, a transfer's approval, wallet access) is valid 10 minutes (guides/sca/session.mdx,
# step 6; a lapsed transfer is FAILED 007102, guides/sca/transfers.mdx): the DM with such a link says 10.
SCA_SESSION_LIFETIME = timedelta(minutes=10)
REGISTRATION_MAX_AGE = timedelta(hours=24)  # a card page not completed within it is no longer read
CARDS_PER_POLL = 20  # open card registrations read per poll, in turn
# A recurring registration serves 99 pay-ins, CITs and MITs alike (errors/codes/205001.mdx): past this many, the
# next payment starts a new one, leaving one pay-in of the old for a CIT the issuer may still ask on it.
RENEW_AFTER = 97
DEFAULT_DECLINE = "declined by the bank"
# A transfer that failed for these reasons was refused (the recipient cannot receive), not left unapproved.
REFUSED_TRANSFER = {"002951", "002702", "001001"}
# The event types paybot reads, one request each; events of one second are translated in this order (causes first).
EVENT_TYPES = (
    "PAYIN_NORMAL_SUCCEEDED",
    "PAYIN_NORMAL_FAILED",
    "TRANSFER_NORMAL_SUCCEEDED",
    "TRANSFER_NORMAL_FAILED",
    "PAYIN_REFUND_SUCCEEDED",
    "USER_ACCOUNT_ACTIVATED",
    "USER_KYC_REGULAR",
    "PAYOUT_NORMAL_SUCCEEDED",
    "PAYOUT_NORMAL_FAILED",
    "PAYOUT_REFUND_SUCCEEDED",
)
# Why a bank sent a payout back (a payout Refund's RefundReason.RefusedReasonType, guides/payouts/rejects-returns.mdx),
# in words the user may read.
RETURN_WORDS = {
    "BANKACCOUNT_HAS_BEEN_CLOSED": "the bank account is closed",
    "AC06_BLOCKED_BANKACCOUNT": "the bank account cannot take it",
    "AG01_FORBIDDEN_TRANSACTION": "the bank account cannot take it",
    "BANKACCOUNT_INCORRECT": "the account details are wrong",
    "RC01_INVALIDE_BIC": "the account details are wrong",
}
DEFAULT_RETURN = "the bank sent it back"
# Payouts: the reference on the user's bank statement (Mangopay recommends at most 12 characters), and Mangopay's
# refusals in words the user may read. (A link to the bank-account page works PAYBOT_LINK_TTL, once.)
BANK_WIRE_REF = "paybot"
KYC_LIMIT = "a limit of your verified account was reached"
PAYOUT_WORDS = {
    "002996": KYC_LIMIT,
    "002997": KYC_LIMIT,
    "002998": KYC_LIMIT,
    "002999": KYC_LIMIT,
    "130003": KYC_LIMIT,
    "001001": "your balance changed meanwhile",
    "121018": "the bank account must be registered again",
    "121001": "the bank refused the transfer",
}
DEFAULT_PAYOUT_REFUSAL = "the payment provider refused it"
CASHOUT_PREFIX = "cashout:"
# Events: Mangopay keeps them 45 days (data-availability-periods.mdx); allows 2,300 calls in 15 minutes
# (rate-limiting.mdx), of which the events poll leaves EVENTS_RESERVE to payments; EVENT_PAGES pages a type a poll.
EVENT_RETENTION = timedelta(days=45)
EVENTS_RESERVE = 300
EVENT_PAGES = 3  # paybot's cash-out keys (bot.app.cashout.cashout_key)


ACCOUNT_GONE = "the bank account you confirmed is no longer active; DM CASHOUT again"
HELD_FOR_OTHERS = "payments you sent are still waiting for their recipients; cash out once they are claimed or returned"


class IdentityNeeded(ProviderError):
    """The person has not given paybot what Mangopay needs of them (`purpose`: "pay", names and e-mail; "receive",
    an Owner's too): nothing was sent to Mangopay; `url` (None: no pages served) is the identity page's link."""

    def __init__(self, purpose: str, url: str | None) -> None:
        super().__init__(f"the identity page ({purpose}) must be filled in first")
        self.purpose, self.url = purpose, url


def _birthday(who: Identity) -> int:
    """An identity's birthday as Mangopay's Birthday: unix seconds of that day's midnight, UTC (Birthday's field
    page: "a Unix timestamp in UTC", so that midnight is not read as the day before)."""
    if who.birthday is None:  # cannot happen: said so, rather than an assert that -O removes
        raise RuntimeError("who.birthday is missing")
    return int(datetime(who.birthday.year, who.birthday.month, who.birthday.day, tzinfo=UTC).timestamp())


def _address(who: Identity) -> dict[str, Any] | None:
    """An identity's postal address as Mangopay's Address (optional for a Natural user; sent when known)."""
    if who.address is None:
        return None
    a = who.address
    return {
        "AddressLine1": a.line1,
        "AddressLine2": a.line2,
        "City": a.city,
        "Region": a.region,
        "PostalCode": a.postal_code,
        "Country": a.country,
    }


def _balance(wallet: dict[str, Any]) -> int:
    """A wallet's balance in minor units (0 when Mangopay said nothing of it)."""
    return int((wallet.get("Balance") or {}).get("Amount") or 0)


def idempotency_key(name: str) -> str:
    """The Idempotency-Key paybot sends for a named step: a UUIDv5 (36 characters, letters, digits, dashes)."""
    return str(uuid.uuid5(KEY_NAMESPACE, name))


def _digest(memo: str | None) -> str:
    return hashlib.sha256((memo or "").encode()).hexdigest()[:12]


def _tag(**fields: str) -> str:
    return json.dumps(fields, separators=(",", ":"), sort_keys=True)


def _read_tag(obj: dict[str, Any] | None) -> dict[str, str]:
    try:
        tag = json.loads((obj or {}).get("Tag") or "")
    except ValueError:
        return {}
    return tag if isinstance(tag, dict) else {}


def _amount(obj: dict[str, Any], name: str = "DebitedFunds") -> tuple[int, str]:
    funds = obj.get(name) or {}
    return int(funds.get("Amount") or 0), str(funds.get("Currency") or "")


class MangopayProvider:
    """The payment port on Mangopay; see the module docstring."""

    name = "mangopay"
    min_charge: dict[str, int] = {}  # noqa: RUF012 (read only: Mangopay sets no per-currency floor paybot knows)

    def __init__(
        self,
        handler: APIRequest,
        uow: UnitOfWork,
        clock: Clock,
        *,
        card_page_url: str,
        return_url: str = "https://x.com/messages",
        currency: str = "USD",
        retries: int = 2,
        link_secret: str | None = None,
        link_lifetime: timedelta = links.DEFAULT_LIFETIME,
        people: People | None = None,
    ) -> None:
        self.handler = handler
        self.uow = uow
        self.clock = clock
        self.card_page_url = card_page_url
        self._cards_polled_after = ""  # the user whose open registration the last poll read last (in turn)
        # The key its links are signed with (PAYBOT_LINK_SECRET's, bot.links); without it, no link is made.
        self.link_key = links.link_key(link_secret) if link_secret else None
        self.link_lifetime = link_lifetime  # how long a link to the card page works (PAYBOT_LINK_TTL)
        self.return_url = return_url
        # REGISTER sends paybot's own card page (bot.web.card_page; bot.bootstrap sets it when PAYBOT_WEB_URL is
        # set), whose link the service makes; False: the operator's page, MANGOPAY_CARD_PAGE_URL.
        self.own_card_page = False
        # Who people are (the identity page's record) and links to paybot's pages (bot.providers.mangopay_people).
        self.people: People = people or NoPages()
        self.currency = currency.upper()  # the card registration's currency (the operator's default)
        self.retries = retries
        self._rate_left: int | None = None  # calls left in Mangopay's 15-minute window, as its last answer said
        # The SDK logs request headers (the bearer token among them) at DEBUG and whole requests at ERROR:
        # the adapter logs its own words instead.
        logging.getLogger("mangopay").setLevel(logging.CRITICAL)

    @classmethod
    def from_settings(cls, settings: Any, clock: Clock, store: Store | None = None) -> MangopayProvider:
        """The provider the settings describe (ConfigError for a missing or unannounced live setting). Its
        records live in DATABASE_URL when set, else in their own SQLite file (MANGOPAY_DB_PATH); people's
        identities and page links in paybot's store (`store`, else one on DATABASE_URL or PAYBOT_DB_PATH)."""
        client, key, base = settings.require_mangopay()
        handler = APIRequest(
            client_id=client,
            apikey=key,
            api_url=base + "/v2.01/",
            api_sandbox_url=base + "/v2.01/",
            sandbox=False,
            timeout=30.0,
        )
        handler._session.trust_env = False  # no proxy variable captures a request with the bearer token
        engine = make_engine(database_url(settings.database_url, settings.mangopay_db_path), create_tables=False)
        SQLModel.metadata.create_all(engine, tables=[SQLModel.metadata.tables["mangopayuser"]])
        return cls(
            handler,
            UnitOfWork(engine),
            clock,
            card_page_url=settings.mangopay_card_page_url or "",
            return_url=settings.mangopay_return_url,
            currency=settings.paybot_currency,
            retries=settings.mangopay_max_network_retries,
            link_secret=settings.paybot_link_secret.get_secret_value() if settings.paybot_link_secret else None,
            link_lifetime=parse_duration(settings.paybot_link_ttl),
            people=PagesDesk.from_settings(settings, clock, store),
        )

    def close(self) -> None:
        self.uow.engine.dispose()
        close = getattr(self.people, "close", None)
        if close is not None:
            close()

    # ------------------------------------------------------------------ HTTP through the SDK

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, key: str | None = None, **params: Any
    ) -> tuple[int, Any, Any]:
        """(status, JSON body, headers) of one call; APIError for what the SDK calls an error (>= 400 but
        404, and no connection). A refused token (401) is dropped from the SDK's cache and asked once more."""
        for attempt in range(2):
            try:
                result = self.handler.request(method, path, data=body, idempotency_key=key, **params)
            except APIError as err:
                self._note_rate(getattr(err, "headers", None) or {})
                sca = _wallet_sca_link(err)
                if sca is not None:  # an Owner's wallet wants their SCA: not the credentials; never asked again here
                    raise ScaRequired(sca) from None
                if err.code == 401 and attempt == 0:
                    self.handler.auth_manager.set_token(None)  # expired or revoked: a new token, once
                    continue
                raise
            if not isinstance(result, tuple):
                raise ProviderError("Mangopay: an answer that is not JSON")
            response, data = result
            self._note_rate(response.headers)
            return int(response.status_code), data, response.headers
        raise AssertionError("unreachable")

    def _note_rate(self, headers: Any) -> None:
        """Keeps the calls left in Mangopay's 15-minute window (the first of X-RateLimit-Remaining's values)."""
        left = str(headers.get("X-RateLimit-Remaining") or "").split(",")[0].strip()
        if left.isdigit():
            self._rate_left = int(left)

    def _get(self, path: str, **params: Any) -> dict[str, Any] | None:
        """One resource, None when Mangopay has no such thing (404)."""
        status, data = self._call(lambda: self._request("GET", path, **params))[:2]
        return None if status == 404 else dict(data or {})

    def _call(self, fn: Callable[[], tuple[int, Any, Any]]) -> tuple[int, Any, Any]:
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except APIError as err:
                if err.code is None and attempt < self.retries:
                    continue  # no answer: a GET may simply be asked again
                raise _translate(err) from None
        raise AssertionError("unreachable")

    def _list(self, path: str, *, pages: int = LIST_PAGES, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a Mangopay list, page by page (100 a page, at most `pages` pages)."""
        for page in range(1, pages + 1):
            status, data, headers = self._call(partial(self._request, "GET", path, page=page, per_page=100, **params))
            if status == 404:
                return
            yield from data or []
            if page >= int(headers.get("X-Number-Of-Pages") or 1):
                return

    def _post(
        self, name: str, path: str, body: dict[str, Any], find: Callable[[], dict[str, Any] | None] | None = None
    ) -> dict[str, Any]:
        """POST a step once: its resource, whether made now, by an earlier attempt (the stored answer of a
        409), or found by its Tag. Refused (4xx) is ProviderError; not knowable now is ProviderTransient."""
        for generation in range(MAX_GENERATIONS):
            key = idempotency_key(name if generation == 0 else f"{name}~{generation}")
            status, data = self._post_key(key, path, body)
            if status is not None and status < 400:
                return dict(data)
            if status is not None and 400 <= status < 500 and status != 429:
                raise _refused(status, data)
            # A 5xx (the work may have been done before it failed) or a blocked key whose answer is such a
            # 5xx: the transaction's Tag says whether it exists.
            if status == 429:
                raise ProviderTransient("Mangopay is rate limiting (429); will retry")
            found = find() if find is not None else None
            if found is not None:
                return found
            # Not made: the step runs again under the next key of its name (a user or a wallet without a
            # Tag to find may then be made twice, which costs nothing; money steps always have a finder).
        raise ProviderTransient(f"Mangopay failed {MAX_GENERATIONS} times for {name.split(':')[0]}; will retry")

    def _post_key(self, key: str, path: str, body: dict[str, Any]) -> tuple[int | None, Any]:
        """(status, body) of the first request made with `key`: this one, or the stored answer after a 409.
        ProviderTransient while it cannot be known (no answer, the first still running)."""
        for attempt in range(self.retries + 1):
            try:
                status, data, _ = self._request("POST", path, body, key=key)
                return status, data
            except APIError as err:
                if err.code == 409:
                    return self._stored(key)
                if err.code is None:  # no answer: the request may have been done; asking again is safe
                    if attempt < self.retries:
                        continue
                    raise ProviderTransient("Mangopay did not answer; will retry with the same key") from None
                if err.code >= 500 or err.code == 429:
                    return err.code, err.content
                if err.code == 401:
                    raise _translate(err) from None
                return err.code, err.content
        raise AssertionError("unreachable")

    def _stored(self, key: str) -> tuple[int | None, Any]:
        """The first answer given under a key that Mangopay now blocks (409)."""
        status, data, _ = self._call(lambda: self._request("GET", f"/responses/{key}"))
        if status == 404 or not isinstance(data, dict) or not str(data.get("StatusCode", "")).isdigit():
            # the first request is still running (or its answer was not kept): nothing is known yet
            raise ProviderTransient("Mangopay is still processing the first request with this key")
        return int(data["StatusCode"]), data.get("Resource")

    # ------------------------------------------------------------------ records

    def _row(self, user_id: str) -> MangopayUser:
        with self.uow() as s:
            return s.get(MangopayUser, user_id) or MangopayUser(user_id=user_id, updated_at=self.clock.now())

    def _save(self, user_id: str, **fields: Any) -> MangopayUser:
        """Change the user's row; its card and identity registrations move only as their lifecycles allow
        (IllegalTransition otherwise, and nothing is saved)."""
        with self.uow() as s:
            row = s.get(MangopayUser, user_id) or MangopayUser(user_id=user_id, updated_at=self.clock.now())
            card, identity = _card_step(row), _identity_step(row)
            for name, value in fields.items():
                setattr(row, name, value)
            CARD.became(card, _card_step(row))
            IDENTITY.became(identity, _identity_step(row))
            row.updated_at = self.clock.now()
            s.add(row)
            s.commit()
            return row

    def _by_mangopay_id(self, mangopay_user_id: str) -> MangopayUser | None:
        with self.uow() as s:
            return s.exec(select(MangopayUser).where(MangopayUser.mangopay_user_id == mangopay_user_id)).first()

    def user(self, user_id: str) -> str:
        """The X user's Natural User id, created (once, as a PAYER) the first time, with the name and e-mail they
        gave on the identity page (and, when they gave it, their address); IdentityNeeded when they gave none."""
        row = self._row(user_id)
        if row.mangopay_user_id:
            return row.mangopay_user_id
        who = self._identity(user_id, PAY)
        body: dict[str, Any] = {
            "FirstName": who.first_name,
            "LastName": who.last_name,
            "Email": who.email,
            "UserCategory": "PAYER",
            # They accepted Mangopay's terms on the identity page (shown with their link; the time is stored).
            "TermsAndConditionsAccepted": True,
            "Tag": _tag(x_user=user_id),
        }
        address = _address(who)
        if address is not None:
            body["Address"] = address
        made = self._post(f"user:{user_id}", "/sca/users/natural", body)
        self._save(user_id, mangopay_user_id=str(made["Id"]))
        return str(made["Id"])

    def _identity(self, user_id: str, purpose: str) -> Identity:
        """What the person gave on the identity page, enough for `purpose` ("receive": an Owner's birthday,
        nationality, residence and address too); else IdentityNeeded with a new link to that page."""
        who = self.people.identity(user_id)
        if who is not None and (purpose == PAY or who.can_receive):
            return who
        raise IdentityNeeded(purpose, self.people.link(purpose, user_id))

    def wallet(self, user_id: str, currency: str) -> str:
        """The user's wallet in `currency`, created (once) the first time."""
        owner = self.user(user_id)
        wallets = json.loads(self._row(user_id).wallets)
        if currency in wallets:
            return str(wallets[currency])
        made = self._post(
            f"wallet:{user_id}:{currency}",
            "/wallets",
            {"Owners": [owner], "Description": f"paybot {currency}", "Currency": currency, "Tag": _tag(x_user=user_id)},
        )
        wallets[currency] = str(made["Id"])
        self._save(user_id, wallets=json.dumps(wallets, sort_keys=True))
        return str(made["Id"])

    # ------------------------------------------------------------------ people

    def has_card(self, user_id: str) -> bool:
        return self._card(user_id) is not None

    def _card(self, user_id: str) -> str | None:
        """The saved card; reads the registration when a card page was opened and not reported yet."""
        row = self._row(user_id)
        if row.card_id or not row.card_registration_id:
            return row.card_id
        reg = self._get(f"/cardregistrations/{row.card_registration_id}")
        if reg is None:
            return None
        if reg.get("Status") == "CREATED":
            made = datetime.fromtimestamp(int(reg.get("CreationDate") or 0), UTC)
            if self.clock.now() - made > REGISTRATION_MAX_AGE:
                self._save(user_id, card_registration_id=None)  # never completed: no longer read (REGISTER again)
            return None
        if reg.get("Status") != "VALIDATED" or not reg.get("CardId"):
            self._save(user_id, card_registration_id=None)  # refused on the page: REGISTER again
            return None
        card = str(reg["CardId"])
        self._save(user_id, card_id=card, card_registration_id=None)
        try:
            # Made now, while the card is fresh: Mangopay makes a recurring registration only on a card VALID or
            # registered less than 24 hours ago (guides/payment-methods/card/recurring/how-to.mdx). Every pay-in
            # sends its own amount; this one is the registration's placeholder.
            self._recurring(
                user_id, str(reg["UserId"]), card, self.wallet(user_id, self.currency), Money(0, self.currency)
            )
        except ProviderError as err:  # made at the first payment instead (if still in time)
            log.warning("could not make the recurring registration of user %s's new card: %s", user_id, err)
        return card

    def register(self, user_id: str) -> Registration:
        if self._card(user_id):
            return Registration(already=True)
        if self.people.identity(user_id) is None:
            # Their name and e-mail first, on the identity page ("pay"), whose link the service makes with the DM
            # (a link is a write, and REGISTER is answered inside the DM's transaction). With the operator's own card
            # page (MANGOPAY_CARD_PAGE_URL) no page of paybot's is served: the person is told it failed.
            if self.own_card_page:
                return Registration(page=PAY, valid_for=self.link_lifetime)
            raise IdentityNeeded(PAY, None)
        if self.own_card_page:  # paybot's own card page (bot.web.card_page): it opens the registration
            return Registration(page="card", valid_for=self.link_lifetime)
        owner = self.user(user_id)
        open_one = self._row(user_id).card_registration_id
        if open_one:  # one open registration per user: a new link to the same page, not another registration
            return Registration(url=self._card_page(owner, open_one), valid_for=self.link_lifetime)
        made = self._post(
            f"cardregistration:{user_id}:{self.clock.now().isoformat()}",
            "/cardregistrations",
            {"UserId": owner, "Currency": self.currency, "CardType": "CB_VISA_MASTERCARD", "Tag": _tag(x_user=user_id)},
        )
        self._save(user_id, card_registration_id=str(made["Id"]))
        return Registration(url=self._card_page(owner, str(made["Id"])), valid_for=self.link_lifetime)

    def _card_page(self, owner: str, registration: str) -> str:
        """The link to the operator's card page for this registration: `{id}`, `{user}` (the Mangopay user id),
        and `{token}` signed for both with the link key (bot.links: short-lived, single-use), so a registration
        id alone opens nothing. The registration id is a bearer credential: never logged."""
        url = self.card_page_url.replace("{id}", registration).replace("{user}", owner)
        if "{token}" not in url:
            return url  # an emulator's page set up without links (tests); the settings require {token}
        if self.link_key is None:
            raise ProviderError("the card page's links cannot be signed: PAYBOT_LINK_SECRET is not set")
        expires = int((self.clock.now() + self.link_lifetime).timestamp())
        return url.replace("{token}", links.sign(self.link_key, "card", f"{owner}:{registration}", expires)).replace(
            "{expires}", str(expires)
        )

    def onboard(self, user_id: str, *, holds_for_others: bool = False) -> Onboarding:
        """Make the user an Owner (once) and open Mangopay's identity verification. Not while they hold money for
        others (`holds_for_others`: their payments on their way or held, which sit in their own wallet): an Owner's
        wallet cannot release it without them (SCA), so it would go back unpaid. They are told to wait (`wait`)."""
        if holds_for_others and not self._row(user_id).owner:
            return Onboarding(ready=False, wait=True)
        if not self._row(user_id).owner:
            try:
                who = self._identity(user_id, RECEIVE)  # before anything is made at Mangopay
            except IdentityNeeded as err:
                if err.url is None:  # no page to send them to: the operator's setup (PAYBOT_WEB_URL)
                    raise
                return Onboarding(ready=False, url=err.url, valid_for=self.people.ttl)
        owner = self.user(user_id)
        if not self._row(user_id).owner:
            # The CLAIM is the user's request to hold a Mangopay account, whose terms they accepted on the identity
            # page. Mangopay always answers with an SCA enrolment link: the Owner enrols before anything waits on
            # them. The categorisation sends what categorize-natural-user.mdx requires of an Owner (Birthday,
            # Nationality, CountryOfResidence) and the e-mail the person gave (its SCA confirms it); the postal
            # address went with the user's creation (optional for a Natural user: Address3 has no requirement).
            found = self._get(f"/sca/users/{owner}") or {}
            if found.get("UserCategory") != "OWNER":  # (an earlier attempt may have made them one already)
                made = self._call(
                    lambda: self._request(
                        "PUT",
                        f"/sca/users/natural/{owner}/category",
                        {
                            "UserCategory": "OWNER",
                            "TermsAndConditionsAccepted": True,
                            "Birthday": _birthday(who),
                            "Nationality": who.nationality,
                            "CountryOfResidence": who.residence,
                            "Email": who.email,
                        },
                    )
                )[1]
                self._save(user_id, owner=True)
                link = ((made or {}).get("PendingUserAction") or {}).get("RedirectUrl")
                if link:
                    return Onboarding(
                        ready=False,
                        url=self._sca_link(str(link), user_id, ENROLLED),
                        enrol=True,
                        valid_for=SCA_SESSION_LIFETIME,
                    )
            self._save(user_id, owner=True)
        if self._regular(user_id):
            return Onboarding(ready=True)
        link = self._enrolment(user_id, owner)
        if link is not None:
            return Onboarding(ready=False, url=link, enrol=True, valid_for=SCA_SESSION_LIFETIME)
        session = self._post(
            f"kyc:{user_id}:{self.clock.now().isoformat()}",
            f"/users/{owner}/identity-verifications",
            {"ReturnUrl": self.return_url, "Tag": _tag(x_user=user_id)},
        )
        self._save(user_id, kyc_session_id=str(session["Id"]))
        return Onboarding(ready=False, url=str(session.get("HostedUrl") or ""))

    def _enrolment(self, user_id: str, owner: str) -> str | None:
        """A new SCA enrolment link (with paybot's return URL) when the Owner has not enrolled yet (UserStatus
        PENDING_USER_ACTION); None when they have. Each call opens a new 10-minute session."""
        found = self._get(f"/sca/users/{owner}") or {}
        if found.get("UserStatus") != "PENDING_USER_ACTION":
            return None
        made = self._post(f"enrol:{user_id}:{self.clock.now().isoformat()}", f"/sca/users/{owner}/enrollment", {})
        link = (made.get("PendingUserAction") or {}).get("RedirectUrl")
        if not link:
            raise ProviderTransient("Mangopay gave no SCA enrolment link")
        return self._sca_link(str(link), user_id, ENROLLED)

    def _sca_link(self, redirect_url: str, user_id: str | None = None, page: str | None = None) -> str:
        """Mangopay's SCA RedirectUrl with a return URL appended as `returnUrl`, percent-encoded (Mangopay's page
        cannot send the person back without it: guides/sca/session.mdx, step 3): paybot's return page `page` for
        `user_id` (a single-use link, bot.providers.mangopay_people) when paybot serves pages, else
        MANGOPAY_RETURN_URL. The return page reads what happened from Mangopay (the `controlStatus` Mangopay adds
        is only indicative)."""
        back = (self.people.link(page, user_id) if page and user_id else None) or self.return_url
        return sca_url(redirect_url, back)

    def _enrolled(self, user_id: str) -> bool:
        """Whether the user may author what needs SCA: a PAYER, or an OWNER who completed their SCA enrolment."""
        row = self._row(user_id)
        if not row.owner or row.kyc_regular or row.mangopay_user_id is None:
            return True  # a verified Owner enrolled first (`_regular` wants it)
        found = self._get(f"/sca/users/{row.mangopay_user_id}") or {}
        return found.get("UserStatus") != "PENDING_USER_ACTION"

    def can_receive(self, user_id: str) -> bool:
        return self._regular(user_id)

    def _regular(self, user_id: str) -> bool:
        """An OWNER whose KYC level is REGULAR; asks Mangopay while their verification is pending."""
        row = self._row(user_id)
        if row.kyc_regular:
            return True
        if not (row.owner and row.mangopay_user_id):
            return False
        found = self._get(f"/sca/users/{row.mangopay_user_id}")
        if (
            found
            and found.get("UserCategory") == "OWNER"
            and found.get("KYCLevel") == "REGULAR"
            and found.get("UserStatus") != "PENDING_USER_ACTION"
        ):  # enrolled in SCA, then verified
            self._save(user_id, kyc_regular=True)
            return True
        return False

    # ------------------------------------------------------------------ money

    def pay(
        self,
        *,
        key: str,
        sender_id: str,
        recipient_id: str,
        amount: Money,
        memo: str | None,
        reference: dict[str, str] | None = None,
    ) -> PayResult:
        card = self._card(sender_id)
        row = self._row(sender_id)
        if card is None or row.mangopay_user_id is None:
            return PayResult(PayOutcome.NO_CARD, reason="no saved card")
        if not self._enrolled(sender_id) and self._stored_or_none(key) is None:
            # An Owner who never completed their SCA enrolment cannot approve the transfer (Mangopay refuses it,
            # 002704): nothing is charged; CLAIM or CASHOUT sends them a new enrolment link.
            return PayResult(PayOutcome.DECLINED, reason=DECLINE_WORDS[NOT_ENROLLED])
        if row.owner and not self._regular(sender_id) and self._stored_or_none(key) is None:
            # Mangopay would refuse the pay-in into this unverified Owner's own wallet (002951): nothing is charged.
            return PayResult(PayOutcome.DECLINED, reason=DECLINE_WORDS[NOT_VERIFIED])
        wallet = self.wallet(sender_id, amount.currency)
        route = "direct" if self._regular(recipient_id) else "hold"
        tag = _tag(paybot=key, to=recipient_id, memo=_digest(memo), route=route)
        payin = self._payin(key, sender_id, row.mangopay_user_id, card, wallet, amount, tag)
        first = _read_tag(payin)
        if (
            first.get("paybot") != key
            or _amount(payin) != (amount.minor, amount.currency)
            or first.get("to") != recipient_id
            or first.get("memo") != _digest(memo)
        ):
            raise IdempotencyError(f"key {key} was used with other parameters")
        return self._after_payin(key, sender_id, recipient_id, payin)

    def _payin(
        self, key: str, sender_id: str, author: str, card: str, wallet: str, amount: Money, tag: str
    ) -> dict[str, Any]:
        """The pay-in of `key`: an MIT on the card's recurring registration, or a CIT when the registration
        was never used or the issuer refused the MIT (AUTHENTICATION_NEEDED)."""
        registration = self._recurring(sender_id, author, card, wallet, amount)
        state = self._get(f"/recurringpayinregistrations/{registration}") or {}
        if (
            int((state.get("CurrentState") or {}).get("PayinsLinked") or 0) >= RENEW_AFTER
            and self._stored_or_none(key) is None
        ):
            registration = self._recurring(sender_id, author, card, wallet, amount, renew=registration)
            state = self._get(f"/recurringpayinregistrations/{registration}") or {}
        funds = {"Currency": amount.currency, "Amount": amount.minor}
        mit: dict[str, Any] = {
            "RecurringPayinRegistrationId": registration,
            "DebitedFunds": funds,
            "Fees": {**funds, "Amount": 0},
            "StatementDescriptor": "paybot",
            "Tag": tag,
        }
        cit = {**mit, "SecureModeReturnURL": self.return_url, **self._browser(sender_id)}
        find = self._finder(author, key, "PAYIN")
        first = self._post(
            key, "/payins/recurring/card/direct", mit if state.get("Status") == "IN_PROGRESS" else cit, find
        )
        if first.get("Status") != "FAILED" or first.get("SecureModeReturnURL"):
            return first
        # The MIT was refused: if the issuer wants the cardholder, a CIT (once, under its own key).
        again = self._stored_or_none(f"{key}#cit")
        if again is not None:
            return again
        state = self._get(f"/recurringpayinregistrations/{registration}") or {}
        if state.get("Status") != "AUTHENTICATION_NEEDED":
            return first
        return self._post(
            f"{key}#cit", "/payins/recurring/card/direct", cit, self._finder(author, key, "PAYIN", cit=True)
        )

    def _stored_or_none(self, name: str) -> dict[str, Any] | None:
        """What was first made under the key of `name`, if that key was used (and is kept)."""
        status, data, _ = self._call(lambda: self._request("GET", f"/responses/{idempotency_key(name)}"))
        code = str(data.get("StatusCode", "")) if isinstance(data, dict) else ""
        if status == 404 or not code.isdigit() or int(code) >= 400:
            return None
        resource = data.get("Resource")
        return dict(resource) if isinstance(resource, dict) else None

    def _browser(self, user_id: str) -> dict[str, Any]:
        """A CIT's BrowserInfo and IpAddress: those the person's browser gave on paybot's card page. A card saved
        on the operator's own page (MANGOPAY_CARD_PAGE_URL) left none: the placeholder BROWSER then, which
        issuers may challenge more often."""
        row = self._row(user_id)
        if row.browser_info and row.ip_address:
            return {"BrowserInfo": json.loads(row.browser_info), "IpAddress": row.ip_address}
        return {"BrowserInfo": BROWSER, "IpAddress": "127.0.0.1"}

    def _recurring(
        self, sender_id: str, author: str, card: str, wallet: str, amount: Money, *, renew: str | None = None
    ) -> str:
        """The recurring pay-in registration of this card into this wallet, made once; `renew`: the one in use
        has served RENEW_AFTER pay-ins, and a new one replaces it (its first pay-in a CIT) before Mangopay's
        99 (205001, errors/codes/205001.mdx)."""
        regs = json.loads(self._row(sender_id).recurring)
        slot = f"{amount.currency}:{card}"
        if slot in regs and regs[slot] != renew:
            return str(regs[slot])
        funds = {"Currency": amount.currency, "Amount": amount.minor}
        name = f"recurring:{sender_id}:{slot}" + (f":after:{renew}" if renew else "")
        made = self._post(
            name,
            "/recurringpayinregistrations",
            {
                "AuthorId": author,
                "CardId": card,
                "CreditedUserId": author,
                "CreditedWalletId": wallet,
                "FirstTransactionDebitedFunds": funds,
                "FirstTransactionFees": {**funds, "Amount": 0},
                "Tag": _tag(x_user=sender_id),
            },
        )
        regs[slot] = str(made["Id"])
        self._save(sender_id, recurring=json.dumps(regs, sort_keys=True))
        return str(made["Id"])

    def _after_payin(self, key: str, sender_id: str, recipient_id: str, payin: dict[str, Any]) -> PayResult:
        """What a pay-in leads to: approval, decline, held money, or the transfer to the recipient."""
        ref = str(payin["Id"])
        status = payin.get("Status")
        if status == "CREATED":
            url = payin.get("SecureModeRedirectURL")
            if not url:
                raise ProviderTransient("Mangopay is still processing the pay-in")
            return PayResult(
                PayOutcome.NEEDS_AUTH,
                ref=ref,
                reason="authentication required",
                url=str(url),
                valid_for=APPROVAL_PAGE_LIFETIME,
            )
        if status != "SUCCEEDED":
            return PayResult(PayOutcome.DECLINED, ref=ref, reason=_decline(payin))
        if _read_tag(payin).get("route") != "direct":
            return PayResult(PayOutcome.HELD, ref=ref)
        transfer = self._transfer_for(key, sender_id, recipient_id, payin)
        if transfer.get("Status") == "SUCCEEDED":
            return PayResult(PayOutcome.PAID, ref=ref)
        pending = (transfer.get("PendingUserAction") or {}).get("RedirectUrl")
        if transfer.get("Status") == "CREATED" and pending:
            return PayResult(
                PayOutcome.NEEDS_AUTH,
                ref=ref,
                reason="authentication required",
                url=self._sca_link(str(pending)),
                valid_for=SCA_SESSION_LIFETIME,
                charged=True,
            )
        if transfer.get("Status") == "CREATED":
            raise ProviderTransient("Mangopay is still processing the transfer")
        if str(transfer.get("ResultCode")) == NOT_ENROLLED:
            # The sender (an Owner) has not enrolled in SCA since `pay` looked: the charge goes back to the card.
            self._give_back(key, payin)
            return PayResult(PayOutcome.DECLINED, ref=ref, reason=DECLINE_WORDS[NOT_ENROLLED])
        # Refused (the recipient lost their verification since paybot saw them ready): the money stays held.
        log.warning("transfer of %s refused (%s); the money is held", key, transfer.get("ResultCode"))
        self._save(recipient_id, kyc_regular=False)
        return PayResult(PayOutcome.HELD, ref=ref)

    def _transfer_for(self, key: str, sender_id: str, recipient_id: str, payin: dict[str, Any]) -> dict[str, Any]:
        author = str(payin["AuthorId"])
        amount, currency = _amount(payin, "CreditedFunds")
        body: dict[str, Any] = {
            "AuthorId": author,
            "CreditedUserId": self.user(recipient_id),
            "DebitedFunds": {"Currency": currency, "Amount": amount},
            "Fees": {"Currency": currency, "Amount": 0},
            "DebitedWalletId": payin["CreditedWalletId"],
            "CreditedWalletId": self.wallet(recipient_id, currency),
            "Tag": _tag(paybot=key, payin=str(payin["Id"])),
        }
        if self._row(sender_id).owner:
            body["ScaContext"] = "USER_PRESENT"  # the sender said YES: they approve it on Mangopay's page
        return self._post(f"{key}#transfer", "/transfers", body, self._finder(author, key, "TRANSFER"))

    def _finder(self, author: str, key: str, kind: str, *, cit: bool = False) -> Callable[[], dict[str, Any] | None]:
        """Looks up the author's transaction of this kind whose Tag carries `key` (read whole); `cit`: the
        pay-in made with the cardholder present (a return URL), not the refused MIT before it."""

        def find() -> dict[str, Any] | None:
            for tx in self._list(f"/users/{author}/transactions", Type=kind, Sort="CreationDate:DESC"):
                if _read_tag(tx).get("paybot") == key and tx.get("Nature") == "REGULAR":
                    path = "/payins/" if kind == "PAYIN" else "/transfers/"
                    full = self._get(path + str(tx["Id"])) or dict(tx)
                    if not cit or full.get("SecureModeReturnURL"):
                        return full
            return None

        return find

    def release(self, *, key: str, payment_ref: str, recipient_id: str, amount: Money) -> str:
        if not self._regular(recipient_id):
            raise ProviderError("the recipient cannot receive payments yet")
        payin = self._get(f"/payins/{payment_ref}")
        if payin is None or payin.get("Status") != "SUCCEEDED":
            raise ProviderError(f"no succeeded pay-in {payment_ref}")
        author = str(payin["AuthorId"])
        funds = {"Currency": amount.currency, "Amount": amount.minor}
        body: dict[str, Any] = {
            "AuthorId": author,
            "CreditedUserId": self.user(recipient_id),
            "DebitedFunds": funds,
            "Fees": {**funds, "Amount": 0},
            "DebitedWalletId": payin["CreditedWalletId"],
            "CreditedWalletId": self.wallet(recipient_id, amount.currency),
            "Tag": _tag(paybot=key, payin=payment_ref),
        }
        sender = self._row_of(author)
        if sender is not None and sender.owner:
            # The sender is not there when the recipient claims, and an Owner's transfer made without them
            # (USER_NOT_PRESENT) needs their standing consent, which paybot does not manage: Mangopay would
            # refuse it (403) every time. Asking would only repeat the refusal; the money goes back.
            raise Undeliverable("the sender is a Mangopay Owner: a transfer without them needs their consent")
        transfer = self._post(key, "/transfers", body, self._finder(author, key, "TRANSFER"))
        if (
            transfer.get("Type") != "TRANSFER"
            or transfer.get("Nature") != "REGULAR"
            or _amount(transfer) != (amount.minor, amount.currency)
            or _read_tag(transfer).get("payin") != payment_ref
        ):
            raise IdempotencyError(f"key {key} was used with other parameters")
        if transfer.get("Status") != "SUCCEEDED":
            raise ProviderError(f"Mangopay refused the transfer ({transfer.get('ResultCode')})")
        return str(transfer["Id"])

    def _row_of(self, mangopay_user_id: str) -> MangopayUser | None:
        return self._by_mangopay_id(mangopay_user_id)

    def refund(self, *, key: str, payment_ref: str, amount: Money, keep: int = 0) -> Settled:
        """Money back to the card: held money (a refund of the pay-in), or delivered money (that much taken
        back from the recipient's wallet first, then the pay-in refunded). `amount` may be part of the
        payment; each part has its own key, and beyond what is left Mangopay refuses (ProviderError)."""
        payin = self._succeeded_payin(payment_ref)
        author = str(payin["AuthorId"])
        self._take_back(key, author, payment_ref, amount, keep)
        funds = {"Currency": amount.currency, "Amount": amount.minor}
        refund = self._post(
            key,
            f"/payins/{payment_ref}/refunds",
            {
                "AuthorId": author,
                "DebitedFunds": funds,
                "Fees": {**funds, "Amount": 0},
                "Tag": _tag(paybot=key, payin=payment_ref),
            },
            self._refund_finder(author, key),
        )
        if (
            refund.get("Nature") != "REFUND"
            or refund.get("InitialTransactionId") not in (None, payment_ref)
            or _amount(refund) != (amount.minor, amount.currency)
            or _read_tag(refund).get("paybot") != key
        ):
            raise IdempotencyError(f"key {key} was used with other parameters")
        if refund.get("Status") == "FAILED":
            raise ProviderError(f"Mangopay refused the refund ({refund.get('ResultCode')})")
        return Settled(ref=str(refund["Id"]), pending=refund.get("Status") == "CREATED")

    def reverse(self, *, key: str, payment_ref: str, amount: Money) -> str:
        """Not built on Mangopay: a transfer refund would move the recipient's money into the sender's wallet,
        where nothing in paybot accounts for it (only the sender's CASHOUT would move it), and Mangopay's disputes,
        the reason to reverse, are not handled. The operator refunds the sender instead (`paybot refund`)."""
        raise ProviderError(
            "reversals are not built on Mangopay (the money would sit unseen in the sender's "
            "wallet); use paybot refund to give it back to the sender's card"
        )

    def _succeeded_payin(self, payment_ref: str) -> dict[str, Any]:
        payin = self._get(f"/payins/{payment_ref}")
        if payin is None or payin.get("Status") != "SUCCEEDED":
            raise ProviderError(f"no succeeded pay-in {payment_ref}")
        return payin

    def _take_back(self, key: str, author: str, payment_ref: str, amount: Money, keep: int = 0) -> list[str]:
        """Refund `amount` (at most) of the transfers that delivered this pay-in, newest first, each under
        its own key derived from `key`; returns the transfer refunds' ids. A recipient whose wallet no longer
        holds the part (less `keep`, money it holds for others) is not touched: ProviderError (they cashed
        it out); a take-back an earlier attempt made is not checked again."""
        left, refs = amount.minor, []
        for transfer, kept in self._delivered(author, payment_ref):
            if left <= 0:
                break
            part = min(left, kept)
            made = self._take_back_finder(author, f"{key}#take-back", str(transfer["Id"]))()
            if made is None:
                try:
                    wallet: dict[str, Any] | None = self._get(f"/wallets/{transfer['CreditedWalletId']}") or {}
                except ScaRequired:
                    # The recipient (an Owner) has not opened their account for 180 days and paybot holds no proxy
                    # consent: with nothing they keep for their own payments, Mangopay itself refuses a take-back
                    # beyond their balance (001001), so it goes ahead unread; otherwise their balance is needed.
                    if keep > 0:
                        raise
                    wallet = None
                holds = _balance(wallet) - max(keep, 0) if wallet is not None else part
                if holds < part:
                    raise ProviderError(
                        f"the recipient's wallet holds {max(holds, 0)} of the {part} to take back "
                        "(cashed out, or kept for their own payments)"
                    )
            back = made or self._post(
                f"{key}#take-back:{transfer['Id']}",
                f"/transfers/{transfer['Id']}/refunds",
                {
                    "AuthorId": author,
                    "DebitedFunds": {"Currency": amount.currency, "Amount": part},
                    "Fees": {"Currency": amount.currency, "Amount": 0},
                    "Tag": _tag(paybot=f"{key}#take-back", payin=payment_ref),
                },
                self._take_back_finder(author, f"{key}#take-back", str(transfer["Id"])),
            )
            if back.get("Status") != "SUCCEEDED":
                raise ProviderError(
                    f"Mangopay refused to take back transfer {transfer['Id']} ({back.get('ResultCode')})"
                )
            left -= part
            refs.append(str(back["Id"]))
        return refs

    def _take_back_finder(self, author: str, tag_key: str, transfer_id: str) -> Callable[[], dict[str, Any] | None]:
        """The refund of `transfer_id` made under `tag_key`, if a first attempt made it (its answer was lost)."""

        def find() -> dict[str, Any] | None:
            for tx in self._list(f"/users/{author}/transactions", Nature="REFUND", Sort="CreationDate:DESC"):
                if tx.get("Type") == "TRANSFER" and _read_tag(tx).get("paybot") == tag_key:
                    refund = self._get(f"/refunds/{tx['Id']}") or {}
                    if str(refund.get("InitialTransactionId")) == transfer_id:
                        return refund
            return None

        return find

    def _refund_finder(self, author: str, key: str) -> Callable[[], dict[str, Any] | None]:
        def find() -> dict[str, Any] | None:
            for tx in self._list(f"/users/{author}/transactions", Nature="REFUND", Sort="CreationDate:DESC"):
                if _read_tag(tx).get("paybot") == key:
                    return self._get(f"/refunds/{tx['Id']}") or dict(tx)
            return None

        return find

    def _delivered(
        self, author: str, payment_ref: str, txs: list[dict[str, Any]] | None = None
    ) -> list[tuple[dict[str, Any], int]]:
        """The transfers that moved this pay-in's money to a recipient, each with what was not taken back."""
        transfers, back = [], dict[str, int]()
        for tx in txs if txs is not None else self._list(f"/users/{author}/transactions", Type="TRANSFER"):
            if (
                tx.get("Type") != "TRANSFER"
                or tx.get("Status") != "SUCCEEDED"
                or _read_tag(tx).get("payin") != payment_ref
            ):
                continue
            if tx.get("Nature") == "REGULAR":
                transfers.append(tx)
            elif tx.get("Nature") == "REFUND":
                initial = str((self._get(f"/refunds/{tx['Id']}") or {}).get("InitialTransactionId"))
                back[initial] = back.get(initial, 0) + _amount(tx)[0]
        kept = [(t, _amount(t)[0] - back.get(str(t["Id"]), 0)) for t in transfers]
        return [(t, k) for t, k in reversed(kept) if k > 0]

    # ------------------------------------------------------------------ cash-outs

    def holdings(self) -> list[tuple[str, Money]]:
        """Every non-zero balance of the wallets paybot made (one request per wallet: for wind-down, not ticks)."""
        with self.uow() as s:
            rows = list(s.exec(select(MangopayUser).where(col(MangopayUser.wallets) != "{}")))
        out = []
        for row in rows:
            for currency, wallet in sorted(json.loads(row.wallets).items()):
                try:
                    found = self._get(f"/wallets/{wallet}") or {}
                except ScaRequired:  # an Owner's wallet unread for 180 days: only they can open it (CASHOUT)
                    log.warning(
                        "wind-down: the %s wallet of user %s cannot be read without their SCA; they are "
                        "not told to cash out",
                        currency,
                        row.user_id,
                        extra={"user_id": row.user_id},
                    )
                    continue
                minor = _balance(found)
                if minor:
                    out.append((row.user_id, Money(minor, currency)))
        return out

    def cash_out(
        self,
        *,
        key: str,
        user_id: str,
        currency: str,
        keep: int = 0,
        holds_for_others: bool = False,
        accounts: PayoutAccounts = NO_ACCOUNTS,
    ) -> CashOut:
        """Pay the user's wallet in `currency` (less `keep`) out to their bank account; see the module docstring.
        The user asked (CASHOUT): their wallet is read with them present, and an Owner whose wallet access wants
        their SCA (every 180 days) is answered NEEDS_SCA with the link."""
        try:
            return self._cash_out(
                key=key,
                user_id=user_id,
                currency=currency,
                keep=keep,
                holds_for_others=holds_for_others,
                accounts=accounts,
            )
        except ScaRequired as err:
            return CashOut(
                CashOutOutcome.NEEDS_SCA, url=self._sca_link(err.url, user_id, WALLET), valid_for=SCA_SESSION_LIFETIME
            )
        except IdentityNeeded as err:  # (an Owner-to-be asked first: `onboard` answers with the page)
            return CashOut(CashOutOutcome.NEEDS_KYC, url=err.url)

    def _cash_out(  # noqa: C901
        self,
        *,
        key: str,
        user_id: str,
        currency: str,
        keep: int,
        holds_for_others: bool,
        accounts: PayoutAccounts,
    ) -> CashOut:
        row = self._row(user_id)
        author, wallet = row.mangopay_user_id, json.loads(row.wallets).get(currency)
        if author is None or wallet is None:  # never received (nor sent) in this currency: nothing there
            return CashOut(CashOutOutcome.NOTHING, amount=Money(0, currency))
        made = self._payout_finder(author, key, present=True)()
        if made is not None:  # an earlier attempt made it (its answer lost, a crash, a key Mangopay forgot)
            return self._payout_outcome(key, made)
        found = self._get(f"/wallets/{wallet}", ScaContext=PRESENT) or {}
        available = _balance(found) - max(keep, 0)
        if available <= 0:
            return CashOut(CashOutOutcome.NOTHING, amount=Money(0, currency))
        if not self._regular(user_id):
            # Onboarding makes them an Owner, and an Owner's wallet cannot release what it holds for others
            # (Mangopay's SCA on Owner-to-Owner transfers), in any currency: their held payments would go back unpaid.
            onboarding = self.onboard(user_id, holds_for_others=holds_for_others or keep > 0)
            if onboarding.wait:
                return CashOut(CashOutOutcome.REFUSED, reason=HELD_FOR_OTHERS)
            if onboarding.enrol:
                return CashOut(CashOutOutcome.NEEDS_SCA, url=onboarding.url, valid_for=onboarding.valid_for)
            if not onboarding.ready:  # the identity page, or Mangopay's identity verification
                return CashOut(CashOutOutcome.NEEDS_KYC, url=onboarding.url)
        account = self._recipient(author, currency, accounts)
        if account is None and accounts.pay_to:
            return CashOut(CashOutOutcome.REFUSED, reason=ACCOUNT_GONE)
        if account is None:  # paybot's cash-out account page (bot.web.recipient_pages), by a single-use link
            url = self.people.link(RECIPIENT, user_id)
            if url is None:
                log.warning(
                    "a user asked to cash out and has no payout account, and paybot serves no pages "
                    "(PAYBOT_WEB_URL and PAYBOT_LINK_SECRET)"
                )
            return CashOut(CashOutOutcome.NEEDS_BANK, url=url, valid_for=self.people.ttl if url else None)
        if str(account["Id"]) not in accounts.confirmed and str(account["Id"]) != accounts.pay_to:
            return CashOut(CashOutOutcome.NEW_ACCOUNT, account_ref=str(account["Id"]), last4=_last4(account))
        funds = {"Currency": currency, "Amount": available}
        try:
            payout = self._post(
                key,
                "/payouts/bankwire",
                {
                    "AuthorId": author,
                    "DebitedWalletId": wallet,
                    "DebitedFunds": funds,
                    "Fees": {**funds, "Amount": 0},
                    "BankAccountId": str(account["Id"]),
                    "BankWireRef": BANK_WIRE_REF,
                    "Tag": _tag(paybot=key),
                },
                self._payout_finder(author, key, present=True),
            )
        except ScaRequired:  # looking for the payout after a lost answer: it may exist, so nothing is concluded
            raise ProviderTransient("Mangopay wants the user's SCA to read whether the payout was made") from None
        return self._payout_outcome(key, payout, _last4(account), str(account["Id"]))

    def _payout_outcome(
        self, key: str, payout: dict[str, Any], last4: str | None = None, account_ref: str | None = None
    ) -> CashOut:
        """A payout in the port's words: on its way (CREATED, or already SUCCEEDED: its event says so), or refused."""
        if payout.get("Type") != "PAYOUT" or _read_tag(payout).get("paybot") != key:
            raise IdempotencyError(f"key {key} was used with other parameters")
        minor, currency = _amount(payout)
        amount, ref = Money(minor, currency), str(payout["Id"])
        if payout.get("Status") in ("CREATED", "SUCCEEDED"):
            return CashOut(
                CashOutOutcome.STARTED, amount=amount, ref=ref, last4=last4, account_ref=account_ref or _paid_to(payout)
            )
        log.warning("payout %s refused by Mangopay (%s)", ref, payout.get("ResultCode"))
        return CashOut(CashOutOutcome.REFUSED, amount=amount, ref=ref, reason=_payout_words(payout))

    def _payout_finder(self, author: str, key: str, *, present: bool = False) -> Callable[[], dict[str, Any] | None]:
        """The author's payout whose Tag carries `key` (read whole), if one was made (`present`: the user asked)."""
        context: dict[str, Any] = {"ScaContext": PRESENT} if present else {}

        def find() -> dict[str, Any] | None:
            for tx in self._list(
                f"/users/{author}/transactions", Type="PAYOUT", Nature="REGULAR", Sort="CreationDate:DESC", **context
            ):
                if _read_tag(tx).get("paybot") == key:
                    return self._get(f"/payouts/{tx['Id']}") or dict(tx)
            return None

        return find

    def _recipient(self, author: str, currency: str, accounts: PayoutAccounts) -> dict[str, Any] | None:
        """The Recipient to pay: `accounts.pay_to` if it is still ACTIVE, else (none named) the user's newest ACTIVE
        payout Recipient in `currency` that they did not refuse; None when there is none. Payouts go to Recipients:
        Mangopay refuses them to Bank Accounts created after 30 April 2026 (121018), and its migrated Bank Accounts
        are Recipients too. One still PENDING (its SCA not done) or CANCELED is not used."""
        for account in self._list(f"/users/{author}/recipients", Sort="CreationDate:DESC"):
            if (
                account.get("Status") != "ACTIVE"
                or account.get("RecipientScope", "PAYOUT") != "PAYOUT"
                or account.get("Currency") != currency
                or str(account["Id"]) in accounts.refused
            ):
                continue
            if accounts.pay_to is None or str(account["Id"]) == accounts.pay_to:
                return account
        return None

    # ------------------------------------------------------------------ paybot's pages (bot.web.recipient_pages)

    def payout_currencies(self, user_id: str) -> list[str]:
        """The currencies of the user's wallets (what a cash-out account can be for); [] when they have none."""
        return sorted(json.loads(self._row(user_id).wallets))

    def recipient_schema(self, country: str, currency: str) -> tuple[str, dict[str, Any]]:
        """The payout method for a bank account in `country` taking `currency` (a local transfer where Mangopay
        offers one, else international) and Mangopay's schema of an individual's Recipient for it
        (GET /recipients/payout-methods, then GET /recipients/schema)."""
        methods = self._get("/recipients/payout-methods", Country=country, Currency=currency) or {}
        offered = [str(m) for m in methods.get("AvailablePayoutMethods") or []]
        if not offered:
            raise ProviderError(f"Mangopay offers no payout to {country} in {currency}")
        method = "LocalBankTransfer" if "LocalBankTransfer" in offered else offered[0]
        schema = (
            self._get(
                "/recipients/schema",
                PayoutMethodType=method,
                RecipientType="Individual",
                Currency=currency,
                Country=country,
            )
            or {}
        )
        return method, schema

    def check_recipient(self, user_id: str, body: dict[str, Any]) -> dict[str, str]:
        """Mangopay's refusals of a Recipient's data, field by field (POST .../recipients/validate; {}: it would
        make one). Nothing is created."""
        author = self.user(user_id)
        try:
            self._request("POST", f"/users/{author}/recipients/validate", body)
        except APIError as err:
            data = err.content if isinstance(err.content, dict) else {}
            found = data.get("Errors") or data.get("errors")
            if err.code == 400 and isinstance(found, dict) and found:
                return {str(k): str(v) for k, v in found.items()}
            raise _translate(err) from None
        return {}

    def add_recipient(self, user_id: str, body: dict[str, Any], name: str, return_url: str) -> tuple[str, str]:
        """Create the user's payout Recipient (PENDING) under the step `name` (its Idempotency-Key: one per link),
        and the link to its SCA session, sending the person back to `return_url`: (its id, the link)."""
        made = self._post(name, f"/users/{self.user(user_id)}/recipients", body)
        pending = (made.get("PendingUserAction") or {}).get("RedirectUrl")
        if not pending:
            raise ProviderTransient("Mangopay gave no SCA link for the new Recipient")
        return str(made["Id"]), sca_url(str(pending), return_url)

    def recipient_status(self, user_id: str, recipient_id: str) -> str | None:
        """A Recipient's Status (PENDING, ACTIVE, CANCELED...) if it is this user's; None otherwise."""
        row = self._row(user_id)
        found = self._get(f"/recipients/{recipient_id}") if row.mangopay_user_id else None
        if not found or str(found.get("UserId")) != row.mangopay_user_id:
            return None
        return str(found.get("Status") or "")

    def enrolment_status(self, user_id: str) -> str | None:
        """The user's UserStatus at Mangopay (ACTIVE once an Owner enrolled in SCA; PENDING_USER_ACTION before);
        None when Mangopay does not know them."""
        row = self._row(user_id)
        found = self._get(f"/sca/users/{row.mangopay_user_id}") if row.mangopay_user_id else None
        return str(found.get("UserStatus") or "") if found else None

    def wallet_open(self, user_id: str) -> bool:
        """Whether the user's wallets can be read now, with them present (their wallet-access SCA of the last 180
        days holds); a read that wants their SCA is False (and its new session is not used)."""
        row = self._row(user_id)
        if row.mangopay_user_id is None:
            return False
        try:
            path = f"/users/{row.mangopay_user_id}/wallets"
            self._call(lambda: self._request("GET", path, ScaContext=PRESENT))
        except ScaRequired:
            return False
        return True

    # ------------------------------------------------------------------ lookups

    def lookup(self, key: str, sender_id: str) -> PayResult | None:
        author = self._row(sender_id).mangopay_user_id
        if author is None:
            return None
        payins = [
            tx
            for tx in self._list(f"/users/{author}/transactions", Type="PAYIN", Sort="CreationDate:ASC")
            if _read_tag(tx).get("paybot") == key and tx.get("Nature") == "REGULAR"
        ]
        if not payins:
            return None
        full = [self._get(f"/payins/{tx['Id']}") or dict(tx) for tx in payins]
        for payin in full:
            if payin.get("Status") == "SUCCEEDED":
                tag = _read_tag(payin)
                if tag.get("route") != "direct":
                    return PayResult(PayOutcome.HELD, ref=str(payin["Id"]))
                transfer = self._finder(author, f"{key}", "TRANSFER")()
                if transfer is None:  # the pay-in was made, the transfer never: make it now
                    return self._after_payin(key, sender_id, tag.get("to", ""), payin)
                return self._transfer_outcome(key, payin, transfer)
        last = full[-1]
        if last.get("Status") == "CREATED" and last.get("SecureModeRedirectURL"):
            # Mangopay has no call to close a 3DS page: it lapses by itself within minutes.
            return PayResult(PayOutcome.NEEDS_AUTH, ref=str(last["Id"]), reason="not approved in time")
        if last.get("SecureModeNeeded"):  # the bank's page lapsed or was refused
            return PayResult(PayOutcome.NEEDS_AUTH, ref=str(last["Id"]), reason="not approved in time")
        return PayResult(PayOutcome.DECLINED, ref=str(last["Id"]), reason=_decline(last))

    def _transfer_outcome(self, key: str, payin: dict[str, Any], transfer: dict[str, Any]) -> PayResult:
        ref = str(payin["Id"])
        status = transfer.get("Status")
        if status == "SUCCEEDED":
            return PayResult(PayOutcome.PAID, ref=ref)
        if status == "CREATED":
            return PayResult(PayOutcome.NEEDS_AUTH, ref=ref, reason="not approved in time", charged=True)
        if str(transfer.get("ResultCode")) in REFUSED_TRANSFER:
            return PayResult(PayOutcome.HELD, ref=ref)
        self._give_back(key, payin)  # the sender never approved the transfer: their money goes back to the card
        return PayResult(PayOutcome.NEEDS_AUTH, ref=ref, reason="not approved in time", charged=True)

    def _give_back(self, key: str, payin: dict[str, Any]) -> None:
        amount, currency = _amount(payin)
        funds = {"Currency": currency, "Amount": amount}
        self._post(
            f"{key}#lapse",
            f"/payins/{payin['Id']}/refunds",
            {
                "AuthorId": payin["AuthorId"],
                "DebitedFunds": funds,
                "Fees": {**funds, "Amount": 0},
                "Tag": _tag(paybot=f"{key}#lapse", payin=str(payin["Id"])),
            },
            self._refund_finder(str(payin["AuthorId"]), f"{key}#lapse"),
        )

    def payments_since(self, since: datetime) -> list[ProviderPayment]:
        """Every pay-in paybot made since then, with what became of it (reconciliation reads each known
        user's transactions: Mangopay lists transactions per user or wallet, not per client)."""
        with self.uow() as s:
            authors = [
                r
                for r in s.exec(
                    select(MangopayUser.mangopay_user_id).where(col(MangopayUser.mangopay_user_id).is_not(None))
                )
            ]
        after = int(since.timestamp()) - 1
        out = []
        for author in authors:
            try:
                txs = list(self._list(f"/users/{author}/transactions", AfterDate=after, Sort="CreationDate:ASC"))
            except ScaRequired:  # an Owner's transactions, unread for 180 days: the others are still reconciled
                log.warning(
                    "reconciliation: the transactions of Mangopay user %s cannot be read without their SCA", author
                )
                continue
            refunded: dict[str, int] = {}
            for tx in txs:
                if tx.get("Type") == "PAYOUT" and tx.get("Nature") == "REFUND" and tx.get("Status") == "SUCCEEDED":
                    initial = str((self._get(f"/refunds/{tx['Id']}") or {}).get("InitialTransactionId"))
                    refunded[initial] = refunded.get(initial, 0) + _amount(tx)[0]
            for tx in txs:
                tag = _read_tag(tx)
                if (
                    tx.get("Type") != "PAYIN"
                    or tx.get("Status") != "SUCCEEDED"
                    or "paybot" not in tag
                    or tx.get("AuthorId") != author
                    or tx.get("Nature") != "REGULAR"
                ):
                    continue
                amount, currency = _amount(tx)
                back = refunded.get(str(tx["Id"]), 0)
                out.append(
                    ProviderPayment(
                        key=tag["paybot"],
                        ref=str(tx["Id"]),
                        amount_minor=amount,
                        currency=currency,
                        charged=True,
                        delivered=bool(self._delivered(str(author), str(tx["Id"]), txs)),
                        refunded=back >= amount,
                        refunded_minor=back,
                    )
                )
        return out

    # ------------------------------------------------------------------ events

    def events(self, after: str | None) -> tuple[list[ProviderEvent], str | None]:
        """Mangopay's events after the cursor, oldest first, each translated by reading its resource; then the cards
        saved on open card pages.

        Mangopay lists events of one EventType a request (list-events.mdx: required), and only within 45 days of
        their date: each type paybot reads has its own cursor ("<date>|<digests of the events read at that date>",
        the cursor a JSON object of them; an older single cursor applies to every type), its AfterDate never older
        than the retention (what is older is gone: logged, reconciliation settles it). The poll is skipped while
        fewer than EVENTS_RESERVE calls are left in Mangopay's 15-minute window (events are hints; payments come
        first), and reads at most EVENT_PAGES pages a type, the rest at the next poll."""
        if self._rate_left is not None and self._rate_left < EVENTS_RESERVE:
            log.warning("Mangopay rate limit: %s calls left in 15 minutes; events are read later", self._rate_left)
            return [], after
        cursors = _event_cursors(after)
        oldest = int(self.clock.now().timestamp()) - int(EVENT_RETENTION.total_seconds())
        found: list[tuple[int, str, str]] = []
        for kind in EVENT_TYPES:
            date, seen = _event_cursor(cursors.get(kind))
            params: dict[str, Any] = {"Sort": "Date:ASC", "EventType": kind}
            if date >= 0:
                # that second again: events of one second are told apart by digest
                params["AfterDate"] = max(date - 1, oldest)
                if date - 1 < oldest:
                    log.warning("Mangopay events of type %s may have passed their 45 days unread", kind)
            for event in self._list("/events", pages=EVENT_PAGES, **params):
                when = int(event.get("Date") or 0)
                digest = hashlib.sha256(f"{kind}:{event.get('ResourceId')}".encode()).hexdigest()[:10]
                if when < date or (when == date and digest in seen):
                    continue
                if when > date:
                    date, seen = when, set()
                seen.add(digest)
                found.append((when, kind, str(event.get("ResourceId"))))
            if date >= 0:
                cursors[kind] = f"{date}|{','.join(sorted(seen))}"
        out: list[ProviderEvent] = []
        for when, kind, resource in sorted(found, key=lambda e: e[0]):  # stable: each type's order kept
            out += self._translate(kind, resource, when)
        cursor = json.dumps(cursors, sort_keys=True, separators=(",", ":")) if cursors else after
        return out + self._cards_saved(), cursor

    def _translate(self, kind: str, resource: str, when: int) -> list[ProviderEvent]:  # noqa: C901
        eid = f"{kind}:{resource}:{when}"
        if kind.startswith("PAYIN_NORMAL_"):
            payin = self._get(f"/payins/{resource}")
            tag = _read_tag(payin)
            key = tag.get("paybot", "")
            if payin is None or not key.startswith("pay:") or not payin.get("SecureModeNeeded"):
                return []  # only a pay-in that waited on the bank's page is news
            if kind == "PAYIN_NORMAL_FAILED":
                return [ProviderEvent(eid, EventKind.AUTH_LAPSED, key=key)]
            sender = self._by_mangopay_id(str(payin.get("AuthorId")))
            result = self._after_payin(key, sender.user_id if sender else "", tag.get("to", ""), payin)
            if result.outcome in (PayOutcome.PAID, PayOutcome.HELD):
                return [ProviderEvent(eid, EventKind.PAID, key=key, ref=result.ref, outcome=result.outcome)]
            if result.outcome == PayOutcome.NEEDS_AUTH and result.url:  # 3DS passed; now the Owner's own SCA
                return [
                    ProviderEvent(
                        eid,
                        EventKind.APPROVAL_NEEDED,
                        key=key,
                        ref=result.ref,
                        url=result.url,
                        valid_for=result.valid_for,
                        charged=result.charged,
                    )
                ]
            return []
        if kind.startswith("TRANSFER_NORMAL_"):
            transfer = self._get(f"/transfers/{resource}")
            tag = _read_tag(transfer)
            key = tag.get("paybot", "").removesuffix("#transfer")
            if transfer is None or not key.startswith("pay:") or transfer.get("ScaContext") != "USER_PRESENT":
                return []  # only a transfer that waited for its author's approval is news
            payin = self._get(f"/payins/{tag.get('payin')}")
            if payin is None:
                return []
            result = self._transfer_outcome(key, payin, transfer)
            if result.outcome == PayOutcome.PAID:
                return [ProviderEvent(eid, EventKind.PAID, key=key, ref=result.ref, outcome=PayOutcome.PAID)]
            if result.outcome == PayOutcome.NEEDS_AUTH and transfer.get("Status") == "FAILED":
                return [ProviderEvent(eid, EventKind.AUTH_LAPSED, key=key, charged=True)]
            return []
        if kind == "PAYIN_REFUND_SUCCEEDED":
            refund = self._get(f"/refunds/{resource}")
            if refund and refund.get("Status") == "SUCCEEDED" and refund.get("InitialTransactionId"):
                mine = _read_tag(refund).get("paybot")
                return [
                    ProviderEvent(
                        eid,
                        EventKind.REFUNDED,
                        ref=str(refund["InitialTransactionId"]),
                        key=mine,
                        settle_ref=str(refund["Id"]),
                        amount_minor=_amount(refund)[0],
                    )
                ]
            return []
        if kind.startswith("PAYOUT_NORMAL_"):
            payout = self._get(f"/payouts/{resource}")
            key = _read_tag(payout).get("paybot", "")
            if payout is None or not key.startswith(CASHOUT_PREFIX):
                return []  # not a cash-out of paybot's
            amount = _amount(payout)[0]
            if payout.get("Status") == "SUCCEEDED":  # the payout says so, whatever the event's type
                return [
                    ProviderEvent(
                        eid, EventKind.PAYOUT_SUCCEEDED, key=key, settle_ref=str(payout["Id"]), amount_minor=amount
                    )
                ]
            if payout.get("Status") == "FAILED":
                return [
                    ProviderEvent(
                        eid,
                        EventKind.PAYOUT_FAILED,
                        key=key,
                        settle_ref=str(payout["Id"]),
                        amount_minor=amount,
                        reason=_payout_words(payout),
                    )
                ]
            return []
        if kind == "PAYOUT_REFUND_SUCCEEDED":  # a payout that went through came back: the money is in the wallet again
            refund = self._get(f"/refunds/{resource}")
            if (
                refund is None
                or refund.get("Status") != "SUCCEEDED"
                or refund.get("InitialTransactionType") != "PAYOUT"
            ):
                return []
            payout = self._get(f"/payouts/{refund.get('InitialTransactionId')}")
            key = _read_tag(payout).get("paybot", "")
            if payout is None or not key.startswith(CASHOUT_PREFIX):
                return []  # not a cash-out of paybot's
            why = str((refund.get("RefundReason") or {}).get("RefusedReasonType") or "")
            return [
                ProviderEvent(
                    eid,
                    EventKind.PAYOUT_RETURNED,
                    key=key,
                    settle_ref=str(payout["Id"]),
                    amount_minor=_amount(refund)[0],
                    reason=RETURN_WORDS.get(why, DEFAULT_RETURN),
                )
            ]
        if kind == "USER_ACCOUNT_ACTIVATED":  # an Owner completed their SCA enrolment
            row = self._by_mangopay_id(resource)
            found = self._get(f"/sca/users/{resource}") if row else None
            if row and found and found.get("UserCategory") == "OWNER" and found.get("UserStatus") == "ACTIVE":
                return [ProviderEvent(eid, EventKind.ENROLLED, user_id=row.user_id)]
            return []
        if kind == "USER_KYC_REGULAR":
            row = self._by_mangopay_id(resource)
            found = self._get(f"/sca/users/{resource}") if row else None
            if row and found and found.get("UserCategory") == "OWNER" and found.get("KYCLevel") == "REGULAR":
                self._save(row.user_id, owner=True, kyc_regular=True)
                return [ProviderEvent(eid, EventKind.ACCOUNT_READY, user_id=row.user_id)]
        return []

    def _cards_saved(self) -> list[ProviderEvent]:
        """CARD_SAVED, once, for each card page completed since the last poll (Mangopay has no event)."""
        with self.uow() as s:
            waiting = list(
                s.exec(
                    select(MangopayUser.user_id, MangopayUser.card_registration_id)
                    .where(col(MangopayUser.card_registration_id).is_not(None), col(MangopayUser.card_id).is_(None))
                    .order_by(col(MangopayUser.user_id))
                )
            )
        # CARDS_PER_POLL a poll, in turn from where the last poll stopped, so a crowd of pages opened and never
        # completed cannot keep anyone's "card saved" waiting (and each registration ages out after a day).
        after = [w for w in waiting if w[0] > self._cards_polled_after]
        turn = (after + [w for w in waiting if w not in after])[:CARDS_PER_POLL]
        if turn:
            self._cards_polled_after = turn[-1][0] if len(turn) < len(waiting) else ""
        out = []
        for user_id, registration in turn:
            try:
                card = self._card(user_id)
            except ProviderError as err:
                # the registration's id opens its card page: it is never logged
                log.warning(
                    "could not read a card registration of user %s: %s", user_id, err, extra={"user_id": user_id}
                )
                continue
            if card is not None:
                digest = hashlib.sha256(str(registration).encode()).hexdigest()[:20]  # the id is a credential
                out.append(ProviderEvent(f"card-saved:{digest}", EventKind.CARD_SAVED, user_id=user_id))
        return out


# Mangopay's answer to an Owner's wallet access that needs their SCA: 401 with
# `WWW-Authenticate: PendingUserAction RedirectUrl=<link>` (guides/sca/wallets.mdx; guides/sca/session.mdx spells it
# `redirectUrl`: both are read).
WALLET_SCA_HEADER = re.compile(r"PendingUserAction\s+redirectUrl=(\S+)", re.IGNORECASE)


def sca_url(redirect_url: str, return_url: str) -> str:
    """Mangopay's SCA RedirectUrl with `return_url` appended as `returnUrl`, percent-encoded (guides/sca/session.mdx,
    step 3: the page shows an error without it; the whole under 2,000 characters)."""
    glue = "&" if urllib.parse.urlsplit(redirect_url).query else ("" if redirect_url.endswith("?") else "?")
    return f"{redirect_url}{glue}returnUrl={urllib.parse.quote(return_url, safe='')}"


def _wallet_sca_link(err: APIError) -> str | None:
    """The SCA session's link in a 401 that asks for the Owner's wallet-access SCA; None for any other error."""
    if err.code != 401:
        return None
    found = WALLET_SCA_HEADER.search(str((getattr(err, "headers", None) or {}).get("WWW-Authenticate") or ""))
    return found.group(1) if found else None


def _event_cursors(after: str | None) -> dict[str, str]:
    """The per-type event cursors in `after` (a JSON object); an older single cursor applies to every type."""
    if not after:
        return {}
    try:
        parsed = json.loads(after)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return {str(k): str(v) for k, v in parsed.items()}
    return dict.fromkeys(EVENT_TYPES, after)


def _event_cursor(cursor: str | None) -> tuple[int, set[str]]:
    """(date, digests of the events read at that date) of one type's cursor; (-1, {}) when none."""
    if not cursor:
        return -1, set()
    date, _, digests = cursor.partition("|")
    return int(date), set(filter(None, digests.split(",")))


def _payout_words(payout: dict[str, Any]) -> str:
    return PAYOUT_WORDS.get(str(payout.get("ResultCode")), DEFAULT_PAYOUT_REFUSAL)


def _paid_to(payout: dict[str, Any]) -> str | None:
    """The bank account a payout was made to (a payout found again by its key)."""
    return str(payout["BankAccountId"]) if payout.get("BankAccountId") else None


def _last4(account: dict[str, Any]) -> str | None:
    """The last four characters of a bank account's number (its IBAN), when it has enough; nothing more is kept."""
    local = ((account.get("LocalBankTransfer") or {}).get("EUR") or {}).get("IBAN")
    international = (account.get("InternationalBankTransfer") or {}).get("AccountNumber")
    number = re.sub(r"\s", "", str(local or international or account.get("IBAN") or account.get("AccountNumber") or ""))
    return number[-4:] if len(number) >= 8 and number[-4:].isalnum() else None


def _decline(payin: dict[str, Any]) -> str:
    return DECLINE_WORDS.get(str(payin.get("ResultCode")), DEFAULT_DECLINE)


def _refused(status: int, data: Any) -> ProviderError:
    kind = str((data or {}).get("Type") or "") if isinstance(data, dict) else ""
    message = str((data or {}).get("Message") or "") if isinstance(data, dict) else ""
    return ProviderError(f"Mangopay refused the request ({status} {kind}): {message}".rstrip(": "))


def _translate(err: APIError) -> ProviderError:
    """The SDK's errors in the port's words; never the API key or the token (the SDK's text is not used)."""
    code = err.code
    if code is None:
        return ProviderTransient("Mangopay did not answer (connection or timeout)")
    if code == 401:
        log.error("Mangopay refused the credentials (401): check MANGOPAY_CLIENT_ID and MANGOPAY_API_KEY")
        return ProviderTransient("Mangopay refused the credentials (401)")
    if code in (409, 429) or code >= 500:
        return ProviderTransient(f"Mangopay could not answer now ({code})")
    return _refused(code, err.content)


def _card_step(row: MangopayUser) -> CardStep:
    return card_step(row.card_id, row.card_registration_id)


def _identity_step(row: MangopayUser) -> IdentityStep:
    return identity_step(row.owner, row.kyc_session_id, row.kyc_regular)

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

Token lifetimes are measured on the wall clock (the SDK caches tokens on it); everything else on `clock`."""

from __future__ import annotations

from bot.sims.kit import DROP as DROP
from bot.sims.mangopay.app import MangopaySim as MangopaySim
from bot.sims.mangopay.errors import MangopayError as MangopayError
from bot.sims.mangopay.facts import CARD_3DS as CARD_3DS
from bot.sims.mangopay.facts import CARD_DECLINED as CARD_DECLINED
from bot.sims.mangopay.facts import CARD_OK as CARD_OK
from bot.sims.mangopay.facts import EVENT_RETENTION as EVENT_RETENTION
from bot.sims.mangopay.facts import FRAUD_POLICY as FRAUD_POLICY
from bot.sims.mangopay.facts import IBAN_OK as IBAN_OK
from bot.sims.mangopay.facts import PAGE_LIFETIME as PAGE_LIFETIME
from bot.sims.mangopay.facts import RATE_LIMITED as RATE_LIMITED
from bot.sims.mangopay.facts import RATE_LIMITS as RATE_LIMITS
from bot.sims.mangopay.facts import SCA_SESSION_LIFETIME as SCA_SESSION_LIFETIME
from bot.sims.mangopay.facts import WALLET_SCA_EVERY as WALLET_SCA_EVERY
from bot.sims.mangopay.facts import iban_valid as iban_valid

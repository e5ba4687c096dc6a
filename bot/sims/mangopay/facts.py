"""Mangopay's documented facts the emulator keeps: lifetimes, limits, result codes, test cards, the IBAN's
shape, and the small readings of a request's values they need."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

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

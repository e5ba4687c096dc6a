"""Cash-outs on Mangopay (CASHOUT by DM: `cash_out`), and the balances a wind-down reads (`holdings`).

A user's wallet is paid out to their bank account by a bank wire payout (`POST /payouts/bankwire`: the whole balance
less what must stay, Fees 0, `BankWireRef` "paybot", the Tag carrying paybot's key `cashout:<DM event id>`, the
Idempotency-Key mapped from it as for every POST). Mangopay pays out only to a verified Owner (KYC level REGULAR):
anyone else gets the hosted identity verification link, as CLAIM gives. Payouts go to Recipients (Mangopay refuses
them to Bank Accounts created after 30 April 2026, ResultCode 121018). Mangopay hosts no page for bank details and
paybot never takes them by DM, so a user without an ACTIVE payout Recipient in the currency gets a single-use link
(PAYBOT_LINK_TTL) to paybot's cash-out account page (bot.web.recipient_pages, on `MangopayRecipients`); without
paybot's pages (PAYBOT_WEB_URL, PAYBOT_LINK_SECRET) the user is told cash-outs are not available
(MANGOPAY_BANK_PAGE_URL, the operator's own page, is gone). The newest ACTIVE payout Recipient of the user in the
currency (`GET /users/{id}/recipients`) is paid, once its owner confirmed it by DM.
Before anything else, a payout already made under the key is looked for by its Tag among the user's payouts, so a
crash after the POST, a lost answer or a key Mangopay forgot (24 hours) answers that payout, never a second one; a
5xx is settled the same way, a 409 by the stored first answer. A sender's wallet also holds their money still on
its way or held for a recipient: the service names it (`keep`) and it is not paid out. The bank account's number is
read from Mangopay's answer only to keep its last four characters for the DM: it is never stored or logged.
A 121018 refusal (a payout made to a legacy Bank Account) is told as "the bank account must be registered again".
PAYOUT_NORMAL_SUCCEEDED/FAILED events are read from the payout itself (`bot.providers.mangopay.events`).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from bot.errors import IdempotencyError, ProviderTransient, ScaRequired
from bot.money import Money
from bot.ports import NO_ACCOUNTS, CashOut, CashOutOutcome, PayoutAccounts
from bot.providers.mangopay.kyc import MangopayKyc
from bot.providers.mangopay.pages import SCA_SESSION_LIFETIME, IdentityNeeded, MangopayPages
from bot.providers.mangopay.people import RECIPIENT, WALLET
from bot.providers.mangopay.transactions import MangopayTransactions
from bot.providers.mangopay.transport import PRESENT, MangopayTransport, amount_of, balance, read_tag, tag
from bot.repo.provider_records import MangopayRecords

log = logging.getLogger(__name__)

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
ACCOUNT_GONE = "the bank account you confirmed is no longer active; DM CASHOUT again"
HELD_FOR_OTHERS = "payments you sent are still waiting for their recipients; cash out once they are claimed or returned"


class MangopayPayouts:
    """Bank wire payouts of a user's wallet to their confirmed payout Recipient, each found again by its key."""

    def __init__(
        self,
        transport: MangopayTransport,
        records: MangopayRecords,
        kyc: MangopayKyc,
        pages: MangopayPages,
        found: MangopayTransactions,
    ) -> None:
        self.transport = transport
        self.records = records
        self.kyc = kyc
        self.pages = pages
        self.found = found

    def holdings(self) -> list[tuple[str, Money]]:
        """Every non-zero balance of the wallets paybot made (one request per wallet: for wind-down, not ticks)."""
        out = []
        for row in self.records.with_wallets():
            for currency, wallet in sorted(json.loads(row.wallets).items()):
                try:
                    found = self.transport.get(f"/wallets/{wallet}") or {}
                except ScaRequired:  # an Owner's wallet unread for 180 days: only they can open it (CASHOUT)
                    log.warning(
                        "wind-down: the %s wallet of user %s cannot be read without their SCA; they are "
                        "not told to cash out",
                        currency,
                        row.user_id,
                        extra={"user_id": row.user_id},
                    )
                    continue
                minor = balance(found)
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
                CashOutOutcome.NEEDS_SCA,
                url=self.pages.sca_link(err.url, user_id, WALLET),
                valid_for=SCA_SESSION_LIFETIME,
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
        row = self.records.row(user_id)
        author, wallet = row.mangopay_user_id, json.loads(row.wallets).get(currency)
        if author is None or wallet is None:  # never received (nor sent) in this currency: nothing there
            return CashOut(CashOutOutcome.NOTHING, amount=Money(0, currency))
        made = self.found.payout_finder(author, key, present=True)()
        if made is not None:  # an earlier attempt made it (its answer lost, a crash, a key Mangopay forgot)
            return self.payout_outcome(key, made)
        found = self.transport.get(f"/wallets/{wallet}", ScaContext=PRESENT) or {}
        available = balance(found) - max(keep, 0)
        if available <= 0:
            return CashOut(CashOutOutcome.NOTHING, amount=Money(0, currency))
        if not self.kyc.regular(user_id):
            # Onboarding makes them an Owner, and an Owner's wallet cannot release what it holds for others
            # (Mangopay's SCA on Owner-to-Owner transfers), in any currency: their held payments would go back unpaid.
            onboarding = self.kyc.onboard(user_id, holds_for_others=holds_for_others or keep > 0)
            if onboarding.wait:
                return CashOut(CashOutOutcome.REFUSED, reason=HELD_FOR_OTHERS)
            if onboarding.enrol:
                return CashOut(CashOutOutcome.NEEDS_SCA, url=onboarding.url, valid_for=onboarding.valid_for)
            if not onboarding.ready:  # the identity page, or Mangopay's identity verification
                return CashOut(CashOutOutcome.NEEDS_KYC, url=onboarding.url)
        account = self.recipient(author, currency, accounts)
        if account is None and accounts.pay_to:
            return CashOut(CashOutOutcome.REFUSED, reason=ACCOUNT_GONE)
        if account is None:  # paybot's cash-out account page (bot.web.recipient_pages), by a single-use link
            url = self.pages.people.link(RECIPIENT, user_id)
            if url is None:
                log.warning(
                    "a user asked to cash out and has no payout account, and paybot serves no pages "
                    "(PAYBOT_WEB_URL and PAYBOT_LINK_SECRET)"
                )
            return CashOut(CashOutOutcome.NEEDS_BANK, url=url, valid_for=self.pages.people.ttl if url else None)
        if str(account["Id"]) not in accounts.confirmed and str(account["Id"]) != accounts.pay_to:
            return CashOut(CashOutOutcome.NEW_ACCOUNT, account_ref=str(account["Id"]), last4=_last4(account))
        funds = {"Currency": currency, "Amount": available}
        try:
            payout = self.transport.post(
                key,
                "/payouts/bankwire",
                {
                    "AuthorId": author,
                    "DebitedWalletId": wallet,
                    "DebitedFunds": funds,
                    "Fees": {**funds, "Amount": 0},
                    "BankAccountId": str(account["Id"]),
                    "BankWireRef": BANK_WIRE_REF,
                    "Tag": tag(paybot=key),
                },
                self.found.payout_finder(author, key, present=True),
            )
        except ScaRequired:  # looking for the payout after a lost answer: it may exist, so nothing is concluded
            raise ProviderTransient("Mangopay wants the user's SCA to read whether the payout was made") from None
        return self.payout_outcome(key, payout, _last4(account), str(account["Id"]))

    def payout_outcome(
        self, key: str, payout: dict[str, Any], last4: str | None = None, account_ref: str | None = None
    ) -> CashOut:
        """A payout in the port's words: on its way (CREATED, or already SUCCEEDED: its event says so), or refused."""
        if payout.get("Type") != "PAYOUT" or read_tag(payout).get("paybot") != key:
            raise IdempotencyError(f"key {key} was used with other parameters")
        minor, currency = amount_of(payout)
        amount, ref = Money(minor, currency), str(payout["Id"])
        if payout.get("Status") in ("CREATED", "SUCCEEDED"):
            return CashOut(
                CashOutOutcome.STARTED, amount=amount, ref=ref, last4=last4, account_ref=account_ref or _paid_to(payout)
            )
        log.warning("payout %s refused by Mangopay (%s)", ref, payout.get("ResultCode"))
        return CashOut(CashOutOutcome.REFUSED, amount=amount, ref=ref, reason=payout_words(payout))

    def recipient(self, author: str, currency: str, accounts: PayoutAccounts) -> dict[str, Any] | None:
        """The Recipient to pay: `accounts.pay_to` if it is still ACTIVE, else (none named) the user's newest ACTIVE
        payout Recipient in `currency` that they did not refuse; None when there is none. Payouts go to Recipients:
        Mangopay refuses them to Bank Accounts created after 30 April 2026 (121018), and its migrated Bank Accounts
        are Recipients too. One still PENDING (its SCA not done) or CANCELED is not used."""
        for account in self.transport.each(f"/users/{author}/recipients", Sort="CreationDate:DESC"):
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


def payout_words(payout: dict[str, Any]) -> str:
    """Why Mangopay refused a payout, in words the user may read."""
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

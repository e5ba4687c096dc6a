"""Payments on Mangopay: a recurring card pay-in from the sender's saved card into the sender's own wallet, then a
Transfer from that wallet to the recipient's when the recipient can receive (PAID); anyone else's money stays in the
sender's wallet (HELD, the reference being the pay-in's id). The route (transfer or hold) is decided once, written
in the pay-in's Tag (JSON: paybot's key, the recipient, the memo's digest, the route), and kept by every retry.

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
  goes back when the claim window ends (`bot.providers.mangopay.settlements`).
Mangopay's hosted 3DS and SCA pages close by themselves after minutes, and no call closes one early.

Past Mangopay's 24 hours the service calls `lookup` instead of `pay`, which reads by Tag and POSTs nothing that the
Tag shows was made. A key reused with another amount, recipient or memo is an IdempotencyError (the stored
transaction says so).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from bot.errors import IdempotencyError, ProviderTransient, ScaRequired
from bot.money import Money
from bot.ports import PayOutcome, PayResult, ProviderPayment
from bot.providers.mangopay.cards import MangopayCardRegistrations
from bot.providers.mangopay.kyc import MangopayKyc
from bot.providers.mangopay.pages import SCA_SESSION_LIFETIME, MangopayPages
from bot.providers.mangopay.transactions import MangopayTransactions
from bot.providers.mangopay.transport import MangopayTransport, amount_of, read_tag, tag
from bot.providers.mangopay.users import MangopayUsers
from bot.repo.provider_records import MangopayRecords

log = logging.getLogger(__name__)

NOT_ENROLLED = "002704"  # an Owner who has not enrolled in SCA cannot author a transfer that needs it
# Since 2026-06-24 a pay-in credited to an unverified Owner's wallet fails (002951): a sender's pay-in goes to their own
# wallet, so an Owner who has not finished their identity check cannot pay (a Payer can: docs/providers/mangopay.md).
NOT_VERIFIED = "002951"
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
DEFAULT_DECLINE = "declined by the bank"
# Mangopay closes its hosted payment pages after 15 minutes (its documentation of error 101109); the DM with a
# 3DS link says so, since a later approval comes too late.
APPROVAL_PAGE_LIFETIME = timedelta(minutes=15)
# A recurring registration serves 99 pay-ins, CITs and MITs alike (errors/codes/205001.mdx): past this many, the
# next payment starts a new one, leaving one pay-in of the old for a CIT the issuer may still ask on it.
RENEW_AFTER = 97
# A transfer that failed for these reasons was refused (the recipient cannot receive), not left unapproved.
REFUSED_TRANSFER = {"002951", "002702", "001001"}


class MangopayPayments:
    """Pay-ins, the transfers they lead to, what a key made (lookups), and reconciliation's view of them."""

    def __init__(
        self,
        transport: MangopayTransport,
        records: MangopayRecords,
        users: MangopayUsers,
        kyc: MangopayKyc,
        cards: MangopayCardRegistrations,
        pages: MangopayPages,
        found: MangopayTransactions,
    ) -> None:
        self.transport = transport
        self.records = records
        self.users = users
        self.kyc = kyc
        self.cards = cards
        self.pages = pages
        self.found = found

    def pay(
        self,
        *,
        key: str,
        sender_id: str,
        recipient_id: str,
        amount: Money,
        memo: str | None,
    ) -> PayResult:
        card = self.cards.card(sender_id)
        row = self.records.row(sender_id)
        if card is None or row.mangopay_user_id is None:
            return PayResult(PayOutcome.NO_CARD, reason="no saved card")
        if not self.kyc.enrolled(sender_id) and self.transport.stored_or_none(key) is None:
            # An Owner who never completed their SCA enrolment cannot approve the transfer (Mangopay refuses it,
            # 002704): nothing is charged; CLAIM or CASHOUT sends them a new enrolment link.
            return PayResult(PayOutcome.DECLINED, reason=DECLINE_WORDS[NOT_ENROLLED])
        if row.owner and not self.kyc.regular(sender_id) and self.transport.stored_or_none(key) is None:
            # Mangopay would refuse the pay-in into this unverified Owner's own wallet (002951): nothing is charged.
            return PayResult(PayOutcome.DECLINED, reason=DECLINE_WORDS[NOT_VERIFIED])
        wallet = self.users.wallet(sender_id, amount.currency)
        route = "direct" if self.kyc.regular(recipient_id) else "hold"
        payin_tag = tag(paybot=key, to=recipient_id, memo=_digest(memo), route=route)
        payin = self.payin(key, sender_id, row.mangopay_user_id, card, wallet, amount, payin_tag)
        first = read_tag(payin)
        if (
            first.get("paybot") != key
            or amount_of(payin) != (amount.minor, amount.currency)
            or first.get("to") != recipient_id
            or first.get("memo") != _digest(memo)
        ):
            raise IdempotencyError(f"key {key} was used with other parameters")
        return self.after_payin(key, sender_id, recipient_id, payin)

    def payin(
        self, key: str, sender_id: str, author: str, card: str, wallet: str, amount: Money, payin_tag: str
    ) -> dict[str, Any]:
        """The pay-in of `key`: an MIT on the card's recurring registration, or a CIT when the registration
        was never used or the issuer refused the MIT (AUTHENTICATION_NEEDED)."""
        registration = self.cards.recurring(sender_id, author, card, wallet, amount)
        state = self.transport.get(f"/recurringpayinregistrations/{registration}") or {}
        if (
            int((state.get("CurrentState") or {}).get("PayinsLinked") or 0) >= RENEW_AFTER
            and self.transport.stored_or_none(key) is None
        ):
            registration = self.cards.recurring(sender_id, author, card, wallet, amount, renew=registration)
            state = self.transport.get(f"/recurringpayinregistrations/{registration}") or {}
        funds = {"Currency": amount.currency, "Amount": amount.minor}
        mit: dict[str, Any] = {
            "RecurringPayinRegistrationId": registration,
            "DebitedFunds": funds,
            "Fees": {**funds, "Amount": 0},
            "StatementDescriptor": "paybot",
            "Tag": payin_tag,
        }
        cit = {**mit, "SecureModeReturnURL": self.pages.return_url, **self.cards.browser(sender_id)}
        find = self.found.finder(author, key, "PAYIN")
        first = self.transport.post(
            key, "/payins/recurring/card/direct", mit if state.get("Status") == "IN_PROGRESS" else cit, find
        )
        if first.get("Status") != "FAILED" or first.get("SecureModeReturnURL"):
            return first
        # The MIT was refused: if the issuer wants the cardholder, a CIT (once, under its own key).
        again = self.transport.stored_or_none(f"{key}#cit")
        if again is not None:
            return again
        state = self.transport.get(f"/recurringpayinregistrations/{registration}") or {}
        if state.get("Status") != "AUTHENTICATION_NEEDED":
            return first
        return self.transport.post(
            f"{key}#cit", "/payins/recurring/card/direct", cit, self.found.finder(author, key, "PAYIN", cit=True)
        )

    def after_payin(self, key: str, sender_id: str, recipient_id: str, payin: dict[str, Any]) -> PayResult:
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
        if read_tag(payin).get("route") != "direct":
            return PayResult(PayOutcome.HELD, ref=ref)
        transfer = self.transfer_for(key, sender_id, recipient_id, payin)
        if transfer.get("Status") == "SUCCEEDED":
            return PayResult(PayOutcome.PAID, ref=ref)
        pending = (transfer.get("PendingUserAction") or {}).get("RedirectUrl")
        if transfer.get("Status") == "CREATED" and pending:
            return PayResult(
                PayOutcome.NEEDS_AUTH,
                ref=ref,
                reason="authentication required",
                url=self.pages.sca_link(str(pending)),
                valid_for=SCA_SESSION_LIFETIME,
                charged=True,
            )
        if transfer.get("Status") == "CREATED":
            raise ProviderTransient("Mangopay is still processing the transfer")
        if str(transfer.get("ResultCode")) == NOT_ENROLLED:
            # The sender (an Owner) has not enrolled in SCA since `pay` looked: the charge goes back to the card.
            self.give_back(key, payin)
            return PayResult(PayOutcome.DECLINED, ref=ref, reason=DECLINE_WORDS[NOT_ENROLLED])
        # Refused (the recipient lost their verification since paybot saw them ready): the money stays held.
        log.warning("transfer of %s refused (%s); the money is held", key, transfer.get("ResultCode"))
        self.records.save(recipient_id, kyc_regular=False)
        return PayResult(PayOutcome.HELD, ref=ref)

    def transfer_for(self, key: str, sender_id: str, recipient_id: str, payin: dict[str, Any]) -> dict[str, Any]:
        author = str(payin["AuthorId"])
        amount, currency = amount_of(payin, "CreditedFunds")
        body: dict[str, Any] = {
            "AuthorId": author,
            "CreditedUserId": self.users.user(recipient_id),
            "DebitedFunds": {"Currency": currency, "Amount": amount},
            "Fees": {"Currency": currency, "Amount": 0},
            "DebitedWalletId": payin["CreditedWalletId"],
            "CreditedWalletId": self.users.wallet(recipient_id, currency),
            "Tag": tag(paybot=key, payin=str(payin["Id"])),
        }
        if self.records.row(sender_id).owner:
            body["ScaContext"] = "USER_PRESENT"  # the sender said YES: they approve it on Mangopay's page
        return self.transport.post(f"{key}#transfer", "/transfers", body, self.found.finder(author, key, "TRANSFER"))

    def lookup(self, key: str, sender_id: str) -> PayResult | None:
        author = self.records.row(sender_id).mangopay_user_id
        if author is None:
            return None
        payins = [
            tx
            for tx in self.transport.each(f"/users/{author}/transactions", Type="PAYIN", Sort="CreationDate:ASC")
            if read_tag(tx).get("paybot") == key and tx.get("Nature") == "REGULAR"
        ]
        if not payins:
            return None
        full = [self.transport.get(f"/payins/{tx['Id']}") or dict(tx) for tx in payins]
        for payin in full:
            if payin.get("Status") == "SUCCEEDED":
                fields = read_tag(payin)
                if fields.get("route") != "direct":
                    return PayResult(PayOutcome.HELD, ref=str(payin["Id"]))
                transfer = self.found.finder(author, f"{key}", "TRANSFER")()
                if transfer is None:  # the pay-in was made, the transfer never: make it now
                    return self.after_payin(key, sender_id, fields.get("to", ""), payin)
                return self.transfer_outcome(key, payin, transfer)
        last = full[-1]
        if last.get("Status") == "CREATED" and last.get("SecureModeRedirectURL"):
            # Mangopay has no call to close a 3DS page: it lapses by itself within minutes.
            return PayResult(PayOutcome.NEEDS_AUTH, ref=str(last["Id"]), reason="not approved in time")
        if last.get("SecureModeNeeded"):  # the bank's page lapsed or was refused
            return PayResult(PayOutcome.NEEDS_AUTH, ref=str(last["Id"]), reason="not approved in time")
        return PayResult(PayOutcome.DECLINED, ref=str(last["Id"]), reason=_decline(last))

    def transfer_outcome(self, key: str, payin: dict[str, Any], transfer: dict[str, Any]) -> PayResult:
        ref = str(payin["Id"])
        status = transfer.get("Status")
        if status == "SUCCEEDED":
            return PayResult(PayOutcome.PAID, ref=ref)
        if status == "CREATED":
            return PayResult(PayOutcome.NEEDS_AUTH, ref=ref, reason="not approved in time", charged=True)
        if str(transfer.get("ResultCode")) in REFUSED_TRANSFER:
            return PayResult(PayOutcome.HELD, ref=ref)
        self.give_back(key, payin)  # the sender never approved the transfer: their money goes back to the card
        return PayResult(PayOutcome.NEEDS_AUTH, ref=ref, reason="not approved in time", charged=True)

    def give_back(self, key: str, payin: dict[str, Any]) -> None:
        amount, currency = amount_of(payin)
        funds = {"Currency": currency, "Amount": amount}
        self.transport.post(
            f"{key}#lapse",
            f"/payins/{payin['Id']}/refunds",
            {
                "AuthorId": payin["AuthorId"],
                "DebitedFunds": funds,
                "Fees": {**funds, "Amount": 0},
                "Tag": tag(paybot=f"{key}#lapse", payin=str(payin["Id"])),
            },
            self.found.refund_finder(str(payin["AuthorId"]), f"{key}#lapse"),
        )

    def payments_since(self, since: datetime) -> list[ProviderPayment]:
        """Every pay-in paybot made since then, with what became of it (reconciliation reads each known
        user's transactions: Mangopay lists transactions per user or wallet, not per client)."""
        after = int(since.timestamp()) - 1
        out = []
        for author in self.records.authors():
            try:
                txs = list(
                    self.transport.each(f"/users/{author}/transactions", AfterDate=after, Sort="CreationDate:ASC")
                )
            except ScaRequired:  # an Owner's transactions, unread for 180 days: the others are still reconciled
                log.warning(
                    "reconciliation: the transactions of Mangopay user %s cannot be read without their SCA", author
                )
                continue
            refunded: dict[str, int] = {}
            for tx in txs:
                if tx.get("Type") == "PAYOUT" and tx.get("Nature") == "REFUND" and tx.get("Status") == "SUCCEEDED":
                    initial = str((self.transport.get(f"/refunds/{tx['Id']}") or {}).get("InitialTransactionId"))
                    refunded[initial] = refunded.get(initial, 0) + amount_of(tx)[0]
            for tx in txs:
                fields = read_tag(tx)
                if (
                    tx.get("Type") != "PAYIN"
                    or tx.get("Status") != "SUCCEEDED"
                    or "paybot" not in fields
                    or tx.get("AuthorId") != author
                    or tx.get("Nature") != "REGULAR"
                ):
                    continue
                amount, currency = amount_of(tx)
                back = refunded.get(str(tx["Id"]), 0)
                out.append(
                    ProviderPayment(
                        key=fields["paybot"],
                        ref=str(tx["Id"]),
                        amount_minor=amount,
                        currency=currency,
                        charged=True,
                        delivered=bool(self.found.delivered(str(author), str(tx["Id"]), txs)),
                        refunded=back >= amount,
                        refunded_minor=back,
                    )
                )
        return out


def _digest(memo: str | None) -> str:
    return hashlib.sha256((memo or "").encode()).hexdigest()[:12]


def _decline(payin: dict[str, Any]) -> str:
    return DECLINE_WORDS.get(str(payin.get("ResultCode")), DEFAULT_DECLINE)

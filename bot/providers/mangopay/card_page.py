"""paybot's own card page on Mangopay (`CardPort` of bot.web.card_port): the provider's side of it.

1. `open_card`: a Card Registration (CB_VISA_MASTERCARD, the operator's currency). The page gives the browser its
   CardRegistrationURL, AccessKey and PreregistrationData; the browser tokenizes the card there itself
   (api-reference/card-registrations/tokenize-card.mdx: "Card details must never pass via your server").
2. `finish_card`: the tokenization server's answer PUT as RegistrationData, which makes the Card; then, while the
   person is still on the page and the card is fresh (a recurring registration needs a card VALID or registered
   less than 24 hours ago, guides/payment-methods/card/recurring/how-to.mdx), the recurring registration into the
   person's wallet with one free cycle, and its customer-initiated pay-in (CIT) with the person's own BrowserInfo
   and IP address. The free cycle debits nothing (snippets/p-body/FreeCycles.mdx): this CIT is the card's
   authentication, which no exemption spares (guides/payment-methods/card/recurring.mdx), and it makes the card
   VALID. Every later pay-in (a YES by DM) is then merchant-initiated, with nobody on a page.
3. 3-D Secure: the CIT may wait on the bank's page (`SecureModeRedirectURL`); the page sends the person there and
   `card_returned` reads the CIT when they come back (its id in `transactionId`).
The card is saved (`MangopayUser.card_id`, with the registration in `recurring`) only once its CIT succeeded, and
the browser data and IP are stored for the CITs paybot may have to make later in the person's name (a new
recurring registration before 99 pay-ins, an issuer asking again): they are the person's, never invented.
A card refused anywhere along the way leaves nothing saved; the page offers to try another card.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from bot.errors import ProviderError
from bot.providers.mangopay.payments import NOT_VERIFIED
from bot.providers.mangopay.provider import MangopayProvider
from bot.providers.mangopay.transport import tag
from bot.web.card_port import Browser, CardForm, Finished, Outcome

log = logging.getLogger(__name__)

# Why a card was refused, as the page names it (bot.web.card_page.REASONS): the registration's ResultCode after a
# tokenization error (errors/codes/1052xx.mdx), or the authentication's (errors/codes/1013xx.mdx: 3DS).
CARD_REASONS = {"105202": "number", "105203": "expiry", "105204": "cvc"}
NOT_APPROVED = {"101301", "101304", "101399"}


class MangopayCards:
    """The card page's port on the Mangopay adapter (it shares its transport, keys, records and users)."""

    def __init__(self, provider: MangopayProvider) -> None:
        self.transport = provider.transport
        self.records = provider.records
        self.users = provider.users
        self.currency = provider.currency

    def open_card(self, user_id: str) -> CardForm:
        owner = self.users.user(user_id)
        # A new registration each time the form is shown (a registration takes one card): a random key name.
        made = self.transport.post(
            f"cardpage:{user_id}:{secrets.token_hex(16)}",
            "/cardregistrations",
            {
                "UserId": owner,
                "Currency": self.currency,
                "CardType": "CB_VISA_MASTERCARD",
                "Tag": tag(x_user=user_id, page="card"),
            },
        )
        return CardForm(
            registration_id=str(made["Id"]),
            url=str(made["CardRegistrationURL"]),
            access_key=str(made["AccessKey"]),
            data=str(made["PreregistrationData"]),
        )

    def finish_card(
        self, user_id: str, registration_id: str, registration_data: str, browser: Browser, ip: str, return_url: str
    ) -> Finished:
        owner = self.users.user(user_id)
        reg = self.transport.get(f"/cardregistrations/{registration_id}")
        if reg is None or reg.get("UserId") != owner:
            raise ProviderError("the card registration is not this person's")
        if reg.get("Status") == "CREATED":
            status, answer, _ = self.transport.call(
                lambda: self.transport.request(
                    "PUT", f"/cardregistrations/{registration_id}", {"RegistrationData": registration_data[:4096]}
                )
            )
            reg = (
                dict(answer or {})
                if status < 400
                else (self.transport.get(f"/cardregistrations/{registration_id}") or {})
            )
        if reg.get("Status") != "VALIDATED" or not reg.get("CardId"):
            return Finished(Outcome.REFUSED, reason=CARD_REASONS.get(str(reg.get("ResultCode")), "unreadable"))
        card = str(reg["CardId"])
        self.records.save(user_id, browser_info=json.dumps(browser.mangopay(), sort_keys=True), ip_address=ip)
        wallet = self.users.wallet(user_id, self.currency)
        funds = {"Currency": self.currency, "Amount": 0}
        recurring = self.transport.post(
            f"cardpage-recurring:{user_id}:{card}",
            "/recurringpayinregistrations",
            {
                "AuthorId": owner,
                "CardId": card,
                "CreditedUserId": owner,
                "CreditedWalletId": wallet,
                "FirstTransactionDebitedFunds": funds,
                "FirstTransactionFees": funds,
                "FreeCycles": 1,
                "Tag": tag(x_user=user_id),
            },
        )
        cit = self.transport.post(
            f"cardpage-cit:{user_id}:{card}",
            "/payins/recurring/card/direct",
            {
                "RecurringPayinRegistrationId": str(recurring["Id"]),
                "SecureModeReturnURL": return_url,
                "BrowserInfo": browser.mangopay(),
                "IpAddress": ip,
                "StatementDescriptor": "paybot",
                "Tag": tag(x_user=user_id, page="card"),
            },
        )
        return self._after_cit(user_id, cit)

    def card_returned(self, user_id: str, payment_id: str) -> Finished:
        owner = self.users.user(user_id)
        cit = self.transport.get(f"/payins/{payment_id}")
        if cit is None or cit.get("AuthorId") != owner:
            raise ProviderError("the card's authentication is not this person's")
        return self._after_cit(user_id, cit)

    def _after_cit(self, user_id: str, cit: dict[str, Any]) -> Finished:
        """Where the card's authentication stands; a success saves the card with its recurring registration."""
        status = cit.get("Status")
        if status == "SUCCEEDED":
            card, registration = str(cit["CardId"]), str(cit["RecurringPayinRegistrationId"])
            regs = json.loads(self.records.row(user_id).recurring)
            regs[f"{self.currency}:{card}"] = registration
            self.records.save(
                user_id, card_id=card, card_registration_id=None, recurring=json.dumps(regs, sort_keys=True)
            )
            log.info("card page: a card was saved for user %s", user_id)
            return Finished(Outcome.SAVED)
        if status == "CREATED" and cit.get("SecureModeRedirectURL"):
            return Finished(Outcome.NEEDS_3DS, url=str(cit["SecureModeRedirectURL"]), payment_id=str(cit["Id"]))
        if status == "CREATED":
            return Finished(Outcome.PENDING, payment_id=str(cit["Id"]))
        code = str(cit.get("ResultCode"))
        if code == NOT_VERIFIED:  # the person is an Owner whose identity check is not finished (SOURCE.md)
            return Finished(Outcome.REFUSED, reason="identity")
        return Finished(Outcome.REFUSED, reason="not_approved" if code in NOT_APPROVED else "declined")

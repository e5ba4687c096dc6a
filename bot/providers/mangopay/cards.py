"""Senders' cards at Mangopay (REGISTER): a Card Registration, then a recurring pay-in registration per currency,
then recurring card pay-ins (`bot.providers.mangopay.payments`): the first a customer-initiated transaction (CIT:
3DS may ask the cardholder on their bank's page), the next merchant-initiated (MIT, without them).

Chosen over the Web Card PayIn because paybot charges when a DM says YES, with nobody on a page: a Web Card PayIn is
a one-off payment on a hosted page each time and leaves no card that MITs can use; only a recurring registration lets
later pay-ins run off-session. Mangopay hosts no card-saving page, so REGISTER links to MANGOPAY_CARD_PAGE_URL, the
operator's page running Mangopay's Vault SDK on the registration ("{id}" in the URL), or to paybot's own card page
(bot.web.card_page, whose side is `bot.providers.mangopay.card_page`). The adapter reads the registration back to
learn the card: there is no event for it, so the open registrations are read at each poll (CARD_SAVED),
CARDS_PER_POLL a poll, in turn; a user has one open registration at a time, and one not completed within
REGISTRATION_MAX_AGE is no longer read. A CIT of a card saved on the operator's page carries placeholder browser data:
a bot has no browser of its payer, and issuers may challenge more often for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import PagePurpose
from bot.errors import ProviderError
from bot.money import Money
from bot.ports import Clock, EventKind, ProviderEvent, Registration
from bot.providers.mangopay.pages import IdentityNeeded, MangopayPages
from bot.providers.mangopay.people import PAY
from bot.providers.mangopay.transport import MangopayTransport, tag
from bot.providers.mangopay.users import MangopayUsers
from bot.repo.provider_records import MangopayRecords

log = logging.getLogger(__name__)

# The placeholder browser a customer-initiated pay-in carries when the person's own is not known (a card saved on the
# operator's page): a bot has no browser of its payer, and issuers may challenge more often for it.
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
REGISTRATION_MAX_AGE = timedelta(hours=24)  # a card page not completed within it is no longer read
CARDS_PER_POLL = 20  # open card registrations read per poll, in turn


class MangopayCardRegistrations:
    """Card registrations (the card pages' work, read back) and the recurring registrations payments run on."""

    def __init__(
        self,
        transport: MangopayTransport,
        records: MangopayRecords,
        users: MangopayUsers,
        pages: MangopayPages,
        clock: Clock,
        *,
        currency: str,
    ) -> None:
        self.transport = transport
        self.records = records
        self.users = users
        self.pages = pages
        self.clock = clock
        self.currency = currency  # the card registration's currency (the operator's default)
        self.polled_after = ""  # the user whose open registration the last poll read last (in turn)

    def has_card(self, user_id: str) -> bool:
        return self.card(user_id) is not None

    def card(self, user_id: str) -> str | None:
        """The saved card; reads the registration when a card page was opened and not reported yet."""
        row = self.records.row(user_id)
        if row.card_id or not row.card_registration_id:
            return row.card_id
        reg = self.transport.get(f"/cardregistrations/{row.card_registration_id}")
        if reg is None:
            return None
        if reg.get("Status") == "CREATED":
            made = datetime.fromtimestamp(int(reg.get("CreationDate") or 0), UTC)
            if self.clock.now() - made > REGISTRATION_MAX_AGE:
                self.records.save(
                    user_id, card_registration_id=None
                )  # never completed: no longer read (REGISTER again)
            return None
        if reg.get("Status") != "VALIDATED" or not reg.get("CardId"):
            self.records.save(user_id, card_registration_id=None)  # refused on the page: REGISTER again
            return None
        card = str(reg["CardId"])
        self.records.save(user_id, card_id=card, card_registration_id=None)
        try:
            # Made now, while the card is fresh: Mangopay makes a recurring registration only on a card VALID or
            # registered less than 24 hours ago (guides/payment-methods/card/recurring/how-to.mdx). Every pay-in
            # sends its own amount; this one is the registration's placeholder.
            self.recurring(
                user_id, str(reg["UserId"]), card, self.users.wallet(user_id, self.currency), Money(0, self.currency)
            )
        except ProviderError as err:  # made at the first payment instead (if still in time)
            log.warning("could not make the recurring registration of user %s's new card: %s", user_id, err)
        return card

    def register(self, user_id: str) -> Registration:
        if self.card(user_id):
            return Registration(already=True)
        if self.pages.people.identity(user_id) is None:
            # Their name and e-mail first, on the identity page ("pay"), whose link the service makes with the DM
            # (a link is a write, and REGISTER is answered inside the DM's transaction). With the operator's own card
            # page (MANGOPAY_CARD_PAGE_URL) no page of paybot's is served: the person is told it failed.
            if self.pages.own_card_page:
                return Registration(page=PAY, valid_for=self.pages.link_lifetime)
            raise IdentityNeeded(PAY, None)
        if self.pages.own_card_page:  # paybot's own card page (bot.web.card_page): it opens the registration
            return Registration(page=PagePurpose.CARD, valid_for=self.pages.link_lifetime)
        owner = self.users.user(user_id)
        open_one = self.records.row(user_id).card_registration_id
        if open_one:  # one open registration per user: a new link to the same page, not another registration
            return Registration(url=self.pages.card_page(owner, open_one), valid_for=self.pages.link_lifetime)
        made = self.transport.post(
            f"cardregistration:{user_id}:{self.clock.now().isoformat()}",
            "/cardregistrations",
            {"UserId": owner, "Currency": self.currency, "CardType": "CB_VISA_MASTERCARD", "Tag": tag(x_user=user_id)},
        )
        self.records.save(user_id, card_registration_id=str(made["Id"]))
        return Registration(url=self.pages.card_page(owner, str(made["Id"])), valid_for=self.pages.link_lifetime)

    def recurring(
        self, sender_id: str, author: str, card: str, wallet: str, amount: Money, *, renew: str | None = None
    ) -> str:
        """The recurring pay-in registration of this card into this wallet, made once; `renew`: the one in use
        has served RENEW_AFTER pay-ins, and a new one replaces it (its first pay-in a CIT) before Mangopay's
        99 (205001, errors/codes/205001.mdx)."""
        regs = json.loads(self.records.row(sender_id).recurring)
        slot = f"{amount.currency}:{card}"
        if slot in regs and regs[slot] != renew:
            return str(regs[slot])
        funds = {"Currency": amount.currency, "Amount": amount.minor}
        name = f"recurring:{sender_id}:{slot}" + (f":after:{renew}" if renew else "")
        made = self.transport.post(
            name,
            "/recurringpayinregistrations",
            {
                "AuthorId": author,
                "CardId": card,
                "CreditedUserId": author,
                "CreditedWalletId": wallet,
                "FirstTransactionDebitedFunds": funds,
                "FirstTransactionFees": {**funds, "Amount": 0},
                "Tag": tag(x_user=sender_id),
            },
        )
        regs[slot] = str(made["Id"])
        self.records.save(sender_id, recurring=json.dumps(regs, sort_keys=True))
        return str(made["Id"])

    def browser(self, user_id: str) -> dict[str, Any]:
        """A CIT's BrowserInfo and IpAddress: those the person's browser gave on paybot's card page. A card saved
        on the operator's own page (MANGOPAY_CARD_PAGE_URL) left none: the placeholder BROWSER then, which
        issuers may challenge more often."""
        row = self.records.row(user_id)
        if row.browser_info and row.ip_address:
            return {"BrowserInfo": json.loads(row.browser_info), "IpAddress": row.ip_address}
        return {"BrowserInfo": BROWSER, "IpAddress": "127.0.0.1"}

    def saved(self) -> list[ProviderEvent]:
        """CARD_SAVED, once, for each card page completed since the last poll (Mangopay has no event)."""
        waiting = self.records.open_registrations()
        # CARDS_PER_POLL a poll, in turn from where the last poll stopped, so a crowd of pages opened and never
        # completed cannot keep anyone's "card saved" waiting (and each registration ages out after a day).
        after = [w for w in waiting if w[0] > self.polled_after]
        turn = (after + [w for w in waiting if w not in after])[:CARDS_PER_POLL]
        if turn:
            self.polled_after = turn[-1][0] if len(turn) < len(waiting) else ""
        out = []
        for user_id, registration in turn:
            try:
                card = self.card(user_id)
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

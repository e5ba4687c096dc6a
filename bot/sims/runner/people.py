"""The people of a scenario on the providers' hosted pages, as the sandbox's would use them: a card typed or
saved, an account onboarded, a payment approved, an identity given; each only through the links the bot sent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.bootstrap import Bot
from bot.domain.entities import IdentityRecord
from bot.ports import FakeClock
from bot.providers.sandbox import SandboxProvider
from bot.sims.mangopay import MangopaySim
from bot.sims.mastodon_world import MastodonWorld
from bot.sims.runner.wiring import MANGOPAY_CARDS, STRIPE_CARDS
from bot.sims.stripe import StripeSim
from bot.sims.x import XSim


@dataclass
class People:
    """What the people of a run do outside X: on Stripe's or Mangopay's pages, or in the sandbox."""

    sim: XSim | MastodonWorld
    sandbox: SandboxProvider
    stripe: StripeSim | None
    mangopay: MangopaySim | None
    cards: dict[str, str]  # user id -> the card they save on a hosted page
    clock: FakeClock
    terms_url: str  # the Mangopay terms an identity was given under
    bot: Callable[[], Bot]  # the bot now (it is built again at each restart)
    work: Callable[[], None]  # the bot works until idle

    def complete_pages(self) -> None:
        """On Stripe and Mangopay, the people complete the pages the bot sent them to (the bot works after each
        round)."""
        if self.mangopay is not None:
            self._mangopay_pages()
            return
        if self.stripe is None:
            return
        for _ in range(20):
            acted = False
            for session in self.stripe.open_sessions():
                if session["mode"] == "setup":
                    user = self._stripe_user(customer_id=session["customer"])
                    self.stripe.complete_checkout(session["id"], STRIPE_CARDS[self.cards.get(user, "ok")])
                    acted = True
            for account in self.stripe.awaiting_onboarding():
                self.stripe.onboard(account)
                acted = True
            if not acted:
                return
            self.work()

    def _mangopay_pages(self) -> None:
        """People type their card on the card page and pass the identity verification they were sent to."""
        assert self.mangopay is not None
        for _ in range(20):
            acted = False
            for page in self.mangopay.open_card_pages():
                user = self._mangopay_x_user(page["UserId"])
                self.mangopay.complete_card_page(page["Id"], MANGOPAY_CARDS[self.cards.get(user, "ok")])
                acted = True
            for session in self.mangopay.open_kyc():
                self.mangopay.pass_kyc(session["Id"])
                acted = True
            for enrolment in self.mangopay.open_sca_sessions("ENROLMENT"):
                # a person enrols through the link the bot DMed them (the page wants its encoded returnUrl)
                link = self._sent_link(self._mangopay_x_user(enrolment["UserId"]), f"token={enrolment['Token']}")
                if link is not None:
                    self.mangopay.follow_sca_link(link)
                    acted = True
            if not acted:
                return
            self.work()

    def _mangopay_x_user(self, mangopay_user_id: str) -> str:
        row = self._stripe_provider().records.by_mangopay_id(mangopay_user_id)
        if row is None:
            raise LookupError(f"no X user of this run has Mangopay user {mangopay_user_id}")
        return str(row.user_id)

    def _stripe_user(self, *, customer_id: str) -> str:
        user = self._stripe_provider().records.user_of_customer(customer_id)
        if user is None:
            raise LookupError(f"no X user of this run has Stripe Customer {customer_id}")
        return str(user)

    def _stripe_provider(self) -> Any:
        return self.bot().provider

    def save_card(self, uid: str, card: str) -> None:
        """The user has a saved card (set up before the scenario, or on a page the bot never linked)."""
        self.cards[uid] = card
        if self.mangopay is not None:
            provider = self._stripe_provider()
            if provider.register(uid).already:
                return
            self.mangopay.complete_card_page(provider._row(uid).card_registration_id, MANGOPAY_CARDS[card])
            provider.has_card(uid)
            return
        if self.stripe is None:
            self.sandbox.set_card(uid, card)
            return
        self._stripe_provider().attach_card(uid, STRIPE_CARDS[card])

    def onboard(self, uid: str) -> None:
        if self.mangopay is not None:
            onboarding = self._stripe_provider().onboard(uid)
            if onboarding.enrol and onboarding.url:
                self.mangopay.follow_sca_link(onboarding.url)  # the Owner enrols in SCA first
                onboarding = self._stripe_provider().onboard(uid)
            if not onboarding.ready:
                self.mangopay.pass_kyc(self._stripe_provider()._row(uid).kyc_session_id)
            # set up before the scenario: they have opened their account once (180 days of wallet access)
            self.mangopay.pass_wallet_sca(str(self._stripe_provider()._row(uid).mangopay_user_id))
            return
        if self.stripe is None:
            self.sandbox.set_payouts(uid, True)
            return
        self.stripe.onboard(self._stripe_provider().account(uid))

    def approve(self, uid: str) -> None:
        if self.mangopay is not None:
            author = self._stripe_provider()._row(uid).mangopay_user_id
            if author is None:
                return
            # A person passes only the pages whose links the bot DMed them.
            for payin in self.mangopay.open_3ds(author):
                if self._was_sent(uid, str(payin["SecureModeRedirectURL"])):
                    self.mangopay.complete_3ds(payin["Id"])
            self.work()  # the bot learns of the pay-in and makes the transfer, which may want approval too
            for transfer in self.mangopay.open_sca(author):
                if self._was_sent(uid, str((transfer.get("PendingUserAction") or {}).get("RedirectUrl"))):
                    self.mangopay.approve_sca(transfer["Id"])
            return
        if self.stripe is None:
            self.sandbox.approve(uid)
            return
        customer = self._stripe_provider().customer(uid)
        for session in self.stripe.open_sessions(customer):
            if session["mode"] == "payment":
                self.stripe.complete_checkout(session["id"], STRIPE_CARDS[self.cards.get(uid, "ok")])

    def _sent_link(self, uid: str, part: str) -> str | None:
        """The link containing `part` that the bot DMed `uid` last, if any."""
        for m in reversed(self.sim.bot_messages()):
            if m["type"] == "dm" and m["to_id"] == uid and part in m["text"]:
                return next((w for w in str(m["text"]).split() if part in w), None)
        return None

    def _was_sent(self, uid: str, url: str) -> bool:
        return any(m["type"] == "dm" and m["to_id"] == uid and url in m["text"] for m in self.sim.bot_messages())

    def identity(self, uid: str) -> None:
        """On Mangopay, the person X user `uid` gave paybot's identity page (a person's name, e-mail, and what
        receiving needs) before the scenario: Mangopay is sent nothing placeholder, and they are never asked."""
        if self.mangopay is None:
            return
        n = sum(map(ord, uid))
        first = ("Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Gaëlle", "Hugo", "Inès", "Jules")[n % 10]
        last = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy")[n % 9]
        now = self.clock.now()
        with self.bot().service.uow() as tx:
            tx.identities.add(
                IdentityRecord(
                    user_id=uid,
                    first_name=first,
                    last_name=last,
                    email=f"person.{uid}@example.org",
                    birthday=date(1990, 3, 31),
                    nationality="FR",
                    residence="FR",
                    address_line1="12 rue de la Paix",
                    city="Paris",
                    postal_code="75002",
                    terms_url=self.terms_url,
                    terms_accepted_at=now,
                    lang="en",
                    updated_at=now,
                )
            )
            tx.commit()

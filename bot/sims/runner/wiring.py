"""What plugs paybot into the simulators for a scenario: its settings (the scenario's alone), the cards each
provider's emulator has for the scenario's cards, and the bot built as `paybot run` builds it on a virtual clock."""

from __future__ import annotations

import random
from datetime import timedelta

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bot.bootstrap import Bot, build, make_timeline
from bot.config import Settings
from bot.domain import CODE_ALPHABET
from bot.ports import FakeClock, PaymentProvider
from bot.sims.mangopay import CARD_3DS, CARD_DECLINED, CARD_OK
from bot.x.client import XClient


class ScenarioSettings(Settings):
    """Settings from the scenario alone: the operator's environment and .env are ignored."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        *_others: PydanticBaseSettingsSource,
        **_kw: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


# What people do on X that a "together" step may group before the bot's next look.
TOGETHER = {"tweet", "dm", "edit", "wait", "retweet", "quote", "rename", "x_fault"}
# Steps that change nothing the bot could see: it does not work after them (what they arm strikes later).
QUIET = {"crash", "disarm", "x_fault"}

# The Stripe test payment method that behaves like each scenario card.
STRIPE_CARDS = {
    "ok": "pm_card_visa",
    "declined": "pm_card_chargeCustomerFail",
    "needs_auth": "pm_card_authenticationRequired",
}
# The Mangopay emulator's card that behaves like each scenario card (typed on the card page).
MANGOPAY_CARDS = {"ok": CARD_OK, "declined": CARD_DECLINED, "needs_auth": CARD_3DS}


# PAYBOT_WEB_URL of a run whose pages are not served (their links are made and recorded all the same).
NO_PAGES = "http://127.0.0.1:9"


def build_on_sim(settings: Settings, clock: FakeClock, provider: PaymentProvider | None, rng: random.Random) -> Bot:
    """The bot as `paybot run` builds it, on a virtual clock, with seeded confirmation codes.

    `provider` None: the one the settings name (Stripe, at the emulator)."""
    if settings.paybot_timeline == "mastodon":
        timeline = make_timeline(settings, clock)
    else:
        timeline = XClient(
            **settings.require_x(),
            base_url=settings.x_api_base,
            clock=clock,
            dm_page_size=settings.paybot_dm_page_size,
            timeout=settings.x_timeout,
        )
    bot = build(
        settings,
        clock=clock,
        timeline=timeline,
        provider=provider,
        new_code=lambda: "".join(rng.choice(CODE_ALPHABET) for _ in range(4)),
    )
    if hasattr(bot.provider, "own_card_page") and settings.paybot_web_url == NO_PAGES:
        # No page is served here: REGISTER links the emulator's card page (MANGOPAY_CARD_PAGE_URL), where the people
        # type their card on the registration the adapter opens. paybot's own card page (bot.web.card_page) is
        # played in Chromium by tests/e2e/test_web_card_browser.py, which serves it at a PAYBOT_WEB_URL of its own.
        bot.provider.own_card_page = False
    people = getattr(bot.provider, "people", None)
    if people is not None and hasattr(people, "nonce"):
        # Mangopay's page links: nonces from the virtual time (not the codes' generator), so a run replays to the
        # same words; one already stored (a restart at the same instant) is drawn again.
        nonces = random.Random(f"page-links:{clock.now().isoformat()}")
        people.nonce = lambda: "".join(nonces.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(16))
    # One virtual clock for X and the bot, standing still during a step: nothing to allow for between them (the
    # steps of a scenario share instants; a margin would leave every answer waiting until time moves).
    bot.worker.read_margin = timedelta(0)
    return bot

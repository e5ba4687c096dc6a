"""The card page's tests: paybot's web app on the Mangopay adapter and its emulator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mangopay.api import APIRequest

from bot.ports import FakeClock
from bot.providers.mangopay_provider import MangopayProvider
from bot.sims.mangopay import MangopaySim
from tests.support.mangopay_people import KnownPeople
from tests.support.records import mangopay_records
from tests.support.webworld import TTL


def on_sim(tmp_path: Path, **more: Any) -> tuple[MangopaySim, MangopayProvider]:
    """The Mangopay emulator on a fake clock, started, and the adapter on it (EUR, links of TTL), its people having
    given the identity page already (`people=` otherwise)."""
    sim = MangopaySim(FakeClock())
    sim.start()
    handler = APIRequest(
        client_id=sim.client_id,
        apikey=sim.api_key,
        api_url=sim.base + "/v2.01/",
        api_sandbox_url=sim.base + "/v2.01/",
        sandbox=False,
    )
    return sim, MangopayProvider(
        handler,
        mangopay_records(tmp_path / "mangopay.db", sim.clock),
        sim.clock,
        card_page_url="",
        currency="EUR",
        link_lifetime=TTL,
        people=more.pop("people", KnownPeople()),
        **more,
    )


def type_card(page: Any, number: str, lang: str = "en") -> None:
    labels = {
        "en": ("Card number", "Expiry date", "Security code", "Save my card", "Your X handle"),
        "fr": (
            "Numéro de carte",
            "Date d’expiration",
            "Code de sécurité",
            "Enregistrer ma carte",
            "Votre identifiant X",
        ),
    }[lang]
    named = re.search(r"@(\w+)", page.locator("#x-handle-for").inner_text())  # the account the page names
    assert named
    page.get_by_label(labels[4]).fill(named.group(1))  # theirs: they type it
    page.get_by_label(labels[0]).fill(" ".join(number[i : i + 4] for i in range(0, len(number), 4)))
    page.get_by_label(labels[1]).fill("12/29")
    page.get_by_label(labels[2]).fill("123")
    with page.expect_navigation():
        page.get_by_role("button", name=labels[3]).click()

"""What the card page asks of the payment provider (`CardPort`), and what it hands over: no Flask, no provider.

The page never sees a card number: the browser tokenizes the card straight to the provider's tokenization server
(`CardForm.url`) and the page gets back only that server's answer (`data=...` or `errorCode=...`). The provider's
side is bot.providers.mangopay_cards; the tests may give a fake.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Protocol

MAX_TEXT = 512  # characters kept of a browser's text field (Accept header, language, user agent)


@dataclass(frozen=True)
class CardForm:
    """A card registration opened for the page: where the browser tokenizes, and the two values it sends there."""

    registration_id: str
    url: str  # Mangopay's CardRegistrationURL, used in full (host, path and query)
    access_key: str
    data: str  # PreregistrationData

    @property
    def origin(self) -> str:
        """The tokenization server's origin (scheme://host[:port]), for the page's Content-Security-Policy."""
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"


@dataclass(frozen=True)
class Browser:
    """The person's browser as 3-D Secure wants it (Mangopay's BrowserInfo): read by the page's script, but the
    Accept header, which is the request's own."""

    accept_header: str
    java_enabled: bool
    language: str
    color_depth: int
    screen_height: int
    screen_width: int
    time_zone_offset: int
    user_agent: str
    javascript_enabled: bool = True

    @classmethod
    def read(cls, form: Mapping[str, str], accept_header: str, user_agent: str) -> Browser | None:
        """The browser a card form describes (fields `browser_*`), or None when a value is missing or absurd.
        The user agent is the request's header (a script could only repeat it)."""
        try:
            numbers = {
                name: int(form.get(f"browser_{name}", ""))
                for name in ("color_depth", "screen_height", "screen_width", "time_zone_offset")
            }
        except ValueError:
            return None
        language = form.get("browser_language", "").strip()[:MAX_TEXT]
        if (
            not language
            or not accept_header
            or not user_agent
            or not 1 <= numbers["color_depth"] <= 64
            or not 0 < numbers["screen_height"] < 100_000
            or not 0 < numbers["screen_width"] < 100_000
            or not -900 <= numbers["time_zone_offset"] <= 900
        ):
            return None
        return cls(
            accept_header=accept_header[:MAX_TEXT],
            java_enabled=form.get("browser_java") == "true",
            language=language,
            color_depth=numbers["color_depth"],
            screen_height=numbers["screen_height"],
            screen_width=numbers["screen_width"],
            time_zone_offset=numbers["time_zone_offset"],
            user_agent=user_agent[:MAX_TEXT],
        )

    def mangopay(self) -> dict[str, Any]:
        """Mangopay's BrowserInfo object."""
        names = {
            "accept_header": "AcceptHeader",
            "java_enabled": "JavaEnabled",
            "language": "Language",
            "color_depth": "ColorDepth",
            "screen_height": "ScreenHeight",
            "screen_width": "ScreenWidth",
            "time_zone_offset": "TimeZoneOffset",
            "user_agent": "UserAgent",
            "javascript_enabled": "JavascriptEnabled",
        }
        return {names[k]: v for k, v in asdict(self).items()}


def client_ip(remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int) -> str | None:
    """The person's IP address. `trusted_proxies` (PAYBOT_TRUSTED_PROXIES) is how many proxies of the operator's
    stand in front of paybot (Heroku's router: 1): the address is then the one that many hops from the right of
    X-Forwarded-For, which those proxies wrote. With 0 (the default) X-Forwarded-For is ignored, since anyone can
    send it, and the address is the connection's. None when it is not an IP address."""
    candidate = remote_addr
    if trusted_proxies > 0 and forwarded_for:
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        if len(hops) >= trusted_proxies:
            candidate = hops[-trusted_proxies]
    try:
        return str(ipaddress.ip_address((candidate or "").strip()))
    except ValueError:
        return None


class Outcome(StrEnum):
    SAVED = "saved"  # the card is saved and authenticated: payments need nothing more of the person
    NEEDS_3DS = "needs_3ds"  # the bank wants the person on its page (`Finished.url`) first
    REFUSED = "refused"  # the card was not accepted (`Finished.reason`): nothing is kept, another card may be tried
    PENDING = "pending"  # the bank has not answered yet (back from 3DS too early): the page says to wait


@dataclass(frozen=True)
class Finished:
    outcome: Outcome
    url: str | None = None  # NEEDS_3DS: the bank's page
    # REFUSED: why, one of "number", "expiry", "cvc" (the tokenization server's refusals), "unreadable",
    # "declined" (the bank refused), "not_approved" (3-D Secure failed or lapsed), "identity" (an Owner whose
    # identity check is not finished: Mangopay credits no wallet of theirs, 002951)
    reason: str | None = None
    payment_id: str | None = None  # NEEDS_3DS, PENDING: the authentication to read back on return


class CardPort(Protocol):
    """The provider's side of the card page."""

    def open_card(self, user_id: str) -> CardForm:
        """A card registration for X user `user_id`, ready for the browser to tokenize a card into."""
        ...

    def finish_card(
        self, user_id: str, registration_id: str, registration_data: str, browser: Browser, ip: str, return_url: str
    ) -> Finished:
        """The tokenization server's answer sent back; then the card authenticated while the person is there,
        with their browser and IP (`return_url`: where the bank's page sends them back)."""
        ...

    def card_returned(self, user_id: str, payment_id: str) -> Finished:
        """What the bank's page decided, read when the person comes back from it."""
        ...

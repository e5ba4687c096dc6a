"""Typed settings from the environment and `.env`. Built only when asked for, never at import.

config.example.env documents every setting; `Settings.require_x()` refuses a
missing or placeholder credential with one sentence naming the setting.
"""

from __future__ import annotations

import hmac
import ipaddress
import itertools
import re
from datetime import timedelta
from decimal import Decimal
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import CommandError, ConfigError
from bot.money import CURRENCIES, parse_minor

_DURATION = re.compile(r"(\d+)\s*(s|m|h|d)")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
PLACEHOLDERS = {"", "changethis", "changeme", "change-me", "xxx", "todo", "placeholder", "secret"}


def parse_duration(text: str) -> timedelta:
    """ "30s", "15m", "2h", "14d" (or a sum: "1h30m") as a timedelta."""
    t = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(t)
    if not parts or "".join(n + u for n, u in parts) != t:
        raise ValueError(f"'{text}' is not a duration like 30s, 15m, 2h or 14d")
    total = timedelta()
    for n, unit in parts:
        total += timedelta(**{_UNITS[unit]: int(n)})
    return total


KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "whsec_")
MANGOPAY_SANDBOX = "https://api.sandbox.mangopay.com"
MANGOPAY_PRODUCTION = "https://api.mangopay.com"
MANGOPAY_HOSTS = {
    "api.sandbox.mangopay.com",
    "api.mangopay.com",
    "api-mtls.sandbox.mangopay.com",
    "api-mtls.mangopay.com",
}
LOOPBACK_HOSTS = {"localhost", "::1"}
# A secret paybot is given to sign or check with (webhook signing secrets, the key that signs bank-page links):
# at least this many characters, random-looking (see `weak_secret`).
MIN_SECRET_CHARS = 32
SIGNING_SECRET = re.compile(r"whsec_[A-Za-z0-9]+")  # Stripe's: whsec_ and base62 (hex for the Stripe CLI's)


def is_placeholder(value: str) -> bool:
    """Whether a secret is still the example's ("changethis", "sk_test_changethis", "<your key>"...)."""
    v = value.strip().lower()
    for prefix in KEY_PREFIXES:
        v = v.removeprefix(prefix)
    return v in PLACEHOLDERS or v.startswith(("<", "your-", "your_", "replace")) or set(v) <= {"x", "."}


def weak_secret(value: str, prefix: str = "") -> str | None:
    """Why a secret (after its `prefix`) is too weak to sign with, in words that never quote it; None when it
    is long and random-looking: MIN_SECRET_CHARS characters or more, at least 10 different ones, no run of 7
    repeated or consecutive characters ("aaaaaaa", "1234567", "gfedcba"), and not one piece said again."""
    body = value.strip().removeprefix(prefix)
    if len(body) < MIN_SECRET_CHARS:
        return f"it has fewer than {MIN_SECRET_CHARS} characters{' after ' + prefix if prefix else ''}"
    if len(set(body)) < 10:
        return "it uses fewer than 10 different characters"
    run, step = 1, None
    for a, b in itertools.pairwise(body):
        now = ord(b) - ord(a)
        run = run + 1 if now == step and now in (0, 1, -1) else 2
        step = now
        if run >= 7:
            return "it holds a run of repeated or consecutive characters"
    for size in range(1, len(body) // 2 + 1):
        if len(body) % size == 0 and body[:size] * (len(body) // size) == body:
            return "it is one piece said again"
    return None


def database_password_parts(url: str | None) -> list[str]:
    """The password of a database URL, as parsed and as written (everything between "user:" and the
    last "@", so a password with an "@" in it is caught whole and by its pieces)."""
    if not url or "://" not in url:
        return []
    rest = url.split("://", 1)[1]
    userinfo = rest.rsplit("@", 1)[0] if "@" in rest else ""
    if ":" not in userinfo:
        return []
    raw = userinfo.split(":", 1)[1]
    # A driver that misreads such a URL cuts it at an "@" or a ":": every piece is a secret.
    parts = {raw, unquote(raw), *re.split(r"[@:]", raw), *re.split(r"[@:]", unquote(raw))}
    return sorted((p for p in parts if len(p) >= 4), key=len, reverse=True)


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine: "localhost" or a loopback IP address (not a name like 127.x.com)."""
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def checked_base(
    name: str, url: str | None, *, live: bool, official: frozenset[str] | set[str] = frozenset(), override: bool = True
) -> str | None:
    """An address paybot sends credentials to or puts in links (an API base: X_API_BASE, STRIPE_API_BASE,
    MANGOPAY_API_BASE; a page whose links carry a bearer id or token), or ConfigError.

    Plain http only to this machine (an emulator), whatever the host, the provider's own (`official`)
    included. An API base outside `official` is an override, for emulators and tests: refused for a live
    bot (its credentials would go wherever the override points). `override=False`: the operator's own
    page, never an override (only the https rule)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name.upper()} is not an http(s) address")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"{name.upper()} uses plain http to {parts.hostname}: the credentials would cross the "
            "network unencrypted. Use https, or an emulator on 127.0.0.1"
        )
    if live and override and parts.hostname not in official:
        raise ConfigError(
            f"{name.upper()} is set, and this bot is live (real keys, real money): its credentials "
            "would go to that address instead of the real API. Unset it; it is for emulators and tests"
        )
    return url


class Settings(BaseSettings):
    """Every setting paybot reads; environment variable names are the field names, upper-case."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    x_consumer_key: SecretStr | None = None
    x_consumer_secret: SecretStr | None = None
    x_access_token: SecretStr | None = None
    x_access_token_secret: SecretStr | None = None
    x_api_base: str | None = None
    x_timeout: float = Field(10.0, gt=0, le=120)
    paybot_handle: str = "paybot"
    # Which timeline the bot watches: X (the X_* settings) or a Mastodon instance (the MASTODON_* settings).
    paybot_timeline: Literal["x", "mastodon"] = "x"
    mastodon_base_url: str | None = None  # the bot's instance, e.g. https://mastodon.example (http: only 127.0.0.1)
    mastodon_access_token: SecretStr | None = None  # the bot account's token (scopes read and write)

    database_url: str | None = None
    paybot_db_path: str = "paybot.db"
    paybot_provider: Literal["sandbox", "stripe", "mangopay"] = "sandbox"
    sandbox_db_path: str = "paybot-sandbox.db"

    stripe_api_key: SecretStr | None = None
    stripe_db_path: str = "paybot-stripe.db"  # the Stripe adapter's records, when DATABASE_URL is not set
    stripe_api_base: str | None = None  # an emulator's address (tests, `paybot simulate --provider stripe`)
    stripe_return_url: str = "https://x.com/messages"  # where Stripe's pages send people back to
    stripe_application_fee_bps: int = Field(0, ge=0, le=5000)  # the platform's cut of each payment
    stripe_webhook_secret: SecretStr | None = None  # "whsec_...", for `paybot webhook` only
    # The signing secret of a Connect endpoint (events of connected accounts: onboarding), which Stripe
    # signs with a secret of its own; `paybot webhook` accepts events signed with either.
    stripe_connect_webhook_secret: SecretStr | None = None
    stripe_max_network_retries: int = Field(3, ge=0, le=10)
    paybot_live: bool = False  # must be set to use a live Stripe key or Mangopay's production: real money

    mangopay_client_id: str | None = None
    mangopay_api_key: SecretStr | None = None
    mangopay_api_base: str = MANGOPAY_SANDBOX  # MANGOPAY_PRODUCTION for real money (with PAYBOT_LIVE=1)
    # The card page REGISTER links to, "{id}" standing for the Card Registration's id: a page of the operator's
    # that tokenizes the card with Mangopay's Vault SDK (Mangopay hosts no card-saving page of its own).
    mangopay_card_page_url: str | None = None
    # Gone: CASHOUT links to paybot's own cash-out account page (`paybot web`, PAYBOT_WEB_URL). Set, it is refused
    # (ConfigError), so an operator's page built for it is not left waiting for links that never come.
    mangopay_bank_page_url: str | None = None
    # The secret the links to those pages are signed with (bot.links: a key derived from it for that purpose
    # only), which the operator's pages also hold to check them; never the API key, which moves every wallet.
    # Required on Mangopay: at least 32 random characters (e.g. `openssl rand -hex 32`).
    paybot_link_secret: SecretStr | None = None
    paybot_link_ttl: str = "15m"  # how long a link to one of the pages works
    # paybot's own pages (`paybot web`): the public address they are served at, which the links the bot DMs start
    # with (https, or http to this machine); their links are signed with PAYBOT_LINK_SECRET and work PAYBOT_LINK_TTL.
    paybot_web_url: str | None = None
    # How many proxies of the operator's stand in front of `paybot web` and append to X-Forwarded-For (Heroku's
    # router: 1). 0: the header is ignored (anyone can send it) and a person's IP address is the connection's.
    # The card page sends that address to Mangopay with the card's authentication (bot.web.card_port.client_ip).
    paybot_trusted_proxies: int = Field(default=0, ge=0, le=5)
    # Mangopay's terms, shown with their link on the identity page; the person accepts them there.
    mangopay_terms_url: str = "https://mangopay.com/terms-and-conditions"
    mangopay_return_url: str = "https://x.com/messages"  # where the 3DS, SCA and identity pages send people back
    mangopay_db_path: str = "paybot-mangopay.db"  # the Mangopay adapter's records, when DATABASE_URL is not set
    mangopay_max_network_retries: int = Field(2, ge=0, le=10)

    # What X may cost a day, in US dollars ("5", "2.50"): the console's chart of X's requests and cost draws it as a
    # line. A Decimal, as every amount in settings; the chart turns it into a coordinate only when drawing.
    paybot_x_budget_usd: Decimal = Field(Decimal(5), ge=0, max_digits=9, decimal_places=2)

    paybot_currency: str = "USD"
    paybot_currencies: str = "USD,EUR,GBP"
    paybot_min_transfer: str = "0.50"
    paybot_max_transfer: str = "250"
    paybot_daily_max: str = "500"
    paybot_confirm_ttl: str = "10m"
    paybot_request_ttl: str = "7d"
    paybot_claim_window: str = "14d"
    # Money a user received is kept from CASHOUT this long: a stolen card's payment can be disputed for weeks,
    # and a mule must not take it out at once ("0s": no hold; `paybot status` then warns).
    paybot_cashout_hold: str = "7d"
    # An answer is judged against the last reading of mentions only when X's time for it is this much before the
    # reading began (X's times are cut to the millisecond; the clocks may differ: `paybot doctor` checks 5 s).
    paybot_answer_margin: str = "5s"
    paybot_cashouts_per_day: int = Field(2, ge=1, le=100)  # cash-outs per user in any 24 hours
    paybot_dm_answers_per_hour: int = Field(10, ge=2, le=1000)  # answers to DMs that move no money, per person
    paybot_requests_per_hour: int = Field(10, ge=1, le=1000)  # request commands per requester
    paybot_requests_per_payer_day: int = Field(5, ge=1, le=1000)  # request commands naming one payer
    paybot_strangers_per_day: int = Field(5, ge=0, le=1000)  # payments to people who never wrote to the bot
    paybot_sends_per_hour: int = Field(20, ge=1, le=1000)  # send commands per sender
    paybot_pending_sends: int = Field(5, ge=1, le=100)  # send commands per sender waiting for their answer
    paybot_pending_sends_no_card: int = Field(1, ge=1, le=100)  # the same, for a sender without a saved card

    paybot_mentions_interval: float = Field(10.0, gt=0)
    paybot_dms_interval: float = Field(60.0, gt=0)
    paybot_dms_idle_interval: float = Field(300.0, ge=0)
    paybot_tick_interval: float = Field(30.0, gt=0)
    paybot_outbox_interval: float = Field(5.0, gt=0)
    paybot_reconcile_interval: float = Field(86400.0, gt=0)  # the store against the provider, daily
    paybot_dm_page_size: int = Field(20, ge=1, le=100)
    paybot_lease_ttl: float = Field(30.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("paybot_currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if v.upper() not in CURRENCIES:
            raise ValueError(f"unknown currency {v!r}; one of {', '.join(CURRENCIES)}")
        return v.upper()

    @field_validator("paybot_currencies")
    @classmethod
    def _currencies(cls, v: str) -> str:
        codes = [c.strip().upper() for c in v.split(",") if c.strip()]
        unknown = [c for c in codes if c not in CURRENCIES]
        if not codes or unknown:
            raise ValueError(f"unknown currency {', '.join(unknown) or '(none)'}; one of {', '.join(CURRENCIES)}")
        return ",".join(codes)

    def enabled_currencies(self) -> tuple[str, ...]:
        """The currencies commands may use; the default currency is always one of them."""
        codes = tuple(self.paybot_currencies.split(","))
        return codes if self.paybot_currency in codes else (*codes, self.paybot_currency)

    @field_validator(
        "paybot_confirm_ttl",
        "paybot_request_ttl",
        "paybot_claim_window",
        "paybot_link_ttl",
        "paybot_cashout_hold",
        "paybot_answer_margin",
    )
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v

    @field_validator("paybot_handle")
    @classmethod
    def _handle(cls, v: str) -> str:
        v = v.lstrip("@")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,15}", v):
            raise ValueError(f"'{v}' is not an X handle")
        return v

    def minor(self, name: str) -> int:
        """An amount setting in minor units of the default currency."""
        value = getattr(self, name)
        try:
            return parse_minor(value, self.paybot_currency)
        except CommandError as err:
            raise ConfigError(f"{name.upper()}: {err.message}") from None

    def require_x(self) -> dict[str, str]:
        """The four X credentials (consumer_key=..., ...); ConfigError naming the first missing or placeholder one."""
        out = {}
        for name in ("x_consumer_key", "x_consumer_secret", "x_access_token", "x_access_token_secret"):
            secret: SecretStr | None = getattr(self, name)
            if secret is None:
                raise ConfigError(
                    f"{name.upper()} is not set: put it in the environment or in .env (see config.example.env)"
                )
            if is_placeholder(secret.get_secret_value()):
                raise ConfigError(
                    f"{name.upper()} still holds a placeholder: set the real value from the X developer portal"
                )
            out[name.removeprefix("x_")] = secret.get_secret_value()
        checked_base("x_api_base", self.x_api_base, live=self.paybot_live)
        return out

    def require_mastodon(self) -> tuple[str, str]:
        """The Mastodon instance's address and the bot's access token; ConfigError when either is missing or a
        placeholder, or the address is not https (plain http only to this machine: a simulator)."""
        if not self.mastodon_base_url:
            raise ConfigError(
                "MASTODON_BASE_URL is not set: the address of the bot's Mastodon instance, "
                "e.g. https://mastodon.example"
            )
        base = checked_base("mastodon_base_url", self.mastodon_base_url, live=self.paybot_live, override=False)
        token = self.mastodon_access_token.get_secret_value() if self.mastodon_access_token else ""
        if not token:
            raise ConfigError(
                "MASTODON_ACCESS_TOKEN is not set: create an application in the bot account's "
                "Preferences → Development (scopes read and write) and copy its access token"
            )
        if is_placeholder(token):
            raise ConfigError("MASTODON_ACCESS_TOKEN still holds a placeholder: copy the application's access token")
        return str(base), token

    def require_timeline(self) -> None:
        """The chosen timeline's settings are usable (PAYBOT_TIMELINE: X's credentials or Mastodon's)."""
        if self.paybot_timeline == "mastodon":
            self.require_mastodon()
        else:
            self.require_x()

    def secrets(self) -> list[str]:
        """Every secret value the settings hold, for the log filter and for error lines: the X
        credentials, the Stripe key and signing secret, and DATABASE_URL's password (also as the raw
        text up to the last "@", which is what a driver's error shows when the password holds an "@")."""
        values = [
            v.get_secret_value()
            for v in (
                self.x_consumer_key,
                self.x_consumer_secret,
                self.x_access_token,
                self.x_access_token_secret,
                self.stripe_api_key,
                self.stripe_webhook_secret,
                self.stripe_connect_webhook_secret,
                self.mangopay_api_key,
                self.paybot_link_secret,
                self.mastodon_access_token,
            )
            if v
        ]
        return values + database_password_parts(self.database_url)

    def overrides(self) -> list[str]:
        """The API base overrides in force, for a warning at start and in `paybot doctor`."""
        mangopay = None if urlsplit(self.mangopay_api_base).hostname in MANGOPAY_HOSTS else self.mangopay_api_base
        return [
            f"{name.upper()}={value}"
            for name, value in (
                ("x_api_base", self.x_api_base),
                ("stripe_api_base", self.stripe_api_base),
                ("mangopay_api_base", mangopay),
            )
            if value
        ]

    def require_webhook_secrets(self) -> tuple[str, str | None]:
        """The webhook's signing secrets: the platform endpoint's, and the Connect endpoint's (None if unset);
        ConfigError when the first is missing, either is a placeholder, not of Stripe's shape (whsec_ and at
        least MIN_SECRET_CHARS random-looking characters), or both are the same."""
        out = []
        for name, value in (
            ("STRIPE_WEBHOOK_SECRET", self.stripe_webhook_secret),
            ("STRIPE_CONNECT_WEBHOOK_SECRET", self.stripe_connect_webhook_secret),
        ):
            secret = value.get_secret_value() if value else ""
            if not secret:
                if name == "STRIPE_WEBHOOK_SECRET":
                    raise ConfigError(
                        f"{name} is not set: copy the endpoint's signing secret (whsec_...) "
                        "from the Stripe dashboard (Developers → Webhooks)"
                    )
                continue
            if is_placeholder(secret):
                raise ConfigError(
                    f"{name} still holds a placeholder: anyone could sign events with it. "
                    "Copy the endpoint's signing secret from the Stripe dashboard"
                )
            if not SIGNING_SECRET.fullmatch(secret):
                raise ConfigError(
                    f"{name} does not look like a Stripe signing secret (whsec_ and letters or "
                    "digits): copy the endpoint's signing secret from the Stripe dashboard"
                )
            weak = weak_secret(secret, "whsec_")
            if weak:
                raise ConfigError(
                    f"{name} is too weak to be a Stripe signing secret ({weak}; Stripe's have at "
                    f"least {MIN_SECRET_CHARS} random ones after whsec_): anyone could guess it and "
                    "sign events. Copy the endpoint's signing secret from the Stripe dashboard"
                )
            if secret in out:
                raise ConfigError(
                    f"{name} is the same as STRIPE_WEBHOOK_SECRET: Stripe signs each endpoint with a "
                    "secret of its own, and paybot tells the platform's events from connected "
                    "accounts' by the secret that signed them"
                )
            out.append(secret)
        return out[0], (out[1] if len(out) > 1 else None)

    def require_mangopay(self) -> tuple[str, str, str]:
        """The Mangopay client id, API key and API base; ConfigError when one is missing or a placeholder,
        or the base is production without PAYBOT_LIVE=1 (or an emulator's address beyond this machine)."""
        return _require_mangopay(self)

    def require_link_secret(self) -> str:
        """The secret links to the operator's pages are signed with (PAYBOT_LINK_SECRET); ConfigError when it is
        missing, weak, or the Mangopay API key."""
        return _require_link_secret(self)

    def require_web(self) -> tuple[str, str]:
        """The pages' public address (PAYBOT_WEB_URL, no trailing slash) and link secret; ConfigError naming what is
        missing or wrong (the address must be https, or http to this machine: the links carry a bearer token)."""
        secret = self.require_link_secret()
        if not self.paybot_web_url:
            raise ConfigError(
                "PAYBOT_WEB_URL is not set: the links the bot sends to paybot's pages start with it "
                "(the public https address `paybot web` is served at, e.g. https://paybot.example.com)"
            )
        base = checked_base("paybot_web_url", self.paybot_web_url.rstrip("/"), live=self.paybot_live, override=False)
        if base is None:  # cannot happen: said so, rather than an assert that -O removes
            raise RuntimeError("base is missing")
        return base, secret

    def require_stripe(self) -> str:
        """The Stripe secret key; ConfigError when it is missing, malformed, or live without PAYBOT_LIVE=1."""
        secret = self.stripe_api_key.get_secret_value() if self.stripe_api_key else ""
        if not secret:
            raise ConfigError(
                "STRIPE_API_KEY is not set: PAYBOT_PROVIDER=stripe needs your Stripe secret key "
                "(start with a test key, sk_test_...)"
            )
        if is_placeholder(secret):
            raise ConfigError("STRIPE_API_KEY still holds a placeholder: set a key from the Stripe dashboard")
        if not secret.startswith(("sk_test_", "rk_test_", "sk_live_", "rk_live_")):
            raise ConfigError("STRIPE_API_KEY does not look like a Stripe secret key (sk_test_... or sk_live_...)")
        live = secret.startswith(("sk_live_", "rk_live_"))
        if live and not self.paybot_live:
            raise ConfigError(
                "STRIPE_API_KEY is a live key: it moves real money. Set PAYBOT_LIVE=1 as well "
                "if that is what you want; otherwise use a test key (sk_test_...)"
            )
        checked_base("stripe_api_base", self.stripe_api_base, live=live or self.paybot_live)
        return secret


def is_live_mangopay(base: str) -> bool:
    """Whether a Mangopay API base is production (real money): api.mangopay.com or its mTLS twin."""
    return urlsplit(base).hostname in ("api.mangopay.com", "api-mtls.mangopay.com")


def _require_mangopay(settings: Settings) -> tuple[str, str, str]:
    """The Mangopay client id, API key and base URL; ConfigError naming the setting that is wrong."""
    client = (settings.mangopay_client_id or "").strip()
    key = settings.mangopay_api_key.get_secret_value() if settings.mangopay_api_key else ""
    if not client:
        raise ConfigError(
            "MANGOPAY_CLIENT_ID is not set: PAYBOT_PROVIDER=mangopay needs your Mangopay client id "
            "(start with a sandbox one)"
        )
    if not key:
        raise ConfigError(
            "MANGOPAY_API_KEY is not set: PAYBOT_PROVIDER=mangopay needs the API key of MANGOPAY_CLIENT_ID"
        )
    if is_placeholder(client) or is_placeholder(key):
        raise ConfigError(
            f"{'MANGOPAY_CLIENT_ID' if is_placeholder(client) else 'MANGOPAY_API_KEY'} still holds "
            "a placeholder: set the value from the Mangopay dashboard"
        )
    base = settings.mangopay_api_base.rstrip("/")
    checked_base("mangopay_api_base", base, live=settings.paybot_live, official=MANGOPAY_HOSTS)
    live = is_live_mangopay(base)
    if live and not settings.paybot_live:
        raise ConfigError(
            "MANGOPAY_API_BASE is Mangopay's production: it moves real money. Set PAYBOT_LIVE=1 as "
            f"well if that is what you want; otherwise use the sandbox ({MANGOPAY_SANDBOX})"
        )
    # With PAYBOT_WEB_URL, REGISTER links to paybot's own card page (docs/mangopay-card-page.md), and
    # MANGOPAY_CARD_PAGE_URL (an operator's page of their own) is not needed.
    own_page = bool(settings.paybot_web_url and settings.paybot_link_secret)
    if not own_page and (not settings.mangopay_card_page_url or "{id}" not in settings.mangopay_card_page_url):
        raise ConfigError(
            "MANGOPAY_CARD_PAGE_URL is not set: REGISTER links to your card page (Mangopay's Vault "
            "SDK), its address with {id} where the Card Registration's id goes; or set "
            "PAYBOT_WEB_URL to use paybot's own card page"
        )
    if settings.mangopay_card_page_url and any(p not in settings.mangopay_card_page_url for p in ("{user}", "{token}")):
        raise ConfigError(
            "MANGOPAY_CARD_PAGE_URL must carry {user} and {token} as well as {id}: the link is signed "
            "for that user and registration (bot/links.py), and your page checks it"
        )
    if settings.mangopay_card_page_url:
        # The links carry the Card Registration's id, or a signed token: bearer credentials of the user's.
        checked_base(
            "mangopay_card_page_url", settings.mangopay_card_page_url, live=settings.paybot_live, override=False
        )
    if settings.mangopay_bank_page_url:
        raise ConfigError(
            "MANGOPAY_BANK_PAGE_URL is no longer used: CASHOUT now links to paybot's own cash-out "
            "account page (`paybot web`, at PAYBOT_WEB_URL). Remove the setting (see "
            "docs/mangopay-identity-and-cashout.md)"
        )
    # Mangopay's users are made from the identity page, cards saved on the card page and cash-out accounts added on
    # paybot's own page: all served by `paybot web` at PAYBOT_WEB_URL, their links signed with PAYBOT_LINK_SECRET.
    settings.require_web()
    return client, key, base


def _require_link_secret(settings: Settings) -> str:
    """PAYBOT_LINK_SECRET, strong and of its own; ConfigError naming it otherwise (never quoting it)."""
    secret = settings.paybot_link_secret.get_secret_value() if settings.paybot_link_secret else ""
    if not secret or is_placeholder(secret):
        raise ConfigError(
            "PAYBOT_LINK_SECRET is not set: the links to your Mangopay pages are signed with it, and "
            f"your pages check them with it. Use at least {MIN_SECRET_CHARS} random characters "
            "(openssl rand -hex 32)"
        )
    weak = weak_secret(secret)
    if weak:  # it signs the links' tokens: a guessable secret lets anyone make one
        raise ConfigError(
            f"PAYBOT_LINK_SECRET is too weak to sign links ({weak}; at least {MIN_SECRET_CHARS} random "
            "ones): anyone could guess it and make links. Use openssl rand -hex 32"
        )
    api_key = settings.mangopay_api_key.get_secret_value() if settings.mangopay_api_key else ""
    if api_key and hmac.compare_digest(secret.strip(), api_key.strip()):
        raise ConfigError(
            "PAYBOT_LINK_SECRET is the Mangopay API key: the pages that check links would hold the "
            "key that moves every wallet. Use a secret of its own (openssl rand -hex 32)"
        )
    return secret


def load_settings(**overrides: object) -> Settings:
    """Read the settings; ConfigError with one line naming the bad setting."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise ConfigError(f"{name}: {first['msg']}") from None
    for name in ("paybot_min_transfer", "paybot_max_transfer", "paybot_daily_max"):
        settings.minor(name)
    return settings

"""`Settings`: every setting paybot reads, typed, from the environment and `.env`; `load_settings` builds them
(only when asked for, never at import). The rules several settings share are in bot.config.checks, the payment
providers' credentials in bot.config.providers."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config.checks import (
    MANGOPAY_HOSTS,
    MANGOPAY_SANDBOX,
    checked_base,
    database_password_parts,
    is_placeholder,
    parse_duration,
)
from bot.config.providers import link_secret, mangopay_credentials, stripe_key, webhook_secrets
from bot.errors import CommandError, ConfigError
from bot.money import CURRENCIES, parse_minor


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
        return webhook_secrets(self.stripe_webhook_secret, self.stripe_connect_webhook_secret)

    def require_mangopay(self) -> tuple[str, str, str]:
        """The Mangopay client id, API key and API base; ConfigError when one is missing or a placeholder,
        or the base is production without PAYBOT_LIVE=1 (or an emulator's address beyond this machine)."""
        credentials = mangopay_credentials(
            client_id=self.mangopay_client_id,
            api_key=self.mangopay_api_key,
            api_base=self.mangopay_api_base,
            live_ok=self.paybot_live,
            own_card_page=bool(self.paybot_web_url and self.paybot_link_secret),
            card_page_url=self.mangopay_card_page_url,
            bank_page_url=self.mangopay_bank_page_url,
        )
        # Mangopay's users are made from the identity page, cards saved on the card page and cash-out accounts
        # added on paybot's own page: all served by `paybot web` at PAYBOT_WEB_URL, their links signed with
        # PAYBOT_LINK_SECRET.
        self.require_web()
        return credentials

    def require_link_secret(self) -> str:
        """The secret links to the operator's pages are signed with (PAYBOT_LINK_SECRET); ConfigError when it is
        missing, weak, or the Mangopay API key."""
        return link_secret(self.paybot_link_secret, self.mangopay_api_key)

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
        return stripe_key(self.stripe_api_key, live_ok=self.paybot_live, api_base=self.stripe_api_base)


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

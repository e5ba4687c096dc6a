"""The payment providers' credentials and the link secret, each checked on its own: what `Settings.require_stripe`,
`require_webhook_secrets`, `require_mangopay` and `require_link_secret` answer, or ConfigError naming the setting
that is wrong (never quoting a secret)."""

from __future__ import annotations

import hmac

from pydantic import SecretStr

from bot.config.checks import (
    MANGOPAY_HOSTS,
    MANGOPAY_SANDBOX,
    MIN_SECRET_CHARS,
    SIGNING_SECRET,
    checked_base,
    is_live_mangopay,
    is_placeholder,
    weak_secret,
)
from bot.errors import ConfigError


def _value(secret: SecretStr | None) -> str:
    return secret.get_secret_value() if secret else ""


def stripe_key(api_key: SecretStr | None, *, live_ok: bool, api_base: str | None) -> str:
    """The Stripe secret key; ConfigError when it is missing, malformed, or live without PAYBOT_LIVE=1 (`live_ok`)."""
    secret = _value(api_key)
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
    if live and not live_ok:
        raise ConfigError(
            "STRIPE_API_KEY is a live key: it moves real money. Set PAYBOT_LIVE=1 as well "
            "if that is what you want; otherwise use a test key (sk_test_...)"
        )
    checked_base("stripe_api_base", api_base, live=live or live_ok)
    return secret


def webhook_secrets(platform: SecretStr | None, connect: SecretStr | None) -> tuple[str, str | None]:
    """The webhook's signing secrets: the platform endpoint's, and the Connect endpoint's (None if unset);
    ConfigError when the first is missing, either is a placeholder, not of Stripe's shape (whsec_ and at
    least MIN_SECRET_CHARS random-looking characters), or both are the same."""
    out = []
    for name, value in (("STRIPE_WEBHOOK_SECRET", platform), ("STRIPE_CONNECT_WEBHOOK_SECRET", connect)):
        secret = _value(value)
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


def mangopay_credentials(
    *,
    client_id: str | None,
    api_key: SecretStr | None,
    api_base: str,
    live_ok: bool,
    own_card_page: bool,
    card_page_url: str | None,
    bank_page_url: str | None,
) -> tuple[str, str, str]:
    """The Mangopay client id, API key and base URL; ConfigError naming the setting that is wrong. `own_card_page`:
    paybot's own card page is served (PAYBOT_WEB_URL and PAYBOT_LINK_SECRET set), so MANGOPAY_CARD_PAGE_URL is not
    needed."""
    client = (client_id or "").strip()
    key = _value(api_key)
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
    base = api_base.rstrip("/")
    checked_base("mangopay_api_base", base, live=live_ok, official=MANGOPAY_HOSTS)
    live = is_live_mangopay(base)
    if live and not live_ok:
        raise ConfigError(
            "MANGOPAY_API_BASE is Mangopay's production: it moves real money. Set PAYBOT_LIVE=1 as "
            f"well if that is what you want; otherwise use the sandbox ({MANGOPAY_SANDBOX})"
        )
    # With PAYBOT_WEB_URL, REGISTER links to paybot's own card page (docs/mangopay-card-page.md), and
    # MANGOPAY_CARD_PAGE_URL (an operator's page of their own) is not needed.
    if not own_card_page and (not card_page_url or "{id}" not in card_page_url):
        raise ConfigError(
            "MANGOPAY_CARD_PAGE_URL is not set: REGISTER links to your card page (Mangopay's Vault "
            "SDK), its address with {id} where the Card Registration's id goes; or set "
            "PAYBOT_WEB_URL to use paybot's own card page"
        )
    if card_page_url and any(p not in card_page_url for p in ("{user}", "{token}")):
        raise ConfigError(
            "MANGOPAY_CARD_PAGE_URL must carry {user} and {token} as well as {id}: the link is signed "
            "for that user and registration (bot/links.py), and your page checks it"
        )
    if card_page_url:
        # The links carry the Card Registration's id, or a signed token: bearer credentials of the user's.
        checked_base("mangopay_card_page_url", card_page_url, live=live_ok, override=False)
    if bank_page_url:
        raise ConfigError(
            "MANGOPAY_BANK_PAGE_URL is no longer used: CASHOUT now links to paybot's own cash-out "
            "account page (`paybot web`, at PAYBOT_WEB_URL). Remove the setting (see "
            "docs/mangopay-identity-and-cashout.md)"
        )
    return client, key, base


def link_secret(link: SecretStr | None, mangopay_api_key: SecretStr | None) -> str:
    """PAYBOT_LINK_SECRET, strong and of its own; ConfigError naming it otherwise (never quoting it)."""
    secret = _value(link)
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
    api_key = _value(mangopay_api_key)
    if api_key and hmac.compare_digest(secret.strip(), api_key.strip()):
        raise ConfigError(
            "PAYBOT_LINK_SECRET is the Mangopay API key: the pages that check links would hold the "
            "key that moves every wallet. Use a secret of its own (openssl rand -hex 32)"
        )
    return secret

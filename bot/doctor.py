"""`paybot doctor`: check every setting against the real services, and say plainly what is wrong.

Each check is OK, WARN (works, but an operator should know) or FAIL (the bot
cannot work this way). The command exits non-zero when any check fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot import migrate
from bot.config import Settings, load_settings
from bot.errors import ConfigError, XAuthError, XError, XForbidden
from bot.logs import redact
from bot.money import Money
from bot.providers.sandbox import SandboxProvider
from bot.repo.engine import database_url, make_engine, reach, try_write
from bot.x.client import XClient

OK, WARN, FAIL = "ok", "warn", "fail"
# Seconds the bot's clock may differ from X's (its Date header has whole seconds): the worker judges an answer
# against its reading of mentions with a margin of as much (bot.worker.READ_MARGIN).
MAX_CLOCK_SKEW = 5


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str


def run_checks(settings: Settings | None = None) -> list[Check]:
    """Every check, in order; stops early only when the settings themselves cannot be read."""
    try:
        settings = settings or load_settings()
    except ConfigError as err:
        return [Check("settings", FAIL, str(err))]
    checks = [Check("settings", OK, f"bot @{settings.paybot_handle}, currency {settings.paybot_currency}")]
    checks += [
        Check("API override", WARN, f"{override}: for emulators and tests only; a real bot talks to the real APIs")
        for override in settings.overrides()
    ]
    if settings.paybot_timeline == "mastodon":
        from bot.mastodon.doctor import mastodon_checks

        checks += [Check(*found) for found in mastodon_checks(settings)]
    else:
        checks += _x_checks(settings)
    checks.append(_guard("payment provider", lambda: _provider(settings)))
    checks += _store_checks(settings)
    if settings.paybot_web_url or settings.paybot_link_secret:
        checks.append(_pages(settings))
    secrets = settings.secrets()  # an error can quote a credential or DATABASE_URL's password
    return [Check(c.name, c.status, redact(c.detail, secrets)) for c in checks]


def _guard(name: str, fn: Callable[[], Check]) -> Check:
    try:
        return fn()
    except Exception as err:  # a check must report, never crash the doctor
        return Check(name, FAIL, f"{type(err).__name__}: {err}")


def _x_checks(settings: Settings) -> list[Check]:
    try:
        creds = settings.require_x()
    except ConfigError as err:
        return [Check("X credentials", FAIL, str(err))]
    x = XClient(
        consumer_key=creds["consumer_key"],
        consumer_secret=creds["consumer_secret"],
        access_token=creds["access_token"],
        access_token_secret=creds["access_token_secret"],
        base_url=settings.x_api_base,
        timeout=settings.x_timeout,
    )
    try:
        me = x.me()
    except XAuthError:
        return [
            Check(
                "X credentials", FAIL, "X refused them (401): copy the four X_* values again from the developer portal"
            )
        ]
    except XError as err:
        return [Check("X credentials", FAIL, f"could not reach X: {err}")]
    out = []
    if me.handle.lower() != settings.paybot_handle.lower():
        out.append(
            Check("X credentials", FAIL, f"they are @{me.handle}'s, but PAYBOT_HANDLE is @{settings.paybot_handle}")
        )
    else:
        out.append(Check("X credentials", OK, f"@{me.handle} (id {me.id})"))
    if x.server_time is not None:
        skew = abs((datetime.now(UTC) - x.server_time).total_seconds())
        out.append(
            Check(
                "clock",
                OK if skew <= MAX_CLOCK_SKEW else FAIL,
                f"{skew:.0f} s from X's clock"
                + (
                    ""
                    if skew <= MAX_CLOCK_SKEW
                    else ": confirmation deadlines and the order of answers and edits would be wrong; sync NTP"
                ),
            )
        )
    try:
        x.dm_events(None)
    except XForbidden:
        out.append(
            Check(
                "DM access",
                FAIL,
                "the app may not read DMs: give it Read, write and Direct "
                "Messages permission and regenerate the access token",
            )
        )
        return out
    except XError as err:
        out.append(Check("DM access", FAIL, f"reading DMs failed: {err}"))
        return out
    limit = x.limits.get("dm_events", (None, None, None))[0]
    if limit is not None and limit <= 1:
        out.append(
            Check(
                "access tier",
                FAIL,
                f"DM reads are limited to {limit} per window: this is the Basic "
                "tier, which cannot run the DM confirmation flow; use pay-per-use "
                "or Pro",
            )
        )
    else:
        out.append(Check("DM access", OK, "reading DMs works" + (f" ({limit} reads per 15 min)" if limit else "")))
    out.append(
        Check("DM sending", WARN, "not tested (it would send a real DM); the app needs the Direct Messages permission")
    )
    return out


def _provider(settings: Settings) -> Check:
    if settings.paybot_provider == "stripe":
        return _stripe(settings)
    if settings.paybot_provider == "mangopay":
        return _mangopay(settings)
    sandbox = SandboxProvider(settings.sandbox_db_path)
    sandbox.has_card("doctor")  # opens, reads and commits in its own file
    sandbox.close()
    return Check("payment provider", OK, f"sandbox (test mode, no real money) in {settings.sandbox_db_path}")


def _stripe(settings: Settings) -> Check:
    import stripe

    from bot.providers.stripe import MIN_CHARGE

    try:
        key = settings.require_stripe()
    except ConfigError as err:
        return Check("payment provider", FAIL, str(err))
    options: dict[str, object] = {"max_network_retries": 1}
    if settings.stripe_api_base:
        options["base_addresses"] = {"api": settings.stripe_api_base}
    try:
        account = stripe.StripeClient(key, **options).v1.accounts.retrieve_current()  # type: ignore[arg-type]
    except stripe.AuthenticationError:
        return Check(
            "payment provider",
            FAIL,
            "Stripe refused STRIPE_API_KEY: copy the secret key again from the dashboard (Developers → API keys)",
        )
    except stripe.StripeError as err:
        return Check("payment provider", FAIL, f"could not reach Stripe: {err.user_message or type(err).__name__}")
    mode = "LIVE: real money" if key.startswith(("sk_live_", "rk_live_")) else "test mode"
    smallest = MIN_CHARGE.get(settings.paybot_currency, 0)
    if settings.minor("paybot_min_transfer") < smallest:
        return Check(
            "payment provider",
            WARN,
            f"stripe ({mode}), account {account.id}: PAYBOT_MIN_TRANSFER "
            f"{settings.paybot_min_transfer} is below Stripe's smallest charge, "
            f"{Money(smallest, settings.paybot_currency)}; smaller commands are refused with that minimum",
        )
    if not getattr(account, "charges_enabled", False):
        return Check(
            "payment provider",
            WARN,
            f"stripe ({mode}), account {account.id}: charges are not "
            "enabled yet; finish activating the account in the dashboard",
        )
    return Check("payment provider", OK, f"stripe ({mode}), account {account.id}")


def _mangopay(settings: Settings) -> Check:
    """The client id and API key against Mangopay (a token, then the client's own record)."""
    from mangopay.api import APIRequest
    from mangopay.exceptions import APIError

    from bot.config import is_live_mangopay

    try:
        client, key, base = settings.require_mangopay()
    except ConfigError as err:
        return Check("payment provider", FAIL, str(err))
    handler = APIRequest(
        client_id=client,
        apikey=key,
        api_url=base + "/v2.01/",
        api_sandbox_url=base + "/v2.01/",
        sandbox=False,
        timeout=settings.x_timeout,
    )
    handler._session.trust_env = False
    try:
        response, data = handler.request("GET", "/clients")
    except APIError as err:
        if err.code == 401:
            return Check(
                "payment provider",
                FAIL,
                "Mangopay refused MANGOPAY_CLIENT_ID or MANGOPAY_API_KEY: copy them again from the Mangopay dashboard",
            )
        return Check("payment provider", FAIL, f"could not reach Mangopay ({err.code or 'no answer'})")
    mode = "LIVE: real money" if is_live_mangopay(base) else "sandbox"
    if response.status_code != 200 or (data or {}).get("ClientId") != client:
        return Check("payment provider", FAIL, f"mangopay ({mode}): the client {client} was not found")
    return Check("payment provider", OK, f"mangopay ({mode}), client {client}")


def _store_checks(settings: Settings) -> list[Check]:
    url = database_url(settings.database_url, settings.paybot_db_path)
    try:
        engine = make_engine(url, create_tables=False)
    except Exception as err:  # a malformed URL (a bad port...) is a finding, not a crash
        return [
            Check(
                "store",
                FAIL,
                f"DATABASE_URL cannot be used: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
            )
        ]
    out = []
    try:
        reach(engine)
        out.append(Check("store", OK, f"{engine.dialect.name} reachable"))
        try_write(engine)  # writable, and nothing left behind
        out.append(Check("store writable", OK, "a write was accepted (and rolled back)"))
        at, newest = migrate.current(engine), migrate.head()
        if at == newest:
            out.append(Check("store schema", OK, f"at revision {at}"))
        else:
            out.append(
                Check(
                    "store schema",
                    FAIL,
                    f"at revision {at or 'none'}, newest is {newest}: run "
                    "`paybot db upgrade` (paybot run also does it)",
                )
            )
        if engine.dialect.name == "sqlite" and os.environ.get("DYNO"):
            out.append(
                Check(
                    "store durability",
                    WARN,
                    "SQLite on a Heroku dyno: the disk is wiped at every restart; set DATABASE_URL to Heroku Postgres",
                )
            )
        elif engine.dialect.name == "sqlite":
            out.append(
                Check(
                    "store durability",
                    OK,
                    f"SQLite in WAL mode with synchronous=FULL; keep {settings.paybot_db_path} on a persistent disk",
                )
            )
    except Exception as err:
        out.append(Check("store", FAIL, f"{type(err).__name__}: {str(err).splitlines()[0]}"))
    finally:
        engine.dispose()
    return out


def _pages(settings: Settings) -> Check:
    """paybot's pages (`paybot web`, `paybot run --web`): their address and the secret their links are signed with."""
    try:
        base, _secret = settings.require_web()
    except ConfigError as err:
        return Check("pages", FAIL, str(err))
    return Check(
        "pages", OK, f"served at {base}, links signed with PAYBOT_LINK_SECRET and good for {settings.paybot_link_ttl}"
    )

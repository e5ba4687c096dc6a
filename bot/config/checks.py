"""The rules settings are checked by, whatever they configure: durations, placeholders, secrets strong enough to
sign with, a database URL's password (to keep out of logs), and the addresses paybot sends credentials to."""

from __future__ import annotations

import ipaddress
import itertools
import re
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from bot.errors import ConfigError

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


def is_live_mangopay(base: str) -> bool:
    """Whether a Mangopay API base is production (real money): api.mangopay.com or its mTLS twin."""
    return urlsplit(base).hostname in ("api.mangopay.com", "api-mtls.mangopay.com")

"""What every response of `paybot web` carries, and the CSRF token of every form.

Every response, the webhook's and the error pages' included, gets:
- a Content-Security-Policy allowing nothing but paybot's own origin: scripts, styles, images and form posts
  from 'self' only, no plugins, no framing, no <base>; `script_hosts` and `connect_hosts` (empty today) are
  where the card page will add Mangopay's tokenization host;
- HSTS (two years, subdomains), X-Frame-Options DENY, Referrer-Policy no-referrer, X-Content-Type-Options nosniff,
  Cross-Origin-Opener-Policy same-origin, a Permissions-Policy turning off what the pages never use;
- Cache-Control no-store and X-Robots-Tag noindex: the pages hold personal data, and no link should be indexed.

Forms carry the session's CSRF token in a hidden field `csrf`; `csrf_ok` compares it in constant time.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable, MutableMapping
from typing import Any

CSRF_FIELD = "csrf"
HSTS = "max-age=63072000; includeSubDomains"


def content_security_policy(script_hosts: Iterable[str] = (), connect_hosts: Iterable[str] = ()) -> str:
    """The policy: paybot's own origin only, plus the hosts given (https origins) for scripts and fetches."""
    scripts = " ".join(["'self'", *script_hosts])
    connect = " ".join(["'self'", *connect_hosts])
    return (
        "default-src 'none'; "
        f"script-src {scripts}; "
        f"connect-src {connect}; "
        "style-src 'self'; img-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; object-src 'none'"
    )


def headers(policy: str) -> dict[str, str]:
    """The security headers of every response."""
    return {
        "Content-Security-Policy": policy,
        "Strict-Transport-Security": HSTS,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        "Cache-Control": "no-store",
        "X-Robots-Tag": "noindex, nofollow",
    }


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def csrf_ok(session: MutableMapping[str, Any], sent: str | None) -> bool:
    """Whether a form sent the session's CSRF token (compared in constant time)."""
    expected = session.get(CSRF_FIELD)
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())

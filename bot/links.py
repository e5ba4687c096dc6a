"""Signed links to the operator's own pages (Mangopay's card page and bank-account page) and to paybot's
(`paybot web`: bot.web.page_links, purpose "page:<what the page is for>", subject the X user id).

Such a link lets whoever holds it act for one user (save a card for them, register the bank account their money
goes to), so it is signed, bound to that user, short-lived and single-use:

- The key is `link_key(PAYBOT_LINK_SECRET)`: an HMAC-SHA256 of a fixed label under the operator's secret, used
  for nothing else. Never the Mangopay API key: whatever checks links (the operator's pages) then holds no key
  that moves money.
- A link's `{token}` is `<expires>.<nonce>.<mac>`: the link's end (unix seconds), a random nonce, and the first
  32 hex digits of HMAC-SHA256(key, "paybot-link:<purpose>:<subject>:<expires>:<nonce>"), where the purpose is
  "bank" (the subject: the Mangopay user id) or "card" (the subject: "<Mangopay user id>:<Card Registration
  id>").
- The page accepts it with `verify`: the MAC compared in constant time, the time not past, and the nonce not
  used before (the page records each nonce it accepted until that link's end, and refuses it again).

A page written in another language computes the same: key = HMAC-SHA256(secret, "paybot link key v1"), then
the MAC above, hex, its first 32 characters.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

LABEL = b"paybot link key v1"
DEFAULT_LIFETIME = timedelta(minutes=15)


def link_key(secret: str) -> bytes:
    """The key that signs links, derived from the operator's link secret for that purpose only."""
    return hmac.new(secret.encode(), LABEL, hashlib.sha256).digest()


def _mac(key: bytes, purpose: str, subject: str, expires: int, nonce: str) -> str:
    message = f"paybot-link:{purpose}:{subject}:{expires}:{nonce}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def sign(key: bytes, purpose: str, subject: str, expires: int, nonce: str | None = None) -> str:
    """A link's token (`<expires>.<nonce>.<mac>`), with a new random nonce unless one is given."""
    nonce = nonce or secrets.token_urlsafe(12).replace(".", "_")
    return f"{expires}.{nonce}.{_mac(key, purpose, subject, expires, nonce)}"


def signed(key: bytes, purpose: str, subject: str, token: str) -> bool:
    """Whether `token` was signed with `key` for `purpose` and `subject` (its MAC compared in constant time),
    whatever its end: `verify` checks the time as well."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1]:
        return False
    expires, nonce, mac = int(parts[0]), parts[1], parts[2]
    return hmac.compare_digest(mac.encode(), _mac(key, purpose, subject, expires, nonce).encode())


def verify(
    key: bytes, purpose: str, subject: str, token: str, now: datetime, use: Callable[[str, int], bool] | None = None
) -> bool:
    """Whether `token` opens the page of `purpose` for `subject` now. `use(nonce, expires)` records the nonce
    and says whether it was new: a token whose nonce was used before is refused (links are single-use)."""
    if not signed(key, purpose, subject, token):
        return False
    expires, nonce = int(token.split(".")[0]), token.split(".")[1]
    if now.timestamp() >= expires:
        return False
    return use is None or use(nonce, expires)


def expires_of(token: str) -> int | None:
    """The end (unix seconds) a token carries, if it is one."""
    head = token.split(".", 1)[0]
    return int(head) if head.isdigit() else None

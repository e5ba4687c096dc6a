"""The links the bot DMs to paybot's pages: made (`issue`) and checked (`check`).

A link is `<PAYBOT_WEB_URL>/l/<token>`, the token `bot.links`' `<expires>.<nonce>.<mac>`, signed with the key from
PAYBOT_LINK_SECRET for the purpose "page:<purpose>" and the X user it was sent to. The URL carries nothing about
the person: who the link is for is in the store (`PageLink`, by nonce), and the MAC (never stored) binds it, so
whoever can write to the store but does not hold the secret cannot make or redirect a link. A link works until
its end (PAYBOT_LINK_TTL) and for one saved form (`PageLinks.use`, atomic).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bot import links
from bot.domain import PagePurpose
from bot.domain.entities import PageLink
from bot.ports import Clock
from bot.repo.port import Tx

PATH = "/l/"
# What a link to the identity page is for: "pay" asks name, e-mail and the terms; "receive" the birthday,
# nationality, country of residence and address as well (what a provider needs before someone is paid).
# "card": the card page (bot.web.card_page), where a card is saved for payments.
# "recipient": the cash-out account page (Mangopay's Recipient); "enrolled" and "wallet": the pages Mangopay's SCA
# sessions send the person back to (their SCA enrolment; the SCA that opens their account), which use nothing up.
PURPOSES = ("pay", "receive", "card", "recipient", "enrolled", "wallet")
TOKEN = re.compile(r"[0-9]{1,12}\.[A-Za-z0-9_-]{8,64}\.[0-9a-f]{32}")


class LinkState(StrEnum):
    OK = "ok"
    EXPIRED = "expired"  # past its end
    USED = "used"  # its form was saved already
    FORGED = "forged"  # not a link paybot made: unknown nonce, wrong MAC, or not a token at all
    FOREIGN = "foreign"  # another person's link, opened where someone's own link is open (decided by the app)


@dataclass(frozen=True)
class Checked:
    state: LinkState
    link: PageLink | None  # the stored link when paybot made it (its person and language)


def _purpose(purpose: str) -> str:
    return f"page:{purpose}"


def issue(
    tx: Tx,
    key: bytes,
    base_url: str,
    purpose: PagePurpose,
    user_id: str,
    lang: str,
    now: datetime,
    ttl: timedelta,
    nonce: str | None = None,
) -> str:
    """A new link to the page of `purpose` for X user `user_id`, stored in `tx` (commit it before the DM goes).
    `nonce`: a random one unless given (a simulation replaying from its seed gives its own)."""
    if purpose not in PURPOSES:
        raise ValueError(f"no page for {purpose!r}")
    expires = int((now + ttl).timestamp())
    token = links.sign(key, _purpose(purpose), user_id, expires, nonce)
    tx.page_links.add(
        PageLink(
            nonce=token.split(".")[1],
            purpose=purpose,
            user_id=user_id,
            lang=lang,
            created_at=now,
            expires_at=datetime.fromtimestamp(expires, UTC),
            used_at=None,
        )
    )
    return f"{base_url.rstrip('/')}{PATH}{token}"


def maker(key: bytes, base_url: str, ttl: timedelta, clock: Clock) -> Callable[[Tx, PagePurpose, str, str], str]:
    """`link(tx, purpose, user_id, lang)`: `issue` with this key, address and lifetime, now (the service's
    `page_link`: the link is stored in the unit of work of the DM that carries it)."""
    from bot.web.i18n import supported

    def link(tx: Tx, purpose: PagePurpose, user_id: str, lang: str) -> str:
        return issue(tx, key, base_url, purpose, user_id, supported(lang), clock.now(), ttl)

    return link


def check(tx: Tx, key: bytes, token: str, now: datetime) -> Checked:
    """What `token` opens now: OK with its stored link, or why not (USED before EXPIRED: the person did it)."""
    if not TOKEN.fullmatch(token):
        return Checked(LinkState.FORGED, None)
    expires, nonce, _ = token.split(".")
    row = tx.page_links.get(nonce)
    if (
        row is None
        or row.purpose not in PURPOSES
        or int(row.expires_at.timestamp()) != int(expires)
        or not links.signed(key, _purpose(row.purpose), row.user_id, token)
    ):
        return Checked(LinkState.FORGED, None)
    return Checked(state_of(row, now), row)


def state_of(row: PageLink, now: datetime) -> LinkState:
    """Whether a stored link still opens its page now."""
    if row.used_at is not None:
        return LinkState.USED
    if now >= row.expires_at:
        return LinkState.EXPIRED
    return LinkState.OK

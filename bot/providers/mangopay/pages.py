"""Where the Mangopay adapter sends people, and who they are: paybot's pages (the identity page, the cash-out account
page, the SCA return pages, through the `People` port of `bot.providers.mangopay.people`), the operator's card page
(MANGOPAY_CARD_PAGE_URL) or paybot's own, and the return URL of Mangopay's hosted pages (MANGOPAY_RETURN_URL).

Mangopay's users are made from what the person gave on paybot's identity page: who gave nothing (or not what an Owner
needs) is answered with a link to that page (`IdentityNeeded`) and nothing is sent to Mangopay, never a placeholder.
The SCA links paybot sends (enrolment, wallet access) return the person to paybot's return pages, which read what
happened. `MangopayPages` is one object the parts share, so an operator's setting changed on the provider (its
`people`, `own_card_page`, `card_page_url`, `return_url`) holds for every part at once.
"""

from __future__ import annotations

import urllib.parse
from datetime import timedelta

from bot import links
from bot.domain import PagePurpose
from bot.errors import ProviderError
from bot.identity import Identity
from bot.ports import Clock
from bot.providers.mangopay.people import PAY, People

# An SCA session (enrolment, a transfer's approval, wallet access) is valid 10 minutes (guides/sca/session.mdx,
# step 6; a lapsed transfer is FAILED 007102, guides/sca/transfers.mdx): the DM with such a link says 10.
SCA_SESSION_LIFETIME = timedelta(minutes=10)


class IdentityNeeded(ProviderError):
    """The person has not given paybot what Mangopay needs of them (`purpose`: "pay", names and e-mail; "receive",
    an Owner's too): nothing was sent to Mangopay; `url` (None: no pages served) is the identity page's link."""

    def __init__(self, purpose: PagePurpose, url: str | None) -> None:
        super().__init__(f"the identity page ({purpose}) must be filled in first")
        self.purpose, self.url = purpose, url


class MangopayPages:
    """People's identities and the links the adapter gives them, shared by the parts."""

    def __init__(
        self,
        people: People,
        clock: Clock,
        *,
        card_page_url: str,
        return_url: str,
        link_key: bytes | None,
        link_lifetime: timedelta,
    ) -> None:
        # Who people are (the identity page's record) and links to paybot's pages (bot.providers.mangopay.people).
        self.people = people
        self.clock = clock
        self.card_page_url = card_page_url
        self.return_url = return_url
        # The key its links are signed with (PAYBOT_LINK_SECRET's, bot.links); without it, no link is made.
        self.link_key = link_key
        self.link_lifetime = link_lifetime  # how long a link to the card page works (PAYBOT_LINK_TTL)
        # REGISTER sends paybot's own card page (bot.web.card_page; bot.bootstrap sets it when PAYBOT_WEB_URL is
        # set), whose link the service makes; False: the operator's page, MANGOPAY_CARD_PAGE_URL.
        self.own_card_page = False

    def identity(self, user_id: str, purpose: PagePurpose) -> Identity:
        """What the person gave on the identity page, enough for `purpose` ("receive": an Owner's birthday,
        nationality, residence and address too); else IdentityNeeded with a new link to that page."""
        who = self.people.identity(user_id)
        if who is not None and (purpose == PAY or who.can_receive):
            return who
        raise IdentityNeeded(purpose, self.people.link(purpose, user_id))

    def card_page(self, owner: str, registration: str) -> str:
        """The link to the operator's card page for this registration: `{id}`, `{user}` (the Mangopay user id),
        and `{token}` signed for both with the link key (bot.links: short-lived, single-use), so a registration
        id alone opens nothing. The registration id is a bearer credential: never logged."""
        url = self.card_page_url.replace("{id}", registration).replace("{user}", owner)
        if "{token}" not in url:
            return url  # an emulator's page set up without links (tests); the settings require {token}
        if self.link_key is None:
            raise ProviderError("the card page's links cannot be signed: PAYBOT_LINK_SECRET is not set")
        expires = int((self.clock.now() + self.link_lifetime).timestamp())
        return url.replace("{token}", links.sign(self.link_key, "card", f"{owner}:{registration}", expires)).replace(
            "{expires}", str(expires)
        )

    def sca_link(self, redirect_url: str, user_id: str | None = None, page: PagePurpose | None = None) -> str:
        """Mangopay's SCA RedirectUrl with a return URL appended as `returnUrl`, percent-encoded (Mangopay's page
        cannot send the person back without it: guides/sca/session.mdx, step 3): paybot's return page `page` for
        `user_id` (a single-use link, bot.providers.mangopay.people) when paybot serves pages, else
        MANGOPAY_RETURN_URL. The return page reads what happened from Mangopay (the `controlStatus` Mangopay adds
        is only indicative)."""
        back = (self.people.link(page, user_id) if page and user_id else None) or self.return_url
        return sca_url(redirect_url, back)


def sca_url(redirect_url: str, return_url: str) -> str:
    """Mangopay's SCA RedirectUrl with `return_url` appended as `returnUrl`, percent-encoded (guides/sca/session.mdx,
    step 3: the page shows an error without it; the whole under 2,000 characters)."""
    glue = "&" if urllib.parse.urlsplit(redirect_url).query else ("" if redirect_url.endswith("?") else "?")
    return f"{redirect_url}{glue}returnUrl={urllib.parse.quote(return_url, safe='')}"

"""What the web tests share: paybot's web app on a real store and a fake clock, and the links the bot would DM."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask

from bot import links
from bot.config import Settings
from bot.domain import PagePurpose
from bot.domain.entities import IdentityRecord, PageLink, User
from bot.ports import FakeClock
from bot.repo.port import Store
from bot.web import page_links
from bot.web.app import create_app

SECRET = "5f2b9c1e8d7a4036b1c9e2f7a8d3b6c04e1f9a7d2c8b5e3f"
TTL = timedelta(minutes=15)


def web_settings(web_url: str = "http://127.0.0.1", **more: Any) -> Settings:
    return Settings(paybot_link_secret=SECRET, paybot_web_url=web_url, **more)


@dataclass
class World:
    """The app, its store and clock; `link` makes the link the bot would DM someone, as the bot makes it."""

    store: Store
    clock: FakeClock = field(default_factory=FakeClock)
    base: str = "http://127.0.0.1"
    app: Flask | None = None

    def make_app(self, **kwargs: Any) -> Flask:
        self.app = create_app(web_settings(self.base), self.store, self.clock, **kwargs)
        return self.app

    def link(self, user_id: str, *, purpose: str = "receive", lang: str = "en", ttl: timedelta = TTL) -> str:
        """A link the bot would DM X user `user_id` (known to the bot as @p<id> unless seen otherwise)."""
        with self.store() as tx:
            if tx.users.get(user_id) is None:
                tx.users.add(User(id=user_id, handle=f"p{user_id}"[:15], updated_at=self.clock.now()))
            url = page_links.issue(
                tx, links.link_key(SECRET), self.base, PagePurpose(purpose), user_id, lang, self.clock.now(), ttl
            )
            tx.commit()
        return url

    def identity(self, user_id: str) -> IdentityRecord | None:
        with self.store() as tx:
            return tx.identities.get(user_id)

    def page_link(self, url: str) -> PageLink | None:
        with self.store() as tx:
            return tx.page_links.get(url.rsplit("/", 1)[1].split(".")[1])


# What a person of age fills in on the identity page to receive money (the birthday is 1990's).
FILLED = {
    "first_name": "Alice",
    "last_name": "Martin",
    "email": "alice@example.com",
    "birthday": "1990-03-31",
    "nationality": "FR",
    "residence": "FR",
    "address_line1": "12 rue de la Paix",
    "address_line2": "",
    "city": "Paris",
    "region": "",
    "postal_code": "75002",
    "terms": "yes",
}


def filled(user_id: str, **more: str) -> dict[str, str]:
    """FILLED as the person `user_id` (known to the bot as @p<id> by `World.link`) sends it: their handle typed."""
    return {**FILLED, "x_handle": "@" + f"p{user_id}"[:15], **more}

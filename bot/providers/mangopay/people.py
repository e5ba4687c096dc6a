"""What the Mangopay adapter asks paybot about a person: who they are (the identity page's record) and a link to one
of paybot's pages (`paybot web`) when it needs them there.

Mangopay's user is a real person: KYC matches the name to the identity document, SCA confirms the e-mail, and since
2026-02-19 an OWNER with a name or e-mail that is not a person's is refused (400 fraud_policy: SOURCE.md of the
documentation snapshot; guides/users/types.mdx, "Rule preventing fake user names", gives the error's body). So the
adapter sends Mangopay only what the person typed on the identity page, read with `bot.identity.identity_of`; when
there is nothing (or not what an Owner needs) it sends nothing and answers with a link to that page, which the bot
DMs (single use, PAYBOT_LINK_TTL; bot.web.page_links). Nothing placeholder is ever sent.

`PagesDesk` is that port on paybot's own store (the worker's database, not the adapter's records); `NoPages` is the
adapter without it: it knows nobody, and makes no link (the adapter then says the page is not available).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from bot import links
from bot.domain import PagePurpose
from bot.identity import Identity, from_record
from bot.ports import Clock
from bot.repo.port import Store
from bot.repo.provider_records import read_identity
from bot.web import page_links

# The pages the adapter links to (bot.web.page_links.PURPOSES): the identity page to pay ("pay": name, e-mail,
# terms) or to receive ("receive": with birthday, nationality, residence, address); the cash-out account page
# ("recipient"); and the pages Mangopay's SCA sessions send the person back to ("enrolled": their SCA enrolment;
# "wallet": the SCA that opens their account for 180 days).
PAY, RECEIVE, RECIPIENT, ENROLLED, WALLET = (
    PagePurpose.PAY,
    PagePurpose.RECEIVE,
    PagePurpose.RECIPIENT,
    PagePurpose.ENROLLED,
    PagePurpose.WALLET,
)


class People(Protocol):
    """The adapter's port to paybot's people and pages."""

    @property
    def ttl(self) -> timedelta:
        """How long a link works."""
        ...

    def identity(self, user_id: str) -> Identity | None:
        """What X user `user_id` gave on the identity page; None if nothing."""
        ...

    def link(self, purpose: PagePurpose, user_id: str) -> str | None:
        """A new single-use link to the page of `purpose` for `user_id`; None when paybot serves no pages."""
        ...


class NoPages:
    """No identity known, no page served (an adapter built without paybot's store)."""

    ttl = timedelta(minutes=15)

    def identity(self, user_id: str) -> Identity | None:
        return None

    def link(self, purpose: PagePurpose, user_id: str) -> str | None:
        return None


@dataclass
class PagesDesk:
    """People and pages on paybot's store: identities read with `identity_of`'s mapping, links issued as the web
    app checks them (signed with PAYBOT_LINK_SECRET's link key, in the person's language: their identity page's,
    else their newest command's, else English)."""

    store: Store
    clock: Clock
    base_url: str
    link_secret: str
    ttl: timedelta = timedelta(minutes=15)
    engine: Any = None  # the engine the desk made for itself (closed with it), if any
    # An engine that reads without BEGIN IMMEDIATE (SQLite in WAL mode: readers wait for no writer), for the
    # identities the adapter reads while the worker's own transaction may hold the write lock
    # (bot.repo.engine.make_reader).
    reader: Any = None
    # The links' nonces: random unless a simulation gives its own (seeded, so a run replays to the same words).
    nonce: Callable[[], str] | None = None

    def close(self) -> None:
        for engine in (self.engine, self.reader):
            if engine is not None:
                engine.dispose()

    def identity(self, user_id: str) -> Identity | None:
        if self.reader is not None:  # a read that takes no lock: the worker may be inside its own transaction
            row = read_identity(self.reader, user_id)
            return from_record(row) if row is not None else None
        with self.store() as tx:
            row = tx.identities.get(user_id)
            return from_record(row) if row is not None else None

    def link(self, purpose: PagePurpose, user_id: str) -> str | None:
        with self.store() as tx:
            known = tx.identities.get(user_id)
            lang = known.lang if known is not None else (tx.transfers.lang_of(user_id) or "en")
            nonce = self.nonce() if self.nonce else None
            while nonce is not None and tx.page_links.get(nonce) is not None:
                nonce = self.nonce() if self.nonce else None
            url = page_links.issue(
                tx,
                links.link_key(self.link_secret),
                self.base_url,
                purpose,
                user_id,
                lang,
                self.clock.now(),
                self.ttl,
                nonce,
            )
            tx.commit()
        return url

    @classmethod
    def from_settings(cls, settings: Any, clock: Clock, store: Store | None = None) -> People:
        """The desk on paybot's database (DATABASE_URL, else PAYBOT_DB_PATH), when PAYBOT_WEB_URL and
        PAYBOT_LINK_SECRET are set; else `NoPages`."""
        if not settings.paybot_web_url or not settings.paybot_link_secret:
            return NoPages()
        from bot.config import parse_duration
        from bot.repo.engine import database_url, make_engine, make_reader

        url = database_url(settings.database_url, settings.paybot_db_path)
        engine = None
        if store is None:
            from bot.repo.sql import SqlStore

            engine = make_engine(url, create_tables=False)  # bot.migrate makes them
            store = SqlStore(engine)
        base, secret = settings.require_web()
        return cls(
            store=store,
            clock=clock,
            base_url=base,
            link_secret=secret,
            ttl=parse_duration(settings.paybot_link_ttl),
            engine=engine,
            reader=make_reader(url),
        )

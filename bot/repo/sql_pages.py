"""The SQL store's rows behind paybot's pages: what people typed on the identity page, and the links the bot sent
them (made, checked, claimed and used once, each by one conditional UPDATE)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col

from bot.domain.entities import IdentityRecord, PageLink
from bot.repo.sql_base import _Table

__all__ = ["SqlIdentities", "SqlPageLinks"]


class SqlIdentities(_Table):
    def get(self, user_id: str) -> IdentityRecord | None:
        return self.s.get(IdentityRecord, user_id)

    def add(self, record: IdentityRecord) -> None:
        self._add(self.s.merge(record))


class SqlPageLinks(_Table):
    def get(self, nonce: str) -> PageLink | None:
        return self.s.get(PageLink, nonce)

    def add(self, link: PageLink) -> None:
        self._add(link)

    def use(self, nonce: str, now: datetime) -> bool:
        # One conditional UPDATE: PostgreSQL makes a second one wait for the first's commit, then finds no row;
        # SQLite has one writer at a time (BEGIN IMMEDIATE).
        self.s.flush()
        result = self.s.execute(
            update(PageLink)
            .where(col(PageLink.nonce) == nonce, col(PageLink.used_at).is_(None), col(PageLink.expires_at) > now)
            .values(used_at=now)
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def claim(self, nonce: str, token: str, now: datetime) -> bool:
        self.s.flush()
        free = col(PageLink.claim).is_(None)
        result = self.s.execute(
            update(PageLink)
            .where(col(PageLink.nonce) == nonce, col(PageLink.used_at).is_(None), col(PageLink.expires_at) > now, free)
            .values(claim=token)
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def release(self, nonce: str, token: str) -> None:
        self.s.flush()
        self.s.execute(
            update(PageLink)
            .where(col(PageLink.nonce) == nonce, col(PageLink.claim) == token)
            .values(claim=None)
            .execution_options(synchronize_session="fetch")
        )

    def use_claimed(self, nonce: str, token: str, now: datetime) -> bool:
        self.s.flush()
        result = self.s.execute(
            update(PageLink)
            .where(col(PageLink.nonce) == nonce, col(PageLink.used_at).is_(None), col(PageLink.claim) == token)
            .values(used_at=now)
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

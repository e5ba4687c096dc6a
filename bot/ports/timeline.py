"""The timeline port (X, Mastodon): what the service reads from and says on the timeline, and its value types.

Ids from X are strings of digits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

NUL = "\x00"


def _no_nul(value: object, *names: str) -> None:
    """Replace each NUL in the value's text fields with U+FFFD. A NUL (JSON's "\\u0000") may come in a post, a DM or
    a display name; PostgreSQL refuses it in text, SQLite keeps it: replaced where it comes in, the store, the
    confirmation and the reply hold and show the same text on both."""
    for name in names:
        text = getattr(value, name)
        if NUL in text:
            object.__setattr__(value, name, text.replace(NUL, "\ufffd"))


@dataclass(frozen=True)
class XUser:
    id: str
    handle: str
    name: str = ""

    def __post_init__(self) -> None:
        _no_nul(self, "handle", "name")


@dataclass(frozen=True)
class Mention:
    """A post that mentions the bot, as paybot needs it."""

    id: str
    author_id: str
    text: str
    created_at: datetime
    author_handle: str = ""
    author_name: str = ""
    display_start: int = 0
    edit_ids: tuple[str, ...] = ()
    # (type, post id) pairs: "retweeted", "quoted", "replied_to"
    referenced: tuple[tuple[str, str], ...] = ()
    # lower-case handle -> user, from the post's own mention entities
    mentioned: dict[str, XUser] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _no_nul(self, "text", "author_handle", "author_name")

    @property
    def root_id(self) -> str:
        """The id of the first version of this post (edits get new ids)."""
        return self.edit_ids[0] if self.edit_ids else self.id

    @property
    def is_repost(self) -> bool:
        return any(kind == "retweeted" for kind, _ in self.referenced) or self.text.startswith("RT @")

    @property
    def is_quote(self) -> bool:
        return any(kind == "quoted" for kind, _ in self.referenced)


@dataclass(frozen=True)
class DirectMessage:
    id: str
    sender_id: str
    text: str
    created_at: datetime
    conversation_id: str = ""
    sender_handle: str = ""

    def __post_init__(self) -> None:
        _no_nul(self, "text", "sender_handle")


@dataclass(frozen=True)
class DmPage:
    events: list[DirectMessage]
    resume: str | None = None  # set when older unread events remain


@dataclass(frozen=True)
class SentDm:
    """A DM the bot sent, as X recorded it."""

    id: str
    at: datetime


class Timeline(Protocol):
    """X, as the worker uses it."""

    def me(self) -> XUser: ...

    def mentions(self, user_id: str, since_id: str | None) -> list[Mention]:
        """Mentions newer than since_id, oldest first, every page."""
        ...

    def dm_events(self, stop_at: str | None, resume: str | None = None, not_before: datetime | None = None) -> DmPage:
        """Message events newer than the event id stop_at, oldest first.

        Before anything was read (no stop_at), events sent before `not_before`
        end the reading instead. Reading stops after a bounded number of
        pages; `DmPage.resume` then says where the next call continues (pass
        it as `resume`)."""
        ...

    def send_dm(self, user_id: str, text: str) -> str: ...

    def dm_sent(self, user_id: str, text: str, since: datetime) -> SentDm | None:
        """The DM event by which the bot sent this text to this user since then (a send in doubt):
        X's id and time for it; None when it did not."""
        ...

    def reply(self, in_reply_to: str, text: str) -> str: ...

    def users_by_handle(self, handles: list[str]) -> dict[str, XUser]: ...

    def users(self, ids: list[str]) -> dict[str, XUser]:
        """The current handle of each of these user ids, by id; ids X does not know are absent."""
        ...

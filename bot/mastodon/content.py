"""What the Mastodon adapter reads and writes in a status, with no call to Mastodon: the port's ids (a status's,
or its n-th edit's), its HTML as plain text with mentions as @acct, handles written so they mention nobody, and a
status's length as Mastodon counts it."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

SPLIT = 10**20  # a port id is top × SPLIT + status id (Mastodon's ids have 18 or 19 digits)
VERSIONS = 1000  # the most versions of one status read
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A notification this long after its status was published brings a status federated late: its id (from its
# publication time) may be below the cursor, so it is read whatever its id (the core keeps each id once).
LATE = timedelta(seconds=5)
URL_LENGTH = 23  # characters_reserved_per_url
_URL = re.compile(r"https?://\S+")
_REMOTE_MENTION = re.compile(r"(@[A-Za-z0-9_]+)@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# An @handle as Mastodon reads one in a status (not after a word character or a slash)
QUIET_AT = "\uff20"  # ＠: reads as an at sign, names nobody
# A handle of another instance written in a status, as the command language reads one (bot/grammar.lark)
_WRITTEN_REMOTE = re.compile(r"(?<![\w@/])[@\uff20]([A-Za-z0-9_]{1,30})@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?![\w@])")
LEADING_HANDLES = re.compile(r"(?:@[A-Za-z0-9_]+(?:@[A-Za-z0-9.-]+)?\s+)+")


def port_id(status_id: str | int, edited_at: datetime | None = None, version: int = 0) -> str:
    """The port's id of a status's version: as first posted (version 0), or its `version`-th edit, made at
    `edited_at`."""
    sid = int(status_id)
    top = sid
    if version and edited_at is not None:
        top = max(((edited_at - EPOCH) // timedelta(milliseconds=1) << 16) + version, sid + version)
    return str(top * SPLIT + sid)


def status_of(port: str) -> str:
    """The Mastodon status id behind a port id."""
    return str(int(port) % SPLIT)


def quiet_handles(text: str) -> str:
    """The text with every @ written ＠ (links aside): in a direct status a mention adds that person to the
    conversation (and notifies them), so a DM to the payer that names the recipient must not mention them. Every
    @, not only those Mastodon's rule would read as a mention today: `@@carol` and `²@dave` mention carol and
    dave on a real server (an attack found both passed through a narrower rule), and a memo is the sender's text."""
    out, start = [], 0
    for link in _URL.finditer(text):
        out += [text[start : link.start()].replace("@", QUIET_AT), link.group(0)]
        start = link.end()
    return "".join([*out, text[start:].replace("@", QUIET_AT)])


def countable(text: str) -> int:
    """A status's length as Mastodon counts it: links as 23 characters, remote mentions without their domain."""
    return len(_REMOTE_MENTION.sub(r"\1", _URL.sub("x" * URL_LENGTH, text)))


def acct_of_url(url: str, domain: str) -> str | None:
    """The acct a profile address names (https://other.example/@carol -> carol@other.example; on `domain`, the
    bot's instance: carol), or None when it is no such address."""
    parts = urlsplit(url)
    path = parts.path.strip("/")
    if not parts.hostname or not path.startswith("@") or "/" in path or "@" in path[1:]:
        return None
    return path[1:] if parts.hostname == domain else f"{path[1:]}@{parts.hostname}"


class _Plain(HTMLParser):
    """Mastodon's status HTML as plain text; each mention link becomes @acct (from the status's mentions by
    its href, else from the href itself: a version before an edit may name people the status no longer does)."""

    def __init__(self, accts: dict[str, str], domain: str) -> None:
        super().__init__(convert_charrefs=True)
        self.accts = accts
        self.domain = domain
        self.named: list[str] = []  # every acct the text mentions, in order
        self.out: list[str] = []
        self.paragraphs = 0
        self._mention: str | None = None  # the acct of the mention link being read
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "p":
            if self.paragraphs:
                self.out.append("\n\n")
            self.paragraphs += 1
        elif tag == "br":
            self.out.append("\n")
        elif (
            tag == "a"
            and "mention" in (a.get("class") or "").split()
            and (acct := self.accts.get(str(a.get("href"))) or acct_of_url(str(a.get("href")), self.domain))
        ):
            self._mention = acct
            self.named.append(acct)
            self.out.append(f"@{self._mention}")
        if self._mention is not None and tag != "br":
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._mention is not None:
            self._depth -= 1
            if self._depth <= 0:
                self._mention, self._depth = None, 0

    def handle_data(self, data: str) -> None:
        if self._mention is None:
            self.out.append(data)


def plain_text(content: str, mentions: list[Any], domain: str = "") -> str:
    """A status's HTML `content` as the text its author wrote, mentions as @acct."""
    return read_content(content, mentions, domain)[0]


def read_content(content: str, mentions: list[Any], domain: str) -> tuple[str, list[str]]:
    """A status's HTML `content` as plain text, and the accts its mention links name."""
    parser = _Plain({str(m["url"]): str(m["acct"]) for m in mentions}, domain)
    parser.feed(content)
    parser.close()
    return "".join(parser.out), parser.named


def unlinked(text: str, named: list[str]) -> list[str]:
    """The handles of other instances (`@user@domain`, or ＠) the text writes and its mention links do not name."""
    linked = {a.lower() for a in named}
    found = (f"{m.group(1)}@{m.group(2)}".lower() for m in _WRITTEN_REMOTE.finditer(text))
    return [a for a in dict.fromkeys(found) if a not in linked]


def utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def came_late(notification: Any) -> bool:
    """Whether the notification came LATE after its status was published (federated late)."""
    status = notification.get("status")
    return bool(status) and utc(notification["created_at"]) - utc(status["created_at"]) > LATE


def idempotency_key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

"""The Mastodon adapter: Mastodon.py behind the Timeline port.

Mastodon.py objects never leave this module. How Mastodon's world maps onto the port (decisions, since the
port was drawn for X):

- **Ids.** The port's ids are strings of digits compared as integers, growing with time, and an edit must
  have an id of its own (X gives each version a new post id; Mastodon keeps the status id and sets
  `edited_at`). A port id is therefore `top × 10^20 + status id`: `top` is the status id for the status as
  first posted, and for its n-th edit a Mastodon-style snowflake of the edit's time (milliseconds << 16, plus
  n), so an edit sorts after every status posted before it, as on X (`port_id`, `status_of`). DMs and the
  bot's own statuses use the same scheme.
- **Mentions** are the bot's notifications of type `mention` whose status is not `direct`. Mastodon does not
  notify a mentioned account of an edit (only boosters get `update`), so each reading also looks again at
  the mentions of the last `edit_horizon` (1 hour) as the notification listing shows them now: a status
  with `edited_at` has its versions read from `/history` (once per edit), and every version is a mention of
  its own, its `edit_ids` the versions before it, root first.
- **Late statuses.** A status from another instance may reach the bot's instance long after it was published,
  with an id (from its publication time) below the cursor: one whose notification came more than `LATE`
  after its publication is read whatever its id (the core keeps each id once). So is every version of an
  edited status re-read within `edit_horizon`: an edit federated late keeps its edit time (`edited_at`, the
  version's `created_at` in `/history`), maybe below the cursor, and is read when its Update reaches the
  instance, under the version rule of X (root first: an edit after the answer changes nothing).
- **DMs** are `direct` statuses. The bot's are a `direct` status naming the person first, every other
  @handle in it written ＠handle (a mention in a direct status adds that person to it); theirs are the
  bot's `mention` notifications of `direct` statuses, their leading @handles (the bot's, written to address
  it) taken off the text. A direct status naming anyone else besides the bot is a group conversation
  (`conversation_id` "group-<status>"), which the core ignores. The bot's own DMs are not in `dm_events`
  (Mastodon notifies the bot of others' statuses only); `dm_sent` reads the bot's own statuses instead.
- **Replies** are as visible as the status they answer and never more (public, or unlisted, or
  followers-only), so the bot never widens an audience its author chose.
- **Handles** are Mastodon's `acct`: `alice` on the bot's instance, `alice@other.example` elsewhere. Text is
  Mastodon's HTML made plain, each mention link written as `@acct` (the link text is the short @username).
- **Replies** carry an `Idempotency-Key` made of the status answered and the text, so a reply in doubt sent
  again within Mastodon's hour of keys answers the first status instead of posting twice (X refuses the
  duplicate instead; the core takes either as sent). DMs carry none: the same words may rightly be said
  twice ("already cancelled"), and a DM in doubt is looked for with `dm_sent` first, as on X.
- **Streaming**: `listen` follows the user stream and wakes the worker on each notification and each
  `status.update` (an edit); the readings above stay the source of truth (and the catch-up after downtime).
- **Limits**: one budget per account for every endpoint (300 per 5 minutes by default), read from the
  `X-RateLimit-*` headers of every answer; a call made with none left raises XRateLimited before it is
  made. The status length is the instance's `configuration.statuses.max_characters`, counted as Mastodon
  does (a link is 23 characters, a remote mention counts its @username only).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import stamina
from mastodon import Mastodon, StreamListener
from mastodon.errors import (
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from bot.errors import XAuthError, XError, XForbidden, XRateLimited, XTransient
from bot.ports import Clock, DirectMessage, DmPage, Mention, SentDm, SystemClock, XUser

log = logging.getLogger(__name__)
T = TypeVar("T")

SPLIT = 10**20  # a port id is top × SPLIT + status id (Mastodon's ids have 18 or 19 digits)
VERSIONS = 1000  # the most versions of one status read
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PAGE = 80  # Mastodon's largest page of notifications
MAX_PAGES = 10  # 800 notifications, as far back as X's 800 mentions
DM_SENT_PAGES = 10
USER_PAGE = 40  # ids per GET /api/v1/accounts
DEFAULT_MAX_CHARACTERS = 500
# A notification this long after its status was published brings a status federated late: its id (from its
# publication time) may be below the cursor, so it is read whatever its id (the core keeps each id once).
LATE = timedelta(seconds=5)
NAMES_FOR = timedelta(minutes=10)  # how long a display name read for a mention is used again
STREAM_READ_TIMEOUT = 300.0  # seconds without a byte (Mastodon sends a heartbeat every few seconds)
URL_LENGTH = 23  # characters_reserved_per_url
_URL = re.compile(r"https?://\S+")
_REMOTE_MENTION = re.compile(r"(@[A-Za-z0-9_]+)@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# An @handle as Mastodon reads one in a status (not after a word character or a slash)
QUIET_AT = "\uff20"  # ＠: reads as an at sign, names nobody
# A handle of another instance written in a status, as the command language reads one (bot/grammar.lark)
_WRITTEN_REMOTE = re.compile(r"(?<![\w@/])[@\uff20]([A-Za-z0-9_]{1,30})@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?![\w@])")
LOOKED_UP = 20  # the most accounts one status has looked up (a command names at most 10)
_LEADING_HANDLES = re.compile(r"(?:@[A-Za-z0-9_]+(?:@[A-Za-z0-9.-]+)?\s+)+")


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


def _unlinked(text: str, named: list[str]) -> list[str]:
    """The handles of other instances (`@user@domain`, or ＠) the text writes and its mention links do not name."""
    linked = {a.lower() for a in named}
    found = (f"{m.group(1)}@{m.group(2)}".lower() for m in _WRITTEN_REMOTE.finditer(text))
    return [a for a in dict.fromkeys(found) if a not in linked]


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def _late(notification: Any) -> bool:
    """Whether the notification came LATE after its status was published (federated late)."""
    status = notification.get("status")
    return bool(status) and _utc(notification["created_at"]) - _utc(status["created_at"]) > LATE


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class MastodonTimeline:
    """Mastodon, through Mastodon.py; implements bot.ports.Timeline."""

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        timeout: float = 10.0,
        clock: Clock | None = None,
        dm_page_size: int = PAGE,
        edit_horizon: timedelta = timedelta(hours=1),
    ) -> None:
        session = requests.Session()
        session.trust_env = False  # no proxy variable can capture the token
        session.hooks["response"].append(self._remember)
        self.api = Mastodon(
            access_token=access_token,
            api_base_url=base_url.rstrip("/"),
            ratelimit_method="throw",
            request_timeout=timeout,
            session=session,
            version_check_mode="none",
        )
        self.clock = clock or SystemClock()
        self.timeout = timeout
        self.dm_page_size = dm_page_size
        self.edit_horizon = edit_horizon
        self.limit: tuple[int, int, datetime] | None = None  # (limit, remaining, reset) for the account
        self.server_time: datetime | None = None
        self.requests = 0
        self._me: XUser | None = None
        self._own_domain: str | None = None
        self._max_characters: int | None = None
        # (status, its edit time and text) -> its versions: text, the accts it mentions, when
        self._versions: dict[tuple[str, str], list[tuple[str, list[str], datetime]]] = {}
        self._accts: dict[str, str] = {}  # account id -> acct, from every account seen
        self._names: dict[str, tuple[str, datetime]] = {}  # account id -> display name, when it was read
        self._visibility: dict[str, str] = {}  # status id -> its visibility, for the reply's
        self._looked_up: dict[str, tuple[XUser | None, datetime]] = {}  # acct -> its account or None, when

    # ---------------------------------------------------------------- plumbing

    def _remember(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Every answer's rate-limit headers (one budget for the account) and the server's clock."""
        self.requests += 1
        h = resp.headers
        if "X-RateLimit-Limit" in h and "X-RateLimit-Reset" in h:
            try:
                self.limit = (
                    int(h["X-RateLimit-Limit"]),
                    int(h.get("X-RateLimit-Remaining", "0")),
                    _utc(h["X-RateLimit-Reset"]),
                )
            except ValueError:
                log.warning("unreadable rate-limit headers from Mastodon: %s", h.get("X-RateLimit-Reset"))

    @property
    def limits(self) -> dict[str, tuple[int, int, datetime]]:
        """The rate-limit budget as `paybot status` shows X's by endpoint: Mastodon's one, for the account."""
        return {"account": self.limit} if self.limit else {}

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        now = self.clock.now()
        if self.limit and self.limit[1] <= 0 and self.limit[2] > now:
            raise XRateLimited(
                f"{what}: Mastodon's rate limit reached until {self.limit[2]:%H:%M:%S} UTC",
                reset_at=self.limit[2],
                capped=False,
            )
        try:
            return fn(*args, **kwargs)
        except MastodonRatelimitError:
            reset = self.limit[2] if self.limit else None
            raise XRateLimited(f"{what}: rate limited", reset_at=reset, capped=False) from None
        except MastodonUnauthorizedError:
            raise XAuthError("Mastodon refused the access token (401): check MASTODON_ACCESS_TOKEN") from None
        except MastodonNotFoundError as err:
            raise XError(f"{what}: not found ({_detail(err)})") from None
        except MastodonServerError as err:
            raise XTransient(f"{what}: Mastodon answered {_status(err)}") from None
        except MastodonNetworkError as err:
            raise XTransient(f"{what}: {type(err).__name__}") from None
        except MastodonAPIError as err:
            if _status(err) == 403:
                raise XForbidden(f"{what}: forbidden: {_detail(err)}", reason="other") from None
            raise XError(f"{what}: Mastodon answered {_status(err)}: {_detail(err)}") from None

    def _read(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A GET, retried on transient failures with jittered backoff."""
        for attempt in stamina.retry_context(on=XTransient, attempts=3, timeout=30):
            with attempt:
                return self._call(what, fn, *args, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover

    def _user(self, account: Any) -> XUser:
        acct = str(account["acct"])
        self._accts[str(account["id"])] = acct
        return XUser(str(account["id"]), acct, str(account.get("display_name") or ""))

    # -------------------------------------------------------------------- port

    def me(self) -> XUser:
        """The bot's own account (verify_credentials)."""
        self._me = self._user(self._read("verify_credentials", self.api.account_verify_credentials))
        return self._me

    def is_bot(self) -> bool:
        """Whether the bot's account is flagged as a bot (Mastodon's `bot`), for `paybot doctor`."""
        return bool(self._read("verify_credentials", self.api.account_verify_credentials).get("bot"))

    def max_characters(self) -> int:
        """The instance's status length (configuration.statuses.max_characters), read once."""
        if self._max_characters is None:
            instance = self._read("instance", self.api.instance_v2)
            try:
                self._max_characters = int(instance["configuration"]["statuses"]["max_characters"])
            except (KeyError, TypeError, ValueError):
                self._max_characters = DEFAULT_MAX_CHARACTERS
        return self._max_characters

    def _streaming_base(self) -> str:
        """The streaming server's address (the instance's configuration.urls.streaming, as http(s))."""
        instance = self._read("instance", self.api.instance_v2)
        base = str(((instance.get("configuration") or {}).get("urls") or {}).get("streaming") or "")
        return base.replace("wss://", "https://", 1).replace("ws://", "http://", 1).rstrip("/")

    def streaming_healthy(self) -> bool:
        """Whether the instance's streaming server answers its health check (for `paybot doctor`)."""
        base = self._streaming_base()
        if not base:
            return False
        try:
            resp = self.api.session.get(f"{base.rstrip('/')}/api/v1/streaming/health", timeout=self.timeout)
        except requests.RequestException:
            return False
        return resp.ok and resp.text.strip() == "OK"

    def listen(self, on_event: Callable[[], None], *, reconnect_after: float = 5.0) -> Callable[[], None]:
        """Follow the user stream (server-sent events) on a daemon thread and call `on_event` for each new
        notification: the worker then reads at once instead of at its next poll. The stream only wakes the
        reading; what was said is read by `mentions` and `dm_events` as always (polling stays the source of
        truth, and the catch-up after downtime). A dropped stream is opened again after `reconnect_after`
        seconds. Returns the function that stops it."""
        stopping = threading.Event()
        current: list[requests.Response] = []
        token = str(self.api.access_token)

        class Wake(StreamListener):
            def on_notification(self, notification: Any) -> None:
                on_event()

            def on_status_update(self, status: Any) -> None:
                on_event()  # an edit of a status the bot can see (maybe a command): read the mentions again

            def on_unknown_event(self, name: str, unknown_event: Any = None) -> None:
                pass  # new kinds of events are not paybot's business

        def follow() -> None:
            while not stopping.is_set():
                try:
                    url = f"{self._streaming_base() or self.api.api_base_url}/api/v1/streaming/user"
                    resp = self.api.session.get(
                        url,
                        headers={"Authorization": f"Bearer {token}"},
                        stream=True,
                        timeout=(self.timeout, STREAM_READ_TIMEOUT),
                    )
                    current[:] = [resp]
                    if resp.ok:
                        with resp:
                            Wake().handle_stream(resp)  # type: ignore[no-untyped-call]
                    else:
                        log.warning("the streaming server answered %s; polling only meanwhile", resp.status_code)
                except Exception as err:  # a stream that drops is opened again; polling goes on meanwhile
                    if not stopping.is_set():
                        log.info("the user stream dropped (%s); opening it again", type(err).__name__)
                stopping.wait(reconnect_after)

        def stop() -> None:
            stopping.set()
            for resp in current:
                resp.close()

        threading.Thread(target=follow, name="mastodon-stream", daemon=True).start()
        return stop

    def _my_id(self) -> str:
        return (self._me or self.me()).id

    def _domain(self) -> str:
        """The bot's instance's domain (from its profile's address), where accts carry no domain."""
        if self._own_domain is None:
            account = self._read("verify_credentials", self.api.account_verify_credentials)
            self._own_domain = urlsplit(str(account.get("url") or "")).hostname or ""
        return self._own_domain

    def _notifications(
        self, stop: Callable[[Any], bool], pages: int, limit: int = PAGE, resume: str | None = None
    ) -> tuple[list[Any], str | None]:
        """Mention notifications newest first until `stop(notification)` or `pages` pages; and where reading
        would go on when the pages ran out first (a notification id), else None."""
        found: list[Any] = []
        max_id = resume
        limit = min(limit, PAGE)  # Mastodon answers at most 80: a shorter page must mean the last one
        for _ in range(pages):
            page = self._read("notifications", self.api.notifications, types=["mention"], limit=limit, max_id=max_id)
            for n in page:
                if stop(n):
                    return found, None
                found.append(n)
            if len(page) < limit or not page:
                return found, None
            max_id = str(page[-1]["id"])
        return found, max_id

    def mentions(self, user_id: str, since_id: str | None) -> list[Mention]:
        """Mentions newer than since_id, and every version of those edited in the last `edit_horizon`,
        oldest first."""
        if user_id != self._my_id():
            raise XError("Mastodon only lists the bot's own notifications")
        horizon = self.clock.now() - self.edit_horizon

        def old(n: Any) -> bool:
            seen = since_id is not None and int(port_id(n["status"]["id"] if n.get("status") else 0)) <= int(since_id)
            return seen and _utc(n["created_at"]) < horizon

        found, more = self._notifications(old, MAX_PAGES)
        if more:
            log.warning("read %d pages of mentions and there are more: older mentions are left unread", MAX_PAGES)
        out: dict[str, Mention] = {}
        for n in found:
            status = n.get("status")
            if not status or status.get("visibility") == "direct" or status.get("reblog"):
                continue
            late = _late(n)
            for m in self._versions_of(status):
                # An edit is read whatever its id: one federated late carries its edit time, maybe below the cursor
                if since_id is None or int(m.id) > int(since_id) or late or m.id != m.root_id:
                    out[m.id] = m
        return sorted(self._named(list(out.values())), key=lambda m: int(m.id))

    def _named(self, mentions: list[Mention]) -> list[Mention]:
        """The people each mention names, with their display names (a status's mentions carry none), looked
        up in one batch: the confirmation shows them."""
        now = self.clock.now()
        ids = sorted(
            {
                u.id
                for m in mentions
                for u in m.mentioned.values()
                if not u.name and (u.id not in self._names or now - self._names[u.id][1] > NAMES_FOR)
            }
        )
        if ids:
            for user in self.users(ids).values():
                self._names[user.id] = (user.name, now)
        return [
            replace(
                m,
                mentioned={
                    h: replace(u, name=self._names[u.id][0]) if u.id in self._names else u
                    for h, u in m.mentioned.items()
                },
            )
            for m in mentions
        ]

    def _versions_of(self, status: Any) -> list[Mention]:
        """The status as a mention, one per version when it was edited."""
        sid = str(status["id"])
        self._visibility[sid] = str(status.get("visibility"))
        author = self._user(status["account"])
        mentions = list(status.get("mentions") or [])
        mentioned: dict[str, XUser] = {}
        for m in mentions:
            user = XUser(str(m["id"]), str(m["acct"]), "")
            self._accts[user.id] = user.handle
            mentioned[user.handle.lower()] = user
        me = self._me
        if me is not None and me.handle.lower() in mentioned:
            mentioned[me.handle.lower()] = me
        domain = self._domain()
        versions = [(*read_content(str(status["content"]), mentions, domain), _utc(status["created_at"]))]
        if status.get("edited_at"):
            cache_key = (sid, f"{status['edited_at']} {status['content']}")  # two edits may share a millisecond
            if cache_key not in self._versions:
                history = self._read("status_history", self.api.status_history, sid)
                self._versions[cache_key] = [
                    (*read_content(str(v["content"]), mentions, domain), _utc(v["created_at"])) for v in history
                ][: VERSIONS - 1]
            versions = self._versions[cache_key] or versions
        # Handles of other instances written and not linked (no account, or one the instance has never seen)
        versions = [(text, [*named, *_unlinked(text, named)], at) for text, named, at in versions]
        # People an earlier version named and the status no longer does, and those: looked up by their acct
        gone = sorted({a.lower() for _, named, _ in versions for a in named} - set(mentioned))
        if gone:
            mentioned |= self._look_up(gone[:LOOKED_UP])
        ids = [port_id(sid, at, i) for i, (_, _, at) in enumerate(versions)]
        reply = status.get("in_reply_to_id")
        out = []
        for i, (text, named, at) in enumerate(versions):
            start = 0
            if reply:  # the leading @handles of a reply are its context, as X shows them
                lead = _LEADING_HANDLES.match(text)
                start = lead.end() if lead else 0
            out.append(
                Mention(
                    id=ids[i],
                    author_id=author.id,
                    text=text,
                    created_at=at,
                    author_handle=author.handle,
                    author_name=author.name,
                    display_start=start,
                    edit_ids=tuple(ids[: i + 1]),
                    referenced=(("replied_to", port_id(reply)),) if reply else (),
                    mentioned={a.lower(): mentioned[a.lower()] for a in named if a.lower() in mentioned},
                )
            )
        return out

    def dm_events(self, stop_at: str | None, resume: str | None = None, not_before: datetime | None = None) -> DmPage:
        """Direct statuses to the bot newer than the port id `stop_at`, oldest first, up to 10 pages (3
        without a mark); `resume` continues a backlog larger than one call."""
        bounded = bool(stop_at) or not_before is not None

        def old(n: Any) -> bool:
            status = n.get("status")
            if stop_at:
                return bool(status) and int(port_id(status["id"])) <= int(stop_at) and not _late(n)
            return not_before is not None and _utc(n["created_at"]) < not_before

        found, more = self._notifications(old, 10 if bounded else 3, limit=self.dm_page_size, resume=resume)
        me = self._my_id()
        events = []
        for n in found:
            status = n.get("status")
            if not status or status.get("visibility") != "direct":
                continue
            sender = self._user(status["account"])
            others = {str(m["id"]) for m in status.get("mentions") or []} - {me}
            text = plain_text(str(status["content"]), list(status.get("mentions") or []))
            lead = _LEADING_HANDLES.match(text)
            events.append(
                DirectMessage(
                    id=port_id(status["id"]),
                    sender_id=sender.id,
                    text=text[lead.end() :] if lead else text,
                    created_at=_utc(status["created_at"]),
                    sender_handle=sender.handle,
                    conversation_id=f"group-{status['id']}" if others else "-".join(sorted((sender.id, me), key=int)),
                )
            )
        events.sort(key=lambda d: int(d.id))
        return DmPage(events, more if bounded else None)

    def _acct(self, user_id: str) -> str:
        if user_id not in self._accts:
            self._user(self._read("account", self.api.account, user_id))
        return self._accts[user_id]

    def _post(self, what: str, text: str, *, visibility: str, reply_to: str | None, key: str | None) -> str:
        if countable(text) > self.max_characters():
            raise XError(f"{what}: {countable(text)} characters is more than the instance's {self.max_characters()}")
        status = self._call(
            what, self.api.status_post, text, in_reply_to_id=reply_to, visibility=visibility, idempotency_key=key
        )
        return port_id(status["id"])

    def send_dm(self, user_id: str, text: str) -> str:
        """A direct status naming the person first; its port id."""
        try:
            acct = self._acct(user_id)
        except XError as err:
            raise XError(f"dm: no account {user_id}: {err}") from None
        return self._post("dm", f"@{acct} {quiet_handles(text)}", visibility="direct", reply_to=None, key=None)

    def dm_sent(self, user_id: str, text: str, since: datetime) -> SentDm | None:
        """The bot's direct status with this text to this person since then (a send in doubt), from the bot's
        own statuses, newest first; None when there is none."""
        since = since.replace(microsecond=since.microsecond // 1000 * 1000)
        me = self._my_id()
        max_id: str | None = None
        found: list[SentDm] = []
        for _ in range(DM_SENT_PAGES):
            page = self._read("account_statuses", self.api.account_statuses, me, limit=40, max_id=max_id)
            for s in page:
                at = _utc(s["created_at"])
                if at < since:
                    return min(found, key=lambda d: d.at) if found else None
                mentions = list(s.get("mentions") or [])
                if s.get("visibility") != "direct" or not mentions or str(mentions[0]["id"]) != user_id:
                    continue
                written = plain_text(str(s["content"]), mentions)
                lead = _LEADING_HANDLES.match(written)
                if (written[lead.end() :] if lead else written) == quiet_handles(text):
                    found.append(SentDm(port_id(s["id"]), at))
            if not page:
                break
            max_id = str(page[-1]["id"])
        return min(found, key=lambda d: d.at) if found else None

    def reply(self, in_reply_to: str, text: str) -> str:
        """A status in reply to the port id's status, as visible as it and never more (public under a public
        status, unlisted under an unlisted one; under a followers-only one, a direct status to the people it
        mentions: a followers-only reply would reach the bot's followers, not the author's); its port id. A status
        gone is a refusal."""
        sid = status_of(in_reply_to)
        try:
            if sid not in self._visibility:
                self._visibility[sid] = str(self._read("status", self.api.status, sid).get("visibility"))
            visibility = {"unlisted": "unlisted", "private": "direct"}.get(self._visibility[sid], "public")
            return self._post("reply", text, visibility=visibility, reply_to=sid, key=_key("reply", sid, text))
        except XForbidden:
            raise
        except XError as err:
            if "not found" in str(err):
                raise XForbidden(f"reply: {err}", reason="other") from None
            raise

    def users_by_handle(self, handles: list[str]) -> dict[str, XUser]:
        """Look handles (acct: `alice`, `alice@other.example`) up one by one; unknown ones are absent. Keyed
        by acct in lower case, and by the handle as asked when that differs (`alice@<this instance>`). An account
        of another instance that the bot's instance has never seen is resolved there (`_resolve`)."""
        out: dict[str, XUser] = {}
        for asked in dict.fromkeys(h.lower().lstrip("@") for h in handles):
            try:
                user = self._user(self._read("account_lookup", self.api.account_lookup, asked))
            except XError as err:
                if isinstance(err, XAuthError | XRateLimited | XTransient):
                    raise
                found = self._resolve(asked)
                if found is None:
                    continue
                user = found
            out[user.handle.lower()] = user
            if asked != user.handle.lower() and asked.partition("@")[0] == user.handle.lower():
                out[asked] = user
        return out

    def _look_up(self, accts: list[str]) -> dict[str, XUser]:
        """The accounts by these accts (`users_by_handle`), each looked for at most once per NAMES_FOR, found or
        not: a status is read again at every poll for `edit_horizon`, and an unknown account costs a lookup and
        a search each time."""
        now = self.clock.now()
        stale = [a for a in accts if a not in self._looked_up or now - self._looked_up[a][1] > NAMES_FOR]
        if stale:
            found = self.users_by_handle(stale)
            self._looked_up |= {a: (found.get(a), now) for a in stale}
        return {a: user for a in accts if (user := self._looked_up[a][0]) is not None}

    def _resolve(self, acct: str) -> XUser | None:
        """The account `user@domain` of another instance, resolved by the bot's instance (WebFinger, then the
        actor), or None. `/api/v1/accounts/lookup` answers only accounts the instance already knows; a search
        with `resolve=true` for an account makes it fetch an unknown remote one (Mastodon's SearchService calls
        ResolveAccountService). Only the account whose acct is exactly the one asked is taken: a search also
        answers accounts that merely resemble it, and the payer must be shown exactly who is paid. An instance
        that cannot be reached, or has no such account, is an empty answer, as on Mastodon."""
        username, _, domain = acct.partition("@")
        if not username or not domain or domain == self._domain():
            return None
        found = self._read("search", self.api.search_v2, acct, resolve=True, result_type="accounts", limit=5)
        for account in found.get("accounts") or []:
            if str(account["acct"]).lower() == acct:
                return self._user(account)
        return None

    def users(self, ids: list[str]) -> dict[str, XUser]:
        """The current acct of each account id, 40 per request; ids Mastodon does not know are absent."""
        out: dict[str, XUser] = {}
        wanted = [i for i in dict.fromkeys(ids) if i]
        for i in range(0, len(wanted), USER_PAGE):
            for account in self._read("accounts", self.api.accounts, wanted[i : i + USER_PAGE]):
                user = self._user(account)
                out[user.id] = user
        return out


def _status(err: MastodonAPIError) -> int:
    return int(err.args[1]) if len(err.args) > 1 and str(err.args[1]).isdigit() else 0


def _detail(err: MastodonAPIError) -> str:
    return str(err.args[3] if len(err.args) > 3 else err)[:200]

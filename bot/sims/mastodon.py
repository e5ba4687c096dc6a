"""The Mastodon simulator: the REST endpoints paybot uses, served over HTTP on 127.0.0.1.

Its answers follow what a real Mastodon server (4.6) answered Mastodon.py's test suite and Mastodon.py's
own field-by-field description of each entity (../shared/specs/mastodon: tests/cassettes/*.yaml and
srcgen/return_types.json), checked in tests/contract/test_mastosim_entities.py:

- ids are strings; status ids grow with time (Mastodon's snowflakes: milliseconds << 16), notification ids
  are a plain sequence; lists come newest first with `max_id` / `since_id` / `min_id` and a `Link` header
  (test_notifications.yaml);
- a status mentioning someone gives them a `mention` notification; a `direct` status is seen only by the
  people it mentions (test_status_post[None-direct].yaml); an edit keeps the status id, sets `edited_at`,
  adds a version to `/history` (test_status_edit.yaml) and notifies only people it newly mentions (as
  Mastodon's LocalNotificationWorker does: a mention is notified once; `update` goes to boosters only);
- statuses over the instance's `configuration.statuses.max_characters` (500) are refused with 422
  (test_lang_for_errors.yaml); unknown accounts are 404 `{"error": "Record not found"}`
  (test_account_lookup.yaml); a bad token is 401 (test_home_tl_anonymous_throws.yaml);
- every authenticated answer carries `X-RateLimit-Limit/Remaining/Reset` (the reset an ISO time at the
  end of the 5-minute window), and a request past the limit is 429 `{"error": "Too many requests"}`.

A control side (Python methods, and the same under /_sim/ over HTTP) plays the people: accounts on this
instance and on others (`alice@other.example`), posting, replying, editing, boosting, deleting, writing
directly (a `direct` status), renaming. A status posted with an `Idempotency-Key` the same account used in
the last hour answers the first status instead of posting again.

Streaming: the user stream (`/api/v1/streaming/user`, server-sent events) sends each new notification; the
home timeline's `update` events are not sent. Not modelled: federation delays, media, polls, quotes,
conversations, filters, blocks and mutes, and the
separate limits Mastodon keeps for posting and media.
"""

from __future__ import annotations

import html
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from bot.ports import Clock, SystemClock
from bot.sims.kit import Loopback, count_in_window, live_key, queue_fault
from bot.sims.mastodon_routes import masto_time

DOMAIN = "paybot.example"
SIM_TOKEN = "sim-mastodon-token"
MAX_CHARACTERS = 500
RATE_LIMIT = 300  # requests per window per account (Mastodon's default)
WINDOW = timedelta(minutes=5)
KEY_LIFETIME = 3600  # seconds an Idempotency-Key keeps the status it posted
VERSION = "4.6.4"
# @user or @user@domain, not glued to a word, a path or an address
MENTION = re.compile(r"(?<![\w@/])@([A-Za-z0-9_]{1,30})(?:@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+))?(?![\w@])")


class MastodonSim:
    """The simulated Mastodon instance: state, a Flask app over it, and control methods."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        bot_handle: str = "paybot",
        domain: str = DOMAIN,
        rate_limit: int | None = RATE_LIMIT,
        max_characters: int = MAX_CHARACTERS,
        token: str = SIM_TOKEN,
    ) -> None:
        self.clock = clock or SystemClock()
        self.domain = domain
        self.rate_limit = rate_limit
        self.max_characters = max_characters
        self.lock = threading.RLock()
        self.accounts: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []  # in id order
        # Edits for the user streams, in order: (its number, the account whose stream gets it, the status). Sent to
        # the accounts the edited status names. A real instance sends `status.update` to the home timelines holding
        # the status (test_stream_user_direct.yaml shows one on the user stream); whether a named stranger's stream
        # gets it is not in the recordings: the simulator sends it, and paybot only wakes on it.
        self.status_updates: list[tuple[int, str, str]] = []
        self.tokens: dict[str, str] = {}  # access token -> account id
        self.log: list[dict[str, Any]] = []  # every API request: endpoint, method, status
        self._last_id = 0
        self._next_account = 110_000_000_000_000_001
        self._next_notification = 1
        self._windows: dict[str, tuple[datetime, int]] = {}
        self.idempotency: dict[tuple[str, str], dict[str, Any]] = {}  # (account, key) -> {"status": id, "at"}
        self.faults: dict[str, list[int]] = {}  # endpoint -> the statuses its next requests answer
        self.scopes = ["read", "write"]  # what the bot's token was granted
        self.closing = threading.Event()  # set by stop(): open streams end
        self.streams = 0  # user streams opened so far
        self.server = Loopback("mastodon-sim")
        self.base = ""  # its URL once started
        self.bot_id = self.add_user(bot_handle, "paybot", bot=True)
        self.tokens[token] = self.bot_id

    # ------------------------------------------------------------------ people

    def add_user(
        self, handle: str, name: str | None = None, *, bot: bool = False, accepts_dms: bool = True, known: bool = True
    ) -> str:
        """An account, local (`alice`) or on another instance (`alice@other.example`); returns its id.

        `known=False`: an account of another instance that this one has never seen. Lookups and mentions do not
        find it; a search with `resolve=true` for its acct does (WebFinger, played), and makes it known.
        Mastodon has no "closed DMs": `accepts_dms` is kept for the X-shaped callers and has no effect."""
        del accepts_dms
        username, _, domain = handle.partition("@")
        with self.lock:
            if self._find(handle):
                raise ValueError(f"@{handle} exists")
            uid = str(self._next_account)
            self._next_account += 1
            self.accounts[uid] = {
                "id": uid,
                "username": username,
                "domain": domain or None,
                "display_name": name if name is not None else username.title(),
                "bot": bot,
                "known": known or not domain,
                "created_at": self.clock.now().replace(hour=0, minute=0, second=0, microsecond=0),
            }
            return uid

    def token_for(self, handle: str) -> str:
        """An access token acting as this local account (people posting through the API)."""
        uid = self.user_id(handle)
        token = f"sim-token-{uid}"
        self.tokens[token] = uid
        return token

    def user_id(self, handle: str) -> str:
        found = self._find(handle)
        if not found:
            raise KeyError(f"no account @{handle}")
        return str(found["id"])

    def acct(self, account_id: str) -> str:
        """The account's handle as Mastodon writes it for this instance: `alice`, or `alice@other.example`."""
        a = self.accounts[account_id]
        return f"{a['username']}@{a['domain']}" if a["domain"] else str(a["username"])

    handle = acct  # the X simulator's name for it

    def rename(self, handle: str, new: str) -> None:
        """The account moves to a new username (Mastodon only allows this through an account move)."""
        with self.lock:
            if self._find(new):
                raise ValueError(f"@{new} is taken")
            self.accounts[self.user_id(handle)]["username"] = new.partition("@")[0]

    def _find(self, handle: str) -> dict[str, Any] | None:
        username, _, domain = handle.lower().lstrip("@").partition("@")
        domain_or_none = None if domain in ("", self.domain) else domain
        return next(
            (
                a
                for a in self.accounts.values()
                if a["username"].lower() == username and (a["domain"] or None) == domain_or_none
            ),
            None,
        )

    # ------------------------------------------------------------------ posting

    def post(
        self,
        by: str,
        text: str,
        *,
        visibility: str = "public",
        reply_to: str | None = None,
        as_id: str | None = None,
        published: datetime | None = None,
    ) -> dict[str, Any]:
        """@by posts a status; returns it as stored. `as_id`: the author by account id instead. `published`: a
        status from another instance that reaches this one only now, published then (its id and created_at
        say then, as Mastodon derives them from the publication time; its notifications say now)."""
        with self.lock:
            author = as_id or self.user_id(by)
            now = published or self.clock.now()
            sid = self._new_status_id(now) if published is None else self._past_status_id(now)
            mentioned = self._mentioned(text)
            reply = self.statuses.get(reply_to) if reply_to else None
            status: dict[str, Any] = {
                "id": sid,
                "account_id": author,
                "text": text,
                "visibility": visibility,
                "in_reply_to_id": reply["id"] if reply else None,
                "in_reply_to_account_id": reply["account_id"] if reply else None,
                "created_at": now,
                "edited_at": None,
                "mentions": mentioned,
                "versions": [(text, now)],
                "reblog_of": None,
            }
            self.statuses[sid] = status
            self._notify(status, mentioned)
            return status

    tweet = post  # the X simulator's name for it

    def direct(
        self,
        by: str,
        text: str,
        to: str | None = None,
        *,
        reply_to: str | None = None,
        published: datetime | None = None,
    ) -> dict[str, Any]:
        """@by writes privately to @to (default: the bot): a `direct` status naming them first."""
        target = to or self.acct(self.bot_id)
        return self.post(by, f"@{target} {text}", visibility="direct", reply_to=reply_to, published=published)

    dm = direct

    def edit(self, status_id: str, text: str, *, edited_at: datetime | None = None) -> dict[str, Any]:
        """The author edits a status: same id, `edited_at` set, a version more; people it now names for the
        first time are notified. `edited_at`: an edit from another instance that reaches this one only now,
        made then (its `edited_at` and its version's time in `/history` say then, as the Update carries it)."""
        with self.lock:
            status = self.statuses[status_id]
            now = edited_at or self._edit_time()
            mentioned = self._mentioned(text)
            before = list(status["mentions"])
            new = [m for m in mentioned if m not in before]
            status.update(text=text, edited_at=now, mentions=mentioned)
            status["versions"].append((text, now))
            self._notify(status, new)
            for to in dict.fromkeys([*before, *mentioned]):  # those it named, and those it names now
                self.status_updates.append((len(self.status_updates) + 1, to, status_id))
            return status

    def boost(self, by: str, status_id: str) -> dict[str, Any]:
        """@by boosts a status (a reblog): it notifies the status's author only, never the people it names."""
        with self.lock:
            orig = self.statuses[status_id]
            now = self.clock.now()
            sid = self._new_status_id(now)
            status: dict[str, Any] = {
                "id": sid,
                "account_id": self.user_id(by),
                "text": "",
                "visibility": "public",
                "in_reply_to_id": None,
                "in_reply_to_account_id": None,
                "created_at": now,
                "edited_at": None,
                "mentions": [],
                "versions": [("", now)],
                "reblog_of": status_id,
            }
            self.statuses[sid] = status
            if orig["account_id"] != status["account_id"]:
                self._add_notification("reblog", orig["account_id"], status["account_id"], status_id)
            return status

    retweet = boost

    def delete(self, status_id: str) -> None:
        """The author deletes a status: it and its notifications go."""
        with self.lock:
            self.statuses.pop(status_id)
            self.notifications = [n for n in self.notifications if n["status_id"] != status_id]

    def known(self, handle: str) -> dict[str, Any] | None:
        """The account this instance knows by that handle (lookups, mentions), or None."""
        found = self._find(handle)
        return found if found and found["known"] else None

    def resolve(self, handle: str) -> dict[str, Any] | None:
        """The account by that handle, fetched from its instance when this one has never seen it (WebFinger)."""
        with self.lock:
            found = self._find(handle)
            if found:
                found["known"] = True
            return found

    def _mentioned(self, text: str) -> list[str]:
        """The known accounts the text mentions. One this instance has never seen is no mention (its link stays
        in the content, as in a status from another instance naming someone this one has not fetched)."""
        found: list[str] = []
        for m in MENTION.finditer(text):
            account = self.known(f"{m.group(1)}@{m.group(2)}" if m.group(2) else m.group(1))
            if account and account["id"] not in found:
                found.append(account["id"])
        return found

    def _notify(self, status: dict[str, Any], accounts: list[str]) -> None:
        for uid in accounts:
            if uid != status["account_id"] and self.accounts[uid]["domain"] is None:
                self._add_notification("mention", uid, status["account_id"], status["id"])

    def _add_notification(self, kind: str, to: str, by: str, status_id: str | None) -> None:
        nid = str(self._next_notification)
        self._next_notification += 1
        self.notifications.append(
            {
                "id": nid,
                "type": kind,
                "to": to,
                "account_id": by,
                "status_id": status_id,
                "created_at": self.clock.now(),
            }
        )

    def _edit_time(self) -> datetime:
        """When an edit made now is made: now, but after every status posted before it. On a real server time
        passes between two requests; here many statuses may share one instant of the clock, their snowflakes
        told apart by the sequence in their low 16 bits, which an edit's time (to the millisecond) cannot show.
        Such an edit is made a millisecond after them, and the statuses after it get snowflakes past it."""
        now = self.clock.now()
        millis = (now - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
        at_millis = max(millis, (self._last_id >> 16) + 1)
        self._last_id = max(self._last_id, (at_millis << 16) + 0xFFF)  # later statuses sort after the edit
        return now + timedelta(milliseconds=at_millis - millis)

    def _past_status_id(self, at: datetime) -> str:
        """A snowflake for a time already past, unused (a federated status published earlier)."""
        sid = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1) << 16
        while str(sid) in self.statuses:
            sid += 1
        return str(sid)

    def _new_status_id(self, now: datetime) -> str:
        """Mastodon's snowflake: the time in milliseconds, shifted 16 bits, plus a sequence."""
        sid = max(int(now.timestamp() * 1000) << 16, self._last_id + 1)
        self._last_id = sid
        return str(sid)

    # ------------------------------------------------------------- observation

    def bot_messages(self) -> list[dict[str, Any]]:
        """Every status the bot posted, oldest first, in the X simulator's shape: a `direct` status is a "dm"
        to the first account it names, a status in reply a "reply"."""
        with self.lock:
            out = []
            for s in sorted(self.statuses.values(), key=lambda s: int(s["id"])):
                if s["account_id"] != self.bot_id or s["reblog_of"]:
                    continue
                if s["visibility"] == "direct":
                    out.append(
                        {
                            "type": "dm",
                            "to_id": s["mentions"][0] if s["mentions"] else "",
                            "text": s["text"],
                            "id": s["id"],
                        }
                    )
                else:
                    out.append(
                        {
                            "type": "reply" if s["in_reply_to_id"] else "post",
                            "in_reply_to": s["in_reply_to_id"],
                            "text": s["text"],
                            "id": s["id"],
                        }
                    )
            return out

    def inject(self, endpoint: str, status: int, times: int = 1) -> None:
        """Answer the next `times` requests to `endpoint` (a name of mastodon_routes.ROUTES) with `status`."""
        with self.lock:
            queue_fault(self.faults, endpoint, status, max(times, 1))  # `times` 0 still fails one request

    def start(self, port: int = 0) -> str:
        """Serve the simulator on 127.0.0.1 (port 0: a free one); returns the base URL."""
        self.closing.clear()
        self.base = self.server.start(self.app(), port)
        return self.base

    def stop(self) -> None:
        self.closing.set()  # the user streams end, so that their threads do not hold the server
        self.server.stop()

    # ------------------------------------------------------------------- app

    def app(self) -> Flask:
        """The Flask application: Mastodon's endpoints and the /_sim control API."""
        from bot.sims import mastodon_routes

        return mastodon_routes.build(self)

    # ------------------------------------------------------------ API helpers

    def rate(self, account_id: str) -> tuple[int, int, datetime] | None:
        """Count one request by this account; (limit, remaining, reset) or None when unlimited. Mastodon's
        windows are aligned on the period (a reset at 13:55:00 for a request at 13:51)."""
        if self.rate_limit is None:
            return None
        now = self.clock.now()
        epoch = datetime(2000, 1, 1, tzinfo=UTC)
        start = epoch + WINDOW * ((now - epoch) // WINDOW)
        used = count_in_window(self._windows, account_id, start)
        return self.rate_limit, self.rate_limit - used, start + WINDOW

    def countable(self, text: str) -> int:
        """A status's length as Mastodon counts it: a link is 23 characters, a remote mention its @username."""
        text = re.sub(r"https?://\S+", "x" * 23, text)
        return len(MENTION.sub(lambda m: f"@{m.group(1)}", text))

    def remembered(self, account_id: str, key: str | None) -> dict[str, Any] | None:
        """The status this account already posted with this Idempotency-Key in the last hour, if any."""
        if not key:
            return None
        found = live_key(self.idempotency, (account_id, key), self.clock.now().timestamp(), KEY_LIFETIME)
        if found and found["status"] in self.statuses:
            return self.statuses[found["status"]]
        return None

    def visible(self, status: dict[str, Any], viewer: str) -> bool:
        """Whether `viewer` may see the status: direct ones only by their author and the people they name."""
        return status["visibility"] != "direct" or viewer == status["account_id"] or viewer in status["mentions"]

    def render_account(self, account_id: str) -> dict[str, Any]:
        """An Account entity (return_types.json "User / account")."""
        a = self.accounts[account_id]
        base = f"https://{a['domain'] or self.domain}"
        url = f"{base}/@{a['username']}"
        statuses = [s for s in self.statuses.values() if s["account_id"] == account_id and s["visibility"] != "direct"]
        last = max((s["created_at"] for s in statuses), default=None)
        return {
            "id": account_id,
            "username": a["username"],
            "acct": self.acct(account_id),
            "display_name": a["display_name"],
            "locked": False,
            "bot": a["bot"],
            "discoverable": True,
            "indexable": False,
            "group": False,
            "created_at": masto_time(a["created_at"]),
            "note": "",
            "url": url,
            "uri": f"{base}/users/{a['username']}",
            "avatar": f"https://{self.domain}/avatars/original/missing.png",
            "avatar_static": f"https://{self.domain}/avatars/original/missing.png",
            "avatar_description": "",
            "header": f"https://{self.domain}/headers/original/missing.png",
            "header_static": f"https://{self.domain}/headers/original/missing.png",
            "header_description": "",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": len(statuses),
            "last_status_at": last.strftime("%Y-%m-%d") if last else None,
            "hide_collections": False,
            "show_media": True,
            "show_media_replies": True,
            "show_featured": True,
            "noindex": False,
            "mute_expires_at": None,
            "emojis": [],
            "roles": [],
            "fields": [],
        }

    def render_content(self, status: dict[str, Any], text: str | None = None) -> str:
        """The status's text as Mastodon's HTML: paragraphs, line breaks, and each mention as an h-card link
        whose text is the short @username (the full handle is in `mentions`)."""
        raw = status["text"] if text is None else text
        parts: list[str] = []
        last = 0
        for m in MENTION.finditer(raw):
            account = self._find(f"{m.group(1)}@{m.group(2)}" if m.group(2) else m.group(1))
            if account is None:
                continue
            parts.append(html.escape(raw[last : m.start()], quote=False))
            url = self.render_account(account["id"])["url"]
            parts.append(
                f'<span class="h-card" translate="no"><a href="{url}" class="u-url mention">'
                f"@<span>{html.escape(account['username'])}</span></a></span>"
            )
            last = m.end()
        parts.append(html.escape(raw[last:], quote=False))
        body = "".join(parts)
        paragraphs = [p.replace("\n", "<br />") for p in re.split(r"\n{2,}", body)]
        return "".join(f"<p>{p}</p>" for p in paragraphs)

    def render_status(self, status: dict[str, Any]) -> dict[str, Any]:
        """A Status entity (return_types.json "Toot / Status")."""
        author = self.render_account(status["account_id"])
        reblog = self.statuses.get(status["reblog_of"]) if status["reblog_of"] else None
        return {
            "id": status["id"],
            "created_at": masto_time(status["created_at"]),
            "in_reply_to_id": status["in_reply_to_id"],
            "in_reply_to_account_id": status["in_reply_to_account_id"],
            "sensitive": False,
            "spoiler_text": "",
            "visibility": status["visibility"],
            "language": "en",
            "uri": f"{author['uri']}/statuses/{status['id']}",
            "url": f"{author['url']}/{status['id']}",
            "replies_count": sum(1 for s in self.statuses.values() if s["in_reply_to_id"] == status["id"]),
            "reblogs_count": sum(1 for s in self.statuses.values() if s["reblog_of"] == status["id"]),
            "favourites_count": 0,
            "quotes_count": 0,
            "edited_at": masto_time(status["edited_at"]) if status["edited_at"] else None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
            "content": self.render_content(status),
            "filtered": [],
            "reblog": self.render_status(reblog) if reblog else None,
            "account": author,
            "media_attachments": [],
            "mentions": [self.render_mention(uid) for uid in status["mentions"]],
            "tags": [],
            "emojis": [],
            "tagged_collections": [],
            "quote": None,
            "card": None,
            "poll": None,
            "quote_approval": {"automatic": ["public"], "manual": [], "current_user": "automatic"},
        }

    def render_mention(self, account_id: str) -> dict[str, Any]:
        """A Mention entity (return_types.json "Mention")."""
        a = self.render_account(account_id)
        return {"id": account_id, "username": a["username"], "url": a["url"], "acct": a["acct"]}

    def render_history(self, status: dict[str, Any]) -> list[dict[str, Any]]:
        """The status's versions, oldest first (return_types.json "Status edit")."""
        author = self.render_account(status["account_id"])
        return [
            {
                "content": self.render_content(status, text),
                "spoiler_text": "",
                "sensitive": False,
                "created_at": masto_time(at),
                "account": author,
                "media_attachments": [],
                "emojis": [],
            }
            for text, at in status["versions"]
        ]

    def render_notification(self, n: dict[str, Any]) -> dict[str, Any]:
        """A Notification entity (return_types.json "Notification")."""
        out: dict[str, Any] = {
            "id": n["id"],
            "type": n["type"],
            "created_at": masto_time(n["created_at"]),
            "group_key": f"ungrouped-{n['id']}",
            "account": self.render_account(n["account_id"]),
        }
        if n["status_id"] in self.statuses:
            out["status"] = self.render_status(self.statuses[n["status_id"]])
        return out

    def render_instance(self, base: str) -> dict[str, Any]:
        """The Instance (v2) entity, with `configuration.statuses.max_characters`."""
        return {
            "domain": self.domain,
            "title": "paybot's Mastodon simulator",
            "version": VERSION,
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "",
            "usage": {"users": {"active_month": len(self.accounts)}},
            "thumbnail": None,
            "icon": [],
            "languages": ["en"],
            "configuration": {
                # Mastodon.py describes these three as optional, not nullable: left out rather than null
                "urls": {"streaming": base.replace("http", "ws", 1), "about": f"{base}/about"},
                "vapid": {"public_key": ""},
                "accounts": {
                    "max_featured_tags": 10,
                    "max_pinned_statuses": 5,
                    "max_display_name_length": 30,
                    "max_note_length": 500,
                    "max_avatar_description_length": 150,
                    "max_header_description_length": 150,
                    "max_profile_fields": 4,
                    "profile_field_name_limit": 255,
                    "profile_field_value_limit": 255,
                },
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": 4,
                    "characters_reserved_per_url": 23,
                },
                "media_attachments": {
                    "supported_mime_types": [],
                    "description_limit": 1500,
                    "image_size_limit": 16777216,
                    "image_matrix_limit": 33177600,
                    "video_size_limit": 103809024,
                    "video_frame_rate_limit": 120,
                    "video_matrix_limit": 8294400,
                },
                "polls": {
                    "max_options": 4,
                    "max_characters_per_option": 50,
                    "min_expiration": 300,
                    "max_expiration": 2629746,
                },
                "translation": {"enabled": False},
                "limited_federation": False,
                "timelines_access": {
                    "live_feeds": {"local": "public", "remote": "public"},
                    "hashtag_feeds": {"local": "public", "remote": "public"},
                    "trending_link_feeds": {"local": "public", "remote": "public"},
                },
            },
            "registrations": {
                "enabled": False,
                "approval_required": False,
                "message": None,
                "url": None,
                "min_age": None,
                "reason_required": False,
            },
            "contact": {"email": f"admin@{self.domain}", "account": self.render_account(self.bot_id)},
            "rules": [],
            "api_versions": {"mastodon": 7},
        }

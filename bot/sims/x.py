"""The X API simulator: the v2 endpoints paybot uses, served over HTTP on 127.0.0.1.

Its response shapes follow X's OpenAPI description (checked in
tests/contract/test_xsim_openapi.py): newest-first lists, pagination tokens, since_id
and until_id, rate-limit headers and 429s per endpoint, 401 for unknown
credentials, 403 for duplicate content, closed DMs and replies the bot was not
invited to. A control API under /_sim/ (and the same methods in Python) acts as
the people on X: post, reply, edit, repost, quote, DM, rename.

Field names: X's current OpenAPI description says `post.fields`,
`edit_history_post_ids` and `referenced_posts`; tweepy and X's v2 docs say
`tweet.fields`, `edit_history_tweet_ids` and `referenced_tweets`. The
simulator answers in the vocabulary the request used, so both stay honest.

It runs in-process (tests, demo, simulate) or standalone (`paybot sim-x`),
keeping its state in a JSON file so it survives the bot's restarts.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from bot.ports import Clock, SystemClock
from bot.sims.kit import Loopback, count_in_window, queue_fault

_MENTION = re.compile(r"(?<![A-Za-z0-9_])@([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_])")
FIRST_POST_ID = 1_861_000_000_000_000_000
FIRST_USER_ID = 1_000_000_001
MENTIONS_HORIZON = 800
DM_HISTORY = timedelta(days=30)
WINDOW = 15 * 60

# Requests per 15-minute window per user; POST DMs also have a 24-hour cap.
PAY_PER_USE: dict[str, int] = {
    "mentions": 300,
    "tweets_post": 100,
    "dm_events": 15,
    "dm_conversation_events": 15,
    "dm_post": 15,
    "users_by": 900,
    "users": 900,
    "users_me": 75,
}
DAILY_DM_POSTS = 1440
# X's routes as its API reference names them, and the simulator's name for each (faults, rate limits).
ROUTES: dict[str, str] = {
    "GET /2/users/me": "users_me",
    "GET /2/users/:id/mentions": "mentions",
    "GET /2/dm_events": "dm_events",
    "GET /2/dm_conversations/with/:participant_id/dm_events": "dm_conversation_events",
    "POST /2/dm_conversations/with/:participant_id/messages": "dm_post",
    "POST /2/tweets": "tweets_post",
    "GET /2/users": "users",
    "GET /2/users/by": "users_by",
}
UNLIMITED: dict[str, int] = {}

SIM_CONSUMER_KEY = "sim-consumer-key"
SIM_CONSUMER_SECRET = "sim-consumer-secret"
SIM_ACCESS_TOKEN = "sim-access-token"
SIM_ACCESS_TOKEN_SECRET = "sim-access-token-secret"

_NEW_NAMES = {"edit_history_tweet_ids": "edit_history_post_ids", "referenced_tweets": "referenced_posts"}


def x_time(t: datetime) -> str:
    """X's timestamp format: 2026-11-28T12:00:00.000Z."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class XSim:
    """The simulated X: state, a Flask app over it, and control methods."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        bot_handle: str = "paybot",
        limits: dict[str, int] | None = None,
        state_path: str | Path | None = None,
        consumer_key: str = SIM_CONSUMER_KEY,
        access_token: str = SIM_ACCESS_TOKEN,
        consumer_secret: str = SIM_CONSUMER_SECRET,
        access_token_secret: str = SIM_ACCESS_TOKEN_SECRET,
        mentions_horizon: int | None = MENTIONS_HORIZON,
    ) -> None:
        self.clock = clock or SystemClock()
        self.limits = PAY_PER_USE if limits is None else limits
        self.state_path = Path(state_path) if state_path else None
        self.consumer_key = consumer_key
        self.access_token = access_token
        self.secrets = (consumer_secret, access_token_secret)  # to check OAuth 1.0a signatures
        self.mentions_horizon = mentions_horizon
        self.lock = threading.RLock()
        self.users: dict[str, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.dms: list[dict[str, Any]] = []
        self.next_post = FIRST_POST_ID
        self.next_user = FIRST_USER_ID
        self.log: list[dict[str, Any]] = []  # every API request: endpoint, status, resources
        self.violations = 0  # requests made after a limit was already reached
        self.faults: dict[str, list[int]] = {}  # endpoint -> the statuses its next requests answer
        self.timeout_delay = 1.0  # seconds an injected timeout (status 0) holds its answer
        self._windows: dict[str, tuple[float, int]] = {}
        # indexes, so that a day of traffic does not make every request scan everything
        self._mentions: dict[str, list[dict[str, Any]]] = {}
        self._texts: set[tuple[str, str]] = set()
        self._wrote_to: set[tuple[str, str]] = set()
        self.server = Loopback("x-sim")
        self.base = ""  # its URL once started
        if self.state_path and self.state_path.exists():
            self._load()
        self.bot_id = (
            self.user_id(bot_handle)
            if self._find(bot_handle)
            else self.add_user(bot_handle, "paybot", accepts_dms=True)
        )

    # ------------------------------------------------------------------ people

    def add_user(self, handle: str, name: str | None = None, *, accepts_dms: bool = True) -> str:
        """Create an account; returns its id."""
        with self.lock:
            if self._find(handle):
                raise ValueError(f"@{handle} exists")
            uid = str(self.next_user)
            self.next_user += 1
            self.users[uid] = {
                "id": uid,
                "username": handle,
                "name": name or handle.title(),
                "accepts_dms": accepts_dms,
            }
            self._save()
            return uid

    def user_id(self, handle: str) -> str:
        found = self._find(handle)
        if not found:
            raise KeyError(f"no user @{handle}")
        return str(found["id"])

    def handle(self, user_id: str) -> str:
        return str(self.users[user_id]["username"])

    def rename(self, handle: str, new: str) -> None:
        with self.lock:
            if self._find(new):
                raise ValueError(f"@{new} is taken")
            self.users[self.user_id(handle)]["username"] = new
            self._save()

    def _find(self, handle: str) -> dict[str, Any] | None:
        low = handle.lower()
        return next((u for u in self.users.values() if u["username"].lower() == low), None)

    # ------------------------------------------------------------------ posting

    def tweet(
        self,
        by: str,
        text: str,
        *,
        reply_to: str | None = None,
        quote_of: str | None = None,
        _retweet_of: str | None = None,
        _edit_of: str | None = None,
    ) -> dict[str, Any]:
        """Post as @by (a handle); returns the stored post."""
        with self.lock:
            author = self.user_id(by)
            pid = self._new_id()
            refs = []
            if reply_to:
                refs.append({"type": "replied_to", "id": reply_to})
            if quote_of:
                refs.append({"type": "quoted", "id": quote_of})
            if _retweet_of:
                refs.append({"type": "retweeted", "id": _retweet_of})
            start = 0
            if reply_to:  # the leading @handles of a reply are context, not shown as text
                m = re.match(r"(?:@[A-Za-z0-9_]{1,15}\s+)+", text)
                start = m.end() if m else 0
            history = [pid]
            if _edit_of:
                history = [*self.posts[_edit_of]["edit_history_tweet_ids"], pid]
            root_conv = self.posts[reply_to]["conversation_id"] if reply_to in self.posts else pid
            post = {
                "id": pid,
                "text": text,
                "author_id": author,
                "created_at": x_time(self.clock.now()),
                "conversation_id": root_conv,
                "edit_history_tweet_ids": history,
                "display_text_range": [start, len(text)],
                "entities": self._entities(text),
                "referenced_tweets": refs,
            }
            self.posts[pid] = post
            self._index_post(post)
            self._save()
            return post

    def edit(self, post_id: str, text: str) -> dict[str, Any]:
        """Edit a post: X makes a new post whose edit history starts at the original."""
        old = self.posts[post_id]
        reply_to = next((r["id"] for r in old["referenced_tweets"] if r["type"] == "replied_to"), None)
        quote = next((r["id"] for r in old["referenced_tweets"] if r["type"] == "quoted"), None)
        return self.tweet(self.handle(old["author_id"]), text, reply_to=reply_to, quote_of=quote, _edit_of=post_id)

    def delete(self, post_id: str) -> None:
        """The author deletes a post: it leaves every timeline, and replies to it are refused."""
        with self.lock:
            post = self.posts.pop(post_id)
            for mention in post["entities"].get("mentions", []):
                self._mentions[mention["id"]] = [p for p in self._mentions.get(mention["id"], []) if p is not post]
            self._save()

    def retweet(self, by: str, post_id: str) -> dict[str, Any]:
        orig = self.posts[post_id]
        text = f"RT @{self.handle(orig['author_id'])}: {orig['text']}"
        return self.tweet(by, text, _retweet_of=post_id)

    def quote(self, by: str, post_id: str, text: str) -> dict[str, Any]:
        return self.tweet(by, text, quote_of=post_id)

    def dm(self, by: str, text: str, to: str | None = None) -> dict[str, Any]:
        """A DM from @by to @to (default: the bot)."""
        with self.lock:
            sender = self.user_id(by)
            other = self.user_id(to) if to else self.bot_id
            return self._add_dm(sender, other, text)

    def _add_dm(self, sender: str, other: str, text: str) -> dict[str, Any]:
        event = {
            "id": self._new_id(),
            "event_type": "MessageCreate",
            "text": text,
            "sender_id": sender,
            "dm_conversation_id": "-".join(sorted((sender, other), key=int)),
            "participant_ids": sorted((sender, other), key=int),
            "created_at": x_time(self.clock.now()),
        }
        self.dms.append(event)
        self._index_dm(event)
        self._save()
        return event

    def _entities(self, text: str) -> dict[str, Any]:
        mentions = []
        for m in _MENTION.finditer(text):
            user = self._find(m.group(1))
            if user:
                mentions.append({"start": m.start(), "end": m.end(), "username": user["username"], "id": user["id"]})
        return {"mentions": mentions} if mentions else {}

    def _new_id(self) -> str:
        pid = str(self.next_post)
        self.next_post += 1
        return pid

    # ------------------------------------------------------------- observation

    def bot_messages(self) -> list[dict[str, Any]]:
        """Every DM and post the bot made, in order."""
        with self.lock:
            items = [("dm", e) for e in self.dms if e["sender_id"] == self.bot_id]
            items += [("post", p) for p in self.posts.values() if p["author_id"] == self.bot_id]
            items.sort(key=lambda kv: int(kv[1]["id"]))
            out = []
            for kind, item in items:
                if kind == "dm":
                    other = next(p for p in item["participant_ids"] if p != self.bot_id)
                    out.append({"type": "dm", "to_id": other, "text": item["text"], "id": item["id"]})
                else:
                    reply = next((r["id"] for r in item["referenced_tweets"] if r["type"] == "replied_to"), None)
                    out.append(
                        {
                            "type": "reply" if reply else "post",
                            "in_reply_to": reply,
                            "text": item["text"],
                            "id": item["id"],
                        }
                    )
            return out

    def inject(self, endpoint: str, status: int, times: int = 1) -> None:
        """Answer the next `times` requests to `endpoint` with `status`: 500, 503, 429, 4290 (a
        usage cap), or 0 (a timeout: the request is carried out, its answer held past the client's timeout)."""
        with self.lock:
            queue_fault(self.faults, endpoint, status, max(times, 1))  # `times` 0 still fails one request

    # -------------------------------------------------------------- persistence

    def _save(self) -> None:
        if not self.state_path:
            return
        data = {
            "users": self.users,
            "posts": self.posts,
            "dms": self.dms,
            "next_post": self.next_post,
            "next_user": self.next_user,
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.state_path)

    def _load(self) -> None:
        assert self.state_path
        data = json.loads(self.state_path.read_text())
        self.users, self.posts, self.dms = data["users"], data["posts"], data["dms"]
        self.next_post, self.next_user = data["next_post"], data["next_user"]
        for post in self.posts.values():
            self._index_post(post)
        for event in self.dms:
            self._index_dm(event)

    # ------------------------------------------------------------------- app

    def start(self, port: int = 0) -> str:
        """Serve the simulator on 127.0.0.1 (port 0: a free one); returns the base URL."""
        self.base = self.server.start(self.app(), port)
        return self.base

    def stop(self) -> None:
        self.server.stop()

    def app(self) -> Flask:
        """The Flask application: X's endpoints and the /_sim control API."""
        from bot.sims import x_routes as sim_routes

        return sim_routes.build(self)

    # -------------------------------------------------------------- API helpers

    def rate(self, endpoint: str) -> tuple[int, int, int] | None:
        """Count one request to `endpoint`; (limit, remaining, reset) or None when unlimited.

        A request past the limit leaves remaining at -1."""
        limit = self.limits.get(endpoint)
        if limit is None:
            return None
        now = self.clock.now().timestamp()
        start, _ = self._windows.get(endpoint, (now, 0))
        if now - start >= WINDOW:
            start = now
        used = count_in_window(self._windows, endpoint, start)
        return limit, limit - used, int(start + WINDOW)

    def record(self, endpoint: str, method: str, status: int, body: dict[str, Any]) -> None:
        """Log one API request with the ids of the resources it returned (reads are billed by them)."""
        data = body.get("data")
        items = data if isinstance(data, list) else ([data] if isinstance(data, dict) else [])
        users = [u["id"] for u in body.get("includes", {}).get("users", [])]
        if endpoint in ("users_by", "users_me", "users"):
            users, items = [i["id"] for i in items if "id" in i], []
        self.log.append(
            {
                "at": x_time(self.clock.now()),
                "endpoint": endpoint,
                "method": method,
                "status": status,
                "resources": len(items) + len(users),
                "ids": [i["id"] for i in items if "id" in i],
                "user_ids": users,
            }
        )

    def render_post(self, post: dict[str, Any], fields: set[str], new_names: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"id": post["id"], "text": post["text"]}
        hist = "edit_history_post_ids" if new_names else "edit_history_tweet_ids"
        out[hist] = post["edit_history_tweet_ids"]
        for name in ("author_id", "created_at", "conversation_id", "display_text_range", "entities"):
            if name in fields and post.get(name):
                out[name] = post[name]
        refs_name = "referenced_posts" if new_names else "referenced_tweets"
        if refs_name in fields and post["referenced_tweets"]:
            out[refs_name] = post["referenced_tweets"]
        if "entities" in out and not out["entities"]:
            del out["entities"]
        return out

    def render_user(self, user: dict[str, Any]) -> dict[str, Any]:
        return {"id": user["id"], "name": user["name"], "username": user["username"]}

    def mentions_of(self, user_id: str) -> list[dict[str, Any]]:
        """Posts that mention the user, newest first, as far back as X lets anyone see."""
        found = [p for p in reversed(self._mentions.get(user_id, [])) if p["author_id"] != user_id]
        return found[: self.mentions_horizon]

    def dm_events_of(self, user_id: str) -> list[dict[str, Any]]:
        oldest = x_time(self.clock.now() - DM_HISTORY)
        found = []
        for e in reversed(self.dms):  # kept in id order
            if e["created_at"] < oldest:
                break
            if user_id in e["participant_ids"]:
                found.append(e)
        return found

    def may_dm(self, sender: str, recipient: str) -> bool:
        """X lets the bot DM people who accept DMs from anyone, or who wrote to it first."""
        user = self.users.get(recipient)
        if user is None:
            return False
        return bool(user["accepts_dms"]) or (recipient, sender) in self._wrote_to

    def may_reply(self, replier: str, post_id: str) -> bool:
        """Since Feb 2026, API replies only go to posts that mentioned or quoted the replier."""
        post = self.posts.get(post_id)
        if post is None:
            return False
        mentioned = any(m["id"] == replier for m in post["entities"].get("mentions", []))
        quoted = any(
            r["type"] == "quoted" and self.posts.get(r["id"], {}).get("author_id") == replier
            for r in post["referenced_tweets"]
        )
        return mentioned or quoted or post["author_id"] == replier

    def duplicate(self, author: str, text: str) -> bool:
        return (author, text) in self._texts

    def _index_post(self, post: dict[str, Any]) -> None:
        self._texts.add((post["author_id"], post["text"]))
        for uid in dict.fromkeys(m["id"] for m in post["entities"].get("mentions", [])):
            self._mentions.setdefault(uid, []).append(post)  # once per user, however often the post names them

    def _index_dm(self, event: dict[str, Any]) -> None:
        for other in event["participant_ids"]:
            if other != event["sender_id"]:
                self._wrote_to.add((event["sender_id"], other))

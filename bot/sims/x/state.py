"""The simulated X's state: its accounts, posts and DMs (kept in a JSON file when asked), their indexes, the request
log, rate-limit windows and injected faults, and what the API reads of them."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from bot.ports import Clock, SystemClock
from bot.sims.kit import Loopback, count_in_window, iso_millis, queue_fault
from bot.sims.x.facts import (
    DM_HISTORY,
    FIRST_POST_ID,
    FIRST_USER_ID,
    MENTIONS_HORIZON,
    PAY_PER_USE,
    SIM_ACCESS_TOKEN,
    SIM_ACCESS_TOKEN_SECRET,
    SIM_CONSUMER_KEY,
    SIM_CONSUMER_SECRET,
    WINDOW,
)


class XState:
    """The simulated X's accounts, posts and DMs, and what its API reads of them."""

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

    def _new_id(self) -> str:
        pid = str(self.next_post)
        self.next_post += 1
        return pid

    def inject(self, endpoint: str, status: int, times: int = 1) -> None:
        """Answer the next `times` requests to `endpoint` with `status`: 500, 503, 429, 4290 (a
        usage cap), or 0 (a timeout: the request is carried out, its answer held past the client's timeout)."""
        with self.lock:
            queue_fault(self.faults, endpoint, status, max(times, 1))  # `times` 0 still fails one request

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
                "at": iso_millis(self.clock.now()),
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
        oldest = iso_millis(self.clock.now() - DM_HISTORY)
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

"""The Mastodon simulator as the scenario runner (bot/sims/runner/) drives the X one.

`paybot simulate --timeline mastodon` and `paybot demo --timeline mastodon` play the same scenarios on
Mastodon: a tweet is a public status, a DM a direct status to the bot, an edit a Mastodon edit, a repost a
boost. Ids are the Mastodon adapter's port ids (bot/mastodon/client.py's port_id), so the
aliases a scenario keeps are the ids the bot stores. What Mastodon has no equivalent for is refused with a
ValueError: quotes (not modelled), closed DMs (anyone may be sent a direct status: `accepts_dms` is ignored).

The bot's messages are given as the people read them on X: a DM without the @handle that addresses the
direct status, and the people it names written @handle (on Mastodon the adapter writes them ＠handle, so that
a DM to the payer does not add the recipient to it; tests/contract/test_timeline_contract.py pins that).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from bot.mastodon.client import QUIET_AT, port_id, status_of
from bot.ports import Clock
from bot.sims.mastodon import MastodonSim

# The X simulator's endpoint names (bot/sims/x/facts.py ROUTES) and the Mastodon route that does that work.
X_TO_MASTODON = {
    "users_me": "verify_credentials",
    "mentions": "notifications",
    "dm_events": "notifications",
    "dm_conversation_events": "account_statuses",
    "dm_post": "status_post",
    "tweets_post": "status_post",
    "users": "accounts",
    "users_by": "account_lookup",
}


class MastodonWorld:
    """A Mastodon simulator (`instance`) driven with the X simulator's control methods, in port ids; the rest of
    what the runner, the tests and the benchmarks read of it is the instance's own, named here."""

    def __init__(
        self, clock: Clock | None = None, *, bot_handle: str = "paybot", rate_limit: int | None = None
    ) -> None:
        self.instance = MastodonSim(clock, bot_handle=bot_handle, rate_limit=rate_limit)

    # ------------------------------------------------------------------ the instance, as its users read it

    def start(self, port: int = 0) -> str:
        return self.instance.start(port)

    def stop(self) -> None:
        self.instance.stop()

    @property
    def base(self) -> str:
        return self.instance.base

    @property
    def clock(self) -> Clock:
        return self.instance.clock

    @property
    def lock(self) -> threading.RLock:
        return self.instance.lock

    @property
    def bot_id(self) -> str:
        return self.instance.bot_id

    @property
    def log(self) -> list[dict[str, Any]]:
        return self.instance.log

    @property
    def rate_limit(self) -> int | None:
        return self.instance.rate_limit

    @property
    def accounts(self) -> dict[str, dict[str, Any]]:
        return self.instance.accounts

    @property
    def statuses(self) -> dict[str, dict[str, Any]]:
        return self.instance.statuses

    @property
    def notifications(self) -> list[dict[str, Any]]:
        return self.instance.notifications

    @property
    def streams(self) -> int:
        return self.instance.streams

    def add_user(
        self, handle: str, name: str | None = None, *, bot: bool = False, accepts_dms: bool = True, known: bool = True
    ) -> str:
        return self.instance.add_user(handle, name, bot=bot, accepts_dms=accepts_dms, known=known)

    def user_id(self, handle: str) -> str:
        return self.instance.user_id(handle)

    def handle(self, account_id: str) -> str:
        return self.instance.handle(account_id)

    def acct(self, account_id: str) -> str:
        return self.instance.acct(account_id)

    def rename(self, handle: str, new: str) -> None:
        self.instance.rename(handle, new)

    def delete(self, status_id: str) -> None:
        self.instance.delete(status_id)

    # ------------------------------------------------------------------ X's control methods, on Mastodon

    def _as_post(self, status: dict[str, Any], version: int = 0) -> dict[str, Any]:
        at = status["versions"][version][1]
        return {"id": port_id(status["id"], at, version), "author_id": status["account_id"], "text": status["text"]}

    def tweet(self, by: str, text: str, *, reply_to: str | None = None, **_: Any) -> dict[str, Any]:
        return self._as_post(self.instance.post(by, text, reply_to=status_of(reply_to) if reply_to else None))

    def dm(self, by: str, text: str, to: str | None = None) -> dict[str, Any]:
        return self._as_post(self.instance.direct(by, text, to))

    def edit(self, post_id: str, text: str, *, edited_at: datetime | None = None) -> dict[str, Any]:
        status = self.instance.edit(status_of(post_id), text, edited_at=edited_at)
        return self._as_post(status, len(status["versions"]) - 1)

    def retweet(self, by: str, post_id: str) -> dict[str, Any]:
        return self._as_post(self.instance.boost(by, status_of(post_id)))

    def quote(self, by: str, post_id: str, text: str) -> dict[str, Any]:
        raise ValueError("the Mastodon simulator does not model quotes")

    def inject(self, endpoint: str, status: int, times: int = 1) -> None:
        self.instance.inject(X_TO_MASTODON.get(endpoint, endpoint), status, times)

    @property
    def posts(self) -> dict[str, dict[str, Any]]:
        """Every version of every status, as the X simulator keeps posts: id and edit history."""
        out = {}
        for s in self.instance.statuses.values():
            history = [port_id(s["id"], at, i) for i, (_, at) in enumerate(s["versions"])]
            for i, pid in enumerate(history):
                out[pid] = {"id": pid, "author_id": s["account_id"], "edit_history_tweet_ids": history[: i + 1]}
        return out

    def bot_messages(self) -> list[dict[str, Any]]:
        out = []
        for m in self.instance.bot_messages():
            text = str(m["text"])
            if m["type"] == "dm":
                text = text.split(" ", 1)[1] if " " in text else ""
            m = {**m, "id": port_id(m["id"]), "text": text.replace(QUIET_AT, "@")}
            if m.get("in_reply_to"):
                m["in_reply_to"] = port_id(m["in_reply_to"])
            out.append(m)
        return out

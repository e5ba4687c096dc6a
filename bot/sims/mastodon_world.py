"""The Mastodon simulator as the scenario runner (bot/sims/runner.py) drives the X one.

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

from datetime import datetime
from typing import Any

from bot.mastodon.client import QUIET_AT, port_id, status_of
from bot.ports import Clock
from bot.sims.mastodon import MastodonSim

# The X simulator's endpoint names (bot/sims/x.py ROUTES) and the Mastodon route that does that work.
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


class MastodonWorld(MastodonSim):
    """MastodonSim with the X simulator's control methods, in port ids."""

    def __init__(
        self, clock: Clock | None = None, *, bot_handle: str = "paybot", rate_limit: int | None = None
    ) -> None:
        super().__init__(clock, bot_handle=bot_handle, rate_limit=rate_limit)

    def _as_post(self, status: dict[str, Any], version: int = 0) -> dict[str, Any]:
        at = status["versions"][version][1]
        return {"id": port_id(status["id"], at, version), "author_id": status["account_id"], "text": status["text"]}

    def tweet(self, by: str, text: str, *, reply_to: str | None = None, **_: Any) -> dict[str, Any]:
        return self._as_post(self.post(by, text, reply_to=status_of(reply_to) if reply_to else None))

    def dm(self, by: str, text: str, to: str | None = None) -> dict[str, Any]:  # type: ignore[override]
        return self._as_post(self.direct(by, text, to))

    def edit(self, post_id: str, text: str, *, edited_at: datetime | None = None) -> dict[str, Any]:
        status = super().edit(status_of(post_id), text, edited_at=edited_at)
        return self._as_post(status, len(status["versions"]) - 1)

    def retweet(self, by: str, post_id: str) -> dict[str, Any]:
        return self._as_post(self.boost(by, status_of(post_id)))

    def quote(self, by: str, post_id: str, text: str) -> dict[str, Any]:
        raise ValueError("the Mastodon simulator does not model quotes")

    def inject(self, endpoint: str, status: int, times: int = 1) -> None:
        super().inject(X_TO_MASTODON.get(endpoint, endpoint), status, times)

    @property
    def posts(self) -> dict[str, dict[str, Any]]:
        """Every version of every status, as the X simulator keeps posts: id and edit history."""
        out = {}
        for s in self.statuses.values():
            history = [port_id(s["id"], at, i) for i, (_, at) in enumerate(s["versions"])]
            for i, pid in enumerate(history):
                out[pid] = {"id": pid, "author_id": s["account_id"], "edit_history_tweet_ids": history[: i + 1]}
        return out

    def bot_messages(self) -> list[dict[str, Any]]:
        out = []
        for m in super().bot_messages():
            text = str(m["text"])
            if m["type"] == "dm":
                text = text.split(" ", 1)[1] if " " in text else ""
            m = {**m, "id": port_id(m["id"]), "text": text.replace(QUIET_AT, "@")}
            if m.get("in_reply_to"):
                m["in_reply_to"] = port_id(m["in_reply_to"])
            out.append(m)
        return out

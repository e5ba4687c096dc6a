"""The Mastodon simulator's record in the X simulator's shapes, for the crash runs' invariants
(tests/support/crashmode.py).

The crash runs judge every payment from the timeline's own record: who said what, in which order, after which
confirmation. On X that is the simulator's posts and DM events, one sequence of ids. On Mastodon it is its
statuses, seen through the ids the adapter gives the core (bot/mastodon/client.py `port_id`: a status's id, or
for an edit its edit time), so that the invariants order things exactly as the bot could: a `direct` status is
a DM event between its author and the person it addresses (its leading @handle taken off, the bot's ＠ read as
@), every other status a post, one per version, with its text, time, mentions and references.
"""

from __future__ import annotations

from typing import Any

from bot.mastodon.client import QUIET_AT, port_id
from bot.sims.kit import iso_millis as masto_time
from bot.sims.mastodon import MENTION
from bot.sims.mastodon_world import MastodonWorld


class MastodonRecord:
    """A MastodonWorld that also shows its record as XSim keeps it (`posts`, `dms`, `users`, `next_post`,
    `violations`); everything else is the world's own."""

    def __init__(self, world: MastodonWorld) -> None:
        self.world = world
        self._posts: tuple[tuple[int, ...], dict[str, dict[str, Any]]] = ((), {})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.world, name)

    @property
    def posts(self) -> dict[str, dict[str, Any]]:
        """Every version of every status but the direct ones, by port id, as X keeps posts (made again only when
        a status or a version was added: the invariants read it often)."""
        out: dict[str, dict[str, Any]] = {}
        with self.world.lock:
            now = (
                self.world.instance._last_id,
                len(self.world.statuses),
                sum(len(s["versions"]) for s in self.world.statuses.values()),
            )
            if self._posts[0] == now:
                return self._posts[1]
            for s in self.world.statuses.values():
                if s["visibility"] == "direct":
                    continue
                history = [port_id(s["id"], at, i) for i, (_, at) in enumerate(s["versions"])]
                refs = [{"type": "replied_to", "id": port_id(s["in_reply_to_id"])}] if s["in_reply_to_id"] else []
                refs += [{"type": "retweeted", "id": port_id(s["reblog_of"])}] if s["reblog_of"] else []
                for i, (text, at) in enumerate(s["versions"]):
                    out[history[i]] = {
                        "id": history[i],
                        "author_id": s["account_id"],
                        "text": text,
                        "created_at": masto_time(at),
                        "entities": self._entities(text),
                        "referenced_tweets": refs,
                        "edit_history_tweet_ids": history[: i + 1],
                    }
            self._posts = (now, out)
        return out

    def _entities(self, text: str) -> dict[str, Any]:
        """The accounts a text names, as X's entities: where, their handle (acct), their id."""
        mentions = []
        for m in MENTION.finditer(text):
            account = self.world.instance._find(f"{m.group(1)}@{m.group(2)}" if m.group(2) else m.group(1))
            if account is not None:
                mentions.append(
                    {
                        "start": m.start(),
                        "end": m.end(),
                        "id": account["id"],
                        "username": self.world.acct(account["id"]),
                    }
                )
        return {"mentions": mentions} if mentions else {}

    @property
    def dms(self) -> list[dict[str, Any]]:
        """Every direct status between two people, oldest first, as X's DM events."""
        out = []
        with self.world.lock:
            for s in sorted(self.world.statuses.values(), key=lambda s: int(s["id"])):
                if s["visibility"] != "direct":
                    continue
                author = s["account_id"]
                other = next((m for m in s["mentions"] if m != author), author)
                body = s["text"].split(" ", 1)[1] if " " in s["text"] else ""
                out.append(
                    {
                        "id": port_id(s["id"]),
                        "sender_id": author,
                        "text": body.replace(QUIET_AT, "@"),
                        "participant_ids": sorted({author, other}, key=int),
                        "created_at": masto_time(s["created_at"]),
                    }
                )
        return out

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        return {uid: {"id": uid, "username": self.world.acct(uid)} for uid in self.world.accounts}

    @property
    def next_post(self) -> int:
        """The port id the next status will have (Mastodon's snowflake for now, past the last one)."""
        with self.world.lock:
            sid = max(int(self.world.clock.now().timestamp() * 1000) << 16, self.world.instance._last_id + 1)
        return int(port_id(sid))

    @property
    def violations(self) -> int:
        """Requests past the rate limit: none can be, the crash runs play without it (as on X)."""
        assert self.world.rate_limit is None, "the crash runs' record counts no rate limit"
        return 0

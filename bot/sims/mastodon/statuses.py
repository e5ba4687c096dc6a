"""What people do on the simulated instance: post, reply, write directly, edit, boost, delete; and what the bot
said."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.sims.mastodon.render import MastodonRender


class MastodonStatuses(MastodonRender):
    """Statuses, as the people on the instance make them."""

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

"""What people do on the simulated X: post, reply, edit, delete, repost, quote, DM; and what the bot said."""

from __future__ import annotations

import re
from typing import Any

from bot.sims.kit import iso_millis
from bot.sims.x.facts import _MENTION
from bot.sims.x.state import XState


class XPosts(XState):
    """Posts and DMs, as the people on X make them."""

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
                "created_at": iso_millis(self.clock.now()),
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
            "created_at": iso_millis(self.clock.now()),
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

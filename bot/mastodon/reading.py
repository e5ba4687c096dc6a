"""The Mastodon adapter's reading: mentions (every version of an edited status, statuses federated late) and
DMs (direct statuses to the bot), from the bot's notifications."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.errors import XError
from bot.mastodon.content import LEADING_HANDLES, came_late, plain_text, port_id, read_content, unlinked, utc
from bot.mastodon.people import People
from bot.mastodon.transport import NAMES_FOR, PAGE
from bot.ports import DirectMessage, DmPage, Mention, XUser

log = logging.getLogger("bot.mastodon.client")  # the adapter's one log, whichever part writes it

VERSIONS = 1000  # the most versions of one status read
MAX_PAGES = 10  # 800 notifications, as far back as X's 800 mentions
LOOKED_UP = 20  # the most accounts one status has looked up (a command names at most 10)


class Reading(People):
    """Mentions and DMs, from the notifications."""

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
            return seen and utc(n["created_at"]) < horizon

        found, more = self._notifications(old, MAX_PAGES)
        if more:
            log.warning("read %d pages of mentions and there are more: older mentions are left unread", MAX_PAGES)
        out: dict[str, Mention] = {}
        for n in found:
            status = n.get("status")
            if not status or status.get("visibility") == "direct" or status.get("reblog"):
                continue
            late = came_late(n)
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
        versions = [(*read_content(str(status["content"]), mentions, domain), utc(status["created_at"]))]
        if status.get("edited_at"):
            cache_key = (sid, f"{status['edited_at']} {status['content']}")  # two edits may share a millisecond
            if cache_key not in self._versions:
                history = self._read("status_history", self.api.status_history, sid)
                self._versions[cache_key] = [
                    (*read_content(str(v["content"]), mentions, domain), utc(v["created_at"])) for v in history
                ][: VERSIONS - 1]
            versions = self._versions[cache_key] or versions
        # Handles of other instances written and not linked (no account, or one the instance has never seen)
        versions = [(text, [*named, *unlinked(text, named)], at) for text, named, at in versions]
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
                lead = LEADING_HANDLES.match(text)
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
                return bool(status) and int(port_id(status["id"])) <= int(stop_at) and not came_late(n)
            return not_before is not None and utc(n["created_at"]) < not_before

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
            lead = LEADING_HANDLES.match(text)
            events.append(
                DirectMessage(
                    id=port_id(status["id"]),
                    sender_id=sender.id,
                    text=text[lead.end() :] if lead else text,
                    created_at=utc(status["created_at"]),
                    sender_handle=sender.handle,
                    conversation_id=f"group-{status['id']}" if others else "-".join(sorted((sender.id, me), key=int)),
                )
            )
        events.sort(key=lambda d: int(d.id))
        return DmPage(events, more if bounded else None)

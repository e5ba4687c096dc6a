"""Mastodon's entities as its API answers them: accounts, statuses (content as HTML), mentions, an edit history,
notifications, the instance."""

from __future__ import annotations

import html
import re
from typing import Any

from bot.sims.kit import iso_millis
from bot.sims.mastodon.facts import MENTION, VERSION
from bot.sims.mastodon.state import MastodonState


class MastodonRender(MastodonState):
    """The entities of Mastodon's API, drawn from the state."""

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
            "created_at": iso_millis(a["created_at"]),
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
            "created_at": iso_millis(status["created_at"]),
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
            "edited_at": iso_millis(status["edited_at"]) if status["edited_at"] else None,
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
                "created_at": iso_millis(at),
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
            "created_at": iso_millis(n["created_at"]),
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
